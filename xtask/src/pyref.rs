//! The pinned Python environments of the bench's references
//! (`xtask/python-reference`): the LA-MCTS authors' Python needs numpy,
//! scipy and scikit-learn; BoTorch's qEHVI needs torch and BoTorch 0.18.
//!
//! `cargo xtask setup --python-reference` makes them in the cache folder
//! (`$SPACEPART_CACHE/pyref-lamcts-1`, `$SPACEPART_CACHE/pyref-botorch-1`)
//! with `python3 -m venv` and pip, wheels only; [`find`] only looks (the
//! bench never touches the network). A venv counts as made when its marker
//! file lists exactly the pins below, so a change of pins makes it stale.
//!
//! Why the BoTorch venv installs with `--no-deps`: PyPI's only torch for
//! Linux x86-64 is a CUDA build whose requirements pull every CUDA library
//! (and triton). Its shared objects link (DT_NEEDED) only some of them;
//! those, torch's pure-Python requirements and BoTorch's are pinned one by
//! one. BoTorch 0.18 also requires jax, jaxlib, numpyro and ninja, which the
//! models used here never import; they are left out.

use crate::torch::{dir_size, run};
use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// One reference venv.
#[derive(Debug)]
pub struct RefEnv {
    /// Folder name in the cache folder (the suffix is the pins' revision).
    pub dir: &'static str,
    pub what: &'static str,
    /// `pip install` arguments (first entry: options such as `--no-deps`).
    pub pins: &'static [&'static str],
    /// The imports a usable venv must pass.
    pub smoke: &'static str,
}

/// The authors' LA-MCTS (`lamcts_bo_iter.py`): the versions the README's
/// earlier measurements name.
pub const LAMCTS: RefEnv = RefEnv {
    dir: "pyref-lamcts-1",
    what: "the LA-MCTS authors' Python (numpy 2.4.6, scipy 1.17.1, scikit-learn 1.9.1)",
    pins: &["numpy==2.4.6", "scipy==1.17.1", "scikit-learn==1.9.1"],
    smoke: "import numpy, scipy, sklearn",
};

/// BoTorch 0.18 on torch 2.15 (CPU use of PyPI's CUDA build; see the
/// module docs for the `--no-deps` pins).
pub const BOTORCH: RefEnv = RefEnv {
    dir: "pyref-botorch-1",
    what: "BoTorch 0.18.0 (torch 2.15.0, gpytorch 1.15.2)",
    pins: &[
        "--no-deps",
        "torch==2.15.0",
        // the CUDA libraries torch's .so files link (not triton, cusolver,
        // cuda-bindings, nvtx: loaded lazily or not at all on CPU)
        "nvidia-cublas==13.4.1.3",
        "nvidia-cuda-cupti==13.2.86",
        "nvidia-cuda-nvrtc==13.2.86",
        "nvidia-cuda-runtime==13.2.86",
        "nvidia-cudnn-cu13==9.26.0.51",
        "nvidia-cufft==12.2.0.57",
        "nvidia-cufile==1.17.1.22",
        "nvidia-cusparse==12.7.10.12",
        "nvidia-cusparselt-cu13==0.8.1",
        "nvidia-nccl-cu13==2.30.7",
        "nvidia-nvjitlink==13.5.37",
        "nvidia-nvshmem-cu13==3.7.2",
        // torch's pure-Python requirements
        "filelock==4.3.2",
        "fsspec==2026.9.0",
        "Jinja2==3.1.6",
        "MarkupSafe==3.0.4",
        "mpmath==1.3.0",
        "networkx==3.6.1",
        "sympy==1.14.0",
        "typing_extensions==4.16.0",
        // BoTorch and what its GP path imports
        "botorch==0.18.0",
        "gpytorch==1.15.2",
        "linear_operator==0.6.1",
        "multipledispatch==1.0.0",
        "mypy_extensions==1.2.0",
        "numpy==2.4.6",
        "pyre-extensions==0.0.32",
        "scipy==1.17.1",
        "threadpoolctl==3.8.0",
        "typing-inspect==0.9.0",
    ],
    smoke: "import torch, botorch, gpytorch; from botorch.acquisition.multi_objective.monte_carlo import qExpectedHypervolumeImprovement",
};

pub const ALL: [&RefEnv; 2] = [&LAMCTS, &BOTORCH];

/// The file in the venv recording what it was made with.
const MARKER: &str = "spacepart-requirements.txt";

impl RefEnv {
    pub fn dir(&self) -> PathBuf {
        envbridge::cache_dir().join(self.dir)
    }

    fn marker_text(&self) -> String {
        self.pins.join("\n") + "\n"
    }

    /// The venv's interpreter if the venv was made for exactly these pins;
    /// else why not, with the command that makes it. Never installs.
    pub fn find(&self) -> std::result::Result<PathBuf, String> {
        self.find_in(&envbridge::cache_dir())
    }

    /// [`RefEnv::find`] in the cache folder `cache`.
    pub fn find_in(&self, cache: &Path) -> std::result::Result<PathBuf, String> {
        let venv = cache.join(self.dir);
        let python = envbridge::venv_python(&venv);
        if std::fs::read_to_string(venv.join(MARKER)).ok() == Some(self.marker_text())
            && python.exists()
        {
            Ok(python)
        } else {
            Err(format!(
                "no venv for {} at {} (make it with `cargo xtask setup --python-reference`)",
                self.what,
                venv.display()
            ))
        }
    }

    /// Finds or makes the venv; says what it did.
    pub fn ensure(&self) -> Result<PathBuf> {
        if let Ok(p) = self.find() {
            eprintln!("setup: {} in {} (cached)", self.what, self.dir().display());
            return Ok(p);
        }
        let t0 = Instant::now();
        let venv = self.dir();
        if Command::new("python3").arg("--version").output().is_err() {
            bail!(
                "python3 not found: the bench's references ({}) run in Python. Install Python 3.10 or newer with venv (Debian/Ubuntu: apt-get install python3 python3-venv)",
                self.what
            );
        }
        let partial = venv.with_extension("partial");
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(partial.parent().context("no cache folder")?)
            .with_context(|| format!("cannot create the cache folder of {}", venv.display()))?;
        eprintln!("setup: installing {} into {}", self.what, venv.display());
        run(
            Command::new("python3").args(["-m", "venv"]).arg(&partial),
            "python3 -m venv (on Debian/Ubuntu: apt-get install python3-venv)",
        )?;
        let python = envbridge::venv_python(&partial);
        run(
            Command::new(&python)
                .args(["-m", "pip", "install", "--disable-pip-version-check", "-q"])
                .args(self.pins),
            "pip install",
        )
        .with_context(|| format!("cannot install {} from PyPI", self.what))?;
        let smoke = Command::new(&python).args(["-c", self.smoke]).output()?;
        if !smoke.status.success() {
            bail!(
                "the new venv {} cannot `{}`: {}",
                partial.display(),
                self.smoke,
                String::from_utf8_lossy(&smoke.stderr)
            );
        }
        std::fs::write(partial.join(MARKER), self.marker_text())?;
        let _ = std::fs::remove_dir_all(&venv);
        std::fs::rename(&partial, &venv)
            .with_context(|| format!("cannot move {} into place", partial.display()))?;
        eprintln!(
            "setup: {} installed in {:.0} s, {:.0} MB on disk",
            self.what,
            t0.elapsed().as_secs_f64(),
            dir_size(&venv) as f64 / 1e6
        );
        Ok(envbridge::venv_python(&venv))
    }
}

/// The folder of the LA-MCTS authors' code (`LAMCTS_DIR`: the `LA-MCTS`
/// folder of facebookresearch/LaMCTS at commit 489bd60), or why not.
pub fn lamcts_dir() -> std::result::Result<PathBuf, String> {
    lamcts_dir_from(std::env::var_os("LAMCTS_DIR"))
}

/// [`lamcts_dir`] from the variable's value.
pub fn lamcts_dir_from(var: Option<std::ffi::OsString>) -> std::result::Result<PathBuf, String> {
    let how = "set LAMCTS_DIR to the LA-MCTS folder of facebookresearch/LaMCTS at commit 489bd60 (see xtask/python-reference/README.md)";
    match var.filter(|d| !d.is_empty()) {
        None => Err(format!("LAMCTS_DIR is not set: {how}")),
        Some(d) => {
            let d = PathBuf::from(d);
            if Path::new(&d).join("lamcts").join("MCTS.py").is_file() {
                Ok(d)
            } else {
                Err(format!(
                    "LAMCTS_DIR={} has no lamcts/MCTS.py: {how}",
                    d.display()
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_venvs_and_code_say_how_to_enable_them() {
        let empty = std::env::temp_dir().join(format!("pyref-test-{}", std::process::id()));
        for env in ALL {
            let why = env.find_in(&empty).unwrap_err();
            assert!(
                why.contains("cargo xtask setup --python-reference"),
                "{why}"
            );
        }
        let why = lamcts_dir_from(None).unwrap_err();
        assert!(
            why.contains("LAMCTS_DIR") && why.contains("489bd60"),
            "{why}"
        );
        let why = lamcts_dir_from(Some(empty.clone().into_os_string())).unwrap_err();
        assert!(why.contains("no lamcts/MCTS.py"), "{why}");
    }

    #[test]
    fn a_venv_counts_only_with_its_exact_pins() {
        let cache = std::env::temp_dir().join(format!("pyref-pins-{}", std::process::id()));
        let venv = cache.join(LAMCTS.dir);
        std::fs::create_dir_all(venv.join("bin")).unwrap();
        std::fs::write(envbridge::venv_python(&venv), "").unwrap();
        std::fs::write(venv.join(MARKER), "numpy==1.0\n").unwrap();
        assert!(LAMCTS.find_in(&cache).is_err());
        std::fs::write(venv.join(MARKER), LAMCTS.marker_text()).unwrap();
        assert_eq!(LAMCTS.find_in(&cache), Ok(envbridge::venv_python(&venv)));
        std::fs::remove_dir_all(&cache).unwrap();
    }
}
