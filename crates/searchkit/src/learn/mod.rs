//! Small learners the partition methods share: k-means, support vector
//! classifiers, Gaussian processes.

pub mod kmeans;
pub mod svm;

pub use kmeans::{KMeans, KMeansFit};
pub use svm::{Gamma, Kernel, KernelKind, RbfProbes, Svc, SvcParams, SvmError};
pub mod acquisition;
pub mod gp;
pub mod lbfgs;

pub use acquisition::{
    erf, erfc, expected_improvement, expected_improvement_with_grad, normal_cdf, normal_pdf,
    normal_ppf, upper_confidence_bound,
};
pub use gp::{GammaPrior, Gp, GpBounds, GpConfig, GpError, GpPriors, Hyper, RefitSchedule};
pub use lbfgs::{minimize_box, LbfgsOptions, LbfgsResult};
