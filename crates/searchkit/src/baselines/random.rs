//! Uniform random search, with or without replacement.
//!
//! NAS tables count random search in *unique* architectures, so on a
//! [`FiniteSpace`] (a [`Categorical`] space, a table of architectures)
//! [`RandomSearch::without_replacement`] draws a uniform random permutation of
//! the space lazily (never proposing a point twice) and stops, by asking for an
//! empty batch, once the space is exhausted.

use std::collections::HashMap;

use crate::optimizer::{Evaluated, Optimizer};
use crate::rng::Stream;
use crate::space::{FiniteSpace, Space};

#[cfg(doc)]
use crate::space::Categorical;

/// Uniform random search: `batch` uniform points per ask.
///
/// [`RandomSearch::new`] samples independently (with replacement) on any
/// [`Space`]; [`RandomSearch::without_replacement`] never repeats a point of a
/// [`FiniteSpace`].
#[derive(Clone, Debug)]
pub struct RandomSearch<S: Space> {
    space: S,
    batch: usize,
    unique: Option<Unique<S>>,
}

/// Sampling-without-replacement state: a lazy permutation of point numbers
/// and how to turn a number into a point of `S` (only a [`FiniteSpace`]
/// builds one).
#[derive(Clone, Debug)]
struct Unique<S: Space> {
    perm: LazyPermutation,
    decode: fn(&S, usize) -> S::X,
    encode: fn(&S, &S::X) -> usize,
}

/// Fisher-Yates shuffle of `0..n` done one draw at a time from the front
/// (draw `k` swaps position `k` with a uniform position in `k..n`): only the
/// displaced positions are stored, so memory grows with the number of draws,
/// not with `n` (NAS spaces can be large while budgets stay small).
#[derive(Clone, Debug)]
struct LazyPermutation {
    n: usize,
    next: usize,
    swapped: HashMap<usize, usize>,
    /// Where each displaced value sits (the inverse of `swapped`), for
    /// [`LazyPermutation::strike`].
    at: HashMap<usize, usize>,
}

impl LazyPermutation {
    fn new(n: usize) -> Self {
        Self {
            n,
            next: 0,
            swapped: HashMap::new(),
            at: HashMap::new(),
        }
    }

    fn remaining(&self) -> usize {
        self.n - self.next
    }

    fn next(&mut self, rng: &mut Stream) -> Option<usize> {
        let k = self.next;
        if k == self.n {
            return None;
        }
        let j = k + rng.below(self.n - k);
        Some(self.take(j))
    }

    /// Moves the value at position `j` (>= `next`) to `next` and consumes it.
    fn take(&mut self, j: usize) -> usize {
        let k = self.next;
        let at_j = self.swapped.get(&j).copied().unwrap_or(j);
        let at_k = self.swapped.remove(&k).unwrap_or(k);
        self.at.remove(&at_j);
        if j != k {
            self.swapped.insert(j, at_k);
            self.at.insert(at_k, j);
        }
        self.next = k + 1;
        at_j
    }

    /// Consumes `v` without a draw, unless it was drawn already: a point
    /// told before the first ask (a prescribed design) is never proposed.
    fn strike(&mut self, v: usize) {
        let p = self.at.get(&v).copied().unwrap_or(v);
        let here = self.swapped.get(&p).copied().unwrap_or(p);
        if p >= self.next && here == v {
            self.take(p);
        }
    }
}

impl<S: Space> RandomSearch<S> {
    /// Independent uniform points (with replacement), `batch` per ask.
    pub fn new(space: S, batch: usize) -> Self {
        Self {
            space,
            batch: batch.max(1),
            unique: None,
        }
    }

    /// Points not yet proposed (`None` when sampling with replacement).
    pub fn remaining(&self) -> Option<usize> {
        self.unique.as_ref().map(|u| u.perm.remaining())
    }
}

impl<S: FiniteSpace> RandomSearch<S> {
    /// Uniform points never proposed twice, `batch` per ask (fewer at the end);
    /// an exhausted space yields an empty batch, which ends the run loop.
    pub fn without_replacement(space: S, batch: usize) -> Self {
        let n = space.num_points();
        Self {
            space,
            batch: batch.max(1),
            unique: Some(Unique {
                perm: LazyPermutation::new(n),
                decode: |s: &S, i| s.point(i),
                encode: |s: &S, x| s.index_of(x),
            }),
        }
    }
}

impl<S: Space> Optimizer<S::X> for RandomSearch<S> {
    fn name(&self) -> String {
        "random".into()
    }
    fn ask(&mut self, rng: &mut Stream) -> Vec<S::X> {
        match &mut self.unique {
            None => (0..self.batch).map(|_| self.space.sample(rng)).collect(),
            Some(u) => (0..self.batch)
                .map_while(|_| u.perm.next(rng))
                .map(|i| (u.decode)(&self.space, i))
                .collect(),
        }
    }
    fn tell(&mut self, evaluated: &[Evaluated<S::X>], _rng: &mut Stream) {
        // Its own draws are consumed already; only points it did not
        // propose (a prescribed design) are struck from the permutation.
        if let Some(u) = &mut self.unique {
            for e in evaluated {
                u.perm.strike((u.encode)(&self.space, &e.x));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::run;
    use crate::problem::Problem;
    use crate::space::Categorical;

    struct IndexValue(Categorical);
    impl Problem for IndexValue {
        type Space = Categorical;
        fn name(&self) -> String {
            "index".into()
        }
        fn space(&self) -> &Categorical {
            &self.0
        }
        fn evaluate(&self, x: &Vec<usize>) -> Vec<f64> {
            vec![self.0.index_of(x) as f64]
        }
        fn optimum(&self) -> Option<f64> {
            Some(self.0.size() as f64 - 1.0)
        }
    }

    #[test]
    fn run_until_reports_why_it_stopped() {
        use crate::optimizer::{run_until, StopWhen, TerminationReason};
        let p = IndexValue(Categorical::new(vec![50]));
        let go = |budget, stop| {
            let mut opt = RandomSearch::without_replacement(p.0.clone(), 1);
            let mut rng = Stream::root("stop");
            run_until(&p, &mut opt, budget, stop, &mut rng, &mut [])
        };
        let t = go(10, StopWhen::BudgetSpent);
        assert_eq!((t.len(), t.stop), (10, TerminationReason::BudgetReached));
        let t = go(usize::MAX, StopWhen::BudgetSpent);
        assert_eq!(
            (t.len(), t.stop),
            (50, TerminationReason::OptimizerExhausted)
        );
        let t = go(usize::MAX, StopWhen::KnownOptimum);
        assert_eq!(t.stop, TerminationReason::TargetReached);
        assert_eq!(t.entries.last().unwrap().raw[0], 49.0);
        assert!(t.entries[..t.len() - 1].iter().all(|e| e.raw[0] < 49.0));
        let t = go(usize::MAX, StopWhen::Target(40.0));
        assert_eq!(t.stop, TerminationReason::TargetReached);
        assert!(t.entries.last().unwrap().raw[0] >= 40.0);
    }

    #[test]
    fn without_replacement_visits_each_point_once() {
        let space = Categorical::new(vec![3, 1, 4, 2]);
        let n = space.size() as usize;
        let problem = IndexValue(space.clone());
        let mut opt = RandomSearch::without_replacement(space.clone(), 5);
        let mut rng = Stream::root("random-unique");
        let trace = run(&problem, &mut opt, 10 * n, &mut rng, &mut []);
        assert_eq!(trace.len(), n, "stops once the space is exhausted");
        let mut seen: Vec<usize> = trace.entries.iter().map(|e| space.index_of(&e.x)).collect();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
        assert_eq!(opt.remaining(), Some(0));
        assert!(opt.ask(&mut rng).is_empty());
    }

    /// `xs` told with value 0.
    fn zeros(xs: &[Vec<usize>]) -> Vec<Evaluated<Vec<usize>>> {
        xs.iter()
            .map(|x| Evaluated {
                x: x.clone(),
                y: vec![0.0],
            })
            .collect()
    }

    #[test]
    fn without_replacement_never_proposes_a_prescribed_point() {
        use crate::optimizer::WithDesign;
        let space = Categorical::new(vec![5, 6]);
        let n = space.size() as usize;
        for seed in 0..20u64 {
            let mut rng = Stream::root("strike").child_n("seed", seed);
            let design: Vec<Vec<usize>> = (0..7).map(|_| space.sample(&mut rng)).collect();
            let mut opt = WithDesign::new(
                design.clone(),
                RandomSearch::without_replacement(space.clone(), 4),
            );
            let mut seen = std::collections::HashSet::new();
            let mut proposed = 0;
            loop {
                let xs = opt.ask(&mut rng);
                if xs.is_empty() {
                    break;
                }
                opt.tell(&zeros(&xs), &mut rng);
                proposed += xs.len();
                for x in xs {
                    seen.insert(x);
                }
            }
            // Every point once: the design's (possibly repeated) points and
            // the permutation's rest, never a design point again.
            assert_eq!(seen.len(), n, "seed {seed}");
            let distinct: std::collections::HashSet<_> = design.iter().collect();
            assert_eq!(proposed, design.len() + n - distinct.len(), "seed {seed}");
        }
        // Striking leaves the draws of a run without a design as they were.
        let mut a = RandomSearch::without_replacement(space.clone(), 3);
        let mut b = RandomSearch::without_replacement(space.clone(), 3);
        let (mut ra, mut rb) = (Stream::root("same"), Stream::root("same"));
        for _ in 0..10 {
            let (xa, xb) = (a.ask(&mut ra), b.ask(&mut rb));
            assert_eq!(xa, xb);
            b.tell(&zeros(&xb), &mut rb);
        }
    }

    #[test]
    fn without_replacement_is_uniform_first_draw() {
        // Each of 4 points should come first about a quarter of the time.
        let space = Categorical::new(vec![4]);
        let mut counts = [0usize; 4];
        let base = Stream::root("random-uniform");
        for r in 0..4000u64 {
            let mut rng = base.child_n("rep", r);
            let mut opt = RandomSearch::without_replacement(space.clone(), 1);
            counts[opt.ask(&mut rng)[0][0]] += 1;
        }
        assert!(
            counts.iter().all(|&c| (900..1100).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn with_replacement_keeps_batch_size() {
        let space = Categorical::new(vec![2]);
        let mut opt = RandomSearch::new(space, 7);
        let mut rng = Stream::root("random-plain");
        assert_eq!(opt.ask(&mut rng).len(), 7);
        assert_eq!(opt.remaining(), None);
    }
}
