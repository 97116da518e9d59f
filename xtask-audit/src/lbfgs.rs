//! Our projected L-BFGS (`searchkit::learn::lbfgs::minimize_box`) against argmin's L-BFGS
//! (More-Thuente line search), with scipy's L-BFGS-B as the reference: Rosenbrock-10 from the
//! classic start and a squared-exponential ARD GP's negative log likelihood (100 points, 5
//! inputs, 7 log-hyperparameters, start 0), the same function in `reference.py`.

use crate::data::{read_f64, DIM};
use crate::table::{time_reps, Row};
use anyhow::Result;
use argmin::core::{CostFunction, Executor, Gradient, State};
use argmin::solver::linesearch::MoreThuenteLineSearch;
use argmin::solver::quasinewton::LBFGS;
use searchkit::learn::lbfgs::{minimize_box, LbfgsOptions};
use searchkit::linalg;
use std::path::Path;

pub fn rosen(x: &[f64], g: &mut [f64]) -> f64 {
    let n = x.len();
    g.iter_mut().for_each(|v| *v = 0.0);
    let mut f = 0.0;
    for i in 0..n - 1 {
        let a = x[i + 1] - x[i] * x[i];
        let b = 1.0 - x[i];
        f += 100.0 * a * a + b * b;
        g[i] += -400.0 * x[i] * a - 2.0 * b;
        g[i + 1] += 200.0 * a;
    }
    f
}

/// The GP objective: targets standardised (ddof 0), `theta = (log l_1..5, log sf2, log sn2)`.
pub struct GpNll {
    x: Vec<Vec<f64>>,
    y: Vec<f64>,
}

impl GpNll {
    pub fn load(dir: &Path) -> Result<GpNll> {
        let x = read_f64(&dir.join("gp_x300.bin"))?;
        let y = read_f64(&dir.join("gp_y300.bin"))?;
        let x: Vec<Vec<f64>> = (0..100).map(|i| x[i * DIM..i * DIM + 5].to_vec()).collect();
        let y = &y[..100];
        let m = y.iter().sum::<f64>() / 100.0;
        let sd = (y.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 100.0).sqrt();
        Ok(GpNll {
            x,
            y: y.iter().map(|v| (v - m) / sd).collect(),
        })
    }

    pub fn eval(&self, th: &[f64], g: &mut [f64]) -> f64 {
        let n = self.y.len();
        let ls: Vec<f64> = th[..5].iter().map(|v| v.exp()).collect();
        let (sf2, sn2) = (th[5].exp(), th[6].exp());
        let d2 =
            |i: usize, j: usize, k: usize| (self.x[i][k] - self.x[j][k]).powi(2) / (ls[k] * ls[k]);
        let mut kf = vec![vec![0.0; n]; n];
        for i in 0..n {
            for j in 0..n {
                kf[i][j] = sf2 * (-0.5 * (0..5).map(|k| d2(i, j, k)).sum::<f64>()).exp();
            }
        }
        let mut kk = kf.clone();
        for (i, r) in kk.iter_mut().enumerate() {
            r[i] += sn2;
        }
        let Some(l) = linalg::cholesky(&kk) else {
            return f64::INFINITY;
        };
        let a = linalg::cholesky_solve(&l, &self.y);
        let nll = 0.5 * self.y.iter().zip(&a).map(|(p, q)| p * q).sum::<f64>()
            + 0.5 * linalg::cholesky_log_det(&l)
            + 0.5 * n as f64 * (2.0 * std::f64::consts::PI).ln();
        // W = K^-1 - a a^T, column by column (K^-1 is symmetric).
        let mut w = vec![vec![0.0; n]; n];
        for j in 0..n {
            let mut e = vec![0.0; n];
            e[j] = 1.0;
            let c = linalg::cholesky_solve(&l, &e);
            for i in 0..n {
                w[i][j] = c[i] - a[i] * a[j];
            }
        }
        g.iter_mut().for_each(|v| *v = 0.0);
        for i in 0..n {
            for j in 0..n {
                let wk = w[i][j] * kf[i][j];
                for k in 0..5 {
                    g[k] += 0.5 * wk * d2(i, j, k);
                }
                g[5] += 0.5 * wk;
            }
            g[6] += 0.5 * sn2 * w[i][i];
        }
        nll
    }
}

/// An objective with its gradient, as both optimisers take it.
type Func<'a> = dyn Fn(&[f64], &mut [f64]) -> f64 + Sync + 'a;

struct Argmin<F: Fn(&[f64], &mut [f64]) -> f64>(F);

impl<F: Fn(&[f64], &mut [f64]) -> f64> CostFunction for Argmin<F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, argmin::core::Error> {
        let mut g = vec![0.0; p.len()];
        Ok((self.0)(p, &mut g))
    }
}

impl<F: Fn(&[f64], &mut [f64]) -> f64> Gradient for Argmin<F> {
    type Param = Vec<f64>;
    type Gradient = Vec<f64>;
    fn gradient(&self, p: &Vec<f64>) -> Result<Vec<f64>, argmin::core::Error> {
        let mut g = vec![0.0; p.len()];
        (self.0)(p, &mut g);
        Ok(g)
    }
}

struct Outcome {
    f: f64,
    x: Vec<f64>,
    iters: u64,
    evals: u64,
}

fn ours(f: &dyn Fn(&[f64], &mut [f64]) -> f64, x0: &[f64]) -> Outcome {
    let n = x0.len();
    let opts = LbfgsOptions {
        max_iters: 15_000,
        ..LbfgsOptions::default()
    };
    let r = minimize_box(f, x0, &vec![-30.0; n], &vec![30.0; n], &opts);
    Outcome {
        f: r.f,
        x: r.x,
        iters: r.iters as u64,
        evals: r.evals as u64,
    }
}

fn argmin_run(f: &(dyn Fn(&[f64], &mut [f64]) -> f64 + Sync), x0: &[f64]) -> Result<Outcome> {
    // scipy's defaults: memory 10, gradient tolerance 1e-5, cost tolerance 1e7 * eps.
    let solver = LBFGS::new(MoreThuenteLineSearch::new(), 10)
        .with_tolerance_grad(1e-5)?
        .with_tolerance_cost(1e7 * f64::EPSILON)?;
    let res = Executor::new(Argmin(f), solver)
        .configure(|s| s.param(x0.to_vec()).max_iters(15_000).counting(true))
        .run()?;
    let st = res.state();
    let counts = st.get_func_counts();
    Ok(Outcome {
        f: st.get_best_cost(),
        x: st.get_best_param().cloned().unwrap_or_default(),
        iters: st.get_iter(),
        evals: counts.get("cost_count").copied().unwrap_or(0)
            + counts.get("gradient_count").copied().unwrap_or(0),
    })
}

fn agree(o: &Outcome, r: &serde_json::Value, f: &dyn Fn(&[f64], &mut [f64]) -> f64) -> String {
    let (Some(fr), Some(x)) = (r["f"].as_f64(), r["x"].as_array()) else {
        return format!("f = {:.6e}; no reference", o.f);
    };
    let xr: Vec<f64> = x.iter().filter_map(serde_json::Value::as_f64).collect();
    let dx =
        o.x.iter()
            .zip(&xr)
            .fold(0.0f64, |m, (a, b)| m.max((a - b).abs()));
    // The same function in Rust at scipy's optimum: both sides minimise one function.
    let mut g = vec![0.0; xr.len()];
    let at_ref = f(&xr, &mut g);
    format!(
        "f = {:.6e} vs scipy {:.6e} ({} iterations, {} evaluations, {:.2} ms; our f at scipy's x {:.6e}); max |x - x_scipy| {:.1e}",
        o.f,
        fr,
        r["nit"],
        r["nfev"],
        r["time"]["median"].as_f64().unwrap_or(f64::NAN) * 1e3,
        at_ref,
        dx
    )
}

pub fn run(dir: &Path, reference: &serde_json::Value) -> Result<Vec<Row>> {
    let nll = GpNll::load(dir)?;
    let gp = |x: &[f64], g: &mut [f64]| nll.eval(x, g);
    let x0r: Vec<f64> = (0..10)
        .map(|i| if i % 2 == 0 { -1.2 } else { 1.0 })
        .collect();
    let cases: [(&str, &Func<'_>, Vec<f64>, &str); 2] = [
        (
            "Rosenbrock-10 from (-1.2, 1, ...)",
            &rosen,
            x0r,
            "rosenbrock",
        ),
        (
            "GP NLL (SE ARD, 100 x 5, 7 parameters) from 0",
            &gp,
            vec![0.0; 7],
            "gp_nll",
        ),
    ];
    let mut out = Vec::new();
    for (case, f, x0, key) in cases {
        let r = &reference["lbfgs"][key];
        let t = time_reps(3, || ours(f, &x0));
        let o = ours(f, &x0);
        out.push(Row::new(
            "L-BFGS",
            "ours (searchkit::learn::lbfgs, projected; box [-30, 30])",
            case,
            format!("{t}; {} iterations, {} evaluations", o.iters, o.evals),
            agree(&o, r, f),
        ));
        let t = time_reps(3, || argmin_run(f, &x0).expect("argmin"));
        let o = argmin_run(f, &x0)?;
        out.push(Row::new(
            "L-BFGS",
            "argmin 0.11 (L-BFGS, More-Thuente)",
            case,
            format!(
                "{t}; {} iterations, {} cost + gradient calls",
                o.iters, o.evals
            ),
            agree(&o, r, f),
        ));
    }
    Ok(out)
}
