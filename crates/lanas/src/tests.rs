use super::*;
use searchkit::baselines::RandomSearch;
use searchkit::nasbench::nb201::Metric;
use searchkit::nasbench::tabular::Tabular;
use searchkit::nasbench::tabular::{run_to_optimum, SampleLog, Source, TableProblem};
use searchkit::partition::NodeStats;
use searchkit::problem::Problem;

fn search(tab: &Tabular, cfg: &LanasConfig, budget: usize, rng: &mut Stream) -> SampleLog {
    let problem = TableProblem::new(tab, None);
    let mut search = lanas(&problem, cfg.clone()).unwrap();
    run_to_optimum(&problem, &mut search, budget, rng)
}

fn rows(xs: &[Vec<f64>]) -> Vec<&[f64]> {
    xs.iter().map(|x| x.as_slice()).collect()
}

/// The tree LaNAS builds from the table entries `idx`.
fn tree_of(tab: &Tabular, idx: &[usize], cfg: &LanasConfig) -> Tree {
    let mut data = Samples::new();
    for &i in idx {
        data.push(encoding(tab, i), vec![tab.value(i)]);
    }
    cfg.partitioner().build(&data, &Stream::root("tree"))
}

fn encoding(tab: &Tabular, i: usize) -> Vec<f64> {
    tab.encoding(i).iter().map(|&v| f64::from(v)).collect()
}

#[test]
fn least_squares_recovers_a_linear_function() {
    let mut rng = Stream::root("ls");
    let xs: Vec<Vec<f64>> = (0..40)
        .map(|_| (0..5).map(|_| rng.uniform()).collect())
        .collect();
    let w = [0.5, -1.0, 2.0, 0.0, 0.25];
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| 0.3 + x.iter().zip(&w).map(|(&a, b)| a * b).sum::<f64>())
        .collect();
    let m = LinearModel::least_squares(&rows(&xs), &ys);
    for (a, b) in m.w.iter().zip(&w) {
        assert!((a - b).abs() < 1e-5, "{:?}", m.w);
    }
    assert!((m.b - 0.3).abs() < 1e-5);
}

#[test]
fn least_squares_interpolates_when_underdetermined() {
    // Three one-hot samples in 30 dimensions (collinear with the intercept).
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let idx = [3usize, 400, 9000];
    let xs: Vec<Vec<f64>> = idx.iter().map(|&i| encoding(&tab, i)).collect();
    let ys: Vec<f64> = idx.iter().map(|&i| tab.value(i)).collect();
    let m = LinearModel::least_squares(&rows(&xs), &ys);
    for (x, y) in xs.iter().zip(&ys) {
        assert!((m.predict(x) - y).abs() < 1e-9);
    }
}

#[test]
fn adam_and_least_squares_give_the_same_fit() {
    let mut rng = Stream::root("adam");
    let xs: Vec<Vec<f64>> = (0..60)
        .map(|_| (0..4).map(|_| rng.uniform()).collect())
        .collect();
    let ys: Vec<f64> = xs
        .iter()
        .map(|x| 0.9 - 0.2 * x[0] + 0.1 * x[2] + 0.01 * rng.normal())
        .collect();
    let ls = LinearModel::least_squares(&rows(&xs), &ys);
    let ad = LinearModel::adam(&rows(&xs), &ys, 1e-2, 20_000);
    for (a, b) in ls.w.iter().zip(&ad.w) {
        assert!((a - b).abs() < 1e-3, "ls {:?} adam {:?}", ls.w, ad.w);
    }
    assert!((ls.b - ad.b).abs() < 1e-3);
}

#[test]
fn samples_are_routed_by_true_value_and_stats_follow() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let samples: Vec<usize> = (0..200).map(|i| i * 70).collect();
    let tree = tree_of(&tab, &samples, &LanasConfig::default());
    // Height 5: a complete tree of 31 nodes in heap order, 16 leaves.
    assert_eq!(tree.len(), 31);
    assert_eq!(tree.leaves(), (15..31).collect::<Vec<_>>());
    for k in 0..15 {
        assert_eq!(tree.node(k).children, Some([2 * k + 1, 2 * k + 2]));
    }
    let stats = NodeStats::of_tree(&tree);
    assert_eq!(stats.n[0], 200);
    assert_eq!(stats.n[1] + stats.n[2], 200);
    // The root's threshold is the mean prediction; samples go by true value.
    let (labeller, idx) = (
        LinearLabeller::new(Fit::LeastSquares),
        tree.node(0).indices.clone(),
    );
    let data = {
        let mut d = Samples::new();
        for &i in &samples {
            d.push(encoding(&tab, i), vec![tab.value(i)]);
        }
        d
    };
    let (labels, _) = labeller.label_fitted(0, &data, &idx, &mut Stream::root("unused"));
    assert_eq!(stats.n[1], labels.iter().filter(|&&l| l).count());
    // The good side holds the better mean.
    assert!(stats.value[1] > stats.value[2]);
    let leaves: usize = stats.n[15..].iter().sum();
    assert_eq!(leaves, 200);
}

#[test]
fn empty_nodes_get_both_children_and_send_everything_good() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    // Three samples cannot fill 16 leaves: some nodes are empty.
    let tree = tree_of(&tab, &[3, 400, 9000], &LanasConfig::default());
    assert_eq!(tree.len(), 31);
    let stats = NodeStats::of_tree(&tree);
    let empty = (0..31).find(|&k| stats.n[k] == 0 && !tree.node(k).is_leaf());
    let k = empty.expect("an empty internal node");
    assert_eq!(stats.value[k], f64::INFINITY);
    // Whatever reaches an empty node goes to its good child.
    let b = tree.node(k).boundary.as_ref().expect("split anyway");
    assert!((0..tab.len())
        .step_by(97)
        .all(|i| b.predict(&encoding(&tab, i))));
}

#[test]
fn backpropagation_updates_the_path_to_the_root() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let samples: Vec<usize> = (0..50).map(|i| i * 300).collect();
    let tree = tree_of(&tab, &samples, &LanasConfig::default());
    let mut stats = NodeStats::of_tree(&tree);
    let before = stats.n.clone();
    stats.backpropagate(
        &tree,
        15,
        0.5,
        Backprop::Mean {
            positive_only: true,
        },
    );
    // Leaf 15's ancestors are 7, 3, 1, 0.
    for i in [15, 7, 3, 1, 0] {
        assert_eq!(stats.n[i], before[i] + 1);
    }
    assert_eq!(stats.n[16], before[16]);
}

#[test]
fn lanas_finds_the_nb201_optimum_faster_than_random_search() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let (mut ours, mut rand) = (0.0, 0.0);
    for seed in 0..4 {
        let mut rng = Stream::for_run("t", "lanas", seed);
        let log = search(&tab, &LanasConfig::default(), usize::MAX, &mut rng);
        let hit = log
            .samples_to_optimum()
            .expect("exhausts the table at worst");
        // The run stops at the batch holding the optimum (the initial
        // design is one batch).
        assert!(hit <= log.len());
        let mut seen = log.sampled.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), log.len(), "LaNAS never resamples");
        ours += hit as f64;
        let mut rng = Stream::for_run("t", "random", seed);
        let problem = TableProblem::new(&tab, None);
        let mut random = RandomSearch::without_replacement(*problem.space(), 1);
        rand += run_to_optimum(&problem, &mut random, usize::MAX, &mut rng).len() as f64;
    }
    assert!(ours < rand, "lanas {ours} random {rand}");
}

#[test]
fn same_stream_same_run() {
    let tab = Tabular::nb201(Metric::parse("cifar10-valid-valid").unwrap());
    let a = search(&tab, &LanasConfig::default(), 300, &mut Stream::root("x"));
    let b = search(&tab, &LanasConfig::default(), 300, &mut Stream::root("x"));
    assert_eq!(a.sampled, b.sampled);
    assert!(matches!(tab.source, Source::Nb201));
}

#[test]
fn nb101_encoding_follows_the_authors_layout() {
    let (m, c) = searchkit::nasbench::nb101::fixture::alphax_best_cell();
    let v = nb101_encoding(&c);
    let flat: Vec<f32> = m.iter().flatten().map(|&b| b as f32).collect();
    assert_eq!(&v[..36], &flat[..]);
    assert!(v[36..42].iter().all(|&x| x == 0.0));
    assert_eq!(&v[42..], &[-1.0, 0.5, 0.5, 0.5, 0.5, 1.0, 0.0]);
}

#[test]
fn lanas_is_the_partition_engine_rebuilding_once_per_round() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let problem = TableProblem::new(&tab, None);
    let cfg = LanasConfig::default();
    let mut search = lanas(&problem, cfg.clone()).unwrap();
    // 10 initial samples, then 3 rounds of 20 and 5 more samples: 4 trees.
    let mut rng = Stream::root("rounds");
    let log = searchkit::optimizer::run_until(
        &problem,
        &mut search,
        75,
        searchkit::optimizer::StopWhen::BudgetSpent,
        &mut rng,
        &mut [],
    );
    assert_eq!(log.len(), 75);
    assert_eq!(search.rebuilds(), 4);
    // The selection's statistics count every sample, the round's included.
    assert_eq!(search.stats().unwrap().n[0], 75);
    let tree = search.tree().unwrap();
    assert_eq!(tree.node(0).n(), 70);
    let mut seen = search.points().to_vec();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 75, "LaNAS never resamples");
}

#[test]
fn bad_configs_are_refused_before_any_compute() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let problem = TableProblem::new(&tab, None);
    let bad = |f: fn(&mut LanasConfig)| {
        let mut c = LanasConfig::default();
        f(&mut c);
        lanas(&problem, c).unwrap_err()
    };
    assert_eq!(bad(|c| c.height = 0), LanasError::Height(0));
    assert_eq!(bad(|c| c.height = 13), LanasError::Height(13));
    assert_eq!(bad(|c| c.batch = 0), LanasError::Batch);
    assert_eq!(bad(|c| c.init_samples = 0), LanasError::Init);
    assert!(matches!(bad(|c| c.cp = f64::NAN), LanasError::Cp(_)));
    assert!(bad(|c| c.height = 0).to_string().contains("height"));
}

#[test]
fn warm_adam_keeps_each_nodes_model_across_rounds() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let cfg = LanasConfig {
        fit: Fit::WarmAdam {
            lr: 1e-3,
            first_epochs: 200,
            later_epochs: 30,
        },
        ..LanasConfig::default()
    };
    let part = cfg.partitioner();
    let mut data = Samples::new();
    for i in (0..40).map(|i| i * 311) {
        data.push(encoding(&tab, i), vec![tab.value(i)]);
    }
    let first = part.build(&data, &Stream::root("a"));
    let models = part.labeller.models.0.lock().unwrap().clone();
    // Every node of the complete tree got a model, empty ones included.
    assert_eq!(models.len(), 15);
    let root = &models[&0];
    assert_eq!((root.fits, root.t), (1, 200));
    // A second build warm-starts: 30 more steps, not a fresh 200.
    let second = part.build(&data, &Stream::root("b"));
    let root2 = &part.labeller.models.0.lock().unwrap()[&0];
    assert_eq!((root2.fits, root2.t), (2, 230));
    assert_ne!(root.p, root2.p);
    assert_eq!(first.len(), second.len());
    // Same data and streams, same trees: the state is part of the search.
    let again = cfg.partitioner();
    let a = again.build(&data, &Stream::root("a"));
    for k in 0..a.len() {
        assert_eq!(a.node(k).indices, first.node(k).indices);
    }
}

#[test]
fn warm_adam_lanas_runs_to_the_optimum_deterministically() {
    let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
    let cfg = LanasConfig {
        fit: Fit::WarmAdam {
            lr: 1e-3,
            first_epochs: 100,
            later_epochs: 20,
        },
        ..LanasConfig::default()
    };
    let a = search(&tab, &cfg, 300, &mut Stream::root("w"));
    let b = search(&tab, &cfg, 300, &mut Stream::root("w"));
    assert_eq!(a.sampled, b.sampled);
    assert!(a.len() <= 300);
}

#[test]
fn warm_adam_gradient_from_sufficient_statistics_matches_the_direct_one() {
    let mut rng = Stream::root("suff");
    let xs: Vec<Vec<f64>> = (0..50)
        .map(|_| (0..6).map(|_| f64::from(rng.below(2) as u8)).collect())
        .collect();
    let ys: Vec<f64> = xs.iter().map(|x| 0.5 + 0.1 * x[0] - 0.2 * x[3]).collect();
    let init = WarmAdam::init(6, &mut Stream::root("init"));
    let mut fast = init.clone();
    fast.train(&rows(&xs), &ys, 1e-2, 200);
    // The direct full-batch gradient, step by step.
    let mut p = init.p.clone();
    let (mut m, mut v) = (vec![0.0; 7], vec![0.0; 7]);
    for t in 1..=200 {
        let mut g = [0.0; 7];
        for (x, &y) in xs.iter().zip(&ys) {
            let e = 2.0 * (p[6] + (0..6).map(|k| p[k] * x[k]).sum::<f64>() - y) / 50.0;
            (0..6).for_each(|k| g[k] += e * x[k]);
            g[6] += e;
        }
        let norm = g.iter().map(|a| a * a).sum::<f64>().sqrt();
        if 5.0 / (norm + 1e-6) < 1.0 {
            g.iter_mut().for_each(|a| *a *= 5.0 / (norm + 1e-6));
        }
        let (c1, c2) = (1.0 - 0.9f64.powi(t), 1.0 - 0.999f64.powi(t));
        for k in 0..7 {
            m[k] = 0.9 * m[k] + 0.1 * g[k];
            v[k] = 0.999 * v[k] + 0.001 * g[k] * g[k];
            p[k] -= (1e-2 / c1) * m[k] / (v[k].sqrt() / c2.sqrt() + 1e-8);
        }
    }
    for (a, b) in fast.p.iter().zip(&p) {
        assert!((a - b).abs() < 1e-9, "{a} {b}");
    }
}
