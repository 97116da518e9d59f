//! Small test problems with known optima (more live with the papers that use
//! them, e.g. LA-MCTS's synthetic functions).

use crate::problem::{Problem, Sense};
use crate::space::BoxSpace;

/// f(x) = sum x_i^2 on [-5, 5]^d, minimised; optimum 0 at the origin.
#[derive(Clone, Debug)]
pub struct Sphere {
    space: BoxSpace,
}

impl Sphere {
    pub fn new(d: usize) -> Self {
        Self {
            space: BoxSpace::cube(d, -5.0, 5.0),
        }
    }
}

impl Problem for Sphere {
    type Space = BoxSpace;
    fn name(&self) -> String {
        format!("sphere-{}", self.space.lower.len())
    }
    fn space(&self) -> &BoxSpace {
        &self.space
    }
    fn senses(&self) -> Vec<Sense> {
        vec![Sense::Minimize]
    }
    fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
        vec![x.iter().map(|v| v * v).sum()]
    }
    fn optimum(&self) -> Option<f64> {
        Some(0.0)
    }
}
