//! NASLib's 500-cell NAS-Bench-101 zero-cost sample, embedded.
//!
//! The file (`data/nb101/naslib_zc_nasbench101.json.gz`, 60 KB) is
//! `{"nasbench101": {"cifar10": {key: entry}}}` where each key is NASLib's
//! spec tuple `"(a00, a01, ..., a66, op0, ..., op6)"`: the 7x7 adjacency
//! row-major, then op codes in NASLib's order (input, output, maxpool3x3,
//! conv1x1, conv3x3). The matrices are the *unpruned* specs NASLib sampled, so
//! some have dangling vertices and more than 9 edges; [`Nb101Cell::pruned`]
//! gives the graph that was actually trained.

use super::{Nb101Cell, Op, MAX_VERTICES};
use flate2::read::GzDecoder;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::io::Read;
use std::sync::OnceLock;

static GZ: &[u8] = include_bytes!("../../../../../data/nb101/naslib_zc_nasbench101.json.gz");

/// The nine zero-cost proxies NASLib computed for each cell.
#[derive(Clone, Copy, Debug, PartialEq, Deserialize)]
pub struct ZeroCost {
    pub epe_nas: f64,
    pub fisher: f64,
    pub grad_norm: f64,
    pub grasp: f64,
    pub jacov: f64,
    pub l2_norm: f64,
    pub plain: f64,
    pub snip: f64,
    pub synflow: f64,
}

/// One cell of the NASLib sample.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleRecord {
    /// The spec as NASLib stores it: always 7 vertices, possibly unpruned.
    pub cell: Nb101Cell,
    /// Trainable parameters (the file stores millions; converted exactly).
    pub params: u64,
    /// Forward FLOPs in millions, as stored.
    pub mflops: f64,
    /// 108-epoch CIFAR-10 validation accuracy as a fraction (the file stores percent).
    pub val_accuracy: f64,
    pub zero_cost: ZeroCost,
}

#[derive(Deserialize)]
struct Entry {
    flops: f64,
    params: f64,
    val_accuracy: f64,
    #[serde(flatten)]
    zero_cost: ZeroCost,
}

/// Map entries in file order (serde_json's own map would sort the keys).
struct Ordered(Vec<(String, Entry)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map from spec tuples to entries")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some(kv) = map.next_entry::<String, Entry>()? {
                    out.push(kv);
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
struct File {
    nasbench101: Datasets,
}

#[derive(Deserialize)]
struct Datasets {
    cifar10: Ordered,
}

fn parse_key(key: &str) -> Result<Nb101Cell, String> {
    let inner = key
        .strip_prefix('(')
        .and_then(|k| k.strip_suffix(')'))
        .ok_or_else(|| format!("key {key:?} is not a tuple"))?;
    let nums = inner
        .split(',')
        .map(|t| t.trim().parse::<u8>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("key {key:?}: {e}"))?;
    let n = MAX_VERTICES;
    if nums.len() != n * n + n {
        return Err(format!("key {key:?} has {} numbers, not 56", nums.len()));
    }
    let matrix: Vec<Vec<u8>> = nums[..n * n].chunks(n).map(<[u8]>::to_vec).collect();
    let ops = nums[n * n..]
        .iter()
        .map(|&c| match c {
            0 => Ok(Op::Input),
            1 => Ok(Op::Output),
            2 => Ok(Op::MaxPool3x3),
            3 => Ok(Op::Conv1x1),
            4 => Ok(Op::Conv3x3),
            _ => Err(format!("key {key:?}: unknown op code {c}")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Nb101Cell::new(&matrix, ops).map_err(|e| format!("key {key:?}: {e}"))
}

fn parse() -> Result<Vec<SampleRecord>, String> {
    let mut json = Vec::new();
    GzDecoder::new(GZ)
        .read_to_end(&mut json)
        .map_err(|e| format!("gunzip: {e}"))?;
    let file: File = serde_json::from_slice(&json).map_err(|e| format!("JSON: {e}"))?;
    file.nasbench101
        .cifar10
        .0
        .into_iter()
        .map(|(key, e)| {
            Ok(SampleRecord {
                cell: parse_key(&key)?,
                params: (e.params * 1e6).round() as u64,
                mflops: e.flops,
                val_accuracy: e.val_accuracy / 100.0,
                zero_cost: e.zero_cost,
            })
        })
        .collect()
}

/// The 500 cells of NASLib's NAS-Bench-101 zero-cost sample, in file order
/// (decoded on first use).
pub fn naslib_sample() -> &'static [SampleRecord] {
    static SAMPLE: OnceLock<Vec<SampleRecord>> = OnceLock::new();
    SAMPLE.get_or_init(|| {
        // The data is compiled in and covered by tests, so failure is a build bug.
        parse().unwrap_or_else(|e| panic!("embedded NASLib NAS-Bench-101 sample is corrupt: {e}"))
    })
}
