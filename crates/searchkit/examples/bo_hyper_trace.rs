//! BO's GP hyperparameters along a run: replays the BO baseline of
//! `lamcts-ackley-100` (the config's settings and the run's own random
//! stream, so the values match `results/lamcts-ackley-100/runs/bo-s<seed>`)
//! and prints, after each ask, the best f so far and the last fit's length
//! scales (min / median / max), outputscale and noise.
//!
//! ```text
//! cargo run --release -p searchkit --example bo_hyper_trace -- 3 90
//! ```
//!
//! Seed 3 shows why that run stalls at the random-search level: its first fit
//! has noise at the lower bound and many short length scales, so the kernel
//! matrix is nearly the identity and EI is flat away from the data; the
//! warm-started refits (`refit_every = 5, warm_iters = 20`) never leave it.

use searchkit::baselines::{GpBo, GpBoConfig};
use searchkit::functions::Ackley;
use searchkit::prelude::*;

fn main() {
    let arg = |i: usize, default: usize| {
        std::env::args().nth(i).map_or(default, |s| {
            s.parse()
                .expect("usage: bo_hyper_trace [seed] [evaluations]")
        })
    };
    let (seed, budget) = (arg(1, 3) as u64, arg(2, 90));
    let problem = Ackley::new(100);
    // paper_configs/lamcts/lamcts-ackley-100.toml, method "BO".
    let cfg = GpBoConfig {
        n_init: 40,
        refit_every: 5,
        warm_iters: 20,
        ..GpBoConfig::default()
    };
    let mut opt = GpBo::with_config(problem.space().clone(), cfg);
    let mut rng = Stream::for_run("lamcts-ackley-100", "BO", seed);
    let (mut n, mut best) = (0, f64::INFINITY);
    // The loop of `searchkit::optimizer::run`, by hand: an `Observer` sees the
    // trace, not the optimizer, and the fit lives in the optimizer.
    while n < budget {
        let xs = opt.ask(&mut rng);
        let raws = problem.evaluate_batch(&xs);
        let told: Vec<_> = xs
            .into_iter()
            .zip(raws)
            .map(|(x, raw)| {
                best = best.min(raw[0]);
                Evaluated {
                    x,
                    y: problem.oriented(&raw),
                }
            })
            .collect();
        n += told.len();
        opt.tell(&told, &mut rng);
        if let Some(h) = opt.last_hyper() {
            let mut ls = h.lengthscales.clone();
            ls.sort_by(f64::total_cmp);
            println!(
                "n={n} best f {best:.3}  length scales {:.4} / {:.4} / {:.4}  outputscale {:.3}  noise {:.2e}",
                ls[0],
                ls[ls.len() / 2],
                ls[ls.len() - 1],
                h.outputscale,
                h.noise
            );
        }
    }
}
