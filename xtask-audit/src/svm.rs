//! `searchkit::learn::{Svc, KMeans}` against linfa-svm and linfa-clustering, on LA-MCTS's
//! situation (1,000 Ackley-20 samples; SVC rbf, gamma "auto" = 1/d, C = 1; k-means with k = 2
//! on (x, f(x)), 10 restarts).

use crate::data::{read_f64, rows, svm_labels, DIM};
use crate::table::{time_reps, Row};
use anyhow::{Context, Result};
use linfa::prelude::*;
use ndarray::{Array1, Array2};
use searchkit::learn::kmeans::KMeans;
use searchkit::learn::svm::{Gamma, KernelKind, Svc, SvcParams};
use searchkit::rng::Stream;
use std::path::Path;

fn json_f64s(v: &serde_json::Value, key: &str) -> Option<Vec<f64>> {
    v.as_array()?
        .iter()
        .map(serde_json::Value::as_f64)
        .collect::<Option<Vec<_>>>()
        .or_else(|| {
            eprintln!("reference: {key} is not a list of numbers");
            None
        })
}

fn agreement(dec: &[f64], reference: Option<&[f64]>) -> String {
    let Some(r) = reference else {
        return "no reference".into();
    };
    let scale = r.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = dec
        .iter()
        .zip(r)
        .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    let same = dec
        .iter()
        .zip(r)
        .filter(|(a, b)| (**a >= 0.0) == (**b >= 0.0))
        .count();
    format!(
        "decision values: max abs diff {:.2e} (= {:.1e} of the largest |value|); predictions agree on {same}/{}",
        diff,
        diff / scale,
        r.len()
    )
}

pub fn run_svm(dir: &Path, reference: &serde_json::Value) -> Result<Vec<Row>> {
    let x = read_f64(&dir.join("svm_x.bin"))?;
    let f = read_f64(&dir.join("svm_f.bin"))?;
    let q = read_f64(&dir.join("svm_q.bin"))?;
    let labels = svm_labels(&f);
    let (xr, qr) = (rows(&x, DIM), rows(&q, DIM));
    let sk = json_f64s(&reference["svm"]["decision"], "svm.decision");
    let sk_t = |k: &str| {
        reference["svm"][k]["median"]
            .as_f64()
            .map_or("?".into(), crate::table::secs)
    };
    let case = format!(
        "fit {} x {DIM}; decisions on {} points (scikit-learn: fit {}, decision_function {}, {} SVs)",
        xr.len(),
        qr.len(),
        sk_t("time_fit"),
        sk_t("time_decision"),
        reference["svm"]["n_support"]
    );
    let mut out = Vec::new();

    let params = SvcParams {
        kernel: KernelKind::Rbf,
        gamma: Gamma::Auto,
        c: 1.0,
        ..SvcParams::default()
    };
    let t_fit = time_reps(3, || Svc::fit(&params, &xr, &labels).expect("fit"));
    let svc = Svc::fit(&params, &xr, &labels).context("our Svc")?;
    let t_dec = time_reps(5, || {
        qr.iter()
            .map(|p| svc.decision_function(p))
            .collect::<Vec<_>>()
    });
    let qrefs: Vec<&[f64]> = qr.iter().map(Vec::as_slice).collect();
    let t_pred = time_reps(5, || svc.predict_many(&qrefs));
    let dec: Vec<f64> = qr.iter().map(|p| svc.decision_function(p)).collect();
    out.push(Row::new(
        "SVM (SVC rbf)",
        "ours (searchkit::learn::svm::Svc)",
        case.clone(),
        format!(
            "fit {t_fit}; decision_function {t_dec}; predict_many {t_pred}; {} SVs",
            svc.n_support()
        ),
        agreement(&dec, sk.as_deref()),
    ));

    // linfa-svm: Gaussian kernel exp(-|x - y|^2 / eps), so eps = 1 / gamma = d; libsvm's
    // tolerance 1e-3 (linfa's default is 1e-7).
    let xa = Array2::from_shape_vec((xr.len(), DIM), x.clone())?;
    let qa = Array2::from_shape_vec((qr.len(), DIM), q.clone())?;
    let ds = Dataset::new(xa, Array1::from_vec(labels.clone()));
    let p = linfa_svm::Svm::<f64, bool>::params()
        .gaussian_kernel(DIM as f64)
        .pos_neg_weights(1.0, 1.0)
        .eps(1e-3);
    let t_fit = time_reps(3, || p.fit(&ds).expect("fit"));
    let model = p.fit(&ds).context("linfa-svm")?;
    let t_dec = time_reps(5, || {
        qa.outer_iter()
            .map(|r| model.weighted_sum(&r) - model.rho)
            .collect::<Vec<_>>()
    });
    let t_pred = time_reps(5, || model.predict(&qa));
    let dec: Vec<f64> = qa
        .outer_iter()
        .map(|r| model.weighted_sum(&r) - model.rho)
        .collect();
    out.push(Row::new(
        "SVM (SVC rbf)",
        "linfa-svm 0.8",
        case,
        format!(
            "fit {t_fit}; weighted_sum - rho {t_dec}; predict {t_pred}; {} SVs",
            model.nsupport()
        ),
        agreement(&dec, sk.as_deref()),
    ));
    Ok(out)
}

/// `sum_i |x_i - c_{label_i}|^2`, computed the same way for every implementation.
fn inertia(x: &[Vec<f64>], labels: &[usize]) -> f64 {
    let d = x[0].len();
    let k = labels.iter().max().map_or(0, |m| m + 1);
    let mut c = vec![vec![0.0; d]; k];
    let mut cnt = vec![0usize; k];
    for (p, &l) in x.iter().zip(labels) {
        cnt[l] += 1;
        for t in 0..d {
            c[l][t] += p[t];
        }
    }
    for (ci, n) in c.iter_mut().zip(&cnt) {
        ci.iter_mut().for_each(|v| *v /= (*n).max(1) as f64);
    }
    x.iter()
        .zip(labels)
        .map(|(p, &l)| {
            p.iter()
                .zip(&c[l])
                .map(|(a, b)| (a - b).powi(2))
                .sum::<f64>()
        })
        .sum()
}

fn km_agreement(x: &[Vec<f64>], labels: &[usize], reference: &serde_json::Value) -> String {
    let mine = inertia(x, labels);
    let (Some(inr), Some(lr)) = (
        reference["kmeans"]["inertia"].as_f64(),
        reference["kmeans"]["labels"].as_array(),
    ) else {
        return format!("inertia {mine:.6e}; no reference");
    };
    let lr: Vec<usize> = lr
        .iter()
        .filter_map(|v| v.as_u64().map(|u| u as usize))
        .collect();
    let same = labels.iter().zip(&lr).filter(|(a, b)| a == b).count();
    let agree = same.max(labels.len() - same);
    format!(
        "inertia {mine:.6e} vs scikit-learn {inr:.6e} (rel. diff {:.1e}); labels agree on {agree}/{} (up to swapping the two)",
        ((mine - inr) / inr).abs(),
        labels.len()
    )
}

pub fn run_kmeans(dir: &Path, reference: &serde_json::Value) -> Result<Vec<Row>> {
    let x = read_f64(&dir.join("svm_x.bin"))?;
    let f = read_f64(&dir.join("svm_f.bin"))?;
    let z: Vec<Vec<f64>> = rows(&x, DIM)
        .into_iter()
        .zip(&f)
        .map(|(mut r, v)| {
            r.push(*v);
            r
        })
        .collect();
    let case = format!(
        "k = 2, 10 restarts, on {} x {} (x, f(x)) (scikit-learn: fit {})",
        z.len(),
        DIM + 1,
        reference["kmeans"]["time_fit"]["median"]
            .as_f64()
            .map_or("?".into(), crate::table::secs)
    );
    let km = KMeans::new(2);
    let t = time_reps(3, || km.fit(&z, &mut Stream::root("audit").child("kmeans")));
    let fit = km.fit(&z, &mut Stream::root("audit").child("kmeans"));
    let mut out = vec![Row::new(
        "k-means",
        "ours (searchkit::learn::kmeans::KMeans)",
        case.clone(),
        format!("fit {t}"),
        km_agreement(&z, &fit.labels, reference),
    )];
    let za = Array2::from_shape_vec((z.len(), DIM + 1), z.concat())?;
    let ds = DatasetBase::from(za.clone());
    let p = linfa_clustering::KMeans::params(2)
        .n_runs(10)
        .max_n_iterations(300)
        .tolerance(1e-4);
    let t = time_reps(3, || p.fit(&ds).expect("fit"));
    let model = p.fit(&ds).context("linfa-clustering")?;
    let labels: Vec<usize> = model.predict(&za).to_vec();
    out.push(Row::new(
        "k-means",
        "linfa-clustering 0.8",
        case,
        format!("fit {t}"),
        km_agreement(&z, &labels, reference),
    ));
    Ok(out)
}
