//! The workspace's orchestrator, as a library (the `xtask` binary and the
//! snapshot tests both call it).
//!
//! - [`cli`]: the `reproduce` options and steps both binaries share, and
//!   the `ci` summaries the snapshot tests compare;
//! - [`config`]: the experiment schema and its checks;
//! - [`drivers`]: glue from a config's `driver` to a paper crate;
//! - [`plan`]: an experiment and the command line as a list of jobs
//!   (method, seed), each with its fingerprint; every check before compute;
//! - [`backend`]: where jobs execute (the job body; [`backend::Local`]:
//!   rayon threads);
//! - [`store`]: run records on disk: layout, atomic writes, the folder lock,
//!   validation on resume, migration of old records;
//! - [`runner`]: `reproduce` as plan -> backend -> store, resumable;
//! - [`verify`]: `verify-results`, re-rendering committed reports from
//!   their committed records;
//! - [`report`]: summaries, claim verdicts, figures ([`svg`]);
//! - [`bench`]: timings of the hot paths (`cargo xtask bench`), beside the
//!   Python references in [`pyref`]'s venvs;
//! - [`torch`]: libtorch set-up (`cargo xtask setup`), the test command
//!   (`cargo xtask test`) and the `xtask-torch` binary for drivers that train
//!   networks.

pub mod backend;
pub mod bench;
pub mod cli;
pub mod config;
pub mod drivers;
pub mod envs;
pub mod journal;
pub mod plan;
pub mod pyref;
pub mod report;
pub mod runner;
pub mod store;
pub mod svg;
pub mod torch;
pub mod verify;

use std::path::{Path, PathBuf};

/// The workspace root (the folder holding `paper_configs/`): the checkout
/// the command runs in, else the one this binary was built from. Why the
/// current folder first: two checkouts sharing one `CARGO_TARGET_DIR` may
/// share one binary, built from the other checkout.
pub fn workspace_root() -> PathBuf {
    let is_root = |d: &Path| d.join("paper_configs").is_dir() && d.join("xtask").is_dir();
    if let Ok(cwd) = std::env::current_dir() {
        if let Some(d) = cwd.ancestors().find(|d| is_root(d)) {
            return d.to_path_buf();
        }
    }
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}
