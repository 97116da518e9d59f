//! # LA-MCTS (Wang, Fonseca, Tian; NeurIPS 2020)
//!
//! *Learning Search Space Partition for Black-box Optimization using Monte
//! Carlo Tree Search.* LA-MCTS learns, from the samples so far, a tree of
//! nonlinear partitions of the search space: each node's samples are split
//! into a good and a bad cluster by 2-means on `[x, f(x)]`, and an SVM learns
//! the boundary between the clusters on `x`. Every iteration the tree is
//! rebuilt from all samples, a leaf is chosen by descending from the root
//! along the child with the highest UCB, and a solver (BO, TuRBO, CMA-ES,
//! random) proposes new points inside that leaf's region, the points every
//! SVM on the path puts on the path's side. Focusing the solver on promising
//! regions mitigates over-exploration in high dimensions.
//!
//! Entry points:
//! - [`LaMcts`]: the ask/tell [`Optimizer`](searchkit::optimizer::Optimizer) (maximises; the run loop hands it
//!   `-f` for minimised problems), configured by [`LaMctsConfig`]. It is
//!   core's learned-partition search ([`PartitionSearch`]) with LA-MCTS's
//!   pieces: 2-means labels, SVM boundaries, mean values, descent by UCB
//!   with a coin on ties, a Latin-hypercube start, the region kept while the
//!   sampler is in an episode, and one rejection-sampled point when the
//!   sampler proposes none;
//! - the in-region solver is a [`LeafSampler`]: core's [`RandomRegion`] and
//!   [`CmaEsRegion`] (episodes), and LA-MCTS's own [`BoRegion`] (GP-EI,
//!   [`propose_ei_in_region`]) and [`TurboRegion`] (TuRBO-1), by name through
//!   [`SamplerKind`];
//! - the tree and the loop are [`searchkit::partition`], shared with LaMOO
//!   (LaNAS and PlaLaM plug in the same way).
//!
//! ```
//! use lamcts::{LaMcts, LaMctsConfig, RandomRegion};
//! use searchkit::functions::Ackley;
//! use searchkit::prelude::*;
//!
//! let problem = Ackley::new(4);
//! let config = LaMctsConfig { init: 20, ..LaMctsConfig::default() };
//! let mut opt = LaMcts::new(problem.space().clone(), config, RandomRegion::default()).unwrap();
//! let mut rng = Stream::for_run("doc", "lamcts", 0);
//! let trace = run(&problem, &mut opt, 40, &mut rng, &mut []);
//! assert_eq!(trace.len(), 40);
//! assert_eq!(opt.rebuilds(), 20);
//! ```
//!
//! Semantics follow the authors' code (facebookresearch/LaMCTS, `LA-MCTS/`):
//! `MCTS.py` defaults `Cp = 1`, `leaf_size = 20`, `kernel_type = "rbf"`,
//! `gamma_type = "auto"`; `ninits = 40` from a jittered Latin hypercube
//! (`utils.latin_hypercube`); `Node.get_uct` uses `sqrt(2 sqrt(n_parent)/n)`
//! where the paper has `sqrt(2 ln(n_parent)/n)` ([`Ucb`] offers both).
//! `functions/functions.py` tunes per problem: Ackley `Cp = 1`,
//! `leaf_size = 10`, rbf; Levy `Cp = 10`, `leaf_size = 8`, poly
//! ([`LaMctsConfig::ackley`], [`LaMctsConfig::levy`]). See
//! [`searchkit::partition`] for the tree's details and differences.
//!
//! Speed (`cargo xtask bench lamcts-bo`, CPU time of one LA-MCTS-BO
//! iteration on Ackley-20, against the authors' Python measured the same
//! way, see `xtask/python-reference/`):
//!
//! | tree started from | ours | authors' Python | ratio |
//! |---|---|---|---|
//! | 1,000 / 3,000 Latin-hypercube samples | 120 ms / 4.6 s | 26.4 / 139 s | 219x / 30x |
//! | the first 1,000 samples of a real run | 2.2 s | 345 s | 159x |
//!
//! (CPU seconds on one core, `cargo xtask bench lamcts-bo --reps 3
//! --ref-reps 2`, the authors' code timed in the same run on a loaded 2-core
//! machine; its iterations vary 2x.) A real run is the harder case: its
//! selected leaf holds hundreds of samples the SVM could not split, and the
//! region sampler grows a box around each. What makes it fast here: the
//! in-region pool is never built (its uniform subsample is drawn by testing
//! box points in a random order until enough are inside); a seed's box
//! doublings reuse its RBF terms (`searchkit::partition::Region::probes`:
//! distances once per seed, a doubling squares a factor instead of an
//! `exp`); other SVM predictions run in batches with a vectorised,
//! error-bounded `exp` ([`searchkit::learn::Svc`]); the path's classifiers
//! are tried deepest (cheapest) first; the exact top-EI search bounds each
//! candidate's variance from its mean's kernel row; and between refits the
//! GP extends its factorisations instead of redoing them. On the
//! Latin-hypercube trees most of the gain is [`BoRegion`]'s refit schedule
//! (GP hyperparameters refit every 5th iteration, warm-started). Doing the
//! code's work instead ([`BoRegion::code`], sampler `bo-code`: its
//! scikit-learn GP refit from scratch every iteration) an iteration takes
//! 2.7 s at 1,000 Latin-hypercube samples (9.9x), 3.3 s at the real run's
//! 1,000 (104x), and 163 s at 3,000 (0.8x in that run, 1.6x on a quiet
//! machine: there an `O(n^3)` likelihood costs about as much as LAPACK's).
//! A whole 1,000-evaluation LA-MCTS-BO run on Ackley-20
//! (`cargo xtask bench lamcts-ackley20-run`) took 1,026 CPU seconds on a
//! shared 2-core machine (load 4-6) before the probe factors and the
//! extended factorisations.

mod model_samplers;
mod region_ei;

#[cfg(test)]
mod tests;

pub use model_samplers::{BoRegion, SamplerKind, TurboRegion};
pub use region_ei::{
    propose_ei_in_region, region_sobol_samples, ProbeTest, RegionTest, REGION_POINTS_PER_SEED,
};
pub use searchkit::partition::{
    CmaEsRegion, CmaEsSettings, CmaStart, LeafContext, LeafSampler, RandomDraw, RandomRegion, Ucb,
};

use searchkit::learn::{Gamma, KernelKind, SvcParams};
use searchkit::partition::{
    Backprop, Cp, Growth, InitialDesign, KMeansLabeller, MeanValue, PartitionSearch, Partitioner,
    Preset, RegionSampling, SearchError, SearchSettings, Selector, Setup, SvmLearner, TreeConfig,
    TreeConfigError,
};

/// LA-MCTS settings; defaults are the code's `MCTS.__init__` and README.
#[derive(Clone, Debug, PartialEq)]
pub struct LaMctsConfig {
    /// Initial Latin-hypercube points (`ninits`, 40).
    pub init: usize,
    /// Exploration constant (`Cp`, 1). The README suggests `0.1 * max f`.
    pub cp: f64,
    /// A leaf with more samples is split (`leaf_size`, 20).
    pub leaf_size: usize,
    /// SVM kernel (`kernel_type`, rbf).
    pub kernel: KernelKind,
    /// SVM kernel coefficient (`gamma_type`, auto = `1/d`).
    pub gamma: Gamma,
    /// SVM box constraint (scikit-learn's default 1; the code never sets it).
    pub svm_c: f64,
    /// UCB form (default: the code's).
    pub ucb: Ucb,
    /// Cap on the number of tree nodes (none in the code).
    pub max_nodes: Option<usize>,
    /// k-means restarts (scikit-learn's `n_init`, 10 in the code's era).
    pub kmeans_restarts: usize,
}

impl Default for LaMctsConfig {
    fn default() -> Self {
        Self {
            init: 40,
            cp: 1.0,
            leaf_size: 20,
            kernel: KernelKind::Rbf,
            gamma: Gamma::Auto,
            svm_c: 1.0,
            ucb: Ucb::SqrtParent,
            max_nodes: None,
            kmeans_restarts: 10,
        }
    }
}

impl LaMctsConfig {
    /// The code's Ackley settings (`functions/functions.py`): `Cp = 1`,
    /// `leaf_size = 10`, rbf, gamma auto.
    pub fn ackley() -> Self {
        Self {
            leaf_size: 10,
            ..Self::default()
        }
    }

    /// The code's Levy settings: `Cp = 10`, `leaf_size = 8`, poly, gamma auto.
    pub fn levy() -> Self {
        Self {
            cp: 10.0,
            leaf_size: 8,
            kernel: KernelKind::Poly,
            ..Self::default()
        }
    }

    /// Check every value.
    pub fn validate(&self) -> Result<(), LaMctsError> {
        if self.init == 0 {
            return Err(LaMctsError::Init);
        }
        if let Gamma::Value(g) = self.gamma {
            if !(g > 0.0 && g.is_finite()) {
                return Err(LaMctsError::Gamma(g));
            }
        }
        if !(self.svm_c > 0.0 && self.svm_c.is_finite()) {
            return Err(LaMctsError::SvmC(self.svm_c));
        }
        if self.kmeans_restarts == 0 {
            return Err(LaMctsError::KMeansRestarts);
        }
        self.tree_config().validate()?;
        Ok(())
    }

    fn tree_config(&self) -> TreeConfig {
        TreeConfig {
            leaf_size: self.leaf_size,
            cp: self.cp,
            ucb: self.ucb,
            max_nodes: self.max_nodes,
            growth: Growth::Adaptive,
        }
    }

    /// The partitioner these settings describe.
    pub fn partitioner(&self) -> LaMctsPartitioner {
        let mut labeller = KMeansLabeller::default();
        labeller.kmeans.n_init = self.kmeans_restarts;
        Partitioner {
            labeller,
            learner: SvmLearner {
                params: SvcParams {
                    kernel: self.kernel,
                    gamma: self.gamma,
                    c: self.svm_c,
                    ..SvcParams::default()
                },
            },
            score: MeanValue { objective: 0 },
            config: self.tree_config(),
        }
    }
}

/// Why [`LaMcts::new`] refused a configuration.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LaMctsError {
    #[error("LA-MCTS: init (initial samples) must be at least 1")]
    Init,
    #[error("LA-MCTS: SVM gamma must be positive and finite, got {0}")]
    Gamma(f64),
    #[error("LA-MCTS: SVM C must be positive and finite, got {0}")]
    SvmC(f64),
    #[error("LA-MCTS: kmeans_restarts must be at least 1")]
    KMeansRestarts,
    #[error("LA-MCTS: the space needs at least one dimension")]
    Dimension,
    #[error("LA-MCTS: {0}")]
    Tree(#[from] TreeConfigError),
    #[error("LA-MCTS: {0}")]
    Setup(SearchError),
}

impl From<SearchError> for LaMctsError {
    fn from(e: SearchError) -> Self {
        match e {
            SearchError::Dimension => LaMctsError::Dimension,
            e => LaMctsError::Setup(e),
        }
    }
}

/// The LA-MCTS partitioner: 2-means labels, SVM boundaries, mean values.
pub type LaMctsPartitioner = Partitioner<KMeansLabeller, SvmLearner, MeanValue>;

/// LA-MCTS as an ask/tell optimiser over a box: core's
/// [`PartitionSearch`] with [`LaMctsConfig`] as its preset, built by
/// `LaMcts::new(space, config, sampler)`.
///
/// The first ask returns the `init` Latin-hypercube points. Every later ask
/// rebuilds the tree from all samples and selects a leaf by UCB (unless the
/// sampler is in an episode, which keeps its region), then returns the
/// sampler's batch (one rejection-sampled point of the region if it is
/// empty). All draws come from children of the run's stream indexed by the
/// ask, so runs are reproducible.
pub type LaMcts<S = RandomRegion> = PartitionSearch<LaMctsConfig, S>;

impl Preset for LaMctsConfig {
    type Labeller = KMeansLabeller;
    type Learner = SvmLearner;
    type Score = MeanValue;
    type Error = LaMctsError;

    fn validate(&self) -> Result<(), LaMctsError> {
        LaMctsConfig::validate(self)
    }

    fn needs_reference(&self) -> bool {
        false
    }

    fn setup(&self, _reference: Option<&[f64]>) -> Setup<KMeansLabeller, SvmLearner, MeanValue> {
        Setup {
            partitioner: self.partitioner(),
            settings: SearchSettings {
                name: "lamcts".into(),
                init: self.init,
                design: InitialDesign::LatinHypercube,
                // One point per iteration, as the code's BO sampler; the
                // fallback draws one too.
                batch: 1,
                rebuild_every: 1,
                backprop: Backprop::Off,
                cp: Cp::Fixed(self.cp),
                selector: Selector::descent(),
                fallback: RegionSampling::default(),
                clip: false,
                episodes: true,
                needs_reference: false,
            },
        }
    }
}
