//! Driver for LA-MCTS's environment experiments (MuJoCo locomotion with
//! linear policies, Lunar Lander's heuristic controller): the same methods
//! as the synthetic driver, on `envbridge` tasks run by Python workers.

use super::design::Pairing;
use super::lamcts::{best_so_far, parse_methods, Algo};
use super::{Driver, Prepared, RunContext, RunOutput};
use crate::config::{Loaded, Params};
use crate::journal::Journal;
use anyhow::{anyhow, bail, Result};
use envbridge::{EnvProblem, Pool, Task, TASK_NAMES};
use searchkit::optimizer::Evaluated;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub fn driver() -> Driver {
    Driver {
        name: "lamcts-env",
        about: "LA-MCTS vs TuRBO / CMA-ES / random on gymnasium tasks (MuJoCo linear policies, Lunar Lander; best mean return vs evaluations; needs the simulators' venv, `cargo xtask setup`)",
        algorithms: &["lamcts", "bo", "turbo", "cmaes", "random"],
        prepare,
    }
}

/// How long one evaluation (all its rollouts) may take before the worker
/// counts as hung. A Humanoid evaluation takes a few seconds.
const TIMEOUT: Duration = Duration::from_secs(600);

#[derive(Debug)]
struct EnvExp {
    task: Task,
    seeds: Vec<u64>,
    /// Cap on steps per rollout (0: the environment's own limit).
    max_steps: usize,
    pairing: Pairing,
    methods: Vec<Algo>,
    /// Workers shared by this experiment's runs, made on the first run.
    pool: Mutex<Option<Arc<Pool>>>,
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let task = p.choice("task", None, &TASK_NAMES)?;
    let seeds = p.usize_list_or("reset_seeds", &[1, 2, 3])?;
    let max_steps = p.usize_or("max_steps", 0)?;
    let (pairing, _) = Pairing::parse(&mut p, "per-method", &Pairing::CHOICES, 10)?;
    p.finish()?;
    if seeds.is_empty() {
        bail!(l.err("problem.reset_seeds", "needs at least one reset seed"));
    }
    let task = Task::parse(&task).map_err(|e| l.err("problem.task", e))?;
    Ok(Box::new(EnvExp {
        task,
        seeds: seeds.into_iter().map(|s| s as u64).collect(),
        max_steps,
        pairing,
        methods: parse_methods(l)?,
        pool: Mutex::new(None),
    }))
}

impl EnvExp {
    fn pool(&self) -> Result<Arc<Pool>> {
        let mut slot = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(envbridge::pool(TIMEOUT)?);
        }
        Ok(Arc::clone(slot.as_ref().expect("set above")))
    }
}

impl Prepared for EnvExp {
    fn revision(&self, method: usize) -> u32 {
        self.methods[method].revision()
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let (budget, mut rng) = (ctx.budget, ctx.rng.clone());
        let problem = EnvProblem::new(
            self.task.clone(),
            self.seeds.clone(),
            (self.max_steps > 0).then_some(self.max_steps),
            self.pool()?.lease()?,
        );
        let space = self.task.space();
        let opt = self.methods[ctx.method].build(space.clone())?;
        let mut opt = self.pairing.wrap_box(&space, &ctx.design, opt);
        // Evaluations of an interrupted run of this job are replayed, new
        // ones journaled: a 4,000-evaluation run resumes where it stopped.
        let mut journal = match &ctx.journal {
            Some(spec) => Some(Journal::<Vec<f64>, f64>::open(spec)?),
            None => None,
        };
        if let Some(j) = journal.as_ref().filter(|j| j.pending() > 0) {
            eprintln!(
                "{}: seed {}: resuming from its journal, {} evaluations to replay",
                self.task.env,
                ctx.seed,
                j.pending()
            );
        }
        // The run loop's ask / evaluate / tell, stopping at the first failed
        // evaluation (a crashed or hung worker) with its error.
        let mut points: Vec<(Vec<f64>, f64)> = Vec::with_capacity(budget);
        while points.len() < budget {
            let mut xs = opt.ask(&mut rng);
            if xs.is_empty() {
                break;
            }
            xs.truncate(budget - points.len());
            let mut told = Vec::with_capacity(xs.len());
            for x in xs {
                let k = points.len() + 1;
                let eval = |x: &Vec<f64>| {
                    problem
                        .try_evaluate(x)
                        .map_err(|e| anyhow!("{} evaluation {k} of {budget}: {e}", self.task.env))
                };
                let f = match journal.as_mut() {
                    Some(j) => j.evaluate(&x, eval)?,
                    None => eval(&x)?,
                };
                told.push(Evaluated {
                    x: x.clone(),
                    y: vec![f],
                });
                points.push((x, f));
            }
            opt.tell(&told, &mut rng);
        }
        let (mut out, best) = best_so_far(points.iter().map(|(x, f)| (x, *f)), false);
        out.scalars.insert("final_best_return".into(), best);
        Ok(out)
    }
}
