//! Few-shot NAS with a gradient-based search (driver `fewshot-darts`):
//! first-order DARTS on the one-shot supernet, and on each of the 5
//! sub-supernets split on edge 1<-0 with the final architecture of the one
//! with the best validation accuracy, as the paper does; every found cell is
//! scored by the standalone ground truth of `fewshot-nb201-train` (looked up
//! in its table, or trained with exactly the table's recipe and stream).

use crate::fewshot_train::{check_split, Dataset, GroundTruth, NB201_CIFAR10_TRUTH, TRUTH_PATH};
use anyhow::{anyhow, bail, Result};
use fewshot::supernet::{darts, parameter_free, DartsOutcome, DartsRecipe, Data, Shape, Supernet};
use fewshot::trained::parse_truth;
use searchkit::nasbench::nb201::{Cell, NUM_EDGES, OPS};
use std::collections::HashMap;
use std::path::PathBuf;
use tch::Device;
use xtask::config::{Loaded, Params};
use xtask::drivers::{Driver, Prepared, RunContext, RunOutput, Table};

pub fn driver() -> Driver {
    Driver {
        name: "fewshot-darts",
        about: "few-shot NAS with first-order DARTS: one-shot supernet vs the 5 sub-supernets (best by validation), found cells scored by standalone-trained ground truth",
        algorithms: &["one-shot", "few-shot"],
        prepare,
    }
}

/// What scores a found cell.
#[derive(Debug)]
enum Truth {
    /// The committed standalone-trained table (a sample of the space); a
    /// cell it lacks is trained with its recipe.
    Trained {
        path: PathBuf,
        by_cell: HashMap<Cell, f64>,
    },
    /// NAS-Bench-201's CIFAR-10 accuracies of all cells (embedded).
    Nb201Cifar10,
}

#[derive(Debug)]
struct DartsExp {
    truth: Truth,
    /// Every ground-truth value known, for a found cell's percentile.
    truth_values: Vec<f64>,
    gt: GroundTruth,
    dataset: Dataset,
    train: usize,
    valid: usize,
    shape: Shape,
    recipe: DartsRecipe,
    eval_batch: usize,
    device_name: String,
    /// (split, epoch factor) per method.
    methods: Vec<(bool, usize)>,
}

/// The ground-truth settings line without its sample size, which grows as
/// the table is extended.
fn recipe_part(settings: &str) -> &str {
    settings.split(" | sample").next().unwrap_or(settings)
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let truth_rel = p
        .string_opt("truth")?
        .unwrap_or_else(|| TRUTH_PATH.to_string());
    let gt = GroundTruth::default();
    let dataset = Dataset::from_params(&mut p, l, gt.factor)?;
    let (train_default, valid_default) = if dataset.is_cifar() {
        (25_000, 25_000)
    } else {
        (gt.train, 1000)
    };
    let train = p.usize_or("train", train_default)?;
    let valid = p.usize_or("valid", valid_default)?;
    if matches!(dataset, Dataset::FashionMnist { factor } if factor != gt.factor) {
        bail!(l.err(
            "problem.pool",
            format!(
                "found cells are scored by the ground truth, made at pool {}",
                gt.factor
            )
        ));
    }
    let shape = Shape {
        channels: p.usize_or("channels", gt.shape.channels)?,
        cells_per_stage: p.usize_or("cells_per_stage", gt.shape.cells_per_stage)?,
        in_channels: dataset.in_channels(),
        classes: 10,
    };
    let mut recipe = DartsRecipe::authors(0);
    let w = &mut recipe.weights;
    w.batch_size = p.usize_or("batch_size", w.batch_size)?;
    w.lr = p.f64_or("lr", w.lr)?;
    w.lr_min = p.f64_or("lr_min", w.lr_min)?;
    w.weight_decay = p.f64_or("weight_decay", w.weight_decay)?;
    recipe.arch_lr = p.f64_or("arch_lr", recipe.arch_lr)?;
    recipe.arch_weight_decay = p.f64_or("arch_weight_decay", recipe.arch_weight_decay)?;
    recipe.clip = p.f64_or("clip", recipe.clip)?;
    let eval_batch = p.usize_or("eval_batch", gt.eval_batch)?;
    let device_name = p.choice("device", Some("cpu"), &["cpu", "cuda"])?;
    p.finish()?;
    check_split(l, &dataset, train, valid, &shape, eval_batch)?;
    recipe.validate().map_err(|e| l.err("problem.lr", e))?;
    let (truth, truth_values) = if truth_rel == NB201_CIFAR10_TRUTH {
        if !dataset.is_cifar() {
            bail!(l.err("problem.truth", format!("`{NB201_CIFAR10_TRUTH}` is CIFAR-10's ground truth: it needs dataset = \"cifar10\"")));
        }
        (Truth::Nb201Cifar10, fewshot::tables().truth.clone())
    } else {
        if dataset.is_cifar() {
            bail!(l.err("problem.truth", format!("CIFAR-10 searches are scored by `{NB201_CIFAR10_TRUTH}`; the trained tables are Fashion-MNIST")));
        }
        let path = xtask::workspace_root().join(&truth_rel);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            l.err(
                "problem.truth",
                format!("cannot read the ground-truth table {} ({e}); it is committed with the repository, or made by `xtask-torch fewshot-ground-truth`", path.display()),
            )
        })?;
        let (settings, rows) = parse_truth(&text)
            .map_err(|e| l.err("problem.truth", format!("{}: {e}", path.display())))?;
        // A found cell missing from the table is trained with GroundTruth's
        // recipe: the table must have been made with that same recipe.
        if recipe_part(&settings) != recipe_part(&gt.settings()) {
            bail!(l.err(
                "problem.truth",
                format!(
                    "{} was made with `{settings}`, not this build's ground-truth recipe `{}`",
                    path.display(),
                    gt.settings()
                )
            ));
        }
        if rows.is_empty() {
            bail!(l.err("problem.truth", "the ground-truth table has no rows"));
        }
        (
            Truth::Trained {
                path,
                by_cell: rows.iter().map(|r| (r.cell, r.accuracy)).collect(),
            },
            rows.iter().map(|r| r.accuracy).collect(),
        )
    };
    let mut methods = Vec::new();
    for (i, m) in l.exp.methods.iter().enumerate() {
        let mut p = Params::new(l, format!("methods[{i}].params"), &m.params);
        let factor = p.usize_or("epoch_factor", 1)?;
        p.finish()?;
        if factor == 0 {
            bail!(l.err(
                &format!("methods[{i}].params.epoch_factor"),
                "must be at least 1"
            ));
        }
        methods.push((m.algorithm == "few-shot", factor));
    }
    Ok(Box::new(DartsExp {
        truth,
        truth_values,
        gt,
        dataset,
        train,
        valid,
        shape,
        recipe,
        eval_batch,
        device_name,
        methods,
    }))
}

/// Fraction of a cell's edges whose op has no parameters.
fn param_free_fraction(c: Cell) -> f64 {
    c.ops().iter().filter(|&&o| parameter_free(o)).count() as f64 / NUM_EDGES as f64
}

impl DartsExp {
    fn search_data(&self, device: Device) -> Result<(Data, Data)> {
        self.dataset.split(self.train, self.valid, device)
    }

    /// The ground truth of `cell` and whether the table had it.
    fn ground_truth(&self, cell: Cell, gt_data: &mut Option<(Data, Data)>) -> Result<(f64, bool)> {
        let by_cell = match &self.truth {
            Truth::Nb201Cifar10 => return Ok((fewshot::tables().truth[cell.index()], true)),
            Truth::Trained { by_cell, .. } => by_cell,
        };
        if let Some(&a) = by_cell.get(&cell) {
            return Ok((a, true));
        }
        // Standalone training is the ground truth's: on CPU, whatever device
        // the search used, so the value equals the table's would-be entry.
        if gt_data.is_none() {
            *gt_data = Some(self.gt.data(Device::Cpu).map_err(anyhow::Error::msg)?);
        }
        let (tr, te) = gt_data.as_ref().expect("set above");
        let a = self
            .gt
            .accuracy_of(cell, tr, te)
            .map_err(anyhow::Error::msg)?;
        Ok((a, false))
    }
}

impl Prepared for DartsExp {
    fn inputs(&self) -> Result<Vec<(String, String)>> {
        let mut v = vec![(
            "truth".to_string(),
            match &self.truth {
                Truth::Trained { path, .. } => xtask::drivers::digest_path(path)?,
                Truth::Nb201Cifar10 => NB201_CIFAR10_TRUTH.to_string(),
            },
        )];
        v.extend(self.dataset.input()?);
        Ok(v)
    }

    fn has_curves(&self) -> bool {
        false
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let device =
            crate::parse_device(ctx.device.unwrap_or(&self.device_name)).map_err(|e| anyhow!(e))?;
        let (train_data, valid) = self.search_data(device)?;
        let (split, factor) = self.methods[ctx.method];
        // The budget is the DARTS epochs of each supernet (authors: 60).
        let recipe = DartsRecipe {
            weights: fewshot::supernet::Recipe {
                epochs: ctx.budget * factor,
                ..self.recipe.weights.clone()
            },
            ..self.recipe.clone()
        };
        let edges: Vec<Option<u8>> = if split {
            (0..OPS.len() as u8).map(Some).collect()
        } else {
            vec![None]
        };
        // Initial weights from the seed's shared stream: one-shot and
        // few-shot runs of a seed start from the same network.
        let mut found: Vec<DartsOutcome> = Vec::new();
        for &edge0 in &edges {
            let label = edge0.map_or("one-shot".to_string(), |o| format!("sub-{o}"));
            let net = Supernet::new(self.shape, device, &ctx.design.child("init"))
                .map_err(|e| anyhow!(e))?;
            found.push(
                darts(
                    &net,
                    &train_data,
                    &valid,
                    &recipe,
                    edge0,
                    self.eval_batch,
                    &ctx.rng.child(&label),
                )
                .map_err(|e| anyhow!(e))?,
            );
        }
        // The paper's pick among the sub-supernets: best validation accuracy
        // (first on ties).
        let chosen = (0..found.len())
            .reduce(|b, k| {
                if found[k].valid_accuracy > found[b].valid_accuracy {
                    k
                } else {
                    b
                }
            })
            .expect("at least one search");
        let mut gt_data = None;
        let mut rows = Vec::new();
        let mut gts = Vec::new();
        for (k, (o, &edge0)) in found.iter().zip(&edges).enumerate() {
            let (acc, in_table) = self.ground_truth(o.cell, &mut gt_data)?;
            gts.push(acc);
            rows.push(vec![
                edge0.map_or("one-shot".to_string(), |op| OPS[op as usize].to_string()),
                o.cell.arch_str(),
                format!("{:?}", o.valid_accuracy),
                format!("{acc:?}"),
                (if in_table { "table" } else { "trained" }).to_string(),
                format!("{:?}", param_free_fraction(o.cell)),
                format!("{:?}", o.losses.last().copied().unwrap_or(f64::NAN)),
                (k == chosen).to_string(),
                o.weights
                    .iter()
                    .map(|w| format!("{w:.4}"))
                    .collect::<Vec<_>>()
                    .join(" "),
            ]);
        }
        let cell = found[chosen].cell;
        let gt = gts[chosen];
        let mut out = RunOutput::default();
        let below = self.truth_values.iter().filter(|&&v| v < gt).count();
        for (key, v) in [
            ("gt_accuracy", gt),
            // Where the found cell stands in the uniform sample of the space.
            (
                "gt_percentile",
                100.0 * below as f64 / self.truth_values.len() as f64,
            ),
            ("param_free_edges", param_free_fraction(cell)),
            (
                "conv_edges",
                cell.ops().iter().filter(|&&o| !parameter_free(o)).count() as f64,
            ),
            ("valid_accuracy", found[chosen].valid_accuracy),
            (
                "best_candidate_gt_accuracy",
                gts.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            ),
            ("darts_epochs", (recipe.weights.epochs * edges.len()) as f64),
            ("chosen_edge0_op", f64::from(cell.ops()[0])),
        ] {
            out.scalars.insert(key.into(), v);
        }
        out.table = Some(Table {
            header: [
                "supernet",
                "arch",
                "valid_accuracy",
                "gt_accuracy",
                "gt_source",
                "param_free_edges",
                "final_train_loss",
                "chosen",
                "softmax_alpha",
            ]
            .map(String::from)
            .to_vec(),
            rows,
        });
        Ok(out)
    }
}
