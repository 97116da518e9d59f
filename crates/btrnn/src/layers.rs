//! The input-to-hidden maps: dense, tensor train (TT) and block term (BT),
//! behind one interface ([`InputMap`]).
//!
//! The tensorised maps contract the input mode by mode and never build the
//! dense matrix they stand for ([`InputMap::dense_weight`] builds it, for
//! tests only). Block term: `W = sum_n G_n x_1 A_n1 x_2 .. x_d A_nd` with a
//! core `G_n` of shape `R_1 x .. x R_d` and factors `A_nk` of shape
//! `I_k x J_k x R_k`; all blocks are contracted at once (a block axis in the
//! stored tensors). The order: first every mode whose factor shrinks the
//! state (`J_k R_k < I_k`, most shrinking first), keeping its rank axis; then
//! the cores, which turn the kept rank axes into the rank axes of the modes
//! still to do; then the remaining modes, each summing its input and rank
//! axes. For UCF11 (8 x 20 x 20 x 18 -> 16 x 4 x 4 x 4, R = 4) that is modes
//! 2, 3, 4, the core, then mode 1: about 2.4 M multiply-adds per frame and
//! block against 59 M for the dense matrix.

use crate::shapes::{bt_plan, tt_reverse, MapKind, Modes};
use searchkit::rng::Stream;
use tch::{nn, Tensor};

/// Letters of the einsum equations: input modes `a..h`, output modes
/// `A..H`, ranks `i..p`, batch `z`, block `y` (so at most 8 modes).
pub const MAX_ORDER: usize = 8;

fn li(k: usize) -> char {
    (b'a' + k as u8) as char
}
fn lj(k: usize) -> char {
    (b'A' + k as u8) as char
}
fn lr(k: usize) -> char {
    (b'i' + k as u8) as char
}
const BATCH: char = 'z';
const BLOCK: char = 'y';

/// Truncated normal draws (redrawn beyond two standard deviations, as
/// Keras' `TruncatedNormal`).
pub fn truncated_normal(rng: &mut Stream, n: usize, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| loop {
            let z = rng.normal();
            if z.abs() <= 2.0 {
                break (z * std) as f32;
            }
        })
        .collect()
}

/// A trainable tensor initialised from `values`.
pub fn param(p: &nn::Path, name: &str, shape: &[usize], values: &[f32]) -> Tensor {
    let dims: Vec<i64> = shape.iter().map(|&s| s as i64).collect();
    let t = Tensor::from_slice(values).view(dims.as_slice());
    p.var_copy(name, &t)
}

#[derive(Debug)]
enum Weights {
    /// `(prod I) x (gates prod J)`.
    Dense(Tensor),
    /// Cores `r_{k-1} x I_k x J_k x r_k`.
    Tt(Vec<Tensor>),
    /// Cores `N x R_1 x .. x R_d`, factors `N x I_k x J_k x R_k`.
    Bt { core: Tensor, factors: Vec<Tensor> },
}

/// An input-to-hidden map with its weights.
#[derive(Debug)]
pub struct InputMap {
    pub modes: Modes,
    pub kind: MapKind,
    weights: Weights,
    /// BT contraction plan: modes done keeping their rank, then the rest.
    plan: (Vec<usize>, Vec<usize>),
}

impl InputMap {
    /// Creates the map's weights under `p`, each entry drawn from a
    /// truncated normal with standard deviation `std` (the authors' Keras
    /// initialiser on the flat kernel).
    pub fn new(
        p: &nn::Path,
        modes: Modes,
        kind: MapKind,
        std: f64,
        rng: &Stream,
    ) -> Result<Self, String> {
        kind.validate(&modes)?;
        if modes.order() > MAX_ORDER {
            return Err(format!("at most {MAX_ORDER} modes are supported"));
        }
        let out = modes.output();
        let d = modes.order();
        let mut r = rng.child("input-map");
        let weights = match &kind {
            MapKind::Dense => {
                let shape = [modes.input_size(), modes.output_size()];
                Weights::Dense(param(
                    p,
                    "w",
                    &shape,
                    &truncated_normal(&mut r, shape[0] * shape[1], std),
                ))
            }
            MapKind::TensorTrain { ranks } => Weights::Tt(
                (0..d)
                    .map(|k| {
                        let shape = [ranks[k], modes.input[k], out[k], ranks[k + 1]];
                        let n = shape.iter().product();
                        param(
                            p,
                            &format!("core{k}"),
                            &shape,
                            &truncated_normal(&mut r, n, std),
                        )
                    })
                    .collect(),
            ),
            MapKind::BlockTerm { ranks, blocks } => {
                let mut cshape = vec![*blocks];
                cshape.extend(ranks);
                let n: usize = cshape.iter().product();
                let core = param(p, "core", &cshape, &truncated_normal(&mut r, n, std));
                let factors = (0..d)
                    .map(|k| {
                        let shape = [*blocks, modes.input[k], out[k], ranks[k]];
                        let n = shape.iter().product();
                        param(
                            p,
                            &format!("factor{k}"),
                            &shape,
                            &truncated_normal(&mut r, n, std),
                        )
                    })
                    .collect();
                Weights::Bt { core, factors }
            }
        };
        let plan = match &kind {
            MapKind::BlockTerm { ranks, .. } => bt_plan(&modes, ranks),
            _ => (vec![], vec![]),
        };
        Ok(Self {
            modes,
            kind,
            weights,
            plan,
        })
    }

    /// Number of trainable parameters (equals [`MapKind::params`]).
    pub fn num_params(&self) -> usize {
        let n = |t: &Tensor| t.numel();
        match &self.weights {
            Weights::Dense(w) => n(w),
            Weights::Tt(cores) => cores.iter().map(n).sum(),
            Weights::Bt { core, factors } => n(core) + factors.iter().map(n).sum::<usize>(),
        }
    }

    /// `x`: `(batch, prod I)` -> `(batch, gates prod J)`.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        let b = x.size()[0];
        match &self.weights {
            Weights::Dense(w) => x.matmul(w),
            Weights::Tt(cores) => self.tt_forward(x, cores).reshape([b, -1]),
            Weights::Bt { core, factors } => self.bt_forward(x, core, factors).reshape([b, -1]),
        }
    }

    fn input_view(&self, x: &Tensor) -> Tensor {
        let mut shape = vec![x.size()[0]];
        shape.extend(self.modes.input.iter().map(|&m| m as i64));
        x.reshape(shape.as_slice())
    }

    fn tt_forward(&self, x: &Tensor, cores: &[Tensor]) -> Tensor {
        let d = self.modes.order();
        let MapKind::TensorTrain { ranks } = &self.kind else {
            unreachable!("tensor-train weights")
        };
        // The chain is contracted from the cheaper end.
        let reverse = tt_reverse(&self.modes, ranks);
        let (start_rank, order): (usize, Vec<usize>) = if reverse {
            (d, (0..d).rev().collect())
        } else {
            (0, (0..d).collect())
        };
        // State axes: batch, input modes, then the open rank axis (size 1).
        let mut state = self.input_view(x).unsqueeze(-1);
        let mut axes: Vec<char> = std::iter::once(BATCH).chain((0..d).map(li)).collect();
        axes.push(lr(start_rank));
        for k in order {
            let core_axes = [lr(k), li(k), lj(k), lr(k + 1)];
            let (closed, open) = if reverse { (k + 1, k) } else { (k, k + 1) };
            let mut out: Vec<char> = axes
                .iter()
                .copied()
                .filter(|&c| c != li(k) && c != lr(closed))
                .collect();
            out.push(lj(k));
            out.push(lr(open));
            state = contract(&state, &axes, &cores[k], &core_axes, &out);
            axes = out;
        }
        // Drop the last open rank axis (size 1), output modes in order.
        let state = state.squeeze_dim(-1);
        let from: String = axes[..axes.len() - 1].iter().collect();
        let target: String = std::iter::once(BATCH).chain((0..d).map(lj)).collect();
        Tensor::einsum(&format!("{from}->{target}"), &[state], None::<i64>)
    }

    fn bt_forward(&self, x: &Tensor, core: &Tensor, factors: &[Tensor]) -> Tensor {
        let d = self.modes.order();
        let (first, rest) = &self.plan;
        let mut state = self.input_view(x);
        let mut axes: Vec<char> = std::iter::once(BATCH).chain((0..d).map(li)).collect();
        // 1. Modes that shrink the state, keeping their rank axes.
        for &k in first {
            let f_axes = [BLOCK, li(k), lj(k), lr(k)];
            let mut out: Vec<char> = Vec::with_capacity(axes.len() + 2);
            out.push(BATCH);
            out.push(BLOCK);
            out.extend(
                axes.iter()
                    .copied()
                    .filter(|&c| c != BATCH && c != BLOCK && c != li(k)),
            );
            out.push(lj(k));
            out.push(lr(k));
            state = contract(&state, &axes, &factors[k], &f_axes, &out);
            axes = out;
        }
        // 2. The cores: the kept ranks become the ranks of the remaining modes.
        let core_axes: Vec<char> = std::iter::once(BLOCK).chain((0..d).map(lr)).collect();
        let mut out: Vec<char> = vec![BATCH, BLOCK];
        out.extend(
            axes.iter()
                .copied()
                .filter(|&c| c != BATCH && c != BLOCK && !first.iter().any(|&k| c == lr(k))),
        );
        out.extend(rest.iter().map(|&k| lr(k)));
        state = contract(&state, &axes, core, &core_axes, &out);
        axes = out;
        // 3. The remaining modes, each summing its input and rank axes.
        for &k in rest {
            let f_axes = [BLOCK, li(k), lj(k), lr(k)];
            let mut out: Vec<char> = axes
                .iter()
                .copied()
                .filter(|&c| c != li(k) && c != lr(k))
                .collect();
            out.push(lj(k));
            state = contract(&state, &axes, &factors[k], &f_axes, &out);
            axes = out;
        }
        // 4. Sum the blocks and put the output modes in order.
        let target: String = std::iter::once(BATCH).chain((0..d).map(lj)).collect();
        let from: String = axes.iter().collect();
        Tensor::einsum(&format!("{from}->{target}"), &[state], None::<i64>)
    }

    /// The dense `(prod I) x (gates prod J)` matrix the map stands for
    /// (materialised: for tests and checks only).
    pub fn dense_weight(&self) -> Tensor {
        let d = self.modes.order();
        let (ni, nj) = (
            self.modes.input_size() as i64,
            self.modes.output_size() as i64,
        );
        let target: String = (0..d).map(li).chain((0..d).map(lj)).collect();
        match &self.weights {
            Weights::Dense(w) => w.shallow_clone(),
            Weights::Tt(cores) => {
                let mut w = cores[0].squeeze_dim(0); // I_1 J_1 r_1
                let mut axes: Vec<char> = vec![li(0), lj(0), lr(1)];
                for (k, core) in cores.iter().enumerate().skip(1) {
                    let mut out: Vec<char> = axes.iter().copied().filter(|&c| c != lr(k)).collect();
                    out.extend([li(k), lj(k), lr(k + 1)]);
                    w = contract(&w, &axes, core, &[lr(k), li(k), lj(k), lr(k + 1)], &out);
                    axes = out;
                }
                let w = w.squeeze_dim(-1);
                let from: String = axes[..axes.len() - 1].iter().collect();
                Tensor::einsum(&format!("{from}->{target}"), &[w], None::<i64>).reshape([ni, nj])
            }
            Weights::Bt { core, factors } => {
                let mut w = core.shallow_clone();
                let mut axes: Vec<char> = std::iter::once(BLOCK).chain((0..d).map(lr)).collect();
                for (k, f) in factors.iter().enumerate() {
                    let mut out: Vec<char> = axes.iter().copied().filter(|&c| c != lr(k)).collect();
                    out.extend([li(k), lj(k)]);
                    w = contract(&w, &axes, f, &[BLOCK, li(k), lj(k), lr(k)], &out);
                    axes = out;
                }
                let from: String = axes.iter().collect();
                Tensor::einsum(&format!("{from}->{target}"), &[w], None::<i64>).reshape([ni, nj])
            }
        }
    }
}

/// Contracts two labelled tensors into the labelled output (one pairwise
/// einsum: torch turns it into a batched matrix product).
fn contract(a: &Tensor, a_axes: &[char], b: &Tensor, b_axes: &[char], out: &[char]) -> Tensor {
    let eq = format!(
        "{},{}->{}",
        a_axes.iter().collect::<String>(),
        b_axes.iter().collect::<String>(),
        out.iter().collect::<String>()
    );
    Tensor::einsum(&eq, &[a, b], None::<i64>)
}
