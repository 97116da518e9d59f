//! A tabular benchmark as a finite list of architectures, and the metric that
//! LaNAS and AlphaX report on it: the number of samples until the table's
//! global optimum is sampled, with the best true accuracy against samples.
//!
//! Both papers search NAS-Bench-101 (and here also NAS-Bench-201) as a finite
//! table: every architecture has a fixed-length encoding (the input of a
//! method's models, given by the caller for NB101: [`Tabular::nb101_with`])
//! and a true accuracy. A search "samples" an architecture by looking its
//! accuracy up; a run ends when the best architecture of the table has been
//! sampled.
//!
//! Searches on a table use the workspace's one run protocol: the table is a
//! [`Problem`] ([`TableProblem`]) over its entry numbers ([`TableSpace`]: a
//! [`FiniteSpace`] for random search without replacement, with the
//! benchmark's mutation for regularized evolution), any [`Optimizer`] of entry
//! numbers runs on it through [`run_to_optimum`] (core's run loop stopping at
//! the known optimum), and [`SampleLog`] is the observer that records the
//! papers' curve.
//!
//! ```
//! use searchkit::baselines::RandomSearch;
//! use searchkit::nasbench::nb201::Metric;
//! use searchkit::nasbench::tabular::{run_to_optimum, TableProblem, Tabular};
//! use searchkit::prelude::*;
//!
//! let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
//! assert_eq!(tab.len(), 15_625);
//! let problem = TableProblem::new(&tab, None);
//! let mut random = RandomSearch::without_replacement(*problem.space(), 1);
//! let mut rng = Stream::for_run("doc", "random", 0);
//! let log = run_to_optimum(&problem, &mut random, usize::MAX, &mut rng);
//! assert_eq!(log.samples_to_optimum(), Some(log.len()));
//! ```

use super::nb101::{self, Nb101Cell, Nb101Table, Op};
use super::nb201::{self, Cell, Metric};
use crate::optimizer::{run_until, Observer, Optimizer, StopWhen, TraceEntry};
use crate::partition::{Domain, InitialDesign, Region, RegionSampling, Samples};
use crate::problem::Problem;
use crate::rng::Stream;
use crate::space::{FiniteSpace, Mutate, Space};

/// Why a table could not be built.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TabularError {
    #[error("the table `{name}` has no entries{why}")]
    Empty { name: String, why: String },
}

/// Which benchmark a [`Tabular`] came from, with what its mutation needs.
#[derive(Clone, Debug)]
pub enum Source {
    /// NAS-Bench-201: entry `i` is the cell of official index `i`.
    Nb201,
    /// NAS-Bench-101: the cells of the table, in entry order.
    Nb101 { cells: Vec<Nb101Cell> },
}

/// A finite table of architectures: encodings (row-major, `dim` per entry) and
/// true values (higher is better).
#[derive(Clone, Debug)]
pub struct Tabular {
    pub name: String,
    dim: usize,
    features: Vec<f32>,
    values: Vec<f64>,
    best: f64,
    optimum: usize,
    pub source: Source,
}

impl Tabular {
    /// A table from encodings and values (entries with NaN values are kept but
    /// can never be the optimum); an error when there are no entries. Panics
    /// when `features` is not `dim` values per entry.
    pub fn new(
        name: impl Into<String>,
        dim: usize,
        features: Vec<f32>,
        values: Vec<f64>,
        source: Source,
    ) -> Result<Self, TabularError> {
        let name = name.into();
        assert!(dim > 0 && features.len() == dim * values.len());
        if values.is_empty() {
            return Err(TabularError::Empty {
                name,
                why: String::new(),
            });
        }
        let mut optimum = 0;
        let mut best = f64::NEG_INFINITY;
        for (i, &v) in values.iter().enumerate() {
            if v > best {
                best = v;
                optimum = i;
            }
        }
        Ok(Self {
            name,
            dim,
            features,
            values,
            best,
            optimum,
            source,
        })
    }

    /// NAS-Bench-201 under `metric` (an accuracy), encoded as the one-hot op
    /// vector (6 edges x 5 ops = 30 values, edge order of [`nb201::EDGES`]).
    /// Values are fractions (the table's percent / 100), the scale both
    /// papers' code works in (LaNAS's Cp = 0.1 and AlphaX's sigmoid output
    /// assume accuracies in [0, 1]).
    pub fn nb201(metric: Metric) -> Self {
        let t = nb201::table();
        let mut features = Vec::with_capacity(nb201::NUM_CELLS * 30);
        let mut values = Vec::with_capacity(nb201::NUM_CELLS);
        for i in 0..nb201::NUM_CELLS {
            let cell = Cell::from_index(i).expect("every index is a cell");
            features.extend(nb201_one_hot(cell));
            values.push(t.value(i, metric) / 100.0);
        }
        Self::new(
            format!("nb201-{metric}"),
            30,
            features,
            values,
            Source::Nb201,
        )
        .expect("the embedded NB201 table has every cell")
    }

    /// NAS-Bench-101 under `metric`, keeping cells of at most `max_vertices`
    /// vertices (AlphaX's main domain is 6; 7 is the whole table), each encoded
    /// by `encode` (the method's input layout, e.g. LaNAS's dataset encoding).
    /// An error when no cell is kept (an empty file, or none small enough).
    pub fn nb101_with<const D: usize>(
        table: &Nb101Table,
        metric: nb101::Metric,
        max_vertices: usize,
        encode: impl Fn(&Nb101Cell) -> [f32; D],
    ) -> Result<Self, TabularError> {
        let mut features = vec![];
        let mut values = vec![];
        let mut cells = vec![];
        for r in table.iter() {
            if r.cell.num_vertices() > max_vertices {
                continue;
            }
            features.extend(encode(&r.cell));
            values.push(metric.value(r));
            cells.push(r.cell.clone());
        }
        Self::new(
            format!("nb101-v{max_vertices}"),
            D,
            features,
            values,
            Source::Nb101 { cells },
        )
        .map_err(|e| match e {
            TabularError::Empty { name, .. } => TabularError::Empty {
                name,
                why: format!(
                    ": none of the {} NAS-Bench-101 cells has at most {max_vertices} vertices",
                    table.len()
                ),
            },
        })
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }

    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Length of an encoding.
    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn encoding(&self, i: usize) -> &[f32] {
        &self.features[i * self.dim..(i + 1) * self.dim]
    }

    pub fn value(&self, i: usize) -> f64 {
        self.values[i]
    }

    /// The best value of the table.
    pub fn best_value(&self) -> f64 {
        self.best
    }

    /// The first entry with the best value.
    pub fn optimum_index(&self) -> usize {
        self.optimum
    }

    /// Whether entry `i` attains the best value (ties count: any entry with
    /// the table's top value is "the global optimum").
    pub fn is_optimum(&self, i: usize) -> bool {
        self.values[i] >= self.best
    }

    /// A random neighbour of entry `i` that is in the table: NB201 changes one
    /// edge's op; NB101 flips one edge or changes one op, as the NAS-Bench-101
    /// regularized-evolution baseline does, retrying until the mutated cell
    /// is in the table. `lookup` maps a cell to its entry (see
    /// [`Nb101Index`]).
    pub fn mutate(&self, i: usize, index: Option<&Nb101Index>, rng: &mut Stream) -> usize {
        match &self.source {
            Source::Nb201 => {
                let space = nb201::space();
                let x = Cell::from_index(i).expect("index").to_vec();
                let y = space.mutate_one(&x, rng);
                Cell::from_ops(&y).expect("op vector").index()
            }
            Source::Nb101 { cells } => {
                let index = index.expect("NB101 mutation needs an Nb101Index");
                let c = &cells[i];
                for _ in 0..10_000 {
                    let m = nb101_mutate(c, rng);
                    if let Some(j) = index.get(&m) {
                        if j != i {
                            return j;
                        }
                    }
                }
                // A cell without table neighbours (only in tiny fixtures).
                rng.below(self.len())
            }
        }
    }
}

/// The one-hot op vector of an NB201 cell: 30 values.
pub fn nb201_one_hot(cell: Cell) -> [f32; 30] {
    let mut v = [0f32; 30];
    for (e, &op) in cell.ops().iter().enumerate() {
        v[e * 5 + op as usize] = 1.0;
    }
    v
}

/// An isomorphism-invariant key of a (pruned) NB101 cell: the smallest
/// (adjacency bits, ops) over all orderings of the intermediate vertices. Two
/// cells have the same key exactly when they are the same graph.
pub fn nb101_canonical_key(cell: &Nb101Cell) -> u128 {
    let n = cell.num_vertices();
    let mid: Vec<usize> = (1..n - 1).collect();
    let mut best = u128::MAX;
    let mut perm = mid.clone();
    // Heap's algorithm over the intermediate vertices (at most 5! = 120).
    let mut c = vec![0usize; perm.len()];
    let mut eval = |p: &[usize]| {
        // order[k] = original vertex placed at position k.
        let mut order = Vec::with_capacity(n);
        order.push(0);
        order.extend_from_slice(p);
        order.push(n - 1);
        let mut key: u128 = n as u128;
        for &a in &order {
            for &b in &order {
                key = (key << 1) | cell.adjacency[a][b] as u128;
            }
        }
        for &a in &order {
            key = (key << 2) | op_code(cell.ops[a]);
        }
        best = best.min(key);
    };
    eval(&perm);
    let mut i = 0;
    while i < perm.len() {
        if c[i] < i {
            if i % 2 == 0 {
                perm.swap(0, i);
            } else {
                perm.swap(c[i], i);
            }
            eval(&perm);
            c[i] += 1;
            i = 0;
        } else {
            c[i] = 0;
            i += 1;
        }
    }
    best
}

fn op_code(op: Op) -> u128 {
    match op {
        Op::Input | Op::Output => 0,
        Op::Conv1x1 => 1,
        Op::Conv3x3 => 2,
        Op::MaxPool3x3 => 3,
    }
}

/// Cells of an NB101 [`Tabular`] by canonical key, so a cell built any way
/// (mutation, AlphaX's construction actions) finds its entry.
#[derive(Clone, Debug, Default)]
pub struct Nb101Index {
    map: std::collections::HashMap<u128, usize>,
}

impl Nb101Index {
    pub fn new(tab: &Tabular) -> Self {
        let mut map = std::collections::HashMap::new();
        if let Source::Nb101 { cells } = &tab.source {
            for (i, c) in cells.iter().enumerate() {
                map.entry(nb101_canonical_key(c)).or_insert(i);
            }
        }
        Self { map }
    }

    /// The entry of a cell (pruned first; `None` when not in the table).
    pub fn get(&self, cell: &Nb101Cell) -> Option<usize> {
        let p = cell.pruned()?;
        if p.num_edges() > nb101::MAX_EDGES {
            return None;
        }
        self.map.get(&nb101_canonical_key(&p)).copied()
    }
}

/// NAS-Bench-101's REA mutation: with probability 1/2 flip one upper-triangle
/// edge, otherwise change one intermediate op.
fn nb101_mutate(c: &Nb101Cell, rng: &mut Stream) -> Nb101Cell {
    let mut m = c.clone();
    let n = c.num_vertices();
    if rng.below(2) == 0 || n <= 2 {
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect();
        let (i, j) = pairs[rng.below(pairs.len())];
        m.adjacency[i][j] = !m.adjacency[i][j];
    } else {
        const MIDDLE: [Op; 3] = [Op::Conv1x1, Op::Conv3x3, Op::MaxPool3x3];
        let v = 1 + rng.below(n - 2);
        let others: Vec<Op> = MIDDLE.into_iter().filter(|&o| o != c.ops[v]).collect();
        m.ops[v] = others[rng.below(others.len())];
    }
    m
}

/// Every cell of at most `max_vertices` vertices (pruned, at most 9 edges),
/// one per isomorphism class, in a fixed order: a small complete NB101-like
/// space for fixtures (5 vertices: 2,532 cells).
pub fn nb101_small_space(max_vertices: usize) -> Vec<Nb101Cell> {
    const MIDDLE: [Op; 3] = [Op::Conv1x1, Op::Conv3x3, Op::MaxPool3x3];
    let mut seen = std::collections::HashSet::new();
    let mut out = vec![];
    for n in 2..=max_vertices.min(nb101::MAX_VERTICES) {
        let pairs: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (i + 1..n).map(move |j| (i, j)))
            .collect();
        for mask in 0u32..(1 << pairs.len()) {
            if mask.count_ones() as usize > nb101::MAX_EDGES {
                continue;
            }
            for opcode in 0..3usize.pow((n - 2) as u32) {
                let mut adjacency = [[false; nb101::MAX_VERTICES]; nb101::MAX_VERTICES];
                for (k, &(i, j)) in pairs.iter().enumerate() {
                    adjacency[i][j] = mask >> k & 1 == 1;
                }
                let mut ops = vec![Op::Input];
                let mut c = opcode;
                for _ in 0..n - 2 {
                    ops.push(MIDDLE[c % 3]);
                    c /= 3;
                }
                ops.push(Op::Output);
                let cell = Nb101Cell { adjacency, ops };
                if cell.pruned().as_ref() != Some(&cell) {
                    continue;
                }
                if seen.insert(nb101_canonical_key(&cell)) {
                    out.push(cell);
                }
            }
        }
    }
    out
}

/// The entries of a [`Tabular`] as a space: a point is an entry number.
///
/// Uniform sampling draws an entry; it is a [`FiniteSpace`] (random search
/// without replacement walks a permutation of the table) and [`Mutate`]s by
/// the benchmark's neighbourhood ([`Tabular::mutate`]; NB101 needs the
/// table's [`Nb101Index`]).
#[derive(Clone, Copy, Debug)]
pub struct TableSpace<'a> {
    tab: &'a Tabular,
    index: Option<&'a Nb101Index>,
}

impl<'a> TableSpace<'a> {
    pub fn table(&self) -> &'a Tabular {
        self.tab
    }

    /// `mask[i]`: whether entry `i` is among `told`.
    pub fn told_mask(&self, told: &[usize]) -> Vec<bool> {
        let mut mask = vec![false; self.tab.len()];
        told.iter().for_each(|&i| mask[i] = true);
        mask
    }
}

impl Space for TableSpace<'_> {
    type X = usize;
    fn dim(&self) -> usize {
        1
    }
    fn sample(&self, rng: &mut Stream) -> usize {
        rng.below(self.tab.len())
    }
    fn contains(&self, x: &usize) -> bool {
        *x < self.tab.len()
    }
}

impl FiniteSpace for TableSpace<'_> {
    fn num_points(&self) -> usize {
        self.tab.len()
    }
    fn point(&self, i: usize) -> usize {
        i
    }
    fn index_of(&self, x: &usize) -> usize {
        *x
    }
}

/// A table as a partition-search domain (LaNAS): the tree sees each entry's
/// encoding; the initial design and the fallback draw distinct untold
/// entries uniformly (the design's kind does not matter on a table).
impl Domain for TableSpace<'_> {
    fn features(&self, x: &usize) -> Vec<f64> {
        self.tab
            .encoding(*x)
            .iter()
            .map(|&v| f64::from(v))
            .collect()
    }

    fn initial_design(
        &self,
        n: usize,
        _design: InitialDesign,
        told: &[usize],
        rng: &mut Stream,
    ) -> Vec<usize> {
        let mut taken = self.told_mask(told);
        let n = n.min(taken.iter().filter(|&&t| !t).count());
        let mut out = Vec::with_capacity(n);
        // Uniform draws until an untold entry comes up (the authors' loop).
        while out.len() < n {
            let i = rng.below(self.tab.len());
            if !taken[i] {
                taken[i] = true;
                out.push(i);
            }
        }
        out
    }

    /// Untold entries inside `region`, or anywhere when it holds none.
    fn fallback(
        &self,
        region: &Region,
        n: usize,
        _samples: &Samples,
        told: &[usize],
        _sampling: &RegionSampling,
        rng: &mut Stream,
    ) -> Vec<usize> {
        let taken = self.told_mask(told);
        let untold: Vec<usize> = (0..self.tab.len()).filter(|&i| !taken[i]).collect();
        let inside: Vec<usize> = untold
            .iter()
            .copied()
            .filter(|&i| region.contains(&self.features(&i)))
            .collect();
        let mut pool = if inside.is_empty() { untold } else { inside };
        let mut out = Vec::with_capacity(n.min(pool.len()));
        while out.len() < n && !pool.is_empty() {
            out.push(pool.swap_remove(rng.below(pool.len())));
        }
        out
    }
}

impl Mutate for TableSpace<'_> {
    fn mutate(&self, x: &usize, rng: &mut Stream) -> usize {
        self.tab.mutate(*x, self.index, rng)
    }
}

/// Which sampled entry counts as "the optimum" of a table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// Any entry with the table's best value (ties count).
    #[default]
    AnyBest,
    /// Only the first entry with the best value in table order
    /// ([`Tabular::optimum_index`]): the authors' LaNAS and AlphaX code keep
    /// one best entry (a strict `>` scan) and stop when it is sampled.
    FirstBest,
}

impl Target {
    /// Parse a config value: `any-best` or `first-best`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "any-best" => Some(Target::AnyBest),
            "first-best" => Some(Target::FirstBest),
            _ => None,
        }
    }
}

/// A table as a single-objective [`Problem`]: an entry's value is its true
/// accuracy (maximised), and the known optimum is the table's best value,
/// attained by any best entry or by one ([`Target`]).
#[derive(Clone, Copy, Debug)]
pub struct TableProblem<'a> {
    space: TableSpace<'a>,
    target: Target,
}

impl<'a> TableProblem<'a> {
    /// `index` is needed only to mutate NB101 entries.
    pub fn new(tab: &'a Tabular, index: Option<&'a Nb101Index>) -> Self {
        Self {
            space: TableSpace { tab, index },
            target: Target::AnyBest,
        }
    }

    /// The same problem with another [`Target`].
    pub fn with_target(self, target: Target) -> Self {
        Self { target, ..self }
    }

    pub fn table(&self) -> &'a Tabular {
        self.space.tab
    }

    pub fn target(&self) -> Target {
        self.target
    }

    /// Whether sampling entry `i` reaches the optimum.
    pub fn is_target(&self, i: usize) -> bool {
        match self.target {
            Target::AnyBest => self.space.tab.is_optimum(i),
            Target::FirstBest => i == self.space.tab.optimum_index(),
        }
    }
}

impl<'a> Problem for TableProblem<'a> {
    type Space = TableSpace<'a>;
    fn name(&self) -> String {
        self.space.tab.name.clone()
    }
    fn space(&self) -> &TableSpace<'a> {
        &self.space
    }
    fn evaluate(&self, x: &usize) -> Vec<f64> {
        vec![self.space.tab.value(*x)]
    }
    fn optimum(&self) -> Option<f64> {
        Some(self.space.tab.best_value())
    }
    fn is_optimum(&self, x: &usize, _raw: &[f64]) -> bool {
        self.is_target(*x)
    }
}

/// The papers' protocol: run `opt` on the table until its optimum is sampled,
/// `budget` samples are spent or `opt` is exhausted, recording the
/// [`SampleLog`].
pub fn run_to_optimum<O>(
    problem: &TableProblem<'_>,
    opt: &mut O,
    budget: usize,
    rng: &mut Stream,
) -> SampleLog
where
    O: Optimizer<usize> + ?Sized,
{
    let mut log = SampleLog::for_problem(problem);
    run_until(
        problem,
        opt,
        budget,
        StopWhen::KnownOptimum,
        rng,
        &mut [&mut log],
    );
    log
}

/// What a run sampled, in order, and the curve the papers plot: an
/// [`Observer`] of a run on a [`TableProblem`].
#[derive(Clone, Debug, Default)]
pub struct SampleLog {
    /// Entries in the order they were sampled (repeats included).
    pub sampled: Vec<usize>,
    /// Best true value after each sample.
    pub curve: Vec<f64>,
    /// 1-based sample count at which an optimum was first sampled.
    pub hit: Option<usize>,
    best: f64,
    /// The table's best value: any entry attaining it is "the optimum"...
    target: f64,
    /// ... unless only this entry is ([`Target::FirstBest`]).
    entry: Option<usize>,
}

impl SampleLog {
    /// A log where any best entry is the optimum ([`Target::AnyBest`]).
    pub fn new(tab: &Tabular) -> Self {
        Self {
            best: f64::NEG_INFINITY,
            target: tab.best_value(),
            ..Default::default()
        }
    }

    /// A log of a run on `problem`, with its [`Target`].
    pub fn for_problem(problem: &TableProblem<'_>) -> Self {
        let tab = problem.table();
        Self {
            entry: (problem.target() == Target::FirstBest).then(|| tab.optimum_index()),
            ..Self::new(tab)
        }
    }

    /// Record that entry `i` of true value `v` was sampled.
    pub fn record(&mut self, i: usize, v: f64) {
        self.sampled.push(i);
        if v > self.best {
            self.best = v;
        }
        self.curve.push(self.best);
        // Ties count, as in `Tabular::is_optimum`, unless one entry is the
        // target.
        let hit = match self.entry {
            Some(e) => i == e,
            None => v >= self.target,
        };
        if self.hit.is_none() && hit {
            self.hit = Some(self.sampled.len());
        }
    }

    pub fn len(&self) -> usize {
        self.sampled.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sampled.is_empty()
    }

    /// Number of samples until the optimum was sampled (`None` if never).
    pub fn samples_to_optimum(&self) -> Option<usize> {
        self.hit
    }
}

impl Observer<usize> for SampleLog {
    fn on_batch(&mut self, batch: &[TraceEntry<usize>], _done: usize, _budget: usize) {
        for e in batch {
            self.record(e.x, e.raw[0]);
        }
    }
}

/// Table REA as the tabular driver runs it (tournaments without replacement).
#[cfg(test)]
fn rea(
    problem: &TableProblem<'_>,
    population: usize,
    sample_size: usize,
    budget: usize,
    rng: &mut Stream,
) -> SampleLog {
    use crate::baselines::{RegularizedEvolution, Tournament};
    let mut opt = RegularizedEvolution::new(*problem.space(), population, sample_size)
        .with_tournament(Tournament::WithoutReplacement);
    run_to_optimum(problem, &mut opt, budget, rng)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baselines::RandomSearch;

    #[test]
    fn nb201_table_encodes_and_finds_its_optimum() {
        let m = Metric::parse("cifar10-test").unwrap();
        let tab = Tabular::nb201(m);
        assert_eq!(tab.dim(), 30);
        let (bi, bv) = nb201::table().best(m);
        assert_eq!(tab.optimum_index(), bi);
        assert_eq!(tab.best_value(), bv / 100.0);
        for i in [0, 17, 15_624] {
            let e = tab.encoding(i);
            assert_eq!(e.iter().sum::<f32>(), 6.0);
            let cell = Cell::from_index(i).unwrap();
            for (k, &op) in cell.ops().iter().enumerate() {
                assert_eq!(e[k * 5 + op as usize], 1.0);
            }
        }
    }

    #[test]
    fn random_search_without_replacement_finds_the_optimum_within_the_table() {
        let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
        let problem = TableProblem::new(&tab, None);
        let mut opt = RandomSearch::without_replacement(*problem.space(), 1);
        let mut rng = Stream::root("rs");
        let log = run_to_optimum(&problem, &mut opt, usize::MAX, &mut rng);
        let hit = log.samples_to_optimum().unwrap();
        assert_eq!(log.len(), hit);
        let mut seen = log.sampled.clone();
        seen.sort();
        seen.dedup();
        assert_eq!(seen.len(), log.len(), "no repeats");
        assert!(log.curve.windows(2).all(|w| w[1] >= w[0]));
    }

    #[test]
    fn rea_on_nb201_reaches_the_optimum_and_stops() {
        let tab = Tabular::nb201(Metric::parse("cifar10-test").unwrap());
        let mut rng = Stream::root("rea");
        let log = rea(&TableProblem::new(&tab, None), 20, 5, 200_000, &mut rng);
        assert_eq!(log.samples_to_optimum(), Some(log.len()));
    }

    #[test]
    fn canonical_key_ignores_vertex_order() {
        // input -> a(conv3) -> b(pool) -> output, and input -> b: two orderings.
        let m1 = vec![
            vec![0, 1, 1, 0],
            vec![0, 0, 1, 0],
            vec![0, 0, 0, 1],
            vec![0, 0, 0, 0],
        ];
        let c1 = Nb101Cell::new(
            &m1,
            vec![Op::Input, Op::Conv3x3, Op::MaxPool3x3, Op::Output],
        )
        .unwrap();
        // Same graph, intermediate vertices listed the other way round is not
        // topological here, so compare with a relabelled diamond instead.
        let d1 = Nb101Cell::new(
            &[
                vec![0, 1, 1, 0],
                vec![0, 0, 0, 1],
                vec![0, 0, 0, 1],
                vec![0, 0, 0, 0],
            ],
            vec![Op::Input, Op::Conv3x3, Op::Conv1x1, Op::Output],
        )
        .unwrap();
        let d2 = Nb101Cell::new(
            &[
                vec![0, 1, 1, 0],
                vec![0, 0, 0, 1],
                vec![0, 0, 0, 1],
                vec![0, 0, 0, 0],
            ],
            vec![Op::Input, Op::Conv1x1, Op::Conv3x3, Op::Output],
        )
        .unwrap();
        assert_eq!(nb101_canonical_key(&d1), nb101_canonical_key(&d2));
        assert_ne!(nb101_canonical_key(&d1), nb101_canonical_key(&c1));
    }
}

#[cfg(test)]
mod nb101_tests {
    use super::*;

    /// Every cell of at most 5 vertices with random values.
    fn small() -> Tabular {
        let cells = nb101_small_space(5);
        let mut rng = Stream::root("vals");
        let values: Vec<f64> = cells.iter().map(|_| rng.uniform()).collect();
        // Any encoding will do here: the vertex count.
        let features = cells.iter().map(|c| c.num_vertices() as f32).collect();
        Tabular::new("small", 1, features, values, Source::Nb101 { cells }).unwrap()
    }

    #[test]
    fn an_empty_nb101_table_is_an_error_not_a_panic() {
        let e = Tabular::nb101_with(
            &Nb101Table::default(),
            nb101::Metric::MeanTestAcc,
            7,
            |_| [0f32],
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "the table `nb101-v7` has no entries: none of the 0 NAS-Bench-101 cells has at most 7 vertices"
        );
    }

    #[test]
    fn small_space_is_complete_and_indexed() {
        let tab = small();
        let index = Nb101Index::new(&tab);
        let Source::Nb101 { cells } = &tab.source else {
            unreachable!()
        };
        for (i, c) in cells.iter().enumerate() {
            assert_eq!(index.get(c), Some(i));
        }
    }

    #[test]
    fn nb101_mutation_reaches_the_whole_small_space() {
        let tab = small();
        let index = Nb101Index::new(&tab);
        let mut rng = Stream::root("walk");
        let mut seen = std::collections::HashSet::new();
        let mut i = 0;
        for _ in 0..50_000 {
            i = tab.mutate(i, Some(&index), &mut rng);
            seen.insert(i);
        }
        assert!(
            seen.len() * 10 >= tab.len() * 9,
            "{} of {}",
            seen.len(),
            tab.len()
        );
        // On random values (no smoothness) REA stays in a local optimum's
        // neighbourhood; it still only proposes table cells.
        let log = rea(
            &TableProblem::new(&tab, Some(&index)),
            20,
            5,
            2_000,
            &mut rng,
        );
        assert_eq!(log.len(), 2_000);
        assert!(log.sampled.iter().all(|&s| s < tab.len()));
    }
}

#[cfg(test)]
mod target_tests {
    use super::*;

    /// The facts the NB-201 LaNAS/AlphaX configs state about their single
    /// target ([`Target::FirstBest`]).
    #[test]
    fn nb201_best_entries_and_the_first_one() {
        const BEST: &str = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|";
        for (metric, all_best) in [
            ("cifar10-test", &[6111, 13714][..]),
            ("cifar10-valid-valid", &[6111][..]),
        ] {
            let tab = Tabular::nb201(Metric::parse(metric).unwrap());
            let best: Vec<usize> = (0..tab.len()).filter(|&i| tab.is_optimum(i)).collect();
            assert_eq!(best, all_best, "{metric}");
            assert_eq!(tab.optimum_index(), 6111, "{metric}");
            let cell = Cell::from_index(6111).unwrap();
            assert_eq!(cell.arch_str(), BEST);
            let problem = TableProblem::new(&tab, None).with_target(Target::FirstBest);
            assert!(problem.is_target(best[0]));
            assert_eq!(best.iter().filter(|&&i| problem.is_target(i)).count(), 1);
        }
    }
}
