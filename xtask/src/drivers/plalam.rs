//! Driver for PlaLaM's planning experiments: one open-loop plan per maze
//! (a run = a method on one maze, the maze's seed = `seed_base + seed`),
//! rolled out by the `envbridge` worker under the authors' MiniWorld rule.
//! The curve is whether the maze is solved yet (best return > 0) after each
//! rollout, so its mean over seeds is the fraction of mazes solved.
//!
//! Every method takes `dynamics = "worker"` (the default: every rollout and
//! iLQR model query goes to the Python worker) or `"twin"`: the maze's
//! geometry is fetched from the worker once and the moves, collisions and
//! returns are replayed by `envbridge::twin` in Rust, equal to the worker's
//! up to `tanh`'s last bits (see its docs), hundreds of times faster. The
//! twin renders nothing, so LaP3 with the latent refuses it. iLQR runs on
//! it too, but its second finite differences magnify those last bits, so
//! its plans drift from the worker's (slightly: 1e-5 in the return after 5
//! iterations on MazeS3 maze 123).

use super::{Driver, Prepared, RunContext, RunOutput};
use crate::config::{Loaded, Params};
use anyhow::{anyhow, bail, Result};
use envbridge::{nav, twin, Lease, NavTask, NavTwin, Pool, NAV_TASK_NAMES};
use plalam::baselines::{Cem, Mppi, RandomShooting, Voo};
use plalam::{FrameShape, Ilqr, IlqrConfig, Lap3Config, Metric, Model, Objective, Outcome};
use searchkit::baselines::CmaEs;
use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::partition::CmaEsRegion;
use searchkit::space::BoxSpace;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub fn driver() -> Driver {
    Driver {
        name: "plalam-nav",
        about: "PlaLaM (LaP3) vs LA-MCTS / CMA-ES / CEM / VOO / random shooting / MPPI / iLQR: open-loop plans on MiniWorld mazes, fraction solved vs rollouts (needs the simulators' venv, `cargo xtask setup`)",
        algorithms: &[
            "lap3",
            "lamcts",
            "cmaes",
            "cem",
            "voo",
            "random-shooting",
            "mppi",
            "ilqr",
        ],
        prepare,
    }
}

/// A hung worker: one rollout takes well under a second.
const TIMEOUT: Duration = Duration::from_secs(120);

/// Half-width of the box CMA-ES runs in: the plan is unbounded, and the
/// core CMA-ES works in a box, so one 100 standard deviations wide is used.
const CMA_BOX: f64 = 100.0;

#[derive(Clone, Debug)]
enum Method {
    Lap3(Lap3Config),
    LaMcts {
        config: lamcts::LaMctsConfig,
        half_width: f64,
    },
    CmaEs {
        sigma0: f64,
    },
    Cem {
        iters: usize,
        elite_frac: f64,
        init_scale: f64,
    },
    Voo {
        half_width: f64,
        explr_p: f64,
    },
    RandomShooting {
        sigma: f64,
    },
    Mppi {
        samples: usize,
        sigma: f64,
        /// `None`: the code's range / 5 rule.
        temperature: Option<f64>,
    },
    /// The authors' iLQR: one iteration per counted rollout (see `run`).
    Ilqr,
}

/// Who rolls a plan out (method param `dynamics`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Dynamics {
    Worker,
    Twin,
}

const DYNAMICS: [&str; 2] = ["worker", "twin"];

#[derive(Debug)]
struct NavExp {
    task: NavTask,
    seed_base: u64,
    frame_every: usize,
    methods: Vec<Method>,
    /// Per method.
    dynamics: Vec<Dynamics>,
    pool: Mutex<Option<Arc<Pool>>>,
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let task = p.choice("task", None, &NAV_TASK_NAMES)?;
    let seed_base = p.usize_or("seed_base", 123)? as u64;
    let frame_every = p.usize_or("frame_every", 20)?;
    p.finish()?;
    if frame_every == 0 {
        bail!(l.err("problem.frame_every", "must be at least 1"));
    }
    let task = NavTask::parse(&task).map_err(|e| l.err("problem.task", e))?;
    let frames = FrameShape {
        frames: task.frames(frame_every),
        height: task.height,
        width: task.width,
    };
    let (mut methods, mut dynamics) = (vec![], vec![]);
    for (i, m) in l.exp.methods.iter().enumerate() {
        let key = format!("methods[{i}].params");
        let mut p = Params::new(l, key.clone(), &m.params);
        let dyn_ = match p.choice("dynamics", Some("worker"), &DYNAMICS)?.as_str() {
            "twin" => Dynamics::Twin,
            _ => Dynamics::Worker,
        };
        let method = match m.algorithm.as_str() {
            "lap3" => {
                let d = Lap3Config::default();
                let metric = match p.choice("metric", Some("max"), &["max", "mean"])?.as_str() {
                    "mean" => Metric::Mean,
                    _ => Metric::Max,
                };
                let c = Lap3Config {
                    cp: p.f64_or("cp", d.cp)?,
                    leaf_size: p.usize_or("leaf_size", d.leaf_size)?,
                    rebuild_every: p.usize_or("rebuild_every", d.rebuild_every)?,
                    init: p.usize_or("init", d.init)?,
                    init_sigma: p.f64_or("init_sigma", d.init_sigma)?,
                    metric,
                    latent: p.bool_or("latent", d.latent)?,
                    frames,
                    top: p.usize_or("top", d.top)?,
                    sigma_mult: p.f64_or("sigma_mult", d.sigma_mult)?,
                };
                use searchkit::partition::Preset;
                c.validate().map_err(|e| l.err(&key, e))?;
                Method::Lap3(c)
            }
            "lamcts" => {
                let d = lamcts::LaMctsConfig::default();
                let config = lamcts::LaMctsConfig {
                    init: p.usize_or("init", d.init)?,
                    cp: p.f64_or("cp", d.cp)?,
                    leaf_size: p.usize_or("leaf_size", d.leaf_size)?,
                    ..d
                };
                config.validate().map_err(|e| l.err(&key, e))?;
                let half_width = positive(l, &key, "half_width", p.f64_or("half_width", 8.0)?)?;
                Method::LaMcts { config, half_width }
            }
            "cmaes" => Method::CmaEs {
                sigma0: positive(l, &key, "sigma0", p.f64_or("sigma0", 1.0)?)?,
            },
            "cem" => {
                let iters = p.usize_or("iters", 10)?;
                if iters == 0 {
                    bail!(l.err(&format!("{key}.iters"), "must be at least 1"));
                }
                let elite_frac = p.f64_or("elite_frac", 0.1)?;
                if !(elite_frac > 0.0 && elite_frac <= 1.0) {
                    bail!(l.err(&format!("{key}.elite_frac"), "must be in (0, 1]"));
                }
                Method::Cem {
                    iters,
                    elite_frac,
                    init_scale: positive(l, &key, "init_scale", p.f64_or("init_scale", 1.0)?)?,
                }
            }
            "voo" => {
                let explr_p = p.f64_or("explr_p", 0.3)?;
                if !(0.0..=1.0).contains(&explr_p) {
                    bail!(l.err(&format!("{key}.explr_p"), "must be in [0, 1]"));
                }
                Method::Voo {
                    half_width: positive(l, &key, "half_width", p.f64_or("half_width", 8.0)?)?,
                    explr_p,
                }
            }
            "mppi" => {
                let samples = p.usize_or("samples", 50)?;
                if samples < 2 {
                    bail!(l.err(
                        &format!("{key}.samples"),
                        format!("must be at least 2, got {samples} (with one sample per round the mean is the last sample, a random walk; the authors' default of 1 divides by zero)")
                    ));
                }
                let sigma = positive(l, &key, "sigma", p.f64_or("sigma", 1.0)?)?;
                let temperature = match p
                    .choice("weighting", Some("range"), &["range", "fixed"])?
                    .as_str()
                {
                    "fixed" => Some(positive(
                        l,
                        &key,
                        "temperature",
                        p.f64_or("temperature", 1.0)?,
                    )?),
                    _ => None,
                };
                Method::Mppi {
                    samples,
                    sigma,
                    temperature,
                }
            }
            "ilqr" => Method::Ilqr,
            _ => Method::RandomShooting {
                sigma: positive(l, &key, "sigma", p.f64_or("sigma", 1.0)?)?,
            },
        };
        p.finish()?;
        if let (Method::Lap3(c), Dynamics::Twin) = (&method, dyn_) {
            if c.latent {
                bail!(l.err(
                    &format!("{key}.dynamics"),
                    "`twin` renders no frames, and LaP3's latent reads them: use dynamics = \"worker\", or latent = false"
                ));
            }
        }
        methods.push(method);
        dynamics.push(dyn_);
    }
    Ok(Box::new(NavExp {
        task,
        seed_base,
        frame_every,
        methods,
        dynamics,
        pool: Mutex::new(None),
    }))
}

fn positive(l: &Loaded, key: &str, name: &str, v: f64) -> Result<f64> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(l.err(
            &format!("{key}.{name}"),
            format!("must be finite and > 0, got {v}"),
        ))
    }
}

/// What rolls one maze's plans out.
enum Sim {
    Worker(Lease),
    Twin(NavTwin),
}

/// One maze through a leased worker or its twin.
struct Maze<'a> {
    sim: Sim,
    task: &'a NavTask,
    seed: u64,
    frame_every: usize,
}

impl Objective for Maze<'_> {
    type Error = envbridge::Error;
    fn rollout(&mut self, actions: &[f64], frames: bool) -> Result<Outcome, envbridge::Error> {
        let r = match &mut self.sim {
            Sim::Worker(w) => nav::rollout(
                w,
                self.task,
                self.seed,
                actions,
                frames.then_some(self.frame_every),
                &[],
            )?,
            // `prepare` refuses the twin to LaP3 with the latent, the one
            // method that asks for frames.
            Sim::Twin(_) if frames => {
                return Err(envbridge::Error::Request {
                    message: "the twin renders no frames".into(),
                    tail: String::new(),
                })
            }
            Sim::Twin(t) => t.rollout(actions, &[])?,
        };
        Ok(Outcome {
            value: r.value,
            frames: r.frames,
        })
    }
}

/// The simulator's move rule as iLQR's model: states `(x, z)`, controls
/// `(a[0], a[1])`, every batch one `step` request to the worker.
impl Model for Maze<'_> {
    type Error = envbridge::Error;
    fn step(&mut self, queries: &[(Vec<f64>, Vec<f64>)]) -> Result<Vec<Vec<f64>>, Self::Error> {
        let q: Vec<[f64; 4]> = queries
            .iter()
            .map(|(x, u)| [x[0], x[1], u[0], u[1]])
            .collect();
        Ok(match &mut self.sim {
            Sim::Worker(w) => nav::steps(w, self.task, self.seed, &q)?
                .next
                .iter()
                .map(|p| p.to_vec())
                .collect(),
            Sim::Twin(t) => q
                .iter()
                .map(|&[x, z, a0, a1]| t.step([x, z], [a0, a1]).to_vec())
                .collect(),
        })
    }
}

impl Maze<'_> {
    /// The authors' iLQR (`methods/ilqr/ilqr.py`): from the zero plan, one
    /// pylqr iteration per counted rollout, each followed by a rollout of
    /// the current plan on the real environment (the authors log that
    /// rollout per iteration: their budget `--iterations` counts
    /// iterations). The model queries (finite differences and line search
    /// on the simulator's move rule) and the privileged cost (the change in
    /// distance to the box) are not counted, as in their code. Once pylqr
    /// stops (converged, or the regularisation past its ceiling) the plan no
    /// longer changes and its return is repeated, as their log does.
    fn ilqr(&mut self, budget: usize) -> Result<(Vec<f64>, usize), envbridge::Error> {
        let (start, goal) = match &mut self.sim {
            Sim::Worker(w) => {
                let info = nav::steps(w, self.task, self.seed, &[])?;
                (info.start, info.goal)
            }
            Sim::Twin(t) => (t.start(), t.goal()),
        };
        let dist = move |p: &[f64]| ((p[0] - goal[0]).powi(2) + (p[1] - goal[1]).powi(2)).sqrt();
        let cost = move |x: &[f64], _u: &[f64], next: &[f64]| dist(next) - dist(x);
        let zero = vec![vec![0.0; 2]; self.task.horizon];
        let mut ilqr = Ilqr::new(IlqrConfig::default(), self, &cost, &start, zero)?;
        let mut values = Vec::with_capacity(budget);
        let mut last = None;
        while values.len() < budget {
            let changed = ilqr.iterate(self, &cost)?;
            let value = match last {
                Some(v) if !changed => v,
                _ => {
                    let plan: Vec<f64> = ilqr.controls().iter().flatten().copied().collect();
                    self.rollout(&plan, false)?.value
                }
            };
            last = Some(value);
            values.push(value);
        }
        Ok((values, ilqr.iterations()))
    }
}

impl NavExp {
    fn pool(&self) -> Result<Arc<Pool>> {
        let mut slot = self.pool.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            *slot = Some(envbridge::pool(TIMEOUT)?);
        }
        Ok(Arc::clone(slot.as_ref().expect("set above")))
    }

    fn optimizer(&self, method: &Method, budget: usize) -> Result<Box<dyn Optimizer<Vec<f64>>>> {
        let dim = self.task.dim();
        Ok(match method {
            Method::Lap3(_) => unreachable!("LaP3 runs through plalam::plan"),
            Method::Ilqr => unreachable!("iLQR runs through Maze::ilqr"),
            Method::LaMcts { config, half_width } => {
                let space = BoxSpace::cube(dim, -half_width, *half_width);
                Box::new(lamcts::LaMcts::new(
                    space,
                    config.clone(),
                    CmaEsRegion::default(),
                )?)
            }
            Method::CmaEs { sigma0 } => Box::new(CmaEs::new(
                BoxSpace::cube(dim, -CMA_BOX, CMA_BOX),
                None,
                sigma0 / (2.0 * CMA_BOX),
                None,
            )),
            Method::Cem {
                iters,
                elite_frac,
                init_scale,
            } => {
                let n = (budget / iters).max(1);
                let elite = ((n as f64 * elite_frac) as usize).max(1);
                Box::new(Cem::new(dim, n, elite, *init_scale))
            }
            Method::Voo {
                half_width,
                explr_p,
            } => Box::new(Voo::new(dim, *half_width, *explr_p)),
            Method::RandomShooting { sigma } => Box::new(RandomShooting { dim, sigma: *sigma }),
            Method::Mppi {
                samples,
                sigma,
                temperature,
            } => Box::new(Mppi::new(dim, *samples, *sigma, *temperature)),
        })
    }
}

impl Prepared for NavExp {
    fn curve_len(&self, _method: usize, budget: usize) -> Option<usize> {
        Some(budget)
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let seed = self.seed_base + ctx.seed;
        let sim = match self.dynamics[ctx.method] {
            Dynamics::Worker => Sim::Worker(self.pool()?.lease()?),
            // One worker request for the geometry; the lease goes back at once.
            Dynamics::Twin => {
                let mut w = self.pool()?.lease()?;
                let layout = twin::layout(&mut w, &self.task, seed)
                    .map_err(|e| anyhow!("{} maze {seed} (layout): {e}", self.task.env))?;
                Sim::Twin(NavTwin::new(layout)?)
            }
        };
        let mut maze = Maze {
            sim,
            task: &self.task,
            seed,
            frame_every: self.frame_every,
        };
        let start = Instant::now();
        let method = &self.methods[ctx.method];
        let values = match method {
            Method::Lap3(c) => {
                let mut search = plalam::lap3(c.clone(), self.task.dim(), &ctx.rng)?;
                plalam::plan(
                    &mut search,
                    &mut maze,
                    ctx.budget,
                    &mut ctx.rng.child("plan"),
                )
                .map_err(|e| anyhow!("{} maze {seed}: {e}", self.task.env))?
            }
            Method::Ilqr => {
                let (values, iterations) = maze
                    .ilqr(ctx.budget)
                    .map_err(|e| anyhow!("{} maze {seed} (iLQR): {e}", self.task.env))?;
                if std::env::var_os("SPACEPART_PLALAM_TIMING").is_some() {
                    eprintln!(
                        "plalam timing: iLQR maze {seed}: {iterations} iterations before its stop"
                    );
                }
                values
            }
            other => {
                let mut opt = self.optimizer(other, ctx.budget)?;
                let mut rng = ctx.rng.clone();
                let mut values = Vec::with_capacity(ctx.budget);
                while values.len() < ctx.budget {
                    let mut xs = opt.ask(&mut rng);
                    if xs.is_empty() {
                        break;
                    }
                    xs.truncate(ctx.budget - values.len());
                    let mut told = Vec::with_capacity(xs.len());
                    for x in xs {
                        let f = maze.rollout(&x, false).map_err(|e| {
                            anyhow!(
                                "{} maze {seed} rollout {}: {e}",
                                self.task.env,
                                values.len() + 1
                            )
                        })?;
                        values.push(f.value);
                        told.push(Evaluated {
                            x,
                            y: vec![f.value],
                        });
                    }
                    opt.tell(&told, &mut rng);
                }
                values
            }
        };
        if std::env::var_os("SPACEPART_PLALAM_TIMING").is_some() {
            eprintln!(
                "plalam timing: method {} maze {seed}: {} rollouts in {:.1} s",
                ctx.method,
                values.len(),
                start.elapsed().as_secs_f64()
            );
        }
        Ok(solved_curve(&values))
    }
}

/// Whether the maze is solved (best return > 0) after each rollout, and the
/// scalars: the best return, solved (0/1), the rollouts until solved (the
/// budget + 1 when never).
fn solved_curve(values: &[f64]) -> RunOutput {
    let mut best = f64::NEG_INFINITY;
    let mut first = None;
    let curve = values
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            best = best.max(v);
            if best > 0.0 && first.is_none() {
                first = Some(i + 1);
            }
            if best > 0.0 {
                1.0
            } else {
                0.0
            }
        })
        .collect();
    let mut out = RunOutput {
        curve,
        ..RunOutput::default()
    };
    out.scalars.insert("final_best_return".into(), best);
    out.scalars
        .insert("solved".into(), if best > 0.0 { 1.0 } else { 0.0 });
    out.scalars.insert(
        "rollouts_to_solve".into(),
        first.unwrap_or(values.len() + 1) as f64,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::RunContext;
    use crate::{config, plan, workspace_root};
    use searchkit::rng::Stream;

    fn mazes3() -> config::Loaded {
        config::find(&workspace_root(), "plalam-mazes3").unwrap()
    }

    fn method(l: &config::Loaded, name: &str) -> usize {
        l.exp.methods.iter().position(|m| m.name == name).unwrap()
    }

    fn with_dynamics(l: &config::Loaded, m: usize, v: &str) -> config::Loaded {
        let mut l = l.clone();
        l.exp.methods[m]
            .params
            .insert("dynamics".into(), toml::Value::String(v.into()));
        l
    }

    /// `dynamics` is `worker` unless set (the config sets `twin` on the
    /// frame-free methods), counts in the fingerprint, names its choices
    /// when wrong, and LaP3 with the latent refuses the twin.
    #[test]
    fn dynamics_param() {
        let mut base = mazes3();
        for m in &mut base.exp.methods {
            m.params.remove("dynamics");
        }
        let debug = |l: &config::Loaded| format!("{:?}", crate::drivers::prepare(l).unwrap());
        let n = base.exp.methods.len();
        assert!(debug(&base).contains(&format!("dynamics: [{}]", vec!["Worker"; n].join(", "))));
        let cma = method(&base, "CMA-ES");
        let twin = with_dynamics(&base, cma, "twin");
        assert!(debug(&twin).contains("Twin"));
        let fp = |l: &config::Loaded| plan::fingerprint(l, cma, 100, 0, 0, &[]);
        assert_ne!(fp(&twin), fp(&base));
        let e = crate::drivers::prepare(&with_dynamics(&base, cma, "python"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("methods[{cma}].params.dynamics")) && e.contains("worker, twin"),
            "{e}"
        );
        let lap3 = method(&base, "LaP3");
        let e = crate::drivers::prepare(&with_dynamics(&base, lap3, "twin"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("renders no frames"), "{e}");
        let flat = method(&base, "LaP3 without latent");
        assert!(debug(&with_dynamics(&base, flat, "twin")).contains("Twin"));
    }

    /// With the simulators' venv: CMA-ES, LaP3 without latent and iLQR on
    /// the twin give the worker's curve and, up to tanh's last bits (see
    /// `envbridge::twin`), its returns. iLQR's second differences (step
    /// 1e-5) divide those bits by 1e-10, so its plan drifts from the
    /// worker's (by 1e-5 in the return after 5 iterations on maze 123).
    #[test]
    fn twin_runs_give_the_worker_values() {
        if let Err(e) = envbridge::python() {
            eprintln!("SKIPPED twin_runs_give_the_worker_values: {e}");
            return;
        }
        let base = mazes3();
        for (name, budget, tol) in [
            ("CMA-ES", 30, 1e-12),
            ("LaP3 without latent", 60, 1e-12),
            ("iLQR", 5, 1e-3),
        ] {
            let m = method(&base, name);
            let run = |l: &config::Loaded| {
                let ctx = RunContext {
                    method: m,
                    seed: 0,
                    budget,
                    rng: Stream::for_run(&l.exp.id, name, 0),
                    design: Stream::for_design(&l.exp.id, 0),
                    device: None,
                    journal: None,
                };
                crate::drivers::prepare(l).unwrap().run(&ctx).unwrap()
            };
            let worker = run(&with_dynamics(&base, m, "worker"));
            let twin = run(&with_dynamics(&base, m, "twin"));
            assert_eq!(twin.curve, worker.curve, "{name}");
            let best = |o: &RunOutput| o.scalars["final_best_return"];
            let d = (best(&twin) - best(&worker)).abs();
            assert!(d < tol, "{name}: {} vs {}", best(&twin), best(&worker));
        }
    }

    #[test]
    fn the_curve_turns_to_one_at_the_first_success() {
        let out = solved_curve(&[-3.0, -1.0, 0.5, -2.0]);
        assert_eq!(out.curve, vec![0.0, 0.0, 1.0, 1.0]);
        assert_eq!(out.scalars["rollouts_to_solve"], 3.0);
        assert_eq!(out.scalars["final_best_return"], 0.5);
        let never = solved_curve(&[-3.0, -1.0]);
        assert_eq!(never.scalars["rollouts_to_solve"], 3.0);
        assert_eq!(never.scalars["solved"], 0.0);
    }
}
