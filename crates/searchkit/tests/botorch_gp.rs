//! Our MAP fit under BoTorch's priors ([`GpConfig::botorch`]) against
//! BoTorch 0.3.3's own `SingleTaskGP` fits (LaMOO's era) on fixed data sets:
//! `data/lamoo/botorch-gp-reference.json`, written by
//! `xtask/python-reference/lamoo/gp_reference.py`.

use searchkit::learn::{Gp, GpConfig};
use searchkit::rng::Stream;
use serde_json::Value;

const REFERENCE: &str = include_str!("../../../data/lamoo/botorch-gp-reference.json");

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

#[test]
fn map_fit_matches_botorch_hyperparameters() {
    let doc: Value = serde_json::from_str(REFERENCE).unwrap();
    let mut worst: f64 = 0.0;
    for case in doc["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let x: Vec<Vec<f64>> = case["x"].as_array().unwrap().iter().map(floats).collect();
        let y: Vec<Vec<f64>> = case["y"].as_array().unwrap().iter().map(floats).collect();
        for (k, out) in case["outputs"].as_array().unwrap().iter().enumerate() {
            let yk: Vec<f64> = y.iter().map(|r| r[k]).collect();
            let gp = Gp::fit(
                &x,
                &yk,
                &GpConfig::botorch(),
                &mut Stream::root("botorch-gp"),
            )
            .unwrap();
            let h = gp.hyper();
            let ls = floats(&out["lengthscale"]);
            let (os, noise) = (
                out["outputscale"].as_f64().unwrap(),
                out["noise"].as_f64().unwrap(),
            );
            let log_err = |a: f64, b: f64| (a.ln() - b.ln()).abs();
            let errs: Vec<f64> = h
                .lengthscales
                .iter()
                .zip(&ls)
                .map(|(a, b)| log_err(*a, *b))
                .chain([log_err(h.outputscale, os)])
                .collect();
            let e = errs.iter().copied().fold(0.0, f64::max);
            println!(
                "{name} output {k}: ours ls {:?} os {:.4} noise {:.3e}; botorch ls {ls:?} os {os:.4} noise {noise:.3e}; max |log ratio| {e:.3}",
                h.lengthscales, h.outputscale, h.noise
            );
            worst = worst.max(e);
            // The noise sits at its lower bound on smooth data; elsewhere
            // it agrees like the rest.
            assert!(
                log_err(h.noise, noise) < 0.15,
                "{name} output {k}: noise {} vs {noise}",
                h.noise
            );
        }
    }
    println!("worst |log ratio| of length scales and outputscale: {worst:.3}");
    // Measured 0.097 (the outputscale of `branincurrin-lattice30`, where
    // BoTorch's fitted constant mean (-3.5 in standardised units) absorbs part of the signal; our GP has a zero mean on
    // standardised targets). Everything else agrees within 3%.
    assert!(worst < 0.15, "worst |log ratio| {worst}");
}
