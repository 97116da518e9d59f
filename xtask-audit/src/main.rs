//! Issue 24, point 4: what we write by hand (`searchkit`'s SVM, k-means, GP, L-BFGS, dense
//! linear algebra and CMA-ES; `xtask`'s SVG charts) measured against the maintained crates that
//! offer the same (linfa-svm, linfa-clustering, egobox-gp, argmin, faer, nalgebra, cmaes,
//! plotters): wall time and agreement with the scikit-learn / numpy / scipy / pycma reference
//! values of `xtask/python-reference/audit/reference.py` (committed as
//! `data/audit/reference.json`). Not a default workspace member, so none of these crates enter
//! the default build.
//!
//! ```sh
//! cargo run --release -p xtask-audit -- gen-data            # inputs under $SPACEPART_CACHE/audit
//! python xtask/python-reference/audit/reference.py          # data/audit/reference.json (+ numpy outputs)
//! cargo run --release -p xtask-audit -- run --out audit.md  # the table
//! cargo run --release -p xtask-audit -- faer-bits           # digests of faer's outputs (run under qemu too)
//! ```

mod cma;
mod data;
mod dense;
mod gp;
mod lbfgs;
mod plots;
mod svm;
mod table;

use anyhow::{bail, Context, Result};
use std::path::PathBuf;

const USAGE: &str = "usage: xtask-audit gen-data [--dir D]
       xtask-audit run [--dir D] [--reference data/audit/reference.json] [--only a,b] [--out audit.md]
       xtask-audit faer-bits [--dir D] [--n 200,1000] [--ours]
components for --only: linalg, svm, kmeans, gp, lbfgs, cmaes, svg";

struct Args {
    cmd: String,
    dir: PathBuf,
    reference: PathBuf,
    only: Option<Vec<String>>,
    out: Option<PathBuf>,
    ns: Option<Vec<usize>>,
    ours: bool,
}

fn parse() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let cmd = it.next().context(USAGE)?;
    let (mut dir, mut reference, mut only, mut out, mut ns, mut ours) = (
        None,
        PathBuf::from("data/audit/reference.json"),
        None,
        None,
        None,
        false,
    );
    while let Some(a) = it.next() {
        let mut val = || {
            it.next()
                .with_context(|| format!("{a} needs a value\n{USAGE}"))
        };
        match a.as_str() {
            "--dir" => dir = Some(val()?),
            "--reference" => reference = PathBuf::from(val()?),
            "--only" => only = Some(val()?.split(',').map(str::to_string).collect()),
            "--out" => out = Some(PathBuf::from(val()?)),
            "--n" => {
                ns = Some(
                    val()?
                        .split(',')
                        .map(|s| s.parse().with_context(|| format!("--n: bad size {s:?}")))
                        .collect::<Result<_>>()?,
                )
            }
            "--ours" => ours = true,
            _ => bail!("unknown argument {a:?}\n{USAGE}"),
        }
    }
    Ok(Args {
        cmd,
        dir: data::dir(dir.as_deref()),
        reference,
        only,
        out,
        ns,
        ours,
    })
}

const COMPONENTS: [&str; 7] = ["linalg", "svm", "kmeans", "gp", "lbfgs", "cmaes", "svg"];

fn main() -> Result<()> {
    let args = parse()?;
    match args.cmd.as_str() {
        "gen-data" => {
            data::generate(&args.dir)?;
            eprintln!("inputs written to {}", args.dir.display());
        }
        "faer-bits" => dense::bits(
            &args.dir,
            args.ns.as_deref().unwrap_or(&[200, 1000]),
            args.ours,
        )?,
        "run" => {
            let only = args
                .only
                .clone()
                .unwrap_or(COMPONENTS.iter().map(|s| s.to_string()).collect());
            if let Some(bad) = only.iter().find(|c| !COMPONENTS.contains(&c.as_str())) {
                bail!(
                    "--only: unknown component {bad:?}; valid: {}",
                    COMPONENTS.join(", ")
                );
            }
            let reference: serde_json::Value = match std::fs::read_to_string(&args.reference) {
                Ok(s) => serde_json::from_str(&s)
                    .with_context(|| format!("parsing {}", args.reference.display()))?,
                Err(_) => {
                    eprintln!(
                        "no {}: agreement columns stay empty",
                        args.reference.display()
                    );
                    serde_json::Value::Null
                }
            };
            let mut rows = Vec::new();
            for c in &only {
                rows.extend(match c.as_str() {
                    "linalg" => dense::run(
                        &args.dir,
                        &reference,
                        args.ns.as_deref().unwrap_or(&dense::DEFAULT_NS),
                    )?,
                    "svm" => svm::run_svm(&args.dir, &reference)?,
                    "kmeans" => svm::run_kmeans(&args.dir, &reference)?,
                    "gp" => gp::run(
                        &args.dir,
                        &reference,
                        args.ns.as_deref().unwrap_or(&data::GP_NS),
                    )?,
                    "lbfgs" => lbfgs::run(&args.dir, &reference)?,
                    "cmaes" => cma::run(&reference)?,
                    "svg" => plots::run()?,
                    _ => unreachable!(),
                });
            }
            let md = table::markdown(&rows, &header(&reference));
            println!("{md}");
            if let Some(out) = &args.out {
                std::fs::write(out, &md).with_context(|| format!("writing {}", out.display()))?;
            }
        }
        _ => bail!("unknown command {:?}\n{USAGE}", args.cmd),
    }
    Ok(())
}

fn header(reference: &serde_json::Value) -> String {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    format!(
        "Measured with `cargo run --release -p xtask-audit -- run`; one thread everywhere; load average at the end: {}; reference: {}\n",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" "),
        reference.get("provenance").map(|p| p.to_string()).unwrap_or_else(|| "none".into())
    )
}
