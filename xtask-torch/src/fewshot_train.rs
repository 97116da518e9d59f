//! Few-shot NAS trained for real (driver `fewshot-train`): standalone ground
//! truth, one-shot and few-shot supernets on a scaled-down NAS-Bench-201
//! space over the embedded Fashion-MNIST subset.

use anyhow::{anyhow, bail, Result};
use btrnn::data::{fashion_mnist_subset, Images};
use fewshot::supernet::{
    accuracy, few_shot_accuracy, split, standalone, train, Data, Recipe, Sampler, Shape, Supernet,
};
use fewshot::trained::{
    format_truth, parse_truth, rank_with_ci, sample_cells, top_k_overlap, TruthRow,
};
use searchkit::nasbench::nb201::{Cell, OPS};
use searchkit::rng::Stream;
use std::io::Write;
use std::path::{Path, PathBuf};
use tch::{Device, Kind, Tensor};
use xtask::config::{Loaded, Params};
use xtask::drivers::{Driver, Figure, Prepared, RunContext, RunOutput, Table};
use xtask::store::RunRecord;
use xtask::svg;

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
    if factor == 0 || !images.rows.is_multiple_of(factor) {
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

/// CIFAR-10's per-channel mean and standard deviation of a pixel in [0, 1]
/// (the authors' `get_datasets`).
const CIFAR_MEAN: [f64; 3] = [0.4914, 0.4822, 0.4465];
const CIFAR_STD: [f64; 3] = [0.2470, 0.2435, 0.2616];
/// Bytes of one record of CIFAR-10's binary version: a label, then the
/// 32 x 32 R, G and B planes.
const CIFAR_RECORD: usize = 1 + 3 * 32 * 32;

/// The CIFAR-10 training set (the binary version's `data_batch_1.bin` ..
/// `data_batch_5.bin` in `dir`, in that order), images `range`, as a
/// normalised `n x 3 x 32 x 32` tensor on `device`. Any file size that is
/// a whole number of records is read (so a test can use a small copy).
pub fn load_cifar10(dir: &Path, range: std::ops::Range<usize>, device: Device) -> Result<Data> {
    let mut bytes = Vec::new();
    for k in 1..=5 {
        let f = dir.join(format!("data_batch_{k}.bin"));
        let b = std::fs::read(&f).map_err(|e| {
            anyhow!(
                "cannot read {} ({e}): CIFAR-10's binary version (cifar-10-batches-bin) is expected there",
                f.display()
            )
        })?;
        if b.is_empty() || b.len() % CIFAR_RECORD != 0 {
            bail!(
                "{} holds {} bytes, not a whole number of {CIFAR_RECORD}-byte CIFAR-10 records",
                f.display(),
                b.len()
            );
        }
        bytes.extend(b);
    }
    let n = bytes.len() / CIFAR_RECORD;
    if range.is_empty() || range.end > n {
        bail!(
            "CIFAR-10 images {}..{} asked of the {n} in {}",
            range.start,
            range.end,
            dir.display()
        );
    }
    let (mut px, mut y) = (Vec::new(), Vec::new());
    for rec in bytes
        .chunks(CIFAR_RECORD)
        .skip(range.start)
        .take(range.len())
    {
        if rec[0] > 9 {
            bail!("a CIFAR-10 label is 0..9, got {}", rec[0]);
        }
        y.push(i64::from(rec[0]));
        px.extend_from_slice(&rec[1..]);
    }
    let x = Tensor::from_slice(&px)
        .to_kind(Kind::Float)
        .view([range.len() as i64, 3, 32, 32])
        / 255.0;
    let mean = Tensor::from_slice(&CIFAR_MEAN.map(|v| v as f32)).view([1, 3, 1, 1]);
    let std = Tensor::from_slice(&CIFAR_STD.map(|v| v as f32)).view([1, 3, 1, 1]);
    Ok(Data {
        x: ((x - mean) / std).to_device(device),
        y: Tensor::from_slice(&y).to_device(device),
    })
}

/// The CIFAR-10 folder: the config's `data_dir`, else `CIFAR10_DIR`, with a
/// clear error when neither is set or the folder lacks the files.
pub fn cifar10_dir(configured: Option<&str>) -> Result<PathBuf, String> {
    let dir = configured
        .map(String::from)
        .or_else(|| std::env::var("CIFAR10_DIR").ok())
        .ok_or("CIFAR-10 is not available here: set `data_dir` in the config or CIFAR10_DIR to the folder of CIFAR-10's binary version (cifar-10-batches-bin: data_batch_1.bin .. data_batch_5.bin)")?;
    let dir = PathBuf::from(dir);
    if !dir.join("data_batch_1.bin").is_file() {
        return Err(format!(
            "CIFAR-10 is not available here: {} has no data_batch_1.bin (expected CIFAR-10's binary version, cifar-10-batches-bin)",
            dir.display()
        ));
    }
    Ok(dir)
}

/// The ground truth of every NAS-Bench-201 cell on CIFAR-10 (the authors'
/// embedded table: test accuracy after 200 epochs), in the order of a
/// uniform permutation of the space, so the first `budget` rows are a
/// uniform sample.
pub fn nb201_cifar10_truth() -> Result<Vec<TruthRow>, String> {
    let cells = sample_cells(
        searchkit::nasbench::nb201::NUM_CELLS,
        &Stream::root(ROOT_LABEL).child("sample"),
    )?;
    let truth = &fewshot::tables().truth;
    Ok(cells
        .into_iter()
        .enumerate()
        .map(|(position, cell)| TruthRow {
            position,
            cell,
            accuracy: truth[cell.index()],
        })
        .collect())
}

/// The `truth` value that selects [`nb201_cifar10_truth`].
pub const NB201_CIFAR10_TRUTH: &str = "nb201-cifar10";

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
        // The longest run of done positions from 0: a prefix of a uniform
        // sample without replacement is itself one.
        let done = rows
            .iter()
            .enumerate()
            .take_while(|(i, (r, _))| r.position == *i)
            .count();
        rows.truncate(done);
        if rows.is_empty() {
            bail!("no cell done yet in {}", dir.display());
        }
        if done < cells.len() {
            println!("{done} of {} cells done (the rest is missing or not yet contiguous): writing the first {done}", cells.len());
        }
        let gt = GroundTruth {
            sample: done,
            ..gt.clone()
        };
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

/// The `fewshot-train` driver: one-shot and few-shot supernets trained on
/// the scaled-down space, their estimates of the ground-truth cells on
/// held-out images, and the rank statistics against the ground truth.
pub fn driver() -> Driver {
    Driver {
        name: "fewshot-train",
        about: "few-shot NAS trained for real: one-shot vs few-shot supernets on a scaled-down NAS-Bench-201 (Fashion-MNIST), ranked against standalone-trained ground truth",
        algorithms: &["one-shot", "few-shot"],
        prepare: prepare_train,
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Method {
    OneShot {
        epochs: usize,
    },
    FewShot {
        one_shot_epochs: usize,
        sub_epochs: usize,
    },
}

/// Where a `fewshot-train` experiment's images come from.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Dataset {
    /// The embedded 5,000 + 1,000 image subset, average-pooled.
    FashionMnist { factor: usize },
    /// The user's CIFAR-10 (binary version) in this folder.
    Cifar10(PathBuf),
}

impl Dataset {
    /// The problem keys `dataset`, `data_dir` and `pool` (default
    /// `fashion_pool`), checked; errors name the key.
    pub(crate) fn from_params(p: &mut Params, l: &Loaded, fashion_pool: usize) -> Result<Self> {
        let cifar = p.choice(
            "dataset",
            Some("fashion-mnist"),
            &["fashion-mnist", "cifar10"],
        )? == "cifar10";
        let data_dir = p.string_opt("data_dir")?;
        let factor = p.usize_or("pool", if cifar { 1 } else { fashion_pool })?;
        if cifar {
            if factor != 1 {
                bail!(l.err("problem.pool", "CIFAR-10 is used at its 32 x 32 (pool 1)"));
            }
            Ok(Dataset::Cifar10(cifar10_dir(data_dir.as_deref()).map_err(
                |e| crate::missing_data(l, "problem.data_dir", e),
            )?))
        } else {
            if data_dir.is_some() {
                bail!(l.err("problem.data_dir", "only CIFAR-10 (dataset = \"cifar10\") reads a data folder; Fashion-MNIST is embedded"));
            }
            if factor == 0 || !28usize.is_multiple_of(factor) {
                bail!(l.err("problem.pool", format!("must divide 28, got {factor}")));
            }
            Ok(Dataset::FashionMnist { factor })
        }
    }

    pub(crate) fn is_cifar(&self) -> bool {
        matches!(self, Dataset::Cifar10(_))
    }

    pub(crate) fn in_channels(&self) -> usize {
        if self.is_cifar() {
            3
        } else {
            1
        }
    }

    /// Training images available (validation images come from their end).
    pub(crate) fn training_images(&self) -> usize {
        if self.is_cifar() {
            50_000
        } else {
            subset().0.len()
        }
    }

    /// The first `train` training images and the last `valid`.
    pub(crate) fn split(&self, train: usize, valid: usize, device: Device) -> Result<(Data, Data)> {
        let n = self.training_images();
        if train == 0 || valid == 0 || train + valid > n {
            bail!("need train >= 1, valid >= 1 and train + valid <= {n}, got {train} + {valid}");
        }
        match self {
            Dataset::FashionMnist { factor } => {
                let (tr, _) = subset();
                Ok((
                    to_data(&tr, 0..train, *factor, device).map_err(anyhow::Error::msg)?,
                    to_data(&tr, n - valid..n, *factor, device).map_err(anyhow::Error::msg)?,
                ))
            }
            Dataset::Cifar10(dir) => Ok((
                load_cifar10(dir, 0..train, device)?,
                load_cifar10(dir, n - valid..n, device)?,
            )),
        }
    }

    /// The data's digest for fingerprints (none for the embedded subset).
    pub(crate) fn input(&self) -> Result<Option<(String, String)>> {
        match self {
            Dataset::Cifar10(dir) => {
                Ok(Some(("cifar10".into(), xtask::drivers::digest_path(dir)?)))
            }
            Dataset::FashionMnist { .. } => Ok(None),
        }
    }
}

#[derive(Debug)]
struct TrainExp {
    /// The committed table, or `None` for the embedded NB-201 CIFAR-10 one.
    truth_path: Option<PathBuf>,
    dataset: Dataset,
    truth: Vec<TruthRow>,
    train: usize,
    valid: usize,
    shape: Shape,
    recipe: Recipe,
    eval_batch: usize,
    bootstrap: usize,
    device_name: String,
    methods: Vec<Method>,
}

/// The committed ground truth, relative to the workspace root.
pub const TRUTH_PATH: &str = "results/fewshot-nb201-train/ground-truth.csv";

/// The checks a training driver's problem shares (fewshot-train,
/// fewshot-darts): the train / valid split fits the dataset's training
/// images, the network shape is valid and the evaluation batch is not empty.
pub(crate) fn check_split(
    l: &Loaded,
    dataset: &Dataset,
    train: usize,
    valid: usize,
    shape: &Shape,
    eval_batch: usize,
) -> Result<()> {
    let images = dataset.training_images();
    if train == 0 || valid == 0 || train + valid > images {
        bail!(l.err("problem.train", format!("need train >= 1, valid >= 1 and train + valid <= {images} (the training images; validation images come from the end), got {train} + {valid}")));
    }
    shape.validate().map_err(|e| l.err("problem.channels", e))?;
    if eval_batch == 0 {
        bail!(l.err("problem.eval_batch", "must be at least 1"));
    }
    Ok(())
}

fn prepare_train(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let truth_rel = p
        .string_opt("truth")?
        .unwrap_or_else(|| TRUTH_PATH.to_string());
    let gt = GroundTruth::default();
    let dataset = Dataset::from_params(&mut p, l, gt.factor)?;
    let cifar = dataset.is_cifar();
    // CIFAR-10: the authors split its 50,000 training images in halves.
    let (train_default, valid_default) = if cifar {
        (25_000, 25_000)
    } else {
        (gt.train, 1000)
    };
    let train = p.usize_or("train", train_default)?;
    let valid = p.usize_or("valid", valid_default)?;
    let shape = Shape {
        channels: p.usize_or("channels", gt.shape.channels)?,
        cells_per_stage: p.usize_or("cells_per_stage", gt.shape.cells_per_stage)?,
        in_channels: dataset.in_channels(),
        classes: 10,
    };
    let mut recipe = Recipe::authors(0);
    recipe.batch_size = p.usize_or("batch_size", recipe.batch_size)?;
    recipe.lr = p.f64_or("lr", recipe.lr)?;
    recipe.lr_min = p.f64_or("lr_min", recipe.lr_min)?;
    recipe.weight_decay = p.f64_or("weight_decay", recipe.weight_decay)?;
    let eval_batch = p.usize_or("eval_batch", gt.eval_batch)?;
    let bootstrap = p.usize_or("bootstrap", 1000)?;
    let device_name = p.choice("device", Some("cpu"), &["cpu", "cuda"])?;
    p.finish()?;
    check_split(l, &dataset, train, valid, &shape, eval_batch)?;
    recipe.validate().map_err(|e| l.err("problem.lr", e))?;
    let (truth_path, truth) = if truth_rel == NB201_CIFAR10_TRUTH {
        if !cifar {
            bail!(l.err("problem.truth", format!("`{NB201_CIFAR10_TRUTH}` is CIFAR-10's ground truth: it needs dataset = \"cifar10\"")));
        }
        (
            None,
            nb201_cifar10_truth().map_err(|e| l.err("problem.truth", e))?,
        )
    } else {
        let truth_path = xtask::workspace_root().join(&truth_rel);
        let text = std::fs::read_to_string(&truth_path).map_err(|e| {
            l.err(
                "problem.truth",
                format!("cannot read the ground-truth table {} ({e}); it is committed with the repository, or made by `xtask-torch fewshot-ground-truth` (each shard, then --merge)", truth_path.display()),
            )
        })?;
        let (_, truth) = parse_truth(&text)
            .map_err(|e| l.err("problem.truth", format!("{}: {e}", truth_path.display())))?;
        (Some(truth_path), truth)
    };
    if truth.is_empty() {
        bail!(l.err("problem.truth", "the ground-truth table has no rows"));
    }
    let mut methods = Vec::new();
    for (i, m) in l.exp.methods.iter().enumerate() {
        let mut p = Params::new(l, format!("methods[{i}].params"), &m.params);
        let method = match m.algorithm.as_str() {
            "one-shot" => Method::OneShot {
                epochs: p.usize_or("epochs", 600)?,
            },
            _ => Method::FewShot {
                one_shot_epochs: p.usize_or("one_shot_epochs", 600)?,
                sub_epochs: p.usize_or("sub_epochs", 300)?,
            },
        };
        p.finish()?;
        methods.push(method);
    }
    Ok(Box::new(TrainExp {
        truth_path,
        dataset,
        truth,
        train,
        valid,
        shape,
        recipe,
        eval_batch,
        bootstrap,
        device_name,
        methods,
    }))
}

impl TrainExp {
    fn data(&self, device: Device) -> Result<(Data, Data)> {
        self.dataset.split(self.train, self.valid, device)
    }

    fn recipe(&self, epochs: usize) -> Recipe {
        Recipe {
            epochs,
            ..self.recipe.clone()
        }
    }

    /// Rank scalars of `estimate` against the first `estimate.len()` truths,
    /// keys prefixed by `prefix`.
    fn score(&self, prefix: &str, estimate: &[f64], rng: &Stream, out: &mut RunOutput) {
        let truth: Vec<f64> = self.truth[..estimate.len()]
            .iter()
            .map(|r| r.accuracy)
            .collect();
        let (tau, rho) = rank_with_ci(&truth, estimate, self.bootstrap, rng);
        let k = (estimate.len() / 20).max(1);
        let best = (0..estimate.len())
            .max_by(|&a, &b| estimate[a].total_cmp(&estimate[b]).then(b.cmp(&a)))
            .unwrap_or(0);
        for (key, v) in [
            ("kendall_tau", tau.value),
            ("kendall_tau_ci_lo", tau.lo),
            ("kendall_tau_ci_hi", tau.hi),
            ("spearman_rho", rho.value),
            ("spearman_rho_ci_lo", rho.lo),
            ("spearman_rho_ci_hi", rho.hi),
            ("top5pct_overlap", top_k_overlap(&truth, estimate, k)),
            ("top1_true_accuracy", truth[best]),
        ] {
            out.scalars.insert(format!("{prefix}{key}"), v);
        }
    }
}

impl Prepared for TrainExp {
    fn inputs(&self) -> Result<Vec<(String, String)>> {
        let mut v = vec![(
            "truth".to_string(),
            match &self.truth_path {
                Some(p) => xtask::drivers::digest_path(p)?,
                None => NB201_CIFAR10_TRUTH.to_string(),
            },
        )];
        v.extend(self.dataset.input()?);
        Ok(v)
    }

    fn has_curves(&self) -> bool {
        false
    }

    /// `figure.svg`: true against estimated accuracy, seed 0 of each method.
    fn extra_figures(&self, records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        let panels: Vec<svg::Panel> = records
            .iter()
            .filter_map(|(name, runs)| {
                let r = runs.first()?;
                let t = r.table.as_ref()?;
                let col = |c: &str| t.header.iter().position(|h| h == c);
                let (ti, ei) = (col("true_accuracy")?, col("estimate")?);
                let xs = t
                    .rows
                    .iter()
                    .map(|row| row[ti].parse().unwrap_or(f64::NAN))
                    .collect();
                let ys = t
                    .rows
                    .iter()
                    .map(|row| row[ei].parse().unwrap_or(f64::NAN))
                    .collect();
                let tau = r.scalars.get("kendall_tau").copied().unwrap_or(f64::NAN);
                Some(svg::Panel {
                    title: format!("{name} (tau {tau:.3}, seed {})", r.seed),
                    xs,
                    ys,
                })
            })
            .collect();
        if panels.is_empty() {
            return Ok(vec![]);
        }
        Ok(vec![Figure {
            file: "figure.svg".into(),
            svg: svg::scatter_panels(
                "standalone test accuracy (%)",
                "supernet estimate (%)",
                &panels,
            ),
        }])
    }

    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let device =
            crate::parse_device(ctx.device.unwrap_or(&self.device_name)).map_err(|e| anyhow!(e))?;
        let (train_data, valid) = self.data(device)?;
        // The budget is the number of ground-truth cells scored, at most the table's.
        let n = ctx.budget.min(self.truth.len());
        let cells: Vec<Cell> = self.truth[..n].iter().map(|r| r.cell).collect();
        let rng = &ctx.rng;
        let mut out = RunOutput::default();
        let one_shot_epochs = match self.methods[ctx.method] {
            Method::OneShot { epochs } => epochs,
            Method::FewShot {
                one_shot_epochs, ..
            } => one_shot_epochs,
        };
        let net = Supernet::new(self.shape, device, &rng.child("init")).map_err(|e| anyhow!(e))?;
        let losses = train(
            &net,
            &train_data,
            &self.recipe(one_shot_epochs),
            Sampler::Uniform { edge0: None },
            &rng.child("one-shot"),
        )
        .map_err(|e| anyhow!(e))?;
        let one: Vec<f64> = cells
            .iter()
            .map(|&c| accuracy(&net, &valid, c, self.eval_batch))
            .collect();
        let mut epochs_total = one_shot_epochs;
        out.scalars.insert(
            "one_shot_final_train_loss".into(),
            *losses.last().unwrap_or(&f64::NAN),
        );
        let estimate = match self.methods[ctx.method] {
            Method::OneShot { .. } => one,
            Method::FewShot { sub_epochs, .. } => {
                // The one-shot stage's own estimates: a paired comparison in every run.
                self.score(
                    "one_shot_stage_",
                    &one,
                    &rng.child("bootstrap-stage"),
                    &mut out,
                );
                let subs = split(
                    &net,
                    &train_data,
                    &self.recipe(sub_epochs),
                    &rng.child("split"),
                )
                .map_err(|e| anyhow!(e))?;
                epochs_total += OPS.len() * sub_epochs;
                cells
                    .iter()
                    .map(|&c| few_shot_accuracy(&subs, &valid, c, self.eval_batch))
                    .collect()
            }
        };
        self.score("", &estimate, &rng.child("bootstrap"), &mut out);
        // Cost in supernet epochs over the training images (one path per step).
        out.scalars
            .insert("training_epochs".into(), epochs_total as f64);
        out.scalars.insert("architectures".into(), n as f64);
        out.table = Some(Table {
            header: ["position", "arch", "true_accuracy", "estimate"]
                .map(String::from)
                .to_vec(),
            rows: self.truth[..n]
                .iter()
                .zip(&estimate)
                .map(|(r, e)| {
                    vec![
                        r.position.to_string(),
                        r.cell.arch_str(),
                        format!("{:?}", r.accuracy),
                        format!("{e:?}"),
                    ]
                })
                .collect(),
        });
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use fewshot::supernet::{train, Sampler};

    /// A small stand-in for cifar-10-batches-bin: `per_file` records in each
    /// of the 5 training files, label `i % 10`, pixels from the record number.
    fn fake_cifar10(tag: &str, per_file: usize) -> PathBuf {
        let dir = xtask::cli::fresh_test_dir(tag);
        std::fs::create_dir_all(&dir).unwrap();
        for k in 1..=5 {
            let mut b = Vec::new();
            for i in 0..per_file {
                let n = (k - 1) * per_file + i;
                b.push((n % 10) as u8);
                b.extend((0..3 * 32 * 32).map(|p| ((p + 7 * n) % 256) as u8));
            }
            std::fs::write(dir.join(format!("data_batch_{k}.bin")), b).unwrap();
        }
        dir
    }

    #[test]
    fn cifar10_reader_feeds_the_full_nb201_shape() {
        tch::set_num_threads(1);
        let dir = fake_cifar10("cifar10-reader", 4);
        let data = load_cifar10(&dir, 2..10, Device::Cpu).unwrap();
        assert_eq!(data.x.size(), vec![8, 3, 32, 32]);
        let labels: Vec<i64> = Vec::try_from(&data.y).unwrap();
        assert_eq!(labels, vec![2, 3, 4, 5, 6, 7, 8, 9]);
        // The pixels of record 2, channel 0, first value: (0 + 14) / 255, normalised.
        let v = data.x.double_value(&[0, 0, 0, 0]);
        assert!(
            (v - (14.0 / 255.0 - CIFAR_MEAN[0]) / CIFAR_STD[0]).abs() < 1e-5,
            "{v}"
        );
        assert!(load_cifar10(&dir, 0..21, Device::Cpu)
            .unwrap_err()
            .to_string()
            .contains("of the 20"));
        // One training step of the paper's network (C = 16, N = 5) on it.
        let rng = Stream::root("cifar10-step");
        let net = Supernet::new(Shape::nb201(3, 10), Device::Cpu, &rng).unwrap();
        let mut recipe = Recipe::authors(1);
        recipe.batch_size = 8;
        let losses = train(
            &net,
            &data,
            &recipe,
            Sampler::Uniform { edge0: Some(3) },
            &rng,
        )
        .unwrap();
        assert!(losses[0].is_finite());
        // A file that is not whole records is refused.
        std::fs::write(dir.join("data_batch_3.bin"), [0u8; 100]).unwrap();
        let e = load_cifar10(&dir, 0..4, Device::Cpu)
            .unwrap_err()
            .to_string();
        assert!(e.contains("whole number"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn cifar10_needs_its_folder() {
        let e = cifar10_dir(Some("/nonexistent/cifar")).unwrap_err();
        assert!(e.contains("CIFAR-10 is not available here"), "{e}");
        let truth = nb201_cifar10_truth().unwrap();
        assert_eq!(truth.len(), 15_625);
        // The first rows are the same uniform sample as the trained ground truth.
        let gt = GroundTruth::default();
        assert_eq!(truth[0].cell, gt.cells().unwrap()[0]);
    }
}
