//! # LaNAS: learned action spaces for MCTS on a tabular NAS benchmark
//!
//! LaNAS (Wang, Xie, Li, Fonseca, Tian: "Sample-Efficient Neural Architecture
//! Search by Learning Actions for Monte Carlo Tree Search", TPAMI 2021) splits
//! the search space recursively with learned linear models: a complete binary
//! tree of fixed height (5 by default: 16 leaves), where each internal node fits
//! a linear regressor of accuracy on the architecture encoding of the samples
//! it holds and sends samples predicted at least as good as the node's mean
//! prediction to its "good" child, the rest to its "bad" child. Each round the
//! tree is retrained on every sample so far, the whole unsampled space is
//! routed to the leaves by prediction, and 20 samples are drawn: UCB descent
//! (Cp = 0.1, `ln n_parent`) to a leaf, then a uniformly random unsampled
//! architecture of that leaf. The paper's metric is the number of samples until
//! the table's global optimum is sampled.
//!
//! LaNAS is a configuration of core's partition engine
//! (`searchkit::partition`): [`Lanas`] is core's [`PartitionSearch`] on a
//! [`TableSpace`] with [`LanasConfig`] as its [`Preset`]: a [`Partitioner`]
//! with [`LinearLabeller`] (the node's [`LinearModel`] and its mean
//! prediction give both the labels and the [`LinearBoundary`]), the [`XBar`]
//! score and a complete tree of `height` levels ([`Growth::Complete`]); core's
//! [`Selector`] descent with the paper's `ln n_parent` UCB and a coin only on
//! exact ties; a rebuild every `batch` samples with the round's samples
//! back-propagated in between ([`Backprop::Mean`]); and [`TableLeaves`], the
//! finite table's leaf sampler. What stays here is LaNAS's own: the linear
//! models, the labeller, the score, the leaf sampler and the config.
//!
//! It follows the authors' code (`LaMCTS/LaNAS/LaNAS_NASBench101`):
//! samples are routed by their *true* accuracy against the node's threshold
//! (`Classifier.split_data`), unsampled architectures by prediction; every
//! node is split, an empty one sending everything to its good child; an
//! empty selected leaf falls back to the first non-empty leaf; node
//! statistics are the mean accuracy (infinite when empty) and count of the
//! training samples routed there, updated by back-propagation during the
//! round. The authors fit each node's linear model with Adam (lr 1e-5,
//! 20,000 epochs on its first fit and 3,000 after, warm-started across
//! rounds, a node without samples splitting at prediction 0):
//! [`Fit::WarmAdam`] ([`Fit::authors`]) is that regressor. Our default
//! solves the least-squares problem Adam approaches in closed form
//! ([`Fit::LeastSquares`], minimum-norm when the node has fewer samples than
//! features); with lr 1e-5 the authors' Adam stays far from that optimum, so
//! the two are different methods and the LaNAS configs run both.
//! [`Fit::Adam`] (from zero every rebuild) is ours, tested to reach the
//! least-squares fit.
//!
//! Entry points: [`lanas()`] builds a [`Lanas`], an ask/tell optimiser of
//! table entries driven by core's run loop (on a [`TableProblem`], through
//! `searchkit::nasbench::tabular::run_to_optimum`), from a [`LanasConfig`]
//! (the code's defaults, checked: [`LanasError`]); [`nb101_encoding`], the
//! NAS-Bench-101 input of the linear models, for `Tabular::nb101_with`.
//!
//! ```
//! use lanas::LanasConfig;
//! use searchkit::nasbench::nb201::Metric;
//! use searchkit::nasbench::tabular::{run_to_optimum, TableProblem, Tabular};
//! use searchkit::rng::Stream;
//!
//! let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
//! let problem = TableProblem::new(&tab, None);
//! let mut search = lanas::lanas(&problem, LanasConfig::default()).unwrap();
//! let mut rng = Stream::for_run("doc", "lanas", 0);
//! let log = run_to_optimum(&problem, &mut search, 200, &mut rng);
//! assert!(log.len() <= 200);
//! println!("best after {} samples: {:.4}", log.len(), log.curve.last().unwrap());
//! ```

use std::sync::Arc;

use searchkit::linalg::symmetric_eigen;
use searchkit::nasbench::nb101::{Nb101Cell, Op};
use searchkit::nasbench::tabular::{TableProblem, TableSpace};
use searchkit::partition::{
    Backprop, Boundary, Cp, FromLabeller, Growth, InitialDesign, Labeller, LeafContext,
    LeafSampler, MeanValue, NodeScore, PartitionSearch, Partitioner, Preset, RegionSampling,
    Samples, SearchError, SearchSettings, Selector, Setup, Tree, TreeConfig, Ucb,
};
use searchkit::rng::Stream;

/// How a node's linear model is fitted to its samples (mean squared error).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fit {
    /// Closed-form least squares with intercept; minimum-norm weights when the
    /// problem is underdetermined (ours: the optimum the authors' Adam
    /// approaches, without its dependence on initialisation and epochs).
    LeastSquares,
    /// Full-batch Adam from zero weights, refitted from scratch at every
    /// rebuild (ours, not the authors' regressor: see [`Fit::WarmAdam`]).
    Adam { lr: f64, epochs: usize },
    /// The authors' regressor (`LaNAS_NASBench101/Classifier.py`): one model
    /// per node, kept across rebuilds (a complete tree's node `k` is the
    /// same node every round), created with Xavier-uniform weights and
    /// torch's default bias (uniform in `+-1/sqrt(d)`), and trained by
    /// full-batch Adam (betas 0.9 / 0.999, eps 1e-8, gradient norm clipped
    /// at 5) for `first_epochs` on its first fit with samples and
    /// `later_epochs` on every later one, warm-started (weights and Adam
    /// moments carry over). A node without samples splits its points at
    /// prediction 0 (their `predict_mean` returns 0). The authors use lr
    /// 1e-5, 20,000 and 3,000 epochs ([`Fit::authors`]).
    WarmAdam {
        lr: f64,
        first_epochs: usize,
        later_epochs: usize,
    },
}

/// The authors' Adam learning rate (`Classifier.l_rate`).
pub const AUTHORS_LR: f64 = 1e-5;
/// The authors' epochs on a node's first fit (`Classifier.train`).
pub const AUTHORS_FIRST_EPOCHS: usize = 20_000;
/// The authors' epochs on every later fit.
pub const AUTHORS_LATER_EPOCHS: usize = 3_000;

impl Fit {
    /// The authors' settings of [`Fit::WarmAdam`].
    pub fn authors() -> Self {
        Fit::WarmAdam {
            lr: AUTHORS_LR,
            first_epochs: AUTHORS_FIRST_EPOCHS,
            later_epochs: AUTHORS_LATER_EPOCHS,
        }
    }

    fn check(self) -> Result<(), LanasError> {
        let (lr, epochs) = match self {
            Fit::LeastSquares => return Ok(()),
            Fit::Adam { lr, epochs } => (lr, epochs),
            Fit::WarmAdam {
                lr, first_epochs, ..
            } => (lr, first_epochs),
        };
        if !(lr.is_finite() && lr > 0.0) || epochs == 0 {
            return Err(LanasError::Fit(format!(
                "Adam needs a finite positive learning rate and at least one epoch on the first \
                 fit, got lr {lr} and {epochs} epochs"
            )));
        }
        Ok(())
    }
}

/// LaNAS's settings; `Default` is the authors' code.
#[derive(Clone, Debug, PartialEq)]
pub struct LanasConfig {
    /// Tree height (levels including the root): 5 gives 16 leaves.
    pub height: usize,
    /// UCB exploration constant.
    pub cp: f64,
    /// Random architectures before the first tree.
    pub init_samples: usize,
    /// Samples per round (the tree is retrained between rounds).
    pub batch: usize,
    pub fit: Fit,
}

impl Default for LanasConfig {
    fn default() -> Self {
        Self {
            height: 5,
            cp: 0.1,
            init_samples: 10,
            batch: 20,
            fit: Fit::LeastSquares,
        }
    }
}

/// A linear regressor `w . x + b`.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearModel {
    pub w: Vec<f64>,
    pub b: f64,
}

impl LinearModel {
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.b + self.w.iter().zip(x).map(|(w, &x)| w * x).sum::<f64>()
    }

    /// Least squares with an unpenalised intercept: centre, then the
    /// minimum-norm solution of the normal equations through the
    /// eigendecomposition of the Gram matrix.
    pub fn least_squares(xs: &[&[f64]], ys: &[f64]) -> Self {
        let n = xs.len();
        let d = xs.first().map_or(0, |x| x.len());
        assert!(n > 0 && ys.len() == n);
        let mut mx = vec![0.0; d];
        for x in xs {
            for (m, &v) in mx.iter_mut().zip(*x) {
                *m += v / n as f64;
            }
        }
        let my = ys.iter().sum::<f64>() / n as f64;
        let mut g = vec![vec![0.0; d]; d];
        let mut r = vec![0.0; d];
        let mut c = vec![0.0; d];
        for (x, &y) in xs.iter().zip(ys) {
            for k in 0..d {
                c[k] = x[k] - mx[k];
            }
            for i in 0..d {
                if c[i] == 0.0 {
                    continue;
                }
                r[i] += c[i] * (y - my);
                for j in i..d {
                    g[i][j] += c[i] * c[j];
                }
            }
        }
        for i in 0..d {
            for j in 0..i {
                g[i][j] = g[j][i];
            }
        }
        let (lam, v) = symmetric_eigen(&g);
        let top = lam.iter().cloned().fold(0.0, f64::max);
        // Pseudo-inverse cut-off as in numpy's lstsq (rcond ~ eps * size).
        let cut = top * 1e-10 * d.max(1) as f64;
        let mut w = vec![0.0; d];
        for k in 0..d {
            if lam[k] <= cut {
                continue;
            }
            let coef = (0..d).map(|i| v[i][k] * r[i]).sum::<f64>() / lam[k];
            for i in 0..d {
                w[i] += coef * v[i][k];
            }
        }
        let b = my - w.iter().zip(&mx).map(|(w, m)| w * m).sum::<f64>();
        Self { w, b }
    }

    /// Full-batch Adam on the mean squared error from zero weights, with the
    /// authors' gradient-norm clipping at 5.
    pub fn adam(xs: &[&[f64]], ys: &[f64], lr: f64, epochs: usize) -> Self {
        let n = xs.len() as f64;
        let d = xs.first().map_or(0, |x| x.len());
        let mut p = vec![0.0; d + 1]; // weights then bias
        let (mut m, mut v) = (vec![0.0; d + 1], vec![0.0; d + 1]);
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let mut grad = vec![0.0; d + 1];
        for t in 1..=epochs {
            grad.iter_mut().for_each(|g| *g = 0.0);
            for (x, &y) in xs.iter().zip(ys) {
                let pred = p[d] + (0..d).map(|k| p[k] * x[k]).sum::<f64>();
                let e = 2.0 * (pred - y) / n;
                for k in 0..d {
                    grad[k] += e * x[k];
                }
                grad[d] += e;
            }
            let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
            if norm > 5.0 {
                grad.iter_mut().for_each(|g| *g *= 5.0 / norm);
            }
            for k in 0..=d {
                m[k] = b1 * m[k] + (1.0 - b1) * grad[k];
                v[k] = b2 * v[k] + (1.0 - b2) * grad[k] * grad[k];
                let mh = m[k] / (1.0 - b1.powi(t as i32));
                let vh = v[k] / (1.0 - b2.powi(t as i32));
                p[k] -= lr * mh / (vh.sqrt() + eps);
            }
        }
        let b = p[d];
        p.truncate(d);
        Self { w: p, b }
    }

    /// One fit of a fresh model. [`Fit::WarmAdam`] is fitted here as Adam
    /// from zero for its first-fit epochs; its per-node state lives in
    /// [`LinearLabeller`].
    pub fn fit(xs: &[&[f64]], ys: &[f64], how: Fit) -> Self {
        match how {
            Fit::LeastSquares => Self::least_squares(xs, ys),
            Fit::Adam { lr, epochs } => Self::adam(xs, ys, lr, epochs),
            Fit::WarmAdam {
                lr, first_epochs, ..
            } => Self::adam(xs, ys, lr, first_epochs),
        }
    }
}

/// LaNAS's labeller: a [`LinearModel`] fitted on the node's samples (their
/// encodings and objective 0) labels a sample good iff its *true* value is
/// at least the mean of the node's predictions (`Classifier.split_data`);
/// the same model thresholded there is the node's boundary. With
/// [`Fit::WarmAdam`] it keeps each node's model and optimiser state between
/// rebuilds; a clone carries a copy of that state.
#[derive(Clone, Debug)]
pub struct LinearLabeller {
    pub fit: Fit,
    models: NodeModels,
}

impl LinearLabeller {
    pub fn new(fit: Fit) -> Self {
        Self {
            fit,
            models: NodeModels::default(),
        }
    }

    /// The node's boundary and, in the order of `idx`, its labels. `node`
    /// is `None` for a one-off labelling (no state kept).
    fn split(
        &self,
        node: Option<usize>,
        data: &Samples,
        idx: &[usize],
        rng: &mut Stream,
    ) -> (LinearBoundary, Vec<bool>) {
        let xs: Vec<&[f64]> = idx.iter().map(|&i| data.xs[i].as_slice()).collect();
        let ys: Vec<f64> = idx.iter().map(|&i| data.value(i)).collect();
        let model = match self.fit {
            Fit::WarmAdam {
                lr,
                first_epochs,
                later_epochs,
            } => {
                let mut fresh = None;
                let mut models = self.models.0.lock().expect("no panics while held");
                let state = match node {
                    Some(k) => models
                        .entry(k)
                        .or_insert_with(|| WarmAdam::init(xs[0].len(), rng)),
                    None => fresh.insert(WarmAdam::init(xs[0].len(), rng)),
                };
                let epochs = if state.fits == 0 {
                    first_epochs
                } else {
                    later_epochs
                };
                state.train(&xs, &ys, lr, epochs);
                state.model()
            }
            how => LinearModel::fit(&xs, &ys, how),
        };
        let threshold = xs.iter().map(|x| model.predict(x)).sum::<f64>() / xs.len() as f64;
        let labels = ys.iter().map(|&y| y >= threshold).collect();
        (LinearBoundary { model, threshold }, labels)
    }
}

impl Labeller for LinearLabeller {
    fn label(&self, data: &Samples, idx: &[usize], rng: &mut Stream) -> Vec<bool> {
        self.split(None, data, idx, rng).1
    }

    fn label_fitted(
        &self,
        node: usize,
        data: &Samples,
        idx: &[usize],
        rng: &mut Stream,
    ) -> (Vec<bool>, Option<Arc<dyn Boundary>>) {
        let (boundary, labels) = self.split(Some(node), data, idx, rng);
        (labels, Some(Arc::new(boundary)))
    }

    /// [`Fit::WarmAdam`]: the node's model (created now if it has none)
    /// thresholded at 0; otherwise everything goes to the good child.
    fn empty_boundary(
        &self,
        node: usize,
        data: &Samples,
        rng: &mut Stream,
    ) -> Option<Arc<dyn Boundary>> {
        let Fit::WarmAdam { .. } = self.fit else {
            return None;
        };
        let d = data.xs.first()?.len();
        let mut models = self.models.0.lock().expect("no panics while held");
        let state = models.entry(node).or_insert_with(|| WarmAdam::init(d, rng));
        Some(Arc::new(LinearBoundary {
            model: state.model(),
            threshold: 0.0,
        }))
    }
}

/// Per-node [`WarmAdam`] states, by node index.
#[derive(Debug, Default)]
struct NodeModels(std::sync::Mutex<std::collections::BTreeMap<usize, WarmAdam>>);

impl Clone for NodeModels {
    fn clone(&self) -> Self {
        let models = self.0.lock().expect("no panics while held").clone();
        Self(std::sync::Mutex::new(models))
    }
}

/// One node's persistent regressor and its Adam state (torch's `Adam` and
/// `clip_grad_norm_` semantics).
#[derive(Clone, Debug)]
pub(crate) struct WarmAdam {
    /// Weights, then the bias.
    p: Vec<f64>,
    m: Vec<f64>,
    v: Vec<f64>,
    /// Adam steps taken.
    t: i32,
    /// Fits with samples so far.
    fits: usize,
}

impl WarmAdam {
    /// `nn.Linear(d, 1)` after `xavier_uniform_` on the weight.
    fn init(d: usize, rng: &mut Stream) -> Self {
        let wb = (6.0 / (d as f64 + 1.0)).sqrt();
        let bb = 1.0 / (d.max(1) as f64).sqrt();
        let mut p: Vec<f64> = (0..d).map(|_| (2.0 * rng.uniform() - 1.0) * wb).collect();
        p.push((2.0 * rng.uniform() - 1.0) * bb);
        Self {
            m: vec![0.0; d + 1],
            v: vec![0.0; d + 1],
            p,
            t: 0,
            fits: 0,
        }
    }

    fn model(&self) -> LinearModel {
        let d = self.p.len() - 1;
        LinearModel {
            w: self.p[..d].to_vec(),
            b: self.p[d],
        }
    }

    /// Full-batch Adam on the mean squared error. The gradient is computed
    /// from the data's sufficient statistics (`X'X`, `X'1`, `X'y`, `1'y`),
    /// once per fit, so an epoch costs O(d^2) instead of O(n d): the same
    /// gradient up to rounding, and what makes the authors' 3,000 epochs per
    /// round affordable on runs of thousands of samples.
    fn train(&mut self, xs: &[&[f64]], ys: &[f64], lr: f64, epochs: usize) {
        self.fits += 1;
        let (n, d) = (xs.len() as f64, self.p.len() - 1);
        let (mut gram, mut sx, mut xy, mut sy) =
            (vec![0.0; d * d], vec![0.0; d], vec![0.0; d], 0.0);
        for (x, &y) in xs.iter().zip(ys) {
            for i in 0..d {
                if x[i] == 0.0 {
                    continue;
                }
                sx[i] += x[i];
                xy[i] += x[i] * y;
                for j in 0..d {
                    gram[i * d + j] += x[i] * x[j];
                }
            }
            sy += y;
        }
        let (b1, b2, eps) = (0.9f64, 0.999f64, 1e-8);
        let mut grad = vec![0.0; d + 1];
        for _ in 0..epochs {
            let (w, b) = (&self.p[..d], self.p[d]);
            for k in 0..d {
                let gw: f64 = gram[k * d..(k + 1) * d]
                    .iter()
                    .zip(w)
                    .map(|(g, w)| g * w)
                    .sum();
                grad[k] = 2.0 * (gw + sx[k] * b - xy[k]) / n;
            }
            let sw: f64 = sx.iter().zip(w).map(|(s, w)| s * w).sum();
            grad[d] = 2.0 * (sw + n * b - sy) / n;
            let norm = grad.iter().map(|g| g * g).sum::<f64>().sqrt();
            let coef = 5.0 / (norm + 1e-6);
            if coef < 1.0 {
                grad.iter_mut().for_each(|g| *g *= coef);
            }
            self.t += 1;
            let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
            for k in 0..=d {
                self.m[k] = b1 * self.m[k] + (1.0 - b1) * grad[k];
                self.v[k] = b2 * self.v[k] + (1.0 - b2) * grad[k] * grad[k];
                self.p[k] -= (lr / c1) * self.m[k] / (self.v[k].sqrt() / c2.sqrt() + eps);
            }
        }
    }
}

/// A node's linear boundary: predicted at least `threshold` is the good side.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearBoundary {
    pub model: LinearModel,
    pub threshold: f64,
}

impl Boundary for LinearBoundary {
    fn predict(&self, x: &[f64]) -> bool {
        self.model.predict(x) >= self.threshold
    }
}

/// A node's `x_bar`: the mean true value of its samples, infinite for a node
/// without samples (the code's initial value).
#[derive(Clone, Copy, Debug, Default)]
pub struct XBar;

impl NodeScore for XBar {
    fn score(&self, data: &Samples, idx: &[usize]) -> f64 {
        if idx.is_empty() {
            f64::INFINITY
        } else {
            MeanValue { objective: 0 }.score(data, idx)
        }
    }
}

/// LaNAS's partition: linear labels and boundaries, `x_bar` scores.
pub type LanasPartitioner = Partitioner<LinearLabeller, FromLabeller, XBar>;

impl LanasConfig {
    /// The partitioner: a complete tree of `height` levels, the paper's UCB.
    pub fn partitioner(&self) -> LanasPartitioner {
        Partitioner {
            labeller: LinearLabeller::new(self.fit),
            learner: FromLabeller,
            score: XBar,
            config: TreeConfig {
                cp: self.cp,
                ucb: Ucb::LogParent,
                growth: Growth::Complete {
                    levels: self.height.max(1),
                },
                ..TreeConfig::default()
            },
        }
    }

    /// Descent by UCB with a coin only on exact ties.
    pub fn selector() -> Selector {
        Selector::descent()
    }
}

/// LaNAS's leaf sampler: the unsampled table entries of each leaf, routed by
/// the tree's boundaries once per tree, drawn uniformly from the selected
/// leaf (from the first non-empty leaf in node order when it has none, the
/// code's fallback). An empty proposal means the table is exhausted.
#[derive(Clone, Debug, Default)]
pub struct TableLeaves {
    /// The tree generation the entries were routed for.
    generation: usize,
    /// Unsampled entries per node (empty for internal nodes).
    entries: Vec<Vec<usize>>,
}

impl TableLeaves {
    /// Route the table entries not in `told` to `tree`'s leaves.
    pub fn route(tree: &Tree, space: &TableSpace<'_>, told: &[usize]) -> Self {
        let tab = space.table();
        let sampled = space.told_mask(told);
        let mut entries = vec![vec![]; tree.len()];
        let mut x = vec![0.0; tab.dim()];
        for i in (0..tab.len()).filter(|&i| !sampled[i]) {
            for (a, &b) in x.iter_mut().zip(tab.encoding(i)) {
                *a = f64::from(b);
            }
            entries[tree.leaf_of(&x)].push(i);
        }
        Self {
            generation: 0,
            entries,
        }
    }

    /// Node `k`'s unsampled entries.
    pub fn of(&self, k: usize) -> &[usize] {
        &self.entries[k]
    }

    /// Draw an entry of leaf `k` uniformly, or of the first non-empty leaf
    /// in node order when `k` has none; returns the leaf drawn from and the
    /// entry, `None` when no leaf has any.
    pub fn draw(&mut self, k: usize, rng: &mut Stream) -> Option<(usize, usize)> {
        let leaf = if self.entries[k].is_empty() {
            self.entries.iter().position(|l| !l.is_empty())?
        } else {
            k
        };
        let j = rng.below(self.entries[leaf].len());
        Some((leaf, self.entries[leaf].swap_remove(j)))
    }
}

impl<'a> LeafSampler<TableSpace<'a>> for TableLeaves {
    fn name(&self) -> String {
        "table".into()
    }

    fn propose(&mut self, ctx: &LeafContext<'_, TableSpace<'a>>, rng: &mut Stream) -> Vec<usize> {
        if ctx.generation != self.generation || self.entries.len() != ctx.tree.len() {
            *self = Self::route(ctx.tree, ctx.space, ctx.points);
            self.generation = ctx.generation;
        }
        (0..ctx.batch)
            .map_while(|_| self.draw(ctx.region.node(), rng).map(|(_, e)| e))
            .collect()
    }
}

/// LaNAS as an ask/tell optimiser of table entries: core's
/// [`PartitionSearch`] on a [`TableSpace`] with [`LanasConfig`] as its preset
/// and [`TableLeaves`] in the leaves. The first ask is `init_samples`
/// distinct random entries; then one entry per ask, on a tree rebuilt from
/// every sample each `batch` samples, with each sample back-propagated into
/// the selection's statistics before the next ask (the authors' rounds). An
/// exhausted table gives an empty ask.
pub type Lanas<'a> = PartitionSearch<LanasConfig, TableLeaves, TableSpace<'a>>;

/// LaNAS on `problem`'s table.
pub fn lanas<'a>(problem: &TableProblem<'a>, cfg: LanasConfig) -> Result<Lanas<'a>, LanasError> {
    PartitionSearch::for_problem(problem, cfg, TableLeaves::default())
}

/// Why a [`LanasConfig`] is not valid.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LanasError {
    #[error("height must be 1..=12 (a complete tree of 2^height - 1 nodes), got {0}")]
    Height(usize),
    #[error("batch (samples per round) must be positive")]
    Batch,
    #[error("init_samples must be positive (the first tree needs samples)")]
    Init,
    #[error("cp must be finite and non-negative, got {0}")]
    Cp(f64),
    #[error("{0}")]
    Fit(String),
    #[error(transparent)]
    Search(#[from] SearchError),
}

impl Preset for LanasConfig {
    type Labeller = LinearLabeller;
    type Learner = FromLabeller;
    type Score = XBar;
    type Error = LanasError;

    fn validate(&self) -> Result<(), LanasError> {
        if !(1..=12).contains(&self.height) {
            return Err(LanasError::Height(self.height));
        }
        if self.batch == 0 {
            return Err(LanasError::Batch);
        }
        if self.init_samples == 0 {
            return Err(LanasError::Init);
        }
        if !(self.cp.is_finite() && self.cp >= 0.0) {
            return Err(LanasError::Cp(self.cp));
        }
        self.fit.check()
    }

    fn needs_reference(&self) -> bool {
        false
    }

    fn setup(&self, _reference: Option<&[f64]>) -> Setup<LinearLabeller, FromLabeller, XBar> {
        Setup {
            partitioner: self.partitioner(),
            settings: SearchSettings {
                name: "lanas".into(),
                init: self.init_samples,
                design: InitialDesign::Uniform,
                batch: 1,
                rebuild_every: self.batch,
                backprop: Backprop::Mean {
                    positive_only: true,
                },
                cp: Cp::Fixed(self.cp),
                selector: Self::selector(),
                fallback: RegionSampling::default(),
                clip: false,
                episodes: false,
                needs_reference: false,
            },
        }
    }
}

/// Length of the LaNAS NB101 encoding ([`nb101_encoding`]).
pub const NB101_DIM: usize = 49;

/// The NB101 encoding of the LaNAS repository's `nasbench_dataset` (taken from
/// AlphaX), as far as the code shows it (the dataset itself is a download):
/// the cell's `n x n` adjacency flattened row-major and zero-padded to 42
/// values (for 7 vertices the dropped tail is the output row, always zero),
/// then 7 op codes: input -1, conv3x3 0.5, output 1.0 and padding 0 (read off
/// the known best cell in `Node.py`); conv1x1 0.25 and maxpool3x3 0.75 are our
/// choice, as the code shows no cell with them.
pub fn nb101_encoding(cell: &Nb101Cell) -> [f32; NB101_DIM] {
    let mut v = [0f32; NB101_DIM];
    let n = cell.num_vertices();
    let mut k = 0;
    'rows: for i in 0..n {
        for j in 0..n {
            if k == 42 {
                break 'rows;
            }
            v[k] = if cell.adjacency[i][j] { 1.0 } else { 0.0 };
            k += 1;
        }
    }
    for (i, op) in cell.ops.iter().enumerate() {
        v[42 + i] = match op {
            Op::Input => -1.0,
            Op::Conv1x1 => 0.25,
            Op::Conv3x3 => 0.5,
            Op::MaxPool3x3 => 0.75,
            Op::Output => 1.0,
        };
    }
    v
}

#[cfg(test)]
mod tests;
