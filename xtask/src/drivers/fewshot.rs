//! Drivers for the few-shot NAS experiments.

use super::{Driver, Figure, Prepared, RunContext, RunOutput, Table};
use crate::config::{Loaded, Params};
use crate::store::RunRecord;
use crate::svg;
use anyhow::{bail, Result};
use fewshot::{rank_quality, search, tables, Counting, Estimator};
use searchkit::baselines::{RandomSearch, RegularizedEvolution};
use searchkit::nasbench::nb201;

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
        about: "search on NAS-Bench-201 with supernet estimates as fitness",
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

#[derive(Debug)]
struct Search {
    methods: Vec<(Algo, Estimator, Counting)>,
}

fn prepare_search(l: &Loaded) -> Result<Box<dyn Prepared>> {
    no_problem_keys(l)?;
    let mut methods = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let mut p = Params::new(l, format!("methods[{i}].params"), &m.params);
        let est = estimator(&mut p, None)?;
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
                    bail!(l.err(
                        &format!("methods[{i}].params"),
                        "population and sample_size must be positive"
                    ));
                }
                Algo::Rea {
                    population,
                    sample_size,
                }
            }
            _ => Algo::Random,
        };
        p.finish()?;
        methods.push((algo, est, counting));
    }
    Ok(Box::new(Search { methods }))
}

impl Prepared for Search {
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let (method, budget, mut rng) = (ctx.method, ctx.budget, ctx.rng.clone());
        let (algo, est, counting) = &self.methods[method];
        let space = nb201::space();
        let r = match algo {
            Algo::Rea {
                population,
                sample_size,
            } => search(
                *est,
                &mut RegularizedEvolution::new(space, *population, *sample_size),
                budget,
                *counting,
                &mut rng,
            ),
            Algo::Random => search(
                *est,
                &mut RandomSearch::new(space, 1),
                budget,
                *counting,
                &mut rng,
            ),
        };
        let t = tables();
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
            .map(|(i, &idx)| {
                vec![
                    (i + 1).to_string(),
                    idx.to_string(),
                    nb201::Cell::from_index(idx)
                        .map(|c| c.arch_str())
                        .unwrap_or_default(),
                    t.get(*est)[idx].to_string(),
                    t.truth[idx].to_string(),
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
