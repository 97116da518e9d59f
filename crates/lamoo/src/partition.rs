//! LaMOO's pieces of the shared partition tree: the dominance-number
//! labeller, the hypervolume node value, and its node selection (leaf or
//! path, core's [`Selector`] with LaMOO's tie rule and zero-value floor).

use searchkit::pareto::{domination_counts, hypervolume};
use searchkit::partition::{Labeller, NodeScore, Samples, Selection, Selector, TieBreak};
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

/// LaMOO's node selection: UCB over the leaves (Algorithm 2, the code's
/// default) or down the path (Algorithm 1), a uniform draw among the maxima
/// every time (`np.random.choice(np.argwhere(UCT == np.amax(UCT)))`), and a
/// good child with hypervolume exactly 0 valued 0.1, as the code does when
/// it creates the children (`MCTS.dynamic_treeify`), so an
/// all-dominated-by-the-reference good side still beats its bad sibling.
pub fn selector(selection: Selection) -> Selector {
    Selector {
        selection,
        ties: TieBreak::Choice,
        zero_good_value: Some(0.1),
    }
}
