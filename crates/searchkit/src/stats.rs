//! Statistics over seeds: mean, standard deviation, standard error, quantiles,
//! rank correlations, and curves of a metric against the number of evaluations.

/// Arithmetic mean (NaN for an empty slice).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n - 1 denominator; 0 for one value).
pub fn std_dev(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n < 2 {
        return if n == 1 { 0.0 } else { f64::NAN };
    }
    let m = mean(xs);
    (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
}

/// Standard error of the mean.
pub fn std_err(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    std_dev(xs) / (xs.len() as f64).sqrt()
}

/// Quantile `q` in [0, 1] with linear interpolation (numpy's default).
pub fn quantile(xs: &[f64], q: f64) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Median.
pub fn median(xs: &[f64]) -> f64 {
    quantile(xs, 0.5)
}

/// A percentile bootstrap confidence interval of `stat` over paired
/// observations `(a[i], b[i])` (e.g. two methods' values on seed `i`, which
/// share the seed's initial design): `resamples` draws of `n` pair indices
/// with replacement from `rng`, `stat` on each, and the `(1 - level) / 2`
/// and `(1 + level) / 2` quantiles. Resamples where `stat` is not finite are
/// dropped; `None` when fewer than two pairs or no finite resample remain.
pub fn paired_bootstrap(
    a: &[f64],
    b: &[f64],
    stat: impl Fn(&[f64], &[f64]) -> f64,
    resamples: usize,
    level: f64,
    rng: &mut crate::rng::Stream,
) -> Option<(f64, f64)> {
    let n = a.len().min(b.len());
    if n < 2 {
        return None;
    }
    let (mut ra, mut rb) = (vec![0.0; n], vec![0.0; n]);
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for k in 0..n {
            let i = rng.below(n);
            ra[k] = a[i];
            rb[k] = b[i];
        }
        let v = stat(&ra, &rb);
        if v.is_finite() {
            stats.push(v);
        }
    }
    if stats.is_empty() {
        return None;
    }
    Some((
        quantile(&stats, (1.0 - level) / 2.0),
        quantile(&stats, (1.0 + level) / 2.0),
    ))
}

/// Summary of one scalar over seeds.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Summary {
    pub n: usize,
    pub mean: f64,
    pub std: f64,
    pub stderr: f64,
    pub median: f64,
    pub min: f64,
    pub max: f64,
}

impl Summary {
    pub fn of(xs: &[f64]) -> Self {
        Self {
            n: xs.len(),
            mean: mean(xs),
            std: std_dev(xs),
            stderr: std_err(xs),
            median: median(xs),
            min: xs.iter().copied().fold(f64::INFINITY, f64::min),
            max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        }
    }
}

/// Average ranks (1-based, ties get their mean rank).
pub fn ranks(xs: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..xs.len()).collect();
    idx.sort_by(|&a, &b| xs[a].total_cmp(&xs[b]));
    let mut r = vec![0.0; xs.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && xs[idx[j + 1]] == xs[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            r[idx[k]] = avg;
        }
        i = j + 1;
    }
    r
}

/// Pearson correlation.
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let (mx, my) = (mean(x), mean(y));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        sxy += (a - mx) * (b - my);
        sxx += (a - mx).powi(2);
        syy += (b - my).powi(2);
    }
    sxy / (sxx * syy).sqrt()
}

/// Spearman's rho: Pearson correlation of average ranks (scipy's `spearmanr`).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    pearson(&ranks(x), &ranks(y))
}

/// Kendall's tau-b, with ties handled as scipy's `kendalltau` does.
/// O(n log n) (Knight's algorithm), so the 15,625-cell tables take milliseconds.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> f64 {
    assert_eq!(x.len(), y.len());
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let mut idx: Vec<usize> = (0..n).collect();
    idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b])));
    let pairs =
        |counts: &mut dyn Iterator<Item = u64>| counts.map(|c| c * (c - 1) / 2).sum::<u64>();
    // Ties in x, and joint ties in (x, y).
    let mut tx_runs = Vec::new();
    let mut txy_runs = Vec::new();
    let (mut rx, mut rxy) = (1u64, 1u64);
    for w in idx.windows(2) {
        let (a, b) = (w[0], w[1]);
        if x[a] == x[b] {
            rx += 1;
            if y[a] == y[b] {
                rxy += 1;
            } else {
                txy_runs.push(rxy);
                rxy = 1;
            }
        } else {
            tx_runs.push(rx);
            txy_runs.push(rxy);
            rx = 1;
            rxy = 1;
        }
    }
    tx_runs.push(rx);
    txy_runs.push(rxy);
    let n1 = pairs(&mut tx_runs.into_iter());
    let n3 = pairs(&mut txy_runs.into_iter());
    // Count discordant pairs = inversions of y in x-sorted order (merge sort).
    let mut ys: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
    let mut buf = ys.clone();
    fn merge_count(v: &mut [f64], buf: &mut [f64]) -> u64 {
        let n = v.len();
        if n < 2 {
            return 0;
        }
        let m = n / 2;
        let mut s =
            merge_count(&mut v[..m], &mut buf[..m]) + merge_count(&mut v[m..], &mut buf[m..]);
        let (mut i, mut j, mut k) = (0, m, 0);
        while i < m && j < n {
            if v[j] < v[i] {
                buf[k] = v[j];
                s += (m - i) as u64;
                j += 1;
            } else {
                buf[k] = v[i];
                i += 1;
            }
            k += 1;
        }
        while i < m {
            buf[k] = v[i];
            i += 1;
            k += 1;
        }
        while j < n {
            buf[k] = v[j];
            j += 1;
            k += 1;
        }
        v.copy_from_slice(&buf[..n]);
        s
    }
    let swaps = merge_count(&mut ys, &mut buf);
    // ys is now sorted: ties in y.
    let mut ty_runs = Vec::new();
    let mut ry = 1u64;
    for w in ys.windows(2) {
        if w[0] == w[1] {
            ry += 1;
        } else {
            ty_runs.push(ry);
            ry = 1;
        }
    }
    ty_runs.push(ry);
    let n2 = pairs(&mut ty_runs.into_iter());
    let n0 = (n as u64) * (n as u64 - 1) / 2;
    let con_minus_dis = n0 as f64 - n1 as f64 - n2 as f64 + n3 as f64 - 2.0 * swaps as f64;
    con_minus_dis / (((n0 - n1) as f64) * ((n0 - n2) as f64)).sqrt()
}

/// A curve of one metric against evaluations, aggregated over seeds.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Curve {
    /// Evaluation counts (x axis).
    pub evals: Vec<usize>,
    pub mean: Vec<f64>,
    pub stderr: Vec<f64>,
    pub median: Vec<f64>,
    pub q25: Vec<f64>,
    pub q75: Vec<f64>,
}

impl Curve {
    /// Aggregate per-seed curves sampled at `evals` (1-based counts). Each
    /// per-seed curve gives the metric after each evaluation; a seed that
    /// stopped early keeps its last value.
    pub fn aggregate(per_seed: &[Vec<f64>], evals: &[usize]) -> Self {
        let mut c = Curve {
            evals: evals.to_vec(),
            mean: vec![],
            stderr: vec![],
            median: vec![],
            q25: vec![],
            q75: vec![],
        };
        for &e in evals {
            let col: Vec<f64> = per_seed
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| s[(e.max(1) - 1).min(s.len() - 1)])
                .collect();
            c.mean.push(mean(&col));
            c.stderr.push(std_err(&col));
            c.median.push(median(&col));
            c.q25.push(quantile(&col, 0.25));
            c.q75.push(quantile(&col, 0.75));
        }
        c
    }

    /// The mean value at evaluation `e` (nearest sampled point at or before `e`).
    pub fn mean_at(&self, e: usize) -> Option<f64> {
        let i = self.evals.iter().rposition(|&x| x <= e)?;
        Some(self.mean[i])
    }
}

/// First evaluation count (1-based) at which a per-evaluation curve reaches
/// `target` (>=), or `None`.
pub fn first_reach(curve: &[f64], target: f64) -> Option<usize> {
    curve.iter().position(|&v| v >= target).map(|i| i + 1)
}

/// A grid of evaluation counts for plotting: every count up to 100, then
/// roughly 200 log-spaced points up to `budget`, always including `budget`.
pub fn eval_grid(budget: usize) -> Vec<usize> {
    let mut g: Vec<usize> = (1..=budget.min(100)).collect();
    if budget > 100 {
        let (lo, hi) = ((100f64).ln(), (budget as f64).ln());
        for i in 1..=200 {
            let v = (lo + (hi - lo) * i as f64 / 200.0).exp().round() as usize;
            if v > *g.last().unwrap() {
                g.push(v.min(budget));
            }
        }
        for m in [500, 1000, 2000, 3000, 5000, 10000] {
            if m <= budget {
                g.push(m);
            }
        }
        g.push(budget);
        g.sort_unstable();
        g.dedup();
    }
    g
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn basic_moments() {
        let xs = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(mean(&xs), 2.5);
        assert!((std_dev(&xs) - 1.290_994_448_735_805_6).abs() < 1e-12);
        assert!((std_err(&xs) - 0.645_497_224_367_902_8).abs() < 1e-12);
        assert_eq!(quantile(&xs, 0.25), 1.75);
        assert_eq!(median(&xs), 2.5);
    }

    fn kendall_brute(x: &[f64], y: &[f64]) -> f64 {
        let (mut c, mut d, mut tx, mut ty) = (0i64, 0i64, 0i64, 0i64);
        for i in 0..x.len() {
            for j in i + 1..x.len() {
                let a = (x[i] - x[j]).signum();
                let b = (y[i] - y[j]).signum();
                if x[i] == x[j] && y[i] == y[j] {
                } else if x[i] == x[j] {
                    tx += 1;
                } else if y[i] == y[j] {
                    ty += 1;
                } else if a == b {
                    c += 1;
                } else {
                    d += 1;
                }
            }
        }
        (c - d) as f64 / (((c + d + tx) * (c + d + ty)) as f64).sqrt()
    }

    #[test]
    fn kendall_matches_brute_force_with_ties() {
        let mut rng = crate::rng::Stream::root("kendall");
        for n in [2, 3, 10, 57, 200] {
            let x: Vec<f64> = (0..n).map(|_| rng.below(7) as f64).collect();
            let y: Vec<f64> = (0..n).map(|_| rng.below(5) as f64).collect();
            let (a, b) = (kendall_tau_b(&x, &y), kendall_brute(&x, &y));
            assert!(
                (a - b).abs() < 1e-12 || (a.is_nan() && b.is_nan()),
                "n={n}: {a} vs {b}"
            );
        }
        // scipy.stats.kendalltau([12,2,1,12,2],[1,4,7,1,0]) = -0.47140452079103173
        let t = kendall_tau_b(&[12., 2., 1., 12., 2.], &[1., 4., 7., 1., 0.]);
        assert!((t + 0.471_404_520_791_031_73).abs() < 1e-12);
    }

    #[test]
    fn spearman_known_value() {
        // scipy.stats.spearmanr([1,2,3,4,5],[5,6,7,8,7]).correlation = 0.8207826816681233
        let r = spearman(&[1., 2., 3., 4., 5.], &[5., 6., 7., 8., 7.]);
        assert!((r - 0.820_782_681_668_123_3).abs() < 1e-12);
    }

    #[test]
    fn curve_and_reach() {
        let seeds = vec![vec![1.0, 2.0, 3.0], vec![0.0, 4.0]];
        let c = Curve::aggregate(&seeds, &[1, 2, 3]);
        assert_eq!(c.mean, vec![0.5, 3.0, 3.5]);
        assert_eq!(first_reach(&seeds[0], 2.0), Some(2));
        assert_eq!(first_reach(&seeds[0], 9.0), None);
        let g = eval_grid(5000);
        assert!(g.contains(&500) && g.contains(&3000) && *g.last().unwrap() == 5000);
    }
}
