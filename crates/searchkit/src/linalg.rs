//! Small dense linear algebra (symmetric eigendecomposition, Cholesky) without a system BLAS.
