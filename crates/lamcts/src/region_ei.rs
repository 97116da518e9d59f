//! LA-MCTS's BO step inside a selected leaf (the code's
//! `Classifier.propose_samples_bo`): [`propose_ei_in_region`] ranks by EI
//! (core's [`top_ei`]) the candidates of [`region_sobol_samples`] (the code's
//! `propose_rand_samples_sobol`). For each in-region sample it takes 2000
//! Sobol points in a box of side `L` centred on the sample, starting at
//! `L = 1e-4` and doubling while *every* point stays inside the region; at
//! the first box that pokes out, its in-region points become candidates. The
//! pooled candidates are subsampled to `n_candidates`. [`crate::TurboRegion`]
//! draws its initial points the same way.

use searchkit::baselines::top_ei;
use searchkit::learn::Gp;
use searchkit::qmc;
use searchkit::rng::Stream;

/// Sobol points per in-region sample in [`region_sobol_samples`]
/// (`Classifier.py`: `sobol.draw(2000)` per centre).
pub const REGION_POINTS_PER_SEED: usize = 2000;

/// Points tested while a box grows (see [`region_sobol_samples`]).
const PROBES: usize = 64;

/// A box's probe test (see [`RegionTest::box_probes`]): side `l`, points.
pub type ProbeTest<'a> = Box<dyn FnMut(f64, &[Vec<f64>]) -> Vec<bool> + 'a>;

/// Membership of unit-cube points in a region, for [`region_sobol_samples`].
/// A closure `Fn(&[Vec<f64>]) -> Vec<bool>` is one.
pub trait RegionTest {
    /// Whether each point lies in the region.
    fn contains(&self, us: &[Vec<f64>]) -> Vec<bool>;

    /// The test for the probes of one growing box around `centre`: called
    /// with the side `l` and the points `centre + l (base[p] - 1/2)`
    /// (clipped to the cube, as computed), it must answer as
    /// [`RegionTest::contains`]. The default is `contains`; a region that
    /// can precompute per centre overrides it.
    fn box_probes<'a>(&'a self, _centre: &[f64], _base: &[Vec<f64>]) -> ProbeTest<'a> {
        Box::new(move |_, us| self.contains(us))
    }
}

impl<F: Fn(&[Vec<f64>]) -> Vec<bool>> RegionTest for F {
    fn contains(&self, us: &[Vec<f64>]) -> Vec<bool> {
        self(us)
    }
}

/// Up to `n` points of the unit cube inside `region`, grown around the
/// in-region samples `seeds` as LA-MCTS's `propose_rand_samples_sobol`
/// (`LA-MCTS/lamcts/Classifier.py`) does:
///
/// for each seed, [`REGION_POINTS_PER_SEED`] Sobol points fill a box of side
/// `L` centred on it (clipped to the cube), `L = 1e-4, 2e-4, ...` while `L <
/// 1`; the box grows while all its points are in the region, and the
/// in-region points of the first box that is not entirely inside are kept.
/// The pool is then subsampled to `n`. Growth is decided on the first
/// 64 points of the box (a probe subset), and the pool is never built: its
/// uniform `n`-subset is drawn by testing the final boxes' points in a
/// uniformly random order until `n` are inside (the same distribution as
/// filtering every box and then subsampling, for a fraction of the
/// classifier calls when there are many seeds). The probes of a seed's
/// doublings are tested through [`RegionTest::box_probes`], so a region of
/// RBF machines pays their distances once per seed, not once per doubling
/// (the same answers; `searchkit::partition::Region::probes`).
///
/// Differences from the reference, all at its edge cases: each seed is used
/// once as a centre (the reference draws centres at random, with
/// replacement, from all of the node's samples — a quirk that can centre on
/// out-of-region points); a seed whose largest box (`L = 0.8192`) is still
/// wholly inside contributes that box's points (the reference contributes
/// none); the subsample is without replacement (the reference's
/// `np.random.choice` repeats points); and if no candidate is found, Sobol
/// points over the whole cube are filtered by `region` (the reference returns
/// uniform points ignoring the region). The result can therefore be empty,
/// but every returned point satisfies `region`.
pub fn region_sobol_samples(
    region: &dyn RegionTest,
    seeds: &[Vec<f64>],
    n: usize,
    rng: &mut Stream,
) -> Vec<Vec<f64>> {
    if n == 0 {
        return Vec::new();
    }
    // Phase 1: each seed's final box.
    let mut boxes: Vec<SeedBox> = Vec::with_capacity(seeds.len());
    for c in seeds {
        let d = c.len();
        let base = qmc::sobol_from(rng, REGION_POINTS_PER_SEED, d);
        let scale = |l: f64| -> (Vec<f64>, Vec<f64>) {
            let lo = c.iter().map(|v| (v - l / 2.0).clamp(0.0, 1.0)).collect();
            let hi = c.iter().map(|v| (v + l / 2.0).clamp(0.0, 1.0)).collect();
            (lo, hi)
        };
        let mut l = 1e-4;
        let mut final_box = None;
        let mut grow = region.box_probes(c, &base[..PROBES.min(base.len())]);
        while l < 1.0 {
            let (lo, hi) = scale(l);
            // Grow on a probe subset (the first Sobol points, which cover the
            // box evenly). The reference tests all 2,000 points at every
            // doubling, which costs ~14x more classifier calls for nearly
            // the same box.
            let probes: Vec<Vec<f64>> = base
                .iter()
                .take(PROBES)
                .map(|u| place(u, &lo, &hi))
                .collect();
            if grow(l, &probes).iter().all(|&k| k) {
                l *= 2.0;
                continue;
            }
            final_box = Some((lo, hi));
            break;
        }
        let (lo, hi) = final_box.unwrap_or_else(|| scale(l / 2.0));
        boxes.push((base, lo, hi));
    }
    // Phase 2: a uniform n-subset of the in-region points of all boxes. The
    // reference tests every point of every box and then subsamples; visiting
    // the (box, point) slots in a uniformly random order and keeping the
    // first n inside draws from the same distribution, and with hundreds of
    // seeds (a leaf the SVM cannot split) tests ~30x fewer points.
    let slots = boxes.len() * REGION_POINTS_PER_SEED;
    let mut order: Vec<u32> = (0..slots as u32).collect();
    let mut out: Vec<Vec<f64>> = Vec::new();
    let mut next = 0;
    while out.len() < n && next < slots {
        let take = (n - out.len()).max(PROBES).min(slots - next);
        // Partial Fisher-Yates: the next `take` slots of a random order.
        for i in next..next + take {
            let j = i + rng.below(slots - i);
            order.swap(i, j);
        }
        let pts: Vec<Vec<f64>> = order[next..next + take]
            .iter()
            .map(|&k| {
                let (b, i) = (
                    k as usize / REGION_POINTS_PER_SEED,
                    k as usize % REGION_POINTS_PER_SEED,
                );
                let (base, lo, hi) = &boxes[b];
                place(&base[i], lo, hi)
            })
            .collect();
        next += take;
        out.extend(inside(region, pts));
    }
    out.truncate(n);
    if out.is_empty() {
        if let Some(d) = seeds.first().map(Vec::len) {
            out = inside(
                region,
                qmc::sobol_from(rng, n.max(REGION_POINTS_PER_SEED), d),
            );
            if out.len() > n {
                for i in 0..n {
                    let j = i + rng.below(out.len() - i);
                    out.swap(i, j);
                }
                out.truncate(n);
            }
        }
    }
    out
}

/// A seed's Sobol points (unit cube) and its final box `[lo, hi]`.
type SeedBox = (Vec<Vec<f64>>, Vec<f64>, Vec<f64>);

/// `u` (unit cube) scaled into the box `[lo, hi]`.
fn place(u: &[f64], lo: &[f64], hi: &[f64]) -> Vec<f64> {
    u.iter()
        .zip(lo.iter().zip(hi))
        .map(|(u, (l, h))| l + (h - l) * u)
        .collect()
}

/// The points of `xs` that `region` accepts, in order.
fn inside(region: &dyn RegionTest, xs: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
    let keep = region.contains(&xs);
    xs.into_iter()
        .zip(keep)
        .filter_map(|(x, k)| k.then_some(x))
        .collect()
}

/// LA-MCTS's BO step in a region (`Classifier.py`, `propose_samples_bo`):
/// up to `n_candidates` in-region candidates from [`region_sobol_samples`]
/// around `seeds` (in-region samples, unit cube), scored by
/// `EI(x) = E[max(f(x) - incumbent - xi, 0)]` under `gp` (maximisation), and
/// the `batch` best returned, best first. Every returned point satisfies
/// `region`; fewer than `batch` (possibly none) come back if the region
/// yields fewer candidates. LA-MCTS passes `incumbent =` [`searchkit::baselines::incumbent_mean`]
/// over its samples and `xi = 0.001`.
pub fn propose_ei_in_region(
    gp: &Gp,
    region: &dyn RegionTest,
    seeds: &[Vec<f64>],
    n_candidates: usize,
    batch: usize,
    xi: f64,
    incumbent: f64,
    rng: &mut Stream,
) -> Vec<Vec<f64>> {
    let cands = region_sobol_samples(region, seeds, n_candidates, rng);
    if cands.is_empty() || batch == 0 {
        return Vec::new();
    }
    top_ei(gp, &cands, batch, xi, incumbent)
        .into_iter()
        .map(|i| cands[i].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use searchkit::baselines::incumbent_mean;
    use searchkit::learn::GpConfig;

    /// A disc of radius 0.15 around (0.3, 0.6) plus a thin sliver: what a
    /// leaf of the partition tree might look like.
    fn region(x: &[f64]) -> bool {
        let (a, b) = (x[0] - 0.3, x[1] - 0.6);
        a * a + b * b < 0.15 * 0.15 || (x[0] > 0.9 && x[1] < 0.05)
    }

    /// [`region`] as the batch test the samplers take.
    fn regions(xs: &[Vec<f64>]) -> Vec<bool> {
        xs.iter().map(|x| region(x)).collect()
    }

    #[test]
    fn region_proposals_stay_in_region() {
        let mut rng = Stream::root("bo-region");
        let xs: Vec<Vec<f64>> = qmc::sobol_from(&mut rng, 30, 2);
        let ys: Vec<f64> = xs
            .iter()
            .map(|x| -(x[0] - 0.35).powi(2) - (x[1] - 0.55).powi(2))
            .collect();
        let gp = Gp::fit(&xs, &ys, &GpConfig::default(), &mut rng).unwrap();
        let seeds: Vec<Vec<f64>> = xs.iter().filter(|x| region(x)).cloned().collect();
        assert!(!seeds.is_empty());
        let cands = region_sobol_samples(&regions, &seeds, 10_000, &mut rng);
        assert!(cands.len() > 1000, "{}", cands.len());
        assert!(cands.iter().all(|x| region(x)));
        // The boxes grew to the region's scale, not just around the seeds.
        let spread = cands.iter().map(|x| x[0]).fold(0.0, f64::max)
            - cands.iter().map(|x| x[0]).fold(1.0, f64::min);
        assert!(spread > 0.1, "spread {spread}");

        let inc = incumbent_mean(&gp, &xs);
        let out = propose_ei_in_region(&gp, &regions, &seeds, 10_000, 5, 0.001, inc, &mut rng);
        assert_eq!(out.len(), 5);
        assert!(out.iter().all(|x| region(x)));

        // A seed in the thin sliver: its boxes poke out at once.
        let far = vec![vec![0.95, 0.01]];
        let out = propose_ei_in_region(&gp, &regions, &far, 500, 3, 0.001, inc, &mut rng);
        assert!(!out.is_empty() && out.iter().all(|x| region(x)));
        let nowhere = |xs: &[Vec<f64>]| vec![false; xs.len()];
        let none = propose_ei_in_region(&gp, &nowhere, &seeds, 500, 3, 0.001, inc, &mut rng);
        assert!(none.is_empty());
    }
}
