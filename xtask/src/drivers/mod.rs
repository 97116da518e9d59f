//! Drivers: the glue between a config's `driver` and a paper crate's code.
//!
//! A driver validates the config's `problem` and each method's `algorithm` and
//! `params` up front (so a typo fails before any run starts), then runs one
//! (method, seed) at a time. The algorithms themselves live in the crates.

use crate::config::Loaded;
use anyhow::{bail, Result};
use searchkit::rng::Stream;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub mod btrnn;
mod fewshot;
mod lamcts;
mod lamoo;
mod tabular_nas;

/// Per-evaluation rows written to `runs/<method>-s<seed>.csv`.
#[derive(Clone, Debug, Default)]
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

/// A config checked and turned into typed settings, ready to run.
pub trait Prepared: Sync + Send + std::fmt::Debug {
    /// Run method `method` (index into the config's methods) with `seed`.
    fn run(&self, method: usize, seed: u64, budget: usize, rng: Stream) -> Result<RunOutput>;
    /// Figures beyond the standard curve figure (e.g. scatter plots); returns
    /// the files written.
    fn extra_figures(&self, _out: &Path) -> Result<Vec<PathBuf>> {
        Ok(vec![])
    }
    /// Why this experiment cannot run on this machine (e.g. a user-supplied
    /// data file is missing): then no run starts and every claim reads
    /// "cannot be checked here" with this reason.
    fn unavailable(&self) -> Option<String> {
        None
    }
    /// Whether the standard curve figure applies.
    fn has_curves(&self) -> bool {
        true
    }
    /// Revision of method `method`'s code, part of a run's fingerprint:
    /// bumped when a change alters its results for the same seed (e.g. its
    /// random draws), so stored runs of the old code are rerun, not mixed
    /// in. 0 (the default) leaves the fingerprint as it was before revisions
    /// existed.
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

/// Drivers that train networks with tch (libtorch). They live in the
/// `xtask-torch` binary, which registers them ([`register`]); `cargo xtask
/// reproduce` hands their experiments to that binary (see [`crate::torch`]).
pub const TORCH_DRIVERS: &[&str] = &["btrnn-train"];

static REGISTERED: Mutex<Vec<Driver>> = Mutex::new(Vec::new());

/// Adds drivers defined outside this crate (the libtorch binary's).
pub fn register(drivers: Vec<Driver>) {
    let mut r = REGISTERED.lock().unwrap_or_else(|e| e.into_inner());
    for d in drivers {
        if !r.iter().any(|x| x.name == d.name) {
            r.push(d);
        }
    }
}

/// Whether the experiment's driver needs libtorch and is not available in
/// this process (so it must run in the `xtask-torch` binary).
pub fn needs_torch(l: &Loaded) -> bool {
    TORCH_DRIVERS.contains(&l.exp.driver.as_str()) && !all().iter().any(|d| d.name == l.exp.driver)
}

/// Every driver the workspace knows.
pub fn all() -> Vec<Driver> {
    let mut v = vec![
        fewshot::rank_driver(),
        fewshot::search_driver(),
        lamcts::driver(),
        tabular_nas::driver(),
        lamoo::driver(),
        btrnn::params_driver(),
    ];
    v.extend(
        REGISTERED
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied(),
    );
    v
}

/// Check a config against its driver and prepare it.
pub fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let drivers = all();
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
