//! What the `xtask` and `xtask-torch` binaries share: the `reproduce`
//! options (one clap struct, so the two binaries cannot drift apart), running
//! one experiment with its report, and the `ci`-profile summary the snapshot
//! tests of both compare.

use crate::config::Loaded;
use crate::drivers::Registry;
use crate::{report, runner};
use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};

/// Options of `reproduce` (both binaries).
#[derive(Args, Clone, Debug)]
pub struct ReproduceArgs {
    /// Experiment id (see `cargo xtask list`); `all` runs every one.
    pub id: String,
    /// Budgets and seeds: `full` (the paper's), `ci` (minutes at most), or
    /// another the config names; without it, the config's
    /// `default_profile` (else `full`).
    #[arg(long, default_value = "default")]
    pub profile: String,
    /// Run seeds 0..N instead of the profile's count.
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Run only these seeds (e.g. `--seed 3`, `--seed 0,2`); not with --seeds.
    #[arg(long = "seed", value_delimiter = ',')]
    pub seed_list: Option<Vec<u64>>,
    /// Override the profile's budget (default output then goes to
    /// results/<id>/<profile>-budget<N>, never over the committed results).
    #[arg(long)]
    pub budget: Option<usize>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub jobs: Option<u64>,
    /// Output folder (default results/<id>, or results/<id>/<profile>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only these methods (comma-separated names as in the config);
    /// the report then covers only them. Their records are reused by a
    /// later run of every method.
    #[arg(long, value_delimiter = ',')]
    pub methods: Option<Vec<String>>,
    /// Exit non-zero when a claim deviates or no claim could be checked.
    #[arg(long)]
    pub strict: bool,
    /// Where networks train: `cpu` or `cuda` (overrides the config's
    /// `device`; only experiments that train networks use it).
    #[arg(long)]
    pub device: Option<String>,
    /// Where the jobs run, and the cluster's options.
    #[command(flatten)]
    pub cluster: crate::backend::slurm::ClusterArgs,
}

impl ReproduceArgs {
    /// Checks the option values that clap cannot.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = &self.device {
            if !["cpu", "cuda"].contains(&d.as_str()) {
                anyhow::bail!("--device: unknown value `{d}`; valid choices: cpu, cuda");
            }
        }
        if self.strict && self.cluster.is_slurm() && !self.cluster.wait && !self.cluster.dry_run {
            anyhow::bail!("--strict judges the report, which a Slurm submission writes only with --wait (or on a later run once every record is in)");
        }
        self.cluster.validate()
    }

    /// The command line that hands experiment `id` (writing to `out`) to
    /// another binary with the same options.
    pub fn forward(&self, id: &str, out: Option<&Path>) -> Vec<String> {
        let mut args = vec!["reproduce".to_string(), id.to_string()];
        args.extend(["--profile".into(), self.profile.clone()]);
        let mut opt = |name: &str, v: Option<String>| {
            if let Some(v) = v {
                args.extend([format!("--{name}"), v]);
            }
        };
        opt("seeds", self.seeds.map(|s| s.to_string()));
        opt(
            "seed",
            self.seed_list.as_ref().map(|v| {
                v.iter()
                    .map(|s| s.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            }),
        );
        opt("budget", self.budget.map(|s| s.to_string()));
        opt("jobs", self.jobs.map(|s| s.to_string()));
        opt("out", out.map(|o| o.display().to_string()));
        opt("device", self.device.clone());
        opt("methods", self.methods.as_ref().map(|m| m.join(",")));
        if self.strict {
            args.push("--strict".into());
        }
        args.extend(self.cluster.forward());
        args
    }

    /// The runner's options for an experiment written to `out`, with the
    /// drivers of the calling binary.
    pub fn runner_options(&self, out: Option<PathBuf>, drivers: &Registry) -> runner::Options {
        runner::Options {
            profile: self.profile.clone(),
            seeds: self.seeds,
            seed_list: self.seed_list.clone(),
            budget: self.budget,
            jobs: self.jobs.map(|j| j as usize),
            out,
            methods: self.methods.clone(),
            progress: true,
            drivers: drivers.clone(),
            device: self.device.clone(),
        }
    }
}

/// Options of `run-job` (both binaries): one (method, seed) of an
/// experiment, its record written, no report and no folder lock (what a
/// cluster job runs): named on the command line, or entry `--index` of a
/// manifest written by `reproduce --backend slurm`.
#[derive(Args, Clone, Debug)]
pub struct RunJobArgs {
    /// Experiment id.
    #[arg(required_unless_present = "manifest", conflicts_with = "manifest")]
    pub id: Option<String>,
    /// The method's name, as in the config.
    #[arg(
        long,
        required_unless_present = "manifest",
        conflicts_with = "manifest"
    )]
    pub method: Option<String>,
    #[arg(
        long,
        required_unless_present = "manifest",
        conflicts_with = "manifest"
    )]
    pub seed: Option<u64>,
    #[arg(long, default_value = "full", conflicts_with = "manifest")]
    pub profile: String,
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..), conflicts_with = "manifest")]
    pub budget: Option<u64>,
    #[arg(long, conflicts_with = "manifest")]
    pub out: Option<PathBuf>,
    /// Where networks train: `cpu` or `cuda` (libtorch experiments only).
    #[arg(long, conflicts_with = "manifest")]
    pub device: Option<String>,
    /// Rerun even if a valid record exists.
    #[arg(long, conflicts_with = "manifest")]
    pub force: bool,
    /// Run entry `--index` of this manifest (written by `reproduce
    /// --backend slurm`); refuses an entry whose fingerprint went stale.
    /// Threads follow `SLURM_CPUS_PER_TASK` when set.
    #[arg(long, requires = "index")]
    pub manifest: Option<PathBuf>,
    /// The manifest entry (an array task's `$SLURM_ARRAY_TASK_ID`).
    #[arg(long, requires = "manifest")]
    pub index: Option<usize>,
}

impl RunJobArgs {
    /// The config of a job named on the command line whose driver trains
    /// networks (the caller hands it to the libtorch binary); None for a
    /// manifest entry or a job this binary runs.
    pub fn torch_config(&self, root: &Path) -> Result<Option<Loaded>> {
        match (&self.id, &self.manifest) {
            (Some(id), None) => {
                let l = crate::config::find(root, id)?;
                Ok(crate::drivers::needs_torch(&l).then_some(l))
            }
            _ => Ok(None),
        }
    }

    /// Runs the job in this process with `drivers` and prints what happened.
    pub fn run(&self, root: &Path, drivers: &Registry) -> Result<()> {
        let (rec, ran) = match (&self.manifest, self.index) {
            (Some(m), Some(i)) => {
                let threads = crate::backend::slurm::threads_from_env();
                let manifest = crate::backend::slurm::Manifest::read(m)?;
                eprintln!(
                    "run-job: {} entry {i} of {}{}",
                    manifest.experiment,
                    m.display(),
                    threads
                        .map(|n| format!(", {n} threads"))
                        .unwrap_or_default()
                );
                crate::backend::slurm::run_manifest_entry(&manifest, i, drivers)?
            }
            _ => {
                let id = self.id.as_deref().unwrap_or_default();
                let loaded = crate::config::find(root, id)?;
                let opts = runner::Options {
                    profile: self.profile.clone(),
                    seed_list: self.seed.map(|s| vec![s]),
                    budget: self.budget.map(|b| b as usize),
                    out: self.out.clone(),
                    methods: self.method.clone().map(|m| vec![m]),
                    progress: false,
                    drivers: drivers.clone(),
                    device: self.device.clone(),
                    ..Default::default()
                };
                runner::run_one(root, loaded, &opts, self.force)?
            }
        };
        println!(
            "{}: {} seed {}: {} ({} curve points)",
            rec.experiment,
            rec.method,
            rec.seed,
            if ran {
                "ran"
            } else {
                "valid record kept (--force reruns)"
            },
            rec.curve.len()
        );
        Ok(())
    }

    /// The same command line for the other binary.
    pub fn forward(&self) -> Vec<String> {
        let mut v = vec!["run-job".to_string()];
        if let (Some(m), Some(i)) = (&self.manifest, self.index) {
            v.extend([
                "--manifest".into(),
                m.display().to_string(),
                "--index".into(),
                i.to_string(),
            ]);
            return v;
        }
        v.extend([
            self.id.clone().unwrap_or_default(),
            "--method".into(),
            self.method.clone().unwrap_or_default(),
            "--seed".into(),
            self.seed.unwrap_or_default().to_string(),
            "--profile".into(),
            self.profile.clone(),
        ]);
        if let Some(b) = self.budget {
            v.extend(["--budget".into(), b.to_string()]);
        }
        if let Some(o) = &self.out {
            v.extend(["--out".into(), o.display().to_string()]);
        }
        if let Some(d) = &self.device {
            v.extend(["--device".into(), d.clone()]);
        }
        if self.force {
            v.push("--force".into());
        }
        v
    }
}

/// A string as one POSIX shell word (single-quoted unless plainly safe).
pub fn shell_quote(s: &str) -> String {
    let plain = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,%+@".contains(&b));
    if plain {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// How an experiment's claims came out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClaimCounts {
    pub deviates: usize,
    /// Claims with a verdict (holds or deviates).
    pub checked: usize,
}

impl std::ops::AddAssign for ClaimCounts {
    fn add_assign(&mut self, o: Self) {
        self.deviates += o.deviates;
        self.checked += o.checked;
    }
}

impl ClaimCounts {
    /// `--strict`: fails when a claim deviates or none could be checked.
    pub fn strict(self) -> Result<()> {
        if self.deviates > 0 {
            anyhow::bail!("{} claim(s) deviate", self.deviates);
        }
        if self.checked == 0 {
            anyhow::bail!("--strict: no claim could be checked (see the reasons above)");
        }
        Ok(())
    }
}

/// Runs one experiment in this process, writes and prints its report, and
/// returns how its claims came out.
pub fn reproduce_and_report(
    root: &Path,
    loaded: Loaded,
    args: &ReproduceArgs,
    out: Option<PathBuf>,
    drivers: &Registry,
) -> Result<ClaimCounts> {
    let opts = args.runner_options(out, drivers);
    let plan = crate::plan::plan(root, loaded, &opts)?;
    let outcome = if args.cluster.is_slurm() {
        let mut settings = args.cluster.settings()?;
        if args.cluster.report_job {
            // The report job's command: the same run, no waiting, no judging.
            let mut again = args.clone();
            again.cluster.report_job = false;
            again.strict = false;
            settings.report_job = Some(again.forward(&plan.loaded.exp.id, None));
        }
        match crate::backend::slurm::submit(plan, &opts, &settings)? {
            crate::backend::slurm::Submitted::Complete(o) => *o,
            crate::backend::slurm::Submitted::Pending => {
                // Nothing to judge yet (`--strict` needs `--wait`).
                return Ok(ClaimCounts::default());
            }
        }
    } else {
        crate::backend::slurm::refuse_if_queued(&plan, &Default::default())?;
        let local = crate::backend::Local { threads: opts.jobs };
        runner::execute(plan, &local, &opts)?
    };
    let (rep, files) = report::write(&outcome)?;
    print!("{}", report::console(&outcome, &rep));
    for f in files {
        println!("  wrote {}", f.strip_prefix(root).unwrap_or(&f).display());
    }
    let mut c = ClaimCounts::default();
    for claim in &rep.claims {
        match claim.verdict {
            report::Verdict::Deviates { .. } => {
                c.deviates += 1;
                c.checked += 1;
            }
            report::Verdict::Holds { .. } | report::Verdict::Inconclusive { .. } => c.checked += 1,
            _ => {}
        }
    }
    Ok(c)
}

/// A fresh temporary output folder for a test run (`tag` keeps parallel
/// tests apart): a snapshot must never come from resumed records.
pub fn fresh_test_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spacepart-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// What the tests run with: the `ci` profile into `out`, one job, no
/// progress bar; a test sets what else it needs with `..test_options(out)`.
pub fn test_options(out: &Path) -> runner::Options {
    runner::Options {
        profile: "ci".into(),
        out: Some(out.to_path_buf()),
        progress: false,
        jobs: Some(1),
        ..Default::default()
    }
}

/// The markdown summary of an experiment's `ci` profile (optionally with
/// other seeds / budget / threads), run from scratch in a temporary folder;
/// what the snapshot tests compare. Panics with the experiment's id on
/// failure.
pub fn ci_summary(
    root: &Path,
    loaded: Loaded,
    seeds: Option<u64>,
    budget: Option<usize>,
    jobs: Option<usize>,
) -> String {
    ci_summary_with(&Registry::builtin(), root, loaded, seeds, budget, jobs)
}

/// [`ci_summary`] with another binary's drivers (xtask-torch's tests).
pub fn ci_summary_with(
    drivers: &Registry,
    root: &Path,
    loaded: Loaded,
    seeds: Option<u64>,
    budget: Option<usize>,
    jobs: Option<usize>,
) -> String {
    let id = loaded.exp.id.clone();
    let out = fresh_test_dir(&format!("{id}-{}", jobs.unwrap_or(0)));
    let opts = runner::Options {
        profile: "ci".into(),
        seeds,
        jobs,
        out: Some(out.clone()),
        progress: false,
        budget,
        drivers: drivers.clone(),
        ..Default::default()
    };
    let outcome = runner::reproduce(root, loaded, &opts).unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let (rep, _) = report::write(&outcome).unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let md = report::markdown(&outcome, &rep);
    let _ = std::fs::remove_dir_all(out);
    md
}
