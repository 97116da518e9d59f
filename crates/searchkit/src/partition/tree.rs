//! Building the tree from all samples, and UCB selection of a leaf.

use std::collections::VecDeque;
use std::sync::Arc;

use super::{Boundary, BoundaryLearner, Labeller, NodeScore, Region, Samples, Selector, Ucb};
use crate::rng::Stream;

/// Settings of the tree (shared by every paper's partitioner).
#[derive(Clone, Debug, PartialEq)]
pub struct TreeConfig {
    /// A leaf with more than this many samples is split (the code's
    /// `leaf_size`, `LEAF_SAMPLE_SIZE`).
    pub leaf_size: usize,
    /// Exploration constant `Cp` of UCB.
    pub cp: f64,
    /// The UCB form.
    pub ucb: Ucb,
    /// Stop splitting once the tree holds this many nodes (`None`: no cap).
    pub max_nodes: Option<usize>,
    /// Which nodes are split.
    pub growth: Growth,
}

/// Which nodes [`Partitioner::build`] splits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Growth {
    /// LA-MCTS and LaMOO: a leaf holding more than `max(leaf_size, 2)`
    /// samples is split when its labels give two classes and its boundary
    /// puts its own points on both sides.
    #[default]
    Adaptive,
    /// LaNAS: every node above the last of `levels` levels is split, whatever
    /// it holds, giving a complete tree of `2^(levels-1)` leaves (`leaf_size`
    /// and the splittability check are not used). The children take the
    /// labels even when one class is empty; a node with no samples, or whose
    /// boundary cannot be learned, sends every point to its good child.
    Complete { levels: usize },
}

impl Default for TreeConfig {
    /// The LA-MCTS code's `MCTS.__init__` defaults: `leaf_size = 20`, `Cp = 1`.
    fn default() -> Self {
        Self {
            leaf_size: 20,
            cp: 1.0,
            ucb: Ucb::SqrtParent,
            max_nodes: None,
            growth: Growth::Adaptive,
        }
    }
}

/// Why a [`TreeConfig`] was refused.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum TreeConfigError {
    #[error("leaf_size must be at least 1, got {0}")]
    LeafSize(usize),
    #[error("Cp must be finite and >= 0, got {0}")]
    Cp(f64),
    #[error("max_nodes must be at least 1 (or unset), got {0}")]
    MaxNodes(usize),
    #[error("a complete tree needs 1 to {max} levels, got {0}", max = Growth::MAX_LEVELS)]
    Levels(usize),
}

impl Growth {
    /// The most levels of a complete tree (`2^(levels-1)` leaves).
    pub const MAX_LEVELS: usize = 24;

    /// Whether a node at `depth` holding `n` samples is split; `threshold`
    /// is the adaptive rule's sample count.
    fn splits(self, depth: usize, n: usize, threshold: usize) -> bool {
        match self {
            Growth::Adaptive => n > threshold,
            Growth::Complete { levels } => depth + 1 < levels,
        }
    }
}

impl TreeConfig {
    /// Check the values.
    pub fn validate(&self) -> Result<(), TreeConfigError> {
        if self.leaf_size == 0 {
            return Err(TreeConfigError::LeafSize(self.leaf_size));
        }
        if !(self.cp.is_finite() && self.cp >= 0.0) {
            return Err(TreeConfigError::Cp(self.cp));
        }
        if self.max_nodes == Some(0) {
            return Err(TreeConfigError::MaxNodes(0));
        }
        if let Growth::Complete { levels } = self.growth {
            if !(1..=Growth::MAX_LEVELS).contains(&levels) {
                return Err(TreeConfigError::Levels(levels));
            }
        }
        Ok(())
    }
}

/// One node of a [`Tree`].
#[derive(Clone, Debug)]
pub struct Node {
    /// Index of the parent (`None` for the root).
    pub parent: Option<usize>,
    /// `[good, bad]` children, if split.
    pub children: Option<[usize; 2]>,
    /// Which side of the parent's boundary this node is (`true`: good child).
    pub side: bool,
    /// Depth (root 0).
    pub depth: usize,
    /// Indices into the [`Samples`] the tree was built from.
    pub indices: Vec<usize>,
    /// The node's [`NodeScore`].
    pub value: f64,
    /// The boundary between the children (only on split nodes).
    pub boundary: Option<Arc<dyn Boundary>>,
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.children.is_none()
    }
    /// Visit count for UCB: the number of samples.
    pub fn n(&self) -> usize {
        self.indices.len()
    }
}

/// The pieces of one paper's partition: labeller, classifier, score and tree
/// settings.
#[derive(Clone, Debug)]
pub struct Partitioner<L, B, S> {
    pub labeller: L,
    pub learner: B,
    pub score: S,
    pub config: TreeConfig,
}

impl<L: Labeller, B: BoundaryLearner, S: NodeScore> Partitioner<L, B, S> {
    /// Build the tree from all of `data`. Node `k` draws from
    /// `rng.child_n("split", k)`, so the tree depends only on `data` and
    /// `rng`'s path.
    pub fn build(&self, data: &Samples, rng: &Stream) -> Tree {
        let root = Node {
            parent: None,
            children: None,
            side: true,
            depth: 0,
            indices: (0..data.len()).collect(),
            value: self.score.score(data, &(0..data.len()).collect::<Vec<_>>()),
            boundary: None,
        };
        let mut nodes = vec![root];
        let threshold = self.config.leaf_size.max(2);
        let max_nodes = self.config.max_nodes.unwrap_or(usize::MAX);
        // FIFO order reproduces the code's waves over `self.nodes`.
        let mut queue = VecDeque::from([0usize]);
        while let Some(k) = queue.pop_front() {
            if nodes.len() + 2 > max_nodes {
                break;
            }
            if !self
                .config
                .growth
                .splits(nodes[k].depth, nodes[k].indices.len(), threshold)
            {
                continue;
            }
            let mut r = rng.child_n("split", k as u64);
            let Some((boundary, good, bad)) = self.split(k, data, &nodes[k].indices, &mut r) else {
                continue;
            };
            let depth = nodes[k].depth + 1;
            let ids = [nodes.len(), nodes.len() + 1];
            for (side, idx) in [(true, good), (false, bad)] {
                nodes.push(Node {
                    parent: Some(k),
                    children: None,
                    side,
                    depth,
                    value: self.score.score(data, &idx),
                    indices: idx,
                    boundary: None,
                });
            }
            nodes[k].children = Some(ids);
            nodes[k].boundary = Some(boundary);
            queue.extend(ids);
        }
        Tree {
            nodes,
            config: self.config.clone(),
        }
    }

    /// Label, learn, and (adaptive growth) check that the boundary separates
    /// the node's own points into both classes; returns (boundary, good,
    /// bad). A complete tree always splits (see [`Growth::Complete`]).
    #[allow(clippy::type_complexity)]
    fn split(
        &self,
        node: usize,
        data: &Samples,
        idx: &[usize],
        rng: &mut Stream,
    ) -> Option<(Arc<dyn Boundary>, Vec<usize>, Vec<usize>)> {
        let complete = matches!(self.config.growth, Growth::Complete { .. });
        if idx.is_empty() {
            return complete.then(|| {
                let b = self.labeller.empty_boundary(node, data, rng);
                (b.unwrap_or_else(|| Arc::new(AllGood)), vec![], vec![])
            });
        }
        let (labels, fitted) = self.labeller.label_fitted(node, data, idx, rng);
        debug_assert_eq!(labels.len(), idx.len());
        let n_good = labels.iter().filter(|&&l| l).count();
        if !complete && (n_good == 0 || n_good == labels.len()) {
            return None;
        }
        let boundary = fitted.or_else(|| {
            // The SVC API takes rows; one gather per split.
            let xs: Vec<Vec<f64>> = idx.iter().map(|&i| data.xs[i].clone()).collect();
            self.learner.fit(&xs, &labels)
        });
        let boundary = if complete {
            boundary.unwrap_or_else(|| Arc::new(AllGood))
        } else {
            let boundary = boundary?;
            let mut seen = [false; 2];
            for &i in idx {
                seen[boundary.predict(&data.xs[i]) as usize] = true;
                if seen[0] && seen[1] {
                    break;
                }
            }
            if !(seen[0] && seen[1]) {
                return None;
            }
            boundary
        };
        let (mut good, mut bad) = (Vec::with_capacity(n_good), Vec::new());
        for (&i, &l) in idx.iter().zip(&labels) {
            if l {
                good.push(i);
            } else {
                bad.push(i);
            }
        }
        Some((boundary, good, bad))
    }
}

/// The boundary of a complete tree's node that has none to learn: every
/// point goes to the good child.
#[derive(Debug)]
struct AllGood;

impl Boundary for AllGood {
    fn predict(&self, _x: &[f64]) -> bool {
        true
    }
}

/// A learned partition tree; node 0 is the root.
#[derive(Clone, Debug)]
pub struct Tree {
    nodes: Vec<Node>,
    config: TreeConfig,
}

impl Tree {
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }
    pub fn node(&self, k: usize) -> &Node {
        &self.nodes[k]
    }
    pub fn len(&self) -> usize {
        self.nodes.len()
    }
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
    pub fn config(&self) -> &TreeConfig {
        &self.config
    }
    /// Indices of the leaves, in node order.
    pub fn leaves(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&k| self.nodes[k].is_leaf())
            .collect()
    }
    /// Height (0 for a lone root).
    pub fn height(&self) -> usize {
        self.nodes.iter().map(|n| n.depth).max().unwrap_or(0)
    }

    /// UCB of node `k` with exploration constant `cp`; the root's is infinite
    /// (as in the code). See [`Selector::ucb`].
    pub fn ucb(&self, k: usize, cp: f64) -> f64 {
        Selector::descent().ucb(self, k, cp)
    }

    /// LA-MCTS `select`: from the root, take the child with the highest UCB
    /// (ties uniformly at random) down to a leaf ([`Selector::descent`]).
    pub fn select(&self, rng: &mut Stream) -> Region {
        self.select_with(self.config.cp, rng)
    }

    /// [`Tree::select`] with another `Cp` (`0` is the code's `greedy_select`).
    pub fn select_with(&self, cp: f64, rng: &mut Stream) -> Region {
        self.region_of(Selector::descent().select(self, cp, rng))
    }

    /// The region of node `k`: its path from the root.
    pub fn region_of(&self, k: usize) -> Region {
        let mut path = Vec::with_capacity(self.nodes[k].depth);
        let mut c = k;
        while let Some(p) = self.nodes[c].parent {
            let b = self.nodes[p]
                .boundary
                .clone()
                .expect("a split node has a boundary");
            path.push((p, self.nodes[c].side, b));
            c = p;
        }
        path.reverse();
        Region::new(k, path, self.nodes[k].indices.clone())
    }

    /// The region of `region`'s node and of each of its ancestors, from the
    /// node up to the root (whose region is the whole space). LaMOO's
    /// samplers relax the path this way, dropping its last classifier after
    /// each round that found too few points (`path = path[:-1]`).
    pub fn relaxations(&self, region: &Region) -> Vec<Region> {
        let path: Vec<usize> = region.path().map(|(k, _)| k).collect();
        let mut out = Vec::with_capacity(path.len() + 1);
        out.push(region.clone());
        out.extend(path.iter().rev().map(|&k| self.region_of(k)));
        out
    }

    /// The leaf a point falls into by following the boundaries from the root.
    pub fn leaf_of(&self, x: &[f64]) -> usize {
        let mut k = 0;
        while let (Some(kids), Some(b)) = (self.nodes[k].children, &self.nodes[k].boundary) {
            k = if b.predict(x) { kids[0] } else { kids[1] };
        }
        k
    }
}
