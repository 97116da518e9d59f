//! `searchkit::learn::gp::Gp` against egobox-gp, with scikit-learn's GaussianProcessRegressor
//! (ConstantKernel * Matern(2.5, ARD) + WhiteKernel, normalize_y) as the reference.
//!
//! What each fits differs: ours and scikit-learn maximise the same likelihood (Euclidean ARD
//! Matérn-5/2, outputscale, noise) from the same start inside the same box, ours with our L-BFGS
//! and analytic gradients, scikit-learn with scipy's L-BFGS-B. egobox-gp is a Kriging model (SMT's
//! lineage): constant mean estimated by generalised least squares, variance profiled out, a fixed
//! tiny nugget, and its `Matern52Corr` is a *product* of one-dimensional Matérn-5/2 factors (not
//! a function of the Euclidean distance), fitted by COBYLA without gradients on log10 theta. So
//! only its predictions compare with the others, not its likelihood.

use crate::data::{read_f64, rows, DIM, GP_NS};
use crate::table::{time_reps, Row};
use anyhow::{Context, Result};
use egobox_gp::correlation_models::Matern52Corr;
use egobox_gp::mean_models::ConstantMean;
use egobox_gp::GaussianProcess;
use linfa::prelude::*;
use ndarray::{Array1, Array2};
use searchkit::learn::gp::{Gp, GpConfig, Hyper};
use searchkit::rng::Stream;
use std::path::Path;

fn start() -> Hyper {
    Hyper {
        lengthscales: vec![0.5; DIM],
        outputscale: 1.0,
        noise: 0.005,
    }
}

fn mean_agreement(mu: &[f64], r: &serde_json::Value, y: &[f64]) -> String {
    let Some(rm) = r["mean"].as_array() else {
        return "no reference".into();
    };
    let rm: Vec<f64> = rm.iter().filter_map(serde_json::Value::as_f64).collect();
    let m = y.iter().sum::<f64>() / y.len() as f64;
    let sd = (y.iter().map(|v| (v - m).powi(2)).sum::<f64>() / y.len() as f64).sqrt();
    let diff = mu
        .iter()
        .zip(&rm)
        .fold(0.0f64, |a, (p, q)| a.max((p - q).abs()));
    format!(
        "predicted means vs scikit-learn: max abs diff {:.1e} std(y) over {} points",
        diff / sd,
        rm.len()
    )
}

pub fn run(dir: &Path, reference: &serde_json::Value, ns: &[usize]) -> Result<Vec<Row>> {
    let q = rows(&read_f64(&dir.join("gp_q.bin"))?, DIM);
    let mut out = Vec::new();
    for &n in ns {
        if !GP_NS.contains(&n) {
            continue;
        }
        eprintln!("gp n = {n}");
        let x = read_f64(&dir.join(format!("gp_x{n}.bin")))?;
        let y = read_f64(&dir.join(format!("gp_y{n}.bin")))?;
        let xr = rows(&x, DIM);
        let r = &reference["gp"][n.to_string()];
        let case = format!("{n} x {DIM}, Ackley-20");

        // Ours: one L-BFGS run from the common start (scikit-learn: n_restarts_optimizer = 0).
        let fixed = Gp::with_hyperparameters(&xr, &y, start()).context("our GP")?;
        let t_fixed = time_reps(3, || {
            Gp::with_hyperparameters(&xr, &y, start()).expect("GP")
        });
        let cfg = GpConfig {
            restarts: 0,
            start: Some(start()),
            ..GpConfig::default()
        };
        let reps = if n >= 1000 { 1 } else { 3 };
        let t = time_reps(reps, || {
            Gp::fit(&xr, &y, &cfg, &mut Stream::root("audit").child("gp")).expect("fit")
        });
        let gp =
            Gp::fit(&xr, &y, &cfg, &mut Stream::root("audit").child("gp")).context("our GP fit")?;
        let mu: Vec<f64> = q.iter().map(|p| gp.predict(p).0).collect();
        let lml_ref = |k: &str| r[k].as_f64().map_or("?".into(), |v| format!("{v:.4}"));
        out.push(Row::new(
            "GP (Matérn-5/2 ARD)",
            "ours (searchkit::learn::gp::Gp)",
            case.clone(),
            format!(
                "fit {t} (one L-BFGS run, 100 iterations max); with_hyperparameters (kernel matrix, Cholesky, L^-1 with the GP's own flat kernels) {t_fixed}"
            ),
            format!(
                "LML at the start {:.4} vs scikit-learn {}; fitted LML {:.4} vs scikit-learn {} ({}); {}",
                fixed.log_marginal_likelihood(),
                lml_ref("lml_at_start"),
                gp.log_marginal_likelihood(),
                lml_ref("lml"),
                r["time_fit"]["median"].as_f64().map_or("no time".into(), |s| format!("scikit-learn fit {s:.2} s")),
                mean_agreement(&mu, r, &y)
            ),
        ));

        // egobox-gp: one COBYLA start (n_start 0: its random restarts draw from entropy).
        let xa = Array2::from_shape_vec((n, DIM), x.clone())?;
        let ds = Dataset::new(xa, Array1::from_vec(y.clone()));
        let params = GaussianProcess::<f64, ConstantMean, Matern52Corr>::params(
            ConstantMean::default(),
            Matern52Corr::default(),
        )
        .n_start(0);
        let t = time_reps(1, || params.clone().fit(&ds).expect("fit"));
        let eg = params.fit(&ds).context("egobox-gp")?;
        let qa = Array2::from_shape_vec((q.len(), DIM), q.concat())?;
        let mu = eg.predict(&qa).context("egobox predict")?.to_vec();
        out.push(Row::new(
            "GP (Matérn-5/2 ARD)",
            "egobox-gp 0.37 (product Matérn-5/2, Kriging)",
            case,
            format!(
                "fit {t} (one COBYLA run, {} evaluations max)",
                (10 * DIM).clamp(25, 1000)
            ),
            format!(
                "reduced likelihood {:.4} (not comparable); {}",
                eg.likelihood(),
                mean_agreement(&mu, r, &y)
            ),
        ));
    }
    Ok(out)
}
