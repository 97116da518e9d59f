//! The Python environment of the simulators (gymnasium with MuJoCo and
//! Box2D, MiniGrid, MiniWorld) that `envbridge`'s workers run in.
//!
//! [`ensure`] finds it, in this order: `SPACEPART_PYTHON` (an interpreter
//! that imports the packages); the project's venv in the cache folder
//! (`envbridge::venv_dir()`, made for exactly [`envbridge::REQUIREMENTS`]);
//! otherwise it creates that venv with `python3 -m venv` and pip (wheels
//! only: no compiler). It then sets `SPACEPART_PYTHON` for this process and
//! its children, so the drivers and the tests use that interpreter.

use crate::torch::{dir_size, run};
use anyhow::{bail, Context, Result};
use envbridge::{venv_dir, venv_python, PYTHON_VAR, REQUIREMENTS};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The imports a usable interpreter must pass.
const SMOKE: &str = "import gymnasium, mujoco, Box2D, minigrid, miniworld";

/// The file in the venv recording what it was made with.
const MARKER: &str = "spacepart-requirements.txt";

fn marker_text() -> String {
    REQUIREMENTS.join("\n") + "\n"
}

fn imports(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", SMOKE])
        .env("PYGLET_HEADLESS", "true")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// Finds or creates the simulators' Python (see the module docs), sets
/// `SPACEPART_PYTHON`, and says what it did.
pub fn ensure() -> Result<PathBuf> {
    let (python, how) = find_or_install()?;
    eprintln!("setup: simulators' Python {} ({how})", python.display());
    // Edition 2021: set_var is safe; xtask sets it before starting threads.
    std::env::set_var(PYTHON_VAR, &python);
    Ok(python)
}

fn find_or_install() -> Result<(PathBuf, String)> {
    if let Some(p) = std::env::var_os(PYTHON_VAR).filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        if !imports(&p) {
            bail!(
                "{PYTHON_VAR}={} cannot `{SMOKE}`: point it at an interpreter with {}, or unset it to let `cargo xtask setup` make the venv",
                p.display(),
                REQUIREMENTS.join(" ")
            );
        }
        return Ok((p, format!("from {PYTHON_VAR}")));
    }
    let venv = venv_dir();
    let python = venv_python(&venv);
    if std::fs::read_to_string(venv.join(MARKER)).ok() == Some(marker_text()) && python.exists() {
        return Ok((python, format!("cached venv {}", venv.display())));
    }
    install(&venv)
}

fn install(venv: &Path) -> Result<(PathBuf, String)> {
    let t0 = Instant::now();
    if Command::new("python3").arg("--version").output().is_err() {
        bail!(
            "python3 not found: the simulators (gymnasium MuJoCo / Box2D) run in Python. Install Python 3.10 or newer with venv (Debian/Ubuntu: apt-get install python3 python3-venv), or set {PYTHON_VAR} to an interpreter that has {}",
            REQUIREMENTS.join(" ")
        );
    }
    let partial = venv.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(partial.parent().context("no cache folder")?)
        .with_context(|| format!("cannot create the cache folder of {}", venv.display()))?;
    eprintln!(
        "setup: installing the simulators' Python packages (gymnasium, MuJoCo, Box2D, MiniGrid, MiniWorld; pinned) into {}",
        venv.display()
    );
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&partial),
        "python3 -m venv (on Debian/Ubuntu: apt-get install python3-venv)",
    )?;
    run(
        Command::new(venv_python(&partial))
            .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
            .args(REQUIREMENTS),
        "pip install",
    )
    .context("cannot install the simulators' packages from PyPI")?;
    if !imports(&venv_python(&partial)) {
        bail!("the new venv {} cannot `{SMOKE}`", partial.display());
    }
    std::fs::write(partial.join(MARKER), marker_text())?;
    let _ = std::fs::remove_dir_all(venv);
    std::fs::rename(&partial, venv)
        .with_context(|| format!("cannot move {} into place", partial.display()))?;
    let how = format!(
        "installed in {:.0} s, {:.0} MB on disk",
        t0.elapsed().as_secs_f64(),
        dir_size(venv) as f64 / 1e6
    );
    Ok((venv_python(venv), how))
}
