//! The audit's inputs: drawn once from fixed [`Stream`]s and written as raw little-endian `f64`
//! files, so the Rust side and the Python reference (`xtask/python-reference/audit/reference.py`)
//! read the same bits.

use anyhow::{bail, Context, Result};
use searchkit::rng::Stream;
use std::path::{Path, PathBuf};

/// Sizes of the dense linear-algebra rows.
pub const LINALG_NS: [usize; 3] = [200, 1000, 3000];
/// SVM / k-means / L-BFGS-GP sizes.
pub const SVM_N: usize = 1000;
pub const DIM: usize = 20;
/// GP fit sizes.
pub const GP_NS: [usize; 2] = [300, 1000];
/// GP prediction points.
pub const GP_Q: usize = 50;

pub fn write_f64(path: &Path, v: &[f64]) -> Result<()> {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

pub fn read_f64(path: &Path) -> Result<Vec<f64>> {
    let b = std::fs::read(path).with_context(|| {
        format!(
            "reading {} (run `cargo run --release -p xtask-audit -- gen-data` first)",
            path.display()
        )
    })?;
    if b.len() % 8 != 0 {
        bail!(
            "{}: length {} is not a multiple of 8",
            path.display(),
            b.len()
        );
    }
    Ok(b.chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect())
}

pub fn rows(flat: &[f64], d: usize) -> Vec<Vec<f64>> {
    flat.chunks_exact(d).map(<[f64]>::to_vec).collect()
}

/// Ackley on `[-5, 10]^d` (LA-MCTS's Ackley-20 box) from unit-cube coordinates.
pub fn ackley_unit(u: &[f64]) -> f64 {
    let d = u.len() as f64;
    let x: Vec<f64> = u.iter().map(|v| -5.0 + 15.0 * v).collect();
    let s1 = x.iter().map(|v| v * v).sum::<f64>() / d;
    let s2 = x
        .iter()
        .map(|v| (2.0 * std::f64::consts::PI * v).cos())
        .sum::<f64>()
        / d;
    -20.0 * (-0.2 * s1.sqrt()).exp() - s2.exp() + 20.0 + std::f64::consts::E
}

fn uniform(rng: &mut Stream, n: usize) -> Vec<f64> {
    (0..n).map(|_| rng.uniform()).collect()
}

/// An SPD matrix like a GP's: squared-exponential kernel of `n` uniform points in `[0,1]^20`
/// (length scale 1) plus `1e-3` on the diagonal, row-major.
pub fn spd(n: usize) -> Vec<f64> {
    let mut rng = Stream::root("audit").child_n("spd", n as u64);
    let x = uniform(&mut rng, n * DIM);
    let mut k = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let r2: f64 = (0..DIM)
                .map(|t| (x[i * DIM + t] - x[j * DIM + t]).powi(2))
                .sum();
            let v = (-0.5 * r2).exp() + if i == j { 1e-3 } else { 0.0 };
            k[i * n + j] = v;
            k[j * n + i] = v;
        }
    }
    k
}

pub fn dir(arg: Option<&str>) -> PathBuf {
    match arg {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(
            std::env::var("SPACEPART_CACHE").unwrap_or_else(|_| "/var/cache/spacepart".into()),
        )
        .join("audit"),
    }
}

/// Write every input file under `dir`.
pub fn generate(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for n in LINALG_NS {
        write_f64(&dir.join(format!("spd_{n}.bin")), &spd(n))?;
        let mut rng = Stream::root("audit").child_n("rhs", n as u64);
        let b: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        write_f64(&dir.join(format!("rhs_{n}.bin")), &b)?;
    }
    // SVM / k-means: LA-MCTS's situation on Ackley-20 (points in the unit cube, values).
    let mut rng = Stream::root("audit").child("svm");
    let x = uniform(&mut rng, SVM_N * DIM);
    let f: Vec<f64> = x.chunks_exact(DIM).map(ackley_unit).collect();
    let q = uniform(&mut rng, SVM_N * DIM);
    write_f64(&dir.join("svm_x.bin"), &x)?;
    write_f64(&dir.join("svm_f.bin"), &f)?;
    write_f64(&dir.join("svm_q.bin"), &q)?;
    for n in GP_NS {
        let mut rng = Stream::root("audit").child_n("gp", n as u64);
        let x = uniform(&mut rng, n * DIM);
        let y: Vec<f64> = x.chunks_exact(DIM).map(ackley_unit).collect();
        write_f64(&dir.join(format!("gp_x{n}.bin")), &x)?;
        write_f64(&dir.join(format!("gp_y{n}.bin")), &y)?;
    }
    let mut rng = Stream::root("audit").child("gp-q");
    write_f64(&dir.join("gp_q.bin"), &uniform(&mut rng, GP_Q * DIM))?;
    Ok(())
}

/// SVM labels as LA-MCTS would give them: the better half (lower Ackley) is positive.
pub fn svm_labels(f: &[f64]) -> Vec<bool> {
    let mut s = f.to_vec();
    s.sort_by(f64::total_cmp);
    let med = s[s.len() / 2];
    f.iter().map(|v| *v < med).collect()
}
