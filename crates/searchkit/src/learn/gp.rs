//! Gaussian-process regression with a constant x Matérn-5/2 (ARD) kernel
//! plus a noise nugget, fitted by maximising the log marginal likelihood.
//!
//! **Model.** `f ~ GP(0, k)`, `y = f + e`, `e ~ N(0, noise)`, with
//! `k(x, x') = outputscale * (1 + sqrt5 r + 5/3 r^2) exp(-sqrt5 r)` and
//! `r^2 = sum_i (x_i - x'_i)^2 / lengthscale_i^2` — the kernel family of
//! BoTorch's `SingleTaskGP`, TuRBO's GP and scikit-learn's
//! `ConstantKernel * Matern(nu=2.5) + WhiteKernel`. Inputs are expected in the
//! unit cube (callers normalise), which is what the default length-scale
//! bounds assume.
//!
//! **Standardisation.** Targets are standardised internally,
//! `z = (y - mean(y)) / std(y)` with the population standard deviation
//! (ddof 0, as scikit-learn's `normalize_y=True`; a constant or single target
//! uses std 1). `outputscale` and `noise` in [`Hyper`] are therefore in
//! standardised units (`outputscale ~ 1` means "the data's own spread"), and
//! [`Gp::log_marginal_likelihood`] is that of `z`. Predictions are mapped back
//! to the original units: mean `mean(y) + std(y) mu_z`, variance
//! `std(y)^2 var_z`.
//!
//! **Fitting.** [`Gp::fit`] minimises the negative log marginal likelihood
//! over `log lengthscale` (one per dimension, or one shared), `log outputscale`
//! and `log noise` (unless fixed) with analytic gradients,
//! `d(-LML)/d theta = 1/2 tr((K^-1 - a a^T) dK/d theta)` with `a = K^-1 z`,
//! using box-constrained L-BFGS ([`crate::learn::lbfgs`]) inside
//! [`GpBounds`] (defaults: length scales `[0.005, 2]` as TuRBO, outputscale
//! `[0.05, 20]`, noise `[1e-6, 0.1]`). It starts from TuRBO's initial values
//! (length scale 0.5, outputscale 1, noise [`GpConfig::noise`]) and from
//! `restarts` further points drawn log-uniformly inside the bounds from the
//! caller's [`Stream`]; the best optimum wins. Everything is deterministic.
//! [`GpConfig::warm_start`] replaces the default start with given
//! hyperparameters (typically the previous fit's): a sampler that refits
//! every iteration on slowly growing data uses [`GpConfig::warm`] (one start,
//! few iterations, a smaller first step) instead of a cold multi-start fit.
//!
//! **Numerics.** If the Cholesky factorisation of `K` fails, jitter
//! `1e-8, 1e-7, ..., 1e-4` (standardised units) is added to the diagonal in
//! turn; [`Gp::jitter`] reports what was used. The factor's inverse is kept so
//! that batch prediction is a dense, vectorisable triangular product. Matrices
//! are flat row-major here (not [`crate::linalg`]'s `Vec<Vec<f64>>`) and dot
//! products use several accumulators, and `exp` in kernel rows is a
//! branch-free polynomial: the `O(n^3)` fit and `O(n^2)`-per-point variance
//! are the hot loops of every BO step, and these changes let them vectorise.
//! One likelihood evaluation costs the Cholesky, `L^-1` and
//! `K^-1 = L^-T L^-1` (about `n^3 / 3` flops each; the exact gradient needs
//! all of `K^-1`) plus an `O(n^2 d)` gradient pass (`O(n^2)` isotropic); the
//! triangular loops work on register tiles (4 rows x 2 or 8 columns, `L^-1`
//! read from packed column panels), the `n x n` buffers are reused across
//! evaluations, and the hot loops run as AVX2 copies where the CPU has it
//! ([`crate::simd`]). None of this changes a bit: every entry is still
//! summed in the same order as the plain loops did.

use super::lbfgs::{minimize_box, LbfgsOptions};
use crate::rng::Stream;
use crate::simd::multiversion;

const SQRT5: f64 = 2.236_067_977_499_79;
const JITTERS: [f64; 6] = [0.0, 1e-8, 1e-7, 1e-6, 1e-5, 1e-4];
const LN_2PI: f64 = 1.837_877_066_409_345_5;

/// Why a GP could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GpError {
    /// No training points.
    #[error("no training points")]
    Empty,
    /// Inputs of unequal dimension, or `x` and `y` of unequal length.
    #[error("shape mismatch: {0}")]
    Shape(String),
    /// A NaN or infinite input or target.
    #[error("non-finite training input or target")]
    NonFinite,
    /// Hyperparameters or bounds out of their domain.
    #[error("invalid hyperparameters: {0}")]
    InvalidHyper(String),
    /// The kernel matrix stayed indefinite even with jitter `1e-4`.
    #[error("kernel matrix not positive definite even with jitter 1e-4")]
    NotPositiveDefinite,
}

/// Box bounds on the hyperparameters (applied in log space while fitting).
/// `outputscale` and `noise` are in standardised-target units.
#[derive(Clone, Debug, PartialEq)]
pub struct GpBounds {
    /// Length-scale range for unit-cube inputs; default `[0.005, 2.0]` (TuRBO).
    pub lengthscale: (f64, f64),
    /// Signal variance range; default `[0.05, 20.0]` (TuRBO).
    pub outputscale: (f64, f64),
    /// Noise variance range; default `[1e-6, 0.1]`.
    pub noise: (f64, f64),
}

impl Default for GpBounds {
    fn default() -> Self {
        Self {
            lengthscale: (0.005, 2.0),
            outputscale: (0.05, 20.0),
            noise: (1e-6, 0.1),
        }
    }
}

/// How [`Gp::fit`] chooses hyperparameters.
#[derive(Clone, Debug, PartialEq)]
pub struct GpConfig {
    /// One length scale per input dimension (`true`) or one shared.
    pub ard: bool,
    /// Fit the noise variance; otherwise hold it at `noise`.
    pub fit_noise: bool,
    /// Noise variance (standardised units): the fixed value if `!fit_noise`,
    /// else the starting value of the default start (clamped to the bounds).
    pub noise: f64,
    /// Hyperparameter box.
    pub bounds: GpBounds,
    /// Random starts in addition to the default start.
    pub restarts: usize,
    /// L-BFGS iteration cap per start.
    pub max_iters: usize,
    /// Start the first L-BFGS run from these hyperparameters (clamped into
    /// the bounds) instead of the default start: a caller that refits every
    /// iteration on slowly growing data passes the last fit's
    /// [`Gp::hyper`] with `restarts = 0` and a small `max_iters`
    /// ([`GpConfig::warm`]). With `ard: false` the shared length scale
    /// starts at the geometric mean of `lengthscales`; with
    /// `fit_noise: false` the `noise` here is ignored. A warm-started run
    /// takes a first step of at most 0.1 (log units) and stops at a relative
    /// decrease below `1e-6`.
    pub warm_start: Option<Hyper>,
    /// Gamma priors on the hyperparameters: the fit is then a MAP estimate
    /// (BoTorch's `SingleTaskGP`, [`GpPriors::botorch`]); `None` is plain
    /// maximum likelihood.
    pub priors: Option<GpPriors>,
    /// The default start (when not warm-started); `None` is TuRBO's
    /// (length scale 0.5, outputscale 1, noise [`GpConfig::noise`]).
    pub start: Option<Hyper>,
    /// Standardise `y` (mean 0, unit standard deviation) before fitting, as
    /// BoTorch's `Standardize` and TuRBO do (`true`, the default); `false`
    /// fits raw `y`, as scikit-learn's `normalize_y=False`, the LA-MCTS
    /// code's setting.
    pub standardize: bool,
    /// Standardise targets with the sample standard deviation (ddof 1, as
    /// BoTorch's `Standardize`) instead of the population one (ddof 0, as
    /// scikit-learn's `normalize_y`).
    pub sample_std: bool,
}

/// A Gamma(shape, rate) prior on a positive hyperparameter (density
/// `rate^shape x^(shape-1) exp(-rate x) / Gamma(shape)`), evaluated at the
/// value itself, as GPyTorch does (no Jacobian of the log transform).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GammaPrior {
    pub shape: f64,
    pub rate: f64,
}

impl GammaPrior {
    /// `-log density` at `exp(theta)` up to a constant, and its derivative
    /// with respect to `theta`.
    fn neg_log(&self, theta: f64) -> (f64, f64) {
        let x = theta.exp();
        (
            -(self.shape - 1.0) * theta + self.rate * x,
            -(self.shape - 1.0) + self.rate * x,
        )
    }

    /// The mode, `(shape - 1) / rate` (for `shape >= 1`).
    pub fn mode(&self) -> f64 {
        (self.shape - 1.0).max(0.0) / self.rate
    }
}

/// Priors of a MAP fit: one Gamma on every length scale, one on the
/// outputscale, one on the noise variance (standardised units).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GpPriors {
    pub lengthscale: GammaPrior,
    pub outputscale: GammaPrior,
    pub noise: GammaPrior,
}

impl GpPriors {
    /// BoTorch's `SingleTaskGP` defaults of LaMOO's era (before BoTorch
    /// 0.12 switched to dimension-scaled log-normal priors): length scale
    /// Gamma(3, 6), outputscale Gamma(2, 0.15), noise Gamma(1.1, 0.05).
    pub fn botorch() -> Self {
        Self {
            lengthscale: GammaPrior {
                shape: 3.0,
                rate: 6.0,
            },
            outputscale: GammaPrior {
                shape: 2.0,
                rate: 0.15,
            },
            noise: GammaPrior {
                shape: 1.1,
                rate: 0.05,
            },
        }
    }
}

impl Default for GpConfig {
    /// ARD, fitted noise starting at 0.005 (TuRBO's initial noise), default
    /// bounds, 2 random restarts, 100 L-BFGS iterations each.
    fn default() -> Self {
        Self {
            ard: true,
            fit_noise: true,
            noise: 0.005,
            bounds: GpBounds::default(),
            restarts: 2,
            max_iters: 100,
            warm_start: None,
            priors: None,
            start: None,
            sample_std: false,
            standardize: true,
        }
    }
}

impl GpConfig {
    /// BoTorch's `SingleTaskGP` fitted by `fit_gpytorch_model`, as LaMOO's
    /// qEHVI calls it: MAP under [`GpPriors::botorch`], one L-BFGS run from
    /// GPyTorch's initial values (raw parameters 0, so length scales and
    /// outputscale `softplus(0) = ln 2`; noise at its prior's mode, 2), the
    /// noise bounded below by `1e-4` (`MIN_INFERRED_NOISE_LEVEL`) and
    /// unbounded above (here `1e4`), targets standardised with ddof 1.
    /// The remaining box (length scales `[1e-4, 1e4]`, outputscale
    /// `[1e-4, 1e4]`) only keeps the log-space search finite; the priors
    /// keep the optimum far inside it.
    pub fn botorch() -> Self {
        let ln2 = std::f64::consts::LN_2;
        let priors = GpPriors::botorch();
        Self {
            ard: true,
            fit_noise: true,
            noise: priors.noise.mode(),
            bounds: GpBounds {
                lengthscale: (1e-4, 1e4),
                outputscale: (1e-4, 1e4),
                noise: (1e-4, 1e4),
            },
            restarts: 0,
            max_iters: 200,
            warm_start: None,
            priors: Some(priors),
            start: Some(Hyper {
                lengthscales: vec![ln2],
                outputscale: ln2,
                noise: priors.noise.mode(),
            }),
            sample_std: true,
            standardize: true,
        }
    }

    /// scikit-learn's `GaussianProcessRegressor(kernel=ConstantKernel(1.0) *
    /// Matern(length_scale=1.0, nu=2.5), alpha=alpha)` as its `fit` runs:
    /// one shared length scale, the noise variance held at `alpha`, raw
    /// (unstandardised) targets, both hyperparameters in `[1e-5, 1e5]`
    /// starting at 1, one L-BFGS run with SciPy's default tolerances and
    /// its 15,000-iteration cap. The LA-MCTS code's BO sampler uses it
    /// with `alpha = 0.01` (`Classifier.py`).
    pub fn sklearn(alpha: f64) -> Self {
        Self {
            ard: false,
            fit_noise: false,
            noise: alpha,
            bounds: GpBounds {
                lengthscale: (1e-5, 1e5),
                outputscale: (1e-5, 1e5),
                noise: (1e-5, 1e5),
            },
            restarts: 0,
            max_iters: 15_000,
            warm_start: None,
            priors: None,
            start: Some(Hyper {
                lengthscales: vec![1.0],
                outputscale: 1.0,
                noise: alpha,
            }),
            sample_std: false,
            standardize: false,
        }
    }

    /// This configuration warm-started from `hyper` (typically the previous
    /// fit's [`Gp::hyper`]): one L-BFGS run of at most `max_iters`
    /// iterations, no random restarts.
    pub fn warm(&self, hyper: Hyper, max_iters: usize) -> Self {
        Self {
            warm_start: Some(hyper),
            restarts: 0,
            max_iters,
            ..self.clone()
        }
    }
}

/// Kernel hyperparameters; `outputscale` and `noise` are variances in
/// standardised-target units.
#[derive(Clone, Debug, PartialEq)]
pub struct Hyper {
    /// One length scale per input dimension (a single value is broadcast by
    /// [`Gp::with_hyperparameters`]).
    pub lengthscales: Vec<f64>,
    /// Signal variance (the constant kernel).
    pub outputscale: f64,
    /// Noise variance (the nugget).
    pub noise: f64,
}

/// A Gaussian-process posterior conditioned on training data.
#[derive(Clone, Debug)]
pub struct Gp {
    x: Vec<f64>,
    /// Inputs divided by the length scales, transposed (`d x n`), so a kernel
    /// row is built with unit-stride loops over the training points.
    xt_scaled: Vec<f64>,
    n: usize,
    d: usize,
    y_mean: f64,
    y_std: f64,
    hyper: Hyper,
    inv_ls2: Vec<f64>,
    /// `L^-1` (row-major, lower triangle meaningful) for `K = L L^T`.
    /// Shared, with `L`, so that a kept copy costs nothing
    /// ([`RefitSchedule`] extends it when only data were added).
    linv: std::sync::Arc<Vec<f64>>,
    chol: std::sync::Arc<Vec<f64>>,
    /// `K^-1 z`.
    alpha: Vec<f64>,
    jitter: f64,
    lml: f64,
}

/// Training data: inputs flattened row-major, standardised targets.
struct Data {
    x: Vec<f64>,
    n: usize,
    d: usize,
    z: Vec<f64>,
    y_mean: f64,
    y_std: f64,
}

fn check_data(
    x: &[Vec<f64>],
    y: &[f64],
    sample_std: bool,
    standardize: bool,
) -> Result<Data, GpError> {
    let n = x.len();
    if n == 0 {
        return Err(GpError::Empty);
    }
    if y.len() != n {
        return Err(GpError::Shape(format!(
            "{} inputs but {} targets",
            n,
            y.len()
        )));
    }
    let d = x[0].len();
    if let Some(bad) = x.iter().find(|r| r.len() != d) {
        return Err(GpError::Shape(format!(
            "input of dimension {} among inputs of dimension {d}",
            bad.len()
        )));
    }
    if x.iter().flatten().chain(y).any(|v| !v.is_finite()) {
        return Err(GpError::NonFinite);
    }
    if !standardize {
        return Ok(Data {
            x: x.iter().flatten().copied().collect(),
            n,
            d,
            z: y.to_vec(),
            y_mean: 0.0,
            y_std: 1.0,
        });
    }
    let y_mean = y.iter().sum::<f64>() / n as f64;
    let dof = if sample_std && n > 1 { n - 1 } else { n };
    let var = y.iter().map(|v| (v - y_mean).powi(2)).sum::<f64>() / dof as f64;
    let sd = var.sqrt();
    let y_std = if sd > 1e-300 && sd.is_finite() {
        sd
    } else {
        1.0
    };
    Ok(Data {
        x: x.iter().flatten().copied().collect(),
        n,
        d,
        z: y.iter().map(|v| (v - y_mean) / y_std).collect(),
        y_mean,
        y_std,
    })
}

/// `exp(x)` for `x <= 0` (to within 2 ulp), branch-free so that loops over
/// kernel rows vectorise (a libm call per element would not): round
/// `x / ln 2` to `k` with the 1.5 * 2^52 trick, reduce with a two-part ln 2
/// (fdlibm's split, so `k ln2_hi` is exact), a degree-13 Taylor polynomial on
/// `|r| <= ln2 / 2` (truncation < 1e-17), then scale by `2^k` as two normal
/// powers of two so that subnormal results come out right.
#[inline(always)]
pub(crate) fn exp_nonpos(x: f64) -> f64 {
    const MAGIC: f64 = 6_755_399_441_055_744.0; // 1.5 * 2^52
    const LN2_HI: f64 = 0.693_147_180_369_123_8; // 0x1.62e42fee00000p-1
    const LN2_LO: f64 = 1.908_214_929_270_587_7e-10;
    // Below -1400 the result is 0 anyway; the clamp keeps k in range.
    let x = x.clamp(-1400.0, 0.0);
    let t = x * std::f64::consts::LOG2_E + MAGIC;
    let kf = t - MAGIC;
    let k = (t.to_bits() as i64).wrapping_sub(MAGIC.to_bits() as i64);
    let r = (x - kf * LN2_HI) - kf * LN2_LO;
    // Horner on sum_{j<=13} r^j / j!.
    let mut p = 1.0 / 6_227_020_800.0;
    for c in [
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ] {
        p = p * r + c;
    }
    let k1 = k >> 1;
    let k2 = k - k1;
    let f1 = f64::from_bits(((k1 + 1023) as u64) << 52);
    let f2 = f64::from_bits(((k2 + 1023) as u64) << 52);
    p * f1 * f2
}

/// Matérn-5/2 at squared scaled distance `r2`, without the outputscale:
/// `(k, q)` with `k = (1 + sqrt5 r + 5/3 r^2) e^{-sqrt5 r}` and
/// `q = 5/3 (1 + sqrt5 r) e^{-sqrt5 r} = -2 dk/d(r^2)`, the factor every
/// derivative needs (finite at `r = 0`, unlike `dk/dr / r` written naively).
#[inline(always)]
fn matern52(r2: f64) -> (f64, f64) {
    let sr = SQRT5 * r2.sqrt();
    let e = exp_nonpos(-sr);
    ((1.0 + sr + 5.0 / 3.0 * r2) * e, 5.0 / 3.0 * (1.0 + sr) * e)
}

/// Dot product with eight independent accumulators, so the compiler can keep
/// SIMD lanes busy (a single running sum serialises on add latency).
#[inline(always)]
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len().min(b.len());
    let (a, b) = (&a[..n], &b[..n]);
    let mut acc = [0.0f64; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (u, v) in ca.zip(cb) {
        for l in 0..8 {
            acc[l] += u[l] * v[l];
        }
    }
    let mut s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (u, v) in ra.iter().zip(rb) {
        s += u * v;
    }
    s
}

#[inline(always)]
fn axpy(a: f64, x: &[f64], y: &mut [f64]) {
    for (yi, xi) in y.iter_mut().zip(x) {
        *yi += a * xi;
    }
}

/// Length of an `n x n` matrix in packed column panels ([`pack_rows`]).
fn packed_len(n: usize) -> usize {
    n.div_ceil(8) * 8 * n
}

/// Copy rows `i0..` (the `block`, `n` wide) into packed column panels: panel
/// `p` holds columns `8p..8p + 8` of every row contiguously,
/// `pk[8p n + 8k + t] = a[k][8p + t]` (zero past column `n`). Why: the tiled
/// loops walk down columns, which in row-major storage strides a whole row
/// (and a page every row or two at n = 1000) per step.
#[inline(always)]
fn pack_rows(block: &[f64], n: usize, i0: usize, pk: &mut [f64]) {
    for (rr, row) in block.chunks_exact(n).enumerate() {
        let k = i0 + rr;
        for (p, seg) in row.chunks(8).enumerate() {
            let at = 8 * p * n + 8 * k;
            pk[at..at + seg.len()].copy_from_slice(seg);
        }
    }
}

/// `acc[r][t] = sum_{k in ks} c(k)[r] * x(k)[t]`, each sum from `+0` in
/// ascending `k`: a 4 x 8 tile of outputs held in registers while the `k`
/// loop streams one row segment `x(k)` and four scalars `c(k)` per step, so
/// nothing is stored until the end (an `axpy` form loads and stores the four
/// output rows at every `k`).
#[inline(always)]
fn tile_4x8<'a>(
    ks: std::ops::Range<usize>,
    c: impl Fn(usize) -> [f64; 4],
    x: impl Fn(usize) -> &'a [f64; 8],
) -> [[f64; 8]; 4] {
    let mut acc = [[0.0f64; 8]; 4];
    for k in ks {
        let (c, x) = (c(k), x(k));
        for r in 0..4 {
            for t in 0..8 {
                acc[r][t] += c[r] * x[t];
            }
        }
    }
    acc
}

/// Lane sums for four rows `a` against two vectors `b0`, `b1`, over
/// `k < m` (`m` a multiple of 4): `out[r][c][l] = sum a_r[k] b_c[k]` over
/// `k = l, l + 4, ...`, each lane in ascending `k` from +0. The Cholesky
/// combines them as `(l0 + l2) + (l1 + l3)` and then adds the tail in
/// order: that fixed order is what every committed run record was computed
/// with, so it must not change.
#[inline(always)]
fn lanes_4x2(a: &[&mut [f64]; 4], b0: &[f64], b1: &[f64], m: usize) -> [[[f64; 4]; 2]; 4] {
    let mut acc = [[[0.0f64; 4]; 2]; 4];
    let (b0, b1) = (&b0[..m], &b1[..m]);
    let a: [&[f64]; 4] = std::array::from_fn(|r| &a[r][..m]);
    let mut i = 0;
    while i < m {
        let (u0, u1): (&[f64; 4], &[f64; 4]) = (
            b0[i..i + 4].try_into().expect("4"),
            b1[i..i + 4].try_into().expect("4"),
        );
        for r in 0..4 {
            let ar: &[f64; 4] = a[r][i..i + 4].try_into().expect("4");
            for l in 0..4 {
                acc[r][0][l] += ar[l] * u0[l];
                acc[r][1][l] += ar[l] * u1[l];
            }
        }
        i += 4;
    }
    acc
}

/// The four `n`-long rows of a 4-row block, mutably.
#[inline(always)]
fn rows4(block: &mut [f64], n: usize) -> [&mut [f64]; 4] {
    let (r0, t) = block.split_at_mut(n);
    let (r1, t) = t.split_at_mut(n);
    let (r2, r3) = t.split_at_mut(n);
    [r0, r1, r2, &mut r3[..n]]
}

/// [`cholesky_from`] from the first row.
fn cholesky_in_place(a: &mut [f64], n: usize) -> bool {
    cholesky_from(a, n, 0)
}

multiversion! {
/// In-place Cholesky of the lower triangle of the row-major `n x n` matrix
/// `a`; `false` if it is not numerically positive definite.
///
/// Row-oriented (left-looking), four rows at a time: for the columns left of
/// the block, each finished row `L_j` is streamed once for four dot products
/// instead of once per row. At n = 1000 the factor (8 MB) does not fit in
/// cache, so the unblocked loop was bound by memory traffic, not arithmetic.
fn cholesky_from(a: &mut [f64], n: usize, start: usize) -> bool {
    let mut i0 = start;
    while i0 < n {
        let r = (n - i0).min(4);
        let (done, rest) = a.split_at_mut(i0 * n);
        let block = &mut rest[..r * n];
        if r == 4 {
            let mut b = rows4(block, n);
            // Column j's sum is four lanes over k < j - j % 4, combined, plus
            // the tail in order. Columns j0..j0 + 4 share the lane range
            // k < j0, so their lane sums are taken together, two columns per
            // pass (8 vector accumulators, each row segment loaded once per
            // two columns); then each column adds its tail k = j0..j in
            // order and divides by L_jj.
            for j0 in (0..i0).step_by(4) {
                let lj: [&[f64]; 4] = std::array::from_fn(|c| &done[(j0 + c) * n..(j0 + c) * n + j0 + c + 1]);
                let lo = lanes_4x2(&b, lj[0], lj[1], j0);
                let hi = lanes_4x2(&b, lj[2], lj[3], j0);
                for c in 0..4 {
                    let j = j0 + c;
                    for (rr, row) in b.iter_mut().enumerate() {
                        let v = if c < 2 { lo[rr][c] } else { hi[rr][c - 2] };
                        let mut s = (v[0] + v[2]) + (v[1] + v[3]);
                        for k in j0..j {
                            s += row[k] * lj[c][k];
                        }
                        row[j] = (row[j] - s) / lj[c][j];
                    }
                }
            }
        } else {
            for row in block.chunks_exact_mut(n) {
                for j in 0..i0 {
                    let lj = &done[j * n..j * n + j + 1];
                    row[j] = (row[j] - dot(&row[..j], &lj[..j])) / lj[j];
                }
            }
        }
        // The block's own lower triangle, row by row.
        for rr in 0..r {
            let i = i0 + rr;
            let (prev, cur) = block.split_at_mut(rr * n);
            let row = &mut cur[..n];
            for j in i0..i {
                let lj = &prev[(j - i0) * n..(j - i0) * n + j + 1];
                let s = row[j] - dot(&row[..j], &lj[..j]);
                row[j] = s / lj[j];
            }
            let s = row[i] - dot(&row[..i], &row[..i]);
            if s.is_nan() || s <= 0.0 || s.is_infinite() {
                return false;
            }
            row[i] = s.sqrt();
        }
        i0 += r;
    }
    true
}
}

/// [`lower_inverse_from`] from the first row (`pk` gets every panel).
fn lower_inverse_into(l: &[f64], n: usize, inv: &mut [f64], pk: &mut Vec<f64>) {
    lower_inverse_from(l, n, inv, pk, 0)
}

multiversion! {
/// `L^-1` for lower-triangular `L` (row-major) into `inv`, row by row: row i
/// is `-(sum_{k<i} L_ik row_k(L^-1)) / L_ii` plus `1/L_ii` on the diagonal,
/// four rows at a time. `pk` receives `L^-1` in packed column panels
/// ([`pack_rows`]), which [`kinv_from_linv`] reads.
fn lower_inverse_from(l: &[f64], n: usize, inv: &mut [f64], pk: &mut Vec<f64>, start: usize) {
    inv[start * n..].fill(0.0);
    pk.clear();
    pk.resize(packed_len(n), 0.0);
    let mut i0 = start;
    while i0 < n {
        let r = (n - i0).min(4);
        let (done, rest) = inv.split_at_mut(i0 * n);
        let block = &mut rest[..r * n];
        if r == 4 {
            // Columns in tiles of 8 over the finished rows (read from their
            // packed panels), summed in a register tile: no stores until the
            // end, where an `axpy` form stores four rows at every step. A
            // tile's columns m >= i0 only meet zeros (+0 stays +0).
            let full = i0 / 8 * 8;
            for m0 in (0..full).step_by(8) {
                let acc = tile_4x8(
                    m0..i0,
                    |k| {
                        [
                            l[i0 * n + k],
                            l[(i0 + 1) * n + k],
                            l[(i0 + 2) * n + k],
                            l[(i0 + 3) * n + k],
                        ]
                    },
                    |k| done[k * n + m0..k * n + m0 + 8].try_into().expect("8"),
                );
                for (rr, a) in acc.iter().enumerate() {
                    block[rr * n + m0..rr * n + m0 + 8].copy_from_slice(a);
                }
            }
            for m in full..i0 {
                for rr in 0..4 {
                    let mut s = 0.0;
                    for k in m..i0 {
                        s += l[(i0 + rr) * n + k] * done[k * n + m];
                    }
                    block[rr * n + m] = s;
                }
            }
        } else {
            for (rr, row) in block.chunks_exact_mut(n).enumerate() {
                for k in 0..i0 {
                    axpy(
                        l[(i0 + rr) * n + k],
                        &done[k * n..k * n + k + 1],
                        &mut row[..=k],
                    );
                }
            }
        }
        for rr in 0..r {
            let i = i0 + rr;
            let (prev, cur) = block.split_at_mut(rr * n);
            let row = &mut cur[..n];
            for k in i0..i {
                let pk = &prev[(k - i0) * n..(k - i0) * n + k + 1];
                axpy(l[i * n + k], pk, &mut row[..=k]);
            }
            let dinv = 1.0 / l[i * n + i];
            for v in row[..i].iter_mut() {
                *v *= -dinv;
            }
            row[i] = dinv;
        }
        pack_rows(block, n, i0, pk);
        i0 += r;
    }
}
}

multiversion! {
/// `K^-1 = L^-T L^-1` (lower triangle) into `kinv` from `linv = L^-1`:
/// `kinv_ij = sum_{k >= i} linv_ki linv_kj` for `j <= i`, from `L^-1` in
/// packed column panels (`pk`, from [`lower_inverse_into`]).
fn kinv_from_linv(pk: &[f64], n: usize, kinv: &mut [f64]) {
    kinv.fill(0.0);
    let mut i0 = 0;
    while i0 < n {
        let r = (n - i0).min(4);
        let block = &mut kinv[i0 * n..(i0 + r) * n];
        // `kinv_ij = sum_{k >= i} linv_ki linv_kj`, ascending k from +0: a
        // tile of 4 rows x 8 columns over k = i0..n, both factors read from
        // the packed panels (unit stride in k). Rows i > k meet linv_ki = 0
        // before their first term, which leaves the sum at +0.
        let rows = &pk[(i0 / 8 * 8) * n..(i0 / 8 * 8 + 8) * n];
        let off = i0 % 8;
        for j0 in (0..i0 + r).step_by(8) {
            let panel = &pk[j0 * n..(j0 + 8) * n];
            let acc = tile_4x8(
                i0..n,
                |k| {
                    let c = &rows[8 * k + off..8 * k + off + 4];
                    [c[0], c[1], c[2], c[3]]
                },
                |k| panel[8 * k..8 * k + 8].try_into().expect("8"),
            );
            for (rr, a) in acc.iter().enumerate().take(r) {
                let m = (i0 + rr + 1).saturating_sub(j0).min(8);
                block[rr * n + j0..rr * n + j0 + m].copy_from_slice(&a[..m]);
            }
        }
        i0 += r;
    }
}
}

/// `L^-1 b` with a precomputed inverse (lower triangle).
fn linv_mul(linv: &[f64], n: usize, b: &[f64]) -> Vec<f64> {
    (0..n)
        .map(|i| dot(&linv[i * n..i * n + i + 1], &b[..=i]))
        .collect()
}

/// `L^-T v` with a precomputed inverse (lower triangle).
fn linv_t_mul(linv: &[f64], n: usize, v: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; n];
    for i in 0..n {
        axpy(v[i], &linv[i * n..i * n + i + 1], &mut out[..=i]);
    }
    out
}

/// `n x n` buffers reused by every likelihood evaluation of a fit, so the
/// L-BFGS loop does not allocate (and page-fault) several 8 MB matrices per
/// evaluation at n = 1000.
struct Work {
    /// `d x n` scaled inputs ([`scaled_transpose`]).
    xt: Vec<f64>,
    /// One row of `W ∘ dK` factors.
    wrow: Vec<f64>,
    kf: Vec<f64>,
    qf: Vec<f64>,
    chol: Vec<f64>,
    linv: Vec<f64>,
    /// `L^-1` in packed column panels ([`pack_rows`]).
    pk: Vec<f64>,
    kinv: Vec<f64>,
}

impl Work {
    fn new(n: usize, d: usize) -> Self {
        Self {
            xt: vec![0.0; n * d],
            wrow: vec![0.0; n],
            kf: vec![0.0; n * n],
            qf: vec![0.0; n * n],
            chol: vec![0.0; n * n],
            linv: vec![0.0; n * n],
            pk: vec![0.0; packed_len(n)],
            kinv: vec![0.0; n * n],
        }
    }
}

/// Cholesky of `kf + (noise + jitter) I` (lower triangles, row-major) with
/// jitter escalation, into `chol`, and `L^-1` into `linv`. Returns
/// `(alpha = K^-1 z, log det K, jitter)`.
fn factorize_into(
    kf: &[f64],
    n: usize,
    noise: f64,
    z: &[f64],
    chol: &mut [f64],
    linv: &mut [f64],
    pk: &mut Vec<f64>,
) -> Option<(Vec<f64>, f64, f64)> {
    for &jitter in &JITTERS {
        chol.copy_from_slice(kf);
        for i in 0..n {
            chol[i * n + i] += noise + jitter;
        }
        if cholesky_in_place(chol, n) {
            let log_det = 2.0 * (0..n).map(|i| chol[i * n + i].ln()).sum::<f64>();
            lower_inverse_into(chol, n, linv, pk);
            let alpha = linv_t_mul(linv, n, &linv_mul(linv, n, z));
            return Some((alpha, log_det, jitter));
        }
    }
    None
}

/// Inputs divided by the length scales, transposed (`d x n`) into `xt`.
fn scaled_transpose(data: &Data, inv_ls2: &[f64], xt: &mut [f64]) {
    let (n, d) = (data.n, data.d);
    for k in 0..d {
        let s = inv_ls2[k].sqrt();
        for (j, v) in xt[k * n..(k + 1) * n].iter_mut().enumerate() {
            *v = data.x[j * d + k] * s;
        }
    }
}

multiversion! {
/// `outputscale * matern` over the lower triangle (rows `start..n`) into `kf`, and into `qf`
/// the factor the length-scale gradient needs: `outputscale * q` (ARD: the
/// per-dimension squared differences are applied later) or, isotropic,
/// `outputscale * q * r^2` (then `dK/d log ls = qf` directly, and the
/// gradient pass needs no loop over dimensions). `xt` is
/// [`scaled_transpose`]'s output: each row is built as unit-stride passes
/// over the points (squared distances, then the kernel), which vectorise,
/// where a per-pair loop over the `d` coordinates and a per-pair `exp` do
/// not.
fn kernel_rows_into(
    n: usize,
    xt: &[f64],
    outputscale: f64,
    iso: bool,
    kf: &mut [f64],
    qf: &mut [f64],
    start: usize,
) {
    let d = xt.len() / n.max(1);
    for i in start..n {
        let row = &mut kf[i * n..i * n + i + 1];
        row.fill(0.0);
        for k in 0..d {
            let col = &xt[k * n..k * n + i + 1];
            let c = col[i];
            for (r, v) in row.iter_mut().zip(col) {
                let t = c - v;
                *r += t * t;
            }
        }
        let qrow = &mut qf[i * n..i * n + i + 1];
        if iso {
            for (kv, qv) in row.iter_mut().zip(qrow.iter_mut()) {
                let r2 = *kv;
                let (a, b) = matern52(r2);
                *kv = outputscale * a;
                *qv = outputscale * b * r2;
            }
        } else {
            for (kv, qv) in row.iter_mut().zip(qrow.iter_mut()) {
                let (a, b) = matern52(*kv);
                *kv = outputscale * a;
                *qv = outputscale * b;
            }
        }
    }
}
}

/// `sum_j w_j (c - v_j)^2` with four accumulators (vectorises).
#[inline(always)]
fn weighted_sq_dev(w: &[f64], v: &[f64], c: f64) -> f64 {
    let m = w.len().min(v.len());
    let (w, v) = (&w[..m], &v[..m]);
    let mut acc = [0.0f64; 4];
    let full = m - m % 4;
    let mut i = 0;
    while i < full {
        for l in 0..4 {
            let t = c - v[i + l];
            acc[l] += w[i + l] * t * t;
        }
        i += 4;
    }
    let mut s = (acc[0] + acc[2]) + (acc[1] + acc[3]);
    for k in full..m {
        let t = c - v[k];
        s += w[k] * t * t;
    }
    s
}

/// Where the log hyperparameters sit in the optimisation vector:
/// `[log ls (d or 1), log outputscale, log noise (if fitted)]`.
struct Layout {
    d: usize,
    ard: bool,
    fit_noise: bool,
    fixed_noise: f64,
}

impl Layout {
    fn n_ls(&self) -> usize {
        if self.ard {
            self.d
        } else {
            1
        }
    }

    fn len(&self) -> usize {
        self.n_ls() + 1 + usize::from(self.fit_noise)
    }

    fn hyper(&self, theta: &[f64]) -> Hyper {
        let m = self.n_ls();
        let lengthscales = if self.ard {
            theta[..m].iter().map(|v| v.exp()).collect()
        } else {
            vec![theta[0].exp(); self.d]
        };
        Hyper {
            lengthscales,
            outputscale: theta[m].exp(),
            noise: if self.fit_noise {
                theta[m + 1].exp()
            } else {
                self.fixed_noise
            },
        }
    }

    fn log_bounds(&self, b: &GpBounds) -> (Vec<f64>, Vec<f64>) {
        let m = self.n_ls();
        let mut lo = vec![b.lengthscale.0.ln(); m];
        let mut hi = vec![b.lengthscale.1.ln(); m];
        lo.push(b.outputscale.0.ln());
        hi.push(b.outputscale.1.ln());
        if self.fit_noise {
            lo.push(b.noise.0.ln());
            hi.push(b.noise.1.ln());
        }
        (lo, hi)
    }
}

/// Negative log marginal likelihood of the standardised targets and its
/// gradient w.r.t. the log hyperparameters. `+inf` (zero gradient) if the
/// kernel matrix cannot be factorised.
///
/// Cost: the kernel (`n^2 d / 2`), the Cholesky (`n^3 / 3` flops), `L^-1`
/// and `K^-1 = L^-T L^-1` (`n^3 / 3` each: the exact gradient needs every
/// entry of `K^-1`), then one `O(n^2 d)` pass (ARD; `O(n^2)` isotropic) for
/// all the gradients. No allocation beyond `O(n + d)` vectors: the matrices
/// live in `work`.
fn nlml_and_grad(
    data: &Data,
    layout: &Layout,
    theta: &[f64],
    grad: &mut [f64],
    work: &mut Work,
) -> f64 {
    let (n, d) = (data.n, data.d);
    let hyp = layout.hyper(theta);
    let inv_ls2: Vec<f64> = hyp.lengthscales.iter().map(|l| 1.0 / (l * l)).collect();
    let Work {
        xt,
        wrow,
        kf,
        qf,
        chol,
        linv,
        pk,
        kinv,
    } = work;
    scaled_transpose(data, &inv_ls2, xt);
    kernel_rows_into(n, xt, hyp.outputscale, !layout.ard, kf, qf, 0);
    let Some((alpha, log_det, _)) = factorize_into(kf, n, hyp.noise, &data.z, chol, linv, pk)
    else {
        grad.iter_mut().for_each(|g| *g = 0.0);
        return f64::INFINITY;
    };
    let nlml = 0.5 * dot(&data.z, &alpha) + 0.5 * log_det + 0.5 * n as f64 * LN_2PI;
    kinv_from_linv(pk, n, kinv);

    // W = K^-1 - alpha alpha^T; d(-LML)/d theta = 1/2 sum_ij W_ij dK_ij/d theta,
    // over the strict lower triangle (the pair (i, j) and (j, i) together
    // cancel the 1/2) plus half the diagonal. Row by row: W's row into
    // `wrow`, then unit-stride reductions.
    let m = layout.n_ls();
    let mut g_ls = vec![0.0; d];
    let (mut g_iso, mut g_os, mut tr_w) = (0.0, 0.0, 0.0);
    for i in 0..n {
        let ai = alpha[i];
        let w = &mut wrow[..i];
        for ((wv, kv), av) in w.iter_mut().zip(&kinv[i * n..i * n + i]).zip(&alpha[..i]) {
            *wv = kv - ai * av;
        }
        g_os += dot(w, &kf[i * n..i * n + i]);
        // dK_ij/d log ls_k = outputscale q_ij (x_ik - x_jk)^2 / ls_k^2: with
        // scaled inputs, q_ij times the squared scaled difference.
        for (wv, qv) in w.iter_mut().zip(&qf[i * n..i * n + i]) {
            *wv *= qv;
        }
        if layout.ard {
            for (k, g) in g_ls.iter_mut().enumerate() {
                let col = &xt[k * n..k * n + i + 1];
                *g += weighted_sq_dev(w, col, col[i]);
            }
        } else {
            g_iso += w.iter().sum::<f64>();
        }
        let wd = kinv[i * n + i] - ai * ai;
        g_os += 0.5 * wd * kf[i * n + i];
        tr_w += wd;
    }
    if layout.ard {
        grad[..d].copy_from_slice(&g_ls);
    } else {
        grad[0] = g_iso;
    }
    grad[m] = g_os;
    if layout.fit_noise {
        grad[m + 1] = 0.5 * hyp.noise * tr_w;
    }
    nlml
}

/// `-log prior` of the log hyperparameters `theta` (up to a constant),
/// its gradient added to `grad`. A shared length scale carries one prior.
fn neg_log_prior(p: &GpPriors, layout: &Layout, theta: &[f64], grad: &mut [f64]) -> f64 {
    let m = layout.n_ls();
    let mut total = 0.0;
    for (i, prior) in (0..m)
        .map(|i| (i, &p.lengthscale))
        .chain([(m, &p.outputscale)])
        .chain(layout.fit_noise.then_some((m + 1, &p.noise)))
    {
        let (f, g) = prior.neg_log(theta[i]);
        total += f;
        grad[i] += g;
    }
    total
}

/// The log-parameter vector of `h` in `layout` (before clamping).
fn warm_theta(h: &Hyper, layout: &Layout) -> Result<Vec<f64>, GpError> {
    let ok = |v: f64| v > 0.0 && v.is_finite();
    let ls = &h.lengthscales;
    if ls.is_empty()
        || (ls.len() != 1 && ls.len() != layout.d)
        || !ls.iter().all(|l| ok(*l))
        || !ok(h.outputscale)
        || (layout.fit_noise && !ok(h.noise))
    {
        return Err(GpError::InvalidHyper(format!("warm start {h:?}")));
    }
    let log_ls: Vec<f64> = ls.iter().map(|l| l.ln()).collect();
    let mut t: Vec<f64> = if layout.ard {
        (0..layout.d).map(|k| log_ls[k % log_ls.len()]).collect()
    } else {
        vec![log_ls.iter().sum::<f64>() / log_ls.len() as f64]
    };
    t.push(h.outputscale.ln());
    if layout.fit_noise {
        t.push(h.noise.ln());
    }
    Ok(t)
}

multiversion! {
/// [`Gp::predict_batch`]'s body, compiled also as an AVX2 copy
/// ([`crate::simd`]; the same bits).
///
/// Why this shape: the variances are `s - |L^-1 k|^2`, an `O(n^2)` product
/// per point, and at LA-MCTS's 10,000 candidates `L^-1` (8 MB at n = 1,000,
/// 72 MB at 3,000) was streamed from L3 or memory once per 8 points. Here
/// [`PREDICT_TILES`] tiles of [`PREDICT_B`] points share each block of
/// [`PREDICT_R`] rows of `L^-1` while it sits in L2, and a register tile
/// holds `R x B` running sums. Every `(L^-1 k)_i` is still summed over `j`
/// in order from 0 and `|.|^2` over `i` in order, without contraction, so
/// the bits are those of the one-point-at-a-time loop
/// (`predict_batch_matches_the_unblocked_loop`).
fn predict_batch_into(gp: &Gp, xs: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        const B: usize = PREDICT_B;
        const R: usize = PREDICT_R;
        let n = gp.n;
        let s = gp.hyper.outputscale;
        let mut means = Vec::with_capacity(xs.len());
        let mut vars = Vec::with_capacity(xs.len());
        // Kernel rows of B query points, interleaved per tile
        // (`kt[t * n * B + i * B + p]`), so a row of L^-1 times a tile is a
        // broadcast-multiply-add over B independent lanes.
        let mut kt = vec![0.0; PREDICT_TILES * n * B];
        let mut row = vec![0.0; n];
        for block in xs.chunks(B * PREDICT_TILES) {
            let tiles = block.len().div_ceil(B);
            for (q, x) in block.iter().enumerate() {
                gp.cross(x, &mut row, None);
                means.push(gp.y_mean + gp.y_std * dot(&row, &gp.alpha));
                let (t, p) = (q / B, q % B);
                for (i, v) in row.iter().enumerate() {
                    kt[t * n * B + i * B + p] = *v;
                }
            }
            let mut quad = vec![[0.0f64; B]; tiles];
            let full = n / R * R;
            for i0 in (0..full).step_by(R) {
                let li: [&[f64]; R] =
                    std::array::from_fn(|r| &gp.linv[(i0 + r) * n..(i0 + r) * n + i0 + r + 1]);
                for (t, qt) in quad.iter_mut().enumerate() {
                    let k = &kt[t * n * B..(t + 1) * n * B];
                    let mut acc = [[0.0f64; B]; R];
                    // Columns every row of the block has, then the triangle.
                    let heads: [&[f64]; R] = std::array::from_fn(|r| &li[r][..i0]);
                    for (j, kj) in k[..i0 * B].chunks_exact(B).enumerate() {
                        let kj: &[f64; B] = kj.try_into().expect("chunk of B");
                        for (accr, head) in acc.iter_mut().zip(&heads) {
                            let l = head[j];
                            for p in 0..B {
                                accr[p] += l * kj[p];
                            }
                        }
                    }
                    for j in i0..i0 + R {
                        let kj: &[f64; B] = k[j * B..j * B + B].try_into().expect("chunk of B");
                        for r in j - i0..R {
                            let l = li[r][j];
                            for p in 0..B {
                                acc[r][p] += l * kj[p];
                            }
                        }
                    }
                    for accr in &acc {
                        for p in 0..B {
                            qt[p] += accr[p] * accr[p];
                        }
                    }
                }
            }
            for i in full..n {
                let li = &gp.linv[i * n..i * n + i + 1];
                for (t, qt) in quad.iter_mut().enumerate() {
                    let k = &kt[t * n * B..(t + 1) * n * B];
                    let mut acc = [0.0f64; B];
                    for (a, kj) in li.iter().zip(k.chunks_exact(B)) {
                        for p in 0..B {
                            acc[p] += a * kj[p];
                        }
                    }
                    for p in 0..B {
                        qt[p] += acc[p] * acc[p];
                    }
                }
            }
            for (q, _) in block.iter().enumerate() {
                let v = quad[q / B][q % B];
                vars.push(gp.y_std * gp.y_std * (s - v).max(0.0));
            }
        }
        (means, vars)
}
}

/// Points per register tile of [`predict_batch_into`].
const PREDICT_B: usize = 8;
/// Rows of `L^-1` per register tile of [`predict_batch_into`].
const PREDICT_R: usize = 4;
/// Tiles that share each block of `L^-1` rows in [`predict_batch_into`]
/// (64 points: 4 rows of `L^-1` at n = 3,000 are 96 KB, in L2).
const PREDICT_TILES: usize = 8;

/// Hyperparameters carried across fits on slowly growing data (BO loops):
/// a full fit on every `refit_every`-th call, the last hyperparameters
/// reused in between (the GP is still conditioned on all the data). With
/// `warm_iters > 0` a refit starts from the last fit with one L-BFGS run of
/// at most that many steps ([`GpConfig::warm`]) instead of `cfg`'s default
/// start and restarts. `refit_every = 1, warm_iters = 0` fits from scratch
/// every call. Shared by the BO baseline and LA-MCTS's in-region BO.
#[derive(Clone, Debug, Default)]
pub struct RefitSchedule {
    hyper: Option<Hyper>,
    calls: usize,
    /// The last GP returned (factorisations shared): a call that reuses the
    /// hyperparameters extends it ([`Gp::with_hyperparameters_extending`]).
    last: Option<Gp>,
}

impl RefitSchedule {
    /// The GP for this call (see the type's docs); a failed refit keeps the
    /// previous hyperparameters.
    pub fn fit(
        &mut self,
        x: &[Vec<f64>],
        y: &[f64],
        cfg: &GpConfig,
        refit_every: usize,
        warm_iters: usize,
        rng: &mut Stream,
    ) -> Result<Gp, GpError> {
        let refit = self.hyper.is_none() || self.calls % refit_every.max(1) == 0;
        self.calls += 1;
        let fitted = match (&self.hyper, refit) {
            (Some(h), false) => Gp::with_hyperparameters_extending(
                x,
                y,
                h.clone(),
                cfg.standardize,
                self.last.as_ref(),
            ),
            // The data grew by a few points, so the optimum moved little.
            (Some(h), true) if warm_iters > 0 => {
                Gp::fit(x, y, &cfg.warm(h.clone(), warm_iters), rng)
            }
            _ => Gp::fit(x, y, cfg, rng),
        };
        if let (Ok(gp), true) = (&fitted, refit) {
            self.hyper = Some(gp.hyper().clone());
        }
        self.last = fitted.as_ref().ok().cloned();
        fitted
    }

    /// The hyperparameters of the last successful refit.
    pub fn hyper(&self) -> Option<&Hyper> {
        self.hyper.as_ref()
    }

    /// Calls of [`RefitSchedule::fit`] so far.
    pub fn calls(&self) -> usize {
        self.calls
    }
}

impl Gp {
    /// Fit hyperparameters by maximising the log marginal likelihood (see the
    /// module docs), then condition on the data. Draws `restarts` random
    /// starts from `rng`.
    pub fn fit(x: &[Vec<f64>], y: &[f64], cfg: &GpConfig, rng: &mut Stream) -> Result<Gp, GpError> {
        let data = check_data(x, y, cfg.sample_std, cfg.standardize)?;
        let b = &cfg.bounds;
        for (name, (lo, hi)) in [
            ("lengthscale", b.lengthscale),
            ("outputscale", b.outputscale),
            ("noise", b.noise),
        ] {
            if !(lo > 0.0 && lo <= hi && hi.is_finite()) {
                return Err(GpError::InvalidHyper(format!(
                    "{name} bounds ({lo}, {hi}) must satisfy 0 < lo <= hi < inf"
                )));
            }
        }
        if !(cfg.fit_noise || (cfg.noise >= 0.0 && cfg.noise.is_finite())) {
            return Err(GpError::InvalidHyper(format!("noise {}", cfg.noise)));
        }
        let layout = Layout {
            d: data.d,
            ard: cfg.ard,
            fit_noise: cfg.fit_noise,
            fixed_noise: cfg.noise,
        };
        let (lo, hi) = layout.log_bounds(b);
        let clamp = |v: f64, i: usize| v.clamp(lo[i], hi[i]);

        let mut starts: Vec<Vec<f64>> = Vec::with_capacity(cfg.restarts + 1);
        let m = layout.n_ls();
        let first = match (&cfg.warm_start, &cfg.start) {
            (Some(h), _) | (None, Some(h)) => warm_theta(h, &layout)?,
            (None, None) => {
                let mut t = vec![0.5f64.ln(); m];
                t.push(0.0);
                if cfg.fit_noise {
                    let noise0 = if cfg.noise > 0.0 {
                        cfg.noise
                    } else {
                        b.noise.0
                    };
                    t.push(noise0.ln());
                }
                t
            }
        };
        starts.push(
            first
                .iter()
                .enumerate()
                .map(|(i, v)| clamp(*v, i))
                .collect(),
        );
        for _ in 0..cfg.restarts {
            starts.push(
                (0..layout.len())
                    .map(|i| lo[i] + (hi[i] - lo[i]) * rng.uniform())
                    .collect(),
            );
        }

        // A warm start sits near the optimum already: a first step of up to
        // 1 in log space (the cold default) would overshoot and cost
        // backtracking evaluations, each a full O(n^3) likelihood; and
        // creeping along a bound (a length scale held at its upper bound is
        // common on flat data) for relative gains below 1e-6 (1e-3 nats at
        // n = 1000) buys nothing a refit next iteration would not.
        let opts = if cfg.warm_start.is_some() {
            LbfgsOptions {
                max_iters: cfg.max_iters,
                initial_step: 0.1,
                ftol: 1e-6,
                ..LbfgsOptions::default()
            }
        } else {
            LbfgsOptions {
                max_iters: cfg.max_iters,
                ..LbfgsOptions::default()
            }
        };
        let mut best: Option<(f64, Vec<f64>)> = None;
        let mut work = Work::new(data.n, data.d);
        for start in &starts {
            let r = minimize_box(
                |t, g| {
                    let f = nlml_and_grad(&data, &layout, t, g, &mut work);
                    match &cfg.priors {
                        Some(p) if f.is_finite() => f + neg_log_prior(p, &layout, t, g),
                        _ => f,
                    }
                },
                start,
                &lo,
                &hi,
                &opts,
            );
            if r.f.is_finite() && best.as_ref().is_none_or(|(f, _)| r.f < *f) {
                best = Some((r.f, r.x));
            }
        }
        let (_, theta) = best.ok_or(GpError::NotPositiveDefinite)?;
        Self::condition(data, layout.hyper(&theta))
    }

    /// Condition on the data with the given hyperparameters (no fitting).
    /// `lengthscales` may hold one value per dimension or a single shared one.
    pub fn with_hyperparameters(x: &[Vec<f64>], y: &[f64], hyper: Hyper) -> Result<Gp, GpError> {
        Self::with_hyperparameters_scaled(x, y, hyper, true)
    }

    /// [`Gp::with_hyperparameters`], standardising `y` only if
    /// `standardize` (as [`GpConfig::standardize`] says for a fit).
    pub fn with_hyperparameters_scaled(
        x: &[Vec<f64>],
        y: &[f64],
        hyper: Hyper,
        standardize: bool,
    ) -> Result<Gp, GpError> {
        Self::with_hyperparameters_extending(x, y, hyper, standardize, None)
    }

    /// [`Gp::with_hyperparameters_scaled`], the same bits; where `prev` was
    /// conditioned on the first rows of `x` under the same hyperparameters,
    /// its factorisations are extended instead of redone.
    pub fn with_hyperparameters_extending(
        x: &[Vec<f64>],
        y: &[f64],
        hyper: Hyper,
        standardize: bool,
        prev: Option<&Gp>,
    ) -> Result<Gp, GpError> {
        let data = check_data(x, y, false, standardize)?;
        let mut hyper = hyper;
        if hyper.lengthscales.len() == 1 && data.d != 1 {
            hyper.lengthscales = vec![hyper.lengthscales[0]; data.d];
        }
        if hyper.lengthscales.len() != data.d {
            return Err(GpError::Shape(format!(
                "{} length scales for {}-dimensional inputs",
                hyper.lengthscales.len(),
                data.d
            )));
        }
        if hyper
            .lengthscales
            .iter()
            .any(|l| !(*l > 0.0 && l.is_finite()))
            || !(hyper.outputscale > 0.0 && hyper.outputscale.is_finite())
            || !(hyper.noise >= 0.0 && hyper.noise.is_finite())
        {
            return Err(GpError::InvalidHyper(format!("{hyper:?}")));
        }
        if let Some(gp) = prev.and_then(|p| Self::condition_extending(&data, &hyper, p)) {
            return Ok(gp);
        }
        Self::condition(data, hyper)
    }

    fn condition(data: Data, hyper: Hyper) -> Result<Gp, GpError> {
        let n = data.n;
        let inv_ls2: Vec<f64> = hyper.lengthscales.iter().map(|l| 1.0 / (l * l)).collect();
        let mut xt = vec![0.0; n * data.d];
        scaled_transpose(&data, &inv_ls2, &mut xt);
        let mut kf = vec![0.0; n * n];
        let mut chol = vec![0.0; n * n];
        // `chol` doubles as the unused derivative buffer before it is overwritten.
        kernel_rows_into(n, &xt, hyper.outputscale, false, &mut kf, &mut chol, 0);
        let mut linv = vec![0.0; n * n];
        let (alpha, log_det, jitter) = factorize_into(
            &kf,
            n,
            hyper.noise,
            &data.z,
            &mut chol,
            &mut linv,
            &mut Vec::new(),
        )
        .ok_or(GpError::NotPositiveDefinite)?;
        let lml = -(0.5 * dot(&data.z, &alpha) + 0.5 * log_det + 0.5 * n as f64 * LN_2PI);
        let mut xt_scaled = vec![0.0; n * data.d];
        for i in 0..n {
            for k in 0..data.d {
                xt_scaled[k * n + i] = data.x[i * data.d + k] / hyper.lengthscales[k];
            }
        }
        Ok(Gp {
            x: data.x,
            xt_scaled,
            n,
            d: data.d,
            y_mean: data.y_mean,
            y_std: data.y_std,
            hyper,
            inv_ls2,
            linv: std::sync::Arc::new(linv),
            chol: std::sync::Arc::new(chol),
            alpha,
            jitter,
            lml,
        })
    }

    /// [`Gp::condition`] on data whose first rows are `prev`'s, under the
    /// same hyperparameters: the rows of `L` and `L^-1` before the last
    /// 4-row block `prev` finished are kept and the factorisations resume
    /// there, so the result has the same bits as conditioning afresh (each
    /// row of both depends only on the rows above it and its 4-row block).
    /// `None` where that does not hold (other hyperparameters or rows, a
    /// jittered `prev`, a new row that needs jitter): condition afresh.
    ///
    /// Why: BO loops reuse hyperparameters between refits while the data
    /// grow by a point, and the two `O(n^3)` factorisations were a third of
    /// a LA-MCTS-BO iteration at 1,000 samples.
    fn condition_extending(data: &Data, hyper: &Hyper, prev: &Gp) -> Option<Gp> {
        let (n, d, m) = (data.n, data.d, prev.n);
        if prev.jitter != 0.0
            || prev.hyper != *hyper
            || prev.d != d
            || m > n
            || prev
                .x
                .iter()
                .zip(&data.x[..m * d])
                .any(|(a, b)| a.to_bits() != b.to_bits())
        {
            return None;
        }
        let keep = m / 4 * 4;
        let inv_ls2: Vec<f64> = hyper.lengthscales.iter().map(|l| 1.0 / (l * l)).collect();
        let mut xt = vec![0.0; n * d];
        scaled_transpose(data, &inv_ls2, &mut xt);
        let mut chol = vec![0.0; n * n];
        let mut linv = vec![0.0; n * n];
        for i in 0..keep {
            chol[i * n..i * n + i + 1].copy_from_slice(&prev.chol[i * m..i * m + i + 1]);
            linv[i * n..i * n + i + 1].copy_from_slice(&prev.linv[i * m..i * m + i + 1]);
        }
        // New kernel rows straight into `chol` (as factorize_into copies
        // them, with `noise + 0.0` on the diagonal).
        let mut scratch = vec![0.0; n * n];
        kernel_rows_into(
            n,
            &xt,
            hyper.outputscale,
            false,
            &mut chol,
            &mut scratch,
            keep,
        );
        for i in keep..n {
            chol[i * n + i] += hyper.noise + JITTERS[0];
        }
        if !cholesky_from(&mut chol, n, keep) {
            return None;
        }
        let log_det = 2.0 * (0..n).map(|i| chol[i * n + i].ln()).sum::<f64>();
        lower_inverse_from(&chol, n, &mut linv, &mut Vec::new(), keep);
        let alpha = linv_t_mul(&linv, n, &linv_mul(&linv, n, &data.z));
        let lml = -(0.5 * dot(&data.z, &alpha) + 0.5 * log_det + 0.5 * n as f64 * LN_2PI);
        let mut xt_scaled = vec![0.0; n * d];
        for i in 0..n {
            for k in 0..d {
                xt_scaled[k * n + i] = data.x[i * d + k] / hyper.lengthscales[k];
            }
        }
        Some(Gp {
            x: data.x.clone(),
            xt_scaled,
            n,
            d,
            y_mean: data.y_mean,
            y_std: data.y_std,
            hyper: hyper.clone(),
            inv_ls2,
            linv: std::sync::Arc::new(linv),
            chol: std::sync::Arc::new(chol),
            alpha,
            jitter: 0.0,
            lml,
        })
    }

    /// The hyperparameters in use.
    pub fn hyper(&self) -> &Hyper {
        &self.hyper
    }

    /// Log marginal likelihood of the standardised targets under
    /// [`Gp::hyper`] (what [`Gp::fit`] maximises).
    pub fn log_marginal_likelihood(&self) -> f64 {
        self.lml
    }

    /// Diagonal jitter that the factorisation needed (0 if none).
    pub fn jitter(&self) -> f64 {
        self.jitter
    }

    /// Number of training points.
    pub fn n_train(&self) -> usize {
        self.n
    }

    /// Input dimension.
    pub fn dim(&self) -> usize {
        self.d
    }

    /// The standardisation `(mean, std)` applied to the targets.
    pub fn y_standardisation(&self) -> (f64, f64) {
        (self.y_mean, self.y_std)
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }

    /// Cross-covariances `k(x, x_i)` (standardised units) into `k`, and the
    /// derivative factors `q_i` into `q` when given.
    #[inline(always)]
    fn cross(&self, x: &[f64], k: &mut [f64], q: Option<&mut [f64]>) {
        assert_eq!(x.len(), self.d, "Gp: query of wrong dimension");
        let n = self.n;
        let k = &mut k[..n];
        k.iter_mut().for_each(|v| *v = 0.0);
        // Accumulate r^2 in k first: one unit-stride (vectorisable) pass per
        // dimension.
        for (j, xj) in x.iter().enumerate() {
            let qj = xj / self.hyper.lengthscales[j];
            for (r2, xv) in k.iter_mut().zip(&self.xt_scaled[j * n..(j + 1) * n]) {
                let t = qj - xv;
                *r2 += t * t;
            }
        }
        let s = self.hyper.outputscale;
        match q {
            Some(q) => {
                for (kv, qv) in k.iter_mut().zip(q.iter_mut()) {
                    let (a, b) = matern52(*kv);
                    *kv = s * a;
                    *qv = s * b;
                }
            }
            None => {
                for kv in k.iter_mut() {
                    *kv = s * matern52(*kv).0;
                }
            }
        }
    }

    /// Standardised latent variance `s - |L^-1 k|^2`.
    fn latent_var(&self, k: &[f64]) -> f64 {
        let n = self.n;
        let mut quad = 0.0;
        for i in 0..n {
            let v = dot(&self.linv[i * n..i * n + i + 1], &k[..=i]);
            quad += v * v;
        }
        self.hyper.outputscale - quad
    }

    /// Posterior mean and variance of the latent `f` (no observation noise)
    /// at `x`, in the original target units. Panics if `x` has the wrong
    /// dimension.
    pub fn predict(&self, x: &[f64]) -> (f64, f64) {
        let mut k = vec![0.0; self.n];
        self.cross(x, &mut k, None);
        let mean = self.y_mean + self.y_std * dot(&k, &self.alpha);
        let var = self.y_std * self.y_std * self.latent_var(&k).max(0.0);
        (mean, var)
    }

    /// The posterior means of [`Gp::predict_batch`] alone (bit-identical to
    /// its means), at `O(n)` per point instead of `O(n^2)`.
    pub fn predict_mean_batch(&self, xs: &[Vec<f64>]) -> Vec<f64> {
        let mut row = vec![0.0; self.n];
        xs.iter()
            .map(|x| {
                self.cross(x, &mut row, None);
                self.y_mean + self.y_std * dot(&row, &self.alpha)
            })
            .collect()
    }

    /// [`Gp::predict_mean_batch`] (the same bits) and, per point, an upper
    /// bound on the variance [`Gp::predict_batch`] returns there, from the
    /// same `O(n)` kernel row: conditioning on one training point `j` leaves
    /// at least as much variance as conditioning on all of them, so the
    /// latent variance is at most `s - k_j^2 / K_jj` for every `j` (`s` the
    /// prior variance, `K_jj` the factorised diagonal). The bound is raised
    /// by `1e-9 s`, far above the rounding of either side.
    ///
    /// Why: candidates grown around the samples sit close to one of them, so
    /// this bound is far tighter than [`Gp::max_variance`], and an exact
    /// top-EI search ([`crate::baselines::top_ei`]) can skip most of the
    /// `O(n^2)` variances.
    pub fn predict_mean_batch_with_var_bound(&self, xs: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        let s = self.hyper.outputscale;
        let diag = (s * matern52(0.0).0 + self.hyper.noise + self.jitter) * (1.0 + 1e-12);
        let mut row = vec![0.0; self.n];
        let mut means = Vec::with_capacity(xs.len());
        let mut bounds = Vec::with_capacity(xs.len());
        for x in xs {
            self.cross(x, &mut row, None);
            means.push(self.y_mean + self.y_std * dot(&row, &self.alpha));
            let k2 = row.iter().fold(0.0f64, |m, v| m.max(v * v));
            let latent = (s - k2 / diag).max(0.0) + 1e-9 * s;
            bounds.push(self.y_std * self.y_std * latent);
        }
        (means, bounds)
    }

    /// An upper bound on every variance [`Gp::predict`] returns: the prior
    /// variance of the latent `f`, in the original target units.
    pub fn max_variance(&self) -> f64 {
        self.y_std * self.y_std * self.hyper.outputscale
    }

    /// [`Gp::predict`] for many points, reusing the factorisation: per point
    /// one kernel row and one dense triangular product with `L^-1`.
    pub fn predict_batch(&self, xs: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        predict_batch_into(self, xs)
    }

    /// Posterior mean and latent variance at `x` (as [`Gp::predict`]) with
    /// their gradients w.r.t. `x`: `(mean, var, dmean_dx, dvar_dx)`. Where the
    /// variance is clamped at 0, its gradient is 0.
    pub fn predict_with_grad(&self, x: &[f64]) -> (f64, f64, Vec<f64>, Vec<f64>) {
        let (n, d) = (self.n, self.d);
        let mut k = vec![0.0; n];
        let mut q = vec![0.0; n];
        self.cross(x, &mut k, Some(&mut q));
        let v = linv_mul(&self.linv, n, &k);
        let beta = linv_t_mul(&self.linv, n, &v); // K^-1 k
        let var_z = self.hyper.outputscale - dot(&v, &v);
        // dk_i/dx = -q_i (x - x_i) / ls^2; dmu/dx = sum alpha_i dk_i/dx and
        // dvar/dx = -2 sum beta_i dk_i/dx.
        let mut dmean = vec![0.0; d];
        let mut dvar = vec![0.0; d];
        for i in 0..n {
            let (am, av) = (-self.alpha[i] * q[i], 2.0 * beta[i] * q[i]);
            for (j, xi) in self.row(i).iter().enumerate() {
                let t = (x[j] - xi) * self.inv_ls2[j];
                dmean[j] += am * t;
                dvar[j] += av * t;
            }
        }
        let s2 = self.y_std * self.y_std;
        dmean.iter_mut().for_each(|g| *g *= self.y_std);
        let var = if var_z > 0.0 {
            dvar.iter_mut().for_each(|g| *g *= s2);
            s2 * var_z
        } else {
            dvar.iter_mut().for_each(|g| *g = 0.0);
            0.0
        };
        (
            self.y_mean + self.y_std * dot(&k, &self.alpha),
            var,
            dmean,
            dvar,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_points(n: usize, d: usize, rng: &mut Stream) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| (0..d).map(|_| rng.uniform()).collect())
            .collect()
    }

    #[test]
    fn gp_exp_nonpos_matches_libm() {
        let mut worst = 0.0f64;
        for i in 0..=200_000 {
            let x = -745.0 * f64::from(i) / 200_000.0;
            let (a, b) = (exp_nonpos(x), x.exp());
            if b > 1e-300 {
                worst = worst.max((a - b).abs() / b);
            }
        }
        assert!(worst < 5e-16, "worst relative error {worst:e}");
        assert_eq!(exp_nonpos(0.0), 1.0);
        assert_eq!(exp_nonpos(-2000.0), 0.0);
        assert_eq!(exp_nonpos(-f64::INFINITY), 0.0);
        assert!((exp_nonpos(-740.0) - (-740.0f64).exp()).abs() < 1e-320);
    }

    #[test]
    fn gp_interpolates_with_tiny_noise() {
        let mut rng = Stream::root("gp-interp");
        let x = random_points(12, 2, &mut rng);
        let y: Vec<f64> = x.iter().map(|p| (3.0 * p[0]).sin() + p[1] * p[1]).collect();
        let gp = Gp::with_hyperparameters(
            &x,
            &y,
            Hyper {
                lengthscales: vec![0.4, 0.6],
                outputscale: 1.0,
                noise: 1e-10,
            },
        )
        .unwrap();
        let (means, vars) = gp.predict_batch(&x);
        for i in 0..x.len() {
            let (m, v) = gp.predict(&x[i]);
            assert!((m - y[i]).abs() < 1e-6, "mean {m} vs {}", y[i]);
            assert!(v < 1e-7, "var {v}");
            assert!((means[i] - m).abs() < 1e-12 && (vars[i] - v).abs() < 1e-12);
        }
        // Far from the data the variance returns to the prior, in y units.
        let (_, v_far) = gp.predict(&[30.0, 30.0]);
        let (_, sd) = gp.y_standardisation();
        assert!((v_far - sd * sd).abs() < 1e-9 * sd * sd);
    }

    #[test]
    fn gp_prior_gradient_matches_finite_differences() {
        let p = GpPriors::botorch();
        for ard in [true, false] {
            let layout = Layout {
                d: 3,
                ard,
                fit_noise: true,
                fixed_noise: 0.0,
            };
            let theta: Vec<f64> = (0..layout.len()).map(|i| -1.0 + 0.4 * i as f64).collect();
            let mut g = vec![0.0; theta.len()];
            neg_log_prior(&p, &layout, &theta, &mut g);
            for i in 0..theta.len() {
                let h = 1e-6;
                let mut scratch = vec![0.0; theta.len()];
                let mut tp = theta.clone();
                tp[i] += h;
                let fp = neg_log_prior(&p, &layout, &tp, &mut scratch);
                tp[i] -= 2.0 * h;
                let fm = neg_log_prior(&p, &layout, &tp, &mut scratch);
                let fd = (fp - fm) / (2.0 * h);
                assert!(
                    (g[i] - fd).abs() < 1e-6 * fd.abs().max(1.0),
                    "{i}: {} vs {fd}",
                    g[i]
                );
            }
        }
        // The priors pull a fit on flat data towards their modes: an ML fit
        // may run to the length-scale bound, a MAP fit stays near 1/3.
        let mut rng = Stream::root("gp-prior");
        let x = random_points(12, 2, &mut rng);
        let y: Vec<f64> = (0..12).map(|_| rng.normal()).collect();
        let gp = Gp::fit(&x, &y, &GpConfig::botorch(), &mut rng).unwrap();
        let h = gp.hyper();
        assert!(
            h.lengthscales.iter().all(|l| (0.05..3.0).contains(l)),
            "{h:?}"
        );
        assert!(h.noise >= 1e-4 && h.noise.is_finite(), "{h:?}");
    }

    #[test]
    fn gp_lml_gradient_matches_finite_differences() {
        let mut rng = Stream::root("gp-grad");
        for (case, (ard, fit_noise)) in [(true, true), (false, true), (true, false)]
            .into_iter()
            .enumerate()
        {
            let d = 3;
            let x = random_points(15, d, &mut rng);
            let y: Vec<f64> = x
                .iter()
                .map(|p| p[0] * 2.0 - (4.0 * p[1]).cos() + 0.1 * rng.normal())
                .collect();
            let data = check_data(&x, &y, false, true).unwrap();
            let layout = Layout {
                d,
                ard,
                fit_noise,
                fixed_noise: 0.01,
            };
            for _ in 0..3 {
                let theta: Vec<f64> = (0..layout.len())
                    .map(|i| {
                        if i < layout.n_ls() {
                            (0.1 + 0.9 * rng.uniform()).ln()
                        } else if i == layout.n_ls() {
                            (0.2 + 3.0 * rng.uniform()).ln()
                        } else {
                            (1e-3 + 0.1 * rng.uniform()).ln()
                        }
                    })
                    .collect();
                let mut g = vec![0.0; theta.len()];
                let mut work = Work::new(data.n, d);
                nlml_and_grad(&data, &layout, &theta, &mut g, &mut work);
                let mut scratch = vec![0.0; theta.len()];
                for i in 0..theta.len() {
                    let h = 1e-5;
                    let mut tp = theta.clone();
                    tp[i] += h;
                    let fp = nlml_and_grad(&data, &layout, &tp, &mut scratch, &mut work);
                    tp[i] -= 2.0 * h;
                    let fm = nlml_and_grad(&data, &layout, &tp, &mut scratch, &mut work);
                    let fd = (fp - fm) / (2.0 * h);
                    assert!(
                        (g[i] - fd).abs() <= 1e-5 * fd.abs().max(1e-2),
                        "case {case} param {i}: analytic {} vs fd {fd}",
                        g[i]
                    );
                }
            }
        }
    }

    #[test]
    fn gp_fit_recovers_sine() {
        let n = 20;
        let x: Vec<Vec<f64>> = (0..n).map(|i| vec![i as f64 / (n - 1) as f64]).collect();
        let f = |t: f64| (2.0 * std::f64::consts::PI * t).sin();
        let y: Vec<f64> = x.iter().map(|p| f(p[0])).collect();
        let cfg = GpConfig::default();
        let mut rng = Stream::root("gp-fit-sine");
        let gp = Gp::fit(&x, &y, &cfg, &mut rng).unwrap();
        let start = Gp::with_hyperparameters(
            &x,
            &y,
            Hyper {
                lengthscales: vec![0.5],
                outputscale: 1.0,
                noise: cfg.noise,
            },
        )
        .unwrap();
        assert!(
            gp.log_marginal_likelihood() > start.log_marginal_likelihood() + 1.0,
            "fit {} vs start {}",
            gp.log_marginal_likelihood(),
            start.log_marginal_likelihood()
        );
        // A numpy grid search over (ls, outputscale) at noise 1e-6 (200 x 100
        // log-spaced points in the bounds) peaks at LML 36.1601 (ls 1.03,
        // outputscale 20 = its bound: noiseless smooth data favour a long,
        // loud prior); the fit must be at least as good.
        let ls = gp.hyper().lengthscales[0];
        assert!(gp.log_marginal_likelihood() >= 36.16, "{:?}", gp.hyper());
        assert!((0.3..2.0).contains(&ls), "length scale {ls}");
        assert!(gp.hyper().noise < 1e-3, "noise {}", gp.hyper().noise);
        for i in 0..50 {
            let t = (i as f64 + 0.5) / 50.0;
            let (m, v) = gp.predict(&[t]);
            assert!((m - f(t)).abs() < 0.02, "t={t}: {m} vs {}", f(t));
            assert!(v < 1e-2);
        }
        // Three periods on the same interval need a shorter length scale.
        let n3 = 40;
        let x3: Vec<Vec<f64>> = (0..n3).map(|i| vec![i as f64 / (n3 - 1) as f64]).collect();
        let y3: Vec<f64> = x3.iter().map(|p| f(3.0 * p[0])).collect();
        let gp3 = Gp::fit(&x3, &y3, &cfg, &mut rng).unwrap();
        let ls3 = gp3.hyper().lengthscales[0];
        assert!(ls3 < 0.6 * ls && ls3 > 0.05, "{ls3} vs {ls}");
        // Deterministic given the stream.
        let gp2 = Gp::fit(&x, &y, &cfg, &mut Stream::root("gp-fit-sine")).unwrap();
        assert_eq!(gp.hyper(), gp2.hyper());
    }

    #[test]
    fn gp_fit_ard_finds_irrelevant_dimension() {
        let mut rng = Stream::root("gp-ard");
        let x = random_points(40, 2, &mut rng);
        let y: Vec<f64> = x.iter().map(|p| (5.0 * p[0]).sin()).collect();
        let gp = Gp::fit(&x, &y, &GpConfig::default(), &mut rng).unwrap();
        let ls = &gp.hyper().lengthscales;
        assert!(ls[1] > 3.0 * ls[0], "{ls:?}");
    }

    #[test]
    fn gp_predict_gradients_match_finite_differences() {
        let mut rng = Stream::root("gp-pred-grad");
        let x = random_points(25, 3, &mut rng);
        let y: Vec<f64> = x.iter().map(|p| p[0] * p[1] + (3.0 * p[2]).sin()).collect();
        let gp = Gp::with_hyperparameters(
            &x,
            &y,
            Hyper {
                lengthscales: vec![0.3, 0.5, 0.8],
                outputscale: 1.3,
                noise: 1e-3,
            },
        )
        .unwrap();
        for _ in 0..5 {
            let q: Vec<f64> = (0..3).map(|_| rng.uniform()).collect();
            let (m, v, dm, dv) = gp.predict_with_grad(&q);
            let (m0, v0) = gp.predict(&q);
            assert!((m - m0).abs() < 1e-12 && (v - v0).abs() < 1e-12);
            for j in 0..3 {
                let h = 1e-6;
                let mut qp = q.clone();
                qp[j] += h;
                let (mp, vp) = gp.predict(&qp);
                qp[j] -= 2.0 * h;
                let (mm, vm) = gp.predict(&qp);
                let (fdm, fdv) = ((mp - mm) / (2.0 * h), (vp - vm) / (2.0 * h));
                assert!((dm[j] - fdm).abs() <= 1e-6 * fdm.abs().max(1.0), "{j}");
                assert!((dv[j] - fdv).abs() <= 1e-6 * fdv.abs().max(1e-2), "{j}");
            }
        }
    }

    #[test]
    fn gp_known_posterior_three_points() {
        // Reference (numpy 2.4):
        //   import numpy as np
        //   x = np.array([0.1, 0.5, 0.9]); y = np.array([1.0, 3.0, 2.0])
        //   ls, s, noise = 0.3, 1.5, 0.01
        //   def k(a, b):
        //       r = np.abs(a[:, None] - b[None, :]) / ls
        //       return s * (1 + np.sqrt(5) * r + 5 / 3 * r**2) * np.exp(-np.sqrt(5) * r)
        //   mu, sd = y.mean(), y.std()
        //   z = (y - mu) / sd
        //   K = k(x, x) + noise * np.eye(3); ks = k(np.array([0.4]), x)[0]
        //   m = mu + sd * ks @ np.linalg.solve(K, z)
        //   v = sd**2 * (s - ks @ np.linalg.solve(K, ks))
        //   L = np.linalg.cholesky(K)
        //   lml = -0.5 * z @ np.linalg.solve(K, z) - np.log(np.diag(L)).sum() - 1.5 * np.log(2 * np.pi)
        //   print(repr(m), repr(v), repr(lml))
        let x = vec![vec![0.1], vec![0.5], vec![0.9]];
        let y = vec![1.0, 3.0, 2.0];
        let gp = Gp::with_hyperparameters(
            &x,
            &y,
            Hyper {
                lengthscales: vec![0.3],
                outputscale: 1.5,
                noise: 0.01,
            },
        )
        .unwrap();
        let (m, v) = gp.predict(&[0.4]);
        let (m_ref, v_ref, lml_ref) = (REF_MEAN, REF_VAR, REF_LML);
        assert!((m - m_ref).abs() < 1e-12 * m_ref.abs(), "{m} vs {m_ref}");
        assert!((v - v_ref).abs() < 1e-10 * v_ref, "{v} vs {v_ref}");
        let lml = gp.log_marginal_likelihood();
        assert!((lml - lml_ref).abs() < 1e-12 * lml_ref.abs(), "{lml}");
        assert_eq!(gp.jitter(), 0.0);
    }

    // Printed by the numpy snippet in `gp_known_posterior_three_points`.
    const REF_MEAN: f64 = 2.6405936631784663;
    const REF_VAR: f64 = 0.11239100358276873;
    const REF_LML: f64 = -4.891665990718749;

    #[test]
    fn gp_rejects_bad_input_and_handles_degenerate_data() {
        let h = Hyper {
            lengthscales: vec![0.5],
            outputscale: 1.0,
            noise: 1e-6,
        };
        assert_eq!(
            Gp::with_hyperparameters(&[], &[], h.clone()).unwrap_err(),
            GpError::Empty
        );
        assert!(matches!(
            Gp::with_hyperparameters(&[vec![0.1], vec![0.2, 0.3]], &[1.0, 2.0], h.clone()),
            Err(GpError::Shape(_))
        ));
        assert_eq!(
            Gp::with_hyperparameters(&[vec![f64::NAN]], &[1.0], h.clone()).unwrap_err(),
            GpError::NonFinite
        );
        // Duplicated inputs with zero noise are singular: jitter rescues them.
        let dup = Hyper {
            noise: 0.0,
            ..h.clone()
        };
        let gp = Gp::with_hyperparameters(&[vec![0.3], vec![0.3]], &[1.0, 2.0], dup).unwrap();
        assert!(gp.jitter() > 0.0);
        let (m, _) = gp.predict(&[0.3]);
        assert!((m - 1.5).abs() < 1e-3);
        // One point / constant targets: std falls back to 1.
        let mut rng = Stream::root("gp-degenerate");
        let gp = Gp::fit(&[vec![0.5]], &[3.0], &GpConfig::default(), &mut rng).unwrap();
        assert!((gp.predict(&[0.5]).0 - 3.0).abs() < 1e-6);
        let gp = Gp::fit(
            &[vec![0.1], vec![0.9]],
            &[2.0, 2.0],
            &GpConfig::default(),
            &mut rng,
        )
        .unwrap();
        assert!((gp.predict(&[0.5]).0 - 2.0).abs() < 1e-12);
    }

    #[test]
    fn gp_batch_matches_single_and_isotropic_fit() {
        let mut rng = Stream::root("gp-batch");
        let x = random_points(30, 4, &mut rng);
        let y: Vec<f64> = x.iter().map(|p| p.iter().map(|v| v * v).sum()).collect();
        let cfg = GpConfig {
            ard: false,
            fit_noise: false,
            noise: 1e-6,
            restarts: 1,
            ..GpConfig::default()
        };
        let gp = Gp::fit(&x, &y, &cfg, &mut rng).unwrap();
        let ls = &gp.hyper().lengthscales;
        assert!(ls.iter().all(|l| *l == ls[0]) && gp.hyper().noise == 1e-6);
        let qs = random_points(11, 4, &mut rng);
        let (ms, vs) = gp.predict_batch(&qs);
        for (i, q) in qs.iter().enumerate() {
            let (m, v) = gp.predict(q);
            assert!((ms[i] - m).abs() < 1e-12 && (vs[i] - v).abs() < 1e-12);
        }
    }
}

#[cfg(test)]
mod blocked_tests {
    use super::*;

    /// The blocked Cholesky, inverse and `K^-1` agree with `K K^-1 = I` at
    /// sizes that exercise full 4-row blocks and the ragged last block.
    /// The per-point variance bound holds at training points, near them and
    /// far away, and the means are `predict_mean_batch`'s bits.
    #[test]
    fn gp_variance_bound_holds() {
        let mut rng = Stream::root("gp-vb");
        let x: Vec<Vec<f64>> = (0..60)
            .map(|_| (0..4).map(|_| rng.uniform()).collect())
            .collect();
        let y: Vec<f64> = x.iter().map(|p| (4.0 * p[0]).sin() + p[1] * p[3]).collect();
        for cfg in [GpConfig::default(), GpConfig::sklearn(0.01)] {
            let gp = Gp::fit(&x, &y, &cfg, &mut rng).unwrap();
            let mut q: Vec<Vec<f64>> = x.clone();
            for p in &x {
                q.push(p.iter().map(|v| v + 1e-3 * rng.normal()).collect());
                q.push((0..4).map(|_| 3.0 * rng.uniform() - 1.0).collect());
            }
            let (m, v) = gp.predict_batch(&q);
            let (mb, vb) = gp.predict_mean_batch_with_var_bound(&q);
            let bits = |a: &[f64]| a.iter().map(|v| v.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&mb), bits(&gp.predict_mean_batch(&q)));
            assert_eq!(bits(&mb), bits(&m));
            for (i, (a, b)) in v.iter().zip(&vb).enumerate() {
                assert!(
                    a <= b && *b <= gp.max_variance() * (1.0 + 1e-8),
                    "{i}: {a} > {b}"
                );
            }
            // Tighter than the prior variance at the training points.
            assert!(vb[..x.len()].iter().all(|b| *b < 0.5 * gp.max_variance()));
        }
    }

    /// scikit-learn's settings fit raw targets with the noise held fixed:
    /// the mean stays in the data, and the fit moves off its start.
    #[test]
    fn gp_sklearn_config_fits_raw_targets() {
        let x: Vec<Vec<f64>> = (0..25).map(|i| vec![i as f64 / 24.0]).collect();
        let y: Vec<f64> = x.iter().map(|p| 20.0 + 3.0 * (6.0 * p[0]).sin()).collect();
        let gp = Gp::fit(&x, &y, &GpConfig::sklearn(0.01), &mut Stream::root("sk")).unwrap();
        assert_eq!(gp.y_standardisation(), (0.0, 1.0));
        assert_eq!(gp.hyper().noise, 0.01);
        assert!(gp.hyper().outputscale > 10.0, "{:?}", gp.hyper());
        let (m, _) = gp.predict(&[0.5]);
        assert!((m - (20.0 + 3.0 * 3.0f64.sin())).abs() < 0.05, "{m}");
    }

    /// The AVX2 copies of the kernels (`crate::simd`) give the same bits as
    /// the baseline ones, on sizes that exercise every tail of the tiles.
    #[test]
    fn gp_simd_copies_agree_bit_for_bit() {
        for n in [5usize, 23, 38, 61] {
            let mut rng = Stream::root("gp-simd").child_n("n", n as u64);
            let mut pts = |m: usize| -> Vec<Vec<f64>> {
                (0..m)
                    .map(|_| (0..3).map(|_| rng.uniform()).collect())
                    .collect()
            };
            let x = pts(n);
            let q = pts(9);
            let y: Vec<f64> = x.iter().map(|p| (3.0 * p[0]).sin() + p[1] * p[2]).collect();
            let run = |wide: bool| {
                crate::simd::set_enabled(wide);
                let gp = Gp::fit(&x, &y, &GpConfig::default(), &mut Stream::root("fit")).unwrap();
                let (m, v) = gp.predict_batch(&q);
                let mut bits: Vec<u64> = gp
                    .hyper()
                    .lengthscales
                    .iter()
                    .map(|v| v.to_bits())
                    .collect();
                bits.push(gp.log_marginal_likelihood().to_bits());
                bits.extend(m.iter().chain(&v).map(|v| v.to_bits()));
                bits
            };
            let (narrow, wide) = (run(false), run(true));
            crate::simd::set_enabled(true);
            assert_eq!(narrow, wide, "n = {n}");
        }
    }

    /// `n` training points in the unit cube (3-d) with a smooth response,
    /// and `q` query points.
    #[allow(clippy::type_complexity)]
    fn toy_data(label: &str, n: usize, q: usize) -> (Vec<Vec<f64>>, Vec<f64>, Vec<Vec<f64>>) {
        let mut rng = Stream::root(label);
        let mut pts = |m: usize| -> Vec<Vec<f64>> {
            (0..m)
                .map(|_| (0..3).map(|_| rng.uniform()).collect())
                .collect()
        };
        let (x, qs) = (pts(n), pts(q));
        let y = x.iter().map(|p| (3.0 * p[0]).sin() + p[1] * p[2]).collect();
        (x, y, qs)
    }

    /// Extending a GP by rows gives the bits of conditioning afresh.
    #[test]
    fn extending_matches_conditioning_afresh() {
        let (x, y, qs) = toy_data("gp-extend", 61, 20);
        let gp = Gp::fit(
            &x[..30],
            &y[..30],
            &GpConfig::default(),
            &mut Stream::root("fit"),
        )
        .unwrap();
        let h = gp.hyper().clone();
        let bits = |g: &Gp| -> Vec<u64> {
            let (m, v) = g.predict_batch(&qs);
            let mut b: Vec<u64> = m
                .iter()
                .chain(&v)
                .chain(&g.alpha)
                .map(|v| v.to_bits())
                .collect();
            b.extend(g.linv.iter().chain(g.chol.iter()).map(|v| v.to_bits()));
            b.push(g.lml.to_bits());
            b
        };
        for wide in [false, true] {
            crate::simd::set_enabled(wide);
            for (m, n) in [
                (30, 30),
                (30, 31),
                (30, 35),
                (32, 33),
                (29, 61),
                (1, 9),
                (8, 12),
            ] {
                let prev = Gp::with_hyperparameters(&x[..m], &y[..m], h.clone()).unwrap();
                let fresh = Gp::with_hyperparameters(&x[..n], &y[..n], h.clone()).unwrap();
                let ext = Gp::with_hyperparameters_extending(
                    &x[..n],
                    &y[..n],
                    h.clone(),
                    true,
                    Some(&prev),
                )
                .unwrap();
                assert_eq!(bits(&ext), bits(&fresh), "{m} -> {n}, wide {wide}");
                let data = check_data(&x[..n], &y[..n], false, true).unwrap();
                assert!(
                    Gp::condition_extending(&data, &prev.hyper, &prev).is_some(),
                    "{m} -> {n} extends"
                );
            }
            // Other hyperparameters or other rows: conditioned afresh.
            let prev = Gp::with_hyperparameters(&x[..30], &y[..30], h.clone()).unwrap();
            let mut h2 = h.clone();
            h2.outputscale *= 1.5;
            let fresh = Gp::with_hyperparameters(&x[..40], &y[..40], h2.clone()).unwrap();
            let ext = Gp::with_hyperparameters_extending(&x[..40], &y[..40], h2, true, Some(&prev))
                .unwrap();
            assert_eq!(bits(&ext), bits(&fresh));
            let fresh = Gp::with_hyperparameters(&x[1..41], &y[1..41], h.clone()).unwrap();
            let ext = Gp::with_hyperparameters_extending(
                &x[1..41],
                &y[1..41],
                h.clone(),
                true,
                Some(&prev),
            )
            .unwrap();
            assert_eq!(bits(&ext), bits(&fresh));
        }
        crate::simd::set_enabled(true);
    }

    #[test]
    fn predict_batch_matches_the_unblocked_loop() {
        for (n, q) in [
            (1usize, 3usize),
            (3, 70),
            (4, 8),
            (9, 64),
            (23, 129),
            (61, 200),
        ] {
            let (x, y, qs) = toy_data(&format!("gp-predict-blocked-{n}"), n, q);
            let gp = Gp::fit(&x, &y, &GpConfig::default(), &mut Stream::root("fit")).unwrap();
            let bits = |(m, v): (Vec<f64>, Vec<f64>)| -> Vec<u64> {
                m.iter().chain(&v).map(|v| v.to_bits()).collect()
            };
            let want = bits(predict_batch_unblocked(&gp, &qs));
            for wide in [false, true] {
                crate::simd::set_enabled(wide);
                assert_eq!(
                    bits(gp.predict_batch(&qs)),
                    want,
                    "n = {n}, q = {q}, wide {wide}"
                );
            }
            crate::simd::set_enabled(true);
        }
    }

    /// The variance loop before blocking (one point at a time against each
    /// row of `L^-1`): the reference the blocked one must match bit for bit.
    fn predict_batch_unblocked(gp: &Gp, xs: &[Vec<f64>]) -> (Vec<f64>, Vec<f64>) {
        const B: usize = 8;
        let n = gp.n;
        let s = gp.hyper.outputscale;
        let mut means = Vec::with_capacity(xs.len());
        let mut vars = Vec::with_capacity(xs.len());
        // Kernel rows of B query points, interleaved (`kt[i * B + p]`), so the
        // product with a row of L^-1 is a broadcast-multiply-add over B
        // independent lanes: vectorises without reassociating any sum, and
        // each L^-1 entry is loaded once per B points.
        let mut kt = vec![0.0; n * B];
        let mut row = vec![0.0; n];
        for chunk in xs.chunks(B) {
            for (p, x) in chunk.iter().enumerate() {
                gp.cross(x, &mut row, None);
                means.push(gp.y_mean + gp.y_std * dot(&row, &gp.alpha));
                for (i, v) in row.iter().enumerate() {
                    kt[i * B + p] = *v;
                }
            }
            let mut quad = [0.0f64; B];
            for i in 0..n {
                let li = &gp.linv[i * n..i * n + i + 1];
                let mut acc = [0.0f64; B];
                for (a, b) in li.iter().zip(kt.chunks_exact(B)) {
                    let b: &[f64; B] = b.try_into().expect("chunk of B");
                    for p in 0..B {
                        acc[p] += a * b[p];
                    }
                }
                for p in 0..B {
                    quad[p] += acc[p] * acc[p];
                }
            }
            for q in &quad[..chunk.len()] {
                vars.push(gp.y_std * gp.y_std * (s - q).max(0.0));
            }
        }
        (means, vars)
    }

    #[test]
    fn gp_blocked_factorisations_invert_k() {
        let mut rng = Stream::root("gp-blocked");
        for n in [1, 3, 4, 9, 22] {
            let d = 2;
            let x: Vec<Vec<f64>> = (0..n)
                .map(|_| (0..d).map(|_| rng.uniform()).collect())
                .collect();
            let y = vec![0.0; n];
            let data = check_data(&x, &y, false, true).unwrap();
            let mut w = Work::new(n, d);
            scaled_transpose(&data, &[4.0, 9.0], &mut w.xt);
            kernel_rows_into(n, &w.xt, 1.3, false, &mut w.kf, &mut w.qf, 0);
            let (alpha, _, jitter) =
                factorize_into(&w.kf, n, 1e-3, &data.z, &mut w.chol, &mut w.linv, &mut w.pk)
                    .unwrap();
            assert_eq!(jitter, 0.0);
            assert!(alpha.iter().all(|a| *a == 0.0));
            kinv_from_linv(&w.pk, n, &mut w.kinv);
            let full = |m: &[f64], i: usize, j: usize| {
                if j <= i {
                    m[i * n + j]
                } else {
                    m[j * n + i]
                }
            };
            for i in 0..n {
                for j in 0..n {
                    let kij =
                        |a: usize, b: usize| full(&w.kf, a, b) + if a == b { 1e-3 } else { 0.0 };
                    let p: f64 = (0..n).map(|k| kij(i, k) * full(&w.kinv, k, j)).sum();
                    let e = if i == j { 1.0 } else { 0.0 };
                    assert!((p - e).abs() < 1e-8, "n={n} ({i},{j}): {p}");
                }
            }
        }
    }

    #[test]
    fn gp_warm_start_reaches_the_cold_optimum() {
        let mut rng = Stream::root("gp-warm");
        let x: Vec<Vec<f64>> = (0..60)
            .map(|_| (0..3).map(|_| rng.uniform()).collect())
            .collect();
        let f = |p: &[f64]| (4.0 * p[0]).sin() + p[1] * p[2];
        let y: Vec<f64> = x.iter().map(|p| f(p)).collect();
        for ard in [true, false] {
            let cfg = GpConfig {
                ard,
                fit_noise: ard,
                noise: 0.01,
                ..GpConfig::default()
            };
            let cold = Gp::fit(&x[..59], &y[..59], &cfg, &mut rng).unwrap();
            let warm_cfg = cfg.warm(cold.hyper().clone(), 30);
            assert_eq!((warm_cfg.restarts, warm_cfg.max_iters), (0, 30));
            let warm = Gp::fit(&x, &y, &warm_cfg, &mut rng).unwrap();
            let cold_all = Gp::fit(&x, &y, &cfg, &mut rng).unwrap();
            assert!(
                warm.log_marginal_likelihood() >= cold_all.log_marginal_likelihood() - 0.05,
                "ard={ard}: warm {} vs cold {}",
                warm.log_marginal_likelihood(),
                cold_all.log_marginal_likelihood()
            );
            if !ard {
                let ls = &warm.hyper().lengthscales;
                assert!(ls.iter().all(|l| *l == ls[0]) && warm.hyper().noise == 0.01);
            }
        }
        // A malformed warm start is refused, not silently ignored.
        let bad = GpConfig::default().warm(
            Hyper {
                lengthscales: vec![0.5, 0.5],
                outputscale: 1.0,
                noise: 0.01,
            },
            10,
        );
        assert!(matches!(
            Gp::fit(&x, &y, &bad, &mut rng),
            Err(GpError::InvalidHyper(_))
        ));
    }
}

#[cfg(test)]
mod timing {
    use super::*;
    use std::time::Instant;

    /// `cargo test --release -p searchkit gp_timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release"]
    fn gp_timing() {
        let mut rng = Stream::root("gp-timing");
        let (n, d) = (300, 20);
        let x: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..d).map(|_| rng.uniform()).collect())
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|p| {
                p.iter()
                    .enumerate()
                    .map(|(i, v)| (v * (i + 1) as f64).sin())
                    .sum()
            })
            .collect();
        let t = Instant::now();
        let gp = Gp::fit(&x, &y, &GpConfig::default(), &mut rng).unwrap();
        eprintln!("fit n={n} d={d} (1+2 starts): {:?}", t.elapsed());
        let qs: Vec<Vec<f64>> = (0..10_000)
            .map(|_| (0..d).map(|_| rng.uniform()).collect())
            .collect();
        let t = Instant::now();
        let (m, v) = gp.predict_batch(&qs);
        eprintln!("predict_batch 10k: {:?}", t.elapsed());
        let t = Instant::now();
        let mut acc = 0.0;
        for q in &qs[..1000] {
            acc += gp.predict_with_grad(q).1;
        }
        eprintln!("predict_with_grad x1000: {:?} ({acc:.3})", t.elapsed());
        assert_eq!(m.len() + v.len(), 20_000);
    }

    /// `GP_TIMING_N` (default 1,000) points in 20-d with a smooth target,
    /// and the stream that drew them.
    pub(super) fn timing_problem() -> (usize, usize, Vec<Vec<f64>>, Vec<f64>, Stream) {
        let n: usize = std::env::var("GP_TIMING_N")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1000);
        let d = 20;
        let mut rng = Stream::root("gp-fit-timing");
        let x: Vec<Vec<f64>> = (0..n)
            .map(|_| (0..d).map(|_| rng.uniform()).collect())
            .collect();
        let y: Vec<f64> = x
            .iter()
            .map(|p| {
                p.iter()
                    .enumerate()
                    .map(|(i, v)| (v * (i + 1) as f64).sin())
                    .sum()
            })
            .collect();
        (n, d, x, y, rng)
    }

    /// Fit cost at LA-MCTS/BO scale (`GP_TIMING_N`, default 1000, d = 20):
    /// one LML+gradient evaluation, the default ARD fit and an isotropic
    /// single-start fit.
    /// `cargo test --release -p searchkit gp_fit_timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release"]
    fn gp_fit_timing() {
        let (n, d, x, y, mut rng) = timing_problem();
        let data = check_data(&x, &y, false, true).unwrap();
        let layout = Layout {
            d,
            ard: true,
            fit_noise: true,
            fixed_noise: 0.005,
        };
        let theta = vec![0.5f64.ln(); layout.len()];
        let mut g = vec![0.0; theta.len()];
        let mut work = Work::new(n, d);
        let t = Instant::now();
        let reps = 3;
        for _ in 0..reps {
            nlml_and_grad(&data, &layout, &theta, &mut g, &mut work);
        }
        eprintln!("n={n} d={d}: one LML+grad {:?}", t.elapsed() / reps);
        let t = Instant::now();
        let gp = Gp::fit(&x, &y, &GpConfig::default(), &mut rng).unwrap();
        eprintln!("default ARD fit (1+2 starts x 100): {:?}", t.elapsed());
        let iso = GpConfig {
            ard: false,
            fit_noise: false,
            noise: 0.01,
            restarts: 0,
            ..GpConfig::default()
        };
        let t = Instant::now();
        let gp_iso = Gp::fit(&x, &y, &iso, &mut rng).unwrap();
        eprintln!(
            "isotropic fixed-noise fit (1 start x 100): {:?}",
            t.elapsed()
        );
        // Refit after one more point, warm-started from the last fit.
        let (mut x2, mut y2) = (x.clone(), y.clone());
        x2.push(vec![0.5; d]);
        y2.push(1.0);
        for (name, cfg, prev) in [
            ("ARD", GpConfig::default(), &gp),
            ("isotropic", iso.clone(), &gp_iso),
        ] {
            let t = Instant::now();
            let warm = cfg.warm(prev.hyper().clone(), 25);
            let g2 = Gp::fit(&x2, &y2, &warm, &mut rng).unwrap();
            eprintln!(
                "{name} warm refit (1 start x <=25): {:?} (LML {:.2} vs cold {:.2})",
                t.elapsed(),
                g2.log_marginal_likelihood(),
                prev.log_marginal_likelihood()
            );
        }
        std::hint::black_box((gp, gp_iso));
    }
}

#[cfg(test)]
mod kernel_timing {
    use super::*;

    fn hash(v: &[f64]) -> u64 {
        v.iter().fold(0xcbf29ce484222325u64, |h, x| {
            (h ^ x.to_bits()).wrapping_mul(0x100000001b3)
        })
    }

    /// Per-kernel cost and a bit hash of each output (the hashes must not
    /// change when the kernels are rewritten).
    /// `GP_TIMING_N=1000 cargo test --release -p searchkit gp_kernel_timing -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release"]
    fn gp_kernel_timing() {
        let (n, d, x, y, _) = super::timing::timing_problem();
        let data = check_data(&x, &y, false, true).unwrap();
        let layout = Layout {
            d,
            ard: true,
            fit_noise: true,
            fixed_noise: 0.005,
        };
        let theta = vec![0.5f64.ln(); layout.len()];
        let mut w = Work::new(n, d);
        let hyp = layout.hyper(&theta);
        let inv_ls2: Vec<f64> = hyp.lengthscales.iter().map(|l| 1.0 / (l * l)).collect();
        // Best of 5 (the build machine is shared).
        // Thread CPU time (ns, Linux), best of 5: the machine is shared.
        let cpu = || -> u64 {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        let best = |f: &mut dyn FnMut()| {
            (0..5)
                .map(|_| {
                    let t = cpu();
                    f();
                    std::time::Duration::from_nanos(cpu() - t)
                })
                .min()
                .unwrap()
        };
        for wide in [false, true] {
            crate::simd::set_enabled(wide);
            eprintln!("n={n}, AVX2 copies {}", crate::simd::enabled());
            let t = best(&mut || {
                scaled_transpose(&data, &inv_ls2, &mut w.xt);
                kernel_rows_into(n, &w.xt, hyp.outputscale, false, &mut w.kf, &mut w.qf, 0);
            });
            eprintln!("kernel      {t:?} {:x}", hash(&w.kf));
            let t = best(&mut || {
                w.chol.copy_from_slice(&w.kf);
                for i in 0..n {
                    w.chol[i * n + i] += hyp.noise;
                }
                assert!(cholesky_in_place(&mut w.chol, n));
            });
            eprintln!("cholesky    {t:?} {:x}", hash(&w.chol));
            let t = best(&mut || lower_inverse_into(&w.chol, n, &mut w.linv, &mut w.pk));
            eprintln!("lower_inv   {t:?} {:x}", hash(&w.linv));
            let t = best(&mut || kinv_from_linv(&w.pk, n, &mut w.kinv));
            eprintln!("kinv        {t:?} {:x}", hash(&w.kinv));
            let mut g = vec![0.0; layout.len() + 1];
            let t = best(&mut || {
                let f = nlml_and_grad(&data, &layout, &theta, &mut g, &mut w);
                g[layout.len()] = f;
            });
            eprintln!("nlml+grad   {t:?} {:x}", hash(&g));
            // 10,000 candidates, as LA-MCTS-BO ranks per iteration.
            let gp = Gp::with_hyperparameters(&x, &y, hyp.clone()).unwrap();
            let mut rng = Stream::root("gp-kernel-timing-cands");
            let qs: Vec<Vec<f64>> = (0..10_000)
                .map(|_| (0..d).map(|_| rng.uniform()).collect())
                .collect();
            let mut mv = (Vec::new(), Vec::new());
            let t = best(&mut || mv = gp.predict_batch(&qs));
            eprintln!("predict10k  {t:?} {:x} {:x}", hash(&mv.0), hash(&mv.1));
        }
        crate::simd::set_enabled(true);
    }
}
