//! # searchkit: what the papers of this workspace share
//!
//! LaNAS, LA-MCTS, LaMOO, PlaLaM, AlphaX, few-shot NAS, GPUNet and BT-RNN all
//! search a space under a sample budget and report how good the best samples
//! get. This crate holds every mechanism that two or more of them use, so each
//! paper crate adds only its own idea:
//!
//! - [`space`] — continuous boxes and categorical vectors; [`problem`]: single-
//!   and multi-objective problems (maximisation convention, known optima,
//!   reference points).
//! - [`optimizer`] — the ask/tell [`Optimizer`](optimizer::Optimizer) trait and
//!   the [`run`](optimizer::run) loop with budget, trace and observers.
//! - [`rng`] — explicit seeded streams derived from `(experiment, method, seed)`.
//! - [`pareto`] — dominance, non-dominated sorting, exact hypervolume.
//! - [`partition`] — the learned space-partition search of LA-MCTS and LaMOO
//!   (one ask/tell engine: labeller, classifier, UCB selection, regions, leaf
//!   samplers); LaNAS and PlaLaM plug in as further configurations.
//! - [`baselines`] — random search, regularized evolution, CMA-ES, GP-BO
//!   with EI, TuRBO-1.
//! - [`qmc`] — scrambled Sobol points.
//! - [`learn`] — k-means, support vector classifier, Gaussian process,
//!   acquisition functions, box L-BFGS.
//! - [`nasbench`] — NAS-Bench-201 (embedded, with closed-form #params/#FLOPs)
//!   and NAS-Bench-101 (official tfrecord loader, embedded sample).
//! - [`stats`] — summaries over seeds, rank correlations, curves.
//! - [`simd`] — AVX2 copies of the hot loops, chosen at run time (same bits).
//! - [`functions`] — small test problems.
//!
//! Entry points: implement [`Problem`](problem::Problem) for your task, pick an
//! [`Optimizer`](optimizer::Optimizer), and call [`run`](optimizer::run) with a
//! [`Stream`](rng::Stream).

pub mod baselines;
pub mod functions;
pub mod learn;
pub mod linalg;
pub mod nasbench;
pub mod optimizer;
pub mod pareto;
pub mod partition;
pub mod problem;
pub mod qmc;
pub mod rng;
pub mod simd;
pub mod space;
pub mod stats;

/// The names most programs need.
pub mod prelude {
    pub use crate::optimizer::{
        run, run_until, Evaluated, Observer, Optimizer, StopWhen, Trace, TraceEntry,
    };
    pub use crate::problem::{Problem, Sense};
    pub use crate::rng::Stream;
    pub use crate::space::{BoxSpace, Categorical, Space};
}

/// The README's Rust examples are compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeDoctests;
