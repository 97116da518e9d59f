//! Driver `gpunet-latency`: inference latency of the published GPUNet
//! models built on tch, measured on this machine.
//!
//! One method (`algorithm = "cpu-latency"`) measures every model of
//! `problem.models` in turn, never two at once (parallel runs would share
//! the cores and slow each other): per model and batch size, `warmup`
//! untimed forward passes, then `repeats` timed ones; the table gives the
//! median, 10th / 90th percentiles, min and max in ms. torch runs on
//! `threads` intra-op threads (pinned with `set_num_threads` for the run
//! and restored after), FP32 (or `precision = "fp16"` on a GPU), inference mode (`no_grad`, BN on running
//! statistics), weights and input drawn from the run's stream.
//!
//! The scalars include the Spearman rank correlation of the batch-1
//! medians with `problem.reference_latency_ms` (the published V100
//! TensorRT latencies, one per model, from the config), and of the models'
//! MACs with the same, as a baseline for what a latency-free proxy ranks.
//!
//! A measurement: its numbers differ from machine to machine and run to
//! run, so this experiment has no snapshot (see ARCHITECTURE.md).

use anyhow::{anyhow, Result};
use gpunet::model::Gpunet;
use gpunet::{Published, Spec};
use searchkit::stats::{kendall_tau_b, quantile, ranks, spearman};
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};
use xtask::config::{Loaded, Params};
use xtask::drivers::{Driver, Figure, Prepared, RunContext, RunOutput, Table};
use xtask::store::RunRecord;
use xtask::svg;

pub fn driver() -> Driver {
    Driver {
        name: "gpunet-latency",
        about: "GPUNet: measured inference latency of the published models (tch), rank-correlated with the published TensorRT latencies",
        algorithms: &["cpu-latency"],
        prepare,
    }
}

#[derive(Debug)]
struct LatencyExp {
    models: Vec<(Published, Spec)>,
    reference_ms: Vec<f64>,
    batch_sizes: Vec<usize>,
    warmup: usize,
    repeats: usize,
    threads: usize,
    device_name: String,
    /// FP16 weights and inputs (GPU only).
    half: bool,
}

/// A list of strings or numbers from the `problem` table (Params has no
/// such getter), removed from the table handed to Params.
fn take_list(l: &Loaded, t: &mut toml::Table, key: &str) -> Result<Option<Vec<toml::Value>>> {
    match t.remove(key) {
        None => Ok(None),
        Some(toml::Value::Array(a)) => Ok(Some(a)),
        Some(v) => Err(l.err(
            &format!("problem.{key}"),
            format!("expected a list, got {v}"),
        )),
    }
}

/// Published models named by the `problem` list `key` (all seven when
/// absent), each parsed; removed from the table handed to Params.
pub(crate) fn take_models(
    l: &Loaded,
    t: &mut toml::Table,
    key: &str,
) -> Result<Vec<(Published, Spec)>> {
    let at = format!("problem.{key}");
    let names: Vec<String> = match take_list(l, t, key)? {
        None => gpunet::ALL.iter().map(|m| m.name.to_string()).collect(),
        Some(a) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| l.err(&at, format!("expected model names, got {v}")))
            })
            .collect::<Result<_>>()?,
    };
    let mut models = vec![];
    for n in &names {
        let m = Published::find(n).map_err(|e| l.err(&at, e))?;
        let s = m
            .spec()
            .map_err(|e| l.err(&at, format!("{}: {e}", m.file)))?;
        models.push((m, s));
    }
    Ok(models)
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut table = l.exp.problem.clone();
    let models = take_models(l, &mut table, "models")?;
    let reference_ms: Vec<f64> = match take_list(l, &mut table, "reference_latency_ms")? {
        None => vec![],
        Some(a) => a
            .iter()
            .map(|v| match v {
                toml::Value::Float(f) if *f > 0.0 => Ok(*f),
                toml::Value::Integer(i) if *i > 0 => Ok(*i as f64),
                v => Err(l.err(
                    "problem.reference_latency_ms",
                    format!("expected positive numbers, got {v}"),
                )),
            })
            .collect::<Result<_>>()?,
    };
    if !reference_ms.is_empty() && reference_ms.len() != models.len() {
        return Err(l.err(
            "problem.reference_latency_ms",
            format!(
                "{} values for {} models (one per entry of `models`, in order)",
                reference_ms.len(),
                models.len()
            ),
        ));
    }
    let mut p = Params::new(l, "problem", &table);
    let batch_sizes = p.usize_list_or("batch_sizes", &[1, 8])?;
    let warmup = p.usize_or("warmup", 2)?;
    let repeats = p.usize_or("repeats", 10)?.max(1);
    let threads = p.usize_or("threads", 1)?.max(1);
    let device_name = p.choice("device", Some("cpu"), &["cpu", "cuda"])?;
    let half = p.choice("precision", Some("fp32"), &["fp32", "fp16"])? == "fp16";
    p.finish()?;
    for (i, m) in l.exp.methods.iter().enumerate() {
        Params::new(l, format!("methods[{i}].params"), &m.params).finish()?;
    }
    Ok(Box::new(LatencyExp {
        models,
        reference_ms,
        batch_sizes,
        warmup,
        repeats,
        threads,
        device_name,
        half,
    }))
}

/// Pairs of models that the two lists order oppositely (ties in either
/// list excluded).
fn discordant_pairs(a: &[f64], b: &[f64]) -> usize {
    let mut n = 0;
    for i in 0..a.len() {
        for j in i + 1..a.len() {
            if (a[i] - a[j]) * (b[i] - b[j]) < 0.0 {
                n += 1;
            }
        }
    }
    n
}

/// Timed forward passes (ms) of `net` on `x`.
fn time_forward(
    net: &Gpunet,
    x: &Tensor,
    warmup: usize,
    repeats: usize,
    device: Device,
) -> Vec<f64> {
    let sync = || {
        if let Device::Cuda(i) = device {
            tch::Cuda::synchronize(i as i64);
        }
    };
    tch::no_grad(|| {
        for _ in 0..warmup {
            let _ = net.forward(x);
        }
        sync();
        (0..repeats)
            .map(|_| {
                let t0 = Instant::now();
                let _ = net.forward(x);
                sync();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect()
    })
}

impl Prepared for LatencyExp {
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let device =
            crate::parse_device(ctx.device.unwrap_or(&self.device_name)).map_err(|e| anyhow!(e))?;
        if self.half && device == Device::Cpu {
            return Err(anyhow!(
                "precision `fp16` runs on a GPU only (`--device cuda`); use `fp32` on the CPU"
            ));
        }
        let before = tch::get_num_threads();
        tch::set_num_threads(self.threads as i32);
        let result = self.measure(ctx, device);
        tch::set_num_threads(before);
        result
    }
    fn has_curves(&self) -> bool {
        false
    }
    /// Our batch-1 medians and the closed-form MACs against the reference
    /// latencies, one point per model.
    fn extra_figures(&self, records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        let Some(r) = records.first().and_then(|(_, v)| v.first()) else {
            return Ok(vec![]);
        };
        if self.reference_ms.is_empty() {
            return Ok(vec![]);
        }
        let b1: Vec<f64> = self
            .models
            .iter()
            .map(|(m, _)| {
                r.scalars
                    .get(&format!("median_ms_{}_b1", m.name))
                    .copied()
                    .unwrap_or(f64::NAN)
            })
            .collect();
        let macs: Vec<f64> = self
            .models
            .iter()
            .map(|(_, s)| s.counts().macs as f64 / 1e9)
            .collect();
        let rho = |k: &str| r.scalars.get(k).copied().unwrap_or(f64::NAN);
        let panels = [
            svg::Panel {
                title: format!(
                    "CPU batch-1 median, ms (Spearman {:.3})",
                    rho("spearman_b1_vs_reference")
                ),
                xs: self.reference_ms.clone(),
                ys: b1,
            },
            svg::Panel {
                title: format!(
                    "closed-form GMACs (Spearman {:.3})",
                    rho("spearman_macs_vs_reference")
                ),
                xs: self.reference_ms.clone(),
                ys: macs,
            },
        ];
        Ok(vec![Figure {
            file: "figure.svg".into(),
            svg: svg::scatter_panels("published V100 TensorRT latency (ms)", "ours", &panels),
        }])
    }
}

impl LatencyExp {
    fn measure(&self, ctx: &RunContext<'_>, device: Device) -> Result<RunOutput> {
        let mut out = RunOutput::default();
        let mut rows = vec![];
        let mut b1 = vec![];
        for (m, spec) in &self.models {
            let mut vs = nn::VarStore::new(device);
            let net = Gpunet::new(&vs.root(), spec);
            net.init(&vs, &ctx.rng.child(m.name));
            let kind = if self.half {
                vs.half();
                Kind::Half
            } else {
                Kind::Float
            };
            let r = spec.resolution as i64;
            for &bs in &self.batch_sizes {
                let mut s = ctx.rng.child(&format!("{}/input/{bs}", m.name));
                let n = bs * 3 * spec.resolution * spec.resolution;
                let v: Vec<f32> = (0..n).map(|_| s.normal() as f32).collect();
                let x = Tensor::from_slice(&v)
                    .view([bs as i64, 3, r, r])
                    .to_kind(kind)
                    .to_device(device);
                let t = time_forward(&net, &x, self.warmup, self.repeats, device);
                let med = quantile(&t, 0.5);
                if bs == 1 {
                    b1.push(med);
                }
                let key = format!("{}_b{bs}", m.name);
                out.scalars.insert(format!("median_ms_{key}"), med);
                rows.push(vec![
                    m.name.to_string(),
                    bs.to_string(),
                    spec.resolution.to_string(),
                    self.threads.to_string(),
                    format!("{med:.3}"),
                    format!("{:.3}", quantile(&t, 0.1)),
                    format!("{:.3}", quantile(&t, 0.9)),
                    format!("{:.3}", quantile(&t, 0.0)),
                    format!("{:.3}", quantile(&t, 1.0)),
                    format!("{:.3}", med / bs as f64),
                ]);
            }
        }
        // Where the orderings differ: each row's rank among the models at
        // its batch size, beside the reference's rank (average ranks, 1 =
        // fastest).
        let nb = self.batch_sizes.len();
        let ref_ranks = ranks(&self.reference_ms);
        for (bi, bs) in self.batch_sizes.iter().enumerate() {
            let meds: Vec<f64> = self
                .models
                .iter()
                .map(|(m, _)| out.scalars[&format!("median_ms_{}_b{bs}", m.name)])
                .collect();
            for (mi, r) in ranks(&meds).into_iter().enumerate() {
                let row = &mut rows[mi * nb + bi];
                row.push(format!("{r}"));
                row.push(ref_ranks.get(mi).map_or(String::new(), |x| format!("{x}")));
            }
        }
        out.scalars.insert("threads".into(), self.threads as f64);
        out.scalars.insert("repeats".into(), self.repeats as f64);
        if !self.reference_ms.is_empty() {
            let macs: Vec<f64> = self
                .models
                .iter()
                .map(|(_, s)| s.counts().macs as f64)
                .collect();
            out.scalars.insert(
                "spearman_macs_vs_reference".into(),
                spearman(&macs, &self.reference_ms),
            );
            if b1.len() == self.reference_ms.len() {
                out.scalars.insert(
                    "spearman_b1_vs_reference".into(),
                    spearman(&b1, &self.reference_ms),
                );
                out.scalars.insert(
                    "kendall_b1_vs_reference".into(),
                    kendall_tau_b(&b1, &self.reference_ms),
                );
                out.scalars.insert(
                    "discordant_pairs_b1_vs_reference".into(),
                    discordant_pairs(&b1, &self.reference_ms) as f64,
                );
            }
            for &bs in self.batch_sizes.iter().filter(|&&b| b != 1) {
                let meds: Vec<f64> = self
                    .models
                    .iter()
                    .map(|(m, _)| out.scalars[&format!("median_ms_{}_b{bs}", m.name)])
                    .collect();
                out.scalars.insert(
                    format!("spearman_b{bs}_vs_reference"),
                    spearman(&meds, &self.reference_ms),
                );
            }
        }
        let header = [
            "model",
            "batch",
            "resolution",
            "threads",
            "median_ms",
            "p10_ms",
            "p90_ms",
            "min_ms",
            "max_ms",
            "median_ms_per_image",
            "rank_here",
            "rank_reference",
        ];
        out.table = Some(Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows,
        });
        Ok(out)
    }
}
