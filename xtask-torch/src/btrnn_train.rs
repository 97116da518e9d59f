//! Driver `btrnn-train`: LSTM, TT-LSTM and BT-LSTM trained on clips; the
//! curve is the test accuracy (%) after each epoch (the budget is the
//! number of epochs), the per-run table holds loss and accuracy per epoch.
//!
//! `problem.data`: `fashion-mnist-clips` (the embedded subset, moving items
//! on a canvas: `train_clips`, `test_clips`, `canvas`, `frames`,
//! `max_speed`) or `ucf11` (the user's UCF11 frames in `ucf11_dir` or
//! `UCF11_DIR`; see [`btrnn::data::load_ucf11`]). Training settings
//! (`batch_size`, `lr`, `decay`, `l2`, `dropout`, `recurrent_dropout`,
//! `gate`) default to the authors' `experiment_UCF11.py`; `device` is `cpu`
//! or `cuda`.

use anyhow::{anyhow, Result};
use btrnn::data::{fashion_mnist_subset, load_ucf11, make_clips, ClipSpec, Clips};
use btrnn::model::{train, GateActivation, LstmClassifier, TrainConfig};
use btrnn::{MapKind, Modes};
use searchkit::rng::Stream;

use std::sync::{Arc, OnceLock};
use tch::nn;
use xtask::config::{Loaded, Params};
use xtask::drivers::btrnn::{parse_model, parse_modes, ALGORITHMS};
use xtask::drivers::{Driver, Figure, Prepared, RunContext, RunOutput, Table};
use xtask::store::RunRecord;
use xtask::svg;

pub fn driver() -> Driver {
    Driver {
        name: "btrnn-train",
        about:
            "BT-RNN: LSTM / TT-LSTM / BT-LSTM trained on video clips (test accuracy against epochs)",
        algorithms: ALGORITHMS,
        prepare,
    }
}

#[derive(Debug, Clone)]
enum DataSpec {
    Fashion {
        train: usize,
        test: usize,
        spec: ClipSpec,
    },
    Ucf11 {
        dir: std::path::PathBuf,
        frames: usize,
    },
}

#[derive(Debug)]
struct TrainExp {
    data: DataSpec,
    modes: Modes,
    methods: Vec<(MapKind, f64)>,
    /// `cpu` or `cuda` from the config.
    device_name: String,
    cfg: TrainConfig,
    gate: GateActivation,
    clips: OnceLock<std::result::Result<Arc<(Clips, Clips)>, String>>,
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let data = match p
        .choice(
            "data",
            Some("fashion-mnist-clips"),
            &["fashion-mnist-clips", "ucf11"],
        )?
        .as_str()
    {
        "ucf11" => {
            let dir = p
                .string_opt("ucf11_dir")?
                .or_else(|| std::env::var("UCF11_DIR").ok())
                .ok_or_else(|| {
                    crate::missing_data(
                        l,
                        "problem.ucf11_dir",
                        "UCF11 is not available here: set `ucf11_dir` in the config or UCF11_DIR to a folder of prepared UCF11 clips (format: btrnn::data::load_ucf11)",
                    )
                })?;
            DataSpec::Ucf11 {
                dir: dir.into(),
                frames: p.usize_or("frames", 6)?,
            }
        }
        _ => {
            let d = ClipSpec::default();
            DataSpec::Fashion {
                train: p.usize_or("train_clips", 5000)?,
                test: p.usize_or("test_clips", 1000)?,
                spec: ClipSpec {
                    canvas: p.usize_or("canvas", d.canvas)?,
                    frames: p.usize_or("frames", d.frames)?,
                    max_speed: p.usize_or("max_speed", d.max_speed as usize)? as i64,
                },
            }
        }
    };
    let modes = parse_modes(&mut p)?;
    let device_name = p.choice("device", Some("cpu"), &["cpu", "cuda"])?;
    // Resolved when a run starts (a `--device` on the command line, which
    // travels in the run context, overrides it); `check` passes on machines
    // without a GPU, and a run asking for a missing GPU fails at once.
    let device = tch::Device::Cpu;
    let cfg = TrainConfig {
        epochs: 0,
        batch_size: p.usize_or("batch_size", 16)?.max(1),
        lr: p.f64_or("lr", 1e-4)?,
        decay: p.f64_or("decay", 0.00016667)?,
        l2: p.f64_or("l2", 1e-2)?,
        dropout: p.f64_or("dropout", 0.25)?,
        recurrent_dropout: p.f64_or("recurrent_dropout", 0.25)?,
        device,
    };
    for (k, v) in [
        ("dropout", cfg.dropout),
        ("recurrent_dropout", cfg.recurrent_dropout),
    ] {
        if !(0.0..1.0).contains(&v) {
            return Err(l.err(&format!("problem.{k}"), "must be in [0, 1)"));
        }
    }
    let gate =
        GateActivation::parse(&p.choice("gate", Some("hard_sigmoid"), GateActivation::CHOICES)?)
            .map_err(|e| l.err("problem.gate", e))?;
    p.finish()?;
    if let DataSpec::Fashion { train, test, spec } = &data {
        if spec.canvas * spec.canvas != modes.input_size() {
            return Err(l.err(
                "problem.input_modes",
                format!(
                    "multiply to {}, but a {0} x {0} canvas frame holds {}",
                    modes.input_size(),
                    spec.canvas * spec.canvas
                ),
            ));
        }
        if *train > 5000 || *test > 1000 {
            return Err(l.err(
                "problem.train_clips",
                "the embedded Fashion-MNIST subset has 5,000 training and 1,000 test images",
            ));
        }
    }
    if let DataSpec::Ucf11 { .. } = &data {
        if modes.input_size() != 160 * 120 * 3 {
            return Err(l.err("problem.input_modes", "UCF11 frames hold 57,600 values"));
        }
    }
    let mut methods = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let mut p = Params::new(l, format!("methods[{i}].params"), &m.params);
        methods.push(parse_model(&mut p, &m.algorithm, &modes)?);
        p.finish()?;
    }
    Ok(Box::new(TrainExp {
        data,
        modes,
        methods,
        device_name,
        cfg,
        gate,
        clips: OnceLock::new(),
    }))
}

impl TrainExp {
    /// The clips, made once and shared by every run.
    fn clips(&self) -> Result<Arc<(Clips, Clips)>> {
        self.clips
            .get_or_init(|| match &self.data {
                DataSpec::Fashion { train, test, spec } => {
                    let (tr, te) = fashion_mnist_subset();
                    let a = make_clips(&tr, *train, spec, &Stream::root("btrnn-clips/train"))?;
                    let b = make_clips(&te, *test, spec, &Stream::root("btrnn-clips/test"))?;
                    Ok(Arc::new((a, b)))
                }
                DataSpec::Ucf11 { dir, frames } => {
                    load_ucf11(dir, *frames, 0.2, &Stream::root("btrnn-ucf11")).map(Arc::new)
                }
            })
            .clone()
            .map_err(|e| anyhow!(e))
    }
}

/// Mean over seeds of a column of the runs' per-epoch tables (the values
/// as written in the CSV files, so the figure is the same from either).
fn mean_column(runs: &[RunRecord], column: &str) -> Option<Vec<f64>> {
    let mut sums: Vec<f64> = vec![];
    let mut count = 0usize;
    for r in runs {
        let t = r.table.as_ref()?;
        let col = t.header.iter().position(|h| h == column)?;
        let vals: Vec<f64> = t
            .rows
            .iter()
            .filter_map(|row| row.get(col)?.parse().ok())
            .collect();
        if sums.is_empty() {
            sums = vec![0.0; vals.len()];
        }
        if vals.len() != sums.len() {
            return None;
        }
        sums.iter_mut().zip(&vals).for_each(|(s, v)| *s += v);
        count += 1;
    }
    (count > 0).then(|| sums.iter().map(|s| s / count as f64).collect())
}

impl Prepared for TrainExp {
    /// The UCF11 frames' content digest (the embedded Fashion-MNIST subset
    /// is part of the code).
    fn inputs(&self) -> Result<Vec<(String, String)>> {
        match &self.data {
            DataSpec::Ucf11 { dir, .. } if dir.exists() => Ok(vec![(
                "ucf11_dir".to_string(),
                xtask::drivers::digest_path(dir)?,
            )]),
            _ => Ok(vec![]),
        }
    }

    /// `figure-loss.svg`: the mean training loss against epochs (the
    /// convergence panel of the paper's figure).
    fn extra_figures(&self, records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        let series: Vec<svg::Series> = records
            .iter()
            .filter_map(|(n, runs)| {
                let ys = mean_column(runs, "train_loss")?;
                Some(svg::Series {
                    name: n.clone(),
                    xs: (1..=ys.len()).map(|e| e as f64).collect(),
                    ys,
                    band: None,
                })
            })
            .collect();
        if series.is_empty() {
            return Ok(vec![]);
        }
        let ax = svg::Axes {
            title: "training loss (with dropout and L2), mean over seeds".into(),
            x_label: "epochs".into(),
            y_label: "training loss".into(),
            ..Default::default()
        };
        Ok(vec![Figure {
            file: "figure-loss.svg".into(),
            svg: svg::line_chart(&ax, &series, &[]),
        }])
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let (method, budget, rng) = (ctx.method, ctx.budget, ctx.rng.clone());
        let clips = self.clips()?;
        let (train_clips, test_clips) = (&clips.0, &clips.1);
        let (kind, std) = &self.methods[method];
        // The command line's `--device` travels in the run context.
        let device =
            crate::parse_device(ctx.device.unwrap_or(&self.device_name)).map_err(|e| anyhow!(e))?;
        let vs = nn::VarStore::new(device);
        let model = LstmClassifier::new(
            &vs,
            self.modes.clone(),
            kind.clone(),
            *std,
            train_clips.classes,
            self.gate,
            &rng.child("init"),
        )
        .map_err(|e| anyhow!(e))?;
        let cfg = TrainConfig {
            epochs: budget,
            device,
            ..self.cfg.clone()
        };
        let stats = train(
            &vs,
            &model,
            train_clips,
            test_clips,
            &cfg,
            &rng.child("train"),
            |_| {},
        )
        .map_err(|e| anyhow!(e))?;
        let mut out = RunOutput {
            curve: stats.iter().map(|s| s.test_acc).collect(),
            ..Default::default()
        };
        let last = stats
            .last()
            .ok_or_else(|| anyhow!("budget (epochs) must be positive"))?;
        let best = stats.iter().map(|s| s.test_acc).fold(f64::MIN, f64::max);
        out.scalars
            .insert("final_test_accuracy".into(), last.test_acc);
        out.scalars.insert("best_test_accuracy".into(), best);
        out.scalars
            .insert("final_train_loss".into(), last.train_loss);
        out.scalars.insert("final_test_loss".into(), last.test_loss);
        out.scalars.insert(
            "params_input_to_hidden".into(),
            model.map.num_params() as f64,
        );
        out.scalars
            .insert("params_lstm_layer".into(), model.lstm_params() as f64);
        out.table = Some(Table {
            header: [
                "epoch",
                "train_loss",
                "train_accuracy",
                "test_loss",
                "test_accuracy",
            ]
            .map(String::from)
            .to_vec(),
            rows: stats
                .iter()
                .map(|s| {
                    vec![
                        s.epoch.to_string(),
                        format!("{:.6}", s.train_loss),
                        format!("{:.4}", s.train_acc),
                        format!("{:.6}", s.test_loss),
                        format!("{:.4}", s.test_acc),
                    ]
                })
                .collect(),
        });
        Ok(out)
    }
}
