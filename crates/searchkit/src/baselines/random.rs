use crate::optimizer::{Evaluated, Optimizer};
use crate::rng::Stream;
use crate::space::Space;

/// Uniform random search: `batch` independent uniform points per ask.
#[derive(Clone, Debug)]
pub struct RandomSearch<S> {
    space: S,
    batch: usize,
}

impl<S: Space> RandomSearch<S> {
    pub fn new(space: S, batch: usize) -> Self {
        Self {
            space,
            batch: batch.max(1),
        }
    }
}

impl<S: Space> Optimizer<S::X> for RandomSearch<S> {
    fn name(&self) -> String {
        "random".into()
    }
    fn ask(&mut self, rng: &mut Stream) -> Vec<S::X> {
        (0..self.batch).map(|_| self.space.sample(rng)).collect()
    }
    fn tell(&mut self, _evaluated: &[Evaluated<S::X>], _rng: &mut Stream) {}
}
