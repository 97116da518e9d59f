//! Exact decomposition of the **non-dominated region** into disjoint
//! axis-aligned boxes (maximisation), for hypervolume-improvement
//! computations such as qEHVI.
//!
//! For a point set `Y` and a reference point `r`, the region is
//! `{z : z >= r, no y in Y weakly dominates z}` — the cells where a new point
//! adds hypervolume. It is what BoTorch's `NondominatedPartitioning` /
//! `FastNondominatedPartitioning` return through
//! `get_hypercell_bounds(ref_point)`: boxes `[lower, upper]` with `lower >= r`
//! and `upper` possibly `+inf`. The hypervolume improvement of a point `y` is
//! then `sum_boxes prod_k max(0, min(upper_k, y_k) - lower_k)`, and of a set
//! of points the inclusion–exclusion sum over its subsets of that quantity at
//! the subset's component-wise minimum (Daulton et al. 2020, eq. 4).
//!
//! **Algorithm.** A recursive slab sweep, exact for any number of objectives:
//! sort the points by the last objective, descending; between two consecutive
//! distinct values the points above the slab form a fixed set, whose
//! `(m-1)`-objective non-dominated region (computed recursively, with one
//! objective a single half-line `[max(r_0, max y_0), inf)`) is the slab's
//! cross-section. A cross-section cell that stays the same across consecutive
//! slabs is kept as one box, so each box opens where its cell first appears
//! and closes where it disappears. For two objectives this gives exactly the
//! sorted-front staircase (`k + 1` boxes for `k` front points); for three it
//! gives `O(k)` boxes in practice (each new point changes only the cells
//! around it). BoTorch uses the algorithm of Lacour, Klamroth & Fonseca
//! (2017) instead; the boxes differ but their union, hence every improvement
//! value, is the same.
//!
//! Points not strictly better than the reference in every objective bound no
//! volume above it and are ignored; so are NaN coordinates.

use std::collections::HashMap;

/// Disjoint boxes covering the non-dominated region above a reference point
/// (see the module docs). Boxes are stored flat: box `b` has bounds
/// `lower[b*m..(b+1)*m]` and `upper[b*m..(b+1)*m]`; upper bounds may be
/// `+inf`.
#[derive(Clone, Debug, PartialEq)]
pub struct BoxDecomposition {
    m: usize,
    lower: Vec<f64>,
    upper: Vec<f64>,
}

/// A cross-section cell: lower and upper bounds over the first objectives.
type Cell = (Vec<f64>, Vec<f64>);

fn cell_key(c: &Cell) -> Vec<u64> {
    c.0.iter().chain(&c.1).map(|v| v.to_bits()).collect()
}

/// The two-objective case directly (what the slab sweep would give, in
/// `O(k log k)` rather than `O(k^2)`): the front sorted by the first
/// objective ascending, `s_1 .. s_k`, bounds the cells
/// `[s_{i-1,0}, s_{i,0}] x [s_{i,1}, inf)` with `s_{0,0} = r_0`,
/// `s_{k+1,0} = inf` and `s_{k+1,1} = r_1`.
fn staircase(pts: &mut [&[f64]], r: &[f64]) -> Vec<Cell> {
    // x descending (ties: y descending); a point is on the front iff its y
    // beats every point seen so far.
    pts.sort_by(|a, b| b[0].total_cmp(&a[0]).then(b[1].total_cmp(&a[1])));
    let mut front: Vec<(f64, f64)> = Vec::new();
    let mut best = f64::NEG_INFINITY;
    for p in pts.iter() {
        if p[1] > best {
            best = p[1];
            front.push((p[0], p[1]));
        }
    }
    front.reverse();
    let inf = f64::INFINITY;
    let mut cells = Vec::with_capacity(front.len() + 1);
    let mut x_left = r[0];
    for &(x, y) in &front {
        cells.push((vec![x_left, y], vec![x, inf]));
        x_left = x;
    }
    cells.push((vec![x_left, r[1]], vec![inf, inf]));
    cells
}

/// Cells of the non-dominated region of `pts` (first `m` coordinates,
/// all strictly above `r`) — see the module docs.
fn decompose(pts: &mut [&[f64]], r: &[f64], m: usize) -> Vec<Cell> {
    if m == 1 {
        let lo = pts.iter().map(|p| p[0]).fold(r[0], f64::max);
        return vec![(vec![lo], vec![f64::INFINITY])];
    }
    if m == 2 {
        return staircase(pts, r);
    }
    let k = m - 1;
    pts.sort_by(|a, b| b[k].total_cmp(&a[k]));
    // Open boxes, keyed by their cross-section, with the slab top where they
    // opened. Insertion order is tracked so the output order is deterministic.
    let mut open: HashMap<Vec<u64>, (usize, f64)> = HashMap::new();
    let mut cells: Vec<Cell> = Vec::new();
    let mut out: Vec<Cell> = Vec::new();
    for c in decompose(&mut [], r, k) {
        open.insert(cell_key(&c), (cells.len(), f64::INFINITY));
        cells.push(c);
    }
    let mut i = 0;
    while i < pts.len() {
        let z = pts[i][k];
        let mut j = i;
        while j < pts.len() && pts[j][k] == z {
            j += 1;
        }
        // Cross-section just below z: the points at or above z.
        let mut above: Vec<&[f64]> = pts[..j].to_vec();
        let now = decompose(&mut above, r, k);
        let now_keys: Vec<Vec<u64>> = now.iter().map(cell_key).collect();
        let keep: std::collections::HashSet<&Vec<u64>> = now_keys.iter().collect();
        // Close the cells that disappear at z (in their opening order).
        let mut closing: Vec<(usize, f64, Vec<u64>)> = open
            .iter()
            .filter(|(key, _)| !keep.contains(key))
            .map(|(key, &(idx, top))| (idx, top, key.clone()))
            .collect();
        closing.sort_by_key(|c| c.0);
        for (idx, top, key) in closing {
            open.remove(&key);
            let (mut lo, mut hi) = cells[idx].clone();
            lo.push(z);
            hi.push(top);
            out.push((lo, hi));
        }
        for (c, key) in now.into_iter().zip(now_keys) {
            if let std::collections::hash_map::Entry::Vacant(e) = open.entry(key) {
                e.insert((cells.len(), z));
                cells.push(c);
            }
        }
        i = j;
    }
    let mut rest: Vec<(usize, f64)> = open.into_values().collect();
    rest.sort_by_key(|c| c.0);
    for (idx, top) in rest {
        let (mut lo, mut hi) = cells[idx].clone();
        lo.push(r[k]);
        hi.push(top);
        out.push((lo, hi));
    }
    // Zero-thickness boxes (from ties) carry no volume.
    out.retain(|(lo, hi)| lo.iter().zip(hi).all(|(l, h)| l < h));
    out
}

impl BoxDecomposition {
    /// The non-dominated region of `points` above `reference`. `points` need
    /// not be a Pareto front (dominated points change nothing).
    pub fn new(points: &[Vec<f64>], reference: &[f64]) -> Self {
        let m = reference.len();
        assert!(m >= 1, "BoxDecomposition needs at least one objective");
        let mut pts: Vec<&[f64]> = points
            .iter()
            .map(|p| {
                assert_eq!(p.len(), m, "BoxDecomposition: point of wrong length");
                p.as_slice()
            })
            .filter(|p| p.iter().zip(reference).all(|(v, r)| v > r))
            .collect();
        // Only the non-dominated points shape the region; dropping the rest
        // first means fewer slabs.
        let front: Vec<&[f64]> = pts
            .iter()
            .copied()
            .filter(|p| !pts.iter().any(|q| super::dominates(q, p)))
            .collect();
        pts = front;
        pts.dedup();
        let cells = decompose(&mut pts, reference, m);
        let mut lower = Vec::with_capacity(cells.len() * m);
        let mut upper = Vec::with_capacity(cells.len() * m);
        for (lo, hi) in cells {
            lower.extend(lo);
            upper.extend(hi);
        }
        Self { m, lower, upper }
    }

    /// Number of objectives.
    pub fn num_objectives(&self) -> usize {
        self.m
    }

    /// Number of boxes.
    pub fn len(&self) -> usize {
        self.lower.len() / self.m
    }

    /// Whether there are no boxes (never the case for a finite reference).
    pub fn is_empty(&self) -> bool {
        self.lower.is_empty()
    }

    /// Lower bounds of box `b`.
    pub fn lower(&self, b: usize) -> &[f64] {
        &self.lower[b * self.m..(b + 1) * self.m]
    }

    /// Upper bounds of box `b` (entries may be `+inf`).
    pub fn upper(&self, b: usize) -> &[f64] {
        &self.upper[b * self.m..(b + 1) * self.m]
    }

    /// Hypervolume improvement of one point `y`: the volume of the region
    /// it dominates inside the boxes.
    pub fn improvement(&self, y: &[f64]) -> f64 {
        let m = self.m;
        let mut total = 0.0;
        for (lo, hi) in self.lower.chunks_exact(m).zip(self.upper.chunks_exact(m)) {
            let mut vol = 1.0;
            for k in 0..m {
                let t = y[k].min(hi[k]) - lo[k];
                if t <= 0.0 {
                    vol = 0.0;
                    break;
                }
                vol *= t;
            }
            total += vol;
        }
        total
    }

    /// [`Self::improvement`] and its gradient w.r.t. `y`, written into
    /// `grad` (length `m`). Where `y_k` sits exactly on a box edge the
    /// one-sided derivative from below is taken.
    pub fn improvement_with_grad(&self, y: &[f64], grad: &mut [f64]) -> f64 {
        let m = self.m;
        grad[..m].iter_mut().for_each(|g| *g = 0.0);
        let mut t = [0.0f64; 8];
        let mut inside = [false; 8];
        let mut tv = vec![0.0; if m > 8 { m } else { 0 }];
        let mut iv = vec![false; if m > 8 { m } else { 0 }];
        let (t, inside): (&mut [f64], &mut [bool]) = if m <= 8 {
            (&mut t[..m], &mut inside[..m])
        } else {
            (&mut tv, &mut iv)
        };
        let mut total = 0.0;
        for (lo, hi) in self.lower.chunks_exact(m).zip(self.upper.chunks_exact(m)) {
            let mut vol = 1.0;
            for k in 0..m {
                inside[k] = y[k] < hi[k];
                t[k] = y[k].min(hi[k]) - lo[k];
                if t[k] <= 0.0 {
                    vol = 0.0;
                    break;
                }
                vol *= t[k];
            }
            if vol == 0.0 {
                continue;
            }
            total += vol;
            for k in 0..m {
                if inside[k] {
                    // Product of the other factors (all > 0).
                    let mut p = 1.0;
                    for (j, tj) in t.iter().enumerate() {
                        if j != k {
                            p *= tj;
                        }
                    }
                    grad[k] += p;
                }
            }
        }
        total
    }

    /// Joint hypervolume improvement of a set of points by inclusion–exclusion
    /// over its non-empty subsets (BoTorch's qEHVI formulation):
    /// `sum_S (-1)^(|S|+1) improvement(min_{i in S} y_i)`. Exponential in
    /// `ys.len()`; meant for small batches.
    pub fn joint_improvement(&self, ys: &[Vec<f64>]) -> f64 {
        let q = ys.len();
        assert!(q < 32, "joint_improvement: batch too large");
        let m = self.m;
        let mut total = 0.0;
        let mut ymin = vec![0.0; m];
        for mask in 1u32..(1u32 << q) {
            ymin.iter_mut().for_each(|v| *v = f64::INFINITY);
            for (i, y) in ys.iter().enumerate() {
                if mask & (1 << i) != 0 {
                    for k in 0..m {
                        ymin[k] = ymin[k].min(y[k]);
                    }
                }
            }
            let sign = if mask.count_ones() % 2 == 1 {
                1.0
            } else {
                -1.0
            };
            total += sign * self.improvement(&ymin);
        }
        total
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pareto::{hypervolume, hypervolume_wfg};
    use crate::rng::Stream;

    /// Random points on a concave-ish front plus dominated clutter.
    fn random_set(n: usize, m: usize, rng: &mut Stream) -> Vec<Vec<f64>> {
        (0..n)
            .map(|_| {
                let v: Vec<f64> = (0..m).map(|_| rng.normal().abs() + 1e-3).collect();
                let norm = v.iter().map(|a| a * a).sum::<f64>().sqrt();
                let shrink = if rng.uniform() < 0.5 {
                    1.0
                } else {
                    rng.uniform()
                };
                v.iter().map(|a| a / norm * shrink).collect()
            })
            .collect()
    }

    #[test]
    fn boxes_match_hypervolume_differences() {
        let mut rng = Stream::root("boxes-hvi");
        for m in [1, 2, 3, 4] {
            for trial in 0..20 {
                let n = [0, 1, 3, 8, 20][trial % 5];
                let pts = random_set(n, m, &mut rng);
                let r = vec![-0.05; m];
                let dec = BoxDecomposition::new(&pts, &r);
                let hv0 = hypervolume(&pts, &r);
                // Disjoint boxes, all above the reference.
                for b in 0..dec.len() {
                    assert!(dec.lower(b).iter().zip(&r).all(|(l, r)| l >= r));
                    assert!(dec.lower(b).iter().zip(dec.upper(b)).all(|(l, h)| l < h));
                }
                // Volume of the boxes clipped to [r, U] = box volume - HV.
                let big = 2.0;
                let clipped: f64 = (0..dec.len())
                    .map(|b| {
                        (0..m)
                            .map(|k| (dec.upper(b)[k].min(big) - dec.lower(b)[k]).max(0.0))
                            .product::<f64>()
                    })
                    .sum();
                let total = (big + 0.05f64).powi(m as i32);
                assert!(
                    (clipped - (total - hv0)).abs() < 1e-9,
                    "m={m} n={n}: {clipped} vs {}",
                    total - hv0
                );
                for _ in 0..30 {
                    let p: Vec<f64> = (0..m).map(|_| 1.3 * rng.uniform() - 0.1).collect();
                    let mut with = pts.clone();
                    with.push(p.clone());
                    let expect = if m >= 4 {
                        hypervolume_wfg(&with, &r) - hypervolume_wfg(&pts, &r)
                    } else {
                        hypervolume(&with, &r) - hv0
                    };
                    let got = dec.improvement(&p);
                    assert!(
                        (got - expect).abs() < 1e-10,
                        "m={m} n={n}: {got} vs {expect}"
                    );
                    let mut g = vec![0.0; m];
                    assert_eq!(dec.improvement_with_grad(&p, &mut g), got);
                }
            }
        }
    }

    #[test]
    fn boxes_two_objective_staircase() {
        let pts = vec![
            vec![1.0, 3.0],
            vec![2.0, 2.0],
            vec![3.0, 1.0],
            vec![1.5, 1.5],
        ];
        let dec = BoxDecomposition::new(&pts, &[0.0, 0.0]);
        assert_eq!(dec.len(), 4);
        let inf = f64::INFINITY;
        let mut got: Vec<(Vec<f64>, Vec<f64>)> = (0..dec.len())
            .map(|b| (dec.lower(b).to_vec(), dec.upper(b).to_vec()))
            .collect();
        got.sort_by(|a, b| a.0[0].total_cmp(&b.0[0]));
        assert_eq!(
            got,
            vec![
                (vec![0.0, 3.0], vec![1.0, inf]),
                (vec![1.0, 2.0], vec![2.0, inf]),
                (vec![2.0, 1.0], vec![3.0, inf]),
                (vec![3.0, 0.0], vec![inf, inf]),
            ]
        );
    }

    #[test]
    fn boxes_gradient_and_joint_improvement() {
        let mut rng = Stream::root("boxes-joint");
        for m in [2, 3] {
            let pts = random_set(15, m, &mut rng);
            let r = vec![0.0; m];
            let dec = BoxDecomposition::new(&pts, &r);
            for _ in 0..20 {
                let p: Vec<f64> = (0..m).map(|_| 0.2 + 0.8 * rng.uniform()).collect();
                let mut g = vec![0.0; m];
                let f = dec.improvement_with_grad(&p, &mut g);
                for k in 0..m {
                    let h = 1e-7;
                    let mut pp = p.clone();
                    pp[k] += h;
                    let fp = dec.improvement(&pp);
                    pp[k] -= 2.0 * h;
                    let fm = dec.improvement(&pp);
                    let fd = (fp - fm) / (2.0 * h);
                    assert!((fd - g[k]).abs() < 1e-5, "{fd} vs {} (f {f})", g[k]);
                }
                // A batch: inclusion-exclusion equals the HV difference.
                let batch: Vec<Vec<f64>> = (0..4)
                    .map(|_| (0..m).map(|_| 1.1 * rng.uniform()).collect())
                    .collect();
                let mut with = pts.clone();
                with.extend(batch.iter().cloned());
                let expect = hypervolume(&with, &r) - hypervolume(&pts, &r);
                let got = dec.joint_improvement(&batch);
                assert!((got - expect).abs() < 1e-10, "{got} vs {expect}");
            }
        }
    }

    #[test]
    fn boxes_handle_ties_and_points_below_reference() {
        let pts = vec![
            vec![1.0, 1.0, 1.0],
            vec![1.0, 1.0, 1.0],
            vec![2.0, 0.5, 1.0],
            vec![0.5, 2.0, 1.0],
            vec![3.0, -1.0, 5.0],
            vec![1.0, 1.0, 0.5],
        ];
        let r = [0.0, 0.0, 0.0];
        let dec = BoxDecomposition::new(&pts, &r);
        let hv0 = hypervolume(&pts, &r);
        let mut rng = Stream::root("boxes-ties");
        for _ in 0..200 {
            let p: Vec<f64> = (0..3).map(|_| 2.5 * rng.uniform()).collect();
            let mut with = pts.clone();
            with.push(p.clone());
            let expect = hypervolume(&with, &r) - hv0;
            assert!((dec.improvement(&p) - expect).abs() < 1e-12);
        }
        // No points: one box, the whole orthant above the reference.
        let empty = BoxDecomposition::new(&[], &r);
        assert_eq!(empty.len(), 1);
        assert_eq!(empty.improvement(&[1.0, 2.0, 3.0]), 6.0);
    }
}
