//! Baselines shared by several papers: random search (with or without
//! replacement), regularized evolution (REA) and CMA-ES.

mod cmaes;
mod random;
mod rea;

pub use cmaes::CmaEs;
pub use random::RandomSearch;
pub use rea::RegularizedEvolution;
