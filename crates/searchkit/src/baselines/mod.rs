//! Baselines shared by several papers: random search (with or without
//! replacement), regularized evolution (REA) and CMA-ES.

mod cmaes;
mod nsga2;
mod random;
mod rea;

pub use cmaes::CmaEs;
pub use nsga2::Nsga2;
pub use random::RandomSearch;
pub use rea::RegularizedEvolution;
