//! What the `xtask` and `xtask-torch` binaries share: the `reproduce`
//! options (one clap struct, so the two binaries cannot drift apart), running
//! one experiment with its report, and the `ci`-profile summary the snapshot
//! tests of both compare.

use crate::config::Loaded;
use crate::{report, runner};
use anyhow::Result;
use clap::Args;
use std::path::{Path, PathBuf};

/// Options of `reproduce` (both binaries).
#[derive(Args, Clone, Debug)]
pub struct ReproduceArgs {
    /// Experiment id (see `cargo xtask list`); `all` runs every one.
    pub id: String,
    /// Budget and seeds: `full` (the paper's) or `ci` (minutes at most).
    #[arg(long, default_value = "full")]
    pub profile: String,
    /// Override the profile's number of seeds.
    #[arg(long)]
    pub seeds: Option<u64>,
    /// Override the profile's budget (default output then goes to
    /// results/<id>/<profile>-budget<N>, never over the committed results).
    #[arg(long)]
    pub budget: Option<usize>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Output folder (default results/<id>, or results/<id>/<profile>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Run only these methods (comma-separated names as in the config);
    /// the report then covers only them. Their records are reused by a
    /// later run of every method.
    #[arg(long, value_delimiter = ',')]
    pub methods: Option<Vec<String>>,
    /// Exit non-zero when a claim deviates.
    #[arg(long)]
    pub strict: bool,
    /// Where networks train: `cpu` or `cuda` (overrides the config's
    /// `device`; only experiments that train networks use it).
    #[arg(long)]
    pub device: Option<String>,
}

impl ReproduceArgs {
    /// Checks the option values that clap cannot.
    pub fn validate(&self) -> Result<()> {
        if let Some(d) = &self.device {
            if !["cpu", "cuda"].contains(&d.as_str()) {
                anyhow::bail!("--device: unknown value `{d}`; valid choices: cpu, cuda");
            }
        }
        Ok(())
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
        opt("budget", self.budget.map(|s| s.to_string()));
        opt("jobs", self.jobs.map(|s| s.to_string()));
        opt("out", out.map(|o| o.display().to_string()));
        opt("device", self.device.clone());
        opt("methods", self.methods.as_ref().map(|m| m.join(",")));
        if self.strict {
            args.push("--strict".into());
        }
        args
    }

    /// The runner's options for an experiment written to `out`.
    pub fn runner_options(&self, out: Option<PathBuf>) -> runner::Options {
        runner::Options {
            profile: self.profile.clone(),
            seeds: self.seeds,
            budget: self.budget,
            jobs: self.jobs,
            out,
            methods: self.methods.clone(),
            progress: true,
        }
    }
}

/// Runs one experiment in this process, writes and prints its report, and
/// returns how many claims deviate.
pub fn reproduce_and_report(
    root: &Path,
    loaded: Loaded,
    args: &ReproduceArgs,
    out: Option<PathBuf>,
) -> Result<usize> {
    let outcome = runner::reproduce(root, loaded, &args.runner_options(out))?;
    let (rep, files) = report::write(&outcome)?;
    print!("{}", report::console(&outcome, &rep));
    for f in files {
        println!("  wrote {}", f.strip_prefix(root).unwrap_or(&f).display());
    }
    Ok(rep
        .claims
        .iter()
        .filter(|c| matches!(c.verdict, report::Verdict::Deviates { .. }))
        .count())
}

/// A fresh temporary output folder for a test run (`tag` keeps parallel
/// tests apart): a snapshot must never come from resumed records.
pub fn fresh_test_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spacepart-test-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
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
    let id = loaded.exp.id.clone();
    let out = fresh_test_dir(&format!("{id}-{}", jobs.unwrap_or(0)));
    let opts = runner::Options {
        profile: "ci".into(),
        seeds,
        jobs,
        out: Some(out.clone()),
        progress: false,
        budget,
        ..Default::default()
    };
    let outcome = runner::reproduce(root, loaded, &opts).unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let (rep, _) = report::write(&outcome).unwrap_or_else(|e| panic!("{id}: {e:#}"));
    let md = report::markdown(&outcome, &rep);
    let _ = std::fs::remove_dir_all(out);
    md
}
