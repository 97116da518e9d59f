//! Quasi-random points in the unit cube: Owen-scrambled Sobol sequences.
//!
//! LA-MCTS and TuRBO draw their candidate sets with PyTorch's
//! `SobolEngine(dim, scramble=True, seed=np.random.randint(1e6))`
//! (facebookresearch/LaMCTS, `LA-MCTS/lamcts/Classifier.py`,
//! `propose_rand_samples_sobol`; `turbo_1.py`, `_create_candidates`). Here the
//! points come from the `sobol_burley` crate (Burley's hash-based Owen
//! scrambling of the Joe–Kuo Sobol directions), which is seedable, has no
//! dependencies and needs no state. The scramble differs from PyTorch's
//! (linear matrix scrambling plus digital shift), so the points differ; both
//! are randomised Sobol nets with the same stratification.
//!
//! **Limits.** `sobol_burley` provides 256 dimensions and `2^16` points per
//! seed, in `f32` (24-bit) precision:
//! - more than [`MAX_SOBOL_POINTS`] points are drawn as consecutive blocks of
//!   `2^16`, each block a full scrambled net under its own derived seed;
//! - **above [`MAX_SOBOL_DIM`] dimensions [`sobol`] falls back to independent
//!   uniform random points** (from a ChaCha stream keyed by the seed). The
//!   searches of this workspace stay far below 256 dimensions.

use rand::RngCore;

use crate::rng::Stream;

/// Largest dimension served by the Sobol sequence; above it [`sobol`]
/// returns uniform random points.
pub const MAX_SOBOL_DIM: usize = sobol_burley::NUM_DIMENSIONS as usize;

/// Points per seed of the underlying sequence; longer requests use several
/// derived seeds.
pub const MAX_SOBOL_POINTS: usize = 1 << 16;

/// `n` points of an Owen-scrambled Sobol sequence in `[0, 1)^d`, fixed by
/// `seed` (different seeds give statistically independent sequences).
///
/// For `d > 256` the points are uniform random instead (see the module docs).
pub fn sobol(n: usize, d: usize, seed: u32) -> Vec<Vec<f64>> {
    if d > MAX_SOBOL_DIM {
        let mut rng = Stream::root(&format!("searchkit::qmc::uniform/{seed}"));
        return (0..n)
            .map(|_| (0..d).map(|_| rng.uniform()).collect())
            .collect();
    }
    let sets = d.div_ceil(4) as u32;
    (0..n)
        .map(|i| {
            let block = (i / MAX_SOBOL_POINTS) as u32;
            let index = (i % MAX_SOBOL_POINTS) as u32;
            // Block 0 uses `seed` itself; later blocks a hashed variant, so
            // each block is an independent full net.
            let s = if block == 0 {
                seed
            } else {
                seed ^ block.wrapping_mul(0x9E37_79B9).rotate_left(16)
            };
            let mut x = Vec::with_capacity(d);
            for set in 0..sets {
                let v = sobol_burley::sample_4d(index, set, s);
                for c in v {
                    if x.len() < d {
                        x.push(f64::from(c));
                    }
                }
            }
            x
        })
        .collect()
}

/// [`sobol`] with a seed drawn from `stream` (one `u32`), so that every
/// draw of a run is fixed by the run's stream.
pub fn sobol_from(stream: &mut Stream, n: usize, d: usize) -> Vec<Vec<f64>> {
    let seed = stream.next_u32();
    sobol(n, d, seed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_range_and_determinism() {
        let a = sobol(100, 7, 3);
        assert_eq!(a.len(), 100);
        assert!(a.iter().all(|x| x.len() == 7));
        assert!(a.iter().flatten().all(|v| (0.0..1.0).contains(v)));
        assert_eq!(a, sobol(100, 7, 3));
        assert_ne!(a, sobol(100, 7, 4));
    }

    #[test]
    fn first_power_of_two_is_stratified() {
        // A (t, m, s)-net property every scrambled Sobol set keeps: the first
        // 2^k points put exactly one point in each of 2^k equal slabs of
        // every single coordinate.
        let pts = sobol(64, 5, 11);
        for j in 0..5 {
            let mut hit = [0usize; 64];
            for p in &pts {
                hit[(p[j] * 64.0) as usize] += 1;
            }
            assert!(hit.iter().all(|&h| h == 1), "dimension {j}: {hit:?}");
        }
    }

    #[test]
    fn long_and_wide_requests() {
        let long = sobol(MAX_SOBOL_POINTS + 10, 2, 1);
        assert_eq!(long.len(), MAX_SOBOL_POINTS + 10);
        assert_ne!(long[0], long[MAX_SOBOL_POINTS]);
        let wide = sobol(5, MAX_SOBOL_DIM + 1, 1);
        assert!(wide
            .iter()
            .all(|x| x.len() == MAX_SOBOL_DIM + 1 && x.iter().all(|v| (0.0..1.0).contains(v))));
        let mut s1 = Stream::root("qmc");
        let mut s2 = Stream::root("qmc");
        assert_eq!(sobol_from(&mut s1, 8, 3), sobol_from(&mut s2, 8, 3));
    }
}
