//! Driver for LA-MCTS's synthetic-function experiments: LA-MCTS with a
//! sampler inside, against the plain samplers.

use super::design::Pairing;
use super::{Driver, Prepared, RunContext, RunOutput, Table};
use crate::config::{Loaded, Params};
use anyhow::{bail, Result};
use lamcts::{LaMcts, LaMctsConfig, SamplerKind, Ucb};
use searchkit::baselines::{CmaEs, GpBo, GpBoConfig, RandomSearch, Turbo1, TurboConfig};
use searchkit::functions::{Synthetic, SYNTHETIC_NAMES};
use searchkit::learn::{Gamma, KernelKind};
use searchkit::optimizer::{run, Optimizer};
use searchkit::problem::{Problem, Sense};
use searchkit::space::BoxSpace;

pub fn driver() -> Driver {
    Driver {
        name: "lamcts-synthetic",
        about:
            "LA-MCTS vs BO / TuRBO / CMA-ES / random on synthetic functions (best f vs evaluations)",
        algorithms: &["lamcts", "bo", "turbo", "cmaes", "random"],
        prepare,
    }
}

#[derive(Debug, Clone)]
pub(super) enum Algo {
    LaMcts {
        config: LaMctsConfig,
        sampler: SamplerKind,
        /// BO sampler only: an ARD GP (a length scale per dimension) instead
        /// of the code's isotropic one.
        gp_ard: bool,
    },
    Bo(GpBoConfig),
    Turbo {
        n_init: usize,
        batch: usize,
    },
    CmaEs {
        sigma0: f64,
        popsize: Option<usize>,
    },
    Random,
}

#[derive(Debug)]
struct Synth {
    function: String,
    dim: usize,
    pairing: Pairing,
    methods: Vec<Algo>,
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let function = p.choice("function", None, &SYNTHETIC_NAMES)?;
    let dim = p.usize_or("dim", 0)?;
    let (pairing, _) = Pairing::parse(&mut p, "per-method", &Pairing::CHOICES, 10)?;
    p.finish()?;
    // Why a bound: CMA-ES's covariance grows with dim^2, BO's candidate
    // sets with dim x 5,000; the papers go to 100.
    if dim > 1000 {
        bail!(l.err("problem.dim", format!("{dim}: at most 1000 dimensions")));
    }
    Synthetic::parse(&function, dim).map_err(|e| l.err("problem", e))?;
    let methods = parse_methods(l)?;
    Ok(Box::new(Synth {
        function,
        dim,
        pairing,
        methods,
    }))
}

/// Each method's algorithm and parameters (the same for every LA-MCTS
/// experiment: synthetic functions and environments).
pub(super) fn parse_methods(l: &Loaded) -> Result<Vec<Algo>> {
    let mut methods = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let key = format!("methods[{i}].params");
        let mut p = Params::new(l, key.clone(), &m.params);
        let algo = match m.algorithm.as_str() {
            "lamcts" => {
                let d = LaMctsConfig::default();
                let sampler = p.choice("sampler", Some("bo"), SamplerKind::CHOICES)?;
                let sampler = SamplerKind::parse(&sampler)
                    .map_err(|e| l.err(&format!("{key}.sampler"), e))?;
                let kernel = match p
                    .choice("kernel", Some("rbf"), &["rbf", "poly", "linear"])?
                    .as_str()
                {
                    "poly" => KernelKind::Poly,
                    "linear" => KernelKind::Linear,
                    _ => KernelKind::Rbf,
                };
                let gamma = match p
                    .choice("gamma", Some("auto"), &["auto", "scale"])?
                    .as_str()
                {
                    "scale" => Gamma::Scale,
                    _ => Gamma::Auto,
                };
                let ucb = match p.choice("ucb", Some("sqrt"), &["sqrt", "log"])?.as_str() {
                    "log" => Ucb::LogParent,
                    _ => Ucb::SqrtParent,
                };
                let config = LaMctsConfig {
                    init: p.usize_or("init", d.init)?,
                    cp: p.f64_or("cp", d.cp)?,
                    leaf_size: p.usize_or("leaf_size", d.leaf_size)?,
                    kernel,
                    gamma,
                    svm_c: p.f64_or("svm_c", d.svm_c)?,
                    ucb,
                    ..d
                };
                config.validate().map_err(|e| l.err(&key, e))?;
                let gp_ard = p.bool_or("gp_ard", false)?;
                if gp_ard && sampler != SamplerKind::Bo {
                    bail!(l.err(
                        &format!("{key}.gp_ard"),
                        "only the `bo` sampler has a GP; remove `gp_ard` or set `sampler = \"bo\"`"
                    ));
                }
                Algo::LaMcts {
                    config,
                    sampler,
                    gp_ard,
                }
            }
            "bo" => {
                let d = GpBoConfig::default();
                Algo::Bo(GpBoConfig {
                    n_init: p.usize_or("n_init", d.n_init)?,
                    n_candidates: p.usize_or("n_candidates", d.n_candidates)?,
                    xi: p.f64_or("xi", d.xi)?,
                    refit_every: p.usize_or("refit_every", d.refit_every)?.max(1),
                    warm_iters: p.usize_or("warm_iters", d.warm_iters)?,
                    ..d
                })
            }
            "turbo" => Algo::Turbo {
                n_init: p.usize_or("n_init", 20)?,
                batch: p.usize_or("batch_size", 1)?.max(1),
            },
            "cmaes" => {
                let sigma0 = p.f64_or("sigma0", 0.3)?;
                if sigma0 <= 0.0 {
                    bail!(l.err(&format!("{key}.sigma0"), "must be positive"));
                }
                let popsize = match p.usize_or("popsize", 0)? {
                    0 => None,
                    n => Some(n),
                };
                Algo::CmaEs { sigma0, popsize }
            }
            _ => Algo::Random,
        };
        p.finish()?;
        methods.push(algo);
    }
    Ok(methods)
}

impl Algo {
    /// LA-MCTS revision 1: the in-region candidates are drawn by visiting
    /// the boxes' points in random order (`region_sobol_samples`), which
    /// changed the random draws of LA-MCTS-BO and LA-MCTS-TuRBO.
    pub(super) fn revision(&self) -> u32 {
        match self {
            Algo::LaMcts { .. } => 1,
            _ => 0,
        }
    }

    /// The optimiser over `space`.
    pub(super) fn build(&self, space: BoxSpace) -> Result<Box<dyn Optimizer<Vec<f64>>>> {
        Ok(match self {
            Algo::LaMcts {
                config,
                sampler,
                gp_ard,
            } => {
                let sampler: Box<dyn lamcts::LeafSampler> = if *gp_ard {
                    let mut bo = lamcts::BoRegion::default();
                    bo.gp.ard = true;
                    Box::new(bo)
                } else {
                    sampler.build()
                };
                Box::new(LaMcts::new(space, config.clone(), sampler)?)
            }
            Algo::Bo(cfg) => Box::new(GpBo::with_config(space, cfg.clone())),
            Algo::Turbo { n_init, batch } => {
                Box::new(Turbo1::new(space, *n_init, *batch, TurboConfig::default()))
            }
            Algo::CmaEs { sigma0, popsize } => Box::new(CmaEs::new(space, None, *sigma0, *popsize)),
            Algo::Random => Box::new(RandomSearch::new(space, 1)),
        })
    }
}

impl Prepared for Synth {
    fn revision(&self, method: usize) -> u32 {
        self.methods[method].revision()
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let (method, budget, mut rng) = (ctx.method, ctx.budget, ctx.rng.clone());
        let problem = Synthetic::parse(&self.function, self.dim).map_err(anyhow::Error::msg)?;
        let space = problem.space().clone();
        let opt = self.methods[method].build(space.clone())?;
        let mut opt = self.pairing.wrap_box(&space, &ctx.design, opt);
        let trace = run(&problem, &mut opt, budget, &mut rng, &mut []);
        // The curve is the best raw f so far (minimised problems: lower is better).
        let minimise = problem.senses()[0] == Sense::Minimize;
        let (mut out, best) = best_so_far(trace.entries.iter().map(|e| (&e.x, e.raw[0])), minimise);
        out.scalars.insert("final_best_f".into(), best);
        if let Some(opt_v) = problem.optimum() {
            out.scalars
                .insert("final_regret".into(), (best - opt_v).abs());
        }
        Ok(out)
    }
}

/// The best-so-far curve of evaluated points `(x, f)` in order, with a table
/// row per evaluation, and the final best.
pub(super) fn best_so_far<'a>(
    points: impl ExactSizeIterator<Item = (&'a Vec<f64>, f64)>,
    minimise: bool,
) -> (RunOutput, f64) {
    let mut best = if minimise {
        f64::INFINITY
    } else {
        f64::NEG_INFINITY
    };
    let mut curve = Vec::with_capacity(points.len());
    let mut rows = Vec::with_capacity(points.len());
    for (i, (x, f)) in points.enumerate() {
        best = if minimise { best.min(f) } else { best.max(f) };
        curve.push(best);
        rows.push(vec![
            (i + 1).to_string(),
            f.to_string(),
            best.to_string(),
            x.iter()
                .map(|v| format!("{v:.6}"))
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    let out = RunOutput {
        curve,
        table: Some(Table {
            header: ["eval", "f", "best_f", "x"].map(String::from).to_vec(),
            rows,
        }),
        ..Default::default()
    };
    (out, best)
}
