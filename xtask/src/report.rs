//! Turns an [`Outcome`] into `summary.md`, `summary.json`, `curves.csv`, the
//! figure, and a verdict for every reported claim.

use crate::config::{Claim, Interval, MetricRef, Relation, Statistic};
use crate::runner::{write_atomic, Outcome, RunRecord};
use crate::svg;
use anyhow::Result;
use searchkit::stats::{self, Curve, Summary};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

/// Verdict on one claim.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    Holds {
        ours: String,
    },
    Deviates {
        ours: String,
    },
    /// The claim's confidence interval spans the claimed value.
    Inconclusive {
        ours: String,
    },
    CannotCheck {
        why: String,
    },
    /// Needs more evaluations or seeds than this profile runs (use `full`).
    NotInProfile {
        why: String,
    },
}

/// Why a metric has no value in this run.
enum Missing {
    /// The profile's budget is too small; the full profile checks it.
    Profile(String),
    /// Not computable from this experiment's records.
    Other(String),
}

impl Missing {
    fn verdict(self) -> Verdict {
        match self {
            Missing::Profile(why) => Verdict::NotInProfile { why },
            Missing::Other(why) => Verdict::CannotCheck { why },
        }
    }
}

impl Verdict {
    pub fn word(&self) -> &'static str {
        match self {
            Verdict::Holds { .. } => "holds",
            Verdict::Deviates { .. } => "deviates",
            Verdict::Inconclusive { .. } => "inconclusive (CI spans the claim)",
            Verdict::CannotCheck { .. } => "cannot be checked here",
            Verdict::NotInProfile { .. } => "not in this profile",
        }
    }
    pub fn ours(&self) -> String {
        match self {
            Verdict::Holds { ours }
            | Verdict::Deviates { ours }
            | Verdict::Inconclusive { ours } => ours.clone(),
            Verdict::CannotCheck { why } | Verdict::NotInProfile { why } => format!("({why})"),
        }
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct ClaimRow {
    pub source: String,
    pub text: String,
    pub reported: String,
    #[serde(flatten)]
    pub verdict: Verdict,
}

#[derive(Clone, Debug, Serialize)]
pub struct MethodSummary {
    pub name: String,
    pub runs: usize,
    pub curve: Option<Curve>,
    pub scalars: BTreeMap<String, Summary>,
}

/// Everything the report says, in machine-readable form.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub id: String,
    pub profile: String,
    pub budget: usize,
    pub seeds: u64,
    pub methods: Vec<MethodSummary>,
    pub claims: Vec<ClaimRow>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ratio_curves: Vec<RatioCurveReport>,
}

fn higher_is_better(o: &Outcome) -> bool {
    o.loaded.exp.report.higher_is_better.unwrap_or(true)
}

/// Mean of a method's metric over seeds, with a note (e.g. seeds that never
/// reached a target), or why it cannot be computed in this run.
fn metric_value(
    o: &Outcome,
    method: &str,
    m: &MetricRef,
) -> std::result::Result<(f64, String), Missing> {
    metric_values(o, method, m)
        .map(|(v, note)| (stats::mean(&v.values().copied().collect::<Vec<_>>()), note))
}

/// A method's metric per seed, with a note, or why it cannot be computed.
fn metric_values(
    o: &Outcome,
    method: &str,
    m: &MetricRef,
) -> std::result::Result<(BTreeMap<u64, f64>, String), Missing> {
    if let Some(why) = &o.unavailable {
        return Err(Missing::Other(why.clone()));
    }
    let recs: &[RunRecord] = &o
        .records
        .iter()
        .find(|(n, _)| n == method)
        // Left out by `--methods`: a later run of every method checks it.
        .ok_or_else(|| {
            Missing::Profile(format!(
                "method `{method}` was not in this run (`--methods`)"
            ))
        })?
        .1;
    if recs.is_empty() {
        return Err(Missing::Other(format!("method `{method}` has no runs")));
    }
    match m.metric.as_str() {
        "curve" => {
            let at = m.at.unwrap_or(o.budget);
            if at > o.budget {
                return Err(Missing::Profile(format!(
                    "needs {at} evaluations; the `{}` profile runs {}",
                    o.profile, o.budget
                )));
            }
            let vals: BTreeMap<u64, f64> = recs
                .iter()
                .filter(|r| !r.curve.is_empty())
                .map(|r| (r.seed, r.curve[at.saturating_sub(1).min(r.curve.len() - 1)]))
                .collect();
            if vals.is_empty() {
                return Err(Missing::Other("this experiment records no curve".into()));
            }
            Ok((vals, String::new()))
        }
        "samples_to_reach" => {
            let target = m.target.unwrap_or(f64::NAN);
            let hib = higher_is_better(o);
            let mut missed = 0;
            let vals: BTreeMap<u64, f64> = recs
                .iter()
                .map(|r| {
                    let hit = r
                        .curve
                        .iter()
                        .position(|&v| if hib { v >= target } else { v <= target });
                    let v = match hit {
                        Some(i) => (i + 1) as f64,
                        None => {
                            missed += 1;
                            o.budget as f64
                        }
                    };
                    (r.seed, v)
                })
                .collect();
            let note = if missed > 0 {
                format!("{missed} of {} runs never reached {target} within {} (counted as {}, so a lower bound)", recs.len(), o.budget, o.budget)
            } else {
                String::new()
            };
            Ok((vals, note))
        }
        name => {
            let vals: BTreeMap<u64, f64> = recs
                .iter()
                .filter_map(|r| r.scalars.get(name).map(|&v| (r.seed, v)))
                .collect();
            if vals.is_empty() {
                let avail: Vec<&String> = recs[0].scalars.keys().collect();
                return Err(Missing::Other(format!(
                    "no per-run value `{name}`; recorded: curve, samples_to_reach{}",
                    avail.iter().map(|s| format!(", {s}")).collect::<String>()
                )));
            }
            Ok((vals, String::new()))
        }
    }
}

/// Evaluations until `curve` reaches `level` (`None`: never).
fn samples_to(curve: &[f64], level: f64, hib: bool) -> Option<usize> {
    curve
        .iter()
        .position(|&v| if hib { v >= level } else { v <= level })
        .map(|i| i + 1)
}

fn records_of<'a>(o: &'a Outcome, method: &str) -> Option<&'a [RunRecord]> {
    o.records
        .iter()
        .find(|(n, _)| n == method)
        .map(|(_, r)| r.as_slice())
        .filter(|r| !r.is_empty())
}

/// `samples_to_match`: per seed both methods ran, the numerator's
/// evaluation count `at` (default the budget) and the evaluations the
/// denominator needs to reach the numerator's curve value there (the
/// budget when it never does: censored, and said in the note).
#[allow(clippy::type_complexity)]
fn match_values(
    o: &Outcome,
    numerator: &str,
    denominator: &str,
    m: &MetricRef,
) -> std::result::Result<(BTreeMap<u64, f64>, BTreeMap<u64, f64>, String), Missing> {
    let at = m.at.unwrap_or(o.budget);
    if at > o.budget {
        return Err(Missing::Profile(format!(
            "needs {at} evaluations; the `{}` profile runs {}",
            o.profile, o.budget
        )));
    }
    let (Some(a), Some(b)) = (records_of(o, numerator), records_of(o, denominator)) else {
        return Err(Missing::Profile(
            "a method of this claim was not in this run (`--methods`)".into(),
        ));
    };
    let hib = higher_is_better(o);
    let (mut na, mut nb, mut censored) = (BTreeMap::new(), BTreeMap::new(), 0);
    for ra in a.iter().filter(|r| r.curve.len() >= at) {
        let Some(rb) = b.iter().find(|r| r.seed == ra.seed) else {
            continue;
        };
        let level = ra.curve[at - 1];
        let n = samples_to(&rb.curve, level, hib).unwrap_or_else(|| {
            censored += 1;
            o.budget
        });
        na.insert(ra.seed, at as f64);
        nb.insert(ra.seed, n as f64);
    }
    if na.is_empty() {
        return Err(Missing::Other("no seed ran both methods".into()));
    }
    let note = if censored > 0 {
        format!(
            "{censored} of {} {denominator} runs never reached {numerator}'s value at {at} (counted as {}: censored, so the ratio is an upper bound)",
            na.len(),
            o.budget
        )
    } else {
        String::new()
    };
    Ok((na, nb, note))
}

fn describe(m: &MetricRef) -> String {
    match m.metric.as_str() {
        "curve" => match m.at {
            Some(at) => format!("at {at}"),
            None => "at the final budget".into(),
        },
        "samples_to_reach" => format!("samples to reach {}", m.target.unwrap_or(f64::NAN)),
        "samples_to_match" => format!(
            "the numerator's evaluations ({}) over the denominator's samples to match its value there",
            m.at.map_or("the budget".to_string(), |a| a.to_string())
        ),
        s => s.to_string(),
    }
}

fn g(v: f64) -> String {
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.3}")
    } else {
        format!("{v:.4}")
    }
}

fn compare(ours: f64, reported: f64, tol: f64, rel: Relation) -> bool {
    match rel {
        Relation::Approx => (ours - reported).abs() <= tol,
        Relation::AtLeast => ours >= reported - tol,
        Relation::AtMost => ours <= reported + tol,
    }
}

fn of_statistic(s: Statistic) -> &'static str {
    match s {
        Statistic::Mean => "",
        Statistic::Median => " (median over seeds)",
    }
}

/// Bootstrap resamples per interval.
const BOOTSTRAP_RESAMPLES: usize = 4000;

/// The verdict of a claim whose estimate `point` has the confidence interval
/// `(lo, hi)`: it holds when the whole interval satisfies the claim (for
/// `~`: the point is inside the tolerance band), deviates when none of it
/// does, and is inconclusive otherwise.
fn interval_verdict(
    point: f64,
    (lo, hi): (f64, f64),
    reported: f64,
    tol: f64,
    rel: Relation,
    ours: String,
) -> Verdict {
    let (holds, deviates) = match rel {
        Relation::AtLeast => (lo >= reported - tol, hi < reported - tol),
        Relation::AtMost => (hi <= reported + tol, lo > reported + tol),
        Relation::Approx => (
            (point - reported).abs() <= tol,
            hi < reported - tol || lo > reported + tol,
        ),
    };
    if deviates {
        Verdict::Deviates { ours }
    } else if holds {
        Verdict::Holds { ours }
    } else {
        Verdict::Inconclusive { ours }
    }
}

fn rel_word(rel: Relation) -> &'static str {
    match rel {
        Relation::Approx => "~",
        Relation::AtLeast => ">=",
        Relation::AtMost => "<=",
    }
}

fn with_note(s: String, note: &str) -> String {
    if note.is_empty() {
        s
    } else {
        format!("{s}; {note}")
    }
}

pub fn check_claim(o: &Outcome, c: &Claim) -> ClaimRow {
    let (reported, verdict) = match c {
        Claim::Value {
            method,
            metric,
            reported,
            tolerance,
            relation,
            statistic,
            ..
        } => {
            let rep = format!(
                "{method}, {}{}: {} {} (tol {})",
                describe(metric),
                of_statistic(*statistic),
                rel_word(*relation),
                g(*reported),
                tolerance
            );
            let v = match metric_values(o, method, metric) {
                Err(m) => m.verdict(),
                Ok((vals, note)) => {
                    let ours = statistic.of(&vals.values().copied().collect::<Vec<_>>());
                    let s = with_note(g(ours), &note);
                    if compare(ours, *reported, *tolerance, *relation) {
                        Verdict::Holds { ours: s }
                    } else {
                        Verdict::Deviates { ours: s }
                    }
                }
            };
            (rep, v)
        }
        Claim::Ratio {
            numerator,
            denominator,
            metric,
            reported,
            tolerance,
            relation,
            statistic,
            interval,
            ..
        } => {
            let rep = format!(
                "{numerator} / {denominator}, {}{}: {} {} (tol {})",
                describe(metric),
                of_statistic(*statistic),
                rel_word(*relation),
                g(*reported),
                tolerance
            );
            let pair = if metric.metric == "samples_to_match" {
                match_values(o, numerator, denominator, metric)
                    .map(|(a, b, note)| ((a, String::new()), (b, note)))
                    .map(|(x, y)| (Ok(x), Ok(y)))
                    .unwrap_or_else(|e| (Err(e), Err(Missing::Other(String::new()))))
            } else {
                (
                    metric_values(o, numerator, metric),
                    metric_values(o, denominator, metric),
                )
            };
            let v = match pair {
                (Err(m), _) | (_, Err(m)) => m.verdict(),
                (Ok((a, na)), Ok((b, nb))) => {
                    let stat = |v: &[f64]| statistic.of(v);
                    let all = |m: &BTreeMap<u64, f64>| m.values().copied().collect::<Vec<_>>();
                    let (sa, sb) = (stat(&all(&a)), stat(&all(&b)));
                    let ratio = sa / sb;
                    let mut notes: Vec<String> =
                        [na, nb].into_iter().filter(|s| !s.is_empty()).collect();
                    let ci = interval.and_then(|Interval::PairedBootstrap| {
                        // Pairs are the seeds both methods ran.
                        let (pa, pb): (Vec<f64>, Vec<f64>) = a
                            .iter()
                            .filter_map(|(seed, &x)| b.get(seed).map(|&y| (x, y)))
                            .unzip();
                        let mut rng = searchkit::rng::Stream::root(&format!(
                            "{}/bootstrap/{numerator}/{denominator}/{}",
                            o.loaded.exp.id,
                            describe(metric)
                        ));
                        let ci = stats::paired_bootstrap(
                            &pa,
                            &pb,
                            |x, y| stat(x) / stat(y),
                            BOOTSTRAP_RESAMPLES,
                            0.95,
                            &mut rng,
                        );
                        if let Some((lo, hi)) = ci {
                            notes.insert(
                                0,
                                format!(
                                    "95% CI [{}, {}] over {} paired seeds",
                                    g(lo),
                                    g(hi),
                                    pa.len()
                                ),
                            );
                        }
                        ci
                    });
                    let s = with_note(
                        format!("{} ({} / {})", g(ratio), g(sa), g(sb)),
                        &notes.join("; "),
                    );
                    match ci {
                        Some(ci) => {
                            interval_verdict(ratio, ci, *reported, *tolerance, *relation, s)
                        }
                        None if compare(ratio, *reported, *tolerance, *relation) => {
                            Verdict::Holds { ours: s }
                        }
                        None => Verdict::Deviates { ours: s },
                    }
                }
            };
            (rep, v)
        }
        Claim::Ordering {
            methods,
            metric,
            higher_is_better,
            interval,
            ..
        } => {
            let rep = format!(
                "{} ({}, {})",
                methods.join(" > "),
                describe(metric),
                if *higher_is_better {
                    "higher is better"
                } else {
                    "lower is better"
                }
            );
            if let Some(Interval::PairedBootstrap) = interval {
                let v = ordering_with_intervals(o, methods, metric, *higher_is_better);
                return ClaimRow {
                    source: c.source().into(),
                    text: c.text().into(),
                    reported: rep,
                    verdict: v,
                };
            }
            let vals: std::result::Result<Vec<(f64, String)>, Missing> =
                methods.iter().map(|m| metric_value(o, m, metric)).collect();
            let v = match vals {
                Err(m) => m.verdict(),
                Ok(vals) => {
                    let ok = vals.windows(2).all(|w| {
                        if *higher_is_better {
                            w[0].0 > w[1].0
                        } else {
                            w[0].0 < w[1].0
                        }
                    });
                    let s = methods
                        .iter()
                        .zip(&vals)
                        .map(|(m, (v, _))| format!("{m} {}", g(*v)))
                        .collect::<Vec<_>>()
                        .join(", ");
                    if ok {
                        Verdict::Holds { ours: s }
                    } else {
                        Verdict::Deviates { ours: s }
                    }
                }
            };
            (rep, v)
        }
        Claim::Unchecked { reason, .. } => (
            "-".into(),
            Verdict::CannotCheck {
                why: reason.clone(),
            },
        ),
    };
    ClaimRow {
        source: c.source().into(),
        text: c.text().into(),
        reported,
        verdict,
    }
}

/// An ordering checked pair by adjacent pair on the mean paired difference
/// over seeds, each with a 95% paired bootstrap interval: it holds when
/// every interval is on the claimed side, deviates when one is wholly on
/// the other side, and is inconclusive otherwise.
fn ordering_with_intervals(
    o: &Outcome,
    methods: &[String],
    metric: &MetricRef,
    hib: bool,
) -> Verdict {
    let vals: std::result::Result<Vec<BTreeMap<u64, f64>>, Missing> = methods
        .iter()
        .map(|m| metric_values(o, m, metric).map(|(v, _)| v))
        .collect();
    let vals = match vals {
        Err(m) => return m.verdict(),
        Ok(v) => v,
    };
    let (mut all_hold, mut any_deviates) = (true, false);
    let mut parts = Vec::new();
    for (w, names) in vals.windows(2).zip(methods.windows(2)) {
        let (pa, pb): (Vec<f64>, Vec<f64>) = w[0]
            .iter()
            .filter_map(|(seed, &x)| w[1].get(seed).map(|&y| (x, y)))
            .unzip();
        // Oriented so that a positive difference means "as claimed".
        let sign = if hib { 1.0 } else { -1.0 };
        let diff = |x: &[f64], y: &[f64]| sign * (stats::mean(x) - stats::mean(y));
        let point = diff(&pa, &pb);
        let mut rng = searchkit::rng::Stream::root(&format!(
            "{}/bootstrap/{}/{}/{}",
            o.loaded.exp.id,
            names[0],
            names[1],
            describe(metric)
        ));
        let head = format!(
            "{} {} vs {} {}: difference {} (positive = as claimed)",
            names[0],
            g(stats::mean(&pa)),
            names[1],
            g(stats::mean(&pb)),
            g(point),
        );
        if pa.len() < 2 {
            // One pair has no spread to resample: the verdict cannot decide.
            all_hold = false;
            parts.push(format!("{head}, no interval from {} paired seed", pa.len()));
            continue;
        }
        let ci = stats::paired_bootstrap(&pa, &pb, diff, BOOTSTRAP_RESAMPLES, 0.95, &mut rng);
        let (lo, hi) = ci.unwrap_or((point, point));
        all_hold &= lo > 0.0;
        any_deviates |= hi < 0.0;
        parts.push(format!(
            "{head}, 95% CI [{}, {}] over {} paired seeds",
            g(lo),
            g(hi),
            pa.len()
        ));
    }
    let ours = parts.join("; ");
    if any_deviates {
        Verdict::Deviates { ours }
    } else if all_hold {
        Verdict::Holds { ours }
    } else {
        Verdict::Inconclusive { ours }
    }
}

/// One level of a [`crate::config::RatioCurve`].
#[derive(Clone, Debug, Serialize)]
pub struct RatioPoint {
    pub level: f64,
    /// Runs (of each method) that reached the level within the budget.
    pub reached: (usize, usize),
    pub paired_seeds: usize,
    pub ratio: f64,
    pub ci: Option<(f64, f64)>,
}

/// A sample-efficiency ratio curve.
#[derive(Clone, Debug, Serialize)]
pub struct RatioCurveReport {
    pub numerator: String,
    pub denominator: String,
    pub statistic: Statistic,
    pub points: Vec<RatioPoint>,
}

fn ratio_curves(o: &Outcome) -> Vec<RatioCurveReport> {
    let hib = higher_is_better(o);
    o.loaded
        .exp
        .report
        .ratio_curves
        .iter()
        .filter_map(|rc| {
            let a = records_of(o, &rc.numerator)?;
            let b = records_of(o, &rc.denominator)?;
            let points = rc
                .levels
                .iter()
                .map(|&level| {
                    let mut reached = (0, 0);
                    let (pa, pb): (Vec<f64>, Vec<f64>) = a
                        .iter()
                        .filter_map(|ra| {
                            let rb = b.iter().find(|r| r.seed == ra.seed)?;
                            let n = |c: &[f64], hit: &mut usize| {
                                samples_to(c, level, hib).map_or(o.budget as f64, |k| {
                                    *hit += 1;
                                    k as f64
                                })
                            };
                            Some((n(&ra.curve, &mut reached.0), n(&rb.curve, &mut reached.1)))
                        })
                        .unzip();
                    let st = |v: &[f64]| rc.statistic.of(v);
                    let mut rng = searchkit::rng::Stream::root(&format!(
                        "{}/ratio-curve/{}/{}/{level}",
                        o.loaded.exp.id, rc.numerator, rc.denominator
                    ));
                    let ci = stats::paired_bootstrap(
                        &pa,
                        &pb,
                        |x, y| st(x) / st(y),
                        BOOTSTRAP_RESAMPLES,
                        0.95,
                        &mut rng,
                    );
                    RatioPoint {
                        level,
                        reached,
                        paired_seeds: pa.len(),
                        ratio: st(&pa) / st(&pb),
                        ci,
                    }
                })
                .collect();
            Some(RatioCurveReport {
                numerator: rc.numerator.clone(),
                denominator: rc.denominator.clone(),
                statistic: rc.statistic,
                points,
            })
        })
        .collect()
}

/// Build the report (no files written).
pub fn build(o: &Outcome) -> Report {
    let grid = stats::eval_grid(o.budget);
    let methods = o
        .records
        .iter()
        .map(|(name, recs)| {
            let curves: Vec<Vec<f64>> = recs
                .iter()
                .map(|r| r.curve.clone())
                .filter(|c| !c.is_empty())
                .collect();
            let curve = (!curves.is_empty()).then(|| Curve::aggregate(&curves, &grid));
            let mut keys: Vec<&String> = recs.iter().flat_map(|r| r.scalars.keys()).collect();
            keys.sort();
            keys.dedup();
            let scalars = keys
                .into_iter()
                .map(|k| {
                    let v: Vec<f64> = recs
                        .iter()
                        .filter_map(|r| r.scalars.get(k).copied())
                        .collect();
                    (k.clone(), Summary::of(&v))
                })
                .collect();
            MethodSummary {
                name: name.clone(),
                runs: recs.len(),
                curve,
                scalars,
            }
        })
        .collect();
    let claims = o
        .loaded
        .exp
        .claims
        .iter()
        .map(|c| check_claim(o, c))
        .collect();
    Report {
        id: o.loaded.exp.id.clone(),
        profile: o.profile.clone(),
        budget: o.budget,
        seeds: o.seeds,
        methods,
        claims,
        ratio_curves: ratio_curves(o),
    }
}

fn checkpoints(o: &Outcome) -> Vec<usize> {
    let mut c: Vec<usize> = o
        .loaded
        .exp
        .report
        .checkpoints
        .iter()
        .copied()
        .filter(|&c| c <= o.budget)
        .collect();
    if !c.contains(&o.budget) {
        c.push(o.budget);
    }
    c
}

/// The markdown summary. Contains no timings, so it is stable for snapshots.
pub fn markdown(o: &Outcome, r: &Report) -> String {
    let e = &o.loaded.exp;
    let mut s = String::new();
    let _ = writeln!(s, "# {}: {}\n", e.id, e.description);
    let _ = writeln!(s, "- Paper: {}", e.citation);
    let _ = writeln!(s, "- Reproduces: {}", e.reproduces);
    let _ = writeln!(
        s,
        "- Config: `{}`",
        o.loaded
            .path
            .file_name()
            .map(|_| rel_path(&o.loaded.path))
            .unwrap_or_default()
    );
    let _ = writeln!(
        s,
        "- Profile `{}`: {} seed(s), budget {} evaluations per run",
        r.profile, r.seeds, r.budget
    );
    let _ = writeln!(
        s,
        "- Regenerate: `cargo xtask reproduce {} --profile {}`\n",
        e.id, r.profile
    );

    if let Some(why) = &o.unavailable {
        let _ = writeln!(s, "**Not run here:** {why}\n");
    }
    let _ = writeln!(s, "## Claims\n");
    if r.claims.is_empty() {
        let _ = writeln!(s, "No numeric claims in this config.\n");
    } else {
        let _ = writeln!(
            s,
            "| source | claim | paper | ours | verdict |\n|---|---|---|---|---|"
        );
        for c in &r.claims {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | **{}** |",
                c.source,
                c.text,
                c.reported,
                c.verdict.ours(),
                c.verdict.word()
            );
        }
        s.push('\n');
    }

    for rc in &r.ratio_curves {
        let _ = writeln!(
            s,
            "## Sample-efficiency ratio {} / {} by level ({} samples to reach it; a run that never does counts as the budget)\n",
            rc.numerator,
            rc.denominator,
            match rc.statistic {
                Statistic::Mean => "mean",
                Statistic::Median => "median",
            }
        );
        let _ = writeln!(
            s,
            "| level | ratio | 95% paired bootstrap CI | {} reached | {} reached |\n|---|---|---|---|---|",
            rc.numerator, rc.denominator
        );
        for p in &rc.points {
            let ci = p.ci.map_or("-".to_string(), |(lo, hi)| {
                format!("[{}, {}]", g(lo), g(hi))
            });
            let _ = writeln!(
                s,
                "| {} | {} | {ci} | {}/{} | {}/{} |",
                g(p.level),
                g(p.ratio),
                p.reached.0,
                p.paired_seeds,
                p.reached.1,
                p.paired_seeds
            );
        }
        s.push('\n');
    }

    if r.methods.iter().any(|m| m.curve.is_some()) {
        let cps = checkpoints(o);
        let ylab = e.report.y_label.clone().unwrap_or_else(|| "metric".into());
        let _ = writeln!(
            s,
            "## {ylab} at selected evaluation counts (mean +- standard error over seeds)\n"
        );
        let _ = write!(s, "| method |");
        for c in &cps {
            let _ = write!(s, " {c} |");
        }
        let _ = writeln!(s, "\n|---|{}", "---|".repeat(cps.len()));
        for m in &r.methods {
            if let Some(cv) = &m.curve {
                let _ = write!(s, "| {} |", m.name);
                for &c in &cps {
                    let i = cv.evals.iter().rposition(|&x| x <= c).unwrap_or(0);
                    let _ = write!(s, " {} +- {} |", g(cv.mean[i]), g(cv.stderr[i]));
                }
                s.push('\n');
            }
        }
        s.push('\n');
    }

    let scalar_methods: Vec<&MethodSummary> =
        r.methods.iter().filter(|m| !m.scalars.is_empty()).collect();
    if !scalar_methods.is_empty() {
        let _ = writeln!(
            s,
            "## Per-run values (mean +- standard error over seeds; n = runs)\n"
        );
        let _ = writeln!(s, "| method | value | mean | stderr | median | min | max | n |\n|---|---|---|---|---|---|---|---|");
        for m in scalar_methods {
            for (k, v) in &m.scalars {
                let _ = writeln!(
                    s,
                    "| {} | {k} | {} | {} | {} | {} | {} | {} |",
                    m.name,
                    g(v.mean),
                    g(v.stderr),
                    g(v.median),
                    g(v.min),
                    g(v.max),
                    v.n
                );
            }
        }
        s.push('\n');
    }

    let _ = writeln!(s, "## Methods\n");
    for m in &e.methods {
        let params = if m.params.is_empty() {
            String::new()
        } else {
            format!(" `{}`", inline_table(&m.params))
        };
        let _ = writeln!(s, "- **{}**: `{}`{params}", m.name, m.algorithm);
    }
    if !e.notes.is_empty() {
        let _ = writeln!(s, "\n## Notes\n");
        for n in &e.notes {
            let _ = writeln!(s, "- {n}");
        }
    }
    s
}

fn inline_table(t: &toml::Table) -> String {
    t.iter()
        .map(|(k, v)| format!("{k} = {v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn rel_path(p: &std::path::Path) -> String {
    // Show the path from `paper_configs/` or `experiments/` on.
    let s = p.to_string_lossy().replace('\\', "/");
    for key in ["paper_configs/", "experiments/"] {
        if let Some(i) = s.rfind(key) {
            return s[i..].to_string();
        }
    }
    s
}

fn figure(o: &Outcome, r: &Report) -> Option<String> {
    let e = &o.loaded.exp;
    let series: Vec<svg::Series> = r
        .methods
        .iter()
        .filter_map(|m| {
            let c = m.curve.as_ref()?;
            let xs: Vec<f64> = c.evals.iter().map(|&x| x as f64).collect();
            let lo: Vec<f64> = c
                .mean
                .iter()
                .zip(&c.stderr)
                .map(|(m, s)| m - if s.is_finite() { *s } else { 0.0 })
                .collect();
            let hi: Vec<f64> = c
                .mean
                .iter()
                .zip(&c.stderr)
                .map(|(m, s)| m + if s.is_finite() { *s } else { 0.0 })
                .collect();
            Some(svg::Series {
                name: m.name.clone(),
                xs,
                ys: c.mean.clone(),
                band: Some((lo, hi)),
            })
        })
        .collect();
    if series.is_empty() {
        return None;
    }
    let markers = e
        .claims
        .iter()
        .filter_map(|c| match c {
            Claim::Value {
                metric,
                reported,
                method,
                ..
            } if metric.metric == "curve" => Some(svg::Marker {
                x: metric.at? as f64,
                y: *reported,
                label: method.clone(),
            }),
            _ => None,
        })
        .collect::<Vec<_>>();
    let ax = svg::Axes {
        title: format!("{} ({}, {} seeds)", e.id, r.profile, r.seeds),
        x_label: e
            .report
            .x_label
            .clone()
            .unwrap_or_else(|| "evaluations".into()),
        y_label: e.report.y_label.clone().unwrap_or_else(|| "metric".into()),
        log_x: e.report.log_x,
        log_y: e.report.log_y,
        y_min: e.report.y_min,
        y_max: e.report.y_max,
    };
    Some(svg::line_chart(&ax, &series, &markers))
}

fn ratio_figure(o: &Outcome, rc: &RatioCurveReport) -> String {
    let xs: Vec<f64> = rc.points.iter().map(|p| p.level).collect();
    let ys: Vec<f64> = rc.points.iter().map(|p| p.ratio).collect();
    let lo = rc
        .points
        .iter()
        .map(|p| p.ci.map_or(p.ratio, |c| c.0))
        .collect();
    let hi = rc
        .points
        .iter()
        .map(|p| p.ci.map_or(p.ratio, |c| c.1))
        .collect();
    let ax = svg::Axes {
        title: format!(
            "{}: {} / {} samples to reach a level (95% CI)",
            o.loaded.exp.id, rc.numerator, rc.denominator
        ),
        x_label: o
            .loaded
            .exp
            .report
            .y_label
            .clone()
            .unwrap_or_else(|| "level".into()),
        y_label: "ratio of samples".into(),
        log_x: false,
        log_y: false,
        y_min: None,
        y_max: None,
    };
    let series = [svg::Series {
        name: format!("{} / {}", rc.numerator, rc.denominator),
        xs,
        ys,
        band: Some((lo, hi)),
    }];
    let markers = o
        .loaded
        .exp
        .claims
        .iter()
        .filter_map(|c| match c {
            Claim::Ratio {
                numerator,
                denominator,
                metric,
                reported,
                ..
            } if *numerator == rc.numerator
                && *denominator == rc.denominator
                && metric.metric == "samples_to_reach" =>
            {
                Some(svg::Marker {
                    x: metric.target?,
                    y: *reported,
                    label: "paper".into(),
                })
            }
            _ => None,
        })
        .collect::<Vec<_>>();
    svg::line_chart(&ax, &series, &markers)
}

/// A report file: its name in the results folder and its bytes.
pub type Rendered = (String, Vec<u8>);

/// Every report file as (file name in the results folder, bytes), in the
/// order they are written. `verify-results` compares these with the
/// committed files.
pub fn render(o: &Outcome) -> Result<(Report, Vec<Rendered>)> {
    let r = build(o);
    let mut files = vec![
        ("summary.md".to_string(), markdown(o, &r).into_bytes()),
        (
            "summary.json".to_string(),
            serde_json::to_string_pretty(&r)?.into_bytes(),
        ),
    ];
    if r.methods.iter().any(|m| m.curve.is_some()) {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(["method", "evals", "mean", "stderr", "median", "q25", "q75"])?;
        for m in &r.methods {
            if let Some(c) = &m.curve {
                for i in 0..c.evals.len() {
                    w.write_record([
                        m.name.clone(),
                        c.evals[i].to_string(),
                        c.mean[i].to_string(),
                        c.stderr[i].to_string(),
                        c.median[i].to_string(),
                        c.q25[i].to_string(),
                        c.q75[i].to_string(),
                    ])?;
                }
            }
        }
        files.push(("curves.csv".to_string(), w.into_inner()?));
    }
    if o.prepared.has_curves() {
        if let Some(svg) = figure(o, &r) {
            files.push(("figure.svg".to_string(), svg.into_bytes()));
        }
    }
    for (i, rc) in r.ratio_curves.iter().enumerate() {
        files.push((
            format!("ratio-{}.svg", i + 1),
            ratio_figure(o, rc).into_bytes(),
        ));
    }
    for f in o.prepared.extra_figures(&o.records)? {
        files.push((f.file, f.svg.into_bytes()));
    }
    Ok((r, files))
}

/// Write every report file; returns the paths written.
pub fn write(o: &Outcome) -> Result<(Report, Vec<PathBuf>)> {
    let (r, files) = render(o)?;
    let mut written = vec![];
    for (name, bytes) in files {
        let p = o.out.join(name);
        write_atomic(&p, &bytes)?;
        written.push(p);
    }
    Ok((r, written))
}

/// The claims table for the terminal.
pub fn console(o: &Outcome, r: &Report) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "\n{} ({}; profile {}, {} seeds, budget {})",
        o.loaded.exp.id, o.loaded.exp.reproduces, r.profile, r.seeds, r.budget
    );
    for c in &r.claims {
        let _ = writeln!(
            s,
            "  [{}] {} — {}\n      paper: {}\n      ours:  {}",
            c.verdict.word(),
            c.source,
            c.text,
            c.reported,
            c.verdict.ours()
        );
    }
    let secs: f64 = o
        .records
        .iter()
        .flat_map(|(_, v)| v.iter().map(|r| r.seconds))
        .sum();
    let _ = writeln!(
        s,
        "  ({} runs, {} reused; {:.1} s of run time)",
        o.records.iter().map(|(_, v)| v.len()).sum::<usize>(),
        o.reused,
        secs
    );
    s
}
