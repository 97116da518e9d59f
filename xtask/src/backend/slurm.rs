//! The Slurm backend: `reproduce <id> --backend slurm`, run on a login node.
//!
//! It plans as the local backend does, then, instead of running the pending
//! (method, seed) jobs, writes them to a **manifest** (one entry per array
//! index: method, seed, fingerprint) under `<out>/slurm/`, copies the
//! running binary (already built, in release, by `cargo xtask`) to a shared
//! folder under a name holding its digest, and submits one `sbatch --array`
//! per resource request, chunked at the cluster's `MaxArraySize` and
//! throttled with `%N` (`--max-running`). Each array task runs
//! `<bin> run-job --manifest M --index $SLURM_ARRAY_TASK_ID`: the
//! engine-neutral job body ([`crate::backend::run_job`]) behind
//! [`run_manifest_entry`], which refuses an entry whose fingerprint no longer
//! matches the checkout (the config or code changed since submission). Tasks
//! never call cargo.
//!
//! Completion is judged from the store and `squeue` (no `sacct`: clusters,
//! and CI's single node, may run without accounting). `--wait` polls
//! `squeue` until the arrays have left the queue, then writes the report; a
//! later `reproduce --backend slurm` of the same folder submits only jobs
//! with no valid record that are not already queued (arrays are remembered
//! in `<out>/slurm/submissions.json`), and writes the report once every
//! record is present. A failed, cancelled, timed-out or out-of-memory task
//! writes nothing (a record is renamed into place only after its run
//! finished), so it is simply submitted again.
//!
//! Another engine (Ray, Kubernetes indexed jobs) needs only the manifest
//! and `run-job --manifest M --index I`.

use crate::cli::shell_quote;
use crate::plan::{Job, Plan};
use crate::store::write_atomic;
use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

pub use crate::config::Resources;

/// The manifest format this code writes and reads.
pub const MANIFEST_FORMAT: u32 = 1;

/// Slurm's default `MaxArraySize` (used by `--dry-run` when `scontrol` is
/// not at hand).
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// One array index: the job a task runs.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    pub method: String,
    pub seed: u64,
    /// The job's fingerprint at submission; a task refuses to run if the
    /// checkout now gives another.
    pub fingerprint: String,
}

/// What the tasks of one array run: enough to plan each job again exactly.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub experiment: String,
    pub profile: String,
    /// The budget every job runs with (the profile's or the override).
    pub budget: usize,
    /// The experiment's results folder (absolute).
    pub out: PathBuf,
    /// The checkout whose configs the tasks read (absolute).
    pub root: PathBuf,
    /// `--device`, handed to every run.
    #[serde(default)]
    pub device: Option<String>,
    /// Entry `i` is array index `i`.
    pub jobs: Vec<Entry>,
}

impl Manifest {
    pub fn read(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("--manifest {}: cannot be read", path.display()))?;
        let m: Manifest = serde_json::from_slice(&bytes)
            .with_context(|| format!("--manifest {}: not a manifest", path.display()))?;
        if m.format != MANIFEST_FORMAT {
            bail!(
                "--manifest {}: format {} (this binary reads {MANIFEST_FORMAT}); resubmit with this binary",
                path.display(),
                m.format
            );
        }
        Ok(m)
    }

    /// The runner options that plan entry `index` alone.
    pub fn options(
        &self,
        index: usize,
        drivers: &crate::drivers::Registry,
    ) -> Result<crate::plan::Options> {
        let Some(e) = self.jobs.get(index) else {
            bail!(
                "--index {index}: the manifest has {} entries (0..{})",
                self.jobs.len(),
                self.jobs.len()
            );
        };
        Ok(crate::plan::Options {
            profile: self.profile.clone(),
            seed_list: Some(vec![e.seed]),
            budget: Some(self.budget),
            out: Some(self.out.clone()),
            methods: Some(vec![e.method.clone()]),
            progress: false,
            drivers: drivers.clone(),
            device: self.device.clone(),
            ..Default::default()
        })
    }
}

/// Runs manifest entry `index` (what an array task does): plans it from the
/// checkout named in the manifest, refuses if its fingerprint went stale,
/// and otherwise runs it like `run-job` (a valid record is kept). Returns
/// the record and whether it ran.
pub fn run_manifest_entry(
    manifest: &Manifest,
    index: usize,
    drivers: &crate::drivers::Registry,
) -> Result<(crate::store::RunRecord, bool)> {
    let opts = manifest.options(index, drivers)?;
    let entry = &manifest.jobs[index];
    let loaded = crate::config::find(&manifest.root, &manifest.experiment)?;
    if drivers.needs_torch(&loaded) {
        bail!(
            "{}: driver `{}` is not in this binary; experiments that train networks run in xtask-torch (submit from it: `cargo xtask reproduce` hands them over)",
            manifest.experiment,
            loaded.exp.driver
        );
    }
    let plan = crate::plan::plan(&manifest.root, loaded, &opts)?;
    if let [job] = plan.jobs.as_slice() {
        if job.fingerprint != entry.fingerprint {
            bail!(
                "{}: method `{}`, seed {}: stale: the checkout now gives fingerprint {} where the manifest has {} (config, code revision or input data changed since submission); not run. Submit again: `cargo xtask reproduce {} --backend slurm ...`",
                manifest.experiment,
                entry.method,
                entry.seed,
                job.fingerprint,
                entry.fingerprint,
                manifest.experiment
            );
        }
    }
    crate::runner::run_planned(plan, manifest.device.as_deref(), false)
}

/// Sets the worker-thread count of this process from `SLURM_CPUS_PER_TASK`
/// (what the task was granted); returns it.
pub fn threads_from_env() -> Option<usize> {
    let n: usize = std::env::var("SLURM_CPUS_PER_TASK")
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let n = n.max(1);
    let _ = rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build_global();
    Some(n)
}

/// The command-line options of `--backend slurm`.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// Extra `sbatch` arguments, passed through after ours (they win).
    pub sbatch_args: Vec<String>,
    /// Print what would be submitted; write and submit nothing.
    pub dry_run: bool,
    /// Poll `squeue` until the arrays are done, then write the report.
    pub wait: bool,
    /// Submit a job that runs after the arrays and writes the report: the
    /// binary's `reproduce` arguments (`--out` is added).
    pub report_job: Option<Vec<String>>,
    /// `%N`: at most this many tasks of an array run at once.
    pub max_running: Option<u32>,
    /// `--time [METHOD=]T` (None: every method).
    pub time: Vec<(Option<String>, String)>,
    /// `--cpus [METHOD=]N`.
    pub cpus: Vec<(Option<String>, u32)>,
    /// The binary the tasks run (copied to `shared_dir`).
    pub bin: PathBuf,
    /// Where the binary's copy goes (default `<root>/target/slurm/bin`).
    pub shared_dir: Option<PathBuf>,
    /// Time between two `squeue` polls.
    pub poll: Duration,
    /// The Slurm commands (tests may point them elsewhere).
    pub commands: Commands,
}

/// Paths of the Slurm client commands.
#[derive(Clone, Debug)]
pub struct Commands {
    pub sbatch: PathBuf,
    pub squeue: PathBuf,
    pub scontrol: PathBuf,
}

impl Default for Commands {
    fn default() -> Self {
        Self {
            sbatch: "sbatch".into(),
            squeue: "squeue".into(),
            scontrol: "scontrol".into(),
        }
    }
}

/// Parses `--time`/`--cpus` values: `VALUE` (every method) or
/// `METHOD=VALUE` (the last `=` splits, so method names may hold `=`).
pub fn parse_per_method(s: &str) -> (Option<String>, String) {
    match s.rsplit_once('=') {
        Some((m, v)) => (Some(m.trim().to_string()), v.trim().to_string()),
        None => (None, s.trim().to_string()),
    }
}

impl Settings {
    /// Checks the per-method options against the plan's methods.
    fn check(&self, plan: &Plan) -> Result<()> {
        let names: Vec<&str> = plan
            .loaded
            .exp
            .methods
            .iter()
            .map(|m| m.name.as_str())
            .collect();
        let named = self
            .time
            .iter()
            .map(|(m, _)| ("--time", m))
            .chain(self.cpus.iter().map(|(m, _)| ("--cpus", m)));
        for (opt, m) in named {
            if let Some(m) = m {
                if !names.contains(&m.as_str()) {
                    bail!(
                        "{opt} {m}=...: no method `{m}` in this run; valid choices: {}",
                        names.join(", ")
                    );
                }
            }
        }
        for (_, c) in &self.cpus {
            if *c == 0 {
                bail!("--cpus 0: a run needs at least one CPU");
            }
        }
        for (_, t) in &self.time {
            check_time(t)?;
        }
        if self.max_running == Some(0) {
            bail!("--max-running 0: at least one task must be able to run");
        }
        Ok(())
    }

    /// The request for one run of `method`: the config's, then the command
    /// line's (all methods, then this method), one CPU by default.
    pub fn resources(&self, plan: &Plan, method: usize) -> Resources {
        let m = &plan.loaded.exp.methods[method];
        let mut r = m.resources.clone().unwrap_or_default();
        for global in [true, false] {
            for (who, t) in &self.time {
                if who.is_none() == global && (global || who.as_deref() == Some(&m.name)) {
                    r.time = Some(t.clone());
                }
            }
            for (who, c) in &self.cpus {
                if who.is_none() == global && (global || who.as_deref() == Some(&m.name)) {
                    r.cpus = Some(*c);
                }
            }
        }
        r.cpus.get_or_insert(1);
        r
    }
}

/// Checks a config's `resources` (time format, a positive CPU count,
/// non-empty strings) at load, so `cargo xtask check` catches them.
pub fn check_resources(r: &Resources) -> Result<()> {
    if let Some(t) = &r.time {
        check_time(t).map_err(|_| {
            anyhow::anyhow!("time `{t}`: not a Slurm time; use MM, HH:MM:SS or D-HH:MM:SS")
        })?;
    }
    if r.cpus == Some(0) {
        bail!("cpus = 0: a run needs at least one CPU");
    }
    for (k, v) in [("mem", &r.mem), ("gres", &r.gres)] {
        if let Some(v) = v {
            if v.trim().is_empty() || v.contains(char::is_whitespace) {
                bail!("{k} `{v}`: give one sbatch value, e.g. mem = \"4G\", gres = \"gpu:1\"");
            }
        }
    }
    Ok(())
}

/// Slurm's time formats: minutes, MM:SS, HH:MM:SS, D-HH, D-HH:MM, D-HH:MM:SS.
fn check_time(t: &str) -> Result<()> {
    let (days, rest) = match t.split_once('-') {
        Some((d, r)) => (Some(d), r),
        None => (None, t),
    };
    let num = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
    let parts: Vec<&str> = rest.split(':').collect();
    let ok = days.is_none_or(num) && parts.len() <= 3 && parts.iter().all(|p| num(p));
    if !ok {
        bail!("--time `{t}`: not a Slurm time; use MM, HH:MM:SS or D-HH:MM:SS (e.g. 90, 2:00:00, 1-12:00:00)");
    }
    Ok(())
}

/// One array submission remembered in `<out>/slurm/submissions.json`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Submission {
    /// The array's job id.
    pub job_id: String,
    /// The manifest its tasks read (array index = entry index).
    pub manifest: PathBuf,
}

/// An array task as `squeue` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub job_id: String,
    /// None for a job that is not an array.
    pub task: Option<usize>,
    pub state: String,
}

/// Parses `squeue -h -r -o '%F|%K|%T'` (array job id, task id, state).
pub fn parse_squeue(out: &str) -> Vec<Queued> {
    out.lines()
        .filter_map(|l| {
            let mut f = l.trim().split('|');
            let job_id = f.next()?.trim().to_string();
            let task = f.next()?.trim();
            let state = f.next()?.trim().to_string();
            if job_id.is_empty() {
                return None;
            }
            Some(Queued {
                job_id,
                task: task.parse().ok(),
                state,
            })
        })
        .collect()
}

/// `MaxArraySize` from `scontrol show config`.
pub fn parse_max_array_size(config: &str) -> Option<usize> {
    config.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        (k.trim() == "MaxArraySize")
            .then(|| v.trim().parse().ok())
            .flatten()
    })
}

/// The `--array` value for `n` tasks (indices 0..n), throttled to `limit`.
pub fn array_spec(n: usize, limit: Option<u32>) -> String {
    let range = if n == 1 {
        "0".to_string()
    } else {
        format!("0-{}", n - 1)
    };
    match limit {
        Some(l) => format!("{range}%{l}"),
        None => range,
    }
}

/// Splits `jobs` into arrays: one group per resource request (in order of
/// first appearance), each cut into chunks of at most `max_array` tasks
/// (array indices must stay below `MaxArraySize`).
pub fn arrays(jobs: Vec<(Job, Resources)>, max_array: usize) -> Vec<(Resources, Vec<Job>)> {
    let mut groups: Vec<(Resources, Vec<Job>)> = Vec::new();
    for (job, r) in jobs {
        match groups.iter_mut().find(|(g, _)| *g == r) {
            Some((_, v)) => v.push(job),
            None => groups.push((r, vec![job])),
        }
    }
    let max = max_array.max(1);
    let mut out = Vec::new();
    for (r, jobs) in groups {
        for chunk in jobs.chunks(max) {
            out.push((r.clone(), chunk.to_vec()));
        }
    }
    out
}

/// The batch script of one array: the engine-neutral job body, no cargo.
pub fn script(bin: &Path, manifest: &Path, experiment: &str) -> String {
    format!(
        "#!/bin/sh\n\
         # {experiment}: one (method, seed) job per array task, written by\n\
         # `cargo xtask reproduce {experiment} --backend slurm`. Threads follow\n\
         # SLURM_CPUS_PER_TASK; a task whose fingerprint went stale refuses to run.\n\
         exec {} run-job --manifest {} --index \"$SLURM_ARRAY_TASK_ID\"\n",
        shell_quote(&bin.display().to_string()),
        shell_quote(&manifest.display().to_string())
    )
}

/// The `sbatch` arguments of one array (ours first, the user's after them,
/// so theirs win), the script path last.
pub fn sbatch_args(
    plan: &Plan,
    r: &Resources,
    n: usize,
    logs: &Path,
    root: &Path,
    s: &Settings,
    script: &Path,
) -> Vec<String> {
    let mut a = vec![
        "--parsable".to_string(),
        format!("--job-name={}", plan.loaded.exp.id),
        format!("--array={}", array_spec(n, s.max_running)),
        format!("--output={}", logs.join("%A_%a.out").display()),
        format!("--chdir={}", root.display()),
        "--ntasks=1".into(),
    ];
    a.extend(options(r).into_iter().map(|(k, v)| format!("--{k}={v}")));
    a.extend(s.sbatch_args.iter().cloned());
    a.push(script.display().to_string());
    a
}

/// Where the backend keeps its files for an experiment folder.
pub fn slurm_dir(out: &Path) -> PathBuf {
    out.join("slurm")
}

fn submissions_path(out: &Path) -> PathBuf {
    slurm_dir(out).join("submissions.json")
}

/// Arrays submitted earlier for this folder.
pub fn submissions(out: &Path) -> Result<Vec<Submission>> {
    let p = submissions_path(out);
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b).with_context(|| format!("{}: unreadable", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
    }
}

fn run_capture(cmd: &mut Command, what: &str) -> Result<String> {
    let o = cmd
        .output()
        .with_context(|| format!("cannot run `{what}` (is this a Slurm login node?)"))?;
    if !o.status.success() {
        // The last line says most (Slurm prints its fatal error last).
        let err = String::from_utf8_lossy(&o.stderr);
        let last = err.lines().rev().find(|l| !l.trim().is_empty());
        bail!(
            "`{what}` failed ({}): {}",
            o.status,
            last.unwrap_or("no message").trim()
        );
    }
    Ok(String::from_utf8_lossy(&o.stdout).into_owned())
}

/// This user's tasks still in the queue (pending, running, completing,
/// requeued...), from `squeue --me`.
pub fn queue(c: &Commands) -> Result<Vec<Queued>> {
    let out = run_capture(
        Command::new(&c.squeue).args(["--me", "-h", "-r", "-o", "%F|%K|%T"]),
        "squeue",
    )?;
    Ok(parse_squeue(&out))
}

/// The cluster's `MaxArraySize`.
pub fn max_array_size(c: &Commands) -> Result<usize> {
    let out = run_capture(
        Command::new(&c.scontrol).args(["show", "config"]),
        "scontrol show config",
    )?;
    parse_max_array_size(&out).context("`scontrol show config` names no MaxArraySize")
}

/// Which of the folder's earlier array tasks are still queued, as
/// (method, seed, fingerprint) -> "jobid_task".
fn active_entries(
    out: &Path,
    queued: &[Queued],
) -> Result<BTreeMap<(String, u64, String), String>> {
    let mut active = BTreeMap::new();
    for sub in submissions(out)? {
        let tasks: Vec<&Queued> = queued.iter().filter(|q| q.job_id == sub.job_id).collect();
        if tasks.is_empty() {
            continue;
        }
        let Ok(m) = Manifest::read(&sub.manifest) else {
            continue;
        };
        for q in tasks {
            // A pending array shown unexpanded counts for all its tasks.
            let idx: Vec<usize> = match q.task {
                Some(t) => vec![t],
                None => (0..m.jobs.len()).collect(),
            };
            for i in idx {
                if let Some(e) = m.jobs.get(i) {
                    active.insert(
                        (e.method.clone(), e.seed, e.fingerprint.clone()),
                        format!("{}_{i}", sub.job_id),
                    );
                }
            }
        }
    }
    Ok(active)
}

/// Copies `bin` into `dir` under a name holding its content digest (written
/// once, atomically; never over a binary that running tasks use).
pub fn publish_binary(bin: &Path, dir: &Path) -> Result<PathBuf> {
    let bytes = std::fs::read(bin).with_context(|| format!("cannot read {}", bin.display()))?;
    let digest = crate::store::hex16(blake3::hash(&bytes).as_bytes());
    let stem = bin
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "xtask".into());
    let dest = dir.join(format!("{stem}-{}", &digest[..16]));
    if !dest.exists() {
        write_atomic(&dest, &bytes)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))?;
        }
    }
    Ok(dest)
}

/// What [`submit`] left to do.
#[derive(Debug)]
pub enum Submitted {
    /// Every job has a valid record: write the report.
    Complete(Box<crate::runner::Outcome>),
    /// Jobs are queued (or `--dry-run`); nothing to report yet.
    Pending,
}

/// `reproduce --backend slurm`: submits the plan's jobs that have no valid
/// record and are not queued already; with `--wait`, polls until the queue
/// holds none of them and collects the records.
pub fn submit(plan: Plan, opts: &crate::plan::Options, s: &Settings) -> Result<Submitted> {
    s.check(&plan)?;
    let id = plan.loaded.exp.id.clone();
    if plan.unavailable.is_some() {
        return Ok(Submitted::Complete(Box::new(crate::runner::outcome_of(
            plan,
            Vec::new(),
            0,
        ))));
    }
    // Absolute, symlinks kept: the path as the user sees the shared
    // filesystem, which the nodes mount the same way.
    let root = std::path::absolute(crate::workspace_root())?;
    if !s.dry_run {
        plan.store.check_writable()?;
    }
    let out = std::path::absolute(&plan.out)?;
    let _lock = if s.dry_run {
        None
    } else {
        Some(plan.store.lock()?)
    };
    let (done, todo, rejected) = crate::runner::scan(&plan)?;
    let reused = done.len();
    for (job, why) in &rejected {
        eprintln!(
            "{id}: {}: rejected, resubmitting: {why}",
            plan.store.record_path(job).display()
        );
    }
    let queued = match queue(&s.commands) {
        Ok(q) => q,
        Err(e) if s.dry_run => {
            eprintln!("{id}: {e:#}; assuming nothing is queued");
            Vec::new()
        }
        Err(e) => return Err(e),
    };
    let active = active_entries(&out, &queued)?;
    let (waiting, fresh): (Vec<Job>, Vec<Job>) = todo.iter().cloned().partition(|j| {
        active.contains_key(&(j.method_name.clone(), j.seed, j.fingerprint.clone()))
    });
    println!(
        "{id}: {} of {} runs have a valid record, {} queued or running, {} to submit",
        done.len(),
        plan.jobs.len(),
        waiting.len(),
        fresh.len()
    );
    if todo.is_empty() {
        let n = done.len();
        return Ok(Submitted::Complete(Box::new(crate::runner::outcome_of(
            plan, done, n,
        ))));
    }
    let mut ids: BTreeSet<String> = waiting
        .iter()
        .filter_map(|j| active.get(&(j.method_name.clone(), j.seed, j.fingerprint.clone())))
        .map(|t| t.split('_').next().unwrap_or(t).to_string())
        .collect();
    if !fresh.is_empty() {
        let max = match max_array_size(&s.commands) {
            Ok(m) => m,
            Err(e) if s.dry_run => {
                eprintln!("{id}: {e:#}; assuming MaxArraySize = {DEFAULT_MAX_ARRAY_SIZE}");
                DEFAULT_MAX_ARRAY_SIZE
            }
            Err(e) => return Err(e),
        };
        let with_res: Vec<(Job, Resources)> = fresh
            .into_iter()
            .map(|j| {
                let r = s.resources(&plan, j.method);
                (j, r)
            })
            .collect();
        let dir = slurm_dir(&out);
        let logs = dir.join("logs");
        let shared = shared_dir(s, &root);
        let bin = if s.dry_run {
            shared.join(format!(
                "{}-<digest>",
                s.bin.file_stem().unwrap_or_default().to_string_lossy()
            ))
        } else {
            std::fs::create_dir_all(&logs)?;
            publish_binary(&s.bin, &shared)?
        };
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0);
        let mut subs = submissions(&out)?;
        for (k, (r, jobs)) in arrays(with_res, max).into_iter().enumerate() {
            let manifest = Manifest {
                format: MANIFEST_FORMAT,
                experiment: id.clone(),
                profile: plan.profile.clone(),
                budget: plan.budget,
                out: out.clone(),
                root: root.clone(),
                device: opts.device.clone(),
                jobs: jobs
                    .iter()
                    .map(|j| Entry {
                        method: j.method_name.clone(),
                        seed: j.seed,
                        fingerprint: j.fingerprint.clone(),
                    })
                    .collect(),
            };
            let mpath = dir.join(format!("manifest-{stamp}-{k}.json"));
            let spath = dir.join(format!("array-{stamp}-{k}.sh"));
            let args = sbatch_args(&plan, &r, jobs.len(), &logs, &root, s, &spath);
            if s.dry_run {
                println!(
                    "{id}: would write {} ({} entries: {})",
                    mpath.display(),
                    jobs.len(),
                    jobs.iter()
                        .map(|j| format!("{} s{}", j.method_name, j.seed))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                println!("{id}: would write {}:", spath.display());
                print!("{}", script(&bin, &mpath, &id));
                println!(
                    "{id}: would run: {} {}",
                    s.commands.sbatch.display(),
                    args.iter()
                        .map(|a| shell_quote(a))
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                continue;
            }
            write_atomic(&mpath, &serde_json::to_vec_pretty(&manifest)?)?;
            write_atomic(&spath, script(&bin, &mpath, &id).as_bytes())?;
            let got = run_capture(Command::new(&s.commands.sbatch).args(&args), "sbatch")?;
            let job_id = got.trim().split(';').next().unwrap_or_default().to_string();
            if job_id.is_empty() || !job_id.bytes().all(|b| b.is_ascii_digit()) {
                bail!("sbatch gave no job id (it printed `{}`)", got.trim());
            }
            println!(
                "{id}: submitted {} task(s) as array {job_id} ({}; logs in {})",
                jobs.len(),
                describe(&r),
                logs.display()
            );
            subs.push(Submission {
                job_id: job_id.clone(),
                manifest: mpath,
            });
            write_atomic(&submissions_path(&out), &serde_json::to_vec_pretty(&subs)?)?;
            ids.insert(job_id);
        }
    }
    if let (Some(cmd), false) = (&s.report_job, ids.is_empty() || s.dry_run) {
        submit_report_job(&id, cmd, &ids, &out, &root, s)?;
    }
    if s.dry_run {
        return Ok(Submitted::Pending);
    }
    if !s.wait {
        println!(
            "{id}: when the arrays are done, the same command (or with --wait) writes the report; arrays: {}",
            ids.iter().cloned().collect::<Vec<_>>().join(", ")
        );
        return Ok(Submitted::Pending);
    }
    wait_for(&plan, &ids, s)?;
    let (done, todo, rejected) = crate::runner::scan(&plan)?;
    if !todo.is_empty() {
        let mut why: Vec<String> = todo
            .iter()
            .map(|j| format!("{} seed {}", j.method_name, j.seed))
            .collect();
        why.extend(
            rejected
                .iter()
                .map(|(j, w)| format!("{}: {w}", plan.store.record_path(j).display())),
        );
        bail!(
            "{id}: {} of {} runs ended without a valid record (failed, cancelled, timed out or out of memory; logs in {}):\n  {}\nRerun the same command to submit only these.",
            todo.len(),
            plan.jobs.len(),
            slurm_dir(&out).join("logs").display(),
            why.join("\n  ")
        );
    }
    Ok(Submitted::Complete(Box::new(crate::runner::outcome_of(
        plan, done, reused,
    ))))
}

/// Where the binary's copy goes.
fn shared_dir(s: &Settings, root: &Path) -> PathBuf {
    s.shared_dir
        .clone()
        .unwrap_or_else(|| root.join("target").join("slurm").join("bin"))
}

/// `--report-job`: one job, after every array of `ids` ended (whatever
/// their exit), runs the binary's `reproduce ... --backend slurm`: with every
/// record in it writes the report, otherwise it submits the missing runs.
fn submit_report_job(
    id: &str,
    cmd: &[String],
    ids: &BTreeSet<String>,
    out: &Path,
    root: &Path,
    s: &Settings,
) -> Result<()> {
    let bin = publish_binary(&s.bin, &shared_dir(s, root))?;
    let mut words = vec![bin.display().to_string()];
    words.extend(cmd.iter().cloned());
    words.extend(["--out".into(), out.display().to_string()]);
    let wrap: Vec<String> = words.iter().map(|w| shell_quote(w)).collect();
    let mut a = vec![
        "--parsable".to_string(),
        format!("--job-name={id}-report"),
        format!(
            "--dependency=afterany:{}",
            ids.iter().cloned().collect::<Vec<_>>().join(":")
        ),
        format!("--chdir={}", root.display()),
        format!(
            "--output={}",
            slurm_dir(out).join("logs").join("report-%j.out").display()
        ),
        "--ntasks=1".into(),
    ];
    a.extend(s.sbatch_args.iter().cloned());
    a.extend(["--wrap".into(), wrap.join(" ")]);
    let got = run_capture(Command::new(&s.commands.sbatch).args(&a), "sbatch")?;
    println!(
        "{id}: report job {} writes the report once the arrays end",
        got.trim().split(';').next().unwrap_or_default()
    );
    Ok(())
}

/// A request as sbatch options (name, value).
fn options(r: &Resources) -> Vec<(&'static str, String)> {
    let mut v = Vec::new();
    if let Some(c) = r.cpus {
        v.push(("cpus-per-task", c.to_string()));
    }
    for (k, x) in [("time", &r.time), ("mem", &r.mem), ("gres", &r.gres)] {
        if let Some(x) = x {
            v.push((k, x.clone()));
        }
    }
    v
}

fn describe(r: &Resources) -> String {
    let o: Vec<String> = options(r).iter().map(|(k, v)| format!("{k} {v}")).collect();
    o.join(", ")
}

/// Polls `squeue` until none of the arrays `ids` has a task left, printing
/// progress as records appear.
fn wait_for(plan: &Plan, ids: &BTreeSet<String>, s: &Settings) -> Result<()> {
    let id = &plan.loaded.exp.id;
    let t0 = Instant::now();
    let mut last = (usize::MAX, usize::MAX);
    let mut failures = 0;
    loop {
        // A busy controller may fail a poll: retry for a while.
        let q = match queue(&s.commands) {
            Ok(q) => {
                failures = 0;
                q
            }
            Err(e) if failures < 30 => {
                failures += 1;
                if failures == 1 {
                    eprintln!("{id}: {e:#}; retrying");
                }
                std::thread::sleep(s.poll.max(Duration::from_secs(1)));
                continue;
            }
            Err(e) => return Err(e),
        };
        let left = q.iter().filter(|t| ids.contains(&t.job_id)).count();
        let present = plan
            .jobs
            .iter()
            .filter(|j| plan.store.record_path(j).exists())
            .count();
        if (present, left) != last {
            println!(
                "{id}: {present}/{} records, {left} task(s) queued or running ({:.0} s)",
                plan.jobs.len(),
                t0.elapsed().as_secs_f64()
            );
            last = (present, left);
        }
        if left == 0 {
            return Ok(());
        }
        std::thread::sleep(s.poll);
    }
}

/// `reproduce`'s backend options (both binaries; forwarded to xtask-torch).
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ClusterArgs {
    /// Where the jobs run: `local` (this machine's cores) or `slurm` (one
    /// array job per resource request, submitted with sbatch from a login
    /// node; see README "Running on a cluster").
    #[arg(long, default_value = "local", value_parser = ["local", "slurm"])]
    pub backend: String,
    /// An extra sbatch argument, passed through as is, after ours (so it
    /// wins); repeat for more: `--sbatch-arg=--partition=long`.
    #[arg(long = "sbatch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub sbatch_arg: Vec<String>,
    /// Print the manifests, scripts and sbatch commands; submit nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Poll squeue until the submitted arrays are done, then write the report.
    #[arg(long, conflicts_with = "report_job")]
    pub wait: bool,
    /// Also submit a job that runs after the arrays and writes the report
    /// (instead of --wait).
    #[arg(long)]
    pub report_job: bool,
    /// Wall-clock limit per run, for every method or one (`TuRBO=2:00:00`);
    /// overrides the config's `resources.time`. Repeatable.
    #[arg(long, value_name = "[METHOD=]TIME")]
    pub time: Vec<String>,
    /// CPUs per run (its thread count), for every method or one
    /// (`TuRBO=2`); overrides the config's `resources.cpus` (default 1).
    #[arg(long, value_name = "[METHOD=]N")]
    pub cpus: Vec<String>,
    /// At most N tasks of an array run at once (sbatch's `--array=...%N`).
    #[arg(long, value_name = "N")]
    pub max_running: Option<u32>,
    /// Shared folder for the binary the tasks run (default
    /// <checkout>/target/slurm/bin; must be visible from every node).
    #[arg(long, value_name = "DIR")]
    pub shared_dir: Option<PathBuf>,
    /// Seconds between two squeue polls of --wait.
    #[arg(long, value_name = "SECONDS", default_value_t = 2.0)]
    pub poll: f64,
}

impl ClusterArgs {
    pub fn is_slurm(&self) -> bool {
        self.backend == "slurm"
    }

    /// Options of the Slurm backend need `--backend slurm`.
    pub fn validate(&self) -> Result<()> {
        if !self.is_slurm() {
            let given = [
                ("--sbatch-arg", !self.sbatch_arg.is_empty()),
                ("--dry-run", self.dry_run),
                ("--wait", self.wait),
                ("--report-job", self.report_job),
                ("--time", !self.time.is_empty()),
                ("--cpus", !self.cpus.is_empty()),
                ("--max-running", self.max_running.is_some()),
                ("--shared-dir", self.shared_dir.is_some()),
            ];
            if let Some((name, _)) = given.iter().find(|(_, g)| *g) {
                bail!("{name} applies to a cluster backend: add --backend slurm");
            }
        }
        if !(self.poll.is_finite() && self.poll > 0.0) {
            bail!("--poll {}: give a positive number of seconds", self.poll);
        }
        self.settings().map(|_| ())
    }

    /// The backend's settings; the tasks run a copy of this binary.
    pub fn settings(&self) -> Result<Settings> {
        let mut cpus = Vec::new();
        for c in &self.cpus {
            let (m, v) = parse_per_method(c);
            let n: u32 = v
                .parse()
                .map_err(|_| anyhow::anyhow!("--cpus `{c}`: `{v}` is not a CPU count"))?;
            cpus.push((m, n));
        }
        Ok(Settings {
            sbatch_args: self.sbatch_arg.clone(),
            dry_run: self.dry_run,
            wait: self.wait,
            report_job: None,
            max_running: self.max_running,
            time: self.time.iter().map(|t| parse_per_method(t)).collect(),
            cpus,
            bin: std::env::current_exe()?,
            shared_dir: self.shared_dir.clone(),
            poll: Duration::from_secs_f64(self.poll),
            commands: Commands::default(),
        })
    }

    /// The same options on another binary's command line.
    pub fn forward(&self) -> Vec<String> {
        let mut v = vec!["--backend".to_string(), self.backend.clone()];
        for a in &self.sbatch_arg {
            v.push(format!("--sbatch-arg={a}"));
        }
        for (flag, on) in [
            ("--dry-run", self.dry_run),
            ("--wait", self.wait),
            ("--report-job", self.report_job),
        ] {
            if on {
                v.push(flag.into());
            }
        }
        for t in &self.time {
            v.extend(["--time".into(), t.clone()]);
        }
        for c in &self.cpus {
            v.extend(["--cpus".into(), c.clone()]);
        }
        if let Some(n) = self.max_running {
            v.extend(["--max-running".into(), n.to_string()]);
        }
        if let Some(d) = &self.shared_dir {
            v.extend(["--shared-dir".into(), d.display().to_string()]);
        }
        v.extend(["--poll".into(), self.poll.to_string()]);
        v
    }
}

/// A local `reproduce` of a folder whose Slurm tasks are still queued or
/// running would run their jobs twice: it stops, naming the arrays. (Where
/// `squeue` is not at hand, e.g. a copy of the folder elsewhere, it goes on.)
pub fn refuse_if_queued(plan: &Plan, commands: &Commands) -> Result<()> {
    if submissions(&plan.out)?.is_empty() {
        return Ok(());
    }
    let Ok(q) = queue(commands) else {
        return Ok(());
    };
    let out = std::path::absolute(&plan.out)?;
    let active = active_entries(&out, &q)?;
    if !active.is_empty() {
        let arrays: BTreeSet<&str> = active
            .values()
            .map(|t| t.split('_').next().unwrap_or(t))
            .collect();
        bail!(
            "{}: {} run(s) of {} are queued or running on Slurm (arrays {}): wait for them (`--backend slurm --wait`) or scancel them before running locally",
            plan.loaded.exp.id,
            active.len(),
            plan.out.display(),
            arrays.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_scontrol_and_squeue() {
        let cfg = "Configuration data as of 2026-12-06T17:00:00\nMailProg                = /bin/true\nMaxArraySize            = 1001\nMaxJobCount             = 10000\n";
        assert_eq!(parse_max_array_size(cfg), Some(1001));
        assert_eq!(parse_max_array_size("MaxJobCount = 3\n"), None);
        let q = parse_squeue("12|0|RUNNING\n12|3|PENDING\n13|N/A|PENDING\n\n");
        assert_eq!(q.len(), 3);
        assert_eq!(q[1].task, Some(3));
        assert_eq!(q[2].task, None);
        assert_eq!(q[0].state, "RUNNING");
    }

    #[test]
    fn arrays_are_grouped_by_request_and_chunked_below_max_array_size() {
        let job = |m: usize, seed: u64| Job {
            experiment: "e".into(),
            method: m,
            method_name: format!("m{m}"),
            seed,
            budget: 1,
            fingerprint: String::new(),
            stem: String::new(),
            curve_len: None,
        };
        let small = Resources {
            cpus: Some(1),
            ..Default::default()
        };
        let big = Resources {
            cpus: Some(4),
            ..Default::default()
        };
        let mut jobs = Vec::new();
        for seed in 0..5 {
            jobs.push((job(0, seed), small.clone()));
            jobs.push((job(1, seed), big.clone()));
        }
        let a = arrays(jobs, 2);
        let sizes: Vec<(u32, usize)> = a.iter().map(|(r, j)| (r.cpus.unwrap(), j.len())).collect();
        assert_eq!(sizes, [(1, 2), (1, 2), (1, 1), (4, 2), (4, 2), (4, 1)]);
        assert_eq!(array_spec(5, Some(2)), "0-4%2");
        assert_eq!(array_spec(1, None), "0");
    }

    #[test]
    fn times_and_per_method_values_are_checked() {
        for ok in ["90", "2:00:00", "1-12:00:00", "1-12", "30:00"] {
            check_time(ok).unwrap();
        }
        for bad in ["", "2h", "1:2:3:4", "-1", "1-"] {
            assert!(check_time(bad).is_err(), "{bad}");
        }
        let bad = Resources {
            time: Some("2 hours".into()),
            ..Default::default()
        };
        assert!(format!("{:#}", check_resources(&bad).unwrap_err()).contains("not a Slurm time"));
        let zero = Resources {
            cpus: Some(0),
            ..Default::default()
        };
        assert!(check_resources(&zero).is_err());
        assert_eq!(parse_per_method("2:00:00"), (None, "2:00:00".into()));
        assert_eq!(
            parse_per_method("TuRBO=1:00:00"),
            (Some("TuRBO".into()), "1:00:00".into())
        );
    }

    #[test]
    fn the_script_runs_the_manifest_entry_and_nothing_else() {
        let s = script(
            Path::new("/shared/bin/xtask-ab"),
            Path::new("/r/it's/m.json"),
            "e",
        );
        assert!(s.starts_with("#!/bin/sh\n"));
        assert!(s.contains(
            "exec /shared/bin/xtask-ab run-job --manifest '/r/it'\\''s/m.json' --index \"$SLURM_ARRAY_TASK_ID\""
        ));
        // Tasks never call cargo (the comment may name the command).
        assert!(s
            .lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| !l.contains("cargo")));
    }
}
