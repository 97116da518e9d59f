//! Real environments for the search papers.
//!
//! LA-MCTS (Wang, Fonseca, Tian, NeurIPS 2020) evaluates its searches on
//! MuJoCo locomotion (linear policies for Swimmer ... Humanoid) and on Lunar
//! Lander (a 12-parameter heuristic controller); PlaLaM reuses the same
//! rollouts and also needs observations. Those simulators live in Python
//! (gymnasium with MuJoCo and Box2D), so this crate runs them in long-lived
//! Python worker processes and talks to them in JSON lines:
//!
//! - [`worker`]: [`Worker`] (one process; crash, hang and garbage become an
//!   [`Error`] quoting its stderr; killed and reaped on drop), [`Pool`]
//!   (one worker per parallel run, reused), the protocol ([`Request`],
//!   [`Answer`]) and the shipped script [`WORKER_SCRIPT`];
//! - [`task`]: [`Task`] (the authors' objectives: environment, policy,
//!   bounds, Hopper's fixed observation normalisation) and [`EnvProblem`], a
//!   task as a searchkit [`Problem`](searchkit::problem::Problem);
//! - [`nav`]: PlaLaM's MiniWorld planning tasks ([`NavTask`], [`nav::rollout`]:
//!   an open-loop plan under the authors' continuous-move rule, with the
//!   frames the latent reads, decoded from base64);
//! - [`twin`]: [`NavTwin`], a Rust-native twin of that move rule and reward
//!   (no rendering) over a maze's [`NavLayout`], which the worker hands over
//!   once per maze ([`twin::layout`], policy `layout`);
//! - the Python environment: [`REQUIREMENTS`] (pinned), [`venv_dir`] and
//!   [`python`] (where the interpreter is; `cargo xtask setup` creates the
//!   venv), [`pool`] (a pool running the shipped script in a scratch folder).
//!
//! The twin replays the worker's arithmetic in its order (f64 throughout,
//! the collision segments' and entities' tests as miniworld's `intersect`
//! computes them), except `tanh`: numpy's float64 `tanh` is its own SIMD
//! polynomial, up to 3 ulp from the C library's that Rust calls. Its tests
//! (`tests/twin.rs`, skipped without the venv) roll random N(0, 8^2), zero,
//! wall-bound and slow plans and a goal-reaching plan found on the twin
//! through both, on MazeS3 mazes 123..130 and FourRooms 123..126: the same
//! episode ends and successes, single moves that are refused on both or
//! neither, and positions and returns within 1e-12 (the largest difference
//! seen: 3.6e-15). On MazeS3 maze 123 it runs about 46,000 rollouts/s
//! against the worker's 57 (one core of the busy 2-core machine, release
//! build; `cargo test -p envbridge --release --test twin -- --ignored
//! --nocapture`), so the planners that need no frames can use it.
//!
//! Floats cross the protocol exactly: Python's `json` writes the shortest
//! round-trip repr, and serde_json reads it back with `float_roundtrip`.

pub mod nav;
pub mod task;
pub mod twin;
pub mod worker;

pub use nav::{NavRollout, NavTask, NAV_TASK_NAMES};
pub use task::{mean_return, EnvProblem, Task, TASK_NAMES};
pub use twin::{NavLayout, NavTwin};
pub use worker::{Answer, Error, Lease, Pool, Request, Worker, WorkerConfig, WORKER_SCRIPT};

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// The Python packages of the environments, pinned (the complete set that
/// `gymnasium[mujoco,box2d]==1.4.0 minigrid==3.2.0 miniworld==2.1.0`
/// resolved to on Python 3.11, 2026-12; all wheels, no compiler).
pub const REQUIREMENTS: &[&str] = &[
    "gymnasium[mujoco,box2d]==1.4.0",
    "mujoco==4.0.1",
    "mujoco-core==4.0.1",
    "mujoco-studio==4.0.1",
    "mujoco-studio-wasm==4.0.1",
    "Box2D==2.3.10",
    "minigrid==3.2.0",
    "miniworld==2.1.0",
    "numpy==2.4.6",
    "cloudpickle==3.1.3",
    "Farama-Notifications==0.0.6",
    "glfw==2.11.0",
    "ImageIO==2.38.2",
    "packaging==26.4",
    "pillow==13.0.0",
    "pygame-ce==2.5.8",
    "pyglet==1.5.31",
    "PyOpenGL==3.1.10",
    "typing_extensions==4.16.0",
    "websockets==17.4",
];

/// Bumped when [`REQUIREMENTS`] change, so a new venv is made beside the old.
pub const ENV_VERSION: u32 = 1;

/// The variable naming the Python interpreter to use (overrides the venv).
pub const PYTHON_VAR: &str = "SPACEPART_PYTHON";

/// The cache folder for installs, outside any checkout: `$SPACEPART_CACHE`,
/// else `$XDG_CACHE_HOME/spacepart`, else `~/.cache/spacepart`.
pub fn cache_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("SPACEPART_CACHE").filter(|d| !d.is_empty()) {
        return PathBuf::from(d);
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME").filter(|d| !d.is_empty()) {
        return PathBuf::from(d).join("spacepart");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    PathBuf::from(home).join(".cache").join("spacepart")
}

/// The project's environment venv.
pub fn venv_dir() -> PathBuf {
    cache_dir().join(format!("envs-{ENV_VERSION}"))
}

/// The interpreter of a venv.
pub fn venv_python(venv: &std::path::Path) -> PathBuf {
    venv.join("bin").join("python")
}

/// The Python that runs the workers: `$SPACEPART_PYTHON`, else the venv's.
pub fn python() -> Result<PathBuf, Error> {
    if let Some(p) = std::env::var_os(PYTHON_VAR).filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let p = venv_python(&venv_dir());
    if p.exists() {
        Ok(p)
    } else {
        Err(Error::NoPython(format!(
            "no Python environment for the simulators at {} (and {PYTHON_VAR} is not set): run `cargo xtask setup` to create it (gymnasium with MuJoCo and Box2D, about 330 MB, under a minute)",
            venv_dir().display()
        )))
    }
}

/// A scratch folder for this process's workers (MuJoCo writes
/// `MUJOCO_LOG.TXT` into the working folder), holding the worker script.
pub fn scratch_dir() -> Result<PathBuf, Error> {
    let dir = std::env::temp_dir().join(format!("spacepart-envbridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let script = dir.join("worker.py");
    if std::fs::read_to_string(&script).ok().as_deref() != Some(WORKER_SCRIPT) {
        std::fs::write(&script, WORKER_SCRIPT)?;
    }
    Ok(dir)
}

/// A pool running the shipped worker with [`python`] in [`scratch_dir`].
pub fn pool(timeout: Duration) -> Result<Arc<Pool>, Error> {
    let python = python()?;
    let scratch = scratch_dir()?;
    Ok(Arc::new(Pool::owning_scratch(WorkerConfig {
        command: vec![
            python.display().to_string(),
            "-u".into(),
            scratch.join("worker.py").display().to_string(),
        ],
        scratch,
        timeout,
    })))
}
