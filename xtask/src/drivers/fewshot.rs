//! Drivers for the few-shot NAS experiments.

use super::design::Pairing;
use super::{Driver, Figure, Prepared, RunContext, RunOutput, Table};
use crate::config::{Loaded, Params};
use crate::store::RunRecord;
use crate::svg;
use anyhow::{bail, Result};
use fewshot::{rank_quality, search, search_scored, tables, Counting, Estimator, SampleSpace};
use searchkit::baselines::{RandomSearch, RegularizedEvolution};
use searchkit::nasbench::nb201::{self, Cell};
use searchkit::optimizer::{Optimizer, WithDesign};
use std::path::PathBuf;

pub fn rank_driver() -> Driver {
    Driver {
        name: "fewshot-rank",
        about: "rank correlation of supernet estimates with true accuracy",
        algorithms: &["estimator"],
        prepare: prepare_rank,
    }
}

pub fn search_driver() -> Driver {
    Driver {
        name: "fewshot-search",
        about: "search on NAS-Bench-201 with supernet estimates as fitness (the authors' tables, or a trained sample's: `estimates`)",
        algorithms: &["rea", "random"],
        prepare: prepare_search,
    }
}

fn no_problem_keys(l: &Loaded) -> Result<()> {
    Params::new(l, "problem", &l.exp.problem).finish()
}

fn estimator(p: &mut Params, default: Option<&str>) -> Result<Estimator> {
    let s = p.choice("fitness", default, &Estimator::CHOICES)?;
    Ok(Estimator::parse(&s).expect("checked against CHOICES"))
}

#[derive(Debug)]
struct Rank {
    estimators: Vec<Estimator>,
}

fn prepare_rank(l: &Loaded) -> Result<Box<dyn Prepared>> {
    no_problem_keys(l)?;
    let mut estimators = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let mut p = Params::new(l, format!("methods[{i}].params"), &m.params);
        estimators.push(estimator(&mut p, None)?);
        p.finish()?;
    }
    Ok(Box::new(Rank { estimators }))
}

impl Prepared for Rank {
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let method = ctx.method;
        let q = rank_quality(self.estimators[method]);
        let mut out = RunOutput::default();
        out.scalars.insert("kendall_tau".into(), q.kendall_tau);
        out.scalars.insert("spearman_rho".into(), q.spearman_rho);
        out.scalars.insert("top1_true_accuracy".into(), q.top1_true);
        out.scalars
            .insert("top10_mean_true_accuracy".into(), q.top10_mean_true);
        out.scalars
            .insert("top100_best_true_accuracy".into(), q.top100_best_true);
        out.scalars.insert("top1_index".into(), q.top1_index as f64);
        Ok(out)
    }

    fn has_curves(&self) -> bool {
        false
    }

    fn extra_figures(&self, _records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        let t = tables();
        let panels: Vec<svg::Panel> = self
            .estimators
            .iter()
            .map(|&e| {
                let q = rank_quality(e);
                svg::Panel {
                    title: format!("{} (Kendall tau {:.3})", e.name(), q.kendall_tau),
                    xs: t.truth.clone(),
                    ys: t.get(e).to_vec(),
                }
            })
            .collect();
        Ok(vec![Figure {
            file: "figure.svg".into(),
            svg: svg::scatter_panels("true accuracy (%)", "estimated accuracy (%)", &panels),
        }])
    }
}

#[derive(Debug, Clone)]
enum Algo {
    Rea {
        population: usize,
        sample_size: usize,
    },
    Random,
}

/// What drives a search and what scores it.
#[derive(Debug, Clone)]
enum Fitness {
    /// The authors' tables over all 15,625 cells.
    Embedded(Estimator),
    /// A trained sample (a `fewshot-train` run's per-cell CSV): fitness
    /// `estimates[seed % len]`, or the sample's truth when `None`.
    Trained(Option<Vec<Vec<f64>>>),
}

/// The sample of a trained experiment: its cells and their ground truth,
/// shared by every method (checked), and the files read (for fingerprints).
#[derive(Debug, Default)]
struct Sample {
    space: Option<SampleSpace>,
    truth: Vec<f64>,
    /// (path relative to the workspace, as the config gives it; path).
    files: Vec<(String, PathBuf)>,
}

#[derive(Debug)]
struct Search {
    methods: Vec<(Algo, Fitness, Counting)>,
    sample: Sample,
    pairing: Pairing,
}

/// `opt`, started from the seed's shared design when there is one.
fn with_design<X: Send + 'static>(
    design: Option<Vec<X>>,
    opt: Box<dyn Optimizer<X>>,
) -> Box<dyn Optimizer<X>> {
    match design {
        Some(xs) => Box::new(WithDesign::new(xs, opt)),
        None => opt,
    }
}

/// A `fewshot-train` run's table: `position,arch,true_accuracy,estimate`.
fn read_estimates(path: &std::path::Path) -> Result<(Vec<Cell>, Vec<f64>, Vec<f64>)> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        anyhow::anyhow!("cannot read the estimates {} ({e}); they are the committed per-run tables of fewshot-nb201-train (`cargo xtask reproduce fewshot-nb201-train` writes them)", path.display())
    })?;
    let mut lines = text.lines();
    if lines.next() != Some("position,arch,true_accuracy,estimate") {
        bail!(
            "{}: expected the header `position,arch,true_accuracy,estimate`",
            path.display()
        );
    }
    let (mut cells, mut truth, mut est) = (vec![], vec![], vec![]);
    for (i, l) in lines.enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        let bad = || anyhow::anyhow!("{} row {}: `{l}` is not a row", path.display(), i + 1);
        if f.len() != 4 {
            return Err(bad());
        }
        cells.push(Cell::from_arch_str(f[1]).map_err(|_| bad())?);
        truth.push(f[2].parse::<f64>().map_err(|_| bad())?);
        est.push(f[3].parse::<f64>().map_err(|_| bad())?);
    }
    Ok((cells, truth, est))
}

fn prepare_search(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    // How many supernet seeds the trained estimates come in (`{s}` in a
    // method's `estimates` path): search seed s reads supernet seed s mod this.
    let supernet_seeds = p.usize_or("supernet_seeds", 1)?;
    let (pairing, _) = Pairing::parse(&mut p, "per-method", &Pairing::CHOICES, 10)?;
    p.finish()?;
    if supernet_seeds == 0 {
        bail!(l.err("problem.supernet_seeds", "must be at least 1"));
    }
    let mut methods = vec![];
    let mut sample = Sample::default();
    let mut cells: Option<Vec<Cell>> = None;
    for (i, m) in l.exp.methods.iter().enumerate() {
        let key = format!("methods[{i}].params");
        let mut p = Params::new(l, key.clone(), &m.params);
        let fitness = match p.string_opt("estimates")? {
            None => Fitness::Embedded(estimator(&mut p, None)?),
            Some(pattern) => {
                let f = p.choice("fitness", None, &["true", "estimate"])?;
                let mut per_seed = vec![];
                for k in 0..supernet_seeds {
                    let rel = pattern.replace("{s}", &k.to_string());
                    let path = crate::workspace_root().join(&rel);
                    let (c, t, e) = read_estimates(&path)
                        .map_err(|e| l.err(&format!("{key}.estimates"), format!("{e:#}")))?;
                    match &cells {
                        None => {
                            cells = Some(c);
                            sample.truth = t;
                        }
                        Some(c0) if *c0 == c && sample.truth == t => {}
                        Some(_) => bail!(l.err(
                            &format!("{key}.estimates"),
                            format!("{} scores another sample (cells or ground truth differ from the first estimates file): every method must search the same sample", path.display())
                        )),
                    }
                    sample.files.push((rel, path));
                    per_seed.push(e);
                }
                Fitness::Trained((f == "estimate").then_some(per_seed))
            }
        };
        let counting = match p
            .choice("count", Some("proposals"), &["proposals", "unique"])?
            .as_str()
        {
            "unique" => Counting::Unique,
            _ => Counting::Proposals,
        };
        let algo = match m.algorithm.as_str() {
            "rea" => {
                let population = p.usize_or("population", 10)?;
                let sample_size = p.usize_or("sample_size", 20)?;
                if population == 0 || sample_size == 0 {
                    bail!(l.err(&key, "population and sample_size must be positive"));
                }
                Algo::Rea {
                    population,
                    sample_size,
                }
            }
            _ => Algo::Random,
        };
        p.finish()?;
        methods.push((algo, fitness, counting));
    }
    if let Some(c) = cells {
        if methods
            .iter()
            .any(|(_, f, _)| matches!(f, Fitness::Embedded(_)))
        {
            bail!(l.err(
                "methods",
                "a search over a trained sample (`estimates`) cannot be mixed with the authors' tables in one experiment"
            ));
        }
        sample.space = Some(SampleSpace::new(c).map_err(|e| l.err("methods", e))?);
    }
    Ok(Box::new(Search {
        methods,
        sample,
        pairing,
    }))
}

impl Prepared for Search {
    fn inputs(&self) -> Result<Vec<(String, String)>> {
        self.sample
            .files
            .iter()
            .map(|(rel, f)| Ok((rel.clone(), super::digest_path(f)?)))
            .collect()
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let (method, budget, mut rng) = (ctx.method, ctx.budget, ctx.rng.clone());
        let (algo, fitness, counting) = &self.methods[method];
        // (the run, each sample's official index, its fitness, its truth)
        let (r, index, fit, truth): (_, Vec<usize>, &[f64], &[f64]) = match fitness {
            Fitness::Embedded(est) => {
                let space = nb201::space();
                let design = self.pairing.distinct_points(&space, &ctx.design);
                let opt: Box<dyn Optimizer<Vec<usize>>> = match algo {
                    Algo::Rea {
                        population,
                        sample_size,
                    } => Box::new(RegularizedEvolution::new(space, *population, *sample_size)),
                    Algo::Random => Box::new(RandomSearch::new(space, 1)),
                };
                let mut opt = with_design(design, opt);
                let r = search(*est, &mut opt, budget, *counting, &mut rng);
                let t = tables();
                (r, (0..nb201::NUM_CELLS).collect(), t.get(*est), &t.truth)
            }
            Fitness::Trained(per_seed) => {
                let space = self.sample.space.clone().expect("a trained sample");
                let truth = &self.sample.truth;
                let est: &[f64] = match per_seed {
                    Some(e) => &e[ctx.seed as usize % e.len()],
                    None => truth,
                };
                let index = space.cells().iter().map(|c| c.index()).collect();
                let design = self.pairing.distinct_points(&space, &ctx.design);
                let opt: Box<dyn Optimizer<usize>> = match algo {
                    Algo::Rea {
                        population,
                        sample_size,
                    } => Box::new(RegularizedEvolution::new(space, *population, *sample_size)),
                    Algo::Random => Box::new(RandomSearch::new(space, 1)),
                };
                let mut opt = with_design(design, opt);
                let r = search_scored(
                    truth,
                    est,
                    |&x: &usize| x,
                    &mut opt,
                    budget,
                    *counting,
                    &mut rng,
                );
                (r, index, est, truth)
            }
        };
        let mut out = RunOutput {
            curve: r.curve.clone(),
            ..Default::default()
        };
        out.scalars.insert(
            "final_best_true".into(),
            *r.curve.last().unwrap_or(&f64::NAN),
        );
        out.scalars.insert("returned_true".into(), r.returned_true);
        out.scalars
            .insert("unique_architectures".into(), r.unique as f64);
        out.scalars
            .insert("proposals".into(), r.samples.len() as f64);
        let rows = r
            .samples
            .iter()
            .enumerate()
            .map(|(i, &k)| {
                vec![
                    (i + 1).to_string(),
                    index[k].to_string(),
                    nb201::Cell::from_index(index[k])
                        .map(|c| c.arch_str())
                        .unwrap_or_default(),
                    fit[k].to_string(),
                    truth[k].to_string(),
                    r.sample_curve[i].to_string(),
                ]
            })
            .collect();
        out.table = Some(Table {
            header: [
                "proposal",
                "nb201_index",
                "arch",
                "fitness",
                "true_accuracy",
                "best_true_so_far",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Ok(out)
    }
}
