//! LaMOO's pieces of the shared partition tree: the dominance-number
//! labeller, the hypervolume node value, and the two ways of choosing the
//! leaf to sample in (Algorithm 1, path; Algorithm 2, leaf).

use searchkit::pareto::{domination_counts, hypervolume};
use searchkit::partition::{Labeller, NodeScore, Region, Samples, Tree, Ucb};
use searchkit::rng::Stream;

/// LaMOO's labeller: a sample's *dominance number* is how many samples of
/// the node dominate it; the node's samples, stably sorted by it, are split
/// so that the first `floor(n/2) + 1` are good and the rest bad.
///
/// This is the code's `Classifier.dominance_learn_clusters`: pygmo's
/// `fast_non_dominated_sorting` domination counts, `sorted` by count (stable,
/// so ties keep the node's sample order), and `i <= n // 2` labelled good.
/// Dominance is strict (equal points do not dominate each other), as in
/// pygmo.
#[derive(Clone, Copy, Debug, Default)]
pub struct DominanceLabeller;

impl DominanceLabeller {
    /// The good/bad labels of the objective vectors `ys` (in order).
    pub fn labels(ys: &[Vec<f64>]) -> Vec<bool> {
        let n = ys.len();
        let counts = domination_counts(ys);
        let mut order: Vec<usize> = (0..n).collect();
        // `sort_by_key` is stable: ties stay in sample order, as Python's `sorted`.
        order.sort_by_key(|&i| counts[i]);
        let mut labels = vec![false; n];
        for &i in order.iter().take(n / 2 + 1) {
            labels[i] = true;
        }
        labels
    }
}

impl Labeller for DominanceLabeller {
    fn label(&self, data: &Samples, idx: &[usize], _rng: &mut Stream) -> Vec<bool> {
        let ys: Vec<Vec<f64>> = idx.iter().map(|&i| data.ys[i].clone()).collect();
        Self::labels(&ys)
    }
}

/// A node's value: the hypervolume of its samples' objective vectors
/// (maximised) with respect to `reference` (the code's
/// `Classifier.get_hypervolume`, botorch's `Hypervolume` of the node's
/// non-dominated points). An empty node has value 0.
#[derive(Clone, Debug, PartialEq)]
pub struct HypervolumeScore {
    pub reference: Vec<f64>,
}

impl NodeScore for HypervolumeScore {
    fn score(&self, data: &Samples, idx: &[usize]) -> f64 {
        let ys: Vec<Vec<f64>> = idx.iter().map(|&i| data.ys[i].clone()).collect();
        hypervolume(&ys, &self.reference)
    }
}

/// How the leaf to sample in is chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Selection {
    /// The leaf with the highest UCB among all leaves (the paper's
    /// Algorithm 2; the code's default `--node_select leaf`,
    /// `MCTS.leaf_select`). Ties are broken uniformly at random.
    #[default]
    Leaf,
    /// Descend from the root along the child with the higher UCB (the
    /// paper's Algorithm 1; the code's `--node_select mcts`,
    /// `MCTS.select`). Ties are broken uniformly at random.
    Path,
}

/// The value UCB uses for node `k`: its hypervolume, except that a good child
/// with hypervolume exactly 0 gets 0.1, as the code does when it creates the
/// children (`MCTS.dynamic_treeify`: `if good_kid.get_xbar() == 0.0:
/// good_kid.x_bar += 0.1`), so an all-dominated-by-the-reference good side
/// still beats its bad sibling.
pub fn node_value(tree: &Tree, k: usize) -> f64 {
    let node = tree.node(k);
    if node.parent.is_some() && node.side && node.value == 0.0 {
        0.1
    } else {
        node.value
    }
}

/// UCB of node `k` with exploration constant `cp`: [`node_value`] plus the
/// `ucb` bonus with visit counts the sample counts; the root's is infinite.
pub fn node_ucb(tree: &Tree, k: usize, cp: f64, ucb: Ucb) -> f64 {
    let node = tree.node(k);
    match node.parent {
        None => f64::INFINITY,
        Some(p) => ucb.score(node_value(tree, k), node.n(), tree.node(p).n(), cp),
    }
}

/// The index of the largest of `values`, ties uniformly at random (the
/// code's `np.random.choice(np.argwhere(UCT == np.amax(UCT)))`).
fn argmax_random(values: &[f64], rng: &mut Stream) -> usize {
    let best = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let ties: Vec<usize> = (0..values.len()).filter(|&i| values[i] == best).collect();
    if ties.is_empty() {
        // All NaN: fall back to a uniform choice.
        return rng.below(values.len());
    }
    ties[rng.below(ties.len())]
}

/// The node `selection` picks in `tree`, with exploration constant `cp`.
pub fn select_node(
    tree: &Tree,
    selection: Selection,
    cp: f64,
    ucb: Ucb,
    rng: &mut Stream,
) -> usize {
    match selection {
        Selection::Leaf => {
            let leaves = tree.leaves();
            let u: Vec<f64> = leaves.iter().map(|&k| node_ucb(tree, k, cp, ucb)).collect();
            leaves[argmax_random(&u, rng)]
        }
        Selection::Path => {
            let mut k = 0;
            while let Some(kids) = tree.node(k).children {
                let u = [
                    node_ucb(tree, kids[0], cp, ucb),
                    node_ucb(tree, kids[1], cp, ucb),
                ];
                k = kids[argmax_random(&u, rng)];
            }
            k
        }
    }
}

/// The region `selection` picks in `tree` (see [`select_node`]).
pub fn select_region(
    tree: &Tree,
    selection: Selection,
    cp: f64,
    ucb: Ucb,
    rng: &mut Stream,
) -> Region {
    tree.region_of(select_node(tree, selection, cp, ucb, rng))
}

/// The region of `region`'s node and of each of its ancestors, from the node
/// up to the root (whose region is the whole space). The code's samplers
/// relax the path this way, dropping its last classifier after each round
/// that found too few points (`path = path[:-1]`).
pub fn relaxations(region: &Region, tree: &Tree) -> Vec<Region> {
    let path: Vec<usize> = region.path().map(|(k, _)| k).collect();
    let mut out = Vec::with_capacity(path.len() + 1);
    out.push(region.clone());
    out.extend(path.iter().rev().map(|&k| tree.region_of(k)));
    out
}
