//! Driver for LaMOO's experiments (Zhao et al., ICLR 2022): LaMOO with qEHVI,
//! CMA-ES or random sampling inside the selected region, against the plain
//! samplers (qEHVI, CMA-ES), NSGA-II and random search, on BraninCurrin,
//! VehicleSafety, DTLZ2 and NAS-Bench-201 (the authors' normalised form, or
//! raw accuracy against #params / #FLOPs).
//!
//! The curve is the log hypervolume difference `log10(max HV - HV)` of all
//! samples so far (lower is better). Per-run scalars: the value at the final
//! budget and at 50 evaluations, the final hypervolume, and, when the
//! problem sets `target` (a log HV difference), the evaluations needed to
//! reach it (`samples_to_target`, the budget when never reached) and whether
//! it was reached (`reached_target`).

use super::design::Pairing;
use super::{Driver, Figure, Prepared, RunContext, RunOutput, Table};
use crate::config::{Loaded, Params};
use crate::runner::RunRecord;
use crate::svg;
use anyhow::{bail, Result};
use lamoo::{
    cmaes_region_with, qehvi_region, random_region, CmaBounds, CmaPool, CmaTell, Cp, LaMoo,
    LaMooConfig, Selection,
};
use searchkit::baselines::{Nsga2, Qehvi, QehviConfig, RandomSearch, RegionStarts};
use searchkit::functions::{BraninCurrin, Dtlz2, VehicleSafety};
use searchkit::learn::{Gamma, GpConfig, KernelKind};
use searchkit::nasbench::nb201::{Cost, Dataset, Nb201Moo, Nb201MooRaw};
use searchkit::optimizer::{run, Optimizer, WithDesign};
use searchkit::pareto::{hypervolume, log_hv_difference};
use searchkit::problem::Problem;
use searchkit::rng::Stream;
use searchkit::space::BoxSpace;

pub fn driver() -> Driver {
    Driver {
        name: "lamoo",
        about: "LaMOO (+qEHVI / +CMA-ES / +random) vs qEHVI, CMA-ES, NSGA-II, random (log HV difference vs evaluations)",
        algorithms: &["lamoo", "qehvi", "cmaes", "nsga2", "random"],
        prepare,
    }
}

const PROBLEMS: [&str; 5] = [
    "branincurrin",
    "vehiclesafety",
    "dtlz2",
    "nb201",
    "nb201-raw",
];

#[derive(Clone, Debug)]
enum Spec {
    BraninCurrin,
    VehicleSafety,
    Dtlz2 { dim: usize, objectives: usize },
    Nb201,
    Nb201Raw { dataset: Dataset, cost: Cost },
}

#[derive(Clone, Copy, Debug)]
enum InRegion {
    Qehvi,
    CmaEs(CmaSettings),
    Random,
}

/// The code's fresh CMA-ES per batch: generations filtered by the path or
/// not, its `sigma0` factor and its tell step.
#[derive(Clone, Copy, Debug)]
struct CmaSettings {
    filter: bool,
    sigma: f64,
    tell: CmaTell,
    pool: CmaPool,
    bounds: CmaBounds,
}

impl CmaSettings {
    fn region(&self) -> lamoo::CmaEsRegion {
        cmaes_region_with(self.filter, self.sigma, self.tell, self.pool, self.bounds)
    }
}

fn cma_params(p: &mut Params, filter: bool) -> Result<CmaSettings> {
    let tell = match p
        .choice(
            "cmaes_tell",
            Some("authors"),
            &["authors", "corrected", "none"],
        )?
        .as_str()
    {
        "corrected" => CmaTell::Corrected,
        "none" => CmaTell::None,
        _ => CmaTell::Authors,
    };
    // `parent`, the default, is the code's leaf selection (its
    // `leaf_select` samples from the chosen leaf's parent); `leaf` ranks the
    // leaf's own samples (our default before revision 3).
    let pool = match p
        .choice("cmaes_pool", Some("parent"), &["leaf", "parent"])?
        .as_str()
    {
        "parent" => CmaPool::Parent,
        _ => CmaPool::Leaf,
    };
    // `pycma`, the default, is the code's pycma boundary handler
    // (`BoundTransform`); `resample` is core's resample-then-clip (our
    // default before revision 4).
    let bounds = match p
        .choice("cmaes_bounds", Some("pycma"), &["resample", "pycma"])?
        .as_str()
    {
        "pycma" => CmaBounds::PycmaTransform,
        _ => CmaBounds::Resample,
    };
    Ok(CmaSettings {
        filter,
        sigma: p.f64_or("cmaes_sigma", 0.15)?,
        tell,
        pool,
        bounds,
    })
}

#[derive(Clone, Debug)]
enum Algo {
    LaMoo {
        config: LaMooConfig,
        sampler: InRegion,
        qehvi: QehviConfig,
    },
    Qehvi(QehviConfig),
    /// The authors' CMA-ES baseline (`--sample_method cmaes --cmaes_method
    /// vanilla`): every batch a fresh CMA-ES from one of the best samples of
    /// all samples, unfiltered. Run as LaMOO whose tree never splits.
    CmaEs {
        init: usize,
        batch: usize,
        cma: CmaSettings,
    },
    Nsga2 {
        pop: usize,
        offspring: usize,
    },
    Random {
        batch: usize,
    },
}

/// Where each run's first points come from.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Design {
    /// `n` scrambled-Sobol points from the seed's shared design stream
    /// (every method of the experiment starts from the same points).
    Paired { n: usize },
    /// Each method draws its own design from its own stream (revision 1).
    PerMethod,
    /// The authors' shipped initial sets (`data/lamoo/initial-sets/`): seed
    /// `s` starts from set `s`, shared by every method.
    Authors(&'static [Vec<Vec<f64>>]),
}

/// The authors' shipped initial sets of `problem` (10 sets of 10 points in
/// the problem's own coordinates), parsed once.
fn authors_sets(problem: &str) -> Option<&'static [Vec<Vec<f64>>]> {
    use std::sync::OnceLock;
    type Sets = Vec<(&'static str, Vec<Vec<Vec<f64>>>)>;
    static SETS: OnceLock<Sets> = OnceLock::new();
    let all = SETS.get_or_init(|| {
        [
            (
                "branincurrin",
                include_str!("../../../data/lamoo/initial-sets/branincurrin.json"),
            ),
            (
                "vehiclesafety",
                include_str!("../../../data/lamoo/initial-sets/vehiclesafety.json"),
            ),
            (
                "nb201",
                include_str!("../../../data/lamoo/initial-sets/nb201.json"),
            ),
        ]
        .into_iter()
        .map(|(name, text)| {
            let doc: serde_json::Value = serde_json::from_str(text).expect("embedded JSON");
            let sets = doc["sets"]
                .as_array()
                .expect("`sets`")
                .iter()
                .map(|set| serde_json::from_value(set["x"].clone()).expect("`x`: points"))
                .collect();
            (name, sets)
        })
        .collect()
    });
    all.iter()
        .find(|(n, _)| *n == problem)
        .map(|(_, s)| s.as_slice())
}

#[derive(Debug)]
struct Moo {
    spec: Spec,
    target: Option<f64>,
    design: Design,
    methods: Vec<Algo>,
    /// Mean curves of a run of the authors' own code (`problem.python_reference`),
    /// drawn beside ours in `python-reference.svg`.
    reference: Option<Vec<NamedCurve>>,
}

/// A method's name and its `(evaluations, value)` points.
type NamedCurve = (String, Vec<(f64, f64)>);

/// Mean `log_hv_diff` over runs at each evaluation count a python-reference
/// CSV records (columns `method, run, eval, log_hv_diff`, among others; the
/// authors' code logs at batch boundaries), as `(eval, mean)` per method.
fn reference_curves(path: &std::path::Path) -> Result<Vec<NamedCurve>> {
    let mut rd = csv::Reader::from_path(path)?;
    let head = rd.headers()?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or_else(|| anyhow::anyhow!("{}: no column `{name}`", path.display()))
    };
    let (cm, ce, cv) = (col("method")?, col("eval")?, col("log_hv_diff")?);
    // method -> eval -> (sum, count)
    let mut acc: Vec<(String, Vec<(f64, usize)>)> = Vec::new();
    for row in rd.records() {
        let row = row?;
        let (m, e, v): (&str, usize, f64) = (&row[cm], row[ce].parse()?, row[cv].parse()?);
        let i = match acc.iter().position(|(n, _)| n == m) {
            Some(i) => i,
            None => {
                acc.push((m.to_string(), Vec::new()));
                acc.len() - 1
            }
        };
        let sums = &mut acc[i].1;
        if sums.len() < e {
            sums.resize(e, (0.0, 0));
        }
        sums[e - 1].0 += v;
        sums[e - 1].1 += 1;
    }
    Ok(acc
        .into_iter()
        .map(|(m, sums)| {
            let mean = sums
                .iter()
                .enumerate()
                .filter(|(_, (_, n))| *n > 0)
                .map(|(i, (s, n))| ((i + 1) as f64, s / *n as f64))
                .collect();
            (m, mean)
        })
        .collect())
}

fn qehvi_params(p: &mut Params) -> Result<QehviConfig> {
    let d = QehviConfig::default();
    let gp = match p
        .choice("gp", Some("botorch"), &["botorch", "ml"])?
        .as_str()
    {
        "ml" => GpConfig::default(),
        _ => GpConfig::botorch(),
    };
    // `score_region_starts = true` is the earlier spelling of "scored".
    let scored = p.bool_or("score_region_starts", false)?;
    let region_starts = match p
        .choice(
            "region_starts",
            Some(if scored { "scored" } else { "authors-pool" }),
            &["authors-pool", "in-region-sobol", "scored"],
        )?
        .as_str()
    {
        "in-region-sobol" => RegionStarts::InRegionSobol,
        "scored" => RegionStarts::Scored,
        _ => RegionStarts::AuthorsPool {
            lhs: p.usize_or("pool_lhs", 12_000)?.max(1),
        },
    };
    Ok(QehviConfig {
        n_init: p.usize_or("init", d.n_init)?,
        q: p.usize_or("batch", d.q)?.max(1),
        mc_samples: p.usize_or("mc_samples", d.mc_samples)?.max(1),
        raw_samples: p.usize_or("raw_samples", d.raw_samples)?.max(1),
        restarts: p.usize_or("restarts", d.restarts)?.max(1),
        max_iters: p.usize_or("max_iters", d.max_iters)?,
        batch_limit: p.usize_or("batch_limit", d.batch_limit)?.max(1),
        region_starts,
        gp,
    })
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let name = p.choice("name", None, &PROBLEMS)?;
    let spec = match name.as_str() {
        "branincurrin" => Spec::BraninCurrin,
        "vehiclesafety" => Spec::VehicleSafety,
        "dtlz2" => {
            let dim = p.usize_or("dim", 0)?;
            let objectives = p.usize_or("objectives", 2)?;
            if objectives < 2 || dim <= objectives {
                bail!(l.err(
                    "problem",
                    format!("dtlz2 needs objectives >= 2 and dim > objectives, got dim {dim}, objectives {objectives}")
                ));
            }
            Spec::Dtlz2 { dim, objectives }
        }
        "nb201" => Spec::Nb201,
        _ => {
            let ds = p.choice(
                "dataset",
                Some("cifar10"),
                &["cifar10", "cifar100", "ImageNet16-120"],
            )?;
            let dataset = Dataset::parse(&ds).map_err(|e| l.err("problem.dataset", e))?;
            let cost = match p
                .choice("cost", Some("params"), &["params", "flops"])?
                .as_str()
            {
                "flops" => Cost::Flops,
                _ => Cost::Params,
            };
            Spec::Nb201Raw { dataset, cost }
        }
    };
    let target = match p.f64_or("target", f64::NAN)? {
        t if t.is_nan() => None,
        t => Some(t),
    };
    // The authors' protocol shares the initial design between methods.
    let (pairing, choice) =
        Pairing::parse(&mut p, "paired", &["paired", "per-method", "authors"], 10)?;
    let design = match (choice.as_str(), pairing) {
        ("authors", _) => Design::Authors(authors_sets(&name).ok_or_else(|| {
            l.err(
                "problem.initial_design",
                format!(
                    "the authors ship initial sets for branincurrin, vehiclesafety and nb201, not {name}"
                ),
            )
        })?),
        (_, Pairing::Paired { n }) => Design::Paired { n },
        _ => Design::PerMethod,
    };
    let reference = match p.string_opt("python_reference")? {
        None => None,
        Some(rel) => {
            let path = crate::workspace_root().join(&rel);
            Some(reference_curves(&path).map_err(|e| {
                l.err(
                    "problem.python_reference",
                    format!("{rel}: {e:#} (a CSV under the workspace root, from xtask/python-reference/lamoo)"),
                )
            })?)
        }
    };
    p.finish()?;

    let mut methods = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let key = format!("methods[{i}].params");
        let mut p = Params::new(l, key.clone(), &m.params);
        let algo = match m.algorithm.as_str() {
            "lamoo" => {
                let d = LaMooConfig::default();
                let sampler = match p
                    .choice(
                        "sampler",
                        Some("qehvi"),
                        &["qehvi", "cmaes", "cmaes-vanilla", "random"],
                    )?
                    .as_str()
                {
                    "cmaes" => InRegion::CmaEs(cma_params(&mut p, true)?),
                    "cmaes-vanilla" => InRegion::CmaEs(cma_params(&mut p, false)?),
                    "random" => InRegion::Random,
                    _ => InRegion::Qehvi,
                };
                let kernel = match p
                    .choice("kernel", Some("poly"), &["poly", "rbf", "linear"])?
                    .as_str()
                {
                    "rbf" => KernelKind::Rbf,
                    "linear" => KernelKind::Linear,
                    _ => KernelKind::Poly,
                };
                let gamma = match p
                    .choice("gamma", Some("scale"), &["scale", "auto"])?
                    .as_str()
                {
                    "auto" => Gamma::Auto,
                    _ => Gamma::Scale,
                };
                let selection = match p
                    .choice("selection", Some("leaf"), &["leaf", "path"])?
                    .as_str()
                {
                    "path" => Selection::Path,
                    _ => Selection::Leaf,
                };
                // `cp` is the code's fixed constant; `cp_hv_fraction` the
                // README's "10% of the current hypervolume".
                let cp_fixed = p.f64_or("cp", 6.0)?;
                let cp = match p.f64_or("cp_hv_fraction", f64::NAN)? {
                    f if f.is_nan() => Cp::Fixed(cp_fixed),
                    f => Cp::HvFraction(f),
                };
                let max_nodes = match p.usize_or("max_nodes", d.max_nodes.unwrap_or(0))? {
                    0 => None,
                    n => Some(n),
                };
                let config = LaMooConfig {
                    init: p.usize_or("init", d.init)?,
                    batch: p.usize_or("batch", d.batch)?,
                    cp,
                    leaf_size: p.usize_or("leaf_size", d.leaf_size)?,
                    max_nodes,
                    kernel,
                    degree: p.usize_or("degree", d.degree as usize)? as u32,
                    gamma,
                    svm_c: p.f64_or("svm_c", d.svm_c)?,
                    shrinking: p.bool_or("svm_shrinking", d.shrinking)?,
                    svm_max_iter: p.usize_or("svm_max_iter", d.svm_max_iter)?,
                    selection,
                    ucb: d.ucb,
                };
                config.validate().map_err(|e| l.err(&key, e))?;
                let qehvi = qehvi_params(&mut p)?;
                Algo::LaMoo {
                    config,
                    sampler,
                    qehvi,
                }
            }
            "qehvi" => Algo::Qehvi(qehvi_params(&mut p)?),
            "cmaes" => Algo::CmaEs {
                init: p.usize_or("init", 10)?.max(1),
                batch: p.usize_or("batch", 5)?.max(1),
                cma: cma_params(&mut p, false)?,
            },
            "nsga2" => Algo::Nsga2 {
                pop: p.usize_or("pop_size", 10)?.max(2),
                offspring: p.usize_or("offspring", 5)?.max(1),
            },
            _ => Algo::Random {
                batch: p.usize_or("batch", 5)?.max(1),
            },
        };
        p.finish()?;
        methods.push(algo);
    }
    Ok(Box::new(Moo {
        spec,
        target,
        design,
        methods,
        reference,
    }))
}

impl Moo {
    fn optimiser<P: Problem<Space = BoxSpace>>(
        &self,
        problem: &P,
        method: usize,
    ) -> Result<Box<dyn Optimizer<Vec<f64>>>> {
        let space = problem.space().clone();
        let reference = problem
            .reference_point()
            .ok_or_else(|| anyhow::anyhow!("problem {} has no reference point", problem.name()))?;
        Ok(match &self.methods[method] {
            Algo::LaMoo {
                config,
                sampler,
                qehvi,
            } => {
                let c = config.clone();
                match sampler {
                    InRegion::Qehvi => {
                        Box::new(LaMoo::for_problem(problem, c, qehvi_region(qehvi.clone()))?)
                    }
                    InRegion::CmaEs(cma) => Box::new(LaMoo::for_problem(problem, c, cma.region())?),
                    InRegion::Random => Box::new(LaMoo::for_problem(problem, c, random_region())?),
                }
            }
            Algo::Qehvi(cfg) => Box::new(Qehvi::new(space, reference, cfg.clone())),
            Algo::CmaEs { init, batch, cma } => {
                let config = LaMooConfig {
                    init: *init,
                    batch: *batch,
                    leaf_size: usize::MAX,
                    ..LaMooConfig::default()
                };
                Box::new(LaMoo::for_problem(problem, config, cma.region())?)
            }
            Algo::Nsga2 { pop, offspring } => Box::new(Nsga2::new(space, *pop, *offspring)),
            Algo::Random { batch } => Box::new(RandomSearch::new(space, *batch)),
        })
    }

    fn run_on<P: Problem<Space = BoxSpace>>(
        &self,
        problem: &P,
        method: usize,
        budget: usize,
        mut rng: Stream,
        design: &Stream,
        seed: u64,
    ) -> Result<RunOutput> {
        let mut opt = self.optimiser(problem, method)?;
        match self.design {
            Design::Paired { n } => {
                opt = Pairing::Paired { n }.wrap_box(problem.space(), design, opt);
            }
            Design::Authors(sets) => {
                let set = sets.get(seed as usize).ok_or_else(|| {
                    anyhow::anyhow!(
                        "`problem.initial_design = \"authors\"` has {} sets, for seeds 0..{}",
                        sets.len(),
                        sets.len()
                    )
                })?;
                let mut xs = set.clone();
                for x in &mut xs {
                    problem.space().clip(x);
                }
                opt = Box::new(WithDesign::new(xs, opt));
            }
            Design::PerMethod => {}
        }
        let reference = problem.reference_point().expect("checked in optimiser");
        let max_hv = problem
            .max_hypervolume()
            .ok_or_else(|| anyhow::anyhow!("problem {} has no known max HV", problem.name()))?;
        let trace = run(problem, &mut opt, budget, &mut rng, &mut []);
        let diagnostics = opt.diagnostics();
        let mut ys: Vec<Vec<f64>> = Vec::with_capacity(trace.len());
        let mut curve = Vec::with_capacity(trace.len());
        let mut rows = Vec::with_capacity(trace.len());
        let mut hv = 0.0;
        for e in &trace.entries {
            ys.push(e.y.clone());
            hv = hypervolume(&ys, &reference);
            let lhd = log_hv_difference(max_hv, hv);
            curve.push(lhd);
            let fmt = |v: &[f64]| {
                v.iter()
                    .map(|a| format!("{a:.6}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            rows.push(vec![
                e.eval.to_string(),
                fmt(&e.raw),
                format!("{hv:.8}"),
                format!("{lhd:.6}"),
                fmt(&e.x),
            ]);
        }
        let mut out = RunOutput {
            ..Default::default()
        };
        if let Some(&last) = curve.last() {
            out.scalars.insert("final_log_hv_diff".into(), last);
        }
        if curve.len() >= 50 {
            out.scalars.insert("log_hv_diff_at_50".into(), curve[49]);
        }
        out.scalars.insert("final_hv".into(), hv);
        out.scalars.extend(diagnostics);
        if let Some(t) = self.target {
            let hit = curve.iter().position(|&v| v <= t);
            out.scalars.insert(
                "samples_to_target".into(),
                hit.map_or(budget as f64, |i| (i + 1) as f64),
            );
            out.scalars
                .insert("reached_target".into(), f64::from(u8::from(hit.is_some())));
        }
        out.curve = curve;
        out.table = Some(Table {
            header: ["eval", "objectives", "hv", "log_hv_diff", "x"]
                .map(String::from)
                .to_vec(),
            rows,
        });
        Ok(out)
    }
}

impl Prepared for Moo {
    /// 2: paired initial designs by default, qEHVI's GP with BoTorch's
    /// priors and the authors' start pool (issue 19); every method reruns.
    /// 4, the methods with the code's fresh CMA-ES only (LaMOO+CMA-ES and
    /// the CMA-ES baseline): pycma's boundary handler by default, and for
    /// LaMOO its starts ranked among the selected leaf's parent's samples,
    /// as the code's `leaf_select` does (revision 3, never committed, had the
    /// parent pool alone).
    fn revision(&self, method: usize) -> u32 {
        match self.methods.get(method) {
            Some(
                Algo::LaMoo {
                    sampler: InRegion::CmaEs(_),
                    ..
                }
                | Algo::CmaEs { .. },
            ) => 4,
            _ => 2,
        }
    }

    /// With `problem.python_reference`: our mean curves beside those of the
    /// authors' own code on the same initial sets.
    fn extra_figures(&self, records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        let Some(reference) = &self.reference else {
            return Ok(vec![]);
        };
        let mean_curve = |curves: Vec<&Vec<f64>>| -> Vec<f64> {
            let len = curves.iter().map(|c| c.len()).min().unwrap_or(0);
            (0..len)
                .map(|i| curves.iter().map(|c| c[i]).sum::<f64>() / curves.len() as f64)
                .collect()
        };
        let mut series: Vec<svg::Series> = records
            .iter()
            .filter(|(_, recs)| !recs.is_empty())
            .map(|(name, recs)| {
                let ys = mean_curve(recs.iter().map(|r| &r.curve).collect());
                svg::Series {
                    name: format!("ours: {name}"),
                    xs: (1..=ys.len()).map(|i| i as f64).collect(),
                    ys,
                    band: None,
                }
            })
            .collect();
        for (name, pts) in reference {
            series.push(svg::Series {
                name: format!("authors' code: {name}"),
                xs: pts.iter().map(|p| p.0).collect(),
                ys: pts.iter().map(|p| p.1).collect(),
                band: None,
            });
        }
        let ax = svg::Axes {
            title: "ours beside the authors' code (same initial sets; mean over seeds)".into(),
            x_label: "evaluations".into(),
            y_label: "log10(max HV - HV)".into(),
            log_x: false,
            log_y: false,
            y_min: None,
            y_max: None,
        };
        Ok(vec![Figure {
            file: "python-reference.svg".into(),
            svg: svg::line_chart(&ax, &series, &[]),
        }])
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let (method, budget, rng) = (ctx.method, ctx.budget, ctx.rng.clone());
        let (d, s) = (&ctx.design, ctx.seed);
        match &self.spec {
            Spec::BraninCurrin => self.run_on(&BraninCurrin::new(), method, budget, rng, d, s),
            Spec::VehicleSafety => self.run_on(&VehicleSafety::new(), method, budget, rng, d, s),
            Spec::Dtlz2 { dim, objectives } => {
                self.run_on(&Dtlz2::new(*dim, *objectives), method, budget, rng, d, s)
            }
            Spec::Nb201 => self.run_on(&Nb201Moo::new(), method, budget, rng, d, s),
            Spec::Nb201Raw { dataset, cost } => self.run_on(
                &Nb201MooRaw::new(*dataset, *cost),
                method,
                budget,
                rng,
                d,
                s,
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{config, plan, workspace_root};

    /// The config `id` and the index of its first `lamoo` method.
    fn first_lamoo_method(id: &str) -> (config::Loaded, usize) {
        let l = config::find(&workspace_root(), id).unwrap();
        let m = l.exp.methods.iter().position(|m| m.algorithm == "lamoo");
        (l, m.unwrap())
    }

    /// `svm_shrinking` reaches LaMOO's SVM settings, is part of the run's
    /// fingerprint (method params are fingerprinted whole), and a value
    /// other than a boolean is refused naming the key.
    #[test]
    fn svm_shrinking_param() {
        let (base, m) = first_lamoo_method("lamoo-branincurrin");
        let with = |v: Option<toml::Value>| {
            let mut l = base.clone();
            if let Some(v) = v {
                l.exp.methods[m].params.insert("svm_shrinking".into(), v);
            }
            l
        };
        let shrinks = |l: &config::Loaded| {
            format!("{:?}", crate::drivers::prepare(l).unwrap()).contains("shrinking: true")
        };
        assert!(!shrinks(&with(None)));
        assert!(!shrinks(&with(Some(toml::Value::Boolean(false)))));
        let on = with(Some(toml::Value::Boolean(true)));
        assert!(shrinks(&on));
        let fp = |l: &config::Loaded| plan::fingerprint(l, m, 100, 0, 0, &[]);
        assert_ne!(fp(&on), fp(&with(None)));
        let e = crate::drivers::prepare(&with(Some(toml::Value::String("yes".into()))))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(&format!("methods[{m}].params.svm_shrinking"))
                && e.contains("expected true or false"),
            "{e}"
        );
    }

    /// `cmaes_pool` and `cmaes_bounds` reach the fresh CMA-ES (`parent` and
    /// `pycma` by default), count in the fingerprint, and an unknown value
    /// is refused with the choices.
    #[test]
    fn cmaes_pool_and_bounds_params() {
        let (base, m) = first_lamoo_method("lamoo-branincurrin-cmaes");
        let with = |k: &str, v: &str| {
            let mut l = base.clone();
            l.exp.methods[m]
                .params
                .insert(k.into(), toml::Value::String(v.into()));
            l
        };
        let debug = |l: &config::Loaded| format!("{:?}", crate::drivers::prepare(l).unwrap());
        assert!(debug(&base).contains("pool: Parent"));
        assert!(debug(&base).contains("bounds: PycmaTransform"));
        assert!(debug(&with("cmaes_pool", "leaf")).contains("pool: Leaf"));
        assert!(debug(&with("cmaes_bounds", "resample")).contains("bounds: Resample"));
        let fp = |l: &config::Loaded| plan::fingerprint(l, m, 100, 0, 0, &[]);
        assert_ne!(fp(&with("cmaes_pool", "leaf")), fp(&base));
        assert_ne!(fp(&with("cmaes_bounds", "resample")), fp(&base));
        for (k, v, choice) in [
            ("cmaes_pool", "sibling", "parent"),
            ("cmaes_bounds", "penalty", "resample"),
        ] {
            let e = crate::drivers::prepare(&with(k, v))
                .unwrap_err()
                .to_string();
            assert!(e.contains(k) && e.contains(choice), "{e}");
        }
    }

    /// `svm_max_iter` reaches the SVM's iteration cap (libsvm's 10^7 by
    /// default), counts in the fingerprint, and 0 is refused naming the file
    /// and the key.
    #[test]
    fn svm_max_iter_param() {
        let (base, m) = first_lamoo_method("lamoo-branincurrin-cmaes");
        let with = |v: i64| {
            let mut l = base.clone();
            l.exp.methods[m]
                .params
                .insert("svm_max_iter".into(), toml::Value::Integer(v));
            l
        };
        let debug = |l: &config::Loaded| format!("{:?}", crate::drivers::prepare(l).unwrap());
        assert!(debug(&base).contains("svm_max_iter: 10000000"));
        assert!(debug(&with(1000)).contains("svm_max_iter: 1000,"));
        let fp = |l: &config::Loaded| plan::fingerprint(l, m, 100, 0, 0, &[]);
        assert_ne!(fp(&with(1000)), fp(&base));
        let e = crate::drivers::prepare(&with(0)).unwrap_err().to_string();
        assert!(
            e.contains("lamoo-branincurrin-cmaes.toml")
                && e.contains(&format!("methods[{m}].params"))
                && e.contains("`svm_max_iter`")
                && e.contains("at least 1"),
            "{e}"
        );
    }
}
