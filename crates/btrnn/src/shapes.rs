//! Tensorised shapes of the input-to-hidden map and their exact parameter
//! counts (pure Rust: no libtorch needed).
//!
//! A dense input-to-hidden map of an LSTM is a `prod(I) x 4 prod(J)` matrix
//! (the four gates side by side). The tensorised layers reshape the input to
//! `I_1 x ... x I_d` and the output to `J_1 x ... x J_d`, with the four gates
//! folded into the first output mode (`J_1` multiplied by 4, as in the
//! authors' code), so the four gates share one decomposition.

use std::fmt;

/// Shapes shared by every tensorised map: input modes, output modes (gates
/// already folded into the first), and the number of gates folded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Modes {
    /// `I_1 .. I_d`; their product is the input size.
    pub input: Vec<usize>,
    /// `J_1 .. J_d` of the hidden state (before the gates are folded in).
    pub hidden: Vec<usize>,
    /// Number of gates sharing the map (4 for an LSTM, 1 for a plain layer).
    pub gates: usize,
}

/// The largest count (parameters, multiply-adds, intermediate sizes) the
/// shapes may lead to: every count here is then exact in `usize`.
const MAX_COUNT: f64 = (1u64 << 60) as f64;

/// The most modes: [`bt_plan`] tries every split of them.
pub const MAX_ORDER: usize = 16;

impl Modes {
    /// Checks that the modes are non-empty, of equal length, positive, at
    /// most [`MAX_ORDER`], and small enough that the dense map's counts fit.
    pub fn new(input: Vec<usize>, hidden: Vec<usize>, gates: usize) -> Result<Self, String> {
        if input.is_empty() || input.len() != hidden.len() {
            return Err(format!(
                "input modes {input:?} and hidden modes {hidden:?} must be non-empty and of equal length"
            ));
        }
        if input.len() > MAX_ORDER {
            return Err(format!("{} modes: at most {MAX_ORDER}", input.len()));
        }
        if input.iter().chain(&hidden).any(|&m| m == 0) || gates == 0 {
            return Err("every mode and the number of gates must be positive".into());
        }
        // In f64, so that the check itself cannot overflow.
        let prod = |v: &[usize]| v.iter().map(|&m| m as f64).product::<f64>();
        let (i, h, g) = (prod(&input), prod(&hidden), gates as f64);
        if i * h * g > MAX_COUNT || h * h * g > MAX_COUNT {
            return Err(format!(
                "input modes {input:?} and hidden modes {hidden:?} make a map too large to count (over 2^60 entries)"
            ));
        }
        Ok(Self {
            input,
            hidden,
            gates,
        })
    }
    /// Number of modes `d`.
    pub fn order(&self) -> usize {
        self.input.len()
    }
    /// Output modes with the gates folded into the first: `(gates J_1, J_2, ..)`.
    pub fn output(&self) -> Vec<usize> {
        let mut o = self.hidden.clone();
        o[0] *= self.gates;
        o
    }
    pub fn input_size(&self) -> usize {
        self.input.iter().product()
    }
    pub fn hidden_size(&self) -> usize {
        self.hidden.iter().product()
    }
    /// `gates x hidden`: the width of the map's output.
    pub fn output_size(&self) -> usize {
        self.hidden_size() * self.gates
    }
    /// Parameters of the dense matrix the map stands for.
    pub fn dense_params(&self) -> usize {
        self.input_size() * self.output_size()
    }
}

/// Which input-to-hidden map a model uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MapKind {
    /// The plain dense matrix.
    Dense,
    /// Tensor train with ranks `r_0 = 1, r_1, .., r_{d-1}, r_d = 1` (`d + 1` values).
    TensorTrain { ranks: Vec<usize> },
    /// Block term: `blocks` Tucker blocks, each a core of shape `ranks`
    /// (`d` values) and `d` factors `I_k x J_k x ranks[k]`.
    BlockTerm { ranks: Vec<usize>, blocks: usize },
}

impl MapKind {
    /// Checks the ranks against the number of modes.
    pub fn validate(&self, modes: &Modes) -> Result<(), String> {
        let d = modes.order();
        match self {
            MapKind::Dense => Ok(()),
            MapKind::TensorTrain { ranks } => {
                if ranks.len() != d + 1 || ranks[0] != 1 || ranks[d] != 1 {
                    return Err(format!(
                        "tensor-train ranks {ranks:?} must have d + 1 = {} values starting and ending with 1",
                        d + 1
                    ));
                }
                if ranks.contains(&0) {
                    return Err("tensor-train ranks must be positive".into());
                }
                Self::fits(modes, ranks, 1)
            }
            MapKind::BlockTerm { ranks, blocks } => {
                if ranks.len() != d {
                    return Err(format!(
                        "block-term core ranks {ranks:?} must have d = {d} values"
                    ));
                }
                if ranks.contains(&0) || *blocks == 0 {
                    return Err("block-term ranks and the number of blocks must be positive".into());
                }
                Self::fits(modes, ranks, *blocks)
            }
        }
    }

    /// Whether the counts stay below [`MAX_COUNT`]: every intermediate
    /// size of the forward passes is at most the dense size times the
    /// product of the ranks, and the counts sum at most `2d + 2` of those
    /// per block.
    fn fits(modes: &Modes, ranks: &[usize], blocks: usize) -> Result<(), String> {
        let dense = modes.dense_params() as f64;
        let ranks_prod: f64 = ranks.iter().map(|&r| r as f64).product();
        let terms = (2 * modes.order() + 2) as f64;
        if terms * blocks as f64 * dense * ranks_prod > MAX_COUNT {
            return Err(format!(
                "ranks {ranks:?} with {blocks} block(s) make a map too large to count (over 2^60 multiply-adds)"
            ));
        }
        Ok(())
    }

    /// Exact number of parameters of the input-to-hidden map (no bias).
    pub fn params(&self, modes: &Modes) -> usize {
        let out = modes.output();
        match self {
            MapKind::Dense => modes.dense_params(),
            MapKind::TensorTrain { ranks } => (0..modes.order())
                .map(|k| ranks[k] * modes.input[k] * out[k] * ranks[k + 1])
                .sum(),
            MapKind::BlockTerm { ranks, blocks } => {
                let factors: usize = (0..modes.order())
                    .map(|k| modes.input[k] * out[k] * ranks[k])
                    .sum();
                let core: usize = ranks.iter().product();
                blocks * (factors + core)
            }
        }
    }

    /// The truncated-normal scale (as [`crate::layers::InputMap::new`]
    /// takes it) that gives this map's represented dense matrix the same
    /// entry standard deviation as a dense matrix drawn with `dense_std`.
    ///
    /// Why: the authors' scales (TT `0.08 (5 - r)`, BT `0.05 (5 - R)`) make
    /// the represented matrix orders of magnitude smaller than the dense
    /// LSTM's (entries of std ~4e-6 for BT R = 4, N = 2 and ~2e-4 for TT
    /// ranks 4, against 0.09), so the tensorised models start with almost
    /// no signal from the input. This
    /// is the variance-matched alternative the `init = "matched"` option of
    /// the `btrnn-train` driver uses. An entry of the matrix is a sum of
    /// `t` products of `f` independent zero-mean entries (TT: `f = d`,
    /// `t = prod r_1..r_{d-1}`; BT: `f = d + 1` with the core,
    /// `t = N prod R_k`), so its standard deviation is `sigma^f sqrt(t)`,
    /// `sigma` being one stored entry's actual standard deviation (a normal
    /// truncated at two standard deviations keeps 0.8796 of its scale).
    pub fn matched_init_std(&self, dense_std: f64) -> f64 {
        const TRUNC: f64 = 0.879_626_2;
        let (f, t) = match self {
            MapKind::Dense => return dense_std,
            MapKind::TensorTrain { ranks } => (
                ranks.len().saturating_sub(1),
                ranks[1..ranks.len().saturating_sub(1)]
                    .iter()
                    .product::<usize>(),
            ),
            MapKind::BlockTerm { ranks, blocks } => {
                (ranks.len() + 1, blocks * ranks.iter().product::<usize>())
            }
        };
        let target = TRUNC * dense_std / (t.max(1) as f64).sqrt();
        target.powf(1.0 / f.max(1) as f64) / TRUNC
    }

    /// A short description, e.g. `BT ranks [4, 4, 4, 4], 2 blocks`.
    pub fn short_name(&self) -> String {
        match self {
            MapKind::Dense => "dense".into(),
            MapKind::TensorTrain { ranks } => format!("TT ranks {ranks:?}"),
            MapKind::BlockTerm { ranks, blocks } => format!("BT ranks {ranks:?}, {blocks} blocks"),
        }
    }
}

impl fmt::Display for MapKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.short_name())
    }
}

/// Parameters of a whole LSTM layer with this map: the map, the dense
/// hidden-to-hidden matrix `H x 4H`, and the bias `4H`.
pub fn lstm_layer_params(modes: &Modes, map: &MapKind) -> usize {
    let h = modes.hidden_size();
    map.params(modes) + h * modes.output_size() + modes.output_size()
}

/// The paper's UCF11 setting: frames of 160 x 120 x 3 = 57,600 values
/// tensorised as 8 x 20 x 20 x 18, hidden state 256 = 4 x 4 x 4 x 4, four
/// gates (the authors' `experiment_UCF11.py`, `params4`).
pub fn ucf11_modes() -> Modes {
    Modes::new(vec![8, 20, 20, 18], vec![4, 4, 4, 4], 4).expect("valid UCF11 modes")
}

/// Which modes the BT forward pass contracts before the core (keeping
/// their rank axes) and which after it (summing input and rank axes), each
/// list in contraction order: the plan with the fewest multiply-adds among
/// every split of the modes (before: least growing first; after: most
/// shrinking first). UCF11 at R = 4: modes 2, 3, 4 (0-based 1, 2, 3), the
/// core, then mode 1.
pub fn bt_plan(modes: &Modes, ranks: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let out = modes.output();
    let d = modes.order();
    let growth = |k: usize| (out[k] * ranks[k]) as f64 / modes.input[k] as f64;
    let shrink = |k: usize| (modes.input[k] * ranks[k]) as f64 / out[k] as f64;
    let mut best: Option<(usize, Vec<usize>, Vec<usize>)> = None;
    for mask in 0u32..(1 << d) {
        let mut first: Vec<usize> = (0..d).filter(|k| mask >> k & 1 == 1).collect();
        let mut rest: Vec<usize> = (0..d).filter(|k| mask >> k & 1 == 0).collect();
        first.sort_by(|&a, &b| growth(a).total_cmp(&growth(b)).then(a.cmp(&b)));
        rest.sort_by(|&a, &b| shrink(b).total_cmp(&shrink(a)).then(a.cmp(&b)));
        let cost = bt_macs(modes, ranks, &first, &rest);
        if best.as_ref().is_none_or(|(c, _, _)| cost < *c) {
            best = Some((cost, first, rest));
        }
    }
    let (_, first, rest) = best.expect("at least one mode");
    (first, rest)
}

/// Multiply-adds per input row of the TT forward pass, contracting the
/// chain from the first mode (or from the last, `reverse`).
fn tt_macs(modes: &Modes, ranks: &[usize], reverse: bool) -> usize {
    let out = modes.output();
    let d = modes.order();
    let mut size = modes.input_size(); // the open rank axis has size 1
    let mut macs = 0;
    for step in 0..d {
        let k = if reverse { d - 1 - step } else { step };
        let (closed, open) = if reverse {
            (ranks[k + 1], ranks[k])
        } else {
            (ranks[k], ranks[k + 1])
        };
        let rows = size / (modes.input[k] * closed);
        macs += rows * modes.input[k] * closed * out[k] * open;
        size = rows * out[k] * open;
    }
    macs
}

/// Whether the TT forward pass is cheaper from the last mode (UCF11: yes).
pub fn tt_reverse(modes: &Modes, ranks: &[usize]) -> bool {
    tt_macs(modes, ranks, true) < tt_macs(modes, ranks, false)
}

/// Multiply-adds per input row and block of the BT forward pass with this plan.
fn bt_macs(modes: &Modes, ranks: &[usize], first: &[usize], rest: &[usize]) -> usize {
    let out = modes.output();
    let mut size = modes.input_size();
    let mut macs = 0;
    for &k in first {
        let rows = size / modes.input[k];
        macs += rows * modes.input[k] * out[k] * ranks[k];
        size = rows * out[k] * ranks[k];
    }
    let kept: usize = first.iter().map(|&k| ranks[k]).product();
    let new: usize = rest.iter().map(|&k| ranks[k]).product();
    let rows = size / kept;
    macs += rows * kept * new;
    size = rows * new;
    for &k in rest {
        let rows = size / (modes.input[k] * ranks[k]);
        macs += rows * modes.input[k] * ranks[k] * out[k];
        size = rows * out[k];
    }
    macs
}

/// Multiply-adds of the map's forward pass for one input row, in the order
/// `layers::InputMap::forward` uses.
pub fn forward_macs(modes: &Modes, kind: &MapKind) -> usize {
    match kind {
        MapKind::Dense => modes.dense_params(),
        MapKind::TensorTrain { ranks } => tt_macs(modes, ranks, tt_reverse(modes, ranks)),
        MapKind::BlockTerm { ranks, blocks } => {
            let (first, rest) = bt_plan(modes, ranks);
            blocks * bt_macs(modes, ranks, &first, &rest)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ucf11_counts() {
        let m = ucf11_modes();
        assert_eq!(m.input_size(), 57_600);
        assert_eq!(m.output(), vec![16, 4, 4, 4]);
        assert_eq!(MapKind::Dense.params(&m), 57_600 * 1024);
        let bt = |r: usize, n: usize| MapKind::BlockTerm {
            ranks: vec![r; 4],
            blocks: n,
        };
        // sum_k I_k J_k = 8*16 + 20*4 + 20*4 + 18*4 = 360.
        assert_eq!(bt(1, 1).params(&m), 360 + 1);
        assert_eq!(bt(4, 2).params(&m), 2 * (360 * 4 + 256));
        let tt = MapKind::TensorTrain {
            ranks: vec![1, 4, 4, 4, 1],
        };
        assert_eq!(
            tt.params(&m),
            8 * 16 * 4 + 20 * 4 * 16 + 20 * 4 * 16 + 18 * 4 * 4
        );
    }

    #[test]
    fn bt_plan_picks_the_cheapest_order() {
        let m = ucf11_modes();
        assert_eq!(bt_plan(&m, &[4; 4]), (vec![1, 2, 3], vec![0]));
        // 64 x 64 frames as 8 x 8 x 8 x 8: no factor shrinks the state, and
        // taking the core early is far cheaper than keeping all four ranks.
        let m = Modes::new(vec![8; 4], vec![4; 4], 4).unwrap();
        let bt = MapKind::BlockTerm {
            ranks: vec![4; 4],
            blocks: 1,
        };
        assert!(
            forward_macs(&m, &bt) < 1_000_000,
            "{}",
            forward_macs(&m, &bt)
        );
    }

    #[test]
    fn bad_ranks_are_rejected() {
        let m = ucf11_modes();
        assert!(MapKind::TensorTrain {
            ranks: vec![1, 4, 1]
        }
        .validate(&m)
        .is_err());
        assert!(MapKind::BlockTerm {
            ranks: vec![2; 3],
            blocks: 1
        }
        .validate(&m)
        .is_err());
        assert!(Modes::new(vec![2, 3], vec![2], 4).is_err());
    }

    #[test]
    fn shapes_whose_counts_overflow_are_rejected() {
        let m = ucf11_modes();
        // The rank a config fuzz found: 4000^4 cores overflowed the counts.
        let bt = MapKind::BlockTerm {
            ranks: vec![4000; 4],
            blocks: 2,
        };
        assert!(bt.validate(&m).unwrap_err().contains("too large"));
        let tt = MapKind::TensorTrain {
            ranks: vec![1, 1 << 20, 1 << 20, 1 << 20, 1],
        };
        assert!(tt.validate(&m).is_err());
        assert!(Modes::new(vec![1 << 20; 4], vec![4; 4], 4).is_err());
        assert!(Modes::new(vec![2], vec![1 << 31], 4).is_err());
        assert!(Modes::new(vec![2; 17], vec![1; 17], 4).is_err());
        // The paper's shapes pass.
        let bt = MapKind::BlockTerm {
            ranks: vec![4; 4],
            blocks: 2,
        };
        bt.validate(&m).unwrap();
    }
}
