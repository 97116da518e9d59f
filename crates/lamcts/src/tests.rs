use super::*;
use searchkit::baselines::RandomSearch;
use searchkit::functions::Ackley;
use searchkit::optimizer::run;
use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::problem::Problem;
use searchkit::rng::Stream;
use searchkit::space::BoxSpace;

fn best_raw(trace: &searchkit::optimizer::Trace<Vec<f64>>) -> f64 {
    trace
        .entries
        .iter()
        .map(|e| e.raw[0])
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn beats_random_search_on_ackley10() {
    let problem = Ackley::new(10);
    let seeds = 4;
    let (mut la, mut rs) = (0.0, 0.0);
    for seed in 0..seeds {
        let mut opt = LaMcts::new(
            problem.space().clone(),
            LaMctsConfig::ackley(),
            RandomRegion::default(),
        )
        .unwrap();
        let mut rng = Stream::for_run("lamcts-test", "lamcts", seed);
        la += best_raw(&run(&problem, &mut opt, 300, &mut rng, &mut []));
        let mut rand = RandomSearch::new(problem.space().clone(), 10);
        let mut rng = Stream::for_run("lamcts-test", "random", seed);
        rs += best_raw(&run(&problem, &mut rand, 300, &mut rng, &mut []));
    }
    let (la, rs) = (la / seeds as f64, rs / seeds as f64);
    assert!(la < rs - 1.0, "LA-MCTS {la} vs random {rs}");
}

#[test]
fn runs_are_deterministic() {
    let problem = Ackley::new(5);
    let go = |seed| {
        let config = LaMctsConfig {
            init: 20,
            leaf_size: 10,
            ..LaMctsConfig::default()
        };
        let mut opt = LaMcts::new(problem.space().clone(), config, CmaEsRegion::default()).unwrap();
        let mut rng = Stream::for_run("lamcts-test", "det", seed);
        run(&problem, &mut opt, 80, &mut rng, &mut [])
            .entries
            .into_iter()
            .map(|e| e.x)
            .collect::<Vec<_>>()
    };
    assert_eq!(go(1), go(1));
    assert_ne!(go(1), go(2));
}

#[test]
fn the_tree_is_rebuilt_every_iteration() {
    let problem = Ackley::new(3);
    let config = LaMctsConfig {
        init: 15,
        leaf_size: 5,
        ..LaMctsConfig::default()
    };
    let mut opt = LaMcts::new(problem.space().clone(), config, RandomRegion::default()).unwrap();
    let mut rng = Stream::for_run("lamcts-test", "rebuild", 0);
    let trace = run(&problem, &mut opt, 15, &mut rng, &mut []);
    assert_eq!(trace.len(), 15);
    assert_eq!(opt.rebuilds(), 0);
    for i in 1..=10 {
        let xs = opt.ask(&mut rng);
        assert_eq!(xs.len(), 1);
        assert_eq!(opt.rebuilds(), i);
        let tree = opt.tree().unwrap();
        // Built from every sample told so far.
        assert_eq!(tree.node(0).n(), 15 + i - 1);
        assert!(tree.len() > 1);
        let region = opt.region().unwrap();
        assert!(tree.node(region.node()).is_leaf());
        assert!(region.contains(&xs[0]));
        let y = problem.oriented(&problem.evaluate(&xs[0]));
        opt.tell(
            &[Evaluated {
                x: xs[0].clone(),
                y,
            }],
            &mut rng,
        );
    }
}

#[test]
fn cmaes_episodes_keep_their_region() {
    let problem = Ackley::new(4);
    let config = LaMctsConfig {
        init: 30,
        leaf_size: 10,
        ..LaMctsConfig::default()
    };
    let sampler = CmaEsRegion::new(CmaEsSettings {
        episode_evals: 24,
        ..CmaEsSettings::default()
    });
    let mut opt = LaMcts::new(problem.space().clone(), config, sampler).unwrap();
    let mut rng = Stream::for_run("lamcts-test", "cma", 0);
    let trace = run(&problem, &mut opt, 200, &mut rng, &mut []);
    assert_eq!(trace.len(), 200);
    let asks = trace.entries.last().unwrap().batch;
    assert!(
        opt.rebuilds() < asks,
        "{} rebuilds, {asks} asks",
        opt.rebuilds()
    );
    assert!(opt.rebuilds() >= 3);
}

#[test]
fn bad_config_is_refused_clearly() {
    let space = BoxSpace::cube(2, 0.0, 1.0);
    let bad = |c: LaMctsConfig| {
        LaMcts::new(space.clone(), c, RandomRegion::default())
            .unwrap_err()
            .to_string()
    };
    let msg = bad(LaMctsConfig {
        leaf_size: 0,
        ..LaMctsConfig::default()
    });
    assert!(msg.contains("leaf_size"), "{msg}");
    let msg = bad(LaMctsConfig {
        cp: -1.0,
        ..LaMctsConfig::default()
    });
    assert!(msg.contains("Cp"), "{msg}");
    let msg = bad(LaMctsConfig {
        init: 0,
        ..LaMctsConfig::default()
    });
    assert!(msg.contains("init"), "{msg}");
    let msg = bad(LaMctsConfig {
        gamma: Gamma::Value(0.0),
        ..LaMctsConfig::default()
    });
    assert!(msg.contains("gamma"), "{msg}");
}

#[test]
fn defaults_are_the_codes() {
    let c = LaMctsConfig::default();
    assert_eq!((c.init, c.cp, c.leaf_size), (40, 1.0, 20));
    assert_eq!((c.kernel, c.gamma), (KernelKind::Rbf, Gamma::Auto));
    assert_eq!(c.ucb, Ucb::SqrtParent);
    let a = LaMctsConfig::ackley();
    assert_eq!((a.cp, a.leaf_size), (1.0, 10));
    let l = LaMctsConfig::levy();
    assert_eq!((l.cp, l.leaf_size, l.kernel), (10.0, 8, KernelKind::Poly));
}
