//! NAS-Bench-101: the official tfrecord loader and an embedded 500-cell sample.
//!
//! NAS-Bench-101 (Ying et al., 2019) trained every cell of a small space three
//! times on CIFAR-10: a cell is a DAG of at most 7 vertices and 9 edges, the
//! first vertex `input`, the last `output`, each other one of `conv1x1-bn-relu`,
//! `conv3x3-bn-relu` or `maxpool3x3`. There are 423,624 unique cells.
//!
//! **The file.** Results ship as `nasbench_only108.tfrecord` (~499 MB, from
//! <https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord>); this
//! crate does not bundle it. Point [`locate`] at it with an explicit path (the
//! `nasbench101_tfrecord` config key) or the `NASBENCH101_TFRECORD` environment
//! variable, then [`Nb101Table::load`] it. Each TFRecord record (see
//! [`tfrecord`]) holds a UTF-8 JSON array `[module_hash, epochs,
//! raw_adjacency, raw_operations, raw_metrics]`: an md5 hex string, the epoch
//! budget (108), the row-major upper-triangular adjacency as a `0`/`1` string
//! of length n², the ops comma-separated, and a base64 `ModelMetrics`
//! protobuf ([`proto`]). Each cell appears once per training repeat (three
//! times); the loader groups the repeats by hash and keeps only decoded
//! numbers, so the whole file fits in a few hundred MB.
//!
//! **Fixtures.** [`fixture`] writes files in exactly that layout, so tests and
//! experiment crates can exercise the real loader without the download.
//!
//! **Embedded.** [`naslib_sample`] is NASLib's 500-cell zero-cost sample
//! (7x7 adjacency, ops, params, FLOPs, 108-epoch validation accuracy and nine
//! zero-cost proxies), compiled into the crate.

pub mod fixture;
pub mod proto;
mod sample;
pub mod tfrecord;

pub use proto::{EvaluationData, ModelMetrics};
pub use sample::{naslib_sample, SampleRecord, ZeroCost};

use std::collections::HashMap;
use std::fmt;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Environment variable naming the tfrecord file.
pub const ENV_VAR: &str = "NASBENCH101_TFRECORD";
/// Config key naming the tfrecord file (for programs with a config file).
pub const CONFIG_KEY: &str = "nasbench101_tfrecord";
/// The official file name.
pub const FILE_NAME: &str = "nasbench_only108.tfrecord";
/// Where the official file is downloaded from (~499 MB).
pub const DOWNLOAD_URL: &str = "https://storage.googleapis.com/nasbench/nasbench_only108.tfrecord";
/// Most vertices a cell may have.
pub const MAX_VERTICES: usize = 7;
/// Most edges a (pruned) cell may have.
pub const MAX_EDGES: usize = 9;

/// A vertex operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Op {
    Input,
    Conv1x1,
    Conv3x3,
    MaxPool3x3,
    Output,
}

impl Op {
    /// The official string (`input`, `conv1x1-bn-relu`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Input => "input",
            Op::Conv1x1 => "conv1x1-bn-relu",
            Op::Conv3x3 => "conv3x3-bn-relu",
            Op::MaxPool3x3 => "maxpool3x3",
            Op::Output => "output",
        }
    }
}

impl FromStr for Op {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "input" => Op::Input,
            "conv1x1-bn-relu" => Op::Conv1x1,
            "conv3x3-bn-relu" => Op::Conv3x3,
            "maxpool3x3" => Op::MaxPool3x3,
            "output" => Op::Output,
            _ => return Err(format!("unknown NAS-Bench-101 op {s:?}")),
        })
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A cell: `ops.len()` vertices, `adjacency[i][j]` for an edge `i -> j`.
/// Entries outside `ops.len() x ops.len()` are always `false`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nb101Cell {
    pub adjacency: [[bool; MAX_VERTICES]; MAX_VERTICES],
    pub ops: Vec<Op>,
}

impl Nb101Cell {
    /// A cell from a square 0/1 matrix and its ops, checked with [`Self::validate`].
    pub fn new(matrix: &[Vec<u8>], ops: Vec<Op>) -> Result<Self, String> {
        let n = ops.len();
        if n > MAX_VERTICES || matrix.len() != n || matrix.iter().any(|r| r.len() != n) {
            return Err(format!(
                "matrix must be {n}x{n} with {n} <= {MAX_VERTICES} vertices"
            ));
        }
        let mut adjacency = [[false; MAX_VERTICES]; MAX_VERTICES];
        for (i, row) in matrix.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                adjacency[i][j] = match v {
                    0 => false,
                    1 => true,
                    _ => return Err(format!("matrix entry ({i},{j}) is {v}, not 0/1")),
                };
            }
        }
        let cell = Self { adjacency, ops };
        cell.validate()?;
        Ok(cell)
    }

    /// Parse the official raw strings: row-major `0`/`1` adjacency and comma-separated ops.
    pub fn from_raw(raw_adjacency: &str, raw_operations: &str) -> Result<Self, String> {
        let ops = raw_operations
            .split(',')
            .map(Op::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        let n = ops.len();
        if raw_adjacency.len() != n * n {
            return Err(format!(
                "adjacency has {} entries but {n} ops need {}",
                raw_adjacency.len(),
                n * n
            ));
        }
        let bytes = raw_adjacency.as_bytes();
        let matrix: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                bytes[i * n..(i + 1) * n]
                    .iter()
                    .map(|b| b.wrapping_sub(b'0'))
                    .collect()
            })
            .collect();
        Self::new(&matrix, ops)
    }

    /// The official raw adjacency string.
    pub fn raw_adjacency(&self) -> String {
        let n = self.num_vertices();
        let mut s = String::with_capacity(n * n);
        for row in &self.adjacency[..n] {
            for &e in &row[..n] {
                s.push(if e { '1' } else { '0' });
            }
        }
        s
    }

    /// The official raw operations string.
    pub fn raw_operations(&self) -> String {
        let names: Vec<&str> = self.ops.iter().map(|o| o.as_str()).collect();
        names.join(",")
    }

    pub fn num_vertices(&self) -> usize {
        self.ops.len()
    }

    pub fn num_edges(&self) -> usize {
        self.adjacency.iter().flatten().filter(|&&e| e).count()
    }

    /// Shape checks that hold for every stored cell, pruned or not: at least
    /// two and at most 7 vertices, `input` first, `output` last, only those two
    /// there, and a strictly upper-triangular adjacency (so the graph is a DAG
    /// in vertex order). Edge count and connectivity are not checked here: the
    /// NASLib sample stores unpruned matrices; see [`Self::pruned`].
    pub fn validate(&self) -> Result<(), String> {
        let n = self.num_vertices();
        if !(2..=MAX_VERTICES).contains(&n) {
            return Err(format!("{n} vertices, need 2..={MAX_VERTICES}"));
        }
        if self.ops[0] != Op::Input || self.ops[n - 1] != Op::Output {
            return Err("ops must start with input and end with output".into());
        }
        if self.ops[1..n - 1]
            .iter()
            .any(|o| matches!(o, Op::Input | Op::Output))
        {
            return Err("input/output ops may only be first/last".into());
        }
        for i in 0..MAX_VERTICES {
            for j in 0..MAX_VERTICES {
                if self.adjacency[i][j] && (j <= i || j >= n) {
                    return Err(format!("edge {i}->{j} is not strictly upper triangular"));
                }
            }
        }
        Ok(())
    }

    /// The cell without vertices that lie on no input-to-output path, as the
    /// official API prunes before hashing. `None` if output is unreachable.
    pub fn pruned(&self) -> Option<Nb101Cell> {
        let n = self.num_vertices();
        // Vertex order is topological (upper triangular), so one pass each way.
        let mut from_input = [false; MAX_VERTICES];
        from_input[0] = true;
        for i in 0..n {
            if from_input[i] {
                for j in i + 1..n {
                    from_input[j] |= self.adjacency[i][j];
                }
            }
        }
        let mut to_output = [false; MAX_VERTICES];
        to_output[n - 1] = true;
        for j in (0..n).rev() {
            if to_output[j] {
                for i in 0..j {
                    to_output[i] |= self.adjacency[i][j];
                }
            }
        }
        if !from_input[n - 1] {
            return None;
        }
        let keep: Vec<usize> = (0..n).filter(|&v| from_input[v] && to_output[v]).collect();
        let mut adjacency = [[false; MAX_VERTICES]; MAX_VERTICES];
        for (a, &i) in keep.iter().enumerate() {
            for (b, &j) in keep.iter().enumerate() {
                adjacency[a][b] = self.adjacency[i][j];
            }
        }
        Some(Nb101Cell {
            adjacency,
            ops: keep.iter().map(|&v| self.ops[v]).collect(),
        })
    }
}

/// The md5 module hash of a cell (16 bytes; hex in the file).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ModuleHash(pub [u8; 16]);

impl FromStr for ModuleHash {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let b = s.as_bytes();
        if b.len() != 32 {
            return Err(format!("module hash {s:?} is not 32 hex digits"));
        }
        let digit = |c: u8| -> Result<u8, String> {
            (c as char)
                .to_digit(16)
                .map(|d| d as u8)
                .ok_or_else(|| format!("module hash {s:?} is not hex"))
        };
        let mut out = [0u8; 16];
        for (k, o) in out.iter_mut().enumerate() {
            *o = (digit(b[2 * k])? << 4) | digit(b[2 * k + 1])?;
        }
        Ok(ModuleHash(out))
    }
}

impl fmt::Display for ModuleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// One evaluation point of a training run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct EvalPoint {
    pub epoch: f64,
    /// Seconds of training up to this point.
    pub training_time: f64,
    pub train_acc: f64,
    pub valid_acc: f64,
    pub test_acc: f64,
}

impl From<&EvaluationData> for EvalPoint {
    fn from(e: &EvaluationData) -> Self {
        Self {
            epoch: e.current_epoch,
            training_time: e.training_time,
            train_acc: e.train_accuracy,
            valid_acc: e.validation_accuracy,
            test_acc: e.test_accuracy,
        }
    }
}

/// The decoded result of one training repeat. Accuracies are fractions in [0, 1].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RepeatMetrics {
    /// Epoch of the final evaluation (108 in the official file).
    pub final_epoch: f64,
    pub final_train_acc: f64,
    pub final_valid_acc: f64,
    pub final_test_acc: f64,
    /// Training seconds up to the final evaluation.
    pub training_time: f64,
    /// The evaluation at half the final epoch, where recorded.
    pub halfway: Option<EvalPoint>,
    /// Wall-clock seconds of the whole run.
    pub total_time: f64,
}

impl RepeatMetrics {
    /// Reduce a run's metrics: final = last evaluation; halfway = the one at
    /// exactly half the final epoch, else the one before the last (the
    /// official file has evaluations at epochs 0, 54 and 108).
    pub fn from_metrics(m: &ModelMetrics) -> Option<Self> {
        let (last, earlier) = m.evaluation_data.split_last()?;
        let half = last.current_epoch / 2.0;
        let halfway = earlier
            .iter()
            .find(|e| e.current_epoch == half)
            .or(earlier.last())
            .map(EvalPoint::from);
        Some(Self {
            final_epoch: last.current_epoch,
            final_train_acc: last.train_accuracy,
            final_valid_acc: last.validation_accuracy,
            final_test_acc: last.test_accuracy,
            training_time: last.training_time,
            halfway,
            total_time: m.total_time,
        })
    }
}

/// One unique cell with its training repeats.
#[derive(Clone, Debug, PartialEq)]
pub struct Nb101Record {
    pub hash: ModuleHash,
    pub cell: Nb101Cell,
    /// Trainable parameters of the network built from this cell.
    pub params: u32,
    /// Repeats in file order (three in the official file).
    pub repeats: Vec<RepeatMetrics>,
}

fn mean(it: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = it.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    if n == 0 {
        f64::NAN
    } else {
        s / n as f64
    }
}

impl Nb101Record {
    /// Mean final validation accuracy over repeats (NaN without repeats).
    pub fn mean_valid_acc(&self) -> f64 {
        mean(self.repeats.iter().map(|r| r.final_valid_acc))
    }
    /// Mean final test accuracy over repeats.
    pub fn mean_test_acc(&self) -> f64 {
        mean(self.repeats.iter().map(|r| r.final_test_acc))
    }
    /// Mean final training accuracy over repeats.
    pub fn mean_train_acc(&self) -> f64 {
        mean(self.repeats.iter().map(|r| r.final_train_acc))
    }
    /// Mean training seconds to the final evaluation.
    pub fn mean_training_time(&self) -> f64 {
        mean(self.repeats.iter().map(|r| r.training_time))
    }
}

/// What [`Nb101Table::best_by`] maximises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    MeanValidAcc,
    MeanTestAcc,
    MeanTrainAcc,
}

impl Metric {
    pub fn value(self, r: &Nb101Record) -> f64 {
        match self {
            Metric::MeanValidAcc => r.mean_valid_acc(),
            Metric::MeanTestAcc => r.mean_test_acc(),
            Metric::MeanTrainAcc => r.mean_train_acc(),
        }
    }
}

/// Errors of locating and loading the tfrecord file.
#[derive(Debug, thiserror::Error)]
pub enum Nb101Error {
    #[error("{0}")]
    NotFound(String),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: record {record}: file ends early ({needed} more bytes expected at byte {offset}); the download is probably incomplete")]
    Truncated {
        path: PathBuf,
        record: u64,
        offset: u64,
        needed: u64,
    },
    #[error("{path}: record {record}: {what} CRC32C mismatch at byte {offset} (stored {stored:#010x}, computed {computed:#010x}); the file is corrupt")]
    Crc {
        path: PathBuf,
        record: u64,
        what: &'static str,
        offset: u64,
        stored: u32,
        computed: u32,
    },
    #[error("{path}: record {record}: {message}")]
    Format {
        path: PathBuf,
        record: u64,
        message: String,
    },
}

fn not_found(detail: &str) -> Nb101Error {
    Nb101Error::NotFound(format!(
        "NAS-Bench-101 data not found: {detail}. Download {FILE_NAME} (~499 MB) from \
         {DOWNLOAD_URL}, then set the config key `{CONFIG_KEY}` or the environment \
         variable {ENV_VAR} to its path"
    ))
}

/// Resolve the tfrecord file: `config_path` if given, else `$NASBENCH101_TFRECORD`.
/// A directory is accepted if it contains `nasbench_only108.tfrecord`.
pub fn locate(config_path: Option<&Path>) -> Result<PathBuf, Nb101Error> {
    let (candidate, source) = match config_path {
        Some(p) => (p.to_path_buf(), format!("config key `{CONFIG_KEY}`")),
        None => match std::env::var_os(ENV_VAR) {
            Some(v) if !v.is_empty() => (PathBuf::from(v), format!("${ENV_VAR}")),
            _ => {
                return Err(not_found(&format!(
                    "neither `{CONFIG_KEY}` nor ${ENV_VAR} is set"
                )))
            }
        },
    };
    let file = if candidate.is_dir() {
        candidate.join(FILE_NAME)
    } else {
        candidate
    };
    if file.is_file() {
        Ok(file)
    } else {
        Err(not_found(&format!(
            "{source} points to {}, which does not exist",
            file.display()
        )))
    }
}

/// All cells of a tfrecord file, in order of first appearance.
#[derive(Clone, Debug, Default)]
pub struct Nb101Table {
    records: Vec<Nb101Record>,
    index: HashMap<ModuleHash, usize>,
}

impl Nb101Table {
    /// Load the 108-epoch results of a file (all of `nasbench_only108.tfrecord`).
    pub fn load(path: impl AsRef<Path>) -> Result<Self, Nb101Error> {
        Self::load_epochs(path, 108)
    }

    /// Load the records trained for `epochs` epochs (the full file also has
    /// 4, 12 and 36); other records are checksummed and skipped.
    pub fn load_epochs(path: impl AsRef<Path>, epochs: u32) -> Result<Self, Nb101Error> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                not_found(&format!("{} does not exist", path.display()))
            } else {
                Nb101Error::Io {
                    path: path.to_path_buf(),
                    source: e,
                }
            }
        })?;
        let mut reader = tfrecord::RecordReader::new(BufReader::with_capacity(1 << 20, file));
        let mut table = Nb101Table::default();
        let mut record = 0u64;
        loop {
            let data = match reader.next_record() {
                Ok(Some(d)) => d,
                Ok(None) => break,
                Err(e) => return Err(frame_error(path, record, e)),
            };
            if let Err(message) = table.add_record(data, epochs) {
                return Err(Nb101Error::Format {
                    path: path.to_path_buf(),
                    record,
                    message,
                });
            }
            record += 1;
        }
        Ok(table)
    }

    /// Decode one record's JSON payload and merge it in.
    fn add_record(&mut self, data: &[u8], epochs: u32) -> Result<(), String> {
        let (hash, rec_epochs, raw_adjacency, raw_operations, raw_metrics): (
            String,
            u32,
            String,
            String,
            String,
        ) = serde_json::from_slice(data).map_err(|e| format!("bad JSON payload: {e}"))?;
        if rec_epochs != epochs {
            return Ok(());
        }
        let hash: ModuleHash = hash.parse()?;
        let bytes = proto::base64_decode(&raw_metrics).map_err(|e| format!("raw_metrics: {e}"))?;
        let metrics =
            ModelMetrics::decode(&bytes).map_err(|e| format!("raw_metrics protobuf: {e}"))?;
        let repeat = RepeatMetrics::from_metrics(&metrics)
            .ok_or_else(|| format!("cell {hash} has no evaluation data"))?;
        match self.index.get(&hash) {
            Some(&i) => {
                // Repeats of a cell share the graph; only the first copy is
                // parsed and kept.
                self.records[i].repeats.push(repeat);
            }
            None => {
                let cell = Nb101Cell::from_raw(&raw_adjacency, &raw_operations)
                    .map_err(|e| format!("cell {hash}: {e}"))?;
                self.index.insert(hash, self.records.len());
                self.records.push(Nb101Record {
                    hash,
                    cell,
                    params: u32::try_from(metrics.trainable_parameters)
                        .map_err(|_| format!("cell {hash}: negative parameter count"))?,
                    repeats: {
                        // The official file has three repeats per cell.
                        let mut v = Vec::with_capacity(3);
                        v.push(repeat);
                        v
                    },
                });
            }
        }
        Ok(())
    }

    /// Number of unique cells.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The record of a module hash (32 hex digits); `None` if absent or malformed.
    pub fn get_by_hash(&self, hash: &str) -> Option<&Nb101Record> {
        let h: ModuleHash = hash.parse().ok()?;
        self.get(&h)
    }

    pub fn get(&self, hash: &ModuleHash) -> Option<&Nb101Record> {
        self.index.get(hash).map(|&i| &self.records[i])
    }

    /// All records, in order of first appearance in the file.
    pub fn records(&self) -> &[Nb101Record] {
        &self.records
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Nb101Record> {
        self.records.iter()
    }

    /// The record maximising `metric` (first one on ties; NaN values ignored).
    pub fn best_by(&self, metric: Metric) -> Option<&Nb101Record> {
        let mut best: Option<(&Nb101Record, f64)> = None;
        for r in &self.records {
            let v = metric.value(r);
            if !v.is_nan() && best.is_none_or(|(_, b)| v > b) {
                best = Some((r, v));
            }
        }
        best.map(|(r, _)| r)
    }
}

impl<'a> IntoIterator for &'a Nb101Table {
    type Item = &'a Nb101Record;
    type IntoIter = std::slice::Iter<'a, Nb101Record>;
    fn into_iter(self) -> Self::IntoIter {
        self.records.iter()
    }
}

fn frame_error(path: &Path, record: u64, e: tfrecord::FrameError) -> Nb101Error {
    let path = path.to_path_buf();
    match e {
        tfrecord::FrameError::Io(source) => Nb101Error::Io { path, source },
        tfrecord::FrameError::Truncated { offset, needed } => Nb101Error::Truncated {
            path,
            record,
            offset,
            needed,
        },
        tfrecord::FrameError::Crc {
            what,
            offset,
            stored,
            computed,
        } => Nb101Error::Crc {
            path,
            record,
            what,
            offset,
            stored,
            computed,
        },
    }
}

#[cfg(test)]
mod tests;
