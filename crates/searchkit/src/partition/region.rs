//! A selected region (a root-to-node path of classifiers) and sampling in it.

use std::sync::Arc;

use super::{Boundary, Samples};
use crate::rng::Stream;
use crate::space::{BoxSpace, Space};

/// The region of one node: the points every classifier on the root-to-node
/// path assigns to the path's side, with the node's sample indices.
#[derive(Clone, Debug)]
pub struct Region {
    node: usize,
    /// `(split node, side taken, its boundary)` from the root down.
    path: Vec<(usize, bool, Arc<dyn Boundary>)>,
    indices: Vec<usize>,
}

/// Settings of [`Region::sample`].
#[derive(Clone, Debug, PartialEq)]
pub struct RegionSampling {
    /// Draw candidates as a jittered Latin hypercube per round (else uniform).
    pub lhs: bool,
    /// Stop rejection sampling after this many candidates in total.
    pub max_candidates: usize,
    /// Standard deviation of the fallback perturbation of the node's own
    /// samples, as a fraction of each coordinate's range.
    pub jitter: f64,
}

impl Default for RegionSampling {
    /// Uniform candidates, 10,000 at most (the code's candidate count), 1%
    /// jitter.
    fn default() -> Self {
        Self {
            lhs: false,
            max_candidates: 10_000,
            jitter: 0.01,
        }
    }
}

impl Region {
    pub(crate) fn new(
        node: usize,
        path: Vec<(usize, bool, Arc<dyn Boundary>)>,
        indices: Vec<usize>,
    ) -> Self {
        Self {
            node,
            path,
            indices,
        }
    }

    /// The whole space (an empty path) holding samples `indices`.
    pub fn whole(indices: Vec<usize>) -> Self {
        Self::new(0, Vec::new(), indices)
    }

    /// The tree node this region belongs to.
    pub fn node(&self) -> usize {
        self.node
    }

    /// Number of classifiers on the path (the node's depth).
    pub fn depth(&self) -> usize {
        self.path.len()
    }

    /// `(split node, side)` pairs from the root down; side `true` is the
    /// good child.
    pub fn path(&self) -> impl Iterator<Item = (usize, bool)> + '_ {
        self.path.iter().map(|(k, s, _)| (*k, *s))
    }

    /// The region of the node's ancestor at depth `k` (the first `k`
    /// classifiers of the path; the whole path if `k >= depth`): the
    /// authors' LaMOO relaxes a region this way when too few points fall
    /// inside. Keeps this node's sample indices.
    pub fn truncated(&self, k: usize) -> Region {
        Region {
            node: self.node,
            path: self.path[..k.min(self.path.len())].to_vec(),
            indices: self.indices.clone(),
        }
    }

    /// Indices (into the tree's [`Samples`]) of the node's samples.
    pub fn indices(&self) -> &[usize] {
        &self.indices
    }

    /// Whether every classifier on the path puts `x` on the path's side.
    pub fn contains(&self, x: &[f64]) -> bool {
        self.path.iter().all(|(_, side, b)| b.predict(x) == *side)
    }

    /// [`Region::contains`] for many points. Each classifier only sees the
    /// points that passed the ones tested before it, deepest first. Why
    /// deepest first: a point near the region leaves it mostly through the
    /// boundaries nearest the leaf, and those classifiers, trained on a
    /// node's few samples, are the cheapest; the root's, trained on every
    /// sample, then sees only the survivors. The answer does not depend on
    /// the order.
    pub fn contains_batch(&self, xs: &[Vec<f64>]) -> Vec<bool> {
        self.sift(xs, |k, _, pts| self.path[k].2.predict_many(pts))
    }

    /// The loop of [`Region::contains_batch`] and [`RegionProbes::contains`]:
    /// the path's classifiers, deepest first, each asked by `test(k, alive,
    /// points)` only about the points (indices `alive` into `xs`) that passed
    /// the ones before it.
    fn sift(
        &self,
        xs: &[Vec<f64>],
        mut test: impl FnMut(usize, &[usize], &[&[f64]]) -> Vec<bool>,
    ) -> Vec<bool> {
        let mut alive: Vec<usize> = (0..xs.len()).collect();
        for (k, (_, side, _)) in self.path.iter().enumerate().rev() {
            let pts: Vec<&[f64]> = alive.iter().map(|&i| xs[i].as_slice()).collect();
            let got = test(k, &alive, &pts);
            let mut j = 0;
            alive.retain(|_| {
                j += 1;
                got[j - 1] == *side
            });
            if alive.is_empty() {
                break;
            }
        }
        let mut out = vec![false; xs.len()];
        for i in alive {
            out[i] = true;
        }
        out
    }

    /// A tester of probes `centre + l dirs[p]` at growing scales `l` (the
    /// boxes LA-MCTS grows around its seeds): each classifier that can
    /// ([`Boundary::probes`]) precomputes per centre once, on first use.
    pub fn probes(&self, centre: &[f64], dirs: &[Vec<f64>], coord_err: f64) -> RegionProbes<'_> {
        RegionProbes {
            region: self,
            centre: centre.to_vec(),
            dirs: dirs.to_vec(),
            coord_err,
            testers: (0..self.path.len())
                .map(|_| std::cell::OnceCell::new())
                .collect(),
        }
    }

    /// The points of `xs` inside the region, in order.
    pub fn filter(&self, xs: Vec<Vec<f64>>) -> Vec<Vec<f64>> {
        let keep = self.contains_batch(&xs);
        xs.into_iter()
            .zip(keep)
            .filter_map(|(x, k)| k.then_some(x))
            .collect()
    }

    /// Fraction of `xs` inside the region (0 for no points).
    pub fn ratio(&self, xs: &[Vec<f64>]) -> f64 {
        if xs.is_empty() {
            return 0.0;
        }
        self.contains_batch(xs).iter().filter(|&&k| k).count() as f64 / xs.len() as f64
    }

    /// Indices of the node's samples that lie inside the region (a sample
    /// can sit in a node whose boundary excludes it; see the module docs).
    pub fn inside_indices(&self, data: &Samples) -> Vec<usize> {
        self.indices
            .iter()
            .copied()
            .filter(|&i| self.contains(&data.xs[i]))
            .collect()
    }

    /// `n` points of the region by rejection sampling: rounds of uniform (or
    /// Latin hypercube) candidates on `space`, doubling from `max(4n, 64)`,
    /// until `n` are accepted or `opts.max_candidates` were drawn. Missing
    /// points are the node's own samples (those inside the region if any)
    /// perturbed by Gaussian noise of `opts.jitter` times each range and
    /// clipped; with no samples at all, uniform points of `space`.
    pub fn sample(
        &self,
        n: usize,
        space: &BoxSpace,
        data: &Samples,
        opts: &RegionSampling,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(n);
        if n == 0 {
            return out;
        }
        let mut drawn = 0;
        let mut round = (4 * n).max(64);
        while out.len() < n && drawn < opts.max_candidates {
            let m = round.min(opts.max_candidates - drawn);
            let cands = if opts.lhs {
                space.latin_hypercube(m, rng)
            } else {
                (0..m).map(|_| space.sample(rng)).collect()
            };
            drawn += m;
            round *= 2;
            for x in self.filter(cands) {
                if out.len() < n {
                    out.push(x);
                }
            }
        }
        if out.len() < n {
            self.perturbed(n - out.len(), space, data, opts.jitter, rng, &mut out);
        }
        out
    }

    fn perturbed(
        &self,
        n: usize,
        space: &BoxSpace,
        data: &Samples,
        jitter: f64,
        rng: &mut Stream,
        out: &mut Vec<Vec<f64>>,
    ) {
        let inside = self.inside_indices(data);
        let pool: &[usize] = if inside.is_empty() {
            &self.indices
        } else {
            &inside
        };
        for _ in 0..n {
            if pool.is_empty() {
                out.push(space.sample(rng));
                continue;
            }
            let base = &data.xs[pool[rng.below(pool.len())]];
            let mut x: Vec<f64> = base
                .iter()
                .enumerate()
                .map(|(j, v)| v + jitter * (space.upper[j] - space.lower[j]) * rng.normal())
                .collect();
            space.clip(&mut x);
            out.push(x);
        }
    }

    /// `n` points of the region near one of the node's samples: a sample
    /// inside the region is drawn as centre, a box `centre +- L/2` (`L` a
    /// fraction of each coordinate's range, clipped to `space`) grows from
    /// `L = 1e-4` by doubling until one of `probes` uniform points in it falls
    /// outside the region (or the box covers the space), and the `n` points
    /// are drawn uniformly from that box by rejection (`100 n` tries at
    /// most; missing points as in [`Region::sample`]'s fallback). This is
    /// the one-centre form of [`Region::candidates_around`], cheap enough to
    /// call every iteration; with an RBF SVM of the code's `gamma = 1/d` on
    /// an unscaled box, regions are small pockets around samples that uniform
    /// rejection sampling rarely hits.
    pub fn sample_around(
        &self,
        n: usize,
        space: &BoxSpace,
        data: &Samples,
        probes: usize,
        jitter: f64,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        let mut out = Vec::with_capacity(n);
        if n == 0 {
            return out;
        }
        let inside = self.inside_indices(data);
        if inside.is_empty() {
            self.perturbed(n, space, data, jitter, rng, &mut out);
            return out;
        }
        let c = &data.xs[inside[rng.below(inside.len())]];
        let d = space.dim();
        let boxed = |l: f64| -> (Vec<f64>, Vec<f64>) {
            (0..d)
                .map(|j| {
                    let h = l * (space.upper[j] - space.lower[j]) / 2.0;
                    (
                        (c[j] - h).max(space.lower[j]),
                        (c[j] + h).min(space.upper[j]),
                    )
                })
                .unzip()
        };
        let draw = |lo: &[f64], hi: &[f64], rng: &mut Stream| -> Vec<f64> {
            (0..d)
                .map(|j| lo[j] + rng.uniform() * (hi[j] - lo[j]))
                .collect()
        };
        let mut l = 1e-4;
        let (mut lo, mut hi) = boxed(l);
        while l < 1.0 {
            let pts: Vec<Vec<f64>> = (0..probes.max(1)).map(|_| draw(&lo, &hi, rng)).collect();
            let keep = self.contains_batch(&pts);
            if keep.iter().any(|k| !k) {
                break;
            }
            l *= 2.0;
            (lo, hi) = boxed(l);
        }
        for _ in 0..100 * n {
            if out.len() == n {
                break;
            }
            let x = draw(&lo, &hi, rng);
            if self.contains(&x) {
                out.push(x);
            }
        }
        if out.len() < n {
            self.perturbed(n - out.len(), space, data, jitter, rng, &mut out);
        }
        out
    }

    /// Candidates grown around the node's samples, as the LA-MCTS code's
    /// `Classifier.propose_rand_samples_sobol` (used by its BO sampler).
    ///
    /// Once per node sample inside the region, a centre is drawn uniformly
    /// from *all* the node's samples (the code's loop variable is overwritten
    /// by a random sample), and `per_center` unit-cube points are scaled into
    /// the box `centre +- L/2` (clipped to `space`) for `L = 1e-4, 2e-4, ...`
    /// while `L < max range`; at the first `L` where not every candidate is in
    /// the region, the ones inside are kept. If more than `max_total` are
    /// kept, `max_total` are drawn from them with replacement. Empty when no
    /// node sample lies in the region (the code then samples the whole space
    /// uniformly). The code draws scrambled Sobol points (2000 per centre,
    /// 10,000 in total); these are uniform.
    pub fn candidates_around(
        &self,
        space: &BoxSpace,
        data: &Samples,
        per_center: usize,
        max_total: usize,
        rng: &mut Stream,
    ) -> Vec<Vec<f64>> {
        let centres = self.inside_indices(data).len();
        let d = space.dim();
        let limit = (0..d)
            .map(|j| space.upper[j] - space.lower[j])
            .fold(0.0f64, f64::max);
        let mut found: Vec<Vec<f64>> = Vec::new();
        for _ in 0..centres {
            let c = &data.xs[self.indices[rng.below(self.indices.len())]];
            let base: Vec<Vec<f64>> = (0..per_center)
                .map(|_| (0..d).map(|_| rng.uniform()).collect())
                .collect();
            let mut l = 1e-4;
            while l < limit {
                let lo: Vec<f64> = (0..d)
                    .map(|j| (c[j] - l / 2.0).clamp(space.lower[j], space.upper[j]))
                    .collect();
                let hi: Vec<f64> = (0..d)
                    .map(|j| (c[j] + l / 2.0).clamp(space.lower[j], space.upper[j]))
                    .collect();
                let cands: Vec<Vec<f64>> = base
                    .iter()
                    .map(|u| (0..d).map(|j| lo[j] + u[j] * (hi[j] - lo[j])).collect())
                    .collect();
                let inside = self.filter(cands);
                if inside.len() < per_center {
                    found.extend(inside);
                    break;
                }
                l *= 2.0;
            }
        }
        if found.len() > max_total {
            (0..max_total)
                .map(|_| found[rng.below(found.len())].clone())
                .collect()
        } else {
            found
        }
    }
}

/// [`Region::probes`]: [`Region::contains_batch`] for the probes of one
/// centre at any scale, the same answers.
pub struct RegionProbes<'a> {
    region: &'a Region,
    centre: Vec<f64>,
    dirs: Vec<Vec<f64>>,
    coord_err: f64,
    #[allow(clippy::type_complexity)]
    testers: Vec<std::cell::OnceCell<Option<Box<dyn super::ProbeTest + 'a>>>>,
}

impl RegionProbes<'_> {
    /// Whether each `points[p]` (the point `centre + l dirs[p]` as the
    /// caller computed it) lies in the region; as [`Region::contains_batch`],
    /// deepest classifier first.
    pub fn contains(&self, l: f64, points: &[Vec<f64>]) -> Vec<bool> {
        assert_eq!(points.len(), self.dirs.len(), "one point per direction");
        self.region.sift(points, |k, alive, pts| {
            let b = &self.region.path[k].2;
            let tester = self.testers[k].get_or_init(|| {
                let b: &dyn Boundary = b.as_ref();
                b.probes(&self.centre, &self.dirs, self.coord_err)
            });
            match tester {
                Some(t) => t.predict(l, alive, pts),
                None => b.predict_many(pts),
            }
        })
    }
}
