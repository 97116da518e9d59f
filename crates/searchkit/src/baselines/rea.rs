//! Regularized (aging) evolution, REA (Real et al., 2019), on any space with
//! a mutation operator ([`Mutate`]).
//!
//! The population is a FIFO queue of the last `population` evaluated points.
//! Each step draws `sample_size` members, mutates the best of them, evaluates
//! the child, appends it and drops the oldest member. Fitness is `y[0]` as the
//! problem returns it (maximisation form). The tournament draws *with
//! replacement* by default (the paper's pseudo-code and the NAS-Bench-201
//! code both use `random.choice` in a loop) or *without replacement*
//! ([`Tournament::WithoutReplacement`], the NAS-Bench-101 baseline's
//! `random.sample`, used on NAS tables).
//!
//! On a [`Categorical`] cell space the mutation changes one coordinate; on a
//! table of architectures ([`crate::nasbench::tabular::TableSpace`]) it is the
//! benchmark's own one-edge mutation.
//!
//! Asks are strictly sequential: every ask returns exactly one point. The
//! first `population` asks return uniform random points (the initial
//! population); every later ask returns one mutated child. One point per ask
//! keeps the trace identical to the original sequential algorithm.

use std::collections::VecDeque;

use crate::optimizer::{Evaluated, Optimizer};
use crate::rng::Stream;
use crate::space::{Categorical, Mutate};

/// How a tournament draws its members from the population.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Tournament {
    /// `sample_size` independent uniform draws.
    #[default]
    WithReplacement,
    /// `min(sample_size, population)` distinct members.
    WithoutReplacement,
}

/// Regularized evolution on a space with a mutation operator.
#[derive(Clone, Debug)]
pub struct RegularizedEvolution<S: Mutate = Categorical> {
    space: S,
    capacity: usize,
    sample_size: usize,
    tournament: Tournament,
    population: VecDeque<Evaluated<S::X>>,
    /// Number of points told so far; the first `capacity` are the random
    /// initial population.
    told: usize,
}

impl<S: Mutate> RegularizedEvolution<S> {
    /// REA keeping `population` members and drawing `sample_size` of them per
    /// tournament (both at least 1; NB201 uses 10 and 10 on its cell space),
    /// with replacement.
    pub fn new(space: S, population: usize, sample_size: usize) -> Self {
        let capacity = population.max(1);
        Self {
            space,
            capacity,
            sample_size: sample_size.max(1),
            tournament: Tournament::default(),
            population: VecDeque::with_capacity(capacity + 1),
            told: 0,
        }
    }

    /// The same with another tournament draw.
    pub fn with_tournament(mut self, tournament: Tournament) -> Self {
        self.tournament = tournament;
        self
    }

    /// The current population, oldest first.
    pub fn population(&self) -> &VecDeque<Evaluated<S::X>> {
        &self.population
    }

    /// Tournament: the best `y[0]` of the drawn members wins, ties going to
    /// the earliest draw (NaN never wins against a number drawn before it).
    fn select_parent(&self, rng: &mut Stream) -> &Evaluated<S::X> {
        let pop = &self.population;
        let better =
            |c: &Evaluated<S::X>, b: Option<&Evaluated<S::X>>| b.is_none_or(|b| c.y[0] > b.y[0]);
        let mut best: Option<&Evaluated<S::X>> = None;
        match self.tournament {
            Tournament::WithReplacement => {
                for _ in 0..self.sample_size {
                    let c = &pop[rng.below(pop.len())];
                    if better(c, best) {
                        best = Some(c);
                    }
                }
            }
            Tournament::WithoutReplacement => {
                let k = self.sample_size.min(pop.len());
                for i in rand::seq::index::sample(rng, pop.len(), k).iter() {
                    let c = &pop[i];
                    if better(c, best) {
                        best = Some(c);
                    }
                }
            }
        }
        best.expect("sample_size >= 1")
    }
}

impl<S: Mutate> Optimizer<S::X> for RegularizedEvolution<S> {
    fn name(&self) -> String {
        "rea".into()
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<S::X> {
        if self.told < self.capacity || self.population.is_empty() {
            return vec![self.space.sample(rng)];
        }
        let parent = self.select_parent(rng).x.clone();
        vec![self.space.mutate(&parent, rng)]
    }

    fn tell(&mut self, evaluated: &[Evaluated<S::X>], _rng: &mut Stream) {
        for e in evaluated {
            self.population.push_back(e.clone());
            // Aging: the oldest member dies, whatever its fitness.
            while self.population.len() > self.capacity {
                self.population.pop_front();
            }
            self.told += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimizer::run;
    use crate::problem::Problem;

    /// Number of coordinates matching a hidden target: unique optimum `dim`.
    struct Matches {
        space: Categorical,
        target: Vec<usize>,
    }
    impl Problem for Matches {
        type Space = Categorical;
        fn name(&self) -> String {
            "matches".into()
        }
        fn space(&self) -> &Categorical {
            &self.space
        }
        fn evaluate(&self, x: &Vec<usize>) -> Vec<f64> {
            vec![x.iter().zip(&self.target).filter(|(a, b)| a == b).count() as f64]
        }
        fn optimum(&self) -> Option<f64> {
            Some(self.target.len() as f64)
        }
    }

    fn problem() -> Matches {
        Matches {
            space: Categorical::new(vec![5; 6]),
            target: vec![3, 0, 4, 1, 2, 4],
        }
    }

    #[test]
    fn finds_known_optimum() {
        let p = problem();
        for seed in 0..5 {
            let mut opt = RegularizedEvolution::new(p.space.clone(), 20, 5);
            let mut rng = Stream::for_run("rea-test", "rea", seed);
            let trace = run(&p, &mut opt, 600, &mut rng, &mut []);
            let best = trace.best_so_far(0).last().copied().unwrap();
            assert_eq!(best, 6.0, "seed {seed}");
        }
    }

    #[test]
    fn population_never_exceeds_capacity() {
        let p = problem();
        let mut opt = RegularizedEvolution::new(p.space.clone(), 7, 3);
        let mut rng = Stream::root("rea-cap");
        for step in 0..100 {
            let xs = opt.ask(&mut rng);
            assert_eq!(xs.len(), 1, "one point per ask");
            let told: Vec<_> = xs
                .into_iter()
                .map(|x| Evaluated {
                    y: p.evaluate(&x),
                    x,
                })
                .collect();
            opt.tell(&told, &mut rng);
            assert_eq!(opt.population().len(), (step + 1).min(7));
        }
    }

    #[test]
    fn aging_removes_oldest() {
        let mut opt = RegularizedEvolution::new(Categorical::new(vec![10]), 3, 2);
        let mut rng = Stream::root("rea-age");
        // The oldest goes even when it is the best.
        let ys = [100.0, 1.0, 2.0, 3.0, 4.0];
        for (i, y) in ys.iter().enumerate() {
            let e = Evaluated {
                x: vec![i],
                y: vec![*y],
            };
            opt.tell(&[e], &mut rng);
        }
        let xs: Vec<usize> = opt.population().iter().map(|e| e.x[0]).collect();
        assert_eq!(xs, vec![2, 3, 4]);
    }

    #[test]
    fn children_are_one_mutation_from_a_member() {
        let p = problem();
        let mut opt = RegularizedEvolution::new(p.space.clone(), 5, 2);
        let mut rng = Stream::root("rea-child");
        for step in 0..40 {
            let before: Vec<Vec<usize>> = opt.population().iter().map(|e| e.x.clone()).collect();
            let x = opt.ask(&mut rng).pop().unwrap();
            if step >= 5 {
                assert!(before
                    .iter()
                    .any(|m| { m.iter().zip(&x).filter(|(a, b)| a != b).count() == 1 }));
            }
            let y = p.evaluate(&x);
            opt.tell(&[Evaluated { x, y }], &mut rng);
        }
    }

    #[test]
    fn deterministic_given_stream() {
        let p = problem();
        let trace = |seed| {
            let mut opt = RegularizedEvolution::new(p.space.clone(), 10, 10);
            let mut rng = Stream::for_run("rea-det", "rea", seed);
            run(&p, &mut opt, 200, &mut rng, &mut [])
                .entries
                .into_iter()
                .map(|e| (e.x, e.y))
                .collect::<Vec<_>>()
        };
        assert_eq!(trace(1), trace(1));
        assert_ne!(trace(1), trace(2));
    }
}
