//! The record store: where a finished (method, seed) run lives, how it is
//! written, and which stored runs may be reused.
//!
//! Layout of an experiment folder `<out>/`:
//! - `runs/<stem>.json`: one [`RunRecord`] per finished job (`<stem>` is
//!   [`crate::plan::Job::stem`], `<method slug>-s<seed>`); written last, so
//!   its presence marks the job finished;
//! - `runs/<stem>.csv`: the run's per-evaluation table when the driver gives
//!   one; regenerated from the JSON (which holds the same table) if deleted;
//! - `.lock`: an advisory lock held by the `reproduce` writing the folder.
//!
//! Why so strict: a reused record is a result nobody recomputes. A record is
//! reused only if it is a current-format record whose experiment, method,
//! seed, budget and fingerprint match the job and whose content digest
//! matches its content; anything else is reported with the reason and rerun.
//! Writes go through uniquely named temporary files and a rename, so two
//! writers of one file (a requeued cluster job racing its lost twin) never
//! see each other's half-written files, and, since runs are deterministic,
//! the last rename leaves the same bytes either way.

use crate::drivers::Table;
use crate::plan::Job;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

/// The record format this code writes. 1: the first format (no experiment
/// id, seed or data digests in the fingerprint; no content digest).
pub const RECORD_FORMAT: u32 = 2;

/// What one (method, seed) run leaves behind.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    /// [`RECORD_FORMAT`] of the code that wrote it (1 when absent).
    #[serde(default = "format_v1")]
    pub format: u32,
    #[serde(default)]
    pub experiment: String,
    pub method: String,
    pub seed: u64,
    #[serde(default)]
    pub budget: usize,
    pub fingerprint: String,
    /// The experiment's metric after each evaluation (may be empty).
    pub curve: Vec<f64>,
    /// Named per-run results.
    pub scalars: BTreeMap<String, f64>,
    /// The per-evaluation table (also written as `runs/<stem>.csv`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<Table>,
    /// Wall-clock seconds (measured; never part of a snapshot or digest).
    pub seconds: f64,
    /// Digest of everything above but `seconds` ([`RunRecord::content_digest`]).
    #[serde(default)]
    pub digest: String,
}

fn format_v1() -> u32 {
    1
}

impl RunRecord {
    /// Digest of the record's content: everything but `seconds` and `digest`.
    /// Why: a record edited by hand or cut short (a curve truncated, a file
    /// copied to another seed) must not be mistaken for a computed one.
    pub fn content_digest(&self) -> String {
        let v = serde_json::json!({
            "format": self.format, "experiment": self.experiment, "method": self.method,
            "seed": self.seed, "budget": self.budget, "fingerprint": self.fingerprint,
            "curve": self.curve, "scalars": self.scalars, "table": self.table,
        });
        hex16(blake3::hash(v.to_string().as_bytes()).as_bytes())
    }

    /// Sets `digest` from the content.
    pub fn seal(mut self) -> Self {
        self.digest = self.content_digest();
        self
    }
}

/// The first 16 bytes of a digest as hex (32 characters).
pub fn hex16(bytes: &[u8]) -> String {
    bytes[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// What the store holds for a job.
#[derive(Debug)]
pub enum Stored {
    /// A valid record: reuse it.
    Valid(Box<RunRecord>),
    /// No record yet.
    Missing,
    /// A record that must not be reused, and why.
    Rejected(String),
}

/// One experiment's folder of records.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    pub fn runs_dir(&self) -> PathBuf {
        self.dir.join("runs")
    }

    pub fn record_path(&self, job: &Job) -> PathBuf {
        self.runs_dir().join(format!("{}.json", job.stem))
    }

    /// The journal of a run in progress ([`crate::journal`]); deleted once
    /// the run's record is saved.
    pub fn journal_path(&self, job: &Job) -> PathBuf {
        self.dir.join("partial").join(format!("{}.jsonl", job.stem))
    }

    /// Checks, before any compute, that the folder can be written: it is
    /// (or can be made) a directory and a file can be created in it.
    pub fn check_writable(&self) -> Result<()> {
        if self.dir.exists() && !self.dir.is_dir() {
            bail!(
                "--out {}: exists and is not a folder; name a folder for the results",
                self.dir.display()
            );
        }
        let runs = self.runs_dir();
        std::fs::create_dir_all(&runs).with_context(|| {
            format!(
                "--out {}: cannot create the results folder {}",
                self.dir.display(),
                runs.display()
            )
        })?;
        let probe = runs.join(temp_name("write-probe"));
        std::fs::write(&probe, b"")
            .with_context(|| format!("--out {}: the folder is not writable", self.dir.display()))?;
        let _ = std::fs::remove_file(probe);
        Ok(())
    }

    /// Takes the folder's advisory lock for this process (released when the
    /// returned guard drops). A second `reproduce` of the same folder fails
    /// at once with the holder's pid, host and start time.
    pub fn lock(&self) -> Result<StoreLock> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let path = self.dir.join(".lock");
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = holder.trim();
                bail!(
                    "{} is in use by another run ({}); wait for it to finish, or write elsewhere with --out",
                    self.dir.display(),
                    if holder.is_empty() { "holder unknown" } else { holder }
                );
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("cannot lock {}", path.display()))
            }
        }
        file.set_len(0)?;
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let _ = write!(
            file,
            "pid {} on host {}, since unix time {since}",
            std::process::id(),
            hostname()
        );
        let _ = file.flush();
        Ok(StoreLock { _file: file })
    }

    /// What the store holds for `job` (a record from another experiment,
    /// method, seed, budget, fingerprint or format, or one whose content was
    /// changed, is rejected with the reason).
    pub fn load(&self, job: &Job) -> Stored {
        let path = self.record_path(job);
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Stored::Missing,
            Err(e) => return Stored::Rejected(format!("cannot be read: {e}")),
        };
        let rec: RunRecord = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => return Stored::Rejected(format!("not a valid record ({e})")),
        };
        match validate(&rec, job) {
            Ok(()) => Stored::Valid(Box::new(rec)),
            Err(why) => Stored::Rejected(why),
        }
    }

    /// Writes a finished job: the CSV table first, the JSON last.
    pub fn save(&self, job: &Job, rec: &RunRecord) -> Result<()> {
        let path = self.record_path(job);
        if let Some(t) = &rec.table {
            write_atomic(&path.with_extension("csv"), &table_csv(t)?)?;
        }
        write_atomic(&path, &serde_json::to_vec(rec)?)?;
        crate::journal::remove(&self.journal_path(job))
    }

    /// Rewrites `runs/<stem>.csv` from a valid record's table when the file
    /// is missing; returns whether it did.
    pub fn restore_csv(&self, job: &Job, rec: &RunRecord) -> Result<bool> {
        let csv = self.record_path(job).with_extension("csv");
        match &rec.table {
            Some(t) if !csv.exists() => {
                write_atomic(&csv, &table_csv(t)?)?;
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

/// Why `rec` may not stand for `job`, if it may not.
pub fn validate(rec: &RunRecord, job: &Job) -> std::result::Result<(), String> {
    if rec.format != RECORD_FORMAT {
        return Err(format!(
            "written in record format {} (this code writes {RECORD_FORMAT}; `cargo xtask migrate-records` upgrades older records whose old fingerprint still matches)",
            rec.format
        ));
    }
    if rec.experiment != job.experiment {
        return Err(format!(
            "belongs to experiment `{}`, not `{}`",
            rec.experiment, job.experiment
        ));
    }
    if rec.method != job.method_name {
        return Err(format!(
            "belongs to method `{}`, not `{}`",
            rec.method, job.method_name
        ));
    }
    if rec.seed != job.seed {
        return Err(format!("belongs to seed {}, not {}", rec.seed, job.seed));
    }
    if rec.budget != job.budget {
        return Err(format!(
            "was run with budget {}, not {}",
            rec.budget, job.budget
        ));
    }
    if rec.curve.len() > job.budget {
        return Err(format!(
            "its curve has {} points, more than the budget {}",
            rec.curve.len(),
            job.budget
        ));
    }
    if let Some(n) = job.curve_len {
        if rec.curve.len() != n {
            return Err(format!(
                "its curve has {} points where this run gives {n}",
                rec.curve.len()
            ));
        }
    }
    if rec.fingerprint != job.fingerprint {
        return Err("its fingerprint differs (config, code revision or input data changed)".into());
    }
    if rec.digest != rec.content_digest() {
        return Err("its content does not match its digest (edited or cut short)".into());
    }
    Ok(())
}

/// A held folder lock; dropping it releases the lock.
#[derive(Debug)]
pub struct StoreLock {
    _file: std::fs::File,
}

/// The table as CSV bytes.
pub fn table_csv(t: &Table) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(&t.header)?;
    for row in &t.rows {
        w.write_record(row)?;
    }
    Ok(w.into_inner()?)
}

/// This machine's host name (for temporary names and lock holders).
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_string())
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect()
        })
        .unwrap_or_else(|| "host".into())
}

/// A temporary file name no other writer uses: host, pid and a nonce.
fn temp_name(file: &str) -> String {
    static NONCE: AtomicU64 = AtomicU64::new(0);
    let n = NONCE.fetch_add(1, Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(".{file}.{}.{}.{n}-{t}.tmp", hostname(), std::process::id())
}

/// Write a file atomically: a uniquely named temporary file in the same
/// folder, flushed to disk, then renamed over the target.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().context("path without parent")?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .context("path without a file name")?
        .to_string_lossy();
    let tmp = dir.join(temp_name(&name));
    let res = (|| -> Result<()> {
        let mut f = std::fs::File::create(&tmp)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.write_all(bytes)
            .with_context(|| format!("cannot write {}", tmp.display()))?;
        f.sync_all().ok();
        std::fs::rename(&tmp, path)
            .with_context(|| format!("cannot move {} into place", path.display()))
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}
