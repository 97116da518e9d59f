//! The experiment config schema (`paper_configs/<paper>/<id>.toml`,
//! `experiments/<id>.toml`) and its loader.
//!
//! Unknown keys are rejected everywhere; every error names the file, the key
//! and, where the key takes one of a set of values, the valid choices.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One experiment: a paper's table or figure, or a study of our own.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Experiment {
    /// Unique id, e.g. `fewshot-nb201-search`; equals the file stem.
    pub id: String,
    /// Paper crate this belongs to (`fewshot`, `lamcts`, ...), or `study`.
    pub paper: String,
    /// Full citation of the paper.
    pub citation: String,
    /// The table or figure regenerated (e.g. "Figure 7").
    pub reproduces: String,
    /// One-line description for `cargo xtask list`.
    pub description: String,
    /// Which driver runs it (see `cargo xtask list --drivers`).
    pub driver: String,
    /// Driver-specific problem settings (validated by the driver).
    #[serde(default)]
    pub problem: toml::Table,
    /// Budgets and seeds per profile: `full` and `ci` are required.
    pub profiles: BTreeMap<String, Profile>,
    /// The profile `reproduce` runs without `--profile` (default `full`):
    /// a stated smaller one where the paper's full statistics take long.
    #[serde(default)]
    pub default_profile: Option<String>,
    /// Methods compared.
    pub methods: Vec<Method>,
    /// How the report and figure are drawn.
    #[serde(default)]
    pub report: Report,
    /// The paper's reported claims, each with its source.
    #[serde(default)]
    pub claims: Vec<Claim>,
    /// Notes for the report: differences from the paper or the authors' code.
    #[serde(default)]
    pub notes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Number of seeds (runs per method); seeds are 0..seeds.
    pub seeds: u64,
    /// Evaluations per run.
    pub budget: usize,
    /// Keys of `problem` this profile overrides (e.g. a smaller data set for
    /// `ci`); they count in the runs' fingerprints.
    #[serde(default, skip_serializing_if = "toml::Table::is_empty")]
    pub problem: toml::Table,
}

#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Method {
    /// Display name; also the label of the method's RNG stream.
    pub name: String,
    /// Algorithm, from the driver's list of choices.
    pub algorithm: String,
    /// Algorithm hyperparameters (validated by the driver).
    #[serde(default)]
    pub params: toml::Table,
    /// What one run of this method asks a cluster for (`--backend slurm`);
    /// not part of any fingerprint: it never changes a result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Resources>,
}

/// A cluster request for one run (`[methods.resources]`); the command line
/// (`--time`, `--cpus`, `--sbatch-arg`) overrides it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[serde(deny_unknown_fields)]
pub struct Resources {
    /// Wall-clock limit in Slurm's form (`MM`, `HH:MM:SS`, `D-HH:MM`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<String>,
    /// CPUs per run (`--cpus-per-task`; the run's thread count).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpus: Option<u32>,
    /// Memory per run (`--mem`, e.g. `4G`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mem: Option<String>,
    /// Generic resources per run (`--gres`, e.g. `gpu:1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gres: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Y-axis label of the curve figure.
    #[serde(default)]
    pub y_label: Option<String>,
    /// X-axis label (default "evaluations").
    #[serde(default)]
    pub x_label: Option<String>,
    /// Evaluation counts tabulated in the summary.
    #[serde(default)]
    pub checkpoints: Vec<usize>,
    /// Logarithmic x axis.
    #[serde(default)]
    pub log_x: bool,
    /// Logarithmic y axis.
    #[serde(default)]
    pub log_y: bool,
    /// Lower y limit of the figure (zoom on the interesting range).
    #[serde(default)]
    pub y_min: Option<f64>,
    /// Upper y limit of the figure.
    #[serde(default)]
    pub y_max: Option<f64>,
    /// Whether a higher curve is better (default true).
    #[serde(default)]
    pub higher_is_better: Option<bool>,
    /// Sample-efficiency ratios over a grid of curve levels, each with a
    /// paired bootstrap interval (a table and `ratio-<n>.svg`).
    #[serde(default)]
    pub ratio_curves: Vec<RatioCurve>,
}

/// `samples(numerator) / samples(denominator)` to reach each of `levels`
/// (a run that never reaches a level counts as the budget and is counted
/// as censored).
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RatioCurve {
    pub numerator: String,
    pub denominator: String,
    pub levels: Vec<f64>,
    /// The per-method statistic over seeds whose ratio is taken.
    #[serde(default)]
    pub statistic: Statistic,
}

/// A reported claim of the paper.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Claim {
    /// A method's metric equals `reported` within `tolerance` (or is at
    /// least / at most it).
    Value {
        source: String,
        text: String,
        method: String,
        #[serde(flatten)]
        metric: MetricRef,
        reported: f64,
        tolerance: f64,
        #[serde(default)]
        relation: Relation,
        /// The statistic over seeds.
        #[serde(default)]
        statistic: Statistic,
    },
    /// `metric(numerator) / metric(denominator)` equals `reported` within
    /// `tolerance` (or is at least it). "A needs 3x fewer samples than B"
    /// is numerator B, denominator A, metric samples_to_reach, reported 3.
    Ratio {
        source: String,
        text: String,
        numerator: String,
        denominator: String,
        #[serde(flatten)]
        metric: MetricRef,
        reported: f64,
        tolerance: f64,
        #[serde(default)]
        relation: Relation,
        /// The per-method statistic over seeds whose ratio is taken.
        #[serde(default)]
        statistic: Statistic,
        /// A confidence interval of the ratio; with one, the verdict can be
        /// "inconclusive" (the interval spans the claim).
        #[serde(default)]
        interval: Option<Interval>,
    },
    /// Methods ordered best first by a metric.
    Ordering {
        source: String,
        text: String,
        methods: Vec<String>,
        #[serde(flatten)]
        metric: MetricRef,
        #[serde(default = "yes")]
        higher_is_better: bool,
        /// A confidence interval of each adjacent pair's mean difference;
        /// with one, the verdict can be "inconclusive".
        #[serde(default)]
        interval: Option<Interval>,
    },
    /// A claim that cannot be checked here, and why.
    Unchecked {
        source: String,
        text: String,
        reason: String,
    },
}

fn yes() -> bool {
    true
}

/// Which number of a method a claim is about.
#[derive(Clone, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MetricRef {
    /// `curve` (mean curve value at `at`, or at the profile's final budget
    /// when `at` is absent), `samples_to_reach` (evaluations
    /// until the per-run curve reaches `target`, mean over seeds),
    /// `samples_to_match` (ratio claims only: the numerator's `at` (default
    /// the budget) over the evaluations the denominator needs to reach the
    /// numerator's curve value there, seed by seed), or the name
    /// of a per-run scalar the driver records (mean over seeds).
    pub metric: String,
    #[serde(default)]
    pub at: Option<usize>,
    #[serde(default)]
    pub target: Option<f64>,
}

/// A statistic of a method's per-seed values.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Statistic {
    #[default]
    Mean,
    Median,
}

impl Statistic {
    /// The statistic of `values` (NaN when empty).
    pub fn of(self, values: &[f64]) -> f64 {
        match self {
            Statistic::Mean => searchkit::stats::mean(values),
            Statistic::Median => searchkit::stats::median(values),
        }
    }
}

/// How a claim's uncertainty is estimated.
#[derive(Clone, Copy, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Interval {
    /// A 95% percentile bootstrap over seeds, resampling (numerator,
    /// denominator) pairs of the same seed together (the methods share the
    /// seed's draws where the driver pairs them).
    PairedBootstrap,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    #[default]
    Approx,
    AtLeast,
    AtMost,
}

impl Claim {
    pub fn source(&self) -> &str {
        match self {
            Claim::Value { source, .. }
            | Claim::Ratio { source, .. }
            | Claim::Ordering { source, .. }
            | Claim::Unchecked { source, .. } => source,
        }
    }
    pub fn text(&self) -> &str {
        match self {
            Claim::Value { text, .. }
            | Claim::Ratio { text, .. }
            | Claim::Ordering { text, .. }
            | Claim::Unchecked { text, .. } => text,
        }
    }
}

/// The most seeds and evaluations a profile may ask for (typos beyond).
pub const MAX_SEEDS: u64 = 100_000;
pub const MAX_BUDGET: usize = 1_000_000_000;

/// An experiment config with the file it came from.
#[derive(Clone, Debug)]
pub struct Loaded {
    pub path: PathBuf,
    pub exp: Experiment,
}

impl Loaded {
    /// The profile, or an error naming the valid ones.
    pub fn profile(&self, name: &str) -> Result<&Profile> {
        self.exp.profiles.get(name).with_context(|| {
            format!(
                "{}: no profile `{name}` under key `profiles`; valid choices: {}",
                self.path.display(),
                self.exp
                    .profiles
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        })
    }

    /// This config as profile `name` runs it: the profile's `problem` keys
    /// override the experiment's.
    pub fn with_profile(&self, name: &str) -> Result<Loaded> {
        let profile = self.profile(name)?;
        let mut l = self.clone();
        for (k, v) in &profile.problem {
            l.exp.problem.insert(k.clone(), v.clone());
        }
        Ok(l)
    }

    /// An error about `key` in this file.
    pub fn err(&self, key: &str, msg: impl std::fmt::Display) -> anyhow::Error {
        anyhow::anyhow!("{}: key `{key}`: {msg}", self.path.display())
    }
}

/// Parse one config file, checking the invariants the schema cannot express.
pub fn load(path: &Path) -> Result<Loaded> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let exp: Experiment =
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let l = Loaded {
        path: path.to_path_buf(),
        exp,
    };
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default();
    if l.exp.id != stem {
        bail!(l.err(
            "id",
            format!("`{}` must equal the file name `{stem}`", l.exp.id)
        ));
    }
    for p in ["full", "ci"] {
        if !l.exp.profiles.contains_key(p) {
            bail!(l.err(
                &format!("profiles.{p}"),
                "missing; every experiment needs `full` and `ci` profiles"
            ));
        }
    }
    if let Some(d) = &l.exp.default_profile {
        if !l.exp.profiles.contains_key(d) {
            bail!(l.err(
                "default_profile",
                format!(
                    "no profile `{d}` under key `profiles`; valid choices: {}",
                    l.exp
                        .profiles
                        .keys()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            ));
        }
    }
    for (name, p) in &l.exp.profiles {
        if p.seeds == 0 || p.budget == 0 {
            bail!(l.err(
                &format!("profiles.{name}"),
                "seeds and budget must be positive"
            ));
        }
        if p.seeds > MAX_SEEDS {
            bail!(l.err(
                &format!("profiles.{name}.seeds"),
                format!("{} is more than {MAX_SEEDS}", p.seeds)
            ));
        }
        if p.budget > MAX_BUDGET {
            bail!(l.err(
                &format!("profiles.{name}.budget"),
                format!("{} is more than {MAX_BUDGET} evaluations", p.budget)
            ));
        }
    }
    if l.exp.methods.is_empty() {
        bail!(l.err("methods", "at least one method is needed"));
    }
    for (i, m) in l.exp.methods.iter().enumerate() {
        if let Some(r) = &m.resources {
            crate::backend::slurm::check_resources(r)
                .map_err(|e| l.err(&format!("methods[{i}].resources"), e))?;
        }
    }
    let names: Vec<&str> = l.exp.methods.iter().map(|m| m.name.as_str()).collect();
    for (i, n) in names.iter().enumerate() {
        if names[..i].contains(n) {
            bail!(l.err(
                &format!("methods[{i}].name"),
                format!("duplicate method name `{n}`")
            ));
        }
    }
    let check = |key: String, m: &str| -> Result<()> {
        if names.contains(&m) {
            Ok(())
        } else {
            bail!(l.err(
                &key,
                format!("unknown method `{m}`; valid choices: {}", names.join(", "))
            ))
        }
    };
    for (i, c) in l.exp.claims.iter().enumerate() {
        let mref = match c {
            Claim::Value { method, metric, .. } => {
                check(format!("claims[{i}].method"), method)?;
                Some(metric)
            }
            Claim::Ratio {
                numerator,
                denominator,
                metric,
                ..
            } => {
                check(format!("claims[{i}].numerator"), numerator)?;
                check(format!("claims[{i}].denominator"), denominator)?;
                Some(metric)
            }
            Claim::Ordering {
                methods, metric, ..
            } => {
                for m in methods {
                    check(format!("claims[{i}].methods"), m)?;
                }
                Some(metric)
            }
            Claim::Unchecked { .. } => None,
        };
        if let Some(m) = mref {
            if m.metric == "samples_to_match" && !matches!(c, Claim::Ratio { .. }) {
                bail!(l.err(
                    &format!("claims[{i}].metric"),
                    "`samples_to_match` is a ratio claim's metric (numerator: the baseline)"
                ));
            }
            if m.metric == "samples_to_reach" && m.target.is_none() {
                bail!(l.err(
                    &format!("claims[{i}].target"),
                    "metric `samples_to_reach` needs `target`"
                ));
            }
            if m.at == Some(0) {
                bail!(l.err(&format!("claims[{i}].at"), "an evaluation count: 1 or more"));
            }
            if let Some(t) = m.target {
                finite(&l, &format!("claims[{i}].target"), t)?;
            }
        }
        if let Claim::Value {
            reported,
            tolerance,
            ..
        }
        | Claim::Ratio {
            reported,
            tolerance,
            ..
        } = c
        {
            finite(&l, &format!("claims[{i}].reported"), *reported)?;
            finite(&l, &format!("claims[{i}].tolerance"), *tolerance)?;
            if *tolerance < 0.0 {
                bail!(l.err(
                    &format!("claims[{i}].tolerance"),
                    format!("{tolerance} is negative; a tolerance is 0 or more")
                ));
            }
        }
    }
    check_report(&l)?;
    Ok(l)
}

fn finite(l: &Loaded, key: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        bail!(l.err(key, format!("{v} is not a finite number")))
    }
}

/// The figure's settings: limits that draw a visible range.
fn check_report(l: &Loaded) -> Result<()> {
    let r = &l.exp.report;
    for (key, v) in [("report.y_min", r.y_min), ("report.y_max", r.y_max)] {
        let Some(v) = v else { continue };
        finite(l, key, v)?;
        if r.log_y && v <= 0.0 {
            bail!(l.err(
                key,
                format!("{v} on a logarithmic axis (`report.log_y = true`); a limit there must be positive")
            ));
        }
    }
    if let (Some(lo), Some(hi)) = (r.y_min, r.y_max) {
        if lo >= hi {
            bail!(l.err(
                "report.y_min",
                format!("{lo} must be below `report.y_max` ({hi})")
            ));
        }
    }
    if r.checkpoints.contains(&0) {
        bail!(l.err("report.checkpoints", "evaluation counts: 1 or more each"));
    }
    let names: Vec<&str> = l.exp.methods.iter().map(|m| m.name.as_str()).collect();
    for (i, rc) in r.ratio_curves.iter().enumerate() {
        for (key, m) in [
            ("numerator", &rc.numerator),
            ("denominator", &rc.denominator),
        ] {
            if !names.contains(&m.as_str()) {
                bail!(l.err(
                    &format!("report.ratio_curves[{i}].{key}"),
                    format!("unknown method `{m}`; valid choices: {}", names.join(", "))
                ));
            }
        }
        if rc.levels.is_empty() {
            bail!(l.err(
                &format!("report.ratio_curves[{i}].levels"),
                "needs at least one level"
            ));
        }
        for v in &rc.levels {
            finite(l, &format!("report.ratio_curves[{i}].levels"), *v)?;
        }
    }
    Ok(())
}

/// A config that failed to load or check, and why.
#[derive(Debug)]
pub struct BadConfig {
    pub path: PathBuf,
    /// The id it would have: its file stem (an id must equal it).
    pub id: String,
    /// Names the file and the key.
    pub error: anyhow::Error,
}

/// What [`discover`] found: the configs that load, and an error for each
/// one that does not, so one bad file blocks only itself.
#[derive(Debug, Default)]
pub struct Discovered {
    /// Sorted by id.
    pub configs: Vec<Loaded>,
    pub errors: Vec<BadConfig>,
}

impl Discovered {
    /// Every config, or an error listing every bad one (for callers that
    /// need the whole set, such as the snapshot tests).
    pub fn all(self) -> Result<Vec<Loaded>> {
        if self.errors.is_empty() {
            return Ok(self.configs);
        }
        bail!(
            "{} bad experiment config(s):\n{}",
            self.errors.len(),
            self.errors
                .iter()
                .map(|b| format!("  {:#}", b.error))
                .collect::<Vec<_>>()
                .join("\n")
        )
    }
}

/// Every config under `paper_configs/` and `experiments/`. A config that
/// fails to load (or shares its id with another) lands in `errors`; the
/// others still load. Fails only when a folder cannot be read.
pub fn discover(root: &Path) -> Result<Discovered> {
    let mut files = Vec::new();
    for dir in ["paper_configs", "experiments"] {
        collect_toml(&root.join(dir), &mut files)?;
    }
    let mut d = Discovered::default();
    for f in files {
        match load(&f) {
            Ok(l) => d.configs.push(l),
            Err(error) => d.errors.push(BadConfig {
                id: f
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                path: f,
                error,
            }),
        }
    }
    d.configs.sort_by(|a, b| a.exp.id.cmp(&b.exp.id));
    // Two files with one id: neither is the experiment.
    let mut i = 0;
    while i < d.configs.len() {
        let id = d.configs[i].exp.id.clone();
        let n = d.configs[i..].iter().take_while(|l| l.exp.id == id).count();
        if n == 1 {
            i += 1;
            continue;
        }
        let dups: Vec<Loaded> = d.configs.drain(i..i + n).collect();
        let paths: Vec<String> = dups.iter().map(|l| l.path.display().to_string()).collect();
        for l in dups {
            d.errors.push(BadConfig {
                error: anyhow::anyhow!(
                    "{}: experiment id `{id}` defined {n} times: {}",
                    l.path.display(),
                    paths.join(", ")
                ),
                path: l.path,
                id: id.clone(),
            });
        }
    }
    d.errors.sort_by(|a, b| a.path.cmp(&b.path));
    Ok(d)
}

/// What `cargo xtask check` checks of one loaded config: its driver
/// prepares it, as is and with each profile's `problem` overrides. A
/// driver that needs libtorch is checked by the `xtask-torch` binary, so
/// here it passes on its schema alone.
pub fn check(l: &Loaded) -> Result<()> {
    check_with(&crate::drivers::Registry::builtin(), l)
}

/// [`check`] with another binary's drivers (xtask-torch's).
pub fn check_with(drivers: &crate::drivers::Registry, l: &Loaded) -> Result<()> {
    if drivers.needs_torch(l) {
        return Ok(());
    }
    drivers.prepare(l)?;
    for (name, p) in &l.exp.profiles {
        if !p.problem.is_empty() {
            drivers.prepare(&l.with_profile(name)?).with_context(|| {
                format!(
                    "{}: with the overrides of key `profiles.{name}.problem`",
                    l.path.display()
                )
            })?;
        }
    }
    Ok(())
}

fn collect_toml(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    if !dir.exists() {
        return Ok(());
    }
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::result::Result<_, _>>()?;
    entries.sort_by_key(|e| e.path());
    for e in entries {
        let p = e.path();
        if p.is_dir() {
            collect_toml(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "toml") {
            out.push(p);
        }
    }
    Ok(())
}

/// Find an experiment by id; a bad config of that id gives its error, an
/// unknown id the list of valid ones.
pub fn find(root: &Path, id: &str) -> Result<Loaded> {
    let d = discover(root)?;
    let ids: Vec<String> = d.configs.iter().map(|l| l.exp.id.clone()).collect();
    if let Some(l) = d.configs.into_iter().find(|l| l.exp.id == id) {
        return Ok(l);
    }
    if let Some(b) = d.errors.into_iter().find(|b| b.id == id) {
        return Err(b.error.context(format!("experiment `{id}`: bad config")));
    }
    bail!(
        "no experiment `{id}` under paper_configs/ or experiments/; valid choices: {}",
        ids.join(", ")
    )
}

/// The largest count a `problem` or `params` key takes (sizes, iterations,
/// samples): larger ones are typos, and would exhaust memory or time long
/// before a run ends.
pub const MAX_COUNT: i64 = 1_000_000;

/// Typed view of a free-form params table: every key must be consumed, so a
/// misspelt hyperparameter is an error rather than silently ignored.
pub struct Params<'a> {
    pub loaded: &'a Loaded,
    pub key: String,
    table: toml::Table,
    used: Vec<String>,
}

impl<'a> Params<'a> {
    pub fn new(loaded: &'a Loaded, key: impl Into<String>, table: &toml::Table) -> Self {
        Self {
            loaded,
            key: key.into(),
            table: table.clone(),
            used: vec![],
        }
    }

    fn get(&mut self, name: &str) -> Option<toml::Value> {
        self.used.push(name.to_string());
        self.table.get(name).cloned()
    }

    /// A count, at most [`MAX_COUNT`].
    pub fn usize_or(&mut self, name: &str, default: usize) -> Result<usize> {
        match self.get(name) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) if (0..=MAX_COUNT).contains(&i) => Ok(i as usize),
            Some(v) => Err(self.loaded.err(
                &format!("{}.{name}", self.key),
                format!("expected an integer from 0 to {MAX_COUNT}, got {v}"),
            )),
        }
    }

    pub fn f64_or(&mut self, name: &str, default: f64) -> Result<f64> {
        match self.get(name) {
            None => Ok(default),
            Some(toml::Value::Integer(i)) => Ok(i as f64),
            Some(toml::Value::Float(f)) if f.is_finite() => Ok(f),
            Some(v) => Err(self.loaded.err(
                &format!("{}.{name}", self.key),
                format!("expected a finite number, got {v}"),
            )),
        }
    }

    pub fn bool_or(&mut self, name: &str, default: bool) -> Result<bool> {
        match self.get(name) {
            None => Ok(default),
            Some(toml::Value::Boolean(b)) => Ok(b),
            Some(v) => Err(self.loaded.err(
                &format!("{}.{name}", self.key),
                format!("expected true or false, got {v}"),
            )),
        }
    }

    /// A string from a fixed set of choices.
    pub fn choice(
        &mut self,
        name: &str,
        default: Option<&str>,
        choices: &[&str],
    ) -> Result<String> {
        let key = format!("{}.{name}", self.key);
        let v = match self.get(name) {
            None => match default {
                Some(d) => return Ok(d.to_string()),
                None => {
                    return Err(self.loaded.err(
                        &key,
                        format!("missing; valid choices: {}", choices.join(", ")),
                    ))
                }
            },
            Some(toml::Value::String(s)) => s,
            Some(v) => return Err(self.loaded.err(&key, format!("expected a string, got {v}"))),
        };
        if choices.contains(&v.as_str()) {
            Ok(v)
        } else {
            Err(self.loaded.err(
                &key,
                format!("unknown value `{v}`; valid choices: {}", choices.join(", ")),
            ))
        }
    }

    /// A list of positive integers, each at most [`MAX_COUNT`].
    pub fn usize_list_or(&mut self, name: &str, default: &[usize]) -> Result<Vec<usize>> {
        let key = format!("{}.{name}", self.key);
        match self.get(name) {
            None => Ok(default.to_vec()),
            Some(toml::Value::Array(a)) => a
                .iter()
                .map(|v| match v {
                    toml::Value::Integer(i) if (1..=MAX_COUNT).contains(i) => Ok(*i as usize),
                    v => Err(self.loaded.err(
                        &key,
                        format!("expected integers from 1 to {MAX_COUNT}, got {v}"),
                    )),
                })
                .collect(),
            Some(v) => Err(self.loaded.err(
                &key,
                format!("expected a list of integers from 1 to {MAX_COUNT}, got {v}"),
            )),
        }
    }

    /// An optional free-form string (e.g. a path).
    pub fn string_opt(&mut self, name: &str) -> Result<Option<String>> {
        match self.get(name) {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s)),
            Some(v) => Err(self.loaded.err(
                &format!("{}.{name}", self.key),
                format!("expected a string, got {v}"),
            )),
        }
    }

    /// Fail on keys nobody asked for.
    pub fn finish(self) -> Result<()> {
        let mut extra: Vec<&String> = self
            .table
            .keys()
            .filter(|k| !self.used.contains(k))
            .collect();
        extra.sort();
        if let Some(k) = extra.first() {
            let mut valid = self.used.clone();
            valid.sort();
            valid.dedup();
            return Err(self.loaded.err(
                &format!("{}.{k}", self.key),
                format!(
                    "unknown key; valid keys here: {}",
                    if valid.is_empty() {
                        "(none)".into()
                    } else {
                        valid.join(", ")
                    }
                ),
            ));
        }
        Ok(())
    }
}
