//! Our CMA-ES (`searchkit::baselines::cmaes::CmaEs`) against the `cmaes` crate, with pycma as
//! the reference: 10-d sphere and Rosenbrock from x0 = 3, sigma0 = 2, default population, until
//! f <= 1e-8 (at most 100,000 evaluations), seeds 1..5.
//!
//! Ours works in a box (here [-10, 10]^10, sigma0 = 0.1 of its width = 2), clipping and
//! resampling outside it; the others are unbounded. The optima lie well inside.

use crate::table::{secs, Row, Timing};
use anyhow::Result;
use searchkit::baselines::CmaEs;
use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::rng::Stream;
use searchkit::space::BoxSpace;
use std::time::Instant;

const D: usize = 10;
const TARGET: f64 = 1e-8;
const MAX_EVALS: usize = 100_000;

type Objective = fn(&[f64]) -> f64;

fn sphere(x: &[f64]) -> f64 {
    x.iter().map(|v| v * v).sum()
}

fn rosenbrock(x: &[f64]) -> f64 {
    x.windows(2)
        .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (1.0 - w[0]).powi(2))
        .sum()
}

/// (evaluations, generations, seconds, best).
fn ours(f: fn(&[f64]) -> f64, seed: u64) -> (usize, usize, f64, f64) {
    let t = Instant::now();
    let mut es = CmaEs::new(
        BoxSpace::cube(D, -10.0, 10.0),
        Some(vec![3.0; D]),
        0.1,
        None,
    );
    let mut rng = Stream::root("audit").child_n("cmaes", seed);
    let (mut evals, mut gens, mut best) = (0, 0, f64::INFINITY);
    while evals < MAX_EVALS && best > TARGET {
        let xs = es.ask(&mut rng);
        let ev: Vec<Evaluated<Vec<f64>>> = xs
            .into_iter()
            .map(|x| {
                let y = f(&x);
                best = best.min(y);
                Evaluated { x, y: vec![-y] }
            })
            .collect();
        evals += ev.len();
        gens += 1;
        es.tell(&ev, &mut rng);
    }
    (evals, gens, t.elapsed().as_secs_f64(), best)
}

fn crate_run(f: fn(&[f64]) -> f64, seed: u64) -> (usize, usize, f64, f64) {
    let t = Instant::now();
    let mut es = cmaes::CMAESOptions::new(vec![3.0; D], 2.0)
        .fun_target(TARGET)
        .max_function_evals(MAX_EVALS)
        .seed(seed)
        .build(|x: &cmaes::DVector<f64>| f(x.as_slice()))
        .expect("valid options");
    let r = es.run();
    let best = r.overall_best.map_or(f64::NAN, |b| b.value);
    (
        es.function_evals(),
        es.generation(),
        t.elapsed().as_secs_f64(),
        best,
    )
}

fn summary(runs: &[(usize, usize, f64, f64)]) -> (String, String) {
    let reached = runs.iter().filter(|r| r.3 <= TARGET).count();
    let evals: Vec<String> = runs.iter().map(|r| r.0.to_string()).collect();
    let per_gen = Timing::from_samples(runs.iter().map(|r| r.2 / r.1.max(1) as f64).collect());
    (
        format!(
            "evaluations {} (target reached {reached}/{}{})",
            evals.join(", "),
            runs.len(),
            runs.iter()
                .filter(|r| r.3 > TARGET)
                .map(|r| format!("; a miss ended at f = {:.3}", r.3))
                .collect::<String>()
        ),
        format!(
            "per generation {} [{}–{}]",
            secs(per_gen.median),
            secs(per_gen.min),
            secs(per_gen.max)
        ),
    )
}

pub fn run(reference: &serde_json::Value) -> Result<Vec<Row>> {
    let mut out = Vec::new();
    let fns: [(&str, Objective); 2] = [("sphere", sphere), ("rosenbrock", rosenbrock)];
    for (name, f) in fns {
        let case = format!("{name}-10 to f <= 1e-8, seeds 1..5");
        let py = reference["cmaes"][name].as_array().map(|runs| {
            let e: Vec<String> = runs.iter().map(|r| r["evals"].to_string()).collect();
            let pg: Vec<f64> = runs
                .iter()
                .filter_map(|r| Some(r["time"].as_f64()? / r["generations"].as_f64()?))
                .collect();
            format!(
                "pycma: evaluations {}, {} per generation",
                e.join(", "),
                if pg.is_empty() {
                    "?".into()
                } else {
                    secs(Timing::from_samples(pg).median)
                }
            )
        });
        let py = py.unwrap_or_else(|| "no reference".into());
        for (imp, runner) in [
            ("ours (searchkit::baselines::CmaEs)", ours as fn(_, _) -> _),
            ("cmaes 0.2", crate_run),
        ] {
            let runs: Vec<_> = (1..=5).map(|s| runner(f, s)).collect();
            let (evals, time) = summary(&runs);
            out.push(Row::new(
                "CMA-ES",
                imp,
                case.clone(),
                time,
                format!("{evals}; {py}"),
            ));
        }
    }
    Ok(out)
}
