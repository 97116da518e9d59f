//! Small learners the partition methods share: k-means, support vector
//! classifiers, Gaussian processes.

pub mod kmeans;
pub mod svm;

pub use kmeans::{KMeans, KMeansFit};
pub use svm::{Gamma, Kernel, KernelKind, Svc, SvcParams, SvmError};
