//! `reproduce` as plan -> backend -> store -> report.
//!
//! [`reproduce`] plans the experiment ([`crate::plan`]: every check before
//! compute), locks its folder, asks the store ([`crate::store`]) which jobs
//! already have valid records, executes the rest on a backend
//! ([`crate::backend`]), writing each record as it finishes, and collects
//! the records into an [`Outcome`] for the report. [`collect`] does the last
//! step alone (no compute), for `verify-results`; [`run_one`] runs one job
//! (`cargo xtask run-job`).
//!
//! Each (method, seed) run gets its own RNG stream derived from
//! `(experiment id, method name, seed)`, so results do not depend on the
//! number of threads or on the order runs finish.

use crate::backend::{self, Backend, Local};
use crate::config::Loaded;
use crate::drivers::Prepared;
use crate::plan::{self, Job, Plan};
use crate::store::{Store, Stored};
use anyhow::{bail, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub use crate::plan::{default_out, slug, Options};
pub use crate::store::{write_atomic, RunRecord};

/// The regenerated numbers of one experiment.
#[derive(Debug)]
pub struct Outcome {
    pub loaded: Loaded,
    pub profile: String,
    pub budget: usize,
    /// How many seeds each method ran.
    pub seeds: u64,
    pub out: PathBuf,
    /// Records grouped by method, in config order, seeds ascending.
    pub records: Vec<(String, Vec<RunRecord>)>,
    pub reused: usize,
    pub prepared: Box<dyn Prepared>,
    /// Why nothing ran (see [`Prepared::unavailable`]).
    pub unavailable: Option<String>,
}

/// Run (or resume) an experiment on the local backend.
pub fn reproduce(root: &Path, loaded: Loaded, opts: &Options) -> Result<Outcome> {
    let plan = plan::plan(root, loaded, opts)?;
    let backend = Local { threads: opts.jobs };
    execute(plan, &backend, opts)
}

/// Runs a plan's missing jobs on `backend` and collects every record.
pub fn execute(plan: Plan, backend: &dyn Backend, opts: &Options) -> Result<Outcome> {
    let id = plan.loaded.exp.id.clone();
    plan.store.check_writable()?;
    let _lock = plan.store.lock()?;
    let (mut done, todo, rejected) = scan(&plan)?;
    for (job, why) in &rejected {
        eprintln!(
            "{id}: {}: rejected, rerunning: {why}",
            plan.store.record_path(job).display()
        );
    }
    let reused = done.len();
    if let (Some(why), true) = (&plan.unavailable, opts.progress) {
        eprintln!("{id}: not run: {why}");
    }
    if reused > 0 && opts.progress {
        eprintln!(
            "{id}: resuming, {reused} finished runs kept in {}",
            plan.store.runs_dir().display()
        );
    }
    let bar = if opts.progress && !todo.is_empty() {
        let b = ProgressBar::new(todo.len() as u64);
        b.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} runs, {elapsed} elapsed, eta {eta} {msg}",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        b.set_prefix(id.clone());
        b
    } else {
        ProgressBar::hidden()
    };
    let plain_log = opts.progress && !todo.is_empty() && !std::io::stderr().is_terminal();
    let fresh: Mutex<Vec<(Job, RunRecord)>> = Mutex::new(Vec::new());
    let total = todo.len();
    backend.execute(&plan, &todo, opts.device.as_deref(), &|job, rec| {
        plan.store.save(job, &rec)?;
        bar.inc(1);
        let mut f = fresh.lock().unwrap_or_else(|e| e.into_inner());
        if plain_log {
            // Why: a run in a log (nohup, CI) shows no progress bar.
            eprintln!(
                "{id}: {} seed {} finished in {:.0} s ({}/{total} runs)",
                job.method_name,
                job.seed,
                rec.seconds,
                f.len() + 1
            );
        }
        f.push((job.clone(), rec));
        Ok(())
    })?;
    bar.finish_and_clear();
    done.extend(fresh.into_inner().unwrap_or_else(|e| e.into_inner()));
    Ok(outcome_of(plan, done, reused))
}

/// The plan's jobs split into (valid records, jobs to run, rejected jobs
/// with the reason); restores per-run CSV files a valid record can give.
#[allow(clippy::type_complexity)]
pub fn scan(plan: &Plan) -> Result<(Vec<(Job, RunRecord)>, Vec<Job>, Vec<(Job, String)>)> {
    let (mut done, mut todo, mut rejected) = (Vec::new(), Vec::new(), Vec::new());
    if plan.unavailable.is_some() {
        return Ok((done, todo, rejected));
    }
    for job in &plan.jobs {
        match plan.store.load(job) {
            Stored::Valid(rec) => {
                plan.store.restore_csv(job, &rec)?;
                done.push((job.clone(), *rec));
            }
            Stored::Missing => todo.push(job.clone()),
            Stored::Rejected(why) => {
                rejected.push((job.clone(), why));
                todo.push(job.clone());
            }
        }
    }
    Ok((done, todo, rejected))
}

/// The outcome of a plan from its collected records (`reused` of them
/// were found in the store).
pub fn outcome_of(plan: Plan, done: Vec<(Job, RunRecord)>, reused: usize) -> Outcome {
    let mut records: Vec<(String, Vec<RunRecord>)> = plan
        .loaded
        .exp
        .methods
        .iter()
        .map(|m| (m.name.clone(), Vec::new()))
        .collect();
    let mut done = done;
    done.sort_by_key(|(j, _)| (j.method, j.seed));
    for (job, r) in done {
        records[job.method].1.push(r);
    }
    Outcome {
        seeds: plan.seeds.len() as u64,
        loaded: plan.loaded,
        profile: plan.profile,
        budget: plan.budget,
        out: plan.out,
        records,
        reused,
        prepared: plan.prepared,
        unavailable: plan.unavailable,
    }
}

/// The outcome of an experiment from its stored records alone (nothing
/// runs): fails, naming the records, if any job has no valid record.
pub fn collect(root: &Path, loaded: Loaded, opts: &Options) -> Result<Outcome> {
    let plan = plan::plan(root, loaded, opts)?;
    let (done, todo, rejected) = scan(&plan)?;
    if !todo.is_empty() {
        let mut why: Vec<String> = rejected
            .iter()
            .map(|(j, w)| format!("{}: {w}", plan.store.record_path(j).display()))
            .collect();
        let missing = todo.len() - rejected.len();
        if missing > 0 {
            why.push(format!("{missing} record(s) missing"));
        }
        bail!(
            "{}: {} of {} runs have no valid record:\n  {}",
            plan.loaded.exp.id,
            todo.len(),
            plan.jobs.len(),
            why.join("\n  ")
        );
    }
    let n = done.len();
    Ok(outcome_of(plan, done, n))
}

/// Runs exactly one job (`cargo xtask run-job`) unless a valid record
/// exists, and writes its record; returns the record and whether it ran.
/// Takes no folder lock: concurrent writers of one record are safe (unique
/// temporary names, deterministic content), as a cluster backend needs.
pub fn run_one(
    root: &Path,
    loaded: Loaded,
    opts: &Options,
    force: bool,
) -> Result<(RunRecord, bool)> {
    let plan = plan::plan(root, loaded, opts)?;
    run_planned(plan, opts.device.as_deref(), force)
}

/// [`run_one`] for a plan already made (one job).
pub fn run_planned(plan: Plan, device: Option<&str>, force: bool) -> Result<(RunRecord, bool)> {
    if let Some(why) = &plan.unavailable {
        bail!("{}: cannot run here: {why}", plan.loaded.exp.id);
    }
    let [job] = plan.jobs.as_slice() else {
        bail!(
            "run-job runs one job; the selection gives {}",
            plan.jobs.len()
        );
    };
    if !force {
        if let Stored::Valid(rec) = plan.store.load(job) {
            plan.store.restore_csv(job, &rec)?;
            return Ok((*rec, false));
        }
    }
    plan.store.check_writable()?;
    let rec = backend::run_job(&plan, job, device)?;
    Store::save(&plan.store, job, &rec)?;
    Ok((rec, true))
}
