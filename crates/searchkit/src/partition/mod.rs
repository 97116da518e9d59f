//! The learned space-partition search shared by LA-MCTS, LaMOO and LaNAS,
//! all three configurations of [`PartitionSearch`] (LaNAS over a finite
//! table, a [`Domain`] other than the box); PlaLaM plugs in as a further
//! configuration (see below).
//!
//! Every iteration these methods rebuild a binary tree from *all* samples so
//! far: a node holding more than `leaf_size` samples is split in two by
//! labelling its samples good or bad and learning a boundary (a classifier on
//! `x`) between the two labels; the good child is child 0. A search then
//! chooses a node by UCB (descending from the root, or over all leaves), and
//! the node's region, the points every classifier on the path assigns to the
//! path's side, is where a solver draws the next samples.
//!
//! The pieces that differ between the papers are traits or settings:
//! - [`Labeller`]: good/bad labels of a node's samples, and through
//!   [`Labeller::label_fitted`] the boundary when the labelling fits it
//!   (LaNAS's linear regressor cut at its mean prediction; the partitioner's
//!   learner is then [`FromLabeller`]); [`KMeansLabeller`] is
//!   LA-MCTS's (2-means on `[x, value]` rows, the cluster with the higher mean
//!   value is good), kept in core because PlaLaM reuses k-means labelling
//!   (over a learned latent encoding); LaMOO's dominance-number labeller
//!   lives in `lamoo`;
//! - [`BoundaryLearner`] / [`Boundary`]: the classifier on `x`;
//!   [`SvmLearner`] (LA-MCTS, LaMOO) wraps [`crate::learn::Svc`];
//! - [`NodeScore`]: a node's value in UCB; [`MeanValue`] (LA-MCTS, kept in
//!   core for PlaLaM's max/mean scores) is the mean of one objective; LaMOO's
//!   hypervolume score lives in `lamoo`;
//! - [`Growth`] in [`TreeConfig`]: split a node by its sample count when its
//!   labels and boundary separate it (LA-MCTS, LaMOO), or every node to a
//!   fixed number of levels, empty or one-class nodes included (LaNAS);
//! - [`Selector`]: leaf or path selection ([`Selection`]), the tie rule
//!   ([`TieBreak`]) and LaMOO's floor on a zero-valued good child, over the
//!   tree's statistics or outside ones ([`Selector::select_by`], LaNAS's
//!   within-round back-propagation); the UCB form is [`Ucb`] in
//!   [`TreeConfig`];
//! - [`LeafSampler`]: the solver in the region, for one or more objectives;
//!   [`RandomRegion`] and [`CmaEsRegion`] (module `samplers`) carry both
//!   papers' variants as modes; model-based samplers (GP-EI, TuRBO, qEHVI)
//!   stay with their paper;
//! - [`SearchSettings`]: initial design ([`InitialDesign`]), batch, [`Cp`]
//!   (fixed or a fraction of the current hypervolume), the fallback when the
//!   sampler proposes nothing, clipping, whether a sampler's episode keeps
//!   its region, how often the tree is rebuilt and whether new samples are
//!   back-propagated into the selection's statistics in between
//!   ([`Backprop`], [`NodeStats`]);
//! - [`Domain`]: where the points live and how the tree sees them: a
//!   `BoxSpace` (the default), or a finite table
//!   (`nasbench::tabular::TableSpace`, whose features are each entry's
//!   encoding).
//!
//! A paper's config implements [`Preset`] (validation, the partitioner and
//! the settings); `lamcts::LaMcts` and `lamoo::LaMoo` are
//! `PartitionSearch<TheirConfig, S>` on a box, and `lanas::Lanas` is
//! `PartitionSearch<LanasConfig, TableLeaves, TableSpace>` (linear labeller
//! and boundary, [`Growth::Complete`], a rebuild every 20 samples with
//! [`Backprop::Mean`] in between, and a leaf sampler routing the table's
//! unsampled entries with [`Tree::leaf_of`]); `plalam::Lap3` is
//! `PartitionSearch<Lap3Config, LeafCma, PlanSpace>`: a labeller splitting
//! by its SVC's predictions, a max node score, [`Backprop::Selected`]
//! between rebuilds every 50 samples, and a domain whose features, the
//! latent encoding of every rollout, are recomputed from all points at each
//! rebuild ([`Domain::rebuild_features`]).
//!
//! [`Partitioner::build`] gives a [`Tree`]; [`Selector::select`] (or
//! [`Tree::select`], LA-MCTS's descent) gives a node whose [`Region`] (the
//! path, its classifiers and the node's sample indices) has membership tests
//! and samplers ([`Region::sample`], [`Region::candidates_around`]).
//!
//! Semantics follow the LA-MCTS code (facebookresearch/LaMCTS,
//! `LA-MCTS/lamcts/{MCTS,Node,Classifier}.py`), with [`Growth::Adaptive`]:
//! - a leaf is split iff it holds more than `max(leaf_size, 2)` samples, the
//!   labeller gives two non-empty classes and the classifier trained on those
//!   labels predicts both classes on the node's own points
//!   (`Classifier.is_splittable_svm`);
//! - the children take the *labeller's* labels (`Classifier.split_data` uses
//!   the k-means labels, not the SVM's predictions), so a sample may sit in a
//!   child whose boundary puts it on the other side; regions are defined by
//!   the classifiers alone;
//! - splitting goes in waves in node order (breadth first), which decides
//!   which nodes exist when [`TreeConfig::max_nodes`] caps the tree;
//! - a node's visit count `n` is its number of samples (the code's
//!   back-propagation is overwritten by the next rebuild), the root's UCB is
//!   infinite, and ties between children are broken uniformly at random.
//!
//! Differences: the code fits k-means twice per split (once to test
//! splittability, once to split, with different random states); here one fit
//! serves both. The code casts `x` and values to `float32` for k-means and
//! the SVM; here everything is `f64`.

mod region;
mod samplers;
mod search;
mod select;
mod tree;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::learn::{KMeans, Svc, SvcParams};
use crate::rng::Stream;

pub use region::{Region, RegionProbes, RegionSampling};
pub use samplers::{
    rank_by_point_hypervolume, CmaEsMode, CmaEsRegion, CmaEsSettings, CmaPool, CmaStart, CmaTell,
    FreshCmaEs, RandomDraw, RandomRegion,
};
pub use search::{
    Backprop, Cp, Domain, InitialDesign, LeafContext, LeafSampler, NodeStats, PartitionSearch,
    Preset, SearchError, SearchSettings, Setup,
};
pub use select::{Selection, Selector, TieBreak};
pub use tree::{Growth, Node, Partitioner, Tree, TreeConfig, TreeConfigError};

/// Evaluated points: `xs[i]` with objective values `ys[i]` (maximised).
#[derive(Clone, Debug, Default)]
pub struct Samples {
    pub xs: Vec<Vec<f64>>,
    pub ys: Vec<Vec<f64>>,
}

impl Samples {
    pub fn new() -> Self {
        Self::default()
    }

    /// Add one point.
    pub fn push(&mut self, x: Vec<f64>, y: Vec<f64>) {
        self.xs.push(x);
        self.ys.push(y);
    }

    pub fn len(&self) -> usize {
        self.xs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.xs.is_empty()
    }

    /// Objective 0 of sample `i` (the single-objective value).
    pub fn value(&self, i: usize) -> f64 {
        self.ys[i][0]
    }

    /// Index of the sample with the largest objective 0 (first on ties).
    pub fn best(&self) -> Option<usize> {
        (0..self.len()).fold(None, |b: Option<usize>, i| match b {
            Some(j) if self.value(j) >= self.value(i) => Some(j),
            _ => Some(i),
        })
    }
}

/// Labels a node's samples good (`true`) or bad (`false`).
pub trait Labeller: Send + Sync {
    /// Labels of the samples `idx` of `data`, in the order of `idx`. Return
    /// all-equal labels when the node cannot be split.
    fn label(&self, data: &Samples, idx: &[usize], rng: &mut Stream) -> Vec<bool>;

    /// The labels and, when labelling fits the boundary itself, that
    /// boundary (LaNAS: one linear regressor, cut at its mean prediction,
    /// gives both); the partitioner then asks no [`BoundaryLearner`]. By
    /// default only [`Labeller::label`]. `node` is the node's index in the
    /// tree being built, stable across rebuilds of a complete tree, for
    /// labellers that keep a model per node (LaNAS's warm-started
    /// regressors).
    fn label_fitted(
        &self,
        node: usize,
        data: &Samples,
        idx: &[usize],
        rng: &mut Stream,
    ) -> (Vec<bool>, Option<Arc<dyn Boundary>>) {
        let _ = node;
        (self.label(data, idx, rng), None)
    }

    /// The boundary of node `node` of a complete tree ([`Growth::Complete`])
    /// when it holds none of `data`'s samples; `None` (the default) sends
    /// every point to its good child.
    fn empty_boundary(
        &self,
        _node: usize,
        _data: &Samples,
        _rng: &mut Stream,
    ) -> Option<Arc<dyn Boundary>> {
        None
    }
}

/// A learned boundary on `x`: which side a point falls on.
pub trait Boundary: Send + Sync + std::fmt::Debug {
    /// `true` for the good side.
    fn predict(&self, x: &[f64]) -> bool;

    /// [`Boundary::predict`] for many points (override when a batch is
    /// cheaper than its points one by one; the answers must not change).
    fn predict_many(&self, xs: &[&[f64]]) -> Vec<bool> {
        xs.iter().map(|x| self.predict(x)).collect()
    }

    /// A tester of the probes `centre + l dirs[p]` at any scale `l`, for
    /// boundaries that can precompute per centre ([`Svc::rbf_probes`]);
    /// `None` (the default) tests the points with
    /// [`Boundary::predict_many`]. `coord_err` bounds, per coordinate, how
    /// far a tested point may sit from `centre + l dirs[p]` by rounding.
    fn probes<'a>(
        &'a self,
        _centre: &[f64],
        _dirs: &[Vec<f64>],
        _coord_err: f64,
    ) -> Option<Box<dyn ProbeTest + 'a>> {
        None
    }
}

/// Answers of [`Boundary::predict`] at scaled probes (see
/// [`Boundary::probes`]): `points[k]` is the tested point
/// `centre + l dirs[idx[k]]`; the answers must be `predict(points[k])`.
pub trait ProbeTest {
    fn predict(&self, l: f64, idx: &[usize], points: &[&[f64]]) -> Vec<bool>;
}

impl ProbeTest for crate::learn::svm::RbfProbes<'_> {
    fn predict(&self, l: f64, idx: &[usize], points: &[&[f64]]) -> Vec<bool> {
        crate::learn::svm::RbfProbes::predict(self, l, idx, points)
    }
}

/// Learns a [`Boundary`] from labelled points.
pub trait BoundaryLearner: Send + Sync {
    /// `None` when no boundary can be learned (the node stays a leaf).
    fn fit(&self, xs: &[Vec<f64>], labels: &[bool]) -> Option<Arc<dyn Boundary>>;
}

/// The learner of a partitioner whose [`Labeller::label_fitted`] hands over
/// the boundary: it learns none itself.
#[derive(Clone, Copy, Debug, Default)]
pub struct FromLabeller;

impl BoundaryLearner for FromLabeller {
    fn fit(&self, _xs: &[Vec<f64>], _labels: &[bool]) -> Option<Arc<dyn Boundary>> {
        None
    }
}

/// A node's value, the exploitation term of UCB.
pub trait NodeScore: Send + Sync {
    fn score(&self, data: &Samples, idx: &[usize]) -> f64;
}

impl<F: Fn(&Samples, &[usize]) -> f64 + Send + Sync> NodeScore for F {
    fn score(&self, data: &Samples, idx: &[usize]) -> f64 {
        self(data, idx)
    }
}

/// The exploration bonus of UCB.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Ucb {
    /// `value + 2 Cp sqrt(2 sqrt(n_parent) / n)`, the LA-MCTS code's form
    /// (`Node.get_uct`).
    #[default]
    SqrtParent,
    /// `value + 2 Cp sqrt(2 ln(n_parent) / n)`, the paper's (Eq. 1).
    LogParent,
}

impl Ucb {
    /// UCB of a child with `value` and `n` samples whose parent holds
    /// `n_parent`; infinite when `n == 0`.
    pub fn score(self, value: f64, n: usize, n_parent: usize, cp: f64) -> f64 {
        if n == 0 {
            return f64::INFINITY;
        }
        let np = n_parent as f64;
        let t = match self {
            Ucb::SqrtParent => np.sqrt(),
            Ucb::LogParent => np.ln(),
        };
        value + 2.0 * cp * (2.0 * t / n as f64).sqrt()
    }
}

/// LA-MCTS's labeller: 2-means on rows `[x, y_objective]` (unscaled, as in
/// `Classifier.learn_clusters`), the cluster with the higher mean value is
/// good.
#[derive(Clone, Debug)]
pub struct KMeansLabeller {
    pub kmeans: KMeans,
    pub objective: usize,
}

impl Default for KMeansLabeller {
    /// scikit-learn's `KMeans(n_clusters=2)` of the code's era (`n_init = 10`).
    fn default() -> Self {
        Self {
            kmeans: KMeans::new(2),
            objective: 0,
        }
    }
}

impl Labeller for KMeansLabeller {
    fn label(&self, data: &Samples, idx: &[usize], rng: &mut Stream) -> Vec<bool> {
        if idx.len() < 2 {
            return vec![true; idx.len()];
        }
        let rows: Vec<Vec<f64>> = idx
            .iter()
            .map(|&i| {
                let mut r = Vec::with_capacity(data.xs[i].len() + 1);
                r.extend_from_slice(&data.xs[i]);
                r.push(data.ys[i][self.objective]);
                r
            })
            .collect();
        let fit = self.kmeans.fit(&rows, rng);
        let (mut sum, mut cnt) = ([0.0; 2], [0usize; 2]);
        for (&i, &l) in idx.iter().zip(&fit.labels) {
            let l = l.min(1);
            sum[l] += data.ys[i][self.objective];
            cnt[l] += 1;
        }
        if cnt[0] == 0 || cnt[1] == 0 {
            return vec![true; idx.len()];
        }
        // The code flips labels only when the bad mean is strictly larger.
        let good = if sum[1] / cnt[1] as f64 > sum[0] / cnt[0] as f64 {
            1
        } else {
            0
        };
        fit.labels.iter().map(|&l| l == good).collect()
    }
}

/// An SVC boundary (LA-MCTS, LaMOO): the `true` class is the good side.
#[derive(Clone, Debug, Default)]
pub struct SvmLearner {
    pub params: SvcParams,
}

impl Boundary for Svc {
    fn predict(&self, x: &[f64]) -> bool {
        Svc::predict(self, x)
    }

    fn predict_many(&self, xs: &[&[f64]]) -> Vec<bool> {
        Svc::predict_many(self, xs)
    }

    fn probes<'a>(
        &'a self,
        centre: &[f64],
        dirs: &[Vec<f64>],
        coord_err: f64,
    ) -> Option<Box<dyn ProbeTest + 'a>> {
        self.rbf_probes(centre, dirs, coord_err)
            .map(|p| Box::new(p) as Box<dyn ProbeTest + 'a>)
    }
}

impl BoundaryLearner for SvmLearner {
    fn fit(&self, xs: &[Vec<f64>], labels: &[bool]) -> Option<Arc<dyn Boundary>> {
        Svc::fit(&self.params, xs, labels)
            .ok()
            .map(|s| Arc::new(s) as Arc<dyn Boundary>)
    }
}

/// The mean of one objective over a node's samples (LA-MCTS's `x_bar`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MeanValue {
    pub objective: usize,
}

impl NodeScore for MeanValue {
    fn score(&self, data: &Samples, idx: &[usize]) -> f64 {
        if idx.is_empty() {
            return f64::NEG_INFINITY;
        }
        idx.iter().map(|&i| data.ys[i][self.objective]).sum::<f64>() / idx.len() as f64
    }
}
