//! PlaLaM / LaP3: path planning by learned space partitions.
//!
//! K. Yang, T. Zhang, C. Cummins, B. Cui, B. Steiner, L. Wang, J. E.
//! Gonzalez, D. Klein, Y. Tian, "Learning Space Partitions for Path
//! Planning", NeurIPS 2021 (arXiv:2106.10544; code yangkevin2/plalam, read
//! at 7bd5fb3). LaP3 plans an open-loop action sequence with LA-MCTS's
//! learned partitions and changes three things: a node is valued by the
//! *best* sample it holds rather than the mean (a planner wants one good
//! path, not a good region on average); the partitions are learned in a
//! *latent space* of what the rollouts saw (a random 3-D CNN over every
//! 20th first-person frame) rather than in action space, where plans that
//! reach the same place are far apart; and the solver inside the chosen
//! leaf is CMA-ES, started from the leaf's best samples.
//!
//! Entry points:
//! - [`Lap3Config`] (the authors' MiniWorld settings by default) and
//!   [`lap3`], which gives [`Lap3`], core's `PartitionSearch` with LaP3's
//!   pieces: [`Lap3Labeller`] (2-means, then an RBF SVC whose predictions
//!   split the node), [`Metric`] / [`MaxValue`] (node values), [`LeafCma`]
//!   (the leaf CMA-ES as the code runs it), [`PlanSpace`] (plans, the
//!   Gaussian initial design, the latent features recomputed at every
//!   rebuild);
//! - [`plan`]: the planning loop over an [`Objective`], anything that rolls
//!   out an action sequence (a closure `FnMut(&[f64]) -> f64` is one; with
//!   the latent on, the objective also returns the frames);
//! - [`Encoder`]: the random Conv3d encoder of the latent, in plain Rust
//!   (exact, so the default build needs no libtorch);
//! - [`baselines`]: the authors' CEM, VOO, random shooting and MPPI (its
//!   division by zero at the code's defaults fixed, see [`baselines::Mppi`]);
//! - [`ilqr`]: the authors' iLQR ([`Ilqr`]: pylqr's solver over a batched
//!   one-step [`Model`] and a per-step cost, every derivative by finite
//!   differences; on MiniWorld the model is the simulator's move rule and
//!   the cost the privileged change in distance to the box).
//!
//! Planning your own problem: without frames, switch the latent off (the
//! partitions are then learned on the actions: the paper's "without latent"
//! ablation). A 2-D point should reach `(3, 3)` in 10 moves of at most 0.5:
//!
//! ```
//! use plalam::{lap3, plan, Lap3Config};
//! use searchkit::rng::Stream;
//!
//! let steps = 10;
//! let mut reach = |a: &[f64]| {
//!     let (mut x, mut y) = (0.0f64, 0.0f64);
//!     for t in 0..steps {
//!         x += 0.5 * a[2 * t].tanh();
//!         y += 0.5 * a[2 * t + 1].tanh();
//!     }
//!     -((x - 3.0).powi(2) + (y - 3.0).powi(2)).sqrt()
//! };
//! let config = Lap3Config {
//!     latent: false,
//!     init: 20,
//!     init_sigma: 1.0,
//!     ..Lap3Config::default()
//! };
//! let rng = Stream::for_run("doc", "lap3", 0);
//! let mut search = lap3(config, 2 * steps, &rng).unwrap();
//! let returns = plan(&mut search, &mut reach, 300, &mut rng.child("plan")).unwrap();
//! let best = returns.iter().copied().fold(f64::NEG_INFINITY, f64::max);
//! assert_eq!(returns.len(), 300);
//! assert!(best > -0.5, "best distance {}", -best);
//! let (actions, value) = search.best().unwrap();
//! assert_eq!((actions.actions.len(), value), (20, best));
//! ```

pub mod baselines;
pub mod encoder;
pub mod ilqr;
mod lap3;
mod partition;

pub use encoder::{Encoder, FrameShape};
pub use ilqr::{FnModel, Ilqr, IlqrConfig, IlqrStop, Model};
pub use lap3::{
    lap3, one_generation, plan, Lap3, Lap3Config, Lap3Error, LeafCma, Objective, Outcome, PlanError,
};
pub use partition::{Frames, Lap3Labeller, MaxValue, Metric, Plan, PlanSpace};

#[cfg(test)]
mod tests;
