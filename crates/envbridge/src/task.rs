//! Environment objectives as searchkit problems, after the LA-MCTS authors'
//! `functions/mujoco_functions.py` (Swimmer, Hopper) and their Lunar Lander
//! objective (`functions/functions.py`, the heuristic controller of TuRBO's
//! experiments): a policy's mean return over a few rollouts with fixed
//! reset seeds, maximised.

use crate::worker::{Answer, Error, Lease, Request};
use searchkit::problem::{Problem, Sense};
use searchkit::space::BoxSpace;
use std::sync::Mutex;

/// The tasks by name (config spelling).
pub const TASK_NAMES: [&str; 7] = [
    "swimmer",
    "hopper",
    "walker2d",
    "halfcheetah",
    "ant",
    "humanoid",
    "lunarlander",
];

/// Hopper's observation mean and standard deviation, fixed in the authors'
/// code (mujoco_functions.py, class Hopper).
const HOPPER_MEAN: [f64; 11] = [
    1.41599384,
    -0.05478602,
    -0.25522216,
    -0.25404721,
    0.27525085,
    2.60889529,
    -0.0085352,
    0.0068375,
    -0.07123674,
    -0.05044839,
    -0.45569644,
];
const HOPPER_STD: [f64; 11] = [
    0.19805723, 0.07824488, 0.17120271, 0.32000514, 0.62401884, 0.82814161, 1.51915814, 1.17378372,
    1.87761249, 3.63482761, 5.7164752,
];

/// One environment objective: which environment, which policy, its bounds.
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    pub name: &'static str,
    /// Gymnasium id.
    pub env: &'static str,
    /// `linear` or `lunar-heuristic`.
    pub policy: &'static str,
    /// Number of policy parameters.
    pub dim: usize,
    pub lower: f64,
    pub upper: f64,
    pub obs_mean: Option<Vec<f64>>,
    pub obs_std: Option<Vec<f64>>,
}

impl Task {
    /// The task named `name` (one of [`TASK_NAMES`]).
    pub fn parse(name: &str) -> Result<Self, String> {
        // Linear policies: (actions, observations) of the gymnasium v5 task.
        let linear = |name, env, act: usize, obs: usize| Task {
            name,
            env,
            policy: "linear",
            dim: act * obs,
            lower: -1.0,
            upper: 1.0,
            obs_mean: None,
            obs_std: None,
        };
        Ok(match name {
            "swimmer" => linear("swimmer", "Swimmer-v5", 2, 8),
            "hopper" => Task {
                obs_mean: Some(HOPPER_MEAN.to_vec()),
                obs_std: Some(HOPPER_STD.to_vec()),
                ..linear("hopper", "Hopper-v5", 3, 11)
            },
            "walker2d" => linear("walker2d", "Walker2d-v5", 6, 17),
            "halfcheetah" => linear("halfcheetah", "HalfCheetah-v5", 6, 17),
            // v5 observations: Ant 105 (v2: 111), Humanoid 348 (v2: 376).
            "ant" => linear("ant", "Ant-v5", 8, 105),
            "humanoid" => linear("humanoid", "Humanoid-v5", 17, 348),
            "lunarlander" => Task {
                name: "lunarlander",
                env: "LunarLander-v3",
                policy: "lunar-heuristic",
                dim: 12,
                lower: 0.0,
                upper: 2.0,
                obs_mean: None,
                obs_std: None,
            },
            _ => {
                return Err(format!(
                    "unknown task `{name}` (choices: {})",
                    TASK_NAMES.join(", ")
                ))
            }
        })
    }

    pub fn space(&self) -> BoxSpace {
        BoxSpace::new(vec![self.lower; self.dim], vec![self.upper; self.dim])
    }

    /// The request evaluating `x` with one rollout per seed.
    pub fn request(&self, x: &[f64], seeds: &[u64]) -> Request {
        Request {
            env: self.env.into(),
            policy: self.policy.into(),
            x: x.to_vec(),
            seeds: seeds.to_vec(),
            max_steps: None,
            obs_mean: self.obs_mean.clone(),
            obs_std: self.obs_std.clone(),
            obs_steps: vec![],
            frame_every: None,
        }
    }
}

/// The mean of the rollouts' returns, summed in order (as numpy's mean of
/// three values).
pub fn mean_return(a: &Answer) -> f64 {
    a.returns.iter().sum::<f64>() / a.returns.len() as f64
}

/// A [`Task`] as a searchkit problem, evaluated by one leased worker.
///
/// `Problem::evaluate` cannot fail, so [`EnvProblem::try_evaluate`] is the
/// call to use; `evaluate` keeps the first error (see
/// [`EnvProblem::take_error`]) and returns NaN from then on.
#[derive(Debug)]
pub struct EnvProblem {
    task: Task,
    seeds: Vec<u64>,
    max_steps: Option<usize>,
    space: BoxSpace,
    worker: Mutex<Lease>,
    error: Mutex<Option<Error>>,
}

impl EnvProblem {
    /// `max_steps` caps each rollout below the environment's own time limit
    /// (short rollouts for tests and `ci` profiles).
    pub fn new(task: Task, seeds: Vec<u64>, max_steps: Option<usize>, worker: Lease) -> Self {
        Self {
            space: task.space(),
            task,
            seeds,
            max_steps,
            worker: Mutex::new(worker),
            error: Mutex::new(None),
        }
    }

    pub fn task(&self) -> &Task {
        &self.task
    }

    /// The mean return of the policy `x` over the reset seeds.
    pub fn try_evaluate(&self, x: &[f64]) -> Result<f64, Error> {
        let mut req = self.task.request(x, &self.seeds);
        req.max_steps = self.max_steps;
        let answer = self
            .worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .request(&req)?;
        if answer.returns.len() != self.seeds.len() {
            return Err(Error::Request {
                message: format!(
                    "{} returns for {} seeds",
                    answer.returns.len(),
                    self.seeds.len()
                ),
                tail: String::new(),
            });
        }
        Ok(mean_return(&answer))
    }

    /// The first error `evaluate` met, if any.
    pub fn take_error(&self) -> Option<Error> {
        self.error.lock().unwrap_or_else(|p| p.into_inner()).take()
    }
}

impl Problem for EnvProblem {
    type Space = BoxSpace;
    fn name(&self) -> String {
        self.task.name.into()
    }
    fn space(&self) -> &BoxSpace {
        &self.space
    }
    fn senses(&self) -> Vec<Sense> {
        vec![Sense::Maximize]
    }
    fn evaluate(&self, x: &Vec<f64>) -> Vec<f64> {
        let mut slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_some() {
            return vec![f64::NAN];
        }
        drop(slot);
        match self.try_evaluate(x) {
            Ok(v) => vec![v],
            Err(e) => {
                slot = self.error.lock().unwrap_or_else(|p| p.into_inner());
                *slot = Some(e);
                vec![f64::NAN]
            }
        }
    }
}
