//! Pure-Rust pieces of the trained (not tabulated) few-shot experiment, so
//! that a user without libtorch can read its tables: the uniform sample of
//! cells, the ground-truth table format, and rank statistics with bootstrap
//! intervals over architectures.

use searchkit::nasbench::nb201::{Cell, NUM_CELLS};
use searchkit::rng::Stream;
use searchkit::stats;

/// `n` distinct cells drawn uniformly from the 15,625 (partial Fisher-Yates
/// over the mixed-radix codes), in draw order.
pub fn sample_cells(n: usize, rng: &Stream) -> Result<Vec<Cell>, String> {
    if n == 0 || n > NUM_CELLS {
        return Err(format!("sample size must be in 1..={NUM_CELLS}, got {n}"));
    }
    let mut r = rng.clone();
    let mut codes: Vec<usize> = (0..NUM_CELLS).collect();
    for i in 0..n {
        let j = i + r.below(NUM_CELLS - i);
        codes.swap(i, j);
    }
    Ok(codes[..n]
        .iter()
        .map(|&c| Cell::from_code(c).expect("code below 15,625"))
        .collect())
}

/// One ground-truth row: the cell and its standalone test accuracy (%).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TruthRow {
    /// Position in the sample.
    pub position: usize,
    pub cell: Cell,
    pub accuracy: f64,
}

/// The header line of a ground-truth table: `# <settings>` then the columns.
pub const TRUTH_COLUMNS: &str = "position,arch,accuracy";

/// Formats rows as the committed CSV (`# settings` line, columns, rows by
/// position; accuracies with all their digits, so the table reads back
/// exactly).
pub fn format_truth(settings: &str, rows: &[TruthRow]) -> String {
    let mut rows = rows.to_vec();
    rows.sort_by_key(|r| r.position);
    let mut s = format!("# {settings}\n{TRUTH_COLUMNS}\n");
    for r in rows {
        s.push_str(&format!(
            "{},{},{:?}\n",
            r.position,
            r.cell.arch_str(),
            r.accuracy
        ));
    }
    s
}

/// Parses a table written by [`format_truth`]: (settings, rows).
pub fn parse_truth(text: &str) -> Result<(String, Vec<TruthRow>), String> {
    let mut lines = text.lines();
    let settings = lines
        .next()
        .and_then(|l| l.strip_prefix("# "))
        .ok_or("a ground-truth table starts with `# <settings>`")?
        .to_string();
    if lines.next() != Some(TRUTH_COLUMNS) {
        return Err(format!(
            "the second line of a ground-truth table must be `{TRUTH_COLUMNS}`"
        ));
    }
    let mut rows = Vec::new();
    for (i, l) in lines.enumerate() {
        let f: Vec<&str> = l.split(',').collect();
        let bad = |what: &str| format!("ground-truth row {} (`{l}`): {what}", i + 1);
        if f.len() != 3 {
            return Err(bad("expected 3 fields"));
        }
        rows.push(TruthRow {
            position: f[0].parse().map_err(|_| bad("bad position"))?,
            cell: Cell::from_arch_str(f[1]).map_err(|e| bad(&e.to_string()))?,
            accuracy: f[2].parse().map_err(|_| bad("bad accuracy"))?,
        });
    }
    Ok((settings, rows))
}

/// A rank statistic with a percentile bootstrap interval over architectures.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct WithCi {
    pub value: f64,
    pub lo: f64,
    pub hi: f64,
}

/// Kendall tau-b and Spearman rho of `estimate` against `truth`, each with a
/// 95% percentile bootstrap interval (`resamples` resamples of the
/// architectures, with replacement, drawn from `rng`).
pub fn rank_with_ci(
    truth: &[f64],
    estimate: &[f64],
    resamples: usize,
    rng: &Stream,
) -> (WithCi, WithCi) {
    assert_eq!(truth.len(), estimate.len());
    let n = truth.len();
    let tau = stats::kendall_tau_b(truth, estimate);
    let rho = stats::spearman(truth, estimate);
    let mut r = rng.clone();
    let (mut taus, mut rhos) = (Vec::with_capacity(resamples), Vec::with_capacity(resamples));
    let (mut t, mut e) = (vec![0.0; n], vec![0.0; n]);
    for _ in 0..resamples {
        for k in 0..n {
            let i = r.below(n);
            t[k] = truth[i];
            e[k] = estimate[i];
        }
        taus.push(stats::kendall_tau_b(&t, &e));
        rhos.push(stats::spearman(&t, &e));
    }
    let ci = |v: f64, xs: &[f64]| WithCi {
        value: v,
        lo: stats::quantile(xs, 0.025),
        hi: stats::quantile(xs, 0.975),
    };
    (ci(tau, &taus), ci(rho, &rhos))
}

/// Fraction of the true top `k` among the estimate's top `k` (ties broken by
/// position).
pub fn top_k_overlap(truth: &[f64], estimate: &[f64], k: usize) -> f64 {
    let top = |v: &[f64]| {
        let mut idx: Vec<usize> = (0..v.len()).collect();
        idx.sort_by(|&a, &b| v[b].total_cmp(&v[a]).then(a.cmp(&b)));
        idx.truncate(k);
        idx
    };
    let (a, b) = (top(truth), top(estimate));
    if a.is_empty() {
        return f64::NAN;
    }
    a.iter().filter(|i| b.contains(i)).count() as f64 / a.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_is_distinct_and_deterministic() {
        let rng = Stream::root("t");
        let a = sample_cells(500, &rng).unwrap();
        assert_eq!(a, sample_cells(500, &rng).unwrap());
        let set: std::collections::HashSet<_> = a.iter().collect();
        assert_eq!(set.len(), 500);
        assert!(sample_cells(0, &rng).is_err());
        assert!(sample_cells(NUM_CELLS + 1, &rng).is_err());
    }

    #[test]
    fn truth_table_round_trips() {
        let rows = vec![
            TruthRow {
                position: 1,
                cell: Cell::new([1, 2, 3, 4, 0, 1]),
                accuracy: 77.3,
            },
            TruthRow {
                position: 0,
                cell: Cell::new([0; 6]),
                accuracy: 10.0,
            },
        ];
        let text = format_truth("x", &rows);
        let (s, back) = parse_truth(&text).unwrap();
        assert_eq!(s, "x");
        assert_eq!(back[0], rows[1]);
        assert_eq!(back[1], rows[0]);
        assert!(parse_truth("no header").is_err());
        assert!(parse_truth("# x\nposition,arch,accuracy\n0,bad,1")
            .unwrap_err()
            .contains("row 1"));
    }

    #[test]
    fn rank_ci_brackets_the_value() {
        let t: Vec<f64> = (0..50).map(|i| i as f64).collect();
        let e: Vec<f64> = (0..50)
            .map(|i| (i as f64) + if i % 3 == 0 { 5.0 } else { 0.0 })
            .collect();
        let (tau, rho) = rank_with_ci(&t, &e, 200, &Stream::root("b"));
        assert!(tau.lo <= tau.value && tau.value <= tau.hi, "{tau:?}");
        assert!(rho.lo <= rho.value && rho.value <= rho.hi, "{rho:?}");
        assert_eq!(top_k_overlap(&t, &t, 5), 1.0);
    }
}
