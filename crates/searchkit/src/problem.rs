//! Problems: what an optimiser evaluates.
//!
//! Convention: optimisers always **maximise**. A problem reports its raw
//! objective values together with a [`Sense`] per objective; the run loop hands
//! optimisers the values turned into maximisation form ([`Problem::oriented`]),
//! and keeps the raw values in the trace for reporting.

use crate::space::Space;

/// Whether an objective is to be minimised or maximised.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sense {
    Minimize,
    Maximize,
}

/// A single- or multi-objective black-box problem over a space.
pub trait Problem: Send + Sync {
    type Space: Space;

    /// A short name, used in records.
    fn name(&self) -> String;
    /// The search space.
    fn space(&self) -> &Self::Space;
    /// Number of objectives.
    fn num_objectives(&self) -> usize {
        1
    }
    /// Direction of each objective (default: all maximised).
    fn senses(&self) -> Vec<Sense> {
        vec![Sense::Maximize; self.num_objectives()]
    }
    /// Raw objective values of one point.
    fn evaluate(&self, x: &<Self::Space as Space>::X) -> Vec<f64>;
    /// Raw objective values of a batch (override for vectorised problems).
    fn evaluate_batch(&self, xs: &[<Self::Space as Space>::X]) -> Vec<Vec<f64>> {
        xs.iter().map(|x| self.evaluate(x)).collect()
    }
    /// Best raw value of a single-objective problem, where known.
    fn optimum(&self) -> Option<f64> {
        None
    }
    /// Whether an evaluation of `x` with raw values `raw` is the known
    /// optimum (where [`StopWhen::KnownOptimum`](crate::optimizer::StopWhen)
    /// stops): by default objective 0 at or beyond [`Problem::optimum`], so
    /// ties count; a problem with one designated optimum overrides it.
    fn is_optimum(&self, x: &<Self::Space as Space>::X, raw: &[f64]) -> bool {
        let _ = x;
        match self.optimum() {
            Some(o) => self.oriented(&raw[..1])[0] >= self.oriented(&[o])[0],
            None => false,
        }
    }
    /// Hypervolume reference point, in maximisation form, where defined.
    fn reference_point(&self) -> Option<Vec<f64>> {
        None
    }
    /// Maximum hypervolume w.r.t. the reference point, where known.
    fn max_hypervolume(&self) -> Option<f64> {
        None
    }
    /// Raw values turned into maximisation form.
    fn oriented(&self, raw: &[f64]) -> Vec<f64> {
        raw.iter()
            .zip(self.senses())
            .map(|(v, s)| if s == Sense::Minimize { -v } else { *v })
            .collect()
    }
}
