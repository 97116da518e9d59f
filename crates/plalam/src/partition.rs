//! LaP3's pieces of the partition engine: the node value ([`Metric`]: max,
//! or mean for the ablation), the labeller ([`Lap3Labeller`]: 2-means on
//! `[features, value]`, then an RBF SVC whose *predictions* are the
//! children's labels), and the domain of open-loop plans ([`PlanSpace`],
//! whose features are the actions or, with an [`Encoder`], the latent
//! encoding of every rollout's frames, recomputed at each rebuild).

use std::sync::Arc;

use searchkit::learn::{Gamma, KMeans, KernelKind, Svc, SvcParams};
use searchkit::partition::{
    Boundary, Domain, InitialDesign, Labeller, MeanValue, NodeScore, Region, RegionSampling,
    Samples,
};
use searchkit::rng::Stream;
use searchkit::space::Space;

use crate::encoder::Encoder;

/// The maximum of one objective over a node's samples: LaP3's node value
/// (`split_metric = 'max'`, `Classifier.get_max`).
#[derive(Clone, Copy, Debug, Default)]
pub struct MaxValue {
    pub objective: usize,
}

impl NodeScore for MaxValue {
    fn score(&self, data: &Samples, idx: &[usize]) -> f64 {
        idx.iter()
            .map(|&i| data.ys[i][self.objective])
            .fold(f64::NEG_INFINITY, f64::max)
    }
}

/// How a node is valued (UCB's exploitation term, which child is good, and
/// the back-propagation between rebuilds): the code's `split_metric`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Metric {
    /// LaP3: the best sample of the node.
    #[default]
    Max,
    /// The ablation (and LA-MCTS): the mean.
    Mean,
}

impl Metric {
    /// The metric of `values` (`-inf` when empty).
    pub fn of(self, values: impl Iterator<Item = f64>) -> f64 {
        match self {
            Metric::Max => values.fold(f64::NEG_INFINITY, f64::max),
            Metric::Mean => {
                let (s, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
                if n == 0 {
                    f64::NEG_INFINITY
                } else {
                    s / n as f64
                }
            }
        }
    }
}

impl NodeScore for Metric {
    fn score(&self, data: &Samples, idx: &[usize]) -> f64 {
        match self {
            Metric::Max => MaxValue::default().score(data, idx),
            Metric::Mean => MeanValue::default().score(data, idx),
        }
    }
}

/// LaP3's split (`Classifier.is_splittable_svm` / `split_data` with
/// `splitter_type = 'kmeans'`):
/// 1. 2-means on rows `[features, value]` (scikit-learn semantics, 10 starts);
///    one cluster: no split;
/// 2. an RBF SVC (`gamma = 1 / n_features`, `C = 1`) trained on the cluster
///    labels; while it predicts one class on the node's own points it is
///    refitted with `C = 10, 100, ..., 10^10`; still one class: no split;
/// 3. the SVC's predictions are the labels (unlike LA-MCTS, which keeps the
///    cluster labels), and the class with the higher [`Metric`] is good
///    (class 0 on ties, as `correct_classes` flips only when the other is
///    strictly better); the SVC is the boundary.
///
/// A failed SVC fit leaves the node a leaf (the code's `except: return
/// False`).
#[derive(Clone, Debug)]
pub struct Lap3Labeller {
    pub kmeans: KMeans,
    pub metric: Metric,
    /// Refits with a larger `C` (10 in the code).
    pub retries: u32,
}

impl Default for Lap3Labeller {
    fn default() -> Self {
        Self {
            kmeans: KMeans::new(2),
            metric: Metric::Max,
            retries: 10,
        }
    }
}

/// An SVC whose good side is the class `good`.
#[derive(Debug)]
struct SvcSide {
    svc: Svc,
    good: bool,
}

impl Boundary for SvcSide {
    fn predict(&self, x: &[f64]) -> bool {
        self.svc.predict(x) == self.good
    }
    fn predict_many(&self, xs: &[&[f64]]) -> Vec<bool> {
        self.svc
            .predict_many(xs)
            .into_iter()
            .map(|p| p == self.good)
            .collect()
    }
}

impl Labeller for Lap3Labeller {
    fn label(&self, data: &Samples, idx: &[usize], rng: &mut Stream) -> Vec<bool> {
        self.label_fitted(0, data, idx, rng).0
    }

    fn label_fitted(
        &self,
        _node: usize,
        data: &Samples,
        idx: &[usize],
        rng: &mut Stream,
    ) -> (Vec<bool>, Option<Arc<dyn Boundary>>) {
        let none = || (vec![true; idx.len()], None);
        if idx.len() < 2 {
            return none();
        }
        let rows: Vec<Vec<f64>> = idx
            .iter()
            .map(|&i| {
                let mut r = data.xs[i].clone();
                r.push(data.ys[i][0]);
                r
            })
            .collect();
        let clusters: Vec<bool> = self
            .kmeans
            .fit(&rows, rng)
            .labels
            .iter()
            .map(|&l| l == 1)
            .collect();
        if clusters.iter().all(|&c| c == clusters[0]) {
            return none();
        }
        let xs: Vec<Vec<f64>> = idx.iter().map(|&i| data.xs[i].clone()).collect();
        let mut params = SvcParams {
            kernel: KernelKind::Rbf,
            gamma: Gamma::Auto,
            c: 1.0,
            ..SvcParams::default()
        };
        let mut fitted = None;
        for attempt in 0..=self.retries {
            if attempt > 0 {
                params.c = 10f64.powi(attempt as i32);
            }
            let Ok(svc) = Svc::fit(&params, &xs, &clusters) else {
                return none();
            };
            let predicted = svc.predict_batch(&xs);
            let two = predicted.iter().any(|&p| p) && predicted.iter().any(|&p| !p);
            if two {
                fitted = Some((svc, predicted));
                break;
            }
        }
        let Some((svc, predicted)) = fitted else {
            return none();
        };
        let metric = |class: bool| {
            self.metric.of(idx
                .iter()
                .zip(&predicted)
                .filter(|(_, &p)| p == class)
                .map(|(&i, _)| data.ys[i][0]))
        };
        // scikit-learn's class 0 is our `false`; it stays good unless class 1
        // is strictly better.
        let good = metric(true) > metric(false);
        let labels = predicted.iter().map(|&p| p == good).collect();
        (labels, Some(Arc::new(SvcSide { svc, good })))
    }
}

/// The frames one rollout produced for the latent (bytes, see
/// [`crate::FrameShape`]); shared, since the search keeps every point.
#[derive(Clone)]
pub struct Frames(pub Arc<Vec<u8>>);

impl std::fmt::Debug for Frames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Frames({} bytes)", self.0.len())
    }
}

/// One open-loop plan: its actions (`horizon x action_dims`, flattened) and,
/// once rolled out with the latent on, the frames it produced.
#[derive(Clone, Debug)]
pub struct Plan {
    pub actions: Vec<f64>,
    pub frames: Option<Frames>,
}

impl Plan {
    /// A plan not rolled out yet.
    pub fn new(actions: Vec<f64>) -> Self {
        Self {
            actions,
            frames: None,
        }
    }
}

/// The domain of open-loop plans: unbounded reals (the code enforces no
/// bounds), an initial design of i.i.d. `N(0, init_sigma^2)` coordinates
/// (`init_sigma_mult`), features = the actions, or with an encoder the
/// latent encoding of every told plan's frames, recomputed from all of them
/// at each rebuild (the code re-encodes all samples before each treeify).
#[derive(Clone, Debug)]
pub struct PlanSpace {
    pub dim: usize,
    pub init_sigma: f64,
    pub encoder: Option<Arc<Encoder>>,
}

impl Space for PlanSpace {
    type X = Plan;
    fn dim(&self) -> usize {
        self.dim
    }
    fn sample(&self, rng: &mut Stream) -> Plan {
        Plan::new(
            (0..self.dim)
                .map(|_| self.init_sigma * rng.normal())
                .collect(),
        )
    }
    fn contains(&self, x: &Plan) -> bool {
        x.actions.len() == self.dim && x.actions.iter().all(|v| v.is_finite())
    }
}

impl Domain for PlanSpace {
    fn features(&self, x: &Plan) -> Vec<f64> {
        x.actions.clone()
    }

    fn initial_design(
        &self,
        n: usize,
        _design: InitialDesign,
        _told: &[Plan],
        rng: &mut Stream,
    ) -> Vec<Plan> {
        (0..n).map(|_| self.sample(rng)).collect()
    }

    /// Not reached with LaP3's leaf solver, which always proposes; draws
    /// from the initial distribution.
    fn fallback(
        &self,
        _region: &Region,
        n: usize,
        _samples: &Samples,
        _told: &[Plan],
        _sampling: &RegionSampling,
        rng: &mut Stream,
    ) -> Vec<Plan> {
        (0..n).map(|_| self.sample(rng)).collect()
    }

    /// # Panics
    /// With an encoder, if a told plan carries no frames (the planner rolls
    /// every plan out with frames when the latent is on).
    fn rebuild_features(&self, told: &[Plan]) -> Option<Vec<Vec<f64>>> {
        let enc = self.encoder.as_ref()?;
        let batch: Vec<&[u8]> = told
            .iter()
            .map(|p| {
                p.frames
                    .as_ref()
                    .expect("the latent needs every rollout's frames")
                    .0
                    .as_slice()
            })
            .collect();
        Some(enc.encode_batch(&batch))
    }
}
