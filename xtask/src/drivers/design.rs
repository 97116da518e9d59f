//! Paired initial designs, the search drivers' shared option
//! `problem.initial_design`:
//! - `"per-method"`: each method draws its own first points from its own
//!   run stream (keyed by experiment, method and seed);
//! - `"paired"`: `problem.design_size` scrambled-Sobol points drawn from the
//!   seed's design stream ([`super::RunContext::design`], keyed by experiment
//!   and seed alone) are every method's first evaluations. Methods that draw
//!   a larger design of their own draw only the rest (the `Optimizer`
//!   contract), so the comparison between methods is paired: common random
//!   numbers.

use crate::config::Params;
use anyhow::{bail, Result};
use searchkit::baselines::RandomSearch;
use searchkit::optimizer::{Optimizer, WithDesign};
use searchkit::qmc;
use searchkit::rng::Stream;
use searchkit::space::{BoxSpace, FiniteSpace, Space};

/// How a driver's methods get their first points.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pairing {
    PerMethod,
    Paired { n: usize },
}

impl Pairing {
    /// The values every driver accepts; LaMOO adds `"authors"`.
    pub const CHOICES: [&'static str; 2] = ["per-method", "paired"];

    /// Reads `initial_design` (one of `choices`, which starts with
    /// [`Self::CHOICES`]) and `design_size` from the `problem` table. Returns
    /// the choice's name too, for a driver's own extra choices.
    pub fn parse(
        p: &mut Params<'_>,
        default: &str,
        choices: &[&str],
        default_size: usize,
    ) -> Result<(Self, String)> {
        let name = p.choice("initial_design", Some(default), choices)?;
        let pairing = match name.as_str() {
            "paired" => {
                // Read only here: `design_size` beside another choice is an
                // unknown key, so a mistaken config fails.
                let size = p.usize_or("design_size", default_size)?;
                if size == 0 {
                    let key = format!("{}.design_size", p.key);
                    bail!(p.loaded.err(&key, "must be at least 1"));
                }
                Pairing::Paired { n: size }
            }
            _ => Pairing::PerMethod,
        };
        Ok((pairing, name))
    }

    /// The seed's shared design on `space`: `n` scrambled-Sobol points of
    /// the design stream. `None` for per-method designs.
    pub fn box_points(&self, space: &BoxSpace, design: &Stream) -> Option<Vec<Vec<f64>>> {
        match *self {
            Pairing::PerMethod => None,
            Pairing::Paired { n } => Some(
                qmc::sobol_from(&mut design.child("sobol"), n, space.dim())
                    .iter()
                    .map(|u| space.from_unit(u))
                    .collect(),
            ),
        }
    }

    /// The seed's shared design on a finite space (a table, the NB-201
    /// cells): `n` distinct points drawn uniformly from the design stream.
    pub fn distinct_points<S: FiniteSpace + Clone>(
        &self,
        space: &S,
        design: &Stream,
    ) -> Option<Vec<S::X>> {
        match *self {
            Pairing::PerMethod => None,
            Pairing::Paired { n } => Some(
                RandomSearch::without_replacement(space.clone(), n)
                    .ask(&mut design.child("distinct")),
            ),
        }
    }

    /// `opt`, started from the seed's shared design when paired.
    pub fn wrap_box(
        &self,
        space: &BoxSpace,
        design: &Stream,
        opt: Box<dyn Optimizer<Vec<f64>>>,
    ) -> Box<dyn Optimizer<Vec<f64>>> {
        match self.box_points(space, design) {
            Some(xs) => Box::new(WithDesign::new(xs, opt)),
            None => opt,
        }
    }
}
