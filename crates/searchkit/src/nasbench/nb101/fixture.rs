//! Writing tfrecord files in the official NAS-Bench-101 layout.
//!
//! Tests (here and in the experiment crates) use these to exercise the real
//! loader without the 499 MB download: [`synthetic_records`] makes plausible
//! cells and metrics from a seeded stream, [`write_tfrecord_fixture`] frames
//! them exactly as `nasbench_only108.tfrecord` is framed.

use super::proto::{base64_encode, EvaluationData, ModelMetrics};
use super::tfrecord::write_record;
use super::{ModuleHash, Nb101Cell, Op, MAX_EDGES, MAX_VERTICES};
use crate::rng::Stream;
use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::path::Path;

/// The best cell of AlphaX's 6-vertex domain as LaNAS's `Node.py` lists it
/// (four conv3x3 vertices), with its adjacency matrix: a known cell for the
/// encoding tests of the experiment crates.
pub fn alphax_best_cell() -> (Vec<Vec<u8>>, Nb101Cell) {
    let m = vec![
        vec![0, 1, 1, 1, 1, 1],
        vec![0, 0, 0, 0, 1, 0],
        vec![0, 0, 0, 1, 0, 0],
        vec![0, 0, 0, 0, 1, 0],
        vec![0, 0, 0, 0, 0, 1],
        vec![0, 0, 0, 0, 0, 0],
    ];
    let mut ops = vec![Op::Input];
    ops.extend([Op::Conv3x3; 4]);
    ops.push(Op::Output);
    let cell = Nb101Cell::new(&m, ops).expect("a valid cell");
    (m, cell)
}

/// One record to write: one training repeat of one cell.
#[derive(Clone, Debug, PartialEq)]
pub struct FixtureRecord {
    /// Module hash, 32 hex digits (the loader rejects anything else).
    pub hash: String,
    /// Epoch budget of the run (108 in the official file).
    pub epochs: u32,
    pub cell: Nb101Cell,
    pub metrics: ModelMetrics,
}

/// The JSON payload of one record, formatted as Python's `json.dumps` writes
/// it (`", "` separators), which is how the official file was produced.
pub fn record_payload(r: &FixtureRecord) -> String {
    let quote = |s: &str| serde_json::to_string(s).expect("strings serialise");
    format!(
        "[{}, {}, {}, {}, {}]",
        quote(&r.hash),
        r.epochs,
        quote(&r.cell.raw_adjacency()),
        quote(&r.cell.raw_operations()),
        quote(&base64_encode(&r.metrics.encode())),
    )
}

/// Write `records` as a tfrecord file at `path` (created or truncated).
pub fn write_tfrecord_fixture(path: &Path, records: &[FixtureRecord]) -> io::Result<()> {
    let mut out = BufWriter::new(std::fs::File::create(path)?);
    for r in records {
        write_record(&mut out, record_payload(r).as_bytes())?;
    }
    out.flush()
}

/// A random valid cell: `3..=7` vertices, every vertex on an input-to-output
/// path, at most 9 edges (the official space's constraints).
pub fn random_cell(rng: &mut Stream) -> Nb101Cell {
    const MIDDLE: [Op; 3] = [Op::Conv1x1, Op::Conv3x3, Op::MaxPool3x3];
    loop {
        let n = 3 + rng.below(MAX_VERTICES - 2);
        let mut adjacency = [[false; MAX_VERTICES]; MAX_VERTICES];
        for i in 0..n {
            for j in i + 1..n {
                adjacency[i][j] = rng.uniform() < 0.4;
            }
        }
        let mut ops = vec![Op::Input];
        ops.extend((1..n - 1).map(|_| MIDDLE[rng.below(3)]));
        ops.push(Op::Output);
        let cell = Nb101Cell { adjacency, ops };
        // Rejection keeps the generator simple; about one draw in five passes.
        if let Some(p) = cell.pruned() {
            if p == cell && p.num_edges() <= MAX_EDGES {
                return p;
            }
        }
    }
}

/// `n_cells` distinct random cells, each trained `repeats` times, with
/// evaluations at `eval_epochs` (ascending; the last is the epoch budget).
/// Records are grouped by cell, repeats adjacent, as in the official file.
pub fn synthetic_records(
    n_cells: usize,
    repeats: usize,
    eval_epochs: &[u32],
    rng: &mut Stream,
) -> Vec<FixtureRecord> {
    let budget = *eval_epochs.last().expect("at least one evaluation epoch");
    let mut seen = HashSet::new();
    let mut hashes = HashSet::new();
    let mut out = Vec::with_capacity(n_cells * repeats);
    while seen.len() < n_cells {
        let cell = random_cell(rng);
        if !seen.insert(cell.clone()) {
            continue;
        }
        let hash = loop {
            let mut h = [0u8; 16];
            rand::RngCore::fill_bytes(rng, &mut h);
            if hashes.insert(h) {
                break ModuleHash(h).to_string();
            }
        };
        // Loosely NAS-Bench-101-like: 3x3 convs add parameters and accuracy.
        let count = |op| cell.ops.iter().filter(|&&o| o == op).count() as f64;
        let params = 400_000
            + 2_000_000 * count(Op::Conv3x3) as i32
            + 300_000 * count(Op::Conv1x1) as i32
            + 50_000 * cell.num_edges() as i32;
        let quality = 0.84 + 0.02 * count(Op::Conv3x3) + 0.01 * count(Op::Conv1x1);
        for _ in 0..repeats {
            let noise = 0.01 * rng.normal();
            let secs_per_epoch = 5.0 + 10.0 * rng.uniform();
            let evaluation_data: Vec<EvaluationData> = eval_epochs
                .iter()
                .map(|&e| {
                    let frac = f64::from(e) / f64::from(budget);
                    let acc = ((quality + noise) * (0.5 + 0.5 * frac)).clamp(0.0, 1.0);
                    EvaluationData {
                        current_epoch: f64::from(e),
                        training_time: secs_per_epoch * f64::from(e),
                        train_accuracy: (acc + 0.05).min(1.0),
                        validation_accuracy: acc,
                        test_accuracy: (acc - 0.005 + 0.003 * rng.normal()).clamp(0.0, 1.0),
                        checkpoint_path: String::new(),
                    }
                })
                .collect();
            out.push(FixtureRecord {
                hash: hash.clone(),
                epochs: budget,
                cell: cell.clone(),
                metrics: ModelMetrics {
                    total_time: secs_per_epoch * f64::from(budget) * 1.1,
                    evaluation_data,
                    trainable_parameters: params,
                },
            });
        }
    }
    out
}
