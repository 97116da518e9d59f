//! # Few-shot NAS (Zhao, Wang, Tian, Fonseca, Guo; ICML 2021)
//!
//! One-shot NAS trains a single supernet whose weights all architectures
//! share, and ranks architectures by their accuracy with those shared weights.
//! Co-adaptation between operations makes that ranking poor. Few-shot NAS
//! splits the supernet on one edge into sub-supernets, one per operation
//! choice (5 on NAS-Bench-201, split on edge 1<-0), each shared by fewer
//! architectures, and shows that the estimates rank architectures better and
//! that a search driven by them finds better architectures.
//!
//! This crate works from the authors' published estimates for all 15,625
//! NAS-Bench-201 cells (embedded; see `data/fewshot/`): the true accuracy, the
//! one-shot estimate and the few-shot estimate. Entry points:
//!
//! - [`tables`]: the three tables, indexed by the official NAS-Bench-201 index;
//! - [`rank_quality`]: Kendall tau, Spearman rho and the true accuracy of each
//!   estimator's top-ranked architecture;
//! - [`EstimateProblem`] and [`search`]: any ask/tell optimiser of the
//!   workspace (regularized evolution, random search, ...) searching with an
//!   estimate as fitness, scored by the best *true* accuracy among the unique
//!   architectures it visited; [`Counting`] says how samples are counted;
//!   [`search_scored`] is the same over any finite set with its own truth
//!   and estimate (a trained sample: [`SampleSpace`]);
//! - [`key`]: the authors' name of a cell ([`key::fewshot_key`],
//!   [`key::cell_from_fewshot_key`]), how the embedded tables are keyed.
//!
//! ```
//! use fewshot::{rank_quality, Estimator};
//! let one = rank_quality(Estimator::OneShot);
//! let few = rank_quality(Estimator::FewShot);
//! assert!(few.kendall_tau > one.kendall_tau);
//! ```
//!
//! The mechanism itself, trained for real on a scaled-down space:
//!
//! - [`supernet`] (feature `torch`, off by default so a user of the tables
//!   compiles no libtorch): the NAS-Bench-201 network with weight sharing on
//!   tch ([`supernet::Supernet`], any `C` and cells per stage, the full shape
//!   being [`supernet::Shape::nb201`]), standalone and single-path supernet
//!   training ([`supernet::train`] with a [`supernet::Sampler`]), the split
//!   into sub-supernets from the one-shot weights ([`supernet::split`]) and
//!   the estimates ([`supernet::accuracy`], [`supernet::few_shot_accuracy`]),
//!   and first-order DARTS on the supernet or a sub-supernet
//!   ([`supernet::darts`]: softmax-mixed edges, alternating alpha and weight
//!   steps, the cell by argmax);
//! - [`trained`] (pure Rust): the uniform sample of cells, the ground-truth
//!   table format, rank statistics with bootstrap intervals over
//!   architectures and top-k overlap.
//!
//! The `fewshot-train` and `fewshot-darts` drivers (in `xtask-torch`) join
//! them on Fashion-MNIST (or the user's CIFAR-10 at the paper's full size);
//! the `fewshot-search` driver (in `xtask`) searches a trained sample.

pub mod key;
#[cfg(feature = "torch")]
pub mod supernet;
pub mod trained;

use searchkit::nasbench::nb201::{self, Cell};
use searchkit::optimizer::Optimizer;
use searchkit::problem::Problem;
use searchkit::rng::Stream;
use searchkit::space::Categorical;
use searchkit::stats;
use std::collections::HashSet;
use std::io::Read;
use std::sync::OnceLock;

/// Which accuracy a search or ranking uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Estimator {
    /// The true (stand-alone trained) accuracy from the authors' table.
    True,
    /// The one-shot supernet's estimate.
    OneShot,
    /// The few-shot (5 sub-supernets) estimate.
    FewShot,
}

impl Estimator {
    pub const CHOICES: [&'static str; 3] = ["true", "one-shot", "few-shot"];

    /// Parse `true`, `one-shot` or `few-shot`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "true" => Some(Self::True),
            "one-shot" => Some(Self::OneShot),
            "few-shot" => Some(Self::FewShot),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::True => "true",
            Self::OneShot => "one-shot",
            Self::FewShot => "few-shot",
        }
    }
}

/// The authors' tables, each indexed by the official NAS-Bench-201 index.
#[derive(Debug)]
pub struct SupernetTables {
    pub truth: Vec<f64>,
    pub one_shot: Vec<f64>,
    pub few_shot: Vec<f64>,
}

impl SupernetTables {
    pub fn get(&self, e: Estimator) -> &[f64] {
        match e {
            Estimator::True => &self.truth,
            Estimator::OneShot => &self.one_shot,
            Estimator::FewShot => &self.few_shot,
        }
    }
}

static TRUE_GZ: &[u8] = include_bytes!("../../../data/fewshot/nasbench201.json.gz");
static ONE_GZ: &[u8] = include_bytes!("../../../data/fewshot/one-shot-supernet.json.gz");
static FEW_GZ: &[u8] = include_bytes!("../../../data/fewshot/few-shot-supernet.json.gz");

fn parse_table(gz: &[u8], what: &str) -> Vec<f64> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("embedded few-shot table {what} is corrupt: {e}"));
    let map: std::collections::BTreeMap<String, f64> = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("embedded few-shot table {what}: {e}"));
    let mut out = vec![f64::NAN; nb201::NUM_CELLS];
    for (k, v) in map {
        let cell =
            key::cell_from_fewshot_key(&k).unwrap_or_else(|e| panic!("few-shot table {what}: {e}"));
        out[cell.index()] = v;
    }
    assert!(
        out.iter().all(|v| v.is_finite()),
        "few-shot table {what} does not cover all 15,625 cells"
    );
    out
}

/// The three embedded tables (parsed once).
pub fn tables() -> &'static SupernetTables {
    static T: OnceLock<SupernetTables> = OnceLock::new();
    T.get_or_init(|| SupernetTables {
        truth: parse_table(TRUE_GZ, "nasbench201.json"),
        one_shot: parse_table(ONE_GZ, "one-shot-supernet.json"),
        few_shot: parse_table(FEW_GZ, "few-shot-supernet.json"),
    })
}

/// How well an estimator ranks the 15,625 cells against the true accuracy.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct RankQuality {
    pub estimator: &'static str,
    pub n: usize,
    pub kendall_tau: f64,
    pub spearman_rho: f64,
    /// Official index of the architecture the estimator ranks first (ties:
    /// lowest index).
    pub top1_index: usize,
    /// Its true accuracy.
    pub top1_true: f64,
    /// Mean true accuracy of the estimator's top 10.
    pub top10_mean_true: f64,
    /// Best true accuracy among the estimator's top 100.
    pub top100_best_true: f64,
}

/// Rank quality of an estimator over all cells.
pub fn rank_quality(e: Estimator) -> RankQuality {
    let t = tables();
    let (truth, est) = (&t.truth, t.get(e));
    let mut order: Vec<usize> = (0..est.len()).collect();
    order.sort_by(|&a, &b| est[b].total_cmp(&est[a]).then(a.cmp(&b)));
    let top: Vec<f64> = order.iter().map(|&i| truth[i]).collect();
    RankQuality {
        estimator: e.name(),
        n: est.len(),
        kendall_tau: stats::kendall_tau_b(est, truth),
        spearman_rho: stats::spearman(est, truth),
        top1_index: order[0],
        top1_true: top[0],
        top10_mean_true: stats::mean(&top[..10]),
        top100_best_true: top[..100].iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

/// NAS-Bench-201 with an estimator's accuracy as the (maximised) objective.
#[derive(Clone, Debug)]
pub struct EstimateProblem {
    pub estimator: Estimator,
    space: Categorical,
}

impl EstimateProblem {
    pub fn new(estimator: Estimator) -> Self {
        Self {
            estimator,
            space: nb201::space(),
        }
    }

    fn index(x: &[usize]) -> usize {
        Cell::from_ops(x)
            .expect("an op vector of the NAS-Bench-201 space")
            .index()
    }
}

impl Problem for EstimateProblem {
    type Space = Categorical;
    fn name(&self) -> String {
        format!("nb201-{}", self.estimator.name())
    }
    fn space(&self) -> &Categorical {
        &self.space
    }
    fn evaluate(&self, x: &Vec<usize>) -> Vec<f64> {
        vec![tables().get(self.estimator)[Self::index(x)]]
    }
    fn optimum(&self) -> Option<f64> {
        tables()
            .get(self.estimator)
            .iter()
            .copied()
            .reduce(f64::max)
    }
}

/// How samples are counted on the x axis of the search curve.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Counting {
    /// Every proposed architecture counts, repeats included. This is what the
    /// authors' REA script does in effect (its duplicate check compares object
    /// identity, so it never fires), and so it is our default.
    Proposals,
    /// Only the first visit of an architecture counts (the paper's stated
    /// intent: "unique architectures"); the search runs until `budget`
    /// distinct architectures are sampled.
    Unique,
}

/// The outcome of one search.
#[derive(Clone, Debug)]
pub struct SearchRun {
    /// The paper's curve: after each counted sample, the best true accuracy
    /// among the architectures sampled so far. `budget` long (shorter only if
    /// a unique-counting search could find no new architecture).
    pub curve: Vec<f64>,
    /// Official index of every proposal, in order.
    pub samples: Vec<usize>,
    /// Best true accuracy so far after each proposal.
    pub sample_curve: Vec<f64>,
    /// Number of distinct architectures sampled.
    pub unique: usize,
    /// True accuracy of the architecture the search itself would return: the
    /// one with the best *estimate* among those sampled (first on ties).
    pub returned_true: f64,
}

/// Run `opt` with `estimator` as fitness until `budget` samples are counted
/// (see [`Counting`]) and score it by true accuracy.
pub fn search<O: Optimizer<Vec<usize>> + ?Sized>(
    estimator: Estimator,
    opt: &mut O,
    budget: usize,
    counting: Counting,
    rng: &mut Stream,
) -> SearchRun {
    search_scored(
        &tables().truth,
        tables().get(estimator),
        |x: &Vec<usize>| EstimateProblem::index(x),
        opt,
        budget,
        counting,
        rng,
    )
}

/// [`search`] over any finite set of architectures: `index(x)` numbers the
/// point `x`, `truth[i]` scores architecture `i` and `estimate[i]` is the
/// (maximised) fitness the optimiser sees. [`search`] is this with the
/// embedded tables; [`SampleSpace`] gives it a trained table's sample.
pub fn search_scored<X, O>(
    truth: &[f64],
    estimate: &[f64],
    index: impl Fn(&X) -> usize,
    opt: &mut O,
    budget: usize,
    counting: Counting,
    rng: &mut Stream,
) -> SearchRun
where
    X: Clone,
    O: Optimizer<X> + ?Sized,
{
    assert_eq!(truth.len(), estimate.len(), "one estimate per architecture");
    let mut seen = HashSet::new();
    let mut r = SearchRun {
        curve: vec![],
        samples: vec![],
        sample_curve: vec![],
        unique: 0,
        returned_true: f64::NAN,
    };
    let (mut best, mut best_est) = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    // A unique-counting search gives up after this many proposals in a row
    // bring nothing new (an optimiser stuck on a converged population, or a
    // finite set exhausted).
    let patience = 100 * budget.max(1);
    let mut stale = 0;
    while r.curve.len() < budget && stale < patience {
        let xs = opt.ask(rng);
        if xs.is_empty() {
            break;
        }
        let mut told = Vec::with_capacity(xs.len());
        for x in xs {
            if r.curve.len() >= budget {
                break;
            }
            let i = index(&x);
            let fresh = seen.insert(i);
            if fresh {
                best = best.max(truth[i]);
                if estimate[i] > best_est {
                    best_est = estimate[i];
                    r.returned_true = truth[i];
                }
                stale = 0;
            } else {
                stale += 1;
            }
            r.samples.push(i);
            r.sample_curve.push(best);
            if fresh || counting == Counting::Proposals {
                r.curve.push(best);
            }
            told.push(searchkit::optimizer::Evaluated {
                y: vec![estimate[i]],
                x,
            });
        }
        opt.tell(&told, rng);
    }
    r.unique = seen.len();
    r
}

/// A finite sample of NAS-Bench-201 cells as a search space over row
/// numbers (a trained ground truth covers a sample, not all 15,625 cells).
/// Uniform sampling draws a row. Mutation is NAS-Bench-201's (one edge
/// changed to another op, in the full space) projected back onto the
/// sample: a random row among those nearest in edit distance to the mutated
/// cell, other than the parent. (Moving to the parent's own nearest rows
/// instead traps an aging population in a handful of cells: a sparse sample
/// has few neighbours per cell.)
#[derive(Clone, Debug)]
pub struct SampleSpace {
    cells: Vec<Cell>,
}

/// Number of edges on which two cells differ.
fn edit_distance(a: Cell, b: Cell) -> usize {
    a.ops()
        .iter()
        .zip(b.ops())
        .filter(|(x, y)| **x != *y)
        .count()
}

impl SampleSpace {
    /// An error for a sample of fewer than 2 cells or a repeated cell.
    pub fn new(cells: Vec<Cell>) -> Result<Self, String> {
        if cells.len() < 2 {
            return Err(format!(
                "a sample to search needs at least 2 cells, got {}",
                cells.len()
            ));
        }
        let mut set = HashSet::new();
        if let Some(c) = cells.iter().find(|c| !set.insert(**c)) {
            return Err(format!("cell {} appears twice in the sample", c.arch_str()));
        }
        Ok(Self { cells })
    }

    pub fn cells(&self) -> &[Cell] {
        &self.cells
    }
}

impl searchkit::space::Space for SampleSpace {
    type X = usize;
    fn dim(&self) -> usize {
        1
    }
    fn sample(&self, rng: &mut Stream) -> usize {
        rng.below(self.cells.len())
    }
    fn contains(&self, x: &usize) -> bool {
        *x < self.cells.len()
    }
}

impl searchkit::space::FiniteSpace for SampleSpace {
    fn num_points(&self) -> usize {
        self.cells.len()
    }
    fn point(&self, i: usize) -> usize {
        i
    }
    fn index_of(&self, x: &usize) -> usize {
        *x
    }
}

impl searchkit::space::Mutate for SampleSpace {
    fn mutate(&self, x: &usize, rng: &mut Stream) -> usize {
        let mut ops = self.cells[*x].ops();
        let e = rng.below(ops.len());
        // Another op on edge e, uniformly.
        let k = rng.below(nb201::OPS.len() - 1) as u8;
        ops[e] = if k >= ops[e] { k + 1 } else { k };
        let y = Cell::new(ops);
        let d = |j: usize| edit_distance(self.cells[j], y);
        let others = (0..self.cells.len()).filter(|&j| j != *x);
        let best = others.clone().map(d).min().expect("at least 2 cells");
        let nearest: Vec<usize> = others.filter(|&j| d(j) == best).collect();
        nearest[rng.below(nearest.len())]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use searchkit::baselines::{RandomSearch, RegularizedEvolution};

    #[test]
    fn tables_cover_the_space_and_agree_on_keys() {
        let t = tables();
        assert_eq!(t.truth.len(), 15_625);
        // Cells whose output is cut off from the input have chance accuracy.
        let cut = Cell::from_arch_str("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|").unwrap();
        assert_eq!(t.truth[cut.index()], 10.0);
    }

    #[test]
    fn few_shot_ranks_better_than_one_shot() {
        let (one, few) = (
            rank_quality(Estimator::OneShot),
            rank_quality(Estimator::FewShot),
        );
        assert!(few.kendall_tau > one.kendall_tau, "{few:?} vs {one:?}");
        assert!(few.spearman_rho > one.spearman_rho);
        let truth = rank_quality(Estimator::True);
        assert!((truth.kendall_tau - 1.0).abs() < 1e-12);
    }

    #[test]
    fn a_sample_space_mutates_to_its_nearest_cells() {
        let cells = vec![
            Cell::new([0, 0, 0, 0, 0, 0]),
            Cell::new([1, 0, 0, 0, 0, 0]),
            Cell::new([1, 1, 0, 0, 0, 0]),
            Cell::new([1, 1, 4, 4, 4, 4]),
        ];
        let space = SampleSpace::new(cells.clone()).unwrap();
        let mut rng = Stream::root("m");
        use searchkit::space::Mutate;
        let mut seen = HashSet::new();
        for _ in 0..200 {
            // Never the parent; a cell one edit from the mutated one.
            let y = space.mutate(&0, &mut rng);
            assert_ne!(y, 0);
            seen.insert(y);
            let from3 = space.mutate(&3, &mut rng);
            assert_ne!(from3, 3);
        }
        // From the all-`none` cell, a mutation on edge 0 lands on row 1 (or 2
        // when it picked op 1 there too), elsewhere on rows 1 or 2 as well.
        assert!(seen.contains(&1) && !seen.contains(&3), "{seen:?}");
        assert!(SampleSpace::new(vec![cells[0], cells[0]]).is_err());
        assert!(SampleSpace::new(vec![cells[0]]).is_err());
        let truth = [1.0, 2.0, 3.0, 4.0];
        let est = [4.0, 3.0, 2.0, 1.0];
        let mut random = RandomSearch::new(space.clone(), 1);
        let r = search_scored(
            &truth,
            &est,
            |&x: &usize| x,
            &mut random,
            4,
            Counting::Unique,
            &mut Stream::for_run("t", "rea", 0),
        );
        assert_eq!(r.unique, 4);
        assert_eq!(*r.curve.last().unwrap(), 4.0);
        // The search returns the best estimate, the worst truth here.
        assert_eq!(r.returned_true, 1.0);
        let mut rea = RegularizedEvolution::new(space, 2, 2);
        let r = search_scored(
            &truth,
            &est,
            |&x: &usize| x,
            &mut rea,
            50,
            Counting::Proposals,
            &mut Stream::for_run("t", "rea", 0),
        );
        assert_eq!(r.samples.len(), 50);
        assert!(r.curve.windows(2).all(|w| w[1] >= w[0]));
    }

    #[test]
    fn search_curve_is_monotone_and_deterministic() {
        let mk = || RegularizedEvolution::new(nb201::space(), 20, 5);
        let a = search(
            Estimator::FewShot,
            &mut mk(),
            300,
            Counting::Proposals,
            &mut Stream::for_run("t", "rea", 1),
        );
        let b = search(
            Estimator::FewShot,
            &mut mk(),
            300,
            Counting::Proposals,
            &mut Stream::for_run("t", "rea", 1),
        );
        assert_eq!(a.samples, b.samples);
        assert!(a.curve.windows(2).all(|w| w[1] >= w[0]));
        assert_eq!(a.curve.len(), 300);
        let mut rs = RandomSearch::new(nb201::space(), 1);
        let r = search(
            Estimator::True,
            &mut rs,
            100,
            Counting::Unique,
            &mut Stream::for_run("t", "random", 1),
        );
        assert_eq!(r.unique, 100);
        assert_eq!(r.curve.len(), 100);
        assert_eq!(r.returned_true, *r.curve.last().unwrap());
    }
}
