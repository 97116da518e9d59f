//! Committed results stay true to the code.
//!
//! [`verify_results`] (`cargo xtask verify-results`) re-renders every
//! committed report (`results/<id>/summary.md`, `summary.json`, `curves.csv`,
//! figures) from the committed run records (`results/<id>/runs/*.json`),
//! running nothing, and lists every file whose bytes differ. CI runs it, so
//! a change to the report code, or a record committed without its report,
//! fails. Experiments whose records are not committed (their curves are too
//! large, e.g. 40,000-evaluation tabular searches) are listed as not
//! verifiable.
//!
//! [`migrate_records`] (`cargo xtask migrate-records`) upgrades records of
//! format 1 in place: a record is upgraded only when its old fingerprint
//! still matches the config and code (so its numbers are what the current
//! code computes), and its experiment is the folder's; its curve and
//! scalars are kept bit for bit.

use crate::config::{self, Loaded};
use crate::drivers::Registry;
use crate::plan::{self, Options};
use crate::report;
use crate::runner;
use crate::store::{write_atomic, RunRecord, RECORD_FORMAT};
use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

/// What `verify-results` found for one experiment.
#[derive(Debug)]
pub enum Verdict {
    /// Every committed report file re-renders byte for byte.
    Same { files: usize, records: usize },
    /// These files differ (rewritten when asked to).
    Differs { files: Vec<String> },
    /// Not verifiable here, and why.
    Skipped(String),
    /// The records could not be collected or rendered.
    Failed(String),
}

/// The committed results folder of `id` (`results/<id>`).
fn folder(root: &Path, id: &str) -> PathBuf {
    plan::default_out(root, id, "full")
}

fn has_records(dir: &Path) -> bool {
    std::fs::read_dir(dir.join("runs")).is_ok_and(|rd| {
        rd.flatten()
            .any(|e| e.path().extension().is_some_and(|x| x == "json"))
    })
}

/// Re-renders every committed report from its committed records; with
/// `write`, rewrites the files that differ.
pub fn verify_results(
    root: &Path,
    drivers: &Registry,
    write: bool,
) -> Result<Vec<(String, Verdict)>> {
    let mut out = Vec::new();
    for l in config::discover(root)?.all()? {
        let id = l.exp.id.clone();
        let dir = folder(root, &id);
        let verdict = if !dir.join("summary.md").exists() {
            Verdict::Skipped("no committed report".into())
        } else if !has_records(&dir) {
            Verdict::Skipped("run records not committed".into())
        } else if drivers.needs_torch(&l) {
            Verdict::Skipped("its driver runs in the libtorch binary".into())
        } else {
            match verify_one(root, l, drivers, &dir, write) {
                Ok(v) => v,
                Err(e) => Verdict::Failed(format!("{e:#}")),
            }
        };
        out.push((id, verdict));
    }
    Ok(out)
}

fn verify_one(
    root: &Path,
    l: Loaded,
    drivers: &Registry,
    dir: &Path,
    write: bool,
) -> Result<Verdict> {
    let opts = Options {
        profile: "full".into(),
        out: Some(dir.to_path_buf()),
        progress: false,
        drivers: drivers.clone(),
        ..Options::default()
    };
    let outcome = runner::collect(root, l, &opts)?;
    let records = outcome.records.iter().map(|(_, v)| v.len()).sum();
    let (_, files) = report::render(&outcome)?;
    let mut differ = Vec::new();
    for (name, bytes) in &files {
        let p = dir.join(name);
        if std::fs::read(&p).ok().as_deref() != Some(bytes.as_slice()) {
            differ.push(name.clone());
            if write {
                write_atomic(&p, bytes)?;
            }
        }
    }
    Ok(if differ.is_empty() {
        Verdict::Same {
            files: files.len(),
            records,
        }
    } else {
        Verdict::Differs { files: differ }
    })
}

/// What `migrate-records` did in one experiment folder.
#[derive(Debug, Default)]
pub struct Migration {
    pub upgraded: usize,
    pub current: usize,
    /// Records left alone, with the reason.
    pub refused: Vec<(PathBuf, String)>,
}

/// Upgrades the format-1 records of `results/<id>/runs` for every
/// experiment (or only `only`), in place.
pub fn migrate_records(
    root: &Path,
    drivers: &Registry,
    only: Option<&str>,
) -> Result<Vec<(String, Migration)>> {
    let mut out = Vec::new();
    for l in config::discover(root)?.all()? {
        if only.is_some_and(|id| id != l.exp.id) || drivers.needs_torch(&l) {
            continue;
        }
        let dir = folder(root, &l.exp.id);
        if !has_records(&dir) {
            continue;
        }
        let id = l.exp.id.clone();
        out.push((id, migrate_one(root, l, drivers, &dir)?));
    }
    Ok(out)
}

fn migrate_one(root: &Path, l: Loaded, drivers: &Registry, dir: &Path) -> Result<Migration> {
    let mut m = Migration::default();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("runs"))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    for path in files {
        let bytes = std::fs::read(&path)?;
        let rec: RunRecord = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => {
                m.refused.push((path, format!("not a valid record ({e})")));
                continue;
            }
        };
        if rec.format == RECORD_FORMAT {
            m.current += 1;
            continue;
        }
        // Plan this record's job alone: its budget is the curve's
        // experiment budget unless the profile says otherwise.
        let opts = Options {
            profile: "full".into(),
            out: Some(dir.to_path_buf()),
            progress: false,
            drivers: drivers.clone(),
            methods: Some(vec![rec.method.clone()]),
            seed_list: Some(vec![rec.seed]),
            ..Options::default()
        };
        let p = match plan::plan(root, l.clone(), &opts) {
            Ok(p) => p,
            Err(e) => {
                m.refused.push((path, format!("{e:#}")));
                continue;
            }
        };
        let job = &p.jobs[0];
        let stem_ok = path.file_stem().and_then(|s| s.to_str()) == Some(job.stem.as_str());
        let legacy = plan::legacy_fingerprint(&p.loaded, 0, p.budget, p.prepared.revision(0));
        let why = if !stem_ok {
            Some(format!("its file name is not {}.json", job.stem))
        } else if rec.fingerprint != legacy {
            Some("its old fingerprint does not match the config and code".into())
        } else if rec.curve.len() > p.budget {
            Some("its curve is longer than the budget".into())
        } else {
            None
        };
        if let Some(why) = why {
            m.refused.push((path, why));
            continue;
        }
        let new = RunRecord {
            format: RECORD_FORMAT,
            experiment: job.experiment.clone(),
            budget: job.budget,
            fingerprint: job.fingerprint.clone(),
            ..rec
        }
        .seal();
        write_atomic(&path, &serde_json::to_vec(&new)?)
            .with_context(|| format!("cannot rewrite {}", path.display()))?;
        m.upgraded += 1;
    }
    Ok(m)
}
