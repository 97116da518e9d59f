//! Tabular NAS benchmarks, embedded so a crate user needs no files.

pub mod nb101;
pub mod nb201;
pub mod tabular;
