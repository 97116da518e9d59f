//! K-means clustering: Lloyd's algorithm with greedy k-means++ seeding and
//! `n_init` restarts, following scikit-learn's `KMeans(algorithm="lloyd")`.
//!
//! Semantics followed (scikit-learn 1.x):
//! - seeding is *greedy* k-means++: the first centre is a uniform point, each
//!   further centre is the best (lowest resulting inertia) of `2 + ln k`
//!   candidates drawn with probability proportional to D(x)^2;
//! - the tolerance is relative: Lloyd stops when the summed squared centre
//!   shift is `<= tol * mean_j var(X[:, j])`, or when the labels stop changing;
//! - after the last update the labels are recomputed so that `labels`,
//!   `centers` and `inertia` agree;
//! - among restarts the fit with the lowest inertia is kept (first one on ties);
//! - an empty cluster is re-seeded with the point farthest from its current
//!   centre (taken only from clusters holding two or more points).
//!
//! `n_init` defaults to 10, scikit-learn's default before 1.4 (newer versions
//! use `n_init="auto"`, i.e. 1 for k-means++); pass 1 to match those.
//!
//! Degenerate data: if all remaining points coincide with chosen centres
//! (fewer distinct points than `k`), seeding picks uniform points, so two
//! centres may coincide and a cluster may end up empty; nothing panics.

use crate::rng::Stream;

/// K-means settings. Build with [`KMeans::new`] and adjust fields.
#[derive(Clone, Debug, PartialEq)]
pub struct KMeans {
    /// Number of clusters (`>= 1`).
    pub k: usize,
    /// Number of k-means++ restarts; the lowest-inertia fit is kept.
    pub n_init: usize,
    /// Maximum Lloyd iterations per restart.
    pub max_iter: usize,
    /// Relative tolerance on the squared centre shift (see module docs).
    pub tol: f64,
}

/// The result of [`KMeans::fit`].
#[derive(Clone, Debug, PartialEq)]
pub struct KMeansFit {
    /// `k` cluster centres.
    pub centers: Vec<Vec<f64>>,
    /// The cluster of each training point.
    pub labels: Vec<usize>,
    /// Sum of squared distances of the points to their centres.
    pub inertia: f64,
}

impl KMeans {
    /// `k` clusters with `n_init = 10`, `max_iter = 300`, `tol = 1e-4`.
    pub fn new(k: usize) -> Self {
        Self {
            k,
            n_init: 10,
            max_iter: 300,
            tol: 1e-4,
        }
    }

    /// Cluster `x` (rows are points). Draws from `rng` in a fixed order, so
    /// the result is a function of the data and the stream's state.
    ///
    /// Panics if `k == 0`, `x.len() < k`, or the rows differ in length.
    pub fn fit(&self, x: &[Vec<f64>], rng: &mut Stream) -> KMeansFit {
        assert!(self.k >= 1, "KMeans needs k >= 1");
        assert!(
            x.len() >= self.k,
            "KMeans needs at least k = {} points, got {}",
            self.k,
            x.len()
        );
        let d = x[0].len();
        assert!(
            x.iter().all(|r| r.len() == d),
            "KMeans rows differ in length"
        );
        let n = x.len();
        let flat: Vec<f64> = x.iter().flatten().copied().collect();

        // scikit-learn scales tol by the mean per-feature variance.
        let mut var_sum = 0.0;
        for j in 0..d {
            let mean = (0..n).map(|i| flat[i * d + j]).sum::<f64>() / n as f64;
            var_sum += (0..n)
                .map(|i| (flat[i * d + j] - mean).powi(2))
                .sum::<f64>()
                / n as f64;
        }
        let tol_abs = if d > 0 {
            self.tol * var_sum / d as f64
        } else {
            0.0
        };

        let mut best: Option<(Vec<f64>, Vec<usize>, f64)> = None;
        for _ in 0..self.n_init.max(1) {
            let init = kmeans_pp(&flat, n, d, self.k, rng);
            let (c, l, inertia) = lloyd(&flat, n, d, self.k, init, self.max_iter, tol_abs);
            if best.as_ref().is_none_or(|b| inertia < b.2) {
                best = Some((c, l, inertia));
            }
        }
        let (c, labels, inertia) = best.expect("n_init >= 1");
        KMeansFit {
            centers: if d == 0 {
                vec![Vec::new(); self.k]
            } else {
                c.chunks(d).map(<[f64]>::to_vec).collect()
            },
            labels,
            inertia,
        }
    }
}

impl KMeansFit {
    /// The nearest centre of each point (lowest index on ties).
    pub fn predict(&self, x: &[Vec<f64>]) -> Vec<usize> {
        x.iter()
            .map(|p| {
                let mut best = (f64::INFINITY, 0);
                for (c, center) in self.centers.iter().enumerate() {
                    let dist = sq_dist(p, center);
                    if dist < best.0 {
                        best = (dist, c);
                    }
                }
                best.1
            })
            .collect()
    }
}

fn sq_dist(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the first cumulative weight exceeding `r` (clamped to `n - 1`).
fn search_cumulative(w: &[f64], r: f64) -> usize {
    let mut acc = 0.0;
    for (i, v) in w.iter().enumerate() {
        acc += v;
        if acc > r {
            return i;
        }
    }
    // Rounding can leave r just above the total; take the last positive weight.
    w.iter().rposition(|&v| v > 0.0).unwrap_or(w.len() - 1)
}

/// Greedy k-means++ seeding; returns the `k x d` centres, flattened.
fn kmeans_pp(x: &[f64], n: usize, d: usize, k: usize, rng: &mut Stream) -> Vec<f64> {
    let row = |i: usize| &x[i * d..(i + 1) * d];
    let trials = 2 + (k as f64).ln().floor() as usize;
    let mut centers = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centers.extend_from_slice(row(first));
    let mut closest: Vec<f64> = (0..n).map(|i| sq_dist(row(i), row(first))).collect();
    let mut pot: f64 = closest.iter().sum();
    let mut cand_dist = vec![0.0; n];
    let mut best_dist = vec![0.0; n];
    for _ in 1..k {
        let mut best: Option<(usize, f64)> = None;
        for _ in 0..trials {
            // All points sit on centres: any choice is as good; pick uniformly.
            let cand = if pot > 0.0 {
                search_cumulative(&closest, rng.uniform() * pot)
            } else {
                rng.below(n)
            };
            let mut cand_pot = 0.0;
            for i in 0..n {
                cand_dist[i] = closest[i].min(sq_dist(row(i), row(cand)));
                cand_pot += cand_dist[i];
            }
            if best.is_none_or(|b| cand_pot < b.1) {
                best = Some((cand, cand_pot));
                std::mem::swap(&mut best_dist, &mut cand_dist);
            }
        }
        let (c, p) = best.expect("trials >= 2");
        centers.extend_from_slice(row(c));
        std::mem::swap(&mut closest, &mut best_dist);
        pot = p;
    }
    centers
}

/// Assign each point to its nearest centre; returns the inertia.
fn assign(
    x: &[f64],
    n: usize,
    d: usize,
    centers: &[f64],
    labels: &mut [usize],
    dist: &mut [f64],
) -> f64 {
    let k = centers.len() / d.max(1);
    let mut inertia = 0.0;
    for i in 0..n {
        let p = &x[i * d..(i + 1) * d];
        let mut best = (f64::INFINITY, 0);
        for c in 0..k {
            let dc = sq_dist(p, &centers[c * d..(c + 1) * d]);
            if dc < best.0 {
                best = (dc, c);
            }
        }
        labels[i] = best.1;
        dist[i] = best.0;
        inertia += best.0;
    }
    inertia
}

/// Lloyd iterations from `centers`; returns (centres, labels, inertia).
fn lloyd(
    x: &[f64],
    n: usize,
    d: usize,
    k: usize,
    mut centers: Vec<f64>,
    max_iter: usize,
    tol_abs: f64,
) -> (Vec<f64>, Vec<usize>, f64) {
    if d == 0 {
        return (centers, vec![0; n], 0.0);
    }
    let mut labels = vec![0usize; n];
    let mut prev = vec![usize::MAX; n];
    let mut dist = vec![0.0; n];
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    for _ in 0..max_iter {
        assign(x, n, d, &centers, &mut labels, &mut dist);
        if labels == prev {
            // Strict convergence: another update would not move the centres.
            break;
        }
        sums.iter_mut().for_each(|s| *s = 0.0);
        counts.iter_mut().for_each(|c| *c = 0);
        for i in 0..n {
            counts[labels[i]] += 1;
            for j in 0..d {
                sums[labels[i] * d + j] += x[i * d + j];
            }
        }
        relocate_empty(x, d, &mut labels, &dist, &mut sums, &mut counts);
        let mut shift = 0.0;
        for c in 0..k {
            if counts[c] == 0 {
                continue; // only possible when no point can be spared
            }
            for j in 0..d {
                let v = sums[c * d + j] / counts[c] as f64;
                shift += (v - centers[c * d + j]).powi(2);
                centers[c * d + j] = v;
            }
        }
        prev.copy_from_slice(&labels);
        if shift <= tol_abs {
            break;
        }
    }
    // Final E-step so labels and inertia match the returned centres.
    let inertia = assign(x, n, d, &centers, &mut labels, &mut dist);
    (centers, labels, inertia)
}

/// Move the points farthest from their centres into empty clusters, one per
/// empty cluster, never emptying another cluster.
fn relocate_empty(
    x: &[f64],
    d: usize,
    labels: &mut [usize],
    dist: &[f64],
    sums: &mut [f64],
    counts: &mut [usize],
) {
    let empty: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] == 0).collect();
    if empty.is_empty() {
        return;
    }
    let mut order: Vec<usize> = (0..labels.len()).collect();
    // Farthest first; index breaks ties so the order is deterministic.
    order.sort_by(|&a, &b| dist[b].total_cmp(&dist[a]).then(a.cmp(&b)));
    let mut next = order.into_iter();
    for c in empty {
        let Some(i) = next.by_ref().find(|&i| counts[labels[i]] > 1) else {
            return;
        };
        let old = labels[i];
        counts[old] -= 1;
        counts[c] += 1;
        for j in 0..d {
            sums[old * d + j] -= x[i * d + j];
            sums[c * d + j] += x[i * d + j];
        }
        labels[i] = c;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blobs(rng: &mut Stream, per: usize) -> (Vec<Vec<f64>>, Vec<usize>) {
        let means = [[0.0, 0.0], [10.0, 10.0], [-10.0, 10.0]];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (c, m) in means.iter().enumerate() {
            for _ in 0..per {
                x.push(vec![m[0] + rng.normal(), m[1] + rng.normal()]);
                y.push(c);
            }
        }
        (x, y)
    }

    #[test]
    fn recovers_three_blobs() {
        let mut data = Stream::root("kmeans-blobs");
        let (x, truth) = blobs(&mut data, 50);
        let fit = KMeans::new(3).fit(&x, &mut Stream::root("fit"));
        // Agreement up to permutation: each true blob maps to one label, and
        // the three labels are distinct.
        let mut map = [usize::MAX; 3];
        for (l, t) in fit.labels.iter().zip(&truth) {
            if map[*t] == usize::MAX {
                map[*t] = *l;
            }
            assert_eq!(map[*t], *l);
        }
        assert!(map[0] != map[1] && map[1] != map[2] && map[0] != map[2]);
        assert_eq!(fit.predict(&x), fit.labels);
        let direct: f64 = x
            .iter()
            .zip(&fit.labels)
            .map(|(p, &l)| sq_dist(p, &fit.centers[l]))
            .sum();
        assert!((direct - fit.inertia).abs() < 1e-9 * direct.max(1.0));
    }

    #[test]
    fn more_restarts_never_worse() {
        let mut data = Stream::root("kmeans-restarts");
        let x: Vec<Vec<f64>> = (0..200)
            .map(|_| vec![data.uniform(), data.uniform(), data.uniform()])
            .collect();
        for seed in 0..5 {
            let mut one = KMeans::new(5);
            one.n_init = 1;
            let a = one.fit(&x, &mut Stream::root("r").child_n("s", seed));
            let b = KMeans::new(5).fit(&x, &mut Stream::root("r").child_n("s", seed));
            assert!(b.inertia <= a.inertia);
        }
    }

    #[test]
    fn deterministic_for_fixed_stream() {
        let mut data = Stream::root("kmeans-det");
        let (x, _) = blobs(&mut data, 30);
        let a = KMeans::new(4).fit(&x, &mut Stream::root("same"));
        let b = KMeans::new(4).fit(&x, &mut Stream::root("same"));
        assert_eq!(a, b);
    }

    #[test]
    fn duplicates_and_too_few_distinct_points() {
        let x = vec![vec![1.0, 1.0]; 6]
            .into_iter()
            .chain(vec![vec![2.0, 2.0]; 2])
            .collect::<Vec<_>>();
        let fit = KMeans::new(4).fit(&x, &mut Stream::root("dup"));
        assert_eq!(fit.labels.len(), 8);
        assert!(fit.inertia.abs() < 1e-12);
        assert!(fit.labels.iter().all(|&l| l < 4));
        // All-identical points with k = n.
        let same = vec![vec![0.5; 3]; 3];
        let fit = KMeans::new(3).fit(&same, &mut Stream::root("dup2"));
        assert_eq!(fit.inertia, 0.0);
        assert_eq!(fit.centers.len(), 3);
    }

    #[test]
    fn two_clusters_split_a_line() {
        let x: Vec<Vec<f64>> = [0.0, 0.1, 0.2, 5.0, 5.1, 5.2]
            .iter()
            .map(|&v| vec![v])
            .collect();
        let fit = KMeans::new(2).fit(&x, &mut Stream::root("line"));
        assert_eq!(fit.labels[0], fit.labels[2]);
        assert_eq!(fit.labels[3], fit.labels[5]);
        assert_ne!(fit.labels[0], fit.labels[3]);
        assert!((fit.inertia - 0.04).abs() < 1e-9);
    }
}
