//! Baselines shared by several papers: random search, regularized evolution,
//! CMA-ES.

mod random;
pub use random::RandomSearch;
