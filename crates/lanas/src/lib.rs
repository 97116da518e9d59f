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
//! (`searchkit::partition`): [`LanasConfig::partitioner`] is a
//! [`Partitioner`] with [`LinearLabeller`] (the node's [`LinearModel`] and
//! its mean prediction give both the labels and the [`LinearBoundary`]), the
//! [`XBar`] score and a complete tree of `height` levels
//! ([`Growth::Complete`]); selection is core's [`Selector`] descent with the
//! paper's `ln n_parent` UCB and a coin only on exact ties. What stays here
//! is LaNAS's own: the linear models, the round's back-propagated statistics
//! ([`RoundStats`], read by [`Selector::select_by`]) and the finite table's
//! leaves ([`TableLeaves`]).
//!
//! It follows the authors' code (`LaMCTS/LaNAS/LaNAS_NASBench101`):
//! samples are routed by their *true* accuracy against the node's threshold
//! (`Classifier.split_data`), unsampled architectures by prediction; every
//! node is split, an empty one sending everything to its good child; an
//! empty selected leaf falls back to the first non-empty leaf; node
//! statistics are the mean accuracy (infinite when empty) and count of the
//! training samples routed there, updated by back-propagation during the
//! round. The authors fit each linear model with Adam; we solve the same
//! least-squares problem in closed form ([`Fit::LeastSquares`], minimum-norm
//! when the node has fewer samples than features); [`Fit::Adam`] is kept as
//! an option and tested to give the same fit.
//!
//! Entry points: [`Lanas`], an ask/tell [`Optimizer`] of table entries
//! driven by core's run loop (on a `TableProblem`, through
//! `searchkit::nasbench::tabular::run_to_optimum`), with [`LanasConfig`] (the
//! code's defaults); [`nb101_encoding`], the NAS-Bench-101 input of the
//! linear models, for `Tabular::nb101_with`.
//!
//! ```
//! use lanas::{Lanas, LanasConfig};
//! use searchkit::nasbench::nb201::Metric;
//! use searchkit::nasbench::tabular::{run_to_optimum, TableProblem, Tabular};
//! use searchkit::rng::Stream;
//!
//! let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
//! let mut lanas = Lanas::new(&tab, LanasConfig::default());
//! let mut rng = Stream::for_run("doc", "lanas", 0);
//! let log = run_to_optimum(&TableProblem::new(&tab, None), &mut lanas, 200, &mut rng);
//! assert!(log.len() <= 200);
//! println!("best after {} samples: {:.4}", log.len(), log.curve.last().unwrap());
//! ```

use std::sync::Arc;

use searchkit::linalg::symmetric_eigen;
use searchkit::nasbench::nb101::{Nb101Cell, Op};
use searchkit::nasbench::tabular::Tabular;
use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::partition::{
    Boundary, FromLabeller, Growth, Labeller, MeanValue, Node, NodeScore, Partitioner, Samples,
    Selector, Tree, TreeConfig, Ucb,
};
use searchkit::rng::Stream;

/// How a node's linear model is fitted to its samples (mean squared error).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fit {
    /// Closed-form least squares with intercept; minimum-norm weights when the
    /// problem is underdetermined.
    LeastSquares,
    /// Full-batch Adam from zero weights (the authors' optimiser; they use
    /// lr 1e-5, 20,000 then 3,000 epochs, warm-started across rounds).
    Adam { lr: f64, epochs: usize },
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

    pub fn fit(xs: &[&[f64]], ys: &[f64], how: Fit) -> Self {
        match how {
            Fit::LeastSquares => Self::least_squares(xs, ys),
            Fit::Adam { lr, epochs } => Self::adam(xs, ys, lr, epochs),
        }
    }
}

/// LaNAS's labeller: a [`LinearModel`] fitted on the node's samples (their
/// encodings and objective 0) labels a sample good iff its *true* value is
/// at least the mean of the node's predictions (`Classifier.split_data`);
/// the same model thresholded there is the node's boundary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LinearLabeller {
    pub fit: Fit,
}

impl LinearLabeller {
    /// The node's boundary and, in the order of `idx`, its labels.
    fn split(&self, data: &Samples, idx: &[usize]) -> (LinearBoundary, Vec<bool>) {
        let xs: Vec<&[f64]> = idx.iter().map(|&i| data.xs[i].as_slice()).collect();
        let ys: Vec<f64> = idx.iter().map(|&i| data.value(i)).collect();
        let model = LinearModel::fit(&xs, &ys, self.fit);
        let threshold = xs.iter().map(|x| model.predict(x)).sum::<f64>() / xs.len() as f64;
        let labels = ys.iter().map(|&y| y >= threshold).collect();
        (LinearBoundary { model, threshold }, labels)
    }
}

impl Labeller for LinearLabeller {
    fn label(&self, data: &Samples, idx: &[usize], _rng: &mut Stream) -> Vec<bool> {
        self.split(data, idx).1
    }

    fn label_fitted(
        &self,
        data: &Samples,
        idx: &[usize],
        _rng: &mut Stream,
    ) -> (Vec<bool>, Option<Arc<dyn Boundary>>) {
        let (boundary, labels) = self.split(data, idx);
        (labels, Some(Arc::new(boundary)))
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
            labeller: LinearLabeller { fit: self.fit },
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

/// One round's statistics over the core tree: `x_bar` and `n` per node,
/// from the tree's samples, then updated by each sample drawn in the round.
#[derive(Clone, Debug)]
pub struct RoundStats {
    pub x_bar: Vec<f64>,
    pub n: Vec<usize>,
}

impl RoundStats {
    pub fn new(tree: &Tree) -> Self {
        Self {
            x_bar: tree.nodes().iter().map(|node| node.value).collect(),
            n: tree.nodes().iter().map(Node::n).collect(),
        }
    }

    /// `(x_bar, n)` of node `k`, for [`Selector::select_by`].
    pub fn of(&self, k: usize) -> (f64, usize) {
        (self.x_bar[k], self.n[k])
    }

    /// Add a sampled value to node `k` and its ancestors: the running mean
    /// moves only for a positive value (as in the code), the count always.
    pub fn backpropagate(&mut self, tree: &Tree, k: usize, value: f64) {
        let mut node = Some(k);
        while let Some(i) = node {
            if value > 0.0 {
                self.x_bar[i] = if self.n[i] > 0 {
                    (self.x_bar[i] * self.n[i] as f64 + value) / (self.n[i] + 1) as f64
                } else {
                    value
                };
            }
            self.n[i] += 1;
            node = tree.node(i).parent;
        }
    }
}

/// The unsampled table entries of each leaf, routed by the boundaries.
#[derive(Clone, Debug)]
pub struct TableLeaves {
    /// Entries per node (empty for internal nodes).
    entries: Vec<Vec<usize>>,
}

impl TableLeaves {
    pub fn route(tree: &Tree, tab: &Tabular, sampled: &[bool]) -> Self {
        let mut entries = vec![vec![]; tree.len()];
        let mut x = vec![0.0; tab.dim()];
        for i in (0..tab.len()).filter(|&i| !sampled[i]) {
            for (a, &b) in x.iter_mut().zip(tab.encoding(i)) {
                *a = f64::from(b);
            }
            entries[tree.leaf_of(&x)].push(i);
        }
        Self { entries }
    }

    /// Node `k`'s unsampled entries.
    pub fn of(&self, k: usize) -> &[usize] {
        &self.entries[k]
    }

    /// Draw an entry of leaf `k` uniformly, or of the first non-empty leaf
    /// in node order when `k` has none (the code's fallback); returns the
    /// leaf drawn from and the entry, `None` when no leaf has any.
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

/// LaNAS as an ask/tell optimiser of table entries, one architecture per
/// ask: first `init_samples` distinct random entries, then rounds of `batch`
/// samples, each round on a tree rebuilt from every sample so far. A sample's
/// value (told back) is back-propagated in the round's statistics before the
/// next ask, as in the authors' loop; an exhausted table gives an empty ask.
#[derive(Clone, Debug)]
pub struct Lanas<'a> {
    tab: &'a Tabular,
    cfg: LanasConfig,
    partitioner: LanasPartitioner,
    sampled: Vec<bool>,
    /// Every sample so far (encoding, true value), in sampling order.
    samples: Samples,
    round: Option<Round>,
    /// The leaf the last asked architecture came from (rounds only).
    pending_leaf: Option<usize>,
}

/// One round: its tree and statistics, the unsampled entries per leaf,
/// samples drawn so far.
#[derive(Clone, Debug)]
struct Round {
    tree: Tree,
    stats: RoundStats,
    leaves: TableLeaves,
    drawn: usize,
}

impl<'a> Lanas<'a> {
    pub fn new(tab: &'a Tabular, cfg: LanasConfig) -> Self {
        Self {
            tab,
            partitioner: cfg.partitioner(),
            cfg,
            sampled: vec![false; tab.len()],
            samples: Samples::new(),
            round: None,
            pending_leaf: None,
        }
    }

    /// A new round: rebuild from every sample, route the unsampled space.
    /// The labeller draws nothing, so `rng` is only named, not advanced.
    fn new_round(&self, rng: &Stream) -> Round {
        let tree = self.partitioner.build(&self.samples, rng);
        Round {
            stats: RoundStats::new(&tree),
            leaves: TableLeaves::route(&tree, self.tab, &self.sampled),
            tree,
            drawn: 0,
        }
    }
}

impl Optimizer<usize> for Lanas<'_> {
    fn name(&self) -> String {
        "lanas".into()
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<usize> {
        let n = self.tab.len();
        if self.samples.len() >= n {
            return vec![];
        }
        if self.samples.len() < self.cfg.init_samples.min(n) {
            // Uniform draws until an unsampled entry comes up.
            loop {
                let i = rng.below(n);
                if !self.sampled[i] {
                    return vec![i];
                }
            }
        }
        if self
            .round
            .as_ref()
            .is_none_or(|r| r.drawn >= self.cfg.batch)
        {
            self.round = Some(self.new_round(rng));
        }
        let r = self.round.as_mut().expect("a round");
        r.drawn += 1;
        let stats = &r.stats;
        let leaf = LanasConfig::selector().select_by(&r.tree, self.cfg.cp, &|k| stats.of(k), rng);
        let Some((leaf, entry)) = r.leaves.draw(leaf, rng) else {
            return vec![];
        };
        self.pending_leaf = Some(leaf);
        vec![entry]
    }

    fn tell(&mut self, evaluated: &[Evaluated<usize>], _rng: &mut Stream) {
        for e in evaluated {
            self.sampled[e.x] = true;
            let x = self
                .tab
                .encoding(e.x)
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            self.samples.push(x, vec![self.tab.value(e.x)]);
            if let (Some(leaf), Some(r)) = (self.pending_leaf.take(), self.round.as_mut()) {
                r.stats.backpropagate(&r.tree, leaf, e.y[0]);
            }
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
