//! Choosing the node to sample in: UCB over the tree, by descent (path) or
//! over all leaves, with the tie rule and value quirks of each paper's code.
//!
//! One mechanism serves every paper: LA-MCTS descends by UCB with a coin on
//! ties ([`Selector::descent`]); LaMOO takes the leaf with the highest UCB
//! (or descends), draws among the maxima every time and floors a good
//! child's zero hypervolume at 0.1. LaNAS's complete tree
//! ([`super::Growth::Complete`]) is descended the same way, with the
//! statistics its round back-propagates ([`Selector::select_by`]).

use super::Tree;
use crate::rng::Stream;

/// Which node UCB selection ends at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Selection {
    /// The leaf with the highest UCB among all leaves (LaMOO's Algorithm 2;
    /// its code's default `--node_select leaf`, `MCTS.leaf_select`).
    Leaf,
    /// Descend from the root along the child with the higher UCB (LA-MCTS's
    /// `MCTS.select`; LaMOO's Algorithm 1, `--node_select mcts`).
    Path,
}

/// How equal UCBs are broken.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TieBreak {
    /// Among the values no other value exceeds, uniformly; a draw is made
    /// only when there is more than one (LA-MCTS's descent: a coin only when
    /// neither child's UCB is larger).
    Coin,
    /// One uniform draw among the values equal to the largest, every time,
    /// even for a single maximum (LaMOO's code:
    /// `np.random.choice(np.argwhere(UCT == np.amax(UCT)))`); NaNs are never
    /// the maximum, and all-NaN values give a uniform choice.
    Choice,
}

impl TieBreak {
    /// The index of the largest of `values` under this rule.
    pub fn argmax(self, values: &[f64], rng: &mut Stream) -> usize {
        let ties: Vec<usize> = match self {
            TieBreak::Coin => (0..values.len())
                .filter(|&i| !values.iter().any(|&v| v > values[i]))
                .collect(),
            TieBreak::Choice => {
                let best = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                let ties: Vec<usize> = (0..values.len()).filter(|&i| values[i] == best).collect();
                if ties.is_empty() {
                    return rng.below(values.len());
                }
                return ties[rng.below(ties.len())];
            }
        };
        match ties.len() {
            1 => ties[0],
            // No element is maximal only with NaNs everywhere that compare
            // false both ways; then every index is a candidate.
            0 => rng.below(values.len()),
            n => ties[rng.below(n)],
        }
    }
}

/// UCB selection of the node to sample in. The exploration constant is
/// passed per call (it may change every iteration, see
/// [`super::Cp::HvFraction`]); the UCB form is the tree's
/// ([`super::TreeConfig::ucb`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Selector {
    pub selection: Selection,
    pub ties: TieBreak,
    /// The value UCB uses for a good child whose score is exactly 0 (LaMOO's
    /// code gives such a child 0.1 when it creates it, `MCTS.dynamic_treeify`:
    /// `if good_kid.get_xbar() == 0.0: good_kid.x_bar += 0.1`, so a good side
    /// with zero hypervolume still beats its bad sibling); `None` keeps the
    /// score.
    pub zero_good_value: Option<f64>,
}

impl Selector {
    /// Descent by UCB with a coin on ties and the plain score (LA-MCTS,
    /// [`super::Tree::select`]).
    pub fn descent() -> Self {
        Self {
            selection: Selection::Path,
            ties: TieBreak::Coin,
            zero_good_value: None,
        }
    }

    /// The value UCB uses for node `k`: its score, except for
    /// [`Selector::zero_good_value`].
    pub fn value(&self, tree: &Tree, k: usize) -> f64 {
        self.adjust(tree, k, tree.node(k).value)
    }

    /// `value` as UCB uses it for node `k` ([`Selector::zero_good_value`]).
    fn adjust(&self, tree: &Tree, k: usize, value: f64) -> f64 {
        let node = tree.node(k);
        match self.zero_good_value {
            Some(v) if node.parent.is_some() && node.side && value == 0.0 => v,
            _ => value,
        }
    }

    /// The tree's own statistics of node `k`: its score and sample count.
    fn own(tree: &Tree) -> impl Fn(usize) -> (f64, usize) + '_ {
        |k| (tree.node(k).value, tree.node(k).n())
    }

    /// UCB of node `k` with exploration constant `cp`: [`Selector::value`]
    /// plus the tree's UCB bonus with visit counts the sample counts; the
    /// root's is infinite (as in the codes).
    pub fn ucb(&self, tree: &Tree, k: usize, cp: f64) -> f64 {
        self.ucb_by(tree, k, cp, &Self::own(tree))
    }

    /// [`Selector::ucb`] with the statistics `stats(k) = (value, visits)`
    /// kept outside the tree.
    pub fn ucb_by(
        &self,
        tree: &Tree,
        k: usize,
        cp: f64,
        stats: &impl Fn(usize) -> (f64, usize),
    ) -> f64 {
        match tree.node(k).parent {
            None => f64::INFINITY,
            Some(p) => {
                let (value, n) = stats(k);
                tree.config()
                    .ucb
                    .score(self.adjust(tree, k, value), n, stats(p).1, cp)
            }
        }
    }

    /// The node this rule picks in `tree` with exploration constant `cp`.
    pub fn select(&self, tree: &Tree, cp: f64, rng: &mut Stream) -> usize {
        self.select_by(tree, cp, &Self::own(tree), rng)
    }

    /// [`Selector::select`] with the statistics `stats(k) = (value, visits)`
    /// kept outside the tree: between rebuilds a search may back-propagate
    /// new samples into its copy of the tree's statistics
    /// ([`super::NodeStats`], LaNAS's rounds).
    pub fn select_by(
        &self,
        tree: &Tree,
        cp: f64,
        stats: &impl Fn(usize) -> (f64, usize),
        rng: &mut Stream,
    ) -> usize {
        match self.selection {
            Selection::Leaf => {
                let leaves = tree.leaves();
                let u: Vec<f64> = leaves
                    .iter()
                    .map(|&k| self.ucb_by(tree, k, cp, stats))
                    .collect();
                leaves[self.ties.argmax(&u, rng)]
            }
            Selection::Path => {
                let mut k = 0;
                while let Some(kids) = tree.node(k).children {
                    let u = [
                        self.ucb_by(tree, kids[0], cp, stats),
                        self.ucb_by(tree, kids[1], cp, stats),
                    ];
                    k = kids[self.ties.argmax(&u, rng)];
                }
                k
            }
        }
    }
}
