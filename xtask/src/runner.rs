//! Runs an experiment's methods x seeds in parallel, resumably.
//!
//! Each (method, seed) run gets its own RNG stream derived from
//! `(experiment id, method name, seed)`, so results do not depend on the
//! number of threads or on the order runs finish. A finished run is stored as
//! `runs/<method>-s<seed>.json` (written atomically, last), and a rerun keeps
//! every stored run whose fingerprint (driver, problem, method, budget) still
//! matches.

use crate::config::Loaded;
use crate::drivers::{self, Prepared, RunOutput};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use searchkit::rng::Stream;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// What one (method, seed) run leaves behind.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    pub method: String,
    pub seed: u64,
    pub fingerprint: String,
    /// The experiment's metric after each evaluation (may be empty).
    pub curve: Vec<f64>,
    /// Named per-run results.
    pub scalars: BTreeMap<String, f64>,
    /// Wall-clock seconds (not part of any snapshot).
    pub seconds: f64,
}

/// Options of `cargo xtask reproduce`.
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: String,
    pub seeds: Option<u64>,
    /// Override the profile's budget.
    pub budget: Option<usize>,
    pub jobs: Option<usize>,
    pub out: Option<PathBuf>,
    /// Run only these methods (by name); the report covers only them.
    pub methods: Option<Vec<String>>,
    /// Show a progress bar (hidden anyway when stderr is not a terminal).
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            profile: "full".into(),
            seeds: None,
            budget: None,
            jobs: None,
            out: None,
            methods: None,
            progress: true,
        }
    }
}

/// The regenerated numbers of one experiment.
#[derive(Debug)]
pub struct Outcome {
    pub loaded: Loaded,
    pub profile: String,
    pub budget: usize,
    pub seeds: u64,
    pub out: PathBuf,
    /// Records grouped by method, in config order, seeds ascending.
    pub records: Vec<(String, Vec<RunRecord>)>,
    pub reused: usize,
    pub prepared: Box<dyn Prepared>,
    /// Why nothing ran (see [`Prepared::unavailable`]).
    pub unavailable: Option<String>,
}

/// Default output folder: `results/<id>` for the full profile,
/// `results/<id>/<profile>` otherwise (so a CI run never overwrites the
/// committed full-profile results).
pub fn default_out(root: &Path, id: &str, profile: &str) -> PathBuf {
    let base = root.join("results").join(id);
    if profile == "full" {
        base
    } else {
        base.join(profile)
    }
}

pub fn slug(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    while s.contains("--") {
        s = s.replace("--", "-");
    }
    s.trim_matches('-').to_string()
}

/// Write a file atomically: a temporary file in the same folder, then rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("path without parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().unwrap().to_string_lossy()
    ));
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path)
        .with_context(|| format!("cannot move {} into place", path.display()))?;
    Ok(())
}

/// Keep only the named methods, in the config's order. Why: a user may
/// want the cheap methods of a long experiment first; records are keyed by
/// method name and fingerprint, so a later full run reuses them.
///
/// `names` may hold comma-joined lists (`--methods a,b`); as a method name
/// may itself contain commas, the joined text is split into the longest
/// method names that match, left to right.
fn select_methods(loaded: &mut Loaded, names: &[String]) -> Result<()> {
    let valid: Vec<&str> = loaded.exp.methods.iter().map(|m| m.name.as_str()).collect();
    let joined = names.join(",");
    let parts: Vec<&str> = joined.split(',').collect();
    let mut chosen: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        // The longest run of parts from `i` on that names a method.
        let hit = (i + 1..=parts.len()).rev().find_map(|j| {
            let name = parts[i..j].join(",");
            let name = name.trim();
            valid.contains(&name).then(|| (j, name.to_string()))
        });
        match hit {
            Some((j, name)) => {
                chosen.push(name);
                i = j;
            }
            None => anyhow::bail!(
                "{}: --methods: no method `{}`; valid choices: {}",
                loaded.path.display(),
                parts[i].trim(),
                valid.join(", ")
            ),
        }
    }
    loaded.exp.methods.retain(|m| chosen.contains(&m.name));
    Ok(())
}

fn fingerprint(l: &Loaded, method: usize, budget: usize, revision: u32) -> String {
    let m = &l.exp.methods[method];
    let mut json = serde_json::json!({
        "driver": l.exp.driver, "problem": l.exp.problem, "algorithm": m.algorithm,
        "params": m.params, "budget": budget, "rng": "chacha8-v1",
    });
    if revision > 0 {
        json["revision"] = revision.into();
    }
    let text = json.to_string();
    format!("{:016x}", Stream::root(&text).key())
}

/// Run (or resume) an experiment.
pub fn reproduce(root: &Path, loaded: Loaded, opts: &Options) -> Result<Outcome> {
    let profile = loaded.profile(&opts.profile)?.clone();
    let mut loaded = loaded;
    for (k, v) in &profile.problem {
        loaded.exp.problem.insert(k.clone(), v.clone());
    }
    if let Some(names) = &opts.methods {
        select_methods(&mut loaded, names)?;
    }
    let seeds = opts.seeds.unwrap_or(profile.seeds);
    let budget = opts.budget.unwrap_or(profile.budget);
    // A budget override never writes over the profile's own results.
    let folder = match opts.budget {
        Some(b) if b != profile.budget => format!("{}-budget{b}", opts.profile),
        _ => opts.profile.clone(),
    };
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out(root, &loaded.exp.id, &folder));
    let runs_dir = out.join("runs");
    let prepared = drivers::prepare(&loaded)?;
    let unavailable = prepared.unavailable();

    let mut jobs = Vec::new();
    let mut reused = 0;
    let mut done: BTreeMap<(usize, u64), RunRecord> = BTreeMap::new();
    for (mi, m) in loaded.exp.methods.iter().enumerate() {
        let fp = fingerprint(&loaded, mi, budget, prepared.revision(mi));
        for seed in 0..seeds {
            let path = runs_dir.join(format!("{}-s{seed}.json", slug(&m.name)));
            let old = std::fs::read(&path)
                .ok()
                .and_then(|b| serde_json::from_slice::<RunRecord>(&b).ok());
            match old {
                _ if unavailable.is_some() => {}
                Some(r) if r.fingerprint == fp && r.method == m.name => {
                    reused += 1;
                    done.insert((mi, seed), r);
                }
                _ => jobs.push((mi, seed, fp.clone(), path)),
            }
        }
    }

    if let (Some(why), true) = (&unavailable, opts.progress) {
        eprintln!("{}: not run: {why}", loaded.exp.id);
    }
    let bar = if opts.progress && !jobs.is_empty() {
        let b = ProgressBar::new(jobs.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, eta {eta} {msg}",
            )
            .unwrap()
            .progress_chars("=> "),
        );
        b.set_prefix(loaded.exp.id.clone());
        b
    } else {
        ProgressBar::hidden()
    };
    if reused > 0 && opts.progress {
        eprintln!(
            "{}: resuming, {reused} finished runs kept in {}",
            loaded.exp.id,
            runs_dir.display()
        );
    }

    let plain_log = opts.progress && !jobs.is_empty() && !std::io::stderr().is_terminal();
    let finished = std::sync::atomic::AtomicUsize::new(0);
    let exec = || -> Result<Vec<((usize, u64), RunRecord)>> {
        jobs.par_iter()
            .map(|(mi, seed, fp, path)| {
                let m = &loaded.exp.methods[*mi];
                let rng = Stream::for_run(&loaded.exp.id, &m.name, *seed);
                let t0 = std::time::Instant::now();
                let RunOutput {
                    curve,
                    scalars,
                    table,
                } = prepared.run(*mi, *seed, budget, rng).with_context(|| {
                    format!("{}: method `{}`, seed {seed}", loaded.exp.id, m.name)
                })?;
                let rec = RunRecord {
                    method: m.name.clone(),
                    seed: *seed,
                    fingerprint: fp.clone(),
                    curve,
                    scalars,
                    seconds: t0.elapsed().as_secs_f64(),
                };
                if let Some(t) = table {
                    let mut w = csv::Writer::from_writer(Vec::new());
                    w.write_record(&t.header)?;
                    for row in &t.rows {
                        w.write_record(row)?;
                    }
                    write_atomic(&path.with_extension("csv"), &w.into_inner()?)?;
                }
                // The JSON goes last: its presence marks the run finished.
                write_atomic(path, &serde_json::to_vec(&rec)?)?;
                bar.inc(1);
                if plain_log {
                    // Why: a run in a log (nohup, CI) shows no progress bar.
                    let k = finished.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
                    eprintln!(
                        "{}: {} seed {seed} finished in {:.0} s ({k}/{} runs)",
                        loaded.exp.id,
                        m.name,
                        rec.seconds,
                        jobs.len()
                    );
                }
                Ok(((*mi, *seed), rec))
            })
            .collect()
    };
    let fresh = match opts.jobs {
        Some(n) => rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build()?
            .install(exec)?,
        None => exec()?,
    };
    bar.finish_and_clear();
    done.extend(fresh);

    let mut records: Vec<(String, Vec<RunRecord>)> = loaded
        .exp
        .methods
        .iter()
        .map(|m| (m.name.clone(), Vec::new()))
        .collect();
    for ((mi, _), r) in done {
        records[mi].1.push(r);
    }
    Ok(Outcome {
        loaded,
        profile: opts.profile.clone(),
        budget,
        seeds,
        out,
        records,
        reused,
        prepared,
        unavailable,
    })
}

#[cfg(test)]
mod select_tests {
    use super::*;

    #[test]
    fn method_names_with_commas_are_matched_whole() {
        let root = crate::workspace_root();
        let loaded = crate::config::find(&root, "btrnn-train").unwrap();
        let pick = |arg: &[&str]| -> Result<Vec<String>> {
            let mut l = loaded.clone();
            let names: Vec<String> = arg.iter().map(|s| s.to_string()).collect();
            select_methods(&mut l, &names)?;
            Ok(l.exp.methods.into_iter().map(|m| m.name).collect())
        };
        // As clap hands over `--methods "LSTM,TT-LSTM (ranks 4), matched init"`.
        let got = pick(&["LSTM", "TT-LSTM (ranks 4)", " matched init"]).unwrap();
        assert_eq!(got, ["LSTM", "TT-LSTM (ranks 4), matched init"]);
        let got = pick(&["TT-LSTM (ranks 4)"]).unwrap();
        assert_eq!(got, ["TT-LSTM (ranks 4)"]);
        let e = format!("{:#}", pick(&["LSTM", "GRU"]).unwrap_err());
        assert!(
            e.contains("btrnn-train.toml") && e.contains("`GRU`") && e.contains("LSTM, TT-LSTM"),
            "{e}"
        );
    }
}
