//! Exact hypervolume under maximisation.
//!
//! Every entry point first moves the reference point to the origin and keeps
//! only points strictly better than it in every objective, so the internal
//! routines measure the union of boxes `[0, p]` over strictly positive points.
//! Coordinates that are NaN fail the "strictly better" test and are dropped.

use std::collections::BTreeMap;

/// Points relative to `reference`, keeping only those strictly better than it
/// in every objective (the others bound a box of zero volume).
fn shifted_positive(points: &[Vec<f64>], reference: &[f64]) -> Vec<Vec<f64>> {
    points
        .iter()
        .filter_map(|p| {
            assert_eq!(
                p.len(),
                reference.len(),
                "hypervolume: point and reference differ in length"
            );
            let q: Vec<f64> = p.iter().zip(reference).map(|(x, r)| x - r).collect();
            q.iter().all(|&v| v > 0.0).then_some(q)
        })
        .collect()
}

fn box_volume(p: &[f64]) -> f64 {
    p.iter().product()
}

/// Exact hypervolume of the region dominated by `points` and dominating
/// `reference` (maximisation). Points not strictly better than the reference
/// in every objective contribute nothing; an empty set has volume 0.
///
/// Dispatches on the number of objectives: one is a maximum, two an
/// `O(n log n)` sweep ([`hypervolume_2d`]), three an `O(n log n)` sweep with a
/// 2-D staircase kept in a search tree ([`hypervolume_3d`]), four or more the
/// WFG algorithm with the 3-D sweep at its base.
pub fn hypervolume(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let mut pts = shifted_positive(points, reference);
    match reference.len() {
        0 => 0.0,
        1 => pts.iter().map(|p| p[0]).fold(0.0, f64::max),
        2 => hv2(&mut pts),
        3 => hv3(&mut pts),
        _ => {
            let mut front = nondominated_unique(pts, reference.len());
            wfg(&mut front, reference.len(), 3)
        }
    }
}

/// Two-objective hypervolume by a sweep in `O(n log n)`.
pub fn hypervolume_2d(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    assert_eq!(reference.len(), 2, "hypervolume_2d needs 2 objectives");
    hv2(&mut shifted_positive(points, reference))
}

/// Three-objective hypervolume in `O(n log n)`: a sweep down the third
/// objective that keeps the 2-D front of the points seen so far, and its area,
/// up to date (the HV3D idea of Beume et al. 2009).
pub fn hypervolume_3d(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    assert_eq!(reference.len(), 3, "hypervolume_3d needs 3 objectives");
    hv3(&mut shifted_positive(points, reference))
}

/// Hypervolume by the WFG algorithm (While, Bradstreet & Barone 2012) for any
/// number of objectives, recursing down to the 2-D sweep only. It is the
/// independent reference the faster paths are tested against;
/// [`hypervolume`] uses WFG itself for four or more objectives but bottoms
/// out in the 3-D sweep.
pub fn hypervolume_wfg(points: &[Vec<f64>], reference: &[f64]) -> f64 {
    let d = reference.len();
    if d == 0 {
        return 0.0;
    }
    let mut front = nondominated_unique(shifted_positive(points, reference), d);
    wfg(&mut front, d, 2)
}

/// Exclusive contribution of each point: `HV(all) - HV(all without i)`.
///
/// Computed as the volume of the point's own box minus the hypervolume of the
/// other points clipped to that box (WFG's `exclhv`), which is the same
/// quantity without subtracting two large volumes. Points weakly dominated by
/// another point (duplicates included) contribute exactly 0.
pub fn hypervolume_contributions(points: &[Vec<f64>], reference: &[f64]) -> Vec<f64> {
    let d = reference.len();
    let shifted: Vec<Option<Vec<f64>>> = points
        .iter()
        .map(|p| shifted_positive(std::slice::from_ref(p), reference).pop())
        .collect();
    (0..points.len())
        .map(|i| {
            let Some(p) = &shifted[i] else { return 0.0 };
            let mut clipped = Vec::with_capacity(points.len());
            for (j, q) in shifted.iter().enumerate() {
                let Some(q) = q else { continue };
                if j == i {
                    continue;
                }
                if super::weakly_dominates(q, p) {
                    return 0.0;
                }
                clipped.push(
                    p.iter()
                        .zip(q)
                        .map(|(a, b)| a.min(*b))
                        .collect::<Vec<f64>>(),
                );
            }
            let zeros = vec![0.0; d];
            (box_volume(p) - hypervolume(&clipped, &zeros)).max(0.0)
        })
        .collect()
}

/// Smallest difference [`log_hv_difference`] takes the logarithm of.
pub const LOG_HV_MIN_DIFFERENCE: f64 = 1e-12;

/// `log10(hv_max - hv)`, the log hypervolume difference LaMOO and PlaLaM
/// plot. The difference is clamped to at least [`LOG_HV_MIN_DIFFERENCE`]
/// (so reaching or, by rounding, exceeding the optimum gives `-12` rather
/// than `-inf` or NaN).
pub fn log_hv_difference(hv_max: f64, hv: f64) -> f64 {
    (hv_max - hv).max(LOG_HV_MIN_DIFFERENCE).log10()
}

/// 2-D union area of boxes `[0, p]` (first two coordinates of positive
/// points). Sorting by the first objective descending makes each point's
/// exclusive strip a single rectangle above the best second objective so far.
fn hv2(pts: &mut [Vec<f64>]) -> f64 {
    pts.sort_unstable_by(|a, b| b[0].total_cmp(&a[0]).then(b[1].total_cmp(&a[1])));
    let mut area = 0.0;
    let mut best_y = 0.0;
    for p in pts.iter() {
        if p[1] > best_y {
            area += p[0] * (p[1] - best_y);
            best_y = p[1];
        }
    }
    area
}

/// A 2-D staircase (x ascending, y strictly descending) with its area,
/// supporting insertion of points in `O(log n)` amortised.
struct Staircase {
    // Keys are the bit patterns of positive finite x, which order like the
    // values themselves and so avoid a float-ordering wrapper.
    steps: BTreeMap<u64, f64>,
    area: f64,
}

impl Staircase {
    fn new() -> Self {
        Self {
            steps: BTreeMap::new(),
            area: 0.0,
        }
    }

    /// Adds `(x, y)` (both > 0); the area only ever grows by the exclusive
    /// part of the new box, summed from positive rectangles, so no rounding
    /// from cancelling large areas builds up over a long sweep.
    fn insert(&mut self, x: f64, y: f64) {
        let key = x.to_bits();
        // The first step at or right of x is the only one that can dominate.
        if let Some((_, &yc)) = self.steps.range(key..).next() {
            if yc >= y {
                return;
            }
        }
        // Height of the staircase just right of x.
        let mut h_right = self.steps.range(key + 1..).next().map_or(0.0, |(_, &y)| y);
        let mut cur_x = x;
        let mut added = 0.0;
        loop {
            let left = self.steps.range(..=key).next_back().map(|(&k, &v)| (k, v));
            match left {
                Some((kq, yq)) => {
                    let xq = f64::from_bits(kq);
                    added += (cur_x - xq) * (y - h_right);
                    if yq >= y {
                        break;
                    }
                    // Dominated by the new point: its step disappears.
                    self.steps.remove(&kq);
                    h_right = yq;
                    cur_x = xq;
                }
                None => {
                    added += cur_x * (y - h_right);
                    break;
                }
            }
        }
        self.steps.insert(key, y);
        self.area += added;
    }
}

/// 3-D union volume of boxes `[0, p]` of positive points: slabs between
/// consecutive third coordinates (descending) have the area of the 2-D front
/// of all points at or above them.
fn hv3(pts: &mut [Vec<f64>]) -> f64 {
    pts.sort_unstable_by(|a, b| b[2].total_cmp(&a[2]));
    let mut stairs = Staircase::new();
    let mut volume = 0.0;
    for i in 0..pts.len() {
        stairs.insert(pts[i][0], pts[i][1]);
        let z_next = pts.get(i + 1).map_or(0.0, |q| q[2]);
        volume += stairs.area * (pts[i][2] - z_next);
    }
    volume
}

/// The points not weakly dominated by another (one copy of duplicates kept),
/// in the first `d` coordinates. Sorting lexicographically descending first
/// means a point can only be weakly dominated by one earlier in the order,
/// and by transitivity checking the kept ones suffices.
fn nondominated_unique(mut pts: Vec<Vec<f64>>, d: usize) -> Vec<Vec<f64>> {
    pts.sort_unstable_by(|a, b| {
        (0..d)
            .map(|k| b[k].total_cmp(&a[k]))
            .find(|o| o.is_ne())
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    let mut kept: Vec<Vec<f64>> = Vec::with_capacity(pts.len());
    for p in pts {
        if !kept.iter().any(|q| (0..d).all(|k| q[k] >= p[k])) {
            kept.push(p);
        }
    }
    kept
}

/// WFG on positive points, using their first `d` coordinates. Sorted by the
/// last of them ascending, the volume is the sum over points of their height
/// in that objective times their exclusive `(d-1)`-dimensional contribution
/// against the points above them; that contribution is the point's box minus
/// the hypervolume of those points clipped to it (the "limit set"), which is
/// small after removing dominated points, and is found recursively.
/// `base` (2 or 3) is the dimension at which the direct sweeps take over.
fn wfg(pts: &mut [Vec<f64>], d: usize, base: usize) -> f64 {
    match pts.len() {
        0 => return 0.0,
        1 => return box_volume(&pts[0][..d]),
        _ => {}
    }
    match d {
        1 => return pts.iter().map(|p| p[0]).fold(0.0, f64::max),
        2 => return hv2(pts),
        3 if base >= 3 => return hv3(pts),
        _ => {}
    }
    let last = d - 1;
    pts.sort_unstable_by(|a, b| a[last].total_cmp(&b[last]));
    let mut volume = 0.0;
    for i in 0..pts.len() {
        let p = &pts[i];
        let above = &pts[i + 1..];
        // Skip points whose (d-1)-D box lies inside one above: contribution 0.
        if above.iter().any(|q| (0..last).all(|k| q[k] >= p[k])) {
            continue;
        }
        let limited: Vec<Vec<f64>> = above
            .iter()
            .map(|q| (0..last).map(|k| p[k].min(q[k])).collect())
            .collect();
        let mut limited = nondominated_unique(limited, last);
        let exclusive = box_volume(&p[..last]) - wfg(&mut limited, last, base);
        volume += p[last] * exclusive;
    }
    volume
}
