//! # AlphaX: MCTS over architecture-construction actions, with a meta-DNN
//!
//! AlphaX (Wang, Zhao, Jinnai, Tian, Fonseca: "AlphaX: eXploring Neural
//! Architectures with Deep Neural Networks and Monte Carlo Tree Search", AAAI
//! 2020) builds an architecture by a sequence of actions and searches the
//! action tree with UCT. On NAS-Bench-101 the actions are the authors' (add a
//! vertex with an op before the output, which clears the edges; add an edge
//! (i, j); terminate), with at most 6 vertices and 9 edges in the paper's main
//! domain; on NAS-Bench-201 one op is chosen per edge in a fixed order.
//!
//! One search iteration walks down from the root choosing the action of
//! highest `mean + 2 Cp sqrt(2 ln n_parent / n)` (Cp = 2, an unexpanded child
//! scores infinity, an illegal one 0). A new child is expanded and valued by
//! one uniform random rollout to a terminal state that exists in the table
//! (one sample); its value is propagated to its ancestors (running mean,
//! count), and the walk restarts at the root. With the meta-DNN
//! ([`MetaDnn`]), the new node's value is the average of the rollout's true
//! accuracy and the mean over 10 further rollouts of the predicted accuracy
//! (true accuracy for architectures already sampled); the predictor is
//! retrained whenever the number of unique samples reaches a multiple of 100.
//!
//! This crate follows the authors' code (`AlphaX-NASBench101`, `MCTS.py` and
//! `MCTS_metaDNN.py`): every table query counts as a sample, repeats included;
//! the tree is keyed by state, so on NB101 a state reached by another action
//! order shares its node; a rollout that finds no table architecture in 1000
//! tries values the node 0.1 without a sample.
//!
//! Entry points: [`Env`] with [`Nb201Env`] and [`Nb101Env`], [`AlphaxConfig`],
//! [`search`]; the predictor is [`mlp::Mlp`].
//!
//! ```
//! use alphax::{search, AlphaxConfig, Nb201Env};
//! use searchkit::nasbench::nb201::Metric;
//! use searchkit::nasbench::tabular::Tabular;
//! use searchkit::rng::Stream;
//!
//! let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
//! let env = Nb201Env::new(&tab);
//! let mut rng = Stream::for_run("doc", "alphax", 0);
//! let log = search(&env, &AlphaxConfig::default(), 300, &mut rng);
//! assert!(log.len() <= 300);
//! ```

pub mod mlp;

use mlp::{Mlp, TrainConfig};
use searchkit::nasbench::nb101::{Nb101Cell, Op, MAX_VERTICES};
use searchkit::nasbench::nb201::Cell;
use searchkit::nasbench::tabular::{
    alphax_nb101_encoding, nb201_one_hot, Nb101Index, SampleLog, Source, Tabular,
};
use searchkit::rng::Stream;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// An action space whose terminal states are architectures of a table.
pub trait Env: Sync {
    type State: Clone + Eq + Hash + std::fmt::Debug;
    fn table(&self) -> &Tabular;
    fn root(&self) -> Self::State;
    /// Number of actions at `s` (actions are `0..n`).
    fn num_actions(&self, s: &Self::State) -> usize;
    /// The state after action `a`, or `None` when the action breaks a limit.
    fn step(&self, s: &Self::State, a: usize) -> Option<Self::State>;
    fn is_terminal(&self, s: &Self::State) -> bool;
    /// The table entry of a terminal state (`None`: not an architecture of the table).
    fn lookup(&self, s: &Self::State) -> Option<usize>;
    /// The meta-DNN input of a table entry.
    fn meta_features(&self, entry: usize) -> Vec<f32>;
}

/// NAS-Bench-201: one op per edge, in [`searchkit::nasbench::nb201::EDGES`] order.
#[derive(Clone, Debug)]
pub struct Nb201Env<'a> {
    tab: &'a Tabular,
}

impl<'a> Nb201Env<'a> {
    pub fn new(tab: &'a Tabular) -> Self {
        assert!(matches!(tab.source, Source::Nb201), "an NB201 table");
        Self { tab }
    }
}

impl Env for Nb201Env<'_> {
    type State = Vec<u8>;
    fn table(&self) -> &Tabular {
        self.tab
    }
    fn root(&self) -> Vec<u8> {
        vec![]
    }
    fn num_actions(&self, s: &Vec<u8>) -> usize {
        if s.len() < 6 {
            5
        } else {
            0
        }
    }
    fn step(&self, s: &Vec<u8>, a: usize) -> Option<Vec<u8>> {
        if s.len() >= 6 || a >= 5 {
            return None;
        }
        let mut t = s.clone();
        t.push(a as u8);
        Some(t)
    }
    fn is_terminal(&self, s: &Vec<u8>) -> bool {
        s.len() == 6
    }
    fn lookup(&self, s: &Vec<u8>) -> Option<usize> {
        let ops: [u8; 6] = s.as_slice().try_into().ok()?;
        Some(Cell::new(ops).index())
    }
    fn meta_features(&self, entry: usize) -> Vec<f32> {
        nb201_one_hot(Cell::from_index(entry).expect("entry")).to_vec()
    }
}

/// An NB101 construction state: vertices `input, ops..., output`, edges as
/// bits `i * 7 + j`, and whether `term` was taken.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Nb101State {
    pub ops: Vec<Op>,
    pub edges: u64,
    pub terminated: bool,
}

impl Nb101State {
    pub fn cell(&self) -> Nb101Cell {
        let n = self.ops.len();
        let mut adjacency = [[false; MAX_VERTICES]; MAX_VERTICES];
        for i in 0..n {
            for j in 0..n {
                adjacency[i][j] = self.edges >> (i * 7 + j) & 1 == 1;
            }
        }
        Nb101Cell {
            adjacency,
            ops: self.ops.clone(),
        }
    }

    /// Upper-triangle pairs without an edge, row-major (the code's
    /// `get_potential_edges` order).
    fn free_edges(&self) -> Vec<(usize, usize)> {
        let n = self.ops.len();
        (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .filter(|&(i, j)| self.edges >> (i * 7 + j) & 1 == 0)
            .collect()
    }
}

/// How a constructed NB101 cell is matched to the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Nb101Lookup {
    /// The authors' code: the constructed adjacency and ops must equal a
    /// stored cell's exactly (no pruning, same vertex order).
    Exact,
    /// Any vertex order: the cell is pruned and matched up to isomorphism.
    Isomorphic,
}

/// NAS-Bench-101 with the authors' construction actions: `node:<op>` for the
/// three ops, `edge:(i,j)` for every missing upper-triangle edge, `term`.
#[derive(Debug)]
pub struct Nb101Env<'a> {
    tab: &'a Tabular,
    pub max_vertices: usize,
    pub max_edges: usize,
    lookup: Nb101Lookup,
    exact: HashMap<(Vec<Op>, u64), usize>,
    iso: Nb101Index,
}

impl<'a> Nb101Env<'a> {
    /// The paper's main domain is `max_vertices = 6`, `max_edges = 9`.
    pub fn new(
        tab: &'a Tabular,
        max_vertices: usize,
        max_edges: usize,
        lookup: Nb101Lookup,
    ) -> Self {
        let Source::Nb101 { cells } = &tab.source else {
            panic!("an NB101 table");
        };
        let mut exact = HashMap::new();
        for (i, c) in cells.iter().enumerate() {
            let n = c.num_vertices();
            let mut bits = 0u64;
            for a in 0..n {
                for b in 0..n {
                    if c.adjacency[a][b] {
                        bits |= 1 << (a * 7 + b);
                    }
                }
            }
            exact.entry((c.ops.clone(), bits)).or_insert(i);
        }
        let iso = match lookup {
            Nb101Lookup::Isomorphic => Nb101Index::new(tab),
            Nb101Lookup::Exact => Nb101Index::default(),
        };
        Self {
            tab,
            max_vertices: max_vertices.min(MAX_VERTICES),
            max_edges,
            lookup,
            exact,
            iso,
        }
    }
}

const NB101_OPS: [Op; 3] = [Op::Conv1x1, Op::Conv3x3, Op::MaxPool3x3];

impl Env for Nb101Env<'_> {
    type State = Nb101State;
    fn table(&self) -> &Tabular {
        self.tab
    }
    fn root(&self) -> Nb101State {
        Nb101State {
            ops: vec![Op::Input, Op::Output],
            edges: 0,
            terminated: false,
        }
    }
    fn num_actions(&self, s: &Nb101State) -> usize {
        if s.terminated {
            0
        } else {
            3 + s.free_edges().len() + 1
        }
    }
    fn step(&self, s: &Nb101State, a: usize) -> Option<Nb101State> {
        if s.terminated {
            return None;
        }
        let nodes = s.ops.len();
        let edges = s.edges.count_ones() as usize;
        let free = s.free_edges();
        if a < 3 {
            if nodes >= self.max_vertices {
                return None;
            }
            // A new vertex goes before the output and clears every edge.
            let mut ops = s.ops.clone();
            ops.insert(nodes - 1, NB101_OPS[a]);
            Some(Nb101State {
                ops,
                edges: 0,
                terminated: false,
            })
        } else if a < 3 + free.len() {
            if edges >= self.max_edges {
                return None;
            }
            let (i, j) = free[a - 3];
            let mut t = s.clone();
            t.edges |= 1 << (i * 7 + j);
            Some(t)
        } else if a == 3 + free.len() {
            let mut t = s.clone();
            t.terminated = true;
            Some(t)
        } else {
            None
        }
    }
    fn is_terminal(&self, s: &Nb101State) -> bool {
        s.terminated
    }
    fn lookup(&self, s: &Nb101State) -> Option<usize> {
        match self.lookup {
            Nb101Lookup::Exact => self.exact.get(&(s.ops.clone(), s.edges)).copied(),
            Nb101Lookup::Isomorphic => self.iso.get(&s.cell()),
        }
    }
    fn meta_features(&self, entry: usize) -> Vec<f32> {
        let Source::Nb101 { cells } = &self.tab.source else {
            unreachable!()
        };
        alphax_nb101_encoding(&cells[entry]).to_vec()
    }
}

/// The meta-DNN variant's settings.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaDnn {
    /// Hidden layer widths (the authors: 512, 2048, 2048, 512).
    pub hidden: Vec<usize>,
    /// Extra rollouts valued by the predictor per new node (the authors: 10).
    pub rollouts: usize,
    /// Retrain when the unique sample count reaches a multiple of this (100).
    pub retrain_every: usize,
    pub train: TrainConfig,
}

impl Default for MetaDnn {
    fn default() -> Self {
        Self {
            hidden: vec![512, 2048, 2048, 512],
            rollouts: 10,
            retrain_every: 100,
            train: TrainConfig::default(),
        }
    }
}

/// AlphaX's settings; `Default` is the authors' code without the meta-DNN.
#[derive(Clone, Debug, PartialEq)]
pub struct AlphaxConfig {
    pub cp: f64,
    /// Rollout attempts before a node is valued 0.1 without a sample.
    pub rollout_tries: usize,
    /// Steps without reaching a leaf before the walk restarts at the root.
    pub max_steps: usize,
    pub meta: Option<MetaDnn>,
}

impl Default for AlphaxConfig {
    fn default() -> Self {
        Self {
            cp: 2.0,
            rollout_tries: 1000,
            max_steps: 1000,
            meta: None,
        }
    }
}

#[derive(Clone, Debug)]
struct Node {
    x_bar: f64,
    n: f64,
    parent: Option<usize>,
}

struct Search<'e, E: Env> {
    env: &'e E,
    cfg: &'e AlphaxConfig,
    nodes: Vec<Node>,
    ids: HashMap<E::State, usize>,
    log: SampleLog,
    /// Unique sampled entries with their true values, in first-sample order.
    trained: Vec<usize>,
    trained_set: HashSet<usize>,
    meta: Option<Mlp>,
    trained_at: HashSet<usize>,
}

impl<E: Env> Search<'_, E> {
    fn sample(&mut self, entry: usize) -> f64 {
        if self.trained_set.insert(entry) {
            self.trained.push(entry);
        }
        self.log.record(self.env.table(), entry)
    }

    /// A uniform random walk from `s` to a terminal state in the table.
    fn rollout(&self, s: &E::State, rng: &mut Stream) -> Option<usize> {
        if self.env.is_terminal(s) {
            return self.env.lookup(s);
        }
        let mut cur = s.clone();
        let mut fails = 0;
        // A walk restarts when it breaks a limit; the bound on restarts only
        // guards against a space with no legal terminal.
        let mut restarts = 0usize;
        loop {
            let k = self.env.num_actions(&cur);
            let next = if k == 0 {
                None
            } else {
                self.env.step(&cur, rng.below(k))
            };
            match next {
                None => {
                    cur = s.clone();
                    restarts += 1;
                    if restarts > 1_000_000 {
                        return None;
                    }
                }
                Some(t) if self.env.is_terminal(&t) => match self.env.lookup(&t) {
                    Some(e) => return Some(e),
                    None => {
                        fails += 1;
                        if fails > self.cfg.rollout_tries {
                            return None;
                        }
                        cur = s.clone();
                    }
                },
                Some(t) => cur = t,
            }
        }
    }

    /// The value of a new node (`MCTS.evaluate`); samples as it goes.
    fn evaluate(&mut self, s: &E::State, rng: &mut Stream) -> f64 {
        if self.env.is_terminal(s) {
            return match self.env.lookup(s) {
                Some(e) => self.sample(e),
                None => 0.0,
            };
        }
        let Some(e) = self.rollout(s, rng) else {
            return 0.1;
        };
        let acc = self.sample(e);
        let Some(meta) = &self.cfg.meta else {
            return acc;
        };
        let mut sim = 0.0;
        for _ in 0..meta.rollouts {
            let Some(t) = self.rollout(s, rng) else {
                return acc;
            };
            sim += if self.trained_set.contains(&t) {
                self.env.table().value(t)
            } else {
                let net = self.meta.as_ref().expect("meta-DNN");
                f64::from(net.predict(&self.env.meta_features(t)))
            };
        }
        (acc + sim / meta.rollouts as f64) / 2.0
    }

    fn create(&mut self, s: E::State, parent: Option<usize>, rng: &mut Stream) -> (usize, f64) {
        let v = self.evaluate(&s, rng);
        let id = self.nodes.len();
        self.nodes.push(Node {
            x_bar: v,
            n: 1.0,
            parent,
        });
        self.ids.insert(s, id);
        (id, v)
    }

    /// Update the ancestors of `id` (not `id` itself), as the code does.
    fn backpropagate(&mut self, id: usize, v: f64) {
        let mut cur = id;
        while let Some(p) = self.nodes[cur].parent {
            let node = &mut self.nodes[p];
            node.n += 1.0;
            node.x_bar = v / node.n + (node.n - 1.0) / node.n * node.x_bar;
            cur = p;
        }
    }

    fn maybe_retrain(&mut self, rng: &mut Stream) {
        let Some(meta) = &self.cfg.meta else { return };
        let u = self.trained.len();
        if u == 0 || u % meta.retrain_every.max(1) != 0 || !self.trained_at.insert(u) {
            return;
        }
        let xs: Vec<Vec<f32>> = self
            .trained
            .iter()
            .map(|&e| self.env.meta_features(e))
            .collect();
        let ys: Vec<f32> = self
            .trained
            .iter()
            .map(|&e| self.env.table().value(e) as f32)
            .collect();
        let net = self.meta.as_mut().expect("meta-DNN");
        net.train(&xs, &ys, &meta.train, rng);
    }
}

/// Run AlphaX until the table's optimum is sampled or `budget` samples.
pub fn search<E: Env>(env: &E, cfg: &AlphaxConfig, budget: usize, rng: &mut Stream) -> SampleLog {
    let mlp_rng = rng.child("meta-dnn");
    let meta = cfg.meta.as_ref().map(|m| {
        let dim = env.meta_features(0).len();
        Mlp::new(dim, &m.hidden, &mut mlp_rng.child("init"))
    });
    let mut train_rng = mlp_rng.child("train");
    let mut s = Search {
        env,
        cfg,
        nodes: vec![],
        ids: HashMap::new(),
        log: SampleLog::new(env.table()),
        trained: vec![],
        trained_set: HashSet::new(),
        meta,
        trained_at: HashSet::new(),
    };
    let root = env.root();
    s.create(root.clone(), None, rng);
    let mut state = root.clone();
    let mut cur = 0usize;
    let mut steps = 0usize;
    // Iterations without a new sample; bounds a search that can no longer
    // sample anything new (every reachable terminal already in the tree).
    let mut idle = 0usize;
    while !s.log.done(budget) && idle < 1_000_000 {
        let before = s.log.len();
        let k = env.num_actions(&state);
        let ln_n = s.nodes[cur].n.ln();
        let mut best = f64::NEG_INFINITY;
        let mut ties: Vec<(usize, Option<E::State>)> = vec![];
        for a in 0..k {
            let next = env.step(&state, a);
            let u = match &next {
                None => 0.0,
                Some(t) => match s.ids.get(t) {
                    None => f64::INFINITY,
                    Some(&id) => {
                        let nd = &s.nodes[id];
                        nd.x_bar + 2.0 * cfg.cp * (2.0 * ln_n / nd.n).sqrt()
                    }
                },
            };
            if u > best {
                best = u;
                ties.clear();
            }
            if u == best {
                ties.push((a, next));
            }
        }
        let reset = if ties.is_empty() {
            true
        } else {
            let (_, next) = ties.swap_remove(rng.below(ties.len()));
            match next {
                None => {
                    s.backpropagate(cur, 0.0);
                    true
                }
                Some(t) => match s.ids.get(&t).copied() {
                    None => {
                        let (id, v) = s.create(t, Some(cur), rng);
                        if v > 0.0 {
                            s.backpropagate(id, v);
                        }
                        true
                    }
                    Some(id) if env.is_terminal(&t) => {
                        let v = s.nodes[id].x_bar;
                        s.nodes[id].n += 1.0;
                        s.backpropagate(id, v);
                        true
                    }
                    Some(id) => {
                        state = t;
                        cur = id;
                        steps += 1;
                        steps > cfg.max_steps
                    }
                },
            }
        };
        if reset {
            state = root.clone();
            cur = 0;
            steps = 0;
        }
        s.maybe_retrain(&mut train_rng);
        idle = if s.log.len() > before { 0 } else { idle + 1 };
    }
    s.log
}

#[cfg(test)]
mod tests;
