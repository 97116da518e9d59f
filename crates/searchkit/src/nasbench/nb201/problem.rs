//! NAS-Bench-201 as a single-objective [`Problem`] over the op-vector space.

use super::{space, table, Cell, Metric};
use crate::problem::{Problem, Sense};
use crate::space::Categorical;

/// Look up one [`Metric`] of a cell given as an op vector. Accuracies are
/// maximised; params, FLOPs and training time minimised (see [`Problem::senses`]).
#[derive(Clone, Debug)]
pub struct Nb201Problem {
    metric: Metric,
    space: Categorical,
}

impl Nb201Problem {
    pub fn new(metric: Metric) -> Self {
        Self {
            metric,
            space: space(),
        }
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }
}

impl Problem for Nb201Problem {
    type Space = Categorical;

    fn name(&self) -> String {
        format!("nb201-{}", self.metric)
    }

    fn space(&self) -> &Categorical {
        &self.space
    }

    fn senses(&self) -> Vec<Sense> {
        vec![self.metric.sense()]
    }

    /// Panics if `x` is not a point of the space (an optimiser bug).
    fn evaluate(&self, x: &Vec<usize>) -> Vec<f64> {
        let cell = Cell::from_ops(x).unwrap_or_else(|e| panic!("Nb201Problem::evaluate: {e}"));
        vec![table().record_of(cell).value(self.metric)]
    }

    fn optimum(&self) -> Option<f64> {
        Some(table().best(self.metric).1)
    }
}
