//! Dense linear algebra: our `searchkit::linalg` (`Vec<Vec<f64>>` rows) against faer and
//! nalgebra, and faer's bits across instruction sets.

use crate::data::{read_f64, LINALG_NS};
use crate::table::{time_reps, Row};
use anyhow::{Context, Result};
use faer::linalg::solvers::{DenseSolveCore, Solve};
use std::hash::{Hash, Hasher};
use std::path::Path;

/// What each implementation returns for one matrix: `L`, `L^-1`, `K^-1` (row-major), `K^-1 b`,
/// `log det K`.
pub struct Outputs {
    pub l: Vec<f64>,
    pub linv: Vec<f64>,
    pub inv: Vec<f64>,
    pub solve: Vec<f64>,
    pub logdet: f64,
}

fn to_rows(k: &[f64], n: usize) -> Vec<Vec<f64>> {
    k.chunks_exact(n).map(<[f64]>::to_vec).collect()
}

fn unit(n: usize, j: usize) -> Vec<f64> {
    let mut e = vec![0.0; n];
    e[j] = 1.0;
    e
}

/// Ours. `L^-1` and `K^-1` column by column: `searchkit::linalg` has no matrix right-hand
/// sides (the GP's flat kernels in `learn/gp.rs` are private).
pub mod ours {
    use super::*;
    use searchkit::linalg;

    pub fn chol(k: &[f64], n: usize) -> Vec<Vec<f64>> {
        linalg::cholesky(&to_rows(k, n)).expect("SPD")
    }
    pub fn linv(l: &[Vec<f64>]) -> Vec<f64> {
        let n = l.len();
        let cols: Vec<Vec<f64>> = (0..n)
            .map(|j| linalg::solve_lower(l, &unit(n, j)))
            .collect();
        transpose_cols(&cols, n)
    }
    pub fn inv(l: &[Vec<f64>]) -> Vec<f64> {
        let n = l.len();
        let cols: Vec<Vec<f64>> = (0..n)
            .map(|j| linalg::cholesky_solve(l, &unit(n, j)))
            .collect();
        transpose_cols(&cols, n)
    }
    pub fn all(k: &[f64], b: &[f64], n: usize) -> Outputs {
        let l = chol(k, n);
        Outputs {
            linv: linv(&l),
            inv: inv(&l),
            solve: linalg::cholesky_solve(&l, b),
            logdet: linalg::cholesky_log_det(&l),
            l: l.concat(),
        }
    }
}

fn transpose_cols(cols: &[Vec<f64>], n: usize) -> Vec<f64> {
    let mut out = vec![0.0; n * n];
    for (j, c) in cols.iter().enumerate() {
        for i in 0..n {
            out[i * n + j] = c[i];
        }
    }
    out
}

pub mod fa {
    use super::*;
    use faer::{Mat, Par, Side};

    pub fn mat(k: &[f64], n: usize) -> Mat<f64> {
        Mat::from_fn(n, n, |i, j| k[i * n + j])
    }
    pub fn flat(m: faer::MatRef<'_, f64>) -> Vec<f64> {
        let (r, c) = (m.nrows(), m.ncols());
        (0..r * c).map(|t| m[(t / c, t % c)]).collect()
    }
    pub fn chol(a: &Mat<f64>) -> faer::linalg::solvers::Llt<f64> {
        a.llt(Side::Lower).expect("SPD")
    }
    pub fn linv(l: faer::MatRef<'_, f64>) -> Mat<f64> {
        let mut m = Mat::<f64>::identity(l.nrows(), l.nrows());
        faer::linalg::triangular_solve::solve_lower_triangular_in_place(l, m.as_mut(), Par::Seq);
        m
    }
    pub fn all(k: &[f64], b: &[f64], n: usize) -> Outputs {
        let llt = chol(&mat(k, n));
        let l = llt.L().to_owned();
        let mut x = Mat::from_fn(n, 1, |i, _| b[i]);
        llt.solve_in_place(x.as_mut());
        Outputs {
            linv: flat(linv(l.as_ref()).as_ref()),
            inv: flat(llt.inverse().as_ref()),
            solve: flat(x.as_ref()),
            logdet: 2.0 * (0..n).map(|i| l[(i, i)].ln()).sum::<f64>(),
            l: flat(l.as_ref()),
        }
    }
}

pub mod na {
    use super::*;
    use nalgebra::{DMatrix, DVector};

    pub fn mat(k: &[f64], n: usize) -> DMatrix<f64> {
        DMatrix::from_row_slice(n, n, k)
    }
    pub fn flat(m: &DMatrix<f64>) -> Vec<f64> {
        m.transpose().as_slice().to_vec()
    }
    pub fn all(k: &[f64], b: &[f64], n: usize) -> Outputs {
        let ch = mat(k, n).cholesky().expect("SPD");
        let l = ch.l();
        let linv = l
            .solve_lower_triangular(&DMatrix::identity(n, n))
            .expect("nonsingular");
        Outputs {
            linv: flat(&linv),
            inv: flat(&ch.inverse()),
            solve: ch.solve(&DVector::from_column_slice(b)).as_slice().to_vec(),
            logdet: 2.0 * (0..n).map(|i| l[(i, i)].ln()).sum::<f64>(),
            l: flat(&l),
        }
    }
}

/// `max |a - b| / max |b|` (normwise, max norm): elementwise ratios blow up on the tiny entries
/// of `L^-1` and `K^-1`.
pub fn maxrel(a: &[f64], b: &[f64]) -> f64 {
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((x - y).abs()));
    diff / scale
}

/// numpy / LAPACK's outputs for one matrix, written by the reference script.
fn numpy(dir: &Path, n: usize, reference: &serde_json::Value) -> Result<Option<Outputs>> {
    let p = |s: &str| dir.join(format!("np_{s}_{n}.bin"));
    if !p("chol").exists() {
        return Ok(None);
    }
    let logdet = reference["linalg"][n.to_string()]["logdet"]
        .as_f64()
        .context("reference.json: linalg.<n>.logdet")?;
    Ok(Some(Outputs {
        l: read_f64(&p("chol"))?,
        linv: read_f64(&p("linv"))?,
        inv: read_f64(&p("inv"))?,
        solve: read_f64(&p("solve"))?,
        logdet,
    }))
}

fn agreement(o: &Outputs, np: &Option<Outputs>) -> String {
    match np {
        None => "no numpy outputs".into(),
        Some(r) => format!(
            "L {:.1e}, L^-1 {:.1e}, K^-1 {:.1e}, K^-1 b {:.1e}, logdet {:.1e}",
            maxrel(&o.l, &r.l),
            maxrel(&o.linv, &r.linv),
            maxrel(&o.inv, &r.inv),
            maxrel(&o.solve, &r.solve),
            ((o.logdet - r.logdet) / r.logdet).abs()
        ),
    }
}

/// Times and agreement for every size in `ns`.
pub fn run(dir: &Path, reference: &serde_json::Value, ns: &[usize]) -> Result<Vec<Row>> {
    let mut rows = Vec::new();
    for &n in ns {
        let k = read_f64(&dir.join(format!("spd_{n}.bin")))?;
        let b = read_f64(&dir.join(format!("rhs_{n}.bin")))?;
        let np = numpy(dir, n, reference)?;
        let reps = if n >= 3000 {
            1
        } else if n >= 1000 {
            3
        } else {
            5
        };
        eprintln!("linalg n = {n}");
        // ours
        let t_chol = time_reps(reps, || ours::chol(&k, n));
        let l = ours::chol(&k, n);
        let ours_reps = if n >= 3000 { 1 } else { reps };
        let t_linv = time_reps(ours_reps, || ours::linv(&l));
        let t_inv = time_reps(ours_reps, || ours::inv(&l));
        rows.push(Row::linalg(
            "ours (searchkit::linalg)",
            n,
            [t_chol, t_linv, t_inv],
            agreement(&ours::all(&k, &b, n), &np),
        ));
        // faer
        let a = fa::mat(&k, n);
        let t_chol = time_reps(reps, || fa::chol(&a));
        let llt = fa::chol(&a);
        let t_linv = time_reps(reps, || fa::linv(llt.L()));
        let t_inv = time_reps(reps, || llt.inverse());
        rows.push(Row::linalg(
            "faer 0.24",
            n,
            [t_chol, t_linv, t_inv],
            agreement(&fa::all(&k, &b, n), &np),
        ));
        // nalgebra
        let a = na::mat(&k, n);
        let t_chol = time_reps(reps, || a.clone().cholesky().expect("SPD"));
        let ch = a.clone().cholesky().expect("SPD");
        let l = ch.l();
        let id = nalgebra::DMatrix::<f64>::identity(n, n);
        let t_linv = time_reps(reps, || l.solve_lower_triangular(&id));
        let t_inv = time_reps(reps, || ch.inverse());
        if let Some(r) = reference["linalg"].get(n.to_string()) {
            let t = |k: &str| {
                let v = &r[k];
                crate::table::Timing {
                    median: v["median"].as_f64().unwrap_or(f64::NAN),
                    min: v["min"].as_f64().unwrap_or(f64::NAN),
                    max: v["max"].as_f64().unwrap_or(f64::NAN),
                    reps: v["reps"].as_u64().unwrap_or(1) as usize,
                }
            };
            rows.push(Row::linalg(
                "numpy / scipy (LAPACK: OpenBLAS, 1 thread; the reference)",
                n,
                [t("time_chol"), t("time_linv"), t("time_inv")],
                "—".into(),
            ));
        }
        rows.push(Row::linalg(
            "nalgebra 0.35",
            n,
            [t_chol, t_linv, t_inv],
            agreement(&na::all(&k, &b, n), &np),
        ));
    }
    Ok(rows)
}

fn digest(v: &[f64]) -> u64 {
    let mut h = std::hash::DefaultHasher::new();
    for x in v {
        x.to_bits().hash(&mut h);
    }
    h.finish()
}

/// Print what this CPU offers and digests of faer's (and our) outputs, so that runs under
/// different instruction sets (natively, `qemu-x86_64 -cpu ...`) can be compared bit for bit.
pub fn bits(dir: &Path, ns: &[usize], with_ours: bool) -> Result<()> {
    let feats = ["sse4.2", "avx", "avx2", "fma", "avx512f"]
        .iter()
        .filter(|f| match **f {
            "sse4.2" => std::arch::is_x86_feature_detected!("sse4.2"),
            "avx" => std::arch::is_x86_feature_detected!("avx"),
            "avx2" => std::arch::is_x86_feature_detected!("avx2"),
            "fma" => std::arch::is_x86_feature_detected!("fma"),
            _ => std::arch::is_x86_feature_detected!("avx512f"),
        })
        .copied()
        .collect::<Vec<_>>();
    println!("features: {}", feats.join(" "));
    for &n in ns {
        let k = read_f64(&dir.join(format!("spd_{n}.bin")))?;
        let b = read_f64(&dir.join(format!("rhs_{n}.bin")))?;
        let mut sets = vec![("faer", fa::all(&k, &b, n))];
        if with_ours {
            sets.push(("ours", ours::all(&k, &b, n)));
        }
        for (name, o) in sets {
            println!(
                "{name} n={n} L={:016x} Linv={:016x} inv={:016x} solve={:016x} logdet={:016x}",
                digest(&o.l),
                digest(&o.linv),
                digest(&o.inv),
                digest(&o.solve),
                o.logdet.to_bits()
            );
        }
    }
    Ok(())
}

pub const DEFAULT_NS: [usize; 3] = LINALG_NS;
