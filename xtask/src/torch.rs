//! libtorch for the crates that train networks (tch 0.24 needs libtorch
//! 2.11.0 exactly), and the second binary that runs their experiments.
//!
//! `xtask` itself never links libtorch: it must build on a fresh machine,
//! and it is what installs libtorch. [`ensure`] finds one, in this order:
//! 1. `LIBTORCH` (a libtorch folder or a Python `torch` package folder;
//!    point it at a CUDA build to train on a GPU);
//! 2. the project's own install in the cache folder (`$SPACEPART_CACHE`,
//!    default `$XDG_CACHE_HOME/spacepart` or `~/.cache/spacepart`);
//! 3. a Python `torch` of the right version importable by `python3`;
//! 4. otherwise it installs the `torch==2.11.0` wheel (it carries libtorch)
//!    without its CUDA dependencies, plus the two small CUDA runtime wheels
//!    libtorch's CPU library needs, into a virtual environment in the cache
//!    folder, and reuses it from then on.
//!
//! Experiments whose driver needs libtorch ([`crate::drivers::TORCH_DRIVERS`])
//! run in the `xtask-torch` binary, which [`run_torch_binary`] builds (after
//! [`ensure`]) and runs with the right environment.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The libtorch version tch 0.24 expects.
pub const TORCH_VERSION: &str = "2.11.0";
/// Wheels installed by the set-up step (`--no-deps`: no 2.7 GB of CUDA
/// libraries; libtorch_cpu needs only the CUDA runtime and CUPTI).
pub const WHEELS: &[&str] = &[
    "torch==2.11.0",
    "nvidia-cuda-runtime==13.0.96",
    "nvidia-cuda-cupti==13.0.85",
];

/// A libtorch that tch can build against.
#[derive(Clone, Debug)]
pub struct Libtorch {
    /// The folder `LIBTORCH` points at (has `include/` and `lib/`).
    pub root: PathBuf,
    pub version: String,
    /// How it was found or installed, for the user.
    pub how: String,
}

impl Libtorch {
    pub fn lib_dir(&self) -> PathBuf {
        self.root.join("lib")
    }
    /// Whether this libtorch carries CUDA kernels (`libtorch_cuda.so`).
    pub fn has_cuda(&self) -> bool {
        self.lib_dir().join("libtorch_cuda.so").exists()
    }
    /// The environment a build against it and its binaries need.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut ld = self.lib_dir().display().to_string();
        if let Ok(old) = std::env::var("LD_LIBRARY_PATH") {
            if !old.is_empty() {
                ld = format!("{ld}:{old}");
            }
        }
        let mut env = vec![
            ("LIBTORCH".into(), self.root.display().to_string()),
            ("LD_LIBRARY_PATH".into(), ld),
        ];
        env.extend(
            PORTABLE_KERNELS
                .iter()
                .filter(|(k, _)| std::env::var_os(k).is_none())
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
        env
    }
}

/// Settings that pin libtorch's CPU kernels to code paths whose results do
/// not depend on the machine's instruction set: ATen's baseline kernels (not
/// its AVX2 / AVX-512 copies, picked at run time), oneDNN's convolutions at
/// most SSE4.1, and MKL's conditional bit-wise reproducibility. Why: a
/// training run's numbers (and so the `ci` snapshots of the experiments
/// that train networks) otherwise differ between an AVX2 and an AVX-512
/// machine (measured: the few-shot ci profile's one-shot Kendall tau was
/// -0.0627 on the AVX-512 machine that made the snapshot and -0.0547 on an
/// AVX2 one). A value the user has set is kept. Cost: slower CPU training.
pub const PORTABLE_KERNELS: &[(&str, &str)] = &[
    ("ATEN_CPU_CAPABILITY", "default"),
    ("DNNL_MAX_CPU_ISA", "SSE41"),
    ("MKL_CBWR", "COMPATIBLE"),
];

/// The cache folder for installs (outside any checkout; shared with the
/// simulators' venv).
pub fn cache_dir() -> PathBuf {
    envbridge::cache_dir()
}

/// The version of the libtorch (or Python torch package) in `root`.
pub fn version_of(root: &Path) -> Option<String> {
    if let Ok(v) = std::fs::read_to_string(root.join("build-version")) {
        return Some(v.trim().to_string());
    }
    let py = std::fs::read_to_string(root.join("version.py")).ok()?;
    py.lines()
        .find_map(|l| l.strip_prefix("__version__ = "))
        .map(|v| v.trim().trim_matches('\'').trim_matches('"').to_string())
}

fn matches(version: &str) -> bool {
    version.split('+').next() == Some(TORCH_VERSION)
}

fn check_root(root: &Path, how: String) -> Result<Libtorch> {
    if !root.join("lib").is_dir() || !root.join("include").is_dir() {
        bail!(
            "{} has no lib/ and include/ folders: it is not a libtorch (nor a Python torch package folder)",
            root.display()
        );
    }
    let version = version_of(root).unwrap_or_else(|| "unknown".into());
    if !matches(&version) {
        bail!(
            "{} holds libtorch {version}, but tch 0.24 needs {TORCH_VERSION} exactly; point LIBTORCH at a {TORCH_VERSION} build or unset it to let `cargo xtask setup` install one",
            root.display()
        );
    }
    Ok(Libtorch {
        root: root.to_path_buf(),
        version,
        how,
    })
}

/// The project's own install: a virtual environment in the cache folder.
pub fn venv_dir() -> PathBuf {
    cache_dir().join(format!("torch-{TORCH_VERSION}"))
}

fn venv_torch(venv: &Path) -> Option<PathBuf> {
    let lib = venv.join("lib");
    let mut found = None;
    for e in std::fs::read_dir(&lib).ok()?.flatten() {
        let p = e.path().join("site-packages").join("torch");
        if p.join("lib").is_dir() {
            found = Some(p);
        }
    }
    found
}

fn python_torch() -> Option<PathBuf> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import os, torch; print(torch.__version__); print(os.path.dirname(torch.__file__))",
        ])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout);
    let mut lines = text.lines();
    let version = lines.next()?.trim().to_string();
    let dir = PathBuf::from(lines.next()?.trim());
    (matches(&version) && dir.join("lib").is_dir()).then_some(dir)
}

pub(crate) fn dir_size(p: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(p) else {
        return 0;
    };
    if meta.is_dir() {
        std::fs::read_dir(p)
            .map(|rd| rd.flatten().map(|e| dir_size(&e.path())).sum())
            .unwrap_or(0)
    } else {
        meta.len()
    }
}

pub(crate) fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let status = cmd
        .status()
        .with_context(|| format!("cannot start {what} ({cmd:?})"))?;
    if !status.success() {
        bail!("{what} failed ({status}): {cmd:?}");
    }
    Ok(())
}

fn install(venv: &Path) -> Result<Libtorch> {
    let t0 = Instant::now();
    let partial = venv.with_extension("partial");
    let _ = std::fs::remove_dir_all(&partial);
    std::fs::create_dir_all(partial.parent().unwrap())
        .with_context(|| format!("cannot create the cache folder {}", cache_dir().display()))?;
    eprintln!(
        "setup: installing libtorch {TORCH_VERSION} (the PyPI torch wheel, without its CUDA libraries) into {}",
        venv.display()
    );
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&partial),
        "python3 -m venv (on Debian/Ubuntu: apt-get install python3-venv)",
    )
    .context(
        "cannot create a Python virtual environment; install python3 with venv, or set LIBTORCH to a libtorch 2.11.0 folder",
    )?;
    run(
        Command::new(partial.join("bin").join("pip"))
            .args(["install", "--no-deps", "--no-cache-dir", "--disable-pip-version-check", "-q"])
            .args(WHEELS),
        "pip install",
    )
    .context("cannot install the torch wheel from PyPI; set LIBTORCH to a libtorch 2.11.0 folder instead")?;
    let _ = std::fs::remove_dir_all(venv);
    std::fs::rename(&partial, venv)
        .with_context(|| format!("cannot move {} into place", partial.display()))?;
    let root = venv_torch(venv).context("the installed wheel has no torch/lib folder")?;
    let size = dir_size(venv) as f64 / 1e9;
    let lt = check_root(
        &root,
        format!(
            "installed into {} in {:.0} s ({size:.1} GB on disk)",
            venv.display(),
            t0.elapsed().as_secs_f64()
        ),
    )?;
    Ok(lt)
}

/// Finds or installs libtorch 2.11.0 (see the module docs) and says what it did.
pub fn ensure() -> Result<Libtorch> {
    let lt = find_or_install()?;
    eprintln!(
        "setup: libtorch {} at {} ({}{})",
        lt.version,
        lt.root.display(),
        lt.how,
        if lt.has_cuda() {
            "; CUDA kernels present"
        } else {
            ""
        }
    );
    Ok(lt)
}

fn find_or_install() -> Result<Libtorch> {
    if let Some(root) = std::env::var_os("LIBTORCH").filter(|v| !v.is_empty()) {
        return check_root(Path::new(&root), "from LIBTORCH".into())
            .context("LIBTORCH is set but unusable");
    }
    let venv = venv_dir();
    if let Some(root) = venv_torch(&venv) {
        if let Ok(lt) = check_root(&root, format!("cached install in {}", venv.display())) {
            return Ok(lt);
        }
    }
    if let Some(root) = python_torch() {
        return check_root(&root, "the Python torch package of python3".into());
    }
    install(&venv)
}

/// The workspace's `cargo` (the one running `cargo xtask`).
pub fn cargo() -> Command {
    Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
}

/// `cargo xtask test`: set up libtorch, then the workspace's tests with it.
pub fn test(root: &Path, extra: &[String]) -> Result<()> {
    let lt = ensure()?;
    // The environment experiments' snapshots and the bridge's tests need it.
    crate::envs::ensure()?;
    // `-p <crate>` narrows the run; otherwise the whole workspace.
    let narrowed = extra
        .iter()
        .any(|a| a == "-p" || a.starts_with("--package") || (a.starts_with("-p") && a.len() > 2));
    let mut args = vec!["test".to_string()];
    if !narrowed {
        args.push("--workspace".into());
        // The audit binary (issue 24) has no tests and builds faer, linfa, egobox-gp, ...:
        // `cargo test -p xtask-audit` still reaches it.
        args.extend(["--exclude".into(), "xtask-audit".into()]);
    }
    args.push("--locked".into());
    args.extend(extra.iter().cloned());
    let mut cmd = cargo();
    cmd.current_dir(root).args(&args).envs(lt.env());
    eprintln!("test: cargo {}", args.join(" "));
    run(&mut cmd, "cargo test")
}

/// Builds the `xtask-torch` binary against libtorch and runs it with `args`.
/// `cuda`: link libtorch's CUDA library too (a CUDA libtorch is needed).
pub fn run_torch_binary(root: &Path, args: &[String], cuda: bool) -> Result<()> {
    let lt = ensure()?;
    if cuda && !lt.has_cuda() {
        bail!(
            "device `cuda` asked for, but the libtorch at {} has no CUDA kernels: point LIBTORCH at a CUDA build of libtorch {TORCH_VERSION} (e.g. the folder of a CUDA PyTorch {TORCH_VERSION}: python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')",
            lt.root.display()
        );
    }
    let mut build = cargo();
    build
        .current_dir(root)
        .args(["build", "--release", "--quiet", "--package", "xtask-torch"])
        .envs(lt.env());
    if cuda {
        build.env("SPACEPART_TORCH_CUDA", "1");
    }
    eprintln!("xtask: building the libtorch binary (xtask-torch)");
    run(&mut build, "cargo build --package xtask-torch")?;
    let exe = std::env::current_exe()?;
    let bin = exe
        .parent()
        .context("no folder for the xtask binary")?
        .join(format!("xtask-torch{}", std::env::consts::EXE_SUFFIX));
    let mut cmd = Command::new(&bin);
    cmd.current_dir(root).args(args).envs(lt.env());
    run(&mut cmd, "xtask-torch")
}
