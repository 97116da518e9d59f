//! Baselines shared by several papers: random search (with or without
//! replacement), regularized evolution (REA), CMA-ES, GP-BO with expected
//! improvement (plus LA-MCTS's in-region EI sampler), TuRBO-1, NSGA-II and
//! qEHVI (with the standalone `propose_qehvi` LaMOO plugs in).

mod bo;
mod cmaes;
mod nsga2;
mod qehvi;
mod random;
mod rea;
mod turbo;

pub use bo::{incumbent_mean, top_ei, GpBo, GpBoConfig};
pub use cmaes::{CmaBounds, CmaEs};
pub use nsga2::Nsga2;
pub use qehvi::{
    propose_qehvi, propose_qehvi_with_stats, Qehvi, QehviConfig, QehviStats, RegionStarts,
    StartRegion,
};
pub use random::RandomSearch;
pub use rea::{RegularizedEvolution, Tournament};
pub use turbo::{Turbo1, TurboConfig};
