//! Few-shot NAS trained for real (driver `fewshot-train`): standalone ground
//! truth, one-shot and few-shot supernets on a scaled-down NAS-Bench-201
//! space over the embedded Fashion-MNIST subset.

use anyhow::{bail, Result};
use btrnn::data::{fashion_mnist_subset, Images};
use fewshot::supernet::{standalone, Data, Recipe, Shape};
use fewshot::trained::{format_truth, sample_cells, TruthRow};
use searchkit::nasbench::nb201::Cell;
use searchkit::rng::Stream;
use std::io::Write;
use std::path::Path;
use tch::{Device, Kind, Tensor};

/// Fashion-MNIST's mean and standard deviation of a pixel in [0, 1].
const MEAN: f64 = 0.2860;
const STD: f64 = 0.3530;

/// Images `range` of `images` as a `n x 1 x s x s` tensor, `s = 28 / factor`
/// (average pooling by `factor`), normalised.
pub fn to_data(
    images: &Images,
    range: std::ops::Range<usize>,
    factor: usize,
    device: Device,
) -> Result<Data, String> {
    if range.end > images.len() || range.is_empty() {
        return Err(format!(
            "images {}..{} asked of a set of {}",
            range.start,
            range.end,
            images.len()
        ));
    }
    if factor == 0 || images.rows % factor != 0 {
        return Err(format!(
            "downsample factor {factor} does not divide the image side {}",
            images.rows
        ));
    }
    let n = range.len() as i64;
    let side = images.rows as i64;
    let px = &images.pixels
        [range.start * images.rows * images.cols..range.end * images.rows * images.cols];
    let x = Tensor::from_slice(px)
        .to_kind(Kind::Float)
        .view([n, 1, side, side])
        / 255.0;
    let f = factor as i64;
    let x = if factor > 1 {
        x.avg_pool2d([f, f], [f, f], [0, 0], false, true, None::<i64>)
    } else {
        x
    };
    let x = ((x - MEAN) / STD).to_device(device);
    let y: Vec<i64> = images.labels[range].iter().map(|&l| l as i64).collect();
    Ok(Data {
        x,
        y: Tensor::from_slice(&y).to_device(device),
    })
}

/// The embedded subset: (training images, test images).
pub fn subset() -> (Images, Images) {
    fashion_mnist_subset()
}

/// The scaled-down space and the ground truth's fixed recipe. The settings
/// line of the committed table is [`GroundTruth::settings`], so a table
/// written with other settings is refused rather than silently mixed.
#[derive(Clone, Debug, PartialEq)]
pub struct GroundTruth {
    /// Training images (the first `train` of the embedded 5,000).
    pub train: usize,
    /// Test images (the first `test` of the embedded 1,000).
    pub test: usize,
    /// Average-pooling factor (2: 14 x 14 images).
    pub factor: usize,
    pub shape: Shape,
    pub recipe: Recipe,
    pub eval_batch: usize,
    /// Cells in the uniform sample.
    pub sample: usize,
}

impl Default for GroundTruth {
    fn default() -> Self {
        Self {
            train: 2000,
            test: 1000,
            factor: 2,
            shape: Shape {
                channels: 8,
                cells_per_stage: 1,
                in_channels: 1,
                classes: 10,
            },
            recipe: Recipe {
                epochs: 5,
                batch_size: 64,
                lr: 0.05,
                lr_min: 0.0,
                momentum: 0.9,
                weight_decay: 5e-4,
                nesterov: true,
            },
            eval_batch: 250,
            sample: 500,
        }
    }
}

/// The label of every stream of the trained few-shot experiments.
pub const ROOT_LABEL: &str = "fewshot-nb201-train";

impl GroundTruth {
    pub fn settings(&self) -> String {
        let r = &self.recipe;
        format!(
            "fashion-mnist train 0..{} test 0..{} pool {} | C {} N {} | epochs {} batch {} lr {} -> {} momentum {} nesterov {} wd {} | eval batch {} | sample {} of 15625 (stream {ROOT_LABEL}/sample)",
            self.train, self.test, self.factor, self.shape.channels, self.shape.cells_per_stage,
            r.epochs, r.batch_size, r.lr, r.lr_min, r.momentum, r.nesterov, r.weight_decay,
            self.eval_batch, self.sample
        )
    }

    /// The sampled cells, in sample order.
    pub fn cells(&self) -> Result<Vec<Cell>, String> {
        sample_cells(self.sample, &Stream::root(ROOT_LABEL).child("sample"))
    }

    /// The stream of one cell's standalone training (by its code, so a
    /// cell's result does not depend on the sample's order).
    pub fn cell_stream(cell: Cell) -> Stream {
        Stream::root(ROOT_LABEL)
            .child("ground-truth")
            .child_n("cell", cell.code() as u64)
    }

    pub fn data(&self, device: Device) -> Result<(Data, Data), String> {
        let (tr, te) = subset();
        Ok((
            to_data(&tr, 0..self.train, self.factor, device)?,
            to_data(&te, 0..self.test, self.factor, device)?,
        ))
    }

    pub fn accuracy_of(&self, cell: Cell, train: &Data, test: &Data) -> Result<f64, String> {
        standalone(
            cell,
            self.shape,
            train,
            test,
            &self.recipe,
            self.eval_batch,
            &Self::cell_stream(cell),
        )
    }
}

/// `xtask-torch fewshot-ground-truth`: trains the sample's cells with
/// position `= shard (mod shards)` standalone, appending
/// `position,arch,accuracy,seconds` to `<dir>/part-<shard>.csv` as each
/// finishes (so a killed run resumes where it stopped); `merge` writes
/// `<dir>/../ground-truth.csv` from all parts once every cell is done.
pub fn ground_truth_command(
    dir: &Path,
    shard: usize,
    shards: usize,
    merge: bool,
    gt: &GroundTruth,
) -> Result<()> {
    let cells = gt.cells().map_err(anyhow::Error::msg)?;
    std::fs::create_dir_all(dir)?;
    let read_part = |k: usize| -> Result<Vec<(TruthRow, f64)>> {
        let p = dir.join(format!("part-{k}.csv"));
        let text = std::fs::read_to_string(&p).unwrap_or_default();
        let mut rows = Vec::new();
        for l in text.lines() {
            let f: Vec<&str> = l.split(',').collect();
            // A line cut short by a kill is dropped (its cell is retrained).
            if f.len() != 4 {
                continue;
            }
            let (Ok(position), Ok(cell), Ok(accuracy), Ok(secs)) = (
                f[0].parse::<usize>(),
                Cell::from_arch_str(f[1]),
                f[2].parse::<f64>(),
                f[3].parse::<f64>(),
            ) else {
                continue;
            };
            if cells.get(position) != Some(&cell) {
                bail!(
                    "{}: row `{l}` is not the sample's cell at {position}",
                    p.display()
                );
            }
            rows.push((
                TruthRow {
                    position,
                    cell,
                    accuracy,
                },
                secs,
            ));
        }
        Ok(rows)
    };
    if merge {
        let mut rows = Vec::new();
        for k in 0..shards {
            rows.extend(read_part(k)?);
        }
        rows.sort_by_key(|(r, _)| r.position);
        rows.dedup_by_key(|(r, _)| r.position);
        if rows.len() != cells.len() {
            bail!(
                "{} of {} cells done; run the missing shards first",
                rows.len(),
                cells.len()
            );
        }
        let truth: Vec<TruthRow> = rows.iter().map(|(r, _)| *r).collect();
        let out = dir.parent().unwrap_or(dir).join("ground-truth.csv");
        std::fs::write(&out, format_truth(&gt.settings(), &truth))?;
        let secs: f64 = rows.iter().map(|(_, s)| s).sum();
        println!(
            "wrote {} ({} cells, {:.3} CPU hours of training, one thread)",
            out.display(),
            truth.len(),
            secs / 3600.0
        );
        return Ok(());
    }
    if shards == 0 || shard >= shards {
        bail!("--shard must be below --shards");
    }
    let done: std::collections::HashSet<usize> =
        read_part(shard)?.iter().map(|(r, _)| r.position).collect();
    let (train, test) = gt.data(Device::Cpu).map_err(anyhow::Error::msg)?;
    let path = dir.join(format!("part-{shard}.csv"));
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)?;
    for (position, &cell) in cells.iter().enumerate() {
        if position % shards != shard || done.contains(&position) {
            continue;
        }
        let t0 = cpu_seconds();
        let acc = gt
            .accuracy_of(cell, &train, &test)
            .map_err(anyhow::Error::msg)?;
        let secs = cpu_seconds() - t0;
        writeln!(file, "{position},{},{acc:?},{secs:.3}", cell.arch_str())?;
        file.flush()?;
        println!("{position} {} {acc:.1}% {secs:.1}s", cell.arch_str());
    }
    Ok(())
}

/// CPU time of this process (user + system), so the cost stated is CPU
/// hours whatever else shares the machine.
pub fn cpu_seconds() -> f64 {
    // /proc/self/stat fields 14 and 15: utime and stime in clock ticks (100 Hz on Linux).
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let f: Vec<&str> = rest.split_whitespace().collect();
            Some((f.get(11)?.parse::<f64>().ok()? + f.get(12)?.parse::<f64>().ok()?) / 100.0)
        })
        .unwrap_or(f64::NAN)
}
