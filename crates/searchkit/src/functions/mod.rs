//! Synthetic test problems with known optima, in particular those of the
//! LA-MCTS experiments (Wang, Fonseca, Tian, NeurIPS 2020): Ackley, Levy,
//! Rosenbrock and Rastrigin in any dimension (minimised), and the 60-D rover
//! trajectory planning problem of Wang et al. 2018 (EBO), maximised.
//!
//! Default bounds are those of the authors' code, facebookresearch/LaMCTS:
//! `LA-MCTS/functions/functions.py` (Ackley `[-5, 10]^d`, Levy `[-10, 10]^d`)
//! and the TuRBO patch shipped as `LA-MCTS/revision.patch`, which adds a
//! `functions.py` with Rosenbrock `[-10, 10]^d` and Rastrigin
//! `[-5.12, 5.12]^d`. The authors' Levy differs from the standard one in the
//! range of its middle sum: both are provided ([`Levy`], [`LevyLamcts`]). The
//! rover follows zi-w/Ensemble-Bayesian-Optimization,
//! `test_functions/rover_function.py` and `rover_utils.py` (see [`Rover60`]).
//! [`Synthetic`] names them all for configuration files.

mod classic;
mod multi;
mod rover;

pub use classic::{Ackley, Levy, LevyLamcts, Rastrigin, Rosenbrock};
pub use multi::{BraninCurrin, Dtlz2, VehicleSafety};
pub use rover::Rover60;

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

/// The names [`Synthetic::parse`] accepts.
pub const SYNTHETIC_NAMES: [&str; 6] = [
    "ackley",
    "levy",
    "levy-lamcts",
    "rosenbrock",
    "rastrigin",
    "rover",
];

/// Any of the LA-MCTS synthetic problems, chosen by name (for configs).
#[derive(Clone, Debug)]
pub enum Synthetic {
    Ackley(Ackley),
    Levy(Levy),
    LevyLamcts(LevyLamcts),
    Rosenbrock(Rosenbrock),
    Rastrigin(Rastrigin),
    Rover(Rover60),
}

impl Synthetic {
    /// The problem called `name` (case-insensitive, `_` read as `-`) in `dim`
    /// dimensions, with the authors' default bounds. `rover` exists only in
    /// 60 dimensions; Rosenbrock needs at least 2, the others at least 1.
    pub fn parse(name: &str, dim: usize) -> Result<Synthetic, String> {
        let key = name.trim().to_ascii_lowercase().replace('_', "-");
        let min_dim = if key == "rosenbrock" { 2 } else { 1 };
        if SYNTHETIC_NAMES.contains(&key.as_str()) && key != "rover" && dim < min_dim {
            return Err(format!("{key} needs dimension >= {min_dim}, got {dim}"));
        }
        Ok(match key.as_str() {
            "ackley" => Synthetic::Ackley(Ackley::new(dim)),
            "levy" => Synthetic::Levy(Levy::new(dim)),
            "levy-lamcts" => Synthetic::LevyLamcts(LevyLamcts::new(dim)),
            "rosenbrock" => Synthetic::Rosenbrock(Rosenbrock::new(dim)),
            "rastrigin" => Synthetic::Rastrigin(Rastrigin::new(dim)),
            "rover" => {
                if dim != Rover60::DIM {
                    return Err(format!(
                        "rover is defined in {} dimensions only, got {dim}",
                        Rover60::DIM
                    ));
                }
                Synthetic::Rover(Rover60::new())
            }
            _ => {
                return Err(format!(
                    "unknown synthetic function '{name}'; valid names: {}",
                    SYNTHETIC_NAMES.join(", ")
                ))
            }
        })
    }

    /// A global minimiser, where one is known (not for the rover).
    pub fn argmin(&self) -> Option<Vec<f64>> {
        match self {
            Synthetic::Ackley(p) => Some(p.argmin()),
            Synthetic::Levy(p) => Some(p.argmin()),
            Synthetic::LevyLamcts(p) => Some(p.argmin()),
            Synthetic::Rosenbrock(p) => Some(p.argmin()),
            Synthetic::Rastrigin(p) => Some(p.argmin()),
            Synthetic::Rover(_) => None,
        }
    }

    fn inner(&self) -> &dyn Problem<Space = BoxSpace> {
        match self {
            Synthetic::Ackley(p) => p,
            Synthetic::Levy(p) => p,
            Synthetic::LevyLamcts(p) => p,
            Synthetic::Rosenbrock(p) => p,
            Synthetic::Rastrigin(p) => p,
            Synthetic::Rover(p) => p,
        }
    }
}

impl Problem for Synthetic {
    type Space = BoxSpace;
    fn name(&self) -> String {
        self.inner().name()
    }
    fn space(&self) -> &BoxSpace {
        self.inner().space()
    }
    fn senses(&self) -> Vec<Sense> {
        self.inner().senses()
    }
    fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
        self.inner().evaluate(x)
    }
    fn optimum(&self) -> Option<f64> {
        self.inner().optimum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_parse_names_and_errors() {
        for name in SYNTHETIC_NAMES {
            let dim = if name == "rover" { 60 } else { 7 };
            let p = Synthetic::parse(name, dim).unwrap();
            assert_eq!(p.space().lower.len(), dim);
            assert!(p.name().starts_with(name), "{} vs {name}", p.name());
        }
        assert!(matches!(
            Synthetic::parse("Levy_LaMCTS", 3),
            Ok(Synthetic::LevyLamcts(_))
        ));
        let err = Synthetic::parse("griewank", 3).unwrap_err();
        for name in SYNTHETIC_NAMES {
            assert!(err.contains(name), "{err}");
        }
        assert!(Synthetic::parse("rover", 10).is_err());
        assert!(Synthetic::parse("ackley", 0).is_err());
        assert!(Synthetic::parse("rosenbrock", 1).is_err());
    }

    #[test]
    fn functions_synthetic_delegates() {
        let p = Synthetic::parse("rastrigin", 2).unwrap();
        assert_eq!(p.senses(), vec![Sense::Minimize]);
        assert!((p.evaluate(&vec![1.0, 1.0])[0] - 2.0).abs() < 1e-12);
        assert_eq!(p.optimum(), Some(0.0));
        assert_eq!(p.argmin(), Some(vec![0.0, 0.0]));
        let r = Synthetic::parse("rover", 60).unwrap();
        assert_eq!(r.senses(), vec![Sense::Maximize]);
        assert_eq!(r.argmin(), None);
    }
}
