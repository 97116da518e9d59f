//! Small dense linear algebra (symmetric eigendecomposition, Cholesky) without
//! a system BLAS.
//!
//! Matrices are row-major `Vec<Vec<f64>>` (or slices of rows). The sizes in this
//! workspace are small (CMA-ES covariances up to a few hundred dimensions, GP
//! kernels up to a few thousand points), so plain `O(n^3)` loops suffice and
//! keep every result bit-reproducible across platforms.

/// Eigendecomposition of a symmetric matrix by cyclic Jacobi rotations.
///
/// Returns `(w, v)` with eigenvalues `w` in ascending order and eigenvectors as
/// the **columns** of `v` (`v[i][k]` is component `i` of eigenvector `k`), so
/// that `a = v diag(w) v^T`. Only the symmetric part `(a + a^T) / 2` is used.
/// Jacobi is slower than tridiagonal QR but simple, very accurate (small
/// eigenvalues get small relative error) and yields orthogonal `v` to rounding.
pub fn symmetric_eigen(a: &[Vec<f64>]) -> (Vec<f64>, Vec<Vec<f64>>) {
    let n = a.len();
    assert!(
        a.iter().all(|r| r.len() == n),
        "symmetric_eigen needs a square matrix"
    );
    let mut m: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| 0.5 * (a[i][j] + a[j][i])).collect())
        .collect();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if i == j { 1.0 } else { 0.0 }).collect())
        .collect();

    let total: f64 = m.iter().flatten().map(|x| x * x).sum();
    // Stop once the off-diagonal mass is negligible relative to the whole
    // matrix; the sweep cap only guards against pathological input (NaN).
    let tol = (f64::EPSILON * f64::EPSILON) * total;
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i][j] * m[i][j])
            .sum();
        if off <= tol || off == 0.0 || !off.is_finite() {
            break;
        }
        for p in 0..n {
            for q in (p + 1)..n {
                let apq = m[p][q];
                if apq == 0.0 {
                    continue;
                }
                // Rotation angle zeroing m[p][q]: t = tan(phi) is the smaller
                // root of t^2 + 2 t theta - 1 = 0 (stable for any theta).
                let theta = (m[q][q] - m[p][p]) / (2.0 * apq);
                let t = if theta.abs() > 1e150 {
                    0.5 / theta
                } else {
                    theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt())
                };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                // m <- J^T m J with J = [[c, s], [-s, c]] on rows/cols (p, q).
                for row in m.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
                for k in 0..n {
                    let (pk, qk) = (m[p][k], m[q][k]);
                    m[p][k] = c * pk - s * qk;
                    m[q][k] = s * pk + c * qk;
                }
                m[p][q] = 0.0;
                m[q][p] = 0.0;
                for row in v.iter_mut() {
                    let (kp, kq) = (row[p], row[q]);
                    row[p] = c * kp - s * kq;
                    row[q] = s * kp + c * kq;
                }
            }
        }
    }

    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[i][i].total_cmp(&m[j][j]));
    let w = order.iter().map(|&k| m[k][k]).collect();
    let vs = (0..n)
        .map(|i| order.iter().map(|&k| v[i][k]).collect())
        .collect();
    (w, vs)
}

/// Cholesky factor of a symmetric positive-definite matrix: the lower
/// triangular `l` with `a = l l^T`, or `None` if `a` is not (numerically)
/// positive definite. Only the lower triangle of `a` is read.
pub fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    assert!(
        a.iter().all(|r| r.len() == n),
        "cholesky needs a square matrix"
    );
    let mut l = vec![vec![0.0; n]; n];
    for j in 0..n {
        let mut d = a[j][j];
        for k in 0..j {
            d -= l[j][k] * l[j][k];
        }
        if d.is_nan() || d <= 0.0 || d.is_infinite() {
            return None;
        }
        let djj = d.sqrt();
        l[j][j] = djj;
        for i in (j + 1)..n {
            let mut s = a[i][j];
            for k in 0..j {
                s -= l[i][k] * l[j][k];
            }
            l[i][j] = s / djj;
        }
    }
    Some(l)
}

/// Solve `l y = b` for lower-triangular `l` (forward substitution).
pub fn solve_lower(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    let n = l.len();
    assert_eq!(b.len(), n, "solve_lower: size mismatch");
    let mut y = vec![0.0; n];
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i][k] * y[k];
        }
        y[i] = s / l[i][i];
    }
    y
}

/// Solve `l^T x = y` for lower-triangular `l` (back substitution on the
/// transpose, without forming it).
pub fn solve_lower_transpose(l: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    let n = l.len();
    assert_eq!(y.len(), n, "solve_lower_transpose: size mismatch");
    let mut x = vec![0.0; n];
    for i in (0..n).rev() {
        let mut s = y[i];
        for k in (i + 1)..n {
            s -= l[k][i] * x[k];
        }
        x[i] = s / l[i][i];
    }
    x
}

/// Solve `a x = b` given the Cholesky factor `l` of `a` (from [`cholesky`]).
pub fn cholesky_solve(l: &[Vec<f64>], b: &[f64]) -> Vec<f64> {
    solve_lower_transpose(l, &solve_lower(l, b))
}

/// `log det(a)` from the Cholesky factor `l` of `a` (as GP marginal
/// likelihoods need it).
pub fn cholesky_log_det(l: &[Vec<f64>]) -> f64 {
    2.0 * l.iter().enumerate().map(|(i, r)| r[i].ln()).sum::<f64>()
}

/// Matrix-vector product `a x`.
pub fn mat_vec(a: &[Vec<f64>], x: &[f64]) -> Vec<f64> {
    a.iter()
        .map(|r| r.iter().zip(x).map(|(a, b)| a * b).sum())
        .collect()
}

/// Transposed matrix-vector product `a^T x`.
pub fn mat_t_vec(a: &[Vec<f64>], x: &[f64]) -> Vec<f64> {
    let cols = a.first().map_or(0, Vec::len);
    let mut out = vec![0.0; cols];
    for (r, xi) in a.iter().zip(x) {
        for (o, v) in out.iter_mut().zip(r) {
            *o += v * xi;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Stream;

    fn random_symmetric(n: usize, rng: &mut Stream) -> Vec<Vec<f64>> {
        let mut a = vec![vec![0.0; n]; n];
        for i in 0..n {
            for j in 0..=i {
                let v = rng.normal();
                a[i][j] = v;
                a[j][i] = v;
            }
        }
        a
    }

    fn max_abs_diff(a: &[Vec<f64>], b: &[Vec<f64>]) -> f64 {
        a.iter()
            .flatten()
            .zip(b.iter().flatten())
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max)
    }

    #[test]
    fn jacobi_reconstructs_random_symmetric() {
        let mut rng = Stream::root("linalg-eigen");
        for n in [1, 2, 3, 7, 20, 40] {
            let a = random_symmetric(n, &mut rng);
            let (w, v) = symmetric_eigen(&a);
            assert!(w.windows(2).all(|p| p[0] <= p[1]), "ascending");
            let rec: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| (0..n).map(|k| v[i][k] * w[k] * v[j][k]).sum())
                        .collect()
                })
                .collect();
            assert!(max_abs_diff(&a, &rec) < 1e-10, "n={n}");
            let vtv: Vec<Vec<f64>> = (0..n)
                .map(|i| {
                    (0..n)
                        .map(|j| (0..n).map(|k| v[k][i] * v[k][j]).sum())
                        .collect()
                })
                .collect();
            let eye: Vec<Vec<f64>> = (0..n)
                .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
                .collect();
            assert!(max_abs_diff(&vtv, &eye) < 1e-12, "orthogonal n={n}");
        }
    }

    #[test]
    fn jacobi_known_spectrum() {
        let a = vec![vec![2.0, 1.0], vec![1.0, 2.0]];
        let (w, v) = symmetric_eigen(&a);
        assert!((w[0] - 1.0).abs() < 1e-14 && (w[1] - 3.0).abs() < 1e-14);
        assert!((v[0][1].abs() - 0.5f64.sqrt()).abs() < 1e-14);
    }

    #[test]
    fn cholesky_solves_spd_system() {
        let mut rng = Stream::root("linalg-chol");
        let n = 12;
        let g = random_symmetric(n, &mut rng);
        // a = g g^T + n I is symmetric positive definite.
        let a: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        (0..n).map(|k| g[i][k] * g[j][k]).sum::<f64>()
                            + if i == j { n as f64 } else { 0.0 }
                    })
                    .collect()
            })
            .collect();
        let l = cholesky(&a).expect("SPD");
        let llt: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| (0..n).map(|k| l[i][k] * l[j][k]).sum())
                    .collect()
            })
            .collect();
        assert!(max_abs_diff(&a, &llt) < 1e-10);
        let x_true: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let b = mat_vec(&a, &x_true);
        let x = cholesky_solve(&l, &b);
        for (u, v) in x.iter().zip(&x_true) {
            assert!((u - v).abs() < 1e-10);
        }
        // log det agrees with the eigenvalues.
        let (w, _) = symmetric_eigen(&a);
        let ld: f64 = w.iter().map(|v| v.ln()).sum();
        assert!((cholesky_log_det(&l) - ld).abs() < 1e-9);
        let bt = mat_t_vec(&a, &x_true);
        assert!(bt.iter().zip(&b).all(|(u, v)| (u - v).abs() < 1e-12));
    }

    #[test]
    fn cholesky_rejects_indefinite() {
        assert!(cholesky(&[vec![1.0, 2.0], vec![2.0, 1.0]]).is_none());
        assert!(cholesky(&[vec![0.0]]).is_none());
    }
}
