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
//! and [`Alphax`], an ask/tell [`Optimizer`] of table entries driven by core's
//! run loop (on a `TableProblem`, through
//! `searchkit::nasbench::tabular::run_to_optimum`); the predictor is
//! [`mlp::Mlp`] on [`nb101_encoding`] (NAS-Bench-101) or the one-hot op vector
//! (NAS-Bench-201).
//!
//! ```
//! use alphax::{Alphax, AlphaxConfig, Nb201Env};
//! use searchkit::nasbench::nb201::Metric;
//! use searchkit::nasbench::tabular::{run_to_optimum, TableProblem, Tabular};
//! use searchkit::rng::Stream;
//!
//! let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
//! let env = Nb201Env::new(&tab);
//! let mut alphax = Alphax::new(&env, AlphaxConfig::default());
//! let mut rng = Stream::for_run("doc", "alphax", 0);
//! let log = run_to_optimum(&TableProblem::new(&tab, None), &mut alphax, 300, &mut rng);
//! assert!(log.len() <= 300);
//! ```

pub mod mlp;

use mlp::{Mlp, TrainConfig};
use searchkit::nasbench::nb101::{Nb101Cell, Op, MAX_VERTICES};
use searchkit::nasbench::nb201::Cell;
use searchkit::nasbench::tabular::{nb201_one_hot, Nb101Index, Source, Tabular};
use searchkit::optimizer::{Evaluated, Optimizer};
use searchkit::rng::Stream;
use std::collections::{HashMap, HashSet};
use std::hash::Hash;

/// An action space whose terminal states are architectures of a table.
pub trait Env: Sync {
    type State: Clone + Eq + Hash + Send + std::fmt::Debug;
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
        nb101_encoding(&cells[entry]).to_vec()
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

/// Length of AlphaX's meta-DNN input on NB101 ([`nb101_encoding`]).
pub const NB101_DIM: usize = 56;

/// AlphaX's meta-DNN input (`net_predictor.py`): the `n x n` adjacency
/// flattened row-major and zero-padded to 49, then a code per vertex except
/// the last (input 2, conv1x1 3, maxpool3x3 4, conv3x3 5), padded with 9 to 7.
pub fn nb101_encoding(cell: &Nb101Cell) -> [f32; NB101_DIM] {
    let mut v = [0f32; NB101_DIM];
    let n = cell.num_vertices();
    for i in 0..n {
        for j in 0..n {
            v[i * n + j] = if cell.adjacency[i][j] { 1.0 } else { 0.0 };
        }
    }
    for k in 0..7 {
        v[49 + k] = 9.0;
    }
    for (i, op) in cell.ops[..n - 1].iter().enumerate() {
        v[49 + i] = match op {
            Op::Input => 2.0,
            Op::Conv1x1 => 3.0,
            Op::MaxPool3x3 => 4.0,
            Op::Conv3x3 => 5.0,
            Op::Output => 6.0,
        };
    }
    v
}

#[derive(Clone, Debug)]
struct Node {
    x_bar: f64,
    n: f64,
    parent: Option<usize>,
}

/// A node waiting for its sample's value: created once the value is told.
struct Pending<S> {
    state: S,
    parent: Option<usize>,
    entry: usize,
    /// A terminal node is valued by its own sample, without the meta-DNN.
    terminal: bool,
}

/// Iterations without a new sample before the search gives up (every
/// reachable terminal already in the tree).
const MAX_IDLE: usize = 1_000_000;

/// AlphaX as an ask/tell optimiser of table entries.
///
/// One search iteration (the authors' loop body) samples at most one
/// architecture, so an ask runs iterations until one needs a sample and
/// returns that entry; the tell values the new node with it (plus the
/// meta-DNN's rollouts), back-propagates, and retrains the predictor when due.
/// Every random draw is the one the sequential loop makes, in its order. The
/// first ask also creates the root, which costs one sample; a search that
/// stays a million iterations without sampling gives an empty ask.
pub struct Alphax<'e, E: Env> {
    env: &'e E,
    cfg: AlphaxConfig,
    nodes: Vec<Node>,
    ids: HashMap<E::State, usize>,
    /// Unique sampled entries, in first-sample order.
    trained: Vec<usize>,
    trained_set: HashSet<usize>,
    meta: Option<Mlp>,
    trained_at: HashSet<usize>,
    /// The predictor's training draws (a child of the run's stream).
    train_rng: Option<Stream>,
    /// The walk: current state, its node, steps since the root.
    state: E::State,
    cur: usize,
    steps: usize,
    idle: usize,
    pending: Option<Pending<E::State>>,
}

impl<'e, E: Env> Alphax<'e, E> {
    pub fn new(env: &'e E, cfg: AlphaxConfig) -> Self {
        Self {
            env,
            cfg,
            nodes: vec![],
            ids: HashMap::new(),
            trained: vec![],
            trained_set: HashSet::new(),
            meta: None,
            trained_at: HashSet::new(),
            train_rng: None,
            state: env.root(),
            cur: 0,
            steps: 0,
            idle: 0,
            pending: None,
        }
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

    /// Start creating the node of `s` (`MCTS.evaluate` up to its sample):
    /// the entry to sample, or `None` when the node was valued without one
    /// (a terminal outside the table: 0; no rollout reached the table: 0.1).
    fn begin_create(
        &mut self,
        s: E::State,
        parent: Option<usize>,
        rng: &mut Stream,
    ) -> Option<usize> {
        let terminal = self.env.is_terminal(&s);
        let found = if terminal {
            self.env.lookup(&s)
        } else {
            self.rollout(&s, rng)
        };
        match found {
            Some(entry) => {
                self.pending = Some(Pending {
                    state: s,
                    parent,
                    entry,
                    terminal,
                });
                Some(entry)
            }
            None => {
                self.finish_create(s, parent, if terminal { 0.0 } else { 0.1 });
                None
            }
        }
    }

    /// The new node's value after its sample of value `acc`: with the
    /// meta-DNN, averaged with further rollouts valued by the predictor
    /// (true values for architectures already sampled).
    fn value_with_meta(&self, s: &E::State, acc: f64, rng: &mut Stream) -> f64 {
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

    /// Add the node of `s` valued `v` and back-propagate a positive value.
    fn finish_create(&mut self, s: E::State, parent: Option<usize>, v: f64) {
        let id = self.nodes.len();
        self.nodes.push(Node {
            x_bar: v,
            n: 1.0,
            parent,
        });
        self.ids.insert(s, id);
        if v > 0.0 {
            self.backpropagate(id, v);
        }
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

    fn maybe_retrain(&mut self) {
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
        let rng = self.train_rng.as_mut().expect("set at the first ask");
        net.train(&xs, &ys, &meta.train, rng);
    }

    /// Back to the root for the next iteration.
    fn reset_walk(&mut self) {
        self.state = self.env.root();
        self.cur = 0;
        self.steps = 0;
    }

    /// One iteration of the authors' loop up to its sample: `Some(entry)`
    /// when a new node needs one (the iteration ends in `tell`), `None` when
    /// the iteration ended without sampling.
    fn iterate(&mut self, rng: &mut Stream) -> Option<usize> {
        let env = self.env;
        let k = env.num_actions(&self.state);
        let ln_n = self.nodes[self.cur].n.ln();
        let mut best = f64::NEG_INFINITY;
        let mut ties: Vec<(usize, Option<E::State>)> = vec![];
        for a in 0..k {
            let next = env.step(&self.state, a);
            let u = match &next {
                None => 0.0,
                Some(t) => match self.ids.get(t) {
                    None => f64::INFINITY,
                    Some(&id) => {
                        let nd = &self.nodes[id];
                        nd.x_bar + 2.0 * self.cfg.cp * (2.0 * ln_n / nd.n).sqrt()
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
                    self.backpropagate(self.cur, 0.0);
                    true
                }
                Some(t) => match self.ids.get(&t).copied() {
                    None => {
                        let parent = Some(self.cur);
                        if let Some(entry) = self.begin_create(t, parent, rng) {
                            return Some(entry);
                        }
                        true
                    }
                    Some(id) if env.is_terminal(&t) => {
                        let v = self.nodes[id].x_bar;
                        self.nodes[id].n += 1.0;
                        self.backpropagate(id, v);
                        true
                    }
                    Some(id) => {
                        self.state = t;
                        self.cur = id;
                        self.steps += 1;
                        self.steps > self.cfg.max_steps
                    }
                },
            }
        };
        if reset {
            self.reset_walk();
        }
        self.maybe_retrain();
        self.idle += 1;
        None
    }
}

impl<E: Env> Optimizer<usize> for Alphax<'_, E> {
    fn name(&self) -> String {
        "alphax".into()
    }

    fn ask(&mut self, rng: &mut Stream) -> Vec<usize> {
        if self.train_rng.is_none() {
            // First ask: the predictor's streams, then the root (a sample).
            let mlp_rng = rng.child("meta-dnn");
            self.meta = self.cfg.meta.as_ref().map(|m| {
                let dim = self.env.meta_features(0).len();
                Mlp::new(dim, &m.hidden, &mut mlp_rng.child("init"))
            });
            self.train_rng = Some(mlp_rng.child("train"));
            if let Some(entry) = self.begin_create(self.env.root(), None, rng) {
                return vec![entry];
            }
        }
        while self.idle < MAX_IDLE {
            if let Some(entry) = self.iterate(rng) {
                return vec![entry];
            }
        }
        vec![]
    }

    fn tell(&mut self, evaluated: &[Evaluated<usize>], rng: &mut Stream) {
        for e in evaluated {
            let p = self.pending.take().expect("a told sample was asked");
            debug_assert_eq!(p.entry, e.x);
            if self.trained_set.insert(p.entry) {
                self.trained.push(p.entry);
            }
            let acc = e.y[0];
            let v = if p.terminal {
                acc
            } else {
                self.value_with_meta(&p.state, acc, rng)
            };
            let root = p.parent.is_none();
            self.finish_create(p.state, p.parent, v);
            if !root {
                // The rest of the loop iteration that sampled.
                self.reset_walk();
                self.maybe_retrain();
                self.idle = 0;
            }
        }
    }
}

#[cfg(test)]
mod tests;
