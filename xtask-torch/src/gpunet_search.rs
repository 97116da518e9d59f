//! Drivers `gpunet-search` and `gpunet-predictor`: GPUNet's latency-tiered
//! search over its space, run here with a measured latency predictor and a
//! training-free accuracy proxy.
//!
//! **`gpunet-search`** (algorithms `lamoo`, `nsga2`, `random`): every
//! method searches the unit box of [`GpunetSpace::from_unit`] (45
//! coordinates, each binned into its choice) for two objectives, both
//! maximised: the NASWOT score ([`gpunet::measure::naswot`], on
//! `proxy_batch` embedded Fashion-MNIST test images resized to one eighth
//! of the architecture's resolution, weights drawn from a stream labelled
//! by the architecture, so a network has one score whoever samples it) and
//! minus its predicted latency. `latency = "lut"`: the per-layer lookup
//! table of [`gpunet::search::Lut`], each entry timed on this machine
//! ([`gpunet::measure::time_block`]) the first time a run needs it (one
//! table per run, so runs are independent jobs); `latency = "macs"`: the
//! closed-form GMACs instead (deterministic: the `ci` profile). The curve is
//! the hypervolume of all samples so far against `(reference_proxy,
//! -reference_latency)`. After the search, the seven published models
//! (`tiers`) are scored by the same proxy and predictor, and for each
//! (a latency tier) the run's best-proxy architecture at most as slow is
//! reported beside it: one architecture per tier.
//!
//! **`gpunet-predictor`** (algorithm `lut-check`): `budget` architectures
//! drawn uniformly from the box, each predicted by a fresh table and timed
//! end to end ([`gpunet::measure::time_spec`]); Spearman, Kendall and the
//! median relative error. A measurement: never snapshot-tested.

use crate::gpunet_latency::take_models;
use anyhow::{anyhow, Result};
use gpunet::measure::{naswot, time_block, time_spec};
use gpunet::search::{best_per_tier, front, gmacs, proxy_side, Lut};
use gpunet::space::GpunetSpace;
use gpunet::{Published, Spec};
use lamoo::{cmaes_region, random_region, Cp, LaMoo, LaMooConfig};
use searchkit::baselines::{Nsga2, RandomSearch};
use searchkit::optimizer::{run, Optimizer};
use searchkit::pareto::hypervolume;
use searchkit::problem::Problem;
use searchkit::rng::Stream;
use searchkit::space::BoxSpace;
use searchkit::stats::{kendall_tau_b, quantile, spearman};
use std::sync::Mutex;
use tch::{Device, Kind, Tensor};
use xtask::config::{Loaded, Params};
use xtask::drivers::{Driver, Figure, Prepared, RunContext, RunOutput, Table};
use xtask::store::RunRecord;
use xtask::svg;

pub fn search_driver() -> Driver {
    Driver {
        name: "gpunet-search",
        about: "GPUNet: latency-tiered search over the GPUNet space (NASWOT proxy vs per-layer latency table), LaMOO vs NSGA-II and random",
        algorithms: &["lamoo", "nsga2", "random"],
        prepare: prepare_search,
    }
}

pub fn predictor_driver() -> Driver {
    Driver {
        name: "gpunet-predictor",
        about: "GPUNet: the per-layer latency lookup table against measured end-to-end CPU latency (Spearman, median relative error)",
        algorithms: &["lut-check"],
        prepare: prepare_predictor,
    }
}

/// How a network's latency is predicted.
#[derive(Clone, Copy, Debug)]
enum Latency {
    /// Per-layer table, each entry the median of `repeats` timed passes.
    Lut { warmup: usize, repeats: usize },
    /// Closed-form GMACs (deterministic stand-in).
    Macs,
}

#[derive(Clone, Debug)]
enum Algo {
    LaMoo { config: LaMooConfig, cmaes: bool },
    Nsga2 { pop: usize, offspring: usize },
    Random { batch: usize },
}

#[derive(Debug)]
struct SearchExp {
    latency: Latency,
    proxy_batch: usize,
    reference: [f64; 2],
    tiers: Vec<(Published, Spec)>,
    methods: Vec<Algo>,
}

#[derive(Debug)]
struct PredictorExp {
    lut: (usize, usize),
    check: (usize, usize),
}

fn latency_param(p: &mut Params) -> Result<Latency> {
    let kind = p.choice("latency", Some("lut"), &["lut", "macs"])?;
    let warmup = p.usize_or("lut_warmup", 1)?;
    let repeats = p.usize_or("lut_repeats", 3)?.max(1);
    Ok(match kind.as_str() {
        "macs" => Latency::Macs,
        _ => Latency::Lut { warmup, repeats },
    })
}

fn prepare_search(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut table = l.exp.problem.clone();
    let tiers = take_models(l, &mut table, "tiers")?;
    let mut p = Params::new(l, "problem", &table);
    let latency = latency_param(&mut p)?;
    let proxy_batch = p.usize_or("proxy_batch", 32)?;
    if !(2..=1000).contains(&proxy_batch) {
        return Err(l.err(
            "problem.proxy_batch",
            format!("{proxy_batch} images; NASWOT needs 2..1000 (the embedded test subset)"),
        ));
    }
    let reference = [
        p.f64_or("reference_proxy", 0.0)?,
        -p.f64_or("reference_latency", 1000.0)?,
    ];
    p.finish()?;
    let mut methods = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let key = format!("methods[{i}].params");
        let mut p = Params::new(l, key.clone(), &m.params);
        let algo = match m.algorithm.as_str() {
            "lamoo" => {
                let d = LaMooConfig::default();
                let cmaes = p.choice("sampler", Some("cmaes"), &["cmaes", "random"])? == "cmaes";
                let config = LaMooConfig {
                    init: p.usize_or("init", d.init)?,
                    batch: p.usize_or("batch", d.batch)?,
                    leaf_size: p.usize_or("leaf_size", d.leaf_size)?,
                    cp: Cp::HvFraction(p.f64_or("cp_hv_fraction", 0.1)?),
                    ..d
                };
                config.validate().map_err(|e| l.err(&key, e))?;
                Algo::LaMoo { config, cmaes }
            }
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
    Ok(Box::new(SearchExp {
        latency,
        proxy_batch,
        reference,
        tiers,
        methods,
    }))
}

fn prepare_predictor(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let lut = (
        p.usize_or("lut_warmup", 1)?,
        p.usize_or("lut_repeats", 3)?.max(1),
    );
    let check = (
        p.usize_or("check_warmup", 1)?,
        p.usize_or("check_repeats", 3)?.max(1),
    );
    p.finish()?;
    for (i, m) in l.exp.methods.iter().enumerate() {
        Params::new(l, format!("methods[{i}].params"), &m.params).finish()?;
    }
    Ok(Box::new(PredictorExp { lut, check }))
}

/// The proxy's and the predictor's state for one run.
struct Evaluator {
    latency: Latency,
    lut: Mutex<Lut>,
    /// The first `batch` embedded Fashion-MNIST test images, `(B, 1, 28, 28)`,
    /// standardised with the data set's mean and std (0.2860, 0.3530).
    images: Vec<f32>,
    batch: usize,
}

impl Evaluator {
    fn new(latency: Latency, batch: usize) -> Self {
        let (_, test) = btrnn::data::fashion_mnist_subset();
        let n = test.rows * test.cols;
        let images = test.pixels[..batch * n]
            .iter()
            .map(|&v| ((v as f64 / 255.0 - 0.2860) / 0.3530) as f32)
            .collect();
        Self {
            latency,
            lut: Mutex::new(Lut::default()),
            images,
            batch,
        }
    }

    fn latency(&self, spec: &Spec) -> Result<f64, String> {
        match self.latency {
            Latency::Macs => Ok(gmacs(spec)),
            Latency::Lut { warmup, repeats } => self
                .lut
                .lock()
                .expect("no panic holds the table")
                .predict(spec, &mut |b, s| time_block(b, s, warmup, repeats)),
        }
    }

    /// NASWOT at one eighth of the resolution, weights labelled by `label`.
    fn proxy(&self, spec: &Spec, label: &str) -> Result<f64, String> {
        let side = proxy_side(spec.resolution) as i64;
        let x = Tensor::from_slice(&self.images)
            .view([self.batch as i64, 1, 28, 28])
            .upsample_bilinear2d([side, side], false, None, None)
            .expand(
                [self.batch as i64, spec.in_channels() as i64, side, side],
                false,
            )
            .to_kind(Kind::Float)
            .to_device(Device::Cpu)
            .contiguous();
        naswot(spec, &x, &Stream::root("gpunet-naswot").child(label))
    }

    fn lut_len(&self) -> usize {
        self.lut.lock().expect("no panic holds the table").len()
    }
}

/// The search problem: box point -> (NASWOT, -latency).
struct GpunetMoo<'a> {
    ev: &'a Evaluator,
    gs: GpunetSpace,
    space: BoxSpace,
    reference: [f64; 2],
}

impl GpunetMoo<'_> {
    /// The network at a box point, its label and its objectives.
    fn objectives(&self, u: &[f64]) -> Result<(Spec, String, [f64; 2]), String> {
        let x = self.gs.from_unit(u)?;
        let label = x
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join("-");
        let spec = self.gs.decode(&x)?.to_spec()?;
        let proxy = self.ev.proxy(&spec, &label)?;
        let lat = self.ev.latency(&spec)?;
        Ok((spec, label, [proxy, -lat]))
    }
}

impl Problem for GpunetMoo<'_> {
    type Space = BoxSpace;
    fn name(&self) -> String {
        "gpunet-space".into()
    }
    fn space(&self) -> &BoxSpace {
        &self.space
    }
    fn num_objectives(&self) -> usize {
        2
    }
    /// A point that fails (it cannot: every point of the space is a valid
    /// network whose kernels fit, `every_box_point_is_a_network`) scores
    /// the reference point, which adds no hypervolume.
    fn evaluate(&self, u: &Vec<f64>) -> Vec<f64> {
        self.objectives(u)
            .map_or(self.reference.to_vec(), |(_, _, y)| y.to_vec())
    }
    fn reference_point(&self) -> Option<Vec<f64>> {
        Some(self.reference.to_vec())
    }
}

impl SearchExp {
    fn optimiser(
        &self,
        problem: &GpunetMoo,
        method: usize,
    ) -> Result<Box<dyn Optimizer<Vec<f64>>>> {
        let space = problem.space.clone();
        Ok(match &self.methods[method] {
            Algo::LaMoo { config, cmaes } => {
                let c = config.clone();
                if *cmaes {
                    Box::new(LaMoo::for_problem(problem, c, cmaes_region(true))?)
                } else {
                    Box::new(LaMoo::for_problem(problem, c, random_region())?)
                }
            }
            Algo::Nsga2 { pop, offspring } => Box::new(Nsga2::new(space, *pop, *offspring)),
            Algo::Random { batch } => Box::new(RandomSearch::new(space, *batch)),
        })
    }

    fn latency_unit(&self) -> &'static str {
        match self.latency {
            Latency::Lut { .. } => "predicted CPU latency (ms)",
            Latency::Macs => "GMACs (closed-form stand-in for latency)",
        }
    }
}

fn fmt6(v: f64) -> String {
    format!("{v:.6}")
}

impl Prepared for SearchExp {
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let ev = Evaluator::new(self.latency, self.proxy_batch);
        let gs = GpunetSpace::new();
        let problem = GpunetMoo {
            ev: &ev,
            space: BoxSpace::cube(gs.cat.cardinalities.len(), 0.0, 1.0),
            gs,
            reference: self.reference,
        };
        let mut opt = self.optimiser(&problem, ctx.method)?;
        let mut rng = ctx.rng.clone();
        let trace = run(&problem, &mut opt, ctx.budget, &mut rng, &mut []);
        let mut out = RunOutput::default();
        let mut ys = vec![];
        let mut points = vec![];
        let mut rows = vec![];
        for e in &trace.entries {
            let (spec, label, _) = problem.objectives(&e.x).map_err(|m| anyhow!(m))?;
            ys.push(e.y.clone());
            let hv = hypervolume(&ys, &self.reference);
            out.curve.push(hv);
            points.push((e.y[0], -e.y[1]));
            let c = spec.counts();
            rows.push(vec![
                e.eval.to_string(),
                fmt6(e.y[0]),
                fmt6(-e.y[1]),
                fmt6(c.macs as f64 / 1e9),
                fmt6(c.params as f64 / 1e6),
                spec.resolution.to_string(),
                format!("{hv:.6}"),
                label,
            ]);
        }
        let f = front(&points);
        out.scalars.insert("front_size".into(), f.len() as f64);
        if let Some(&hv) = out.curve.last() {
            out.scalars.insert("final_hv".into(), hv);
        }
        // The published models on the same proxy and predictor, and the
        // run's pick at each one's latency.
        let mut published = vec![];
        for (m, spec) in &self.tiers {
            let lat = ev.latency(spec).map_err(|e| anyhow!("{}: {e}", m.name))?;
            let proxy = ev
                .proxy(spec, m.name)
                .map_err(|e| anyhow!("{}: {e}", m.name))?;
            out.scalars
                .insert(format!("published_{}_latency", m.name), lat);
            out.scalars
                .insert(format!("published_{}_proxy", m.name), proxy);
            published.push((proxy, lat));
        }
        let tiers: Vec<f64> = published.iter().map(|p| p.1).collect();
        let mut at_least = 0;
        for ((m, _), (pick, pubd)) in self
            .tiers
            .iter()
            .zip(best_per_tier(&points, &tiers).into_iter().zip(&published))
        {
            let Some(i) = pick else { continue };
            out.scalars
                .insert(format!("tier_{}_proxy", m.name), points[i].0);
            out.scalars
                .insert(format!("tier_{}_latency", m.name), points[i].1);
            out.scalars
                .insert(format!("tier_{}_eval", m.name), (i + 1) as f64);
            if points[i].0 >= pubd.0 {
                at_least += 1;
            }
        }
        out.scalars
            .insert("tiers_proxy_at_least_published".into(), at_least as f64);
        if let Latency::Lut { .. } = self.latency {
            out.scalars
                .insert("lut_entries".into(), ev.lut_len() as f64);
        }
        out.table = Some(Table {
            header: [
                "eval",
                "naswot",
                "latency",
                "gmacs",
                "params_m",
                "resolution",
                "hv",
                "point",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Ok(out)
    }

    fn curve_len(&self, _method: usize, budget: usize) -> Option<usize> {
        Some(budget)
    }

    /// Each method's front over all its runs' samples (NASWOT against
    /// latency), the published models as markers at their own predicted
    /// latency and NASWOT (from the first run: every run scores them alike
    /// under `macs`; under `lut` each run's table times them anew).
    fn extra_figures(&self, records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        let mut series = vec![];
        for (name, runs) in records {
            let mut pts = vec![];
            for r in runs {
                let Some(t) = &r.table else { continue };
                for row in &t.rows {
                    let v = |i: usize| row.get(i).and_then(|s| s.parse::<f64>().ok());
                    if let (Some(p), Some(l)) = (v(1), v(2)) {
                        pts.push((p, l));
                    }
                }
            }
            let f = front(&pts);
            // A staircase: each front point holds until the next.
            let (mut xs, mut ys) = (vec![], vec![]);
            for (k, &i) in f.iter().enumerate() {
                if k > 0 {
                    xs.push(pts[i].1);
                    ys.push(pts[f[k - 1]].0);
                }
                xs.push(pts[i].1);
                ys.push(pts[i].0);
            }
            series.push(svg::Series {
                name: format!("{name} (front over seeds)"),
                xs,
                ys,
                band: None,
            });
        }
        let mut markers = vec![];
        if let Some(r) = records.iter().flat_map(|(_, v)| v.first()).next() {
            for (m, _) in &self.tiers {
                let g = |k: &str| r.scalars.get(&format!("published_{}_{k}", m.name)).copied();
                if let (Some(x), Some(y)) = (g("latency"), g("proxy")) {
                    markers.push(svg::Marker {
                        x,
                        y,
                        label: m.name.to_string(),
                    });
                }
            }
        }
        let ax = svg::Axes {
            title: "found Pareto fronts and the published GPUNets".into(),
            x_label: self.latency_unit().into(),
            y_label: "NASWOT score (higher is better)".into(),
            ..Default::default()
        };
        Ok(vec![Figure {
            file: "front.svg".into(),
            svg: label_markers(&svg::line_chart(&ax, &series, &markers), &markers),
        }])
    }
}

/// `line_chart`'s legend speaks of reported values and means over seeds,
/// and its markers carry no names: here the markers are the published
/// models (placed by our own proxy and predictor) and the lines are fronts,
/// so the legend is reworded and each marker gets its model's name.
fn label_markers(chart: &str, markers: &[svg::Marker]) -> String {
    let mut out = String::new();
    let mut names = markers
        .iter()
        .filter(|m| m.x.is_finite() && m.y.is_finite())
        .map(|m| m.label.as_str());
    for line in chart.lines() {
        if line.contains("bands: +- 1 standard error") {
            continue;
        }
        let line = line
            .replace(
                "paper's reported value",
                "published GPUNets (our proxy and predictor)",
            )
            .replace("lines: mean over seeds", "lines: fronts over all seeds");
        out.push_str(&line);
        out.push('\n');
        // A marker: `<path d="M{x},{y} l8,8 ...` drawn before the legend.
        if let Some(rest) = line.strip_prefix(r#"<path d="M"#) {
            if !rest.contains("l8,8") {
                continue;
            }
            let xy: Vec<f64> = rest
                .split(' ')
                .next()
                .unwrap_or("")
                .split(',')
                .filter_map(|v| v.parse().ok())
                .collect();
            if let ([x, y], Some(name)) = (xy.as_slice(), names.next()) {
                out.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\">{name}</text>\n",
                    x + 10.0,
                    y + 8.0
                ));
            }
        }
    }
    out
}

impl Prepared for PredictorExp {
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let gs = GpunetSpace::new();
        let ev = Evaluator::new(
            Latency::Lut {
                warmup: self.lut.0,
                repeats: self.lut.1,
            },
            2,
        );
        let mut rng = ctx.rng.child("architectures");
        let mut specs: Vec<(String, Spec)> = vec![];
        for i in 0..ctx.budget {
            let u: Vec<f64> = gs.cat.cardinalities.iter().map(|_| rng.uniform()).collect();
            let x = gs.from_unit(&u).map_err(|e| anyhow!(e))?;
            let spec = gs
                .decode(&x)
                .and_then(|a| a.to_spec())
                .map_err(|e| anyhow!(e))?;
            specs.push((format!("sample-{i}"), spec));
        }
        for m in gpunet::ALL {
            specs.push((m.name.to_string(), m.spec().map_err(|e| anyhow!(e))?));
        }
        let (mut pred, mut meas, mut rows) = (vec![], vec![], vec![]);
        for (name, spec) in &specs {
            let p = ev.latency(spec).map_err(|e| anyhow!("{name}: {e}"))?;
            let m = time_spec(spec, self.check.0, self.check.1);
            rows.push(vec![
                name.clone(),
                spec.resolution.to_string(),
                fmt6(gmacs(spec)),
                format!("{p:.3}"),
                format!("{m:.3}"),
                format!("{:.4}", (p - m) / m),
            ]);
            if name.starts_with("sample-") {
                pred.push(p);
                meas.push(m);
            }
        }
        let mut out = RunOutput::default();
        let rel: Vec<f64> = pred
            .iter()
            .zip(&meas)
            .map(|(p, m)| ((p - m) / m).abs())
            .collect();
        let ratio: Vec<f64> = pred.iter().zip(&meas).map(|(p, m)| p / m).collect();
        let macs: Vec<f64> = specs[..pred.len()].iter().map(|(_, s)| gmacs(s)).collect();
        if pred.len() >= 2 {
            out.scalars
                .insert("spearman".into(), spearman(&pred, &meas));
            out.scalars
                .insert("kendall".into(), kendall_tau_b(&pred, &meas));
            out.scalars
                .insert("spearman_gmacs".into(), spearman(&macs, &meas));
        }
        if !rel.is_empty() {
            out.scalars
                .insert("median_rel_error".into(), quantile(&rel, 0.5));
            out.scalars
                .insert("p90_rel_error".into(), quantile(&rel, 0.9));
            out.scalars
                .insert("median_pred_over_measured".into(), quantile(&ratio, 0.5));
            out.scalars
                .insert("median_measured_ms".into(), quantile(&meas, 0.5));
        }
        out.scalars
            .insert("architectures".into(), pred.len() as f64);
        out.scalars
            .insert("lut_entries".into(), ev.lut_len() as f64);
        out.table = Some(Table {
            header: [
                "network",
                "resolution",
                "gmacs",
                "predicted_ms",
                "measured_ms",
                "rel_error",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Ok(out)
    }

    fn has_curves(&self) -> bool {
        false
    }

    /// Predicted against measured, one point per network.
    fn extra_figures(&self, records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        let Some(r) = records.first().and_then(|(_, v)| v.first()) else {
            return Ok(vec![]);
        };
        let Some(t) = &r.table else { return Ok(vec![]) };
        let (mut xs, mut ys) = (vec![], vec![]);
        for row in &t.rows {
            if let (Ok(p), Ok(m)) = (row[3].parse::<f64>(), row[4].parse::<f64>()) {
                xs.push(m);
                ys.push(p);
            }
        }
        let rho = r.scalars.get("spearman").copied().unwrap_or(f64::NAN);
        let panels = [svg::Panel {
            title: format!("per-layer table, summed (Spearman {rho:.3})"),
            xs,
            ys,
        }];
        Ok(vec![Figure {
            file: "figure.svg".into(),
            svg: svg::scatter_panels(
                "measured end-to-end CPU latency (ms)",
                "predicted (ms)",
                &panels,
            ),
        }])
    }
}
