use super::*;
use crate::learn::{Gamma, KernelKind};
use crate::space::{BoxSpace, Space};

type LaMctsParts = Partitioner<KMeansLabeller, SvmLearner, MeanValue>;

fn parts(leaf_size: usize) -> LaMctsParts {
    Partitioner {
        labeller: KMeansLabeller::default(),
        learner: SvmLearner {
            params: SvcParams {
                kernel: KernelKind::Rbf,
                gamma: Gamma::Auto,
                ..SvcParams::default()
            },
        },
        score: MeanValue::default(),
        config: TreeConfig {
            leaf_size,
            ..TreeConfig::default()
        },
    }
}

fn data(n: usize, seed: &str, f: impl Fn(&[f64]) -> f64) -> Samples {
    data_on(&BoxSpace::cube(2, 0.0, 1.0), n, seed, f)
}

fn data_on(space: &BoxSpace, n: usize, seed: &str, f: impl Fn(&[f64]) -> f64) -> Samples {
    let mut rng = Stream::root(seed);
    let mut s = Samples::new();
    for x in space.latin_hypercube(n, &mut rng) {
        let y = f(&x);
        s.push(x, vec![y]);
    }
    s
}

fn step(x: &[f64]) -> f64 {
    if x[0] < 0.5 {
        10.0
    } else {
        0.0
    }
}

fn bowl(x: &[f64]) -> f64 {
    -10.0 * ((x[0] - 0.2).powi(2) + (x[1] - 0.7).powi(2))
}

#[test]
fn step_splits_at_the_step() {
    let d = data(100, "step", step);
    let tree = parts(80).build(&d, &Stream::root("t"));
    assert_eq!(tree.len(), 3, "one split only (children hold <= 80)");
    let root = tree.node(0);
    let [good, bad] = root.children.unwrap();
    assert!(tree.node(good).indices.iter().all(|&i| d.xs[i][0] < 0.5));
    assert!(tree.node(bad).indices.iter().all(|&i| d.xs[i][0] >= 0.5));
    assert_eq!(tree.node(good).value, 10.0);
    assert_eq!(tree.node(bad).value, 0.0);
    let r = tree.region_of(good);
    assert_eq!(r.path().collect::<Vec<_>>(), vec![(0, true)]);
    assert!(r.contains(&[0.2, 0.5]) && r.contains(&[0.4, 0.1]));
    assert!(!r.contains(&[0.8, 0.5]) && !r.contains(&[0.6, 0.9]));
    // Cp = 0 picks the good child.
    let sel = tree.select_with(0.0, &mut Stream::root("s"));
    assert_eq!(sel.node(), good);
}

#[test]
fn small_nodes_and_one_class_nodes_stay_leaves() {
    let d = data(30, "few", step);
    assert_eq!(parts(30).build(&d, &Stream::root("t")).len(), 1);
    let flat = data(50, "flat", |_| 1.0);
    // k-means still finds two clusters in x, but their means tie: the split
    // happens on x (the code also splits) and both children score 1.
    let t = parts(10).build(&flat, &Stream::root("t"));
    assert!(t.nodes().iter().all(|n| n.value == 1.0));
}

/// A labeller that also fits the boundary: good iff `x[0] < cut`, where the
/// cut is the median `x[0]` of the node (so labels and boundary agree).
struct MedianCut;

#[derive(Debug)]
struct Below(f64);

impl Boundary for Below {
    fn predict(&self, x: &[f64]) -> bool {
        x[0] < self.0
    }
}

impl MedianCut {
    fn cut(data: &Samples, idx: &[usize]) -> f64 {
        let mut v: Vec<f64> = idx.iter().map(|&i| data.xs[i][0]).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }
}

impl Labeller for MedianCut {
    fn label(&self, data: &Samples, idx: &[usize], _rng: &mut Stream) -> Vec<bool> {
        let c = Self::cut(data, idx);
        idx.iter().map(|&i| data.xs[i][0] < c).collect()
    }

    fn label_fitted(
        &self,
        _node: usize,
        data: &Samples,
        idx: &[usize],
        rng: &mut Stream,
    ) -> (Vec<bool>, Option<Arc<dyn Boundary>>) {
        let b = Below(Self::cut(data, idx));
        (self.label(data, idx, rng), Some(Arc::new(b)))
    }
}

fn complete(levels: usize) -> Partitioner<MedianCut, FromLabeller, MeanValue> {
    Partitioner {
        labeller: MedianCut,
        learner: FromLabeller,
        score: MeanValue::default(),
        config: TreeConfig {
            growth: Growth::Complete { levels },
            ..TreeConfig::default()
        },
    }
}

#[test]
fn complete_growth_splits_every_node_to_the_given_levels() {
    // Five samples, far fewer than leaf_size, still fill four levels.
    let d = data(5, "few", step);
    let tree = complete(4).build(&d, &Stream::root("t"));
    assert_eq!(tree.len(), 15);
    assert_eq!(tree.height(), 3);
    // Breadth-first creation numbers a complete tree as a heap.
    for k in 0..7 {
        assert_eq!(tree.node(k).children, Some([2 * k + 1, 2 * k + 2]));
        assert_eq!(tree.node(2 * k + 1).parent, Some(k));
    }
    assert_eq!(tree.leaves(), (7..15).collect::<Vec<_>>());
    // Every sample sits in exactly one leaf; some leaves are empty.
    let held: usize = tree.leaves().iter().map(|&k| tree.node(k).n()).sum();
    assert_eq!(held, 5);
    assert!(tree.leaves().iter().any(|&k| tree.node(k).n() == 0));
    // The labeller's boundary is the one kept: leaf_of follows the cuts.
    for i in 0..d.len() {
        let leaf = tree.leaf_of(&d.xs[i]);
        assert!(tree.node(leaf).indices.contains(&i));
    }
}

#[test]
fn complete_growth_splits_empty_and_one_class_nodes() {
    // One sample: the root's labels are one class (x < median is false).
    let d = data(1, "one", step);
    let tree = complete(3).build(&d, &Stream::root("t"));
    assert_eq!(tree.len(), 7);
    let [good, bad] = tree.node(0).children.unwrap();
    assert_eq!((tree.node(good).n(), tree.node(bad).n()), (0, 1));
    // The empty good child is split too, and sends everything good.
    let b = tree.node(good).boundary.as_ref().expect("split");
    assert!(b.predict(&[0.0, 0.0]) && b.predict(&[1.0, 1.0]));
    assert_eq!(tree.node(tree.node(good).children.unwrap()[0]).n(), 0);
    // No samples at all: still a complete tree.
    let tree = complete(3).build(&Samples::new(), &Stream::root("t"));
    assert_eq!(tree.len(), 7);
    assert_eq!(tree.leaf_of(&[0.3, 0.3]), 3);
    // One level is a lone root.
    assert_eq!(complete(1).build(&d, &Stream::root("t")).len(), 1);
}

#[test]
fn adaptive_growth_keeps_a_labellers_boundary() {
    let d = data(40, "adaptive", step);
    let mut p = complete(1);
    p.config.growth = Growth::Adaptive;
    p.config.leaf_size = 10;
    let tree = p.build(&d, &Stream::root("t"));
    assert!(tree.len() > 3);
    for i in 0..d.len() {
        assert!(tree.node(tree.leaf_of(&d.xs[i])).indices.contains(&i));
    }
}

#[test]
fn complete_growth_levels_are_validated() {
    let mut c = TreeConfig::default();
    for levels in [0, Growth::MAX_LEVELS + 1] {
        c.growth = Growth::Complete { levels };
        assert_eq!(c.validate(), Err(TreeConfigError::Levels(levels)));
    }
    c.growth = Growth::Complete { levels: 5 };
    assert!(c.validate().is_ok());
}

#[test]
fn selection_by_outside_statistics() {
    let d = data(8, "stats", step);
    let tree = complete(3).build(&d, &Stream::root("t"));
    let sel = Selector::descent();
    let mut rng = Stream::root("s");
    // The tree's own statistics and the same ones passed in agree.
    let own = |k: usize| (tree.node(k).value, tree.node(k).n());
    assert_eq!(
        sel.select(&tree, 0.0, &mut rng.clone()),
        sel.select_by(&tree, 0.0, &own, &mut rng)
    );
    // Statistics that favour leaf 6 (bad, bad) lead there.
    let favour = |k: usize| (if [2, 6].contains(&k) { 1.0 } else { 0.0 }, 1);
    assert_eq!(sel.select_by(&tree, 0.0, &favour, &mut rng), 6);
    assert_eq!(sel.ucb_by(&tree, 6, 0.0, &favour), 1.0);
}

#[test]
fn leaves_partition_the_space_and_hold_their_points() {
    // Ackley's box: the RBF width 1/d (gamma "auto") is then narrow enough to
    // follow the k-means labels closely.
    let space = BoxSpace::cube(2, -5.0, 10.0);
    let d = data_on(&space, 300, "bowl", |x| {
        -((x[0] - 1.0).powi(2) + (x[1] - 4.0).powi(2))
    });
    let tree = parts(20).build(&d, &Stream::root("t"));
    assert!(tree.len() >= 7, "tree too small: {}", tree.len());
    let leaves = tree.leaves();
    let regions: Vec<Region> = leaves.iter().map(|&k| tree.region_of(k)).collect();
    // Every point lies in exactly one leaf region, the one leaf_of finds.
    let mut rng = Stream::root("probe");
    for _ in 0..500 {
        let x = space.sample(&mut rng);
        let inside: Vec<usize> = leaves
            .iter()
            .zip(&regions)
            .filter(|(_, r)| r.contains(&x))
            .map(|(&k, _)| k)
            .collect();
        assert_eq!(inside, vec![tree.leaf_of(&x)]);
    }
    // Children take the k-means labels, so a few samples may sit outside
    // their node's region, but nearly all are inside.
    let (mut inside, mut total) = (0, 0);
    for r in &regions {
        inside += r.inside_indices(&d).len();
        total += r.indices().len();
    }
    assert_eq!(total, d.len());
    assert!(inside as f64 >= 0.9 * total as f64, "{inside}/{total}");
    // Batch and single membership agree.
    let xs: Vec<Vec<f64>> = (0..200).map(|_| space.sample(&mut rng)).collect();
    for r in &regions {
        let b = r.contains_batch(&xs);
        assert!(xs.iter().zip(&b).all(|(x, &k)| r.contains(x) == k));
    }
}

#[test]
fn best_region_contains_the_optimum_area() {
    let d = data(300, "bowl", bowl);
    let tree = parts(20).build(&d, &Stream::root("t"));
    let r = tree.select_with(0.0, &mut Stream::root("s"));
    assert!(r.depth() >= 2);
    let best_leaf_mean = tree.node(r.node()).value;
    assert!(tree
        .leaves()
        .iter()
        .all(|&k| tree.node(k).value <= best_leaf_mean));
    assert!(r.contains(&[0.2, 0.7]));
}

#[test]
fn ucb_formulas() {
    let code = Ucb::SqrtParent.score(1.0, 4, 16, 0.5);
    assert!((code - (1.0 + 2.0 * 0.5 * (2.0 * 4.0 / 4.0f64).sqrt())).abs() < 1e-12);
    let paper = Ucb::LogParent.score(1.0, 4, 16, 0.5);
    assert!((paper - (1.0 + (2.0 * 16f64.ln() / 4.0).sqrt())).abs() < 1e-12);
    assert_eq!(Ucb::SqrtParent.score(1.0, 0, 16, 0.5), f64::INFINITY);
    assert_eq!(Ucb::default(), Ucb::SqrtParent);
    let d = data(100, "step", |x| if x[0] < 0.3 { 10.0 } else { 0.0 });
    let tree = parts(80).build(&d, &Stream::root("t"));
    assert_eq!(tree.ucb(0, 1.0), f64::INFINITY);
    let [g, b] = tree.node(0).children.unwrap();
    let (ng, nb) = (tree.node(g).n(), tree.node(b).n());
    assert_eq!(ng + nb, 100);
    let want = 10.0 + 2.0 * (2.0 * 10.0 / ng as f64).sqrt();
    assert!((tree.ucb(g, 1.0) - want).abs() < 1e-12);
    // A large Cp sends selection to the child with fewer samples.
    let r = tree.select_with(1e6, &mut Stream::root("s"));
    assert_eq!(r.node(), if ng < nb { g } else { b });
}

#[test]
fn building_and_selecting_are_deterministic() {
    let d = data(250, "bowl", bowl);
    let p = parts(15);
    let a = p.build(&d, &Stream::root("t"));
    let b = p.build(&d, &Stream::root("t"));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.nodes().iter().zip(b.nodes()) {
        assert_eq!(x.indices, y.indices);
        assert_eq!(x.children, y.children);
    }
    let ra = a.select(&mut Stream::root("s"));
    let rb = b.select(&mut Stream::root("s"));
    assert_eq!(ra.node(), rb.node());
    let space = BoxSpace::cube(2, 0.0, 1.0);
    let opts = RegionSampling::default();
    let sa = ra.sample(20, &space, &d, &opts, &mut Stream::root("u"));
    let sb = rb.sample(20, &space, &d, &opts, &mut Stream::root("u"));
    assert_eq!(sa, sb);
}

#[test]
fn max_nodes_caps_the_tree() {
    let d = data(300, "bowl", bowl);
    let mut p = parts(10);
    p.config.max_nodes = Some(5);
    let t = p.build(&d, &Stream::root("t"));
    assert_eq!(t.len(), 5);
    assert_eq!(t.height(), 2);
    p.config.max_nodes = Some(0);
    assert_eq!(p.config.validate(), Err(TreeConfigError::MaxNodes(0)));
}

#[test]
fn region_sampling_stays_inside_or_falls_back() {
    let d = data(300, "bowl", bowl);
    let tree = parts(20).build(&d, &Stream::root("t"));
    let r = tree.select_with(0.0, &mut Stream::root("s"));
    let space = BoxSpace::cube(2, 0.0, 1.0);
    let mut rng = Stream::root("u");
    for lhs in [false, true] {
        let opts = RegionSampling {
            lhs,
            ..RegionSampling::default()
        };
        let xs = r.sample(50, &space, &d, &opts, &mut rng);
        assert_eq!(xs.len(), 50);
        assert!(xs.iter().all(|x| r.contains(x)));
    }
    // No candidates allowed: perturbed node samples, inside the box.
    let opts = RegionSampling {
        max_candidates: 0,
        ..RegionSampling::default()
    };
    let xs = r.sample(10, &space, &d, &opts, &mut rng);
    assert_eq!(xs.len(), 10);
    for x in &xs {
        assert!(space.contains(x));
        let near = r
            .indices()
            .iter()
            .map(|&i| (d.xs[i][0] - x[0]).hypot(d.xs[i][1] - x[1]))
            .fold(f64::INFINITY, f64::min);
        assert!(near < 0.1, "fallback point far from the node's samples");
    }
    // Points drawn around a sample lie in the region.
    let xs = r.sample_around(30, &space, &d, 20, 0.01, &mut rng);
    assert_eq!(xs.len(), 30);
    assert!(xs.iter().all(|x| r.contains(x)));
    // Grown candidates lie in the region.
    let c = r.candidates_around(&space, &d, 200, 1000, &mut rng);
    assert!(!c.is_empty() && c.len() <= 1000);
    assert!(c.iter().all(|x| r.contains(x)));
}

#[test]
fn tie_rules_draw_as_the_codes_do() {
    // Coin: no draw unless the maximum is shared (LA-MCTS's descent).
    let mut a = Stream::root("ties");
    let b = a.clone();
    assert_eq!(TieBreak::Coin.argmax(&[2.0, 1.0], &mut a), 0);
    assert_eq!(TieBreak::Coin.argmax(&[1.0, 2.0], &mut a), 1);
    assert_eq!(a.uniform(), b.clone().uniform(), "no draw was made");
    // A shared maximum (or NaN, which compares false both ways) is a coin.
    let mut c = Stream::root("ties");
    let picked = TieBreak::Coin.argmax(&[1.0, 1.0], &mut c);
    assert_eq!(picked, Stream::root("ties").below(2));
    let picked = TieBreak::Coin.argmax(&[f64::NAN, 1.0], &mut Stream::root("ties"));
    assert_eq!(picked, Stream::root("ties").below(2));
    // Choice: one draw among the maxima every time (LaMOO's numpy choice).
    let mut d = Stream::root("ties");
    assert_eq!(TieBreak::Choice.argmax(&[3.0, 1.0, 2.0], &mut d), 0);
    let mut e = Stream::root("ties");
    e.below(1);
    assert_eq!(d.uniform(), e.uniform(), "one draw was made");
    assert_eq!(TieBreak::Choice.argmax(&[f64::NAN, 1.0], &mut d), 1);
}

#[test]
fn selectors_pick_by_ucb_and_floor_zero_good_children() {
    let d = data(100, "step", step);
    let tree = parts(80).build(&d, &Stream::root("t"));
    let [good, bad] = tree.node(0).children.unwrap();
    let path = Selector::descent();
    assert_eq!(path.select(&tree, 0.0, &mut Stream::root("s")), good);
    let leaf = Selector {
        selection: Selection::Leaf,
        ..path
    };
    assert_eq!(leaf.select(&tree, 0.0, &mut Stream::root("s")), good);
    assert_eq!(path.ucb(&tree, 0, 1.0), f64::INFINITY);
    // The floor applies to a good child of value exactly 0 only.
    let shifted: Samples = Samples {
        xs: d.xs.clone(),
        ys: d.ys.iter().map(|y| vec![y[0] - 10.0]).collect(),
    };
    let t2 = parts(80).build(&shifted, &Stream::root("t"));
    let [g2, b2] = t2.node(0).children.unwrap();
    assert_eq!((g2, b2), (good, bad));
    assert_eq!(t2.node(g2).value, 0.0);
    let floored = Selector {
        zero_good_value: Some(0.1),
        ..path
    };
    assert_eq!(floored.value(&t2, g2), 0.1);
    assert_eq!(floored.value(&t2, b2), -10.0);
    assert_eq!(path.value(&t2, g2), 0.0);
}

/// A small search assembled from parts ([`Setup`] is itself a preset).
fn setup(design: InitialDesign, batch: usize) -> Setup<KMeansLabeller, SvmLearner, MeanValue> {
    Setup {
        partitioner: parts(10),
        settings: SearchSettings {
            name: "test".into(),
            init: 12,
            design,
            batch,
            rebuild_every: 1,
            backprop: Backprop::Off,
            cp: Cp::Fixed(1.0),
            selector: Selector::descent(),
            fallback: RegionSampling::default(),
            clip: true,
            episodes: true,
            needs_reference: false,
        },
    }
}

fn bowl_values(xs: Vec<Vec<f64>>) -> Vec<crate::optimizer::Evaluated<Vec<f64>>> {
    xs.into_iter()
        .map(|x| crate::optimizer::Evaluated {
            y: vec![bowl(&x)],
            x,
        })
        .collect()
}

#[test]
fn partition_search_runs_and_falls_back_when_the_sampler_is_empty() {
    use crate::optimizer::Optimizer;
    struct Nothing;
    impl LeafSampler for Nothing {
        fn name(&self) -> String {
            "nothing".into()
        }
        fn propose(&mut self, _: &LeafContext<'_>, _: &mut Stream) -> Vec<Vec<f64>> {
            Vec::new()
        }
    }
    let space = BoxSpace::cube(2, 0.0, 1.0);
    for design in [InitialDesign::LatinHypercube, InitialDesign::Sobol] {
        let mut opt = PartitionSearch::new(space.clone(), setup(design, 3), Nothing).unwrap();
        assert_eq!(opt.name(), "test-nothing");
        let mut rng = Stream::root("run");
        for k in 0..6 {
            let xs = opt.ask(&mut rng);
            assert_eq!(xs.len(), if k == 0 { 12 } else { 3 });
            assert!(xs.iter().all(|x| space.contains(x)));
            opt.tell(&bowl_values(xs), &mut rng);
        }
        assert_eq!(opt.rebuilds(), 5);
        assert_eq!(opt.samples().len(), 27);
        assert!(opt.hypervolume().is_none());
        assert_eq!(opt.current_cp(), 1.0);
    }
    let mut random = PartitionSearch::new(space.clone(), setup(InitialDesign::Sobol, 2), {
        RandomRegion::relaxed_lhs(200)
    })
    .unwrap();
    let mut rng = Stream::root("run");
    let first = random.ask(&mut rng);
    random.tell(&bowl_values(first), &mut rng);
    let xs = random.ask(&mut rng);
    assert_eq!(xs.len(), 2);
    assert!(xs.iter().all(|x| random.region().unwrap().contains(x)));
}

#[test]
fn partition_search_tops_up_a_prescribed_design() {
    // Told 5 points before its first ask (WithDesign), a search with init 12
    // draws the 7 still missing, then proposes from its tree.
    use crate::optimizer::Optimizer;
    let space = BoxSpace::cube(2, 0.0, 1.0);
    let mut rng = Stream::root("run");
    let mut opt = PartitionSearch::new(
        space.clone(),
        setup(InitialDesign::Sobol, 2),
        RandomRegion::relaxed_lhs(200),
    )
    .unwrap();
    let design = space.latin_hypercube(5, &mut rng.child("design"));
    opt.tell(&bowl_values(design), &mut rng);
    let rest = opt.ask(&mut rng);
    assert_eq!(rest.len(), 7);
    opt.tell(&bowl_values(rest), &mut rng);
    assert_eq!(opt.ask(&mut rng).len(), 2);
    assert_eq!(opt.samples().len(), 12);
    // A design at least as large as init is taken whole.
    let mut full = PartitionSearch::new(
        space.clone(),
        setup(InitialDesign::Sobol, 2),
        RandomRegion::relaxed_lhs(200),
    )
    .unwrap();
    full.tell(
        &bowl_values(space.latin_hypercube(12, &mut rng.child("design"))),
        &mut rng,
    );
    assert_eq!(full.ask(&mut rng).len(), 2);
}

#[test]
fn partition_search_refuses_bad_setups() {
    let mut s = setup(InitialDesign::Sobol, 1);
    let e = PartitionSearch::new(
        BoxSpace::cube(0, 0.0, 1.0),
        s.clone(),
        RandomRegion::default(),
    )
    .unwrap_err();
    assert_eq!(e, SearchError::Dimension);
    s.settings.needs_reference = true;
    let space = BoxSpace::cube(2, 0.0, 1.0);
    let e = PartitionSearch::new(space.clone(), s.clone(), RandomRegion::default()).unwrap_err();
    assert_eq!(e, SearchError::MissingReference);
    let e =
        PartitionSearch::with_reference(space, vec![0.0], s, RandomRegion::default()).unwrap_err();
    assert_eq!(e, SearchError::Reference(vec![0.0]));
}

/// A single-objective leaf context on the unit square (first build, no
/// reference point) for the fresh CMA-ES tests.
fn bowl_context<'a>(
    region: &'a Region,
    tree: &'a Tree,
    d: &'a Samples,
    space: &'a BoxSpace,
    batch: usize,
) -> LeafContext<'a> {
    LeafContext {
        region,
        tree,
        samples: d,
        generation: 1,
        points: &d.xs,
        space,
        reference: None,
        batch,
    }
}

#[test]
fn fresh_cmaes_ranks_by_value_without_a_reference() {
    let d = data(60, "bowl", bowl);
    let tree = parts(10).build(&d, &Stream::root("t"));
    let region = tree.select_with(0.0, &mut Stream::root("s"));
    let space = BoxSpace::cube(2, 0.0, 1.0);
    let ctx = bowl_context(&region, &tree, &d, &space, 4);
    let mut cma = CmaEsRegion::fresh(FreshCmaEs::default());
    let xs = cma.propose(&ctx, &mut Stream::root("p"));
    assert_eq!(xs.len(), 4);
    assert!(xs.iter().all(|x| region.contains(x) || tree.len() == 1));
    assert!(!cma.in_episode());
    // With one objective the front is the pool's best sample: it comes first.
    let pool = region.indices();
    let ranked = rank_by_point_hypervolume(&d, pool, &[-100.0], &mut Stream::root("r"));
    let best = pool
        .iter()
        .copied()
        .max_by(|&a, &b| d.value(a).total_cmp(&d.value(b)))
        .unwrap();
    assert_eq!(ranked[0], best);
}

#[test]
fn selected_backprop_keeps_the_max_or_mean_along_the_selected_path() {
    let d = data(60, "bowl", bowl);
    let tree = parts(10).build(&d, &Stream::root("t"));
    let leaf = tree.leaves()[0];
    let mut stats = NodeStats::of_tree(&tree);
    let before = stats.clone();
    let big = 1e6;
    stats.backpropagate(&tree, leaf, big, Backprop::Selected { max: true });
    let mut node = Some(leaf);
    while let Some(k) = node {
        assert_eq!(stats.get(k), (big, before.n[k] + 1));
        node = tree.node(k).parent;
    }
    // A smaller value leaves the max alone; the mean moves.
    let mut max = before.clone();
    max.backpropagate(&tree, leaf, -big, Backprop::Selected { max: true });
    assert_eq!(max.value[leaf], before.value[leaf]);
    let mut mean = before.clone();
    mean.backpropagate(&tree, leaf, -big, Backprop::Selected { max: false });
    let n = before.n[leaf] as f64;
    assert_eq!(mean.value[leaf], (before.value[leaf] * n - big) / (n + 1.0));
}

#[test]
fn rebuild_features_give_the_tree_its_view() {
    use crate::optimizer::Optimizer;
    /// A box whose tree sees every point shifted by 10 (and whose count of
    /// calls shows the hook runs once per rebuild).
    #[derive(Clone, Debug)]
    struct Shifted(BoxSpace, std::sync::Arc<std::sync::atomic::AtomicUsize>);
    impl Space for Shifted {
        type X = Vec<f64>;
        fn dim(&self) -> usize {
            self.0.dim()
        }
        fn sample(&self, rng: &mut Stream) -> Vec<f64> {
            self.0.sample(rng)
        }
        fn contains(&self, x: &Vec<f64>) -> bool {
            self.0.contains(x)
        }
    }
    impl Domain for Shifted {
        fn features(&self, x: &Vec<f64>) -> Vec<f64> {
            x.clone()
        }
        fn initial_design(
            &self,
            n: usize,
            design: InitialDesign,
            told: &[Vec<f64>],
            rng: &mut Stream,
        ) -> Vec<Vec<f64>> {
            self.0.initial_design(n, design, told, rng)
        }
        fn fallback(
            &self,
            region: &Region,
            n: usize,
            samples: &Samples,
            told: &[Vec<f64>],
            sampling: &RegionSampling,
            rng: &mut Stream,
        ) -> Vec<Vec<f64>> {
            let _ = (region, samples, sampling);
            self.0.initial_design(n, InitialDesign::Uniform, told, rng)
        }
        fn rebuild_features(&self, told: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Some(
                told.iter()
                    .map(|x| x.iter().map(|v| v + 10.0).collect())
                    .collect(),
            )
        }
    }
    let mut s = setup(InitialDesign::Sobol, 2);
    s.settings.backprop = Backprop::Selected { max: true };
    let calls = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let space = Shifted(BoxSpace::cube(2, 0.0, 1.0), calls.clone());
    struct Nothing;
    impl LeafSampler<Shifted> for Nothing {
        fn name(&self) -> String {
            "nothing".into()
        }
        fn propose(&mut self, _: &LeafContext<'_, Shifted>, _: &mut Stream) -> Vec<Vec<f64>> {
            Vec::new()
        }
    }
    let mut opt = PartitionSearch::new(space, s, Nothing).unwrap();
    let mut rng = Stream::root("run");
    for _ in 0..30 {
        let xs = opt.ask(&mut rng);
        opt.tell(&bowl_values(xs), &mut rng);
    }
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::Relaxed),
        opt.rebuilds()
    );
    // The tree was built on the view: its node values are the view's (the
    // same ys), and its root boundary was fitted on shifted points, so the
    // shifted copy of the good child's samples lands in it.
    let tree = opt.tree().unwrap();
    let [good, _] = tree.node(0).children.expect("the samples split");
    let i = tree.node(good).indices[0];
    let shifted: Vec<f64> = opt.samples().xs[i].iter().map(|v| v + 10.0).collect();
    let b = tree.node(0).boundary.as_ref().unwrap();
    assert!(b.predict(&shifted));
    // The stored features are the points themselves.
    assert_eq!(opt.samples().xs, opt.points());
    // The node statistics saw the samples told after the last rebuild.
    let stats = opt.stats().unwrap();
    assert_eq!(stats.n[0], opt.samples().len());
}

/// `CmaPool::Parent` ranks the starts among the selected leaf's parent's
/// samples (LaMOO's `leaf_select`), `Leaf` among the leaf's own: with one
/// kept start and a vanishing sigma the proposal sits on the best sample of
/// that pool, and in the child without the parent's best they differ.
#[test]
fn fresh_cmaes_pool_is_the_leaf_or_its_parent() {
    let d = data(60, "bowl", bowl);
    let tree = parts(10).build(&d, &Stream::root("t"));
    let kids = tree.node(0).children.expect("the root splits");
    let best = |idx: &[usize]| {
        idx.iter()
            .copied()
            .max_by(|&a, &b| d.value(a).total_cmp(&d.value(b)))
            .unwrap()
    };
    let root_best = best(tree.region_of(0).indices());
    let child = kids
        .into_iter()
        .find(|&k| best(tree.region_of(k).indices()) != root_best)
        .expect("one child lacks the root's best sample");
    let region = tree.region_of(child);
    let space = BoxSpace::cube(2, 0.0, 1.0);
    let ctx = bowl_context(&region, &tree, &d, &space, 1);
    let propose = |pool: CmaPool| {
        let mut cma = CmaEsRegion::fresh(FreshCmaEs {
            top: 1,
            sigma_scale: 1e-12,
            filter: false,
            pool,
            ..FreshCmaEs::default()
        });
        cma.propose(&ctx, &mut Stream::root("p"))
    };
    let near = |x: &[f64], i: usize| x.iter().zip(&d.xs[i]).all(|(a, b)| (a - b).abs() < 1e-6);
    assert!(near(&propose(CmaPool::Leaf)[0], best(region.indices())));
    assert!(near(&propose(CmaPool::Parent)[0], root_best));
    assert_eq!(FreshCmaEs::default().pool, CmaPool::Leaf);
}

/// [`Region::probes`] answers as [`Region::contains_batch`] on a path of RBF
/// machines (their probes) and a plain boundary (tested point by point).
#[test]
fn region_probes_answer_as_contains_batch() {
    let mut rng = Stream::root("region-probes");
    let d = 4;
    let x: Vec<Vec<f64>> = (0..120)
        .map(|_| (0..d).map(|_| rng.uniform()).collect())
        .collect();
    let fit = |f: &dyn Fn(&[f64]) -> bool| -> Arc<dyn Boundary> {
        let labels: Vec<bool> = x.iter().map(|p| f(p)).collect();
        Arc::new(crate::learn::Svc::fit(&crate::learn::SvcParams::default(), &x, &labels).unwrap())
    };
    let a = fit(&|p| (p[0] - 0.4).powi(2) + (p[1] - 0.5).powi(2) < 0.12);
    let b = fit(&|p| p[2] + 0.3 * p[3] > 0.35);
    let region = Region::new(
        3,
        vec![(0, true, a), (1, false, b), (2, true, Arc::new(Below(0.9)))],
        vec![],
    );
    for c in 0..12 {
        let centre: Vec<f64> = (0..d).map(|_| 0.2 + 0.6 * rng.uniform()).collect();
        let dirs: Vec<Vec<f64>> = (0..64)
            .map(|_| (0..d).map(|_| rng.uniform() - 0.5).collect())
            .collect();
        let probes = region.probes(&centre, &dirs, 32.0 * f64::EPSILON);
        let mut l = 1e-3;
        while l < 2.0 {
            let pts: Vec<Vec<f64>> = dirs
                .iter()
                .map(|v| centre.iter().zip(v).map(|(c, v)| c + l * v).collect())
                .collect();
            assert_eq!(
                probes.contains(l, &pts),
                region.contains_batch(&pts),
                "centre {c}, l {l}"
            );
            l *= 2.0;
        }
    }
}
