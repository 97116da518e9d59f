//! The `Optimizer` contract that paired designs rely on: points told
//! before the first ask are the optimiser's design, or its first part, and
//! only the missing rest is drawn.

use searchkit::baselines::{
    CmaEs, GpBo, GpBoConfig, Qehvi, QehviConfig, RandomSearch, Turbo1, TurboConfig,
};
use searchkit::functions::{BraninCurrin, Sphere};
use searchkit::optimizer::WithDesign;
use searchkit::prelude::*;

/// Asks, evaluates and tells `asks` batches of `opt` on `problem`; the
/// batch sizes.
fn batch_sizes<P: Problem<Space = BoxSpace>>(
    problem: &P,
    opt: &mut dyn Optimizer<Vec<f64>>,
    asks: usize,
) -> Vec<usize> {
    let mut rng = Stream::root("prescribed-design");
    let mut sizes = vec![];
    for _ in 0..asks {
        let xs = opt.ask(&mut rng);
        sizes.push(xs.len());
        let told: Vec<_> = xs
            .into_iter()
            .map(|x| {
                let y = problem
                    .evaluate(&x)
                    .iter()
                    .zip(problem.senses())
                    .map(|(v, s)| if s == Sense::Minimize { -v } else { *v })
                    .collect();
                Evaluated { x, y }
            })
            .collect();
        opt.tell(&told, &mut rng);
    }
    sizes
}

fn design(space: &BoxSpace, n: usize) -> Vec<Vec<f64>> {
    space.latin_hypercube(n, &mut Stream::root("shared design"))
}

#[test]
fn model_based_optimisers_top_up_a_short_design() {
    let p = Sphere::new(3);
    let s = p.space().clone();
    let cfg = GpBoConfig {
        n_init: 8,
        ..GpBoConfig::default()
    };
    let mut bo = WithDesign::new(design(&s, 3), GpBo::with_config(s.clone(), cfg.clone()));
    assert_eq!(batch_sizes(&p, &mut bo, 3), [3, 5, cfg.batch_size.max(1)]);
    let mut bo = WithDesign::new(design(&s, 10), GpBo::with_config(s.clone(), cfg.clone()));
    assert_eq!(batch_sizes(&p, &mut bo, 2), [10, cfg.batch_size.max(1)]);

    let mut turbo = WithDesign::new(
        design(&s, 3),
        Turbo1::new(s.clone(), 8, 1, TurboConfig::default()),
    );
    assert_eq!(batch_sizes(&p, &mut turbo, 3), [3, 5, 1]);
    let mut turbo = WithDesign::new(
        design(&s, 8),
        Turbo1::new(s.clone(), 8, 1, TurboConfig::default()),
    );
    assert_eq!(batch_sizes(&p, &mut turbo, 2), [8, 1]);

    let bc = BraninCurrin::new();
    let bs = bc.space().clone();
    let q = QehviConfig {
        n_init: 6,
        raw_samples: 64,
        restarts: 2,
        mc_samples: 16,
        ..QehviConfig::default()
    };
    let reference = bc.reference_point().unwrap();
    let mut qehvi = WithDesign::new(design(&bs, 4), Qehvi::new(bs.clone(), reference, q.clone()));
    assert_eq!(batch_sizes(&bc, &mut qehvi, 3), [4, 2, q.q]);
}

#[test]
fn optimisers_without_a_design_go_on_as_usual() {
    let p = Sphere::new(3);
    let s = p.space().clone();
    let mut random = WithDesign::new(design(&s, 3), RandomSearch::new(s.clone(), 1));
    assert_eq!(batch_sizes(&p, &mut random, 3), [3, 1, 1]);
    let mut cma = WithDesign::new(design(&s, 3), CmaEs::new(s.clone(), None, 0.3, Some(6)));
    assert_eq!(batch_sizes(&p, &mut cma, 3), [3, 6, 6]);
}
