//! Drivers: the glue between a config's `driver` and a paper crate's code.
//!
//! A driver validates the config's `problem` and each method's `algorithm` and
//! `params` up front (so a typo fails before any run starts), then runs one
//! (method, seed) at a time. The algorithms themselves live in the crates.

use crate::config::Loaded;
use crate::store::RunRecord;
use anyhow::{bail, Result};
use searchkit::rng::Stream;
use std::collections::BTreeMap;
use std::path::Path;

pub mod btrnn;
mod design;
mod fewshot;
pub mod gpunet;
mod lamcts;
mod lamcts_env;
mod lamoo;
mod plalam;
mod tabular_nas;

/// Per-evaluation rows written to `runs/<method>-s<seed>.csv` (and kept in
/// the run's JSON record, so a deleted CSV can be rewritten).
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// What one run returns.
#[derive(Clone, Debug, Default)]
pub struct RunOutput {
    /// The experiment's metric after each evaluation.
    pub curve: Vec<f64>,
    pub scalars: BTreeMap<String, f64>,
    pub table: Option<Table>,
}

/// Everything one run needs besides the prepared config.
#[derive(Clone, Debug)]
pub struct RunContext<'a> {
    /// Index into the config's (selected) methods.
    pub method: usize,
    pub seed: u64,
    pub budget: usize,
    /// The run's stream, derived from (experiment id, method name, seed).
    pub rng: Stream,
    /// The seed's shared initial-design stream, derived from (experiment
    /// id, seed) alone ([`Stream::for_design`]): a driver that offers paired
    /// designs draws every method's first points from it.
    pub design: Stream,
    /// Where networks train when the command line says (`--device`); a
    /// driver that trains networks falls back to its config's `device`.
    pub device: Option<&'a str>,
    /// Where a driver whose evaluations are expensive journals them, so an
    /// interrupted run resumes in the middle ([`crate::journal`]); `None`
    /// where nothing is stored (benches).
    pub journal: Option<crate::journal::JournalSpec>,
}

/// A figure beyond the standard curve figure: a file name in the results
/// folder and its content. Drivers return figures as data; only the store
/// and report write files.
#[derive(Clone, Debug, PartialEq)]
pub struct Figure {
    pub file: String,
    pub svg: String,
}

/// A config checked and turned into typed settings, ready to run.
pub trait Prepared: Sync + Send + std::fmt::Debug {
    /// Run one (method, seed).
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput>;
    /// Figures beyond the standard curve figure (e.g. scatter plots), drawn
    /// from the records (`records[i]` holds method `i`'s runs).
    fn extra_figures(&self, _records: &[(String, Vec<RunRecord>)]) -> Result<Vec<Figure>> {
        Ok(vec![])
    }
    /// Why this experiment cannot run on this machine (e.g. a user-supplied
    /// data file is missing): then no run starts and every claim reads
    /// "cannot be checked here" with this reason.
    fn unavailable(&self) -> Option<String> {
        None
    }
    /// Digests of user-supplied input data (name, digest), part of every
    /// run's fingerprint, so results computed from other data are not
    /// reused (see [`digest_path`]).
    fn inputs(&self) -> Result<Vec<(String, String)>> {
        Ok(vec![])
    }
    /// Whether the standard curve figure applies.
    fn has_curves(&self) -> bool {
        true
    }
    /// The curve length a run of `method` with `budget` always gives, if
    /// fixed (a stored record with another length is rejected).
    fn curve_len(&self, _method: usize, _budget: usize) -> Option<usize> {
        None
    }
    /// Revision of method `method`'s code, part of a run's fingerprint:
    /// bumped when a change alters its results for the same seed (e.g. its
    /// random draws), so stored runs of the old code are rerun, not mixed
    /// in.
    fn revision(&self, _method: usize) -> u32 {
        0
    }
}

/// A named driver.
#[derive(Clone, Copy)]
pub struct Driver {
    pub name: &'static str,
    pub about: &'static str,
    pub algorithms: &'static [&'static str],
    pub prepare: fn(&Loaded) -> Result<Box<dyn Prepared>>,
}

impl std::fmt::Debug for Driver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Driver").field("name", &self.name).finish()
    }
}

/// Drivers that train networks with tch (libtorch), by name. They live in
/// the `xtask-torch` binary, which passes them in its [`Registry`];
/// `cargo xtask reproduce` hands their experiments to that binary (see
/// [`crate::torch`]). Why a list here: xtask must know, without linking
/// libtorch, which experiments to hand over; `xtask-torch`'s tests check
/// that this list equals the drivers it provides.
pub const TORCH_DRIVERS: &[&str] = &[
    "btrnn-train",
    "gpunet-latency",
    "gpunet-search",
    "gpunet-predictor",
    "fewshot-train",
    "fewshot-darts",
];

/// The drivers one binary has: xtask's own ([`Registry::builtin`]), plus,
/// in `xtask-torch`, the ones that train networks. Passed by value; no
/// global state.
#[derive(Clone, Debug)]
pub struct Registry {
    drivers: Vec<Driver>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::builtin()
    }
}

impl Registry {
    /// xtask's own drivers (no libtorch).
    pub fn builtin() -> Self {
        Self {
            drivers: vec![
                fewshot::rank_driver(),
                fewshot::search_driver(),
                lamcts::driver(),
                lamcts_env::driver(),
                tabular_nas::driver(),
                lamoo::driver(),
                btrnn::params_driver(),
                gpunet::models_driver(),
                plalam::driver(),
            ],
        }
    }

    /// This registry plus `more` (a name already present is kept).
    pub fn with(mut self, more: Vec<Driver>) -> Self {
        for d in more {
            if !self.drivers.iter().any(|x| x.name == d.name) {
                self.drivers.push(d);
            }
        }
        self
    }

    pub fn all(&self) -> &[Driver] {
        &self.drivers
    }

    /// Whether the experiment's driver needs libtorch and is not in this
    /// registry (so it must run in the `xtask-torch` binary).
    pub fn needs_torch(&self, l: &Loaded) -> bool {
        TORCH_DRIVERS.contains(&l.exp.driver.as_str())
            && !self.drivers.iter().any(|d| d.name == l.exp.driver)
    }

    /// Check a config against its driver and prepare it.
    pub fn prepare(&self, l: &Loaded) -> Result<Box<dyn Prepared>> {
        prepare_with(&self.drivers, l)
    }
}

/// Drivers whose runs need the simulators' Python venv (`envbridge`);
/// `reproduce` and `run-job` set it up first ([`crate::envs::ensure`]).
pub const ENV_DRIVERS: &[&str] = &["lamcts-env", "plalam-nav"];

/// Whether the experiment's runs need the simulators' Python venv.
pub fn needs_envs(l: &Loaded) -> bool {
    ENV_DRIVERS.contains(&l.exp.driver.as_str())
}

/// Whether the experiment's driver needs libtorch (xtask's own registry).
pub fn needs_torch(l: &Loaded) -> bool {
    Registry::builtin().needs_torch(l)
}

/// Every driver of xtask's own registry.
pub fn all() -> Vec<Driver> {
    Registry::builtin().drivers
}

/// Check a config against its driver (xtask's own registry) and prepare it.
pub fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    Registry::builtin().prepare(l)
}

fn prepare_with(drivers: &[Driver], l: &Loaded) -> Result<Box<dyn Prepared>> {
    let Some(d) = drivers.iter().find(|d| d.name == l.exp.driver) else {
        if TORCH_DRIVERS.contains(&l.exp.driver.as_str()) {
            bail!(l.err(
                "driver",
                format!(
                    "driver `{}` trains networks with libtorch and runs in the `xtask-torch` binary: use `cargo xtask reproduce {}`, which sets it up",
                    l.exp.driver, l.exp.id
                )
            ));
        }
        let names: Vec<&str> = drivers.iter().map(|d| d.name).collect();
        bail!(l.err(
            "driver",
            format!(
                "unknown driver `{}`; valid choices: {}",
                l.exp.driver,
                names.join(", ")
            )
        ));
    };
    crate::plan::check_file_names(l)?;
    for (i, m) in l.exp.methods.iter().enumerate() {
        if !d.algorithms.contains(&m.algorithm.as_str()) {
            bail!(l.err(
                &format!("methods[{i}].algorithm"),
                format!(
                    "unknown algorithm `{}` for driver `{}`; valid choices: {}",
                    m.algorithm,
                    d.name,
                    d.algorithms.join(", ")
                )
            ));
        }
    }
    (d.prepare)(l)
}

/// A content digest of user-supplied data: a file's bytes, or a folder's
/// files (relative names and bytes, in name order). Part of fingerprints.
pub fn digest_path(path: &Path) -> Result<String> {
    use anyhow::Context;
    let mut h = blake3::Hasher::new();
    let mut files = Vec::new();
    if path.is_dir() {
        collect_files(path, &mut files)?;
    } else {
        files.push(path.to_path_buf());
    }
    files.sort();
    for f in &files {
        let rel = f.strip_prefix(path).unwrap_or(f);
        h.update(rel.to_string_lossy().as_bytes());
        h.update(&[0]);
        let mut file = std::fs::File::open(f)
            .with_context(|| format!("cannot read {} for its digest", f.display()))?;
        h.update_reader(&mut file)
            .with_context(|| format!("cannot read {} for its digest", f.display()))?;
    }
    Ok(crate::store::hex16(h.finalize().as_bytes()))
}

fn collect_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> Result<()> {
    for e in std::fs::read_dir(dir)? {
        let p = e?.path();
        if p.is_dir() {
            collect_files(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}
