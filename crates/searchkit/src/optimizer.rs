//! The ask/tell optimiser trait every algorithm of the workspace implements,
//! and the run loop (budget, seed, trace, observers) that drives it.
//!
//! One protocol for every search: [`run`] spends a budget; [`run_until`]
//! also stops at a [`StopWhen`] condition (e.g. once the problem's known
//! optimum is sampled, as the tabular NAS papers count "samples to the
//! optimum"). Either way the optimiser may end the run early by proposing an
//! empty batch, and the trace says why the run stopped
//! ([`TerminationReason`]). Observers watch every batch: progress logs
//! ([`LogObserver`]) or paper metrics such as
//! [`crate::nasbench::tabular::SampleLog`].
//!
//! ```
//! use searchkit::prelude::*;
//! use searchkit::baselines::RandomSearch;
//! use searchkit::functions::Sphere;
//!
//! let problem = Sphere::new(3);
//! let mut opt = RandomSearch::new(problem.space().clone(), 4);
//! let mut rng = Stream::for_run("doc", "random", 0);
//! let trace = run(&problem, &mut opt, 40, &mut rng, &mut []);
//! assert_eq!(trace.len(), 40);
//! ```

use crate::problem::Problem;
use crate::rng::Stream;
use crate::space::Space;

/// One evaluated point as an optimiser sees it: objective values in
/// maximisation form (see [`crate::problem`]).
#[derive(Clone, Debug)]
pub struct Evaluated<X> {
    pub x: X,
    pub y: Vec<f64>,
}

/// An ask/tell optimiser over points of type `X`.
///
/// `ask` proposes a batch (its size is the optimiser's choice; the run loop
/// truncates it to the remaining budget); `tell` reports the evaluated batch,
/// in the same order. All randomness comes from the `rng` passed in.
///
/// Points told before the first `ask` are the optimiser's initial design,
/// or its first part: an optimiser that would draw a design of `n` points
/// draws only the ones still missing (none when it already holds `n`).
/// One without a design of its own (CMA-ES, whose first generation is its
/// design) learns nothing from them. [`WithDesign`] relies on this to start
/// every method of an experiment from the same points.
pub trait Optimizer<X>: Send {
    /// A short name for records.
    fn name(&self) -> String;
    /// Propose points to evaluate next.
    fn ask(&mut self, rng: &mut Stream) -> Vec<X>;
    /// Learn from evaluated points (values maximised).
    fn tell(&mut self, evaluated: &[Evaluated<X>], rng: &mut Stream);
    /// Counts a report may show about how the run went (e.g. how often an
    /// acquisition optimiser never left its start), as `(name, value)`.
    fn diagnostics(&self) -> Vec<(String, f64)> {
        Vec::new()
    }
}

/// A reference or a box to an optimiser is one (so [`WithDesign`] can wrap
/// either).
macro_rules! forward_optimizer {
    ($($ptr:ty),*) => {$(
        impl<X, O: Optimizer<X> + ?Sized> Optimizer<X> for $ptr {
            fn name(&self) -> String {
                (**self).name()
            }
            fn ask(&mut self, rng: &mut Stream) -> Vec<X> {
                (**self).ask(rng)
            }
            fn tell(&mut self, evaluated: &[Evaluated<X>], rng: &mut Stream) {
                (**self).tell(evaluated, rng)
            }
            fn diagnostics(&self) -> Vec<(String, f64)> {
                (**self).diagnostics()
            }
        }
    )*};
}
forward_optimizer!(&mut O, Box<O>);

/// An optimiser started from a prescribed initial design: the first `ask`
/// returns `design`, whose evaluations the inner optimiser is told before
/// its own first `ask` (see [`Optimizer`]). With the design drawn from
/// [`Stream::for_design`], the methods of one experiment share their first
/// points per seed, so their comparison is paired.
///
/// ```
/// use searchkit::prelude::*;
/// use searchkit::baselines::RandomSearch;
/// use searchkit::functions::Sphere;
/// use searchkit::optimizer::WithDesign;
///
/// let problem = Sphere::new(2);
/// let design = vec![vec![0.5, 0.5], vec![-1.0, 2.0]];
/// let inner = RandomSearch::new(problem.space().clone(), 4);
/// let mut opt = WithDesign::new(design.clone(), inner);
/// let trace = run(&problem, &mut opt, 6, &mut Stream::for_run("doc", "r", 0), &mut []);
/// assert_eq!(trace.entries[0].x, design[0]);
/// assert_eq!(trace.entries[1].x, design[1]);
/// ```
#[derive(Debug)]
pub struct WithDesign<X, O> {
    design: Option<Vec<X>>,
    inner: O,
}

impl<X, O> WithDesign<X, O> {
    pub fn new(design: Vec<X>, inner: O) -> Self {
        Self {
            design: Some(design).filter(|d| !d.is_empty()),
            inner,
        }
    }
    pub fn inner(&self) -> &O {
        &self.inner
    }
}

impl<X: Send, O: Optimizer<X>> Optimizer<X> for WithDesign<X, O> {
    fn name(&self) -> String {
        self.inner.name()
    }
    fn ask(&mut self, rng: &mut Stream) -> Vec<X> {
        match self.design.take() {
            Some(d) => d,
            None => self.inner.ask(rng),
        }
    }
    fn tell(&mut self, evaluated: &[Evaluated<X>], rng: &mut Stream) {
        self.inner.tell(evaluated, rng)
    }
    fn diagnostics(&self) -> Vec<(String, f64)> {
        self.inner.diagnostics()
    }
}

/// One entry of a run's trace.
#[derive(Clone, Debug, serde::Serialize)]
pub struct TraceEntry<X> {
    /// 1-based evaluation count at which this point was evaluated.
    pub eval: usize,
    /// Index of the batch (ask) it came from.
    pub batch: usize,
    pub x: X,
    /// Raw objective values (problem's own sense).
    pub raw: Vec<f64>,
    /// Objective values in maximisation form.
    pub y: Vec<f64>,
}

/// Why a run stopped.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TerminationReason {
    /// The evaluation budget is spent.
    #[default]
    BudgetReached,
    /// The optimiser proposed an empty batch (e.g. a finite space is exhausted).
    OptimizerExhausted,
    /// The [`StopWhen`] condition was met (e.g. the known optimum was sampled).
    TargetReached,
}

/// When [`run_until`] stops before its budget is spent.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum StopWhen {
    /// Never: only the budget (or an exhausted optimiser) ends the run.
    #[default]
    BudgetSpent,
    /// Once objective 0 reaches this raw value (in the problem's sense).
    Target(f64),
    /// Once the problem's known optimum is sampled ([`Problem::is_optimum`];
    /// never when the problem knows none).
    KnownOptimum,
}

impl StopWhen {
    /// Whether the evaluation of `x` (raw values `raw`) ends the run.
    fn reached<P: Problem>(self, problem: &P, x: &<P::Space as Space>::X, raw: &[f64]) -> bool {
        match self {
            StopWhen::BudgetSpent => false,
            StopWhen::Target(t) => problem.oriented(&raw[..1])[0] >= problem.oriented(&[t])[0],
            StopWhen::KnownOptimum => problem.is_optimum(x, raw),
        }
    }
}

/// Every evaluation of a run, in order, and why the run stopped.
#[derive(Clone, Debug, Default, serde::Serialize)]
pub struct Trace<X> {
    pub entries: Vec<TraceEntry<X>>,
    pub stop: TerminationReason,
}

impl<X> Trace<X> {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    /// Best-so-far of objective `k` (maximisation form) after each evaluation.
    pub fn best_so_far(&self, k: usize) -> Vec<f64> {
        let mut best = f64::NEG_INFINITY;
        self.entries
            .iter()
            .map(|e| {
                best = best.max(e.y[k]);
                best
            })
            .collect()
    }
}

/// Watches a run: progress bars, logging, early inspection.
pub trait Observer<X> {
    /// Called after each evaluated batch; `done` evaluations of `budget`.
    fn on_batch(&mut self, _batch: &[TraceEntry<X>], _done: usize, _budget: usize) {}
    /// Called once at the end.
    fn on_finish(&mut self, _trace: &Trace<X>) {}
}

/// An observer that logs the best value of objective 0 to stderr every `every`
/// evaluations.
#[derive(Debug)]
pub struct LogObserver {
    pub every: usize,
    best: f64,
    next: usize,
}

impl LogObserver {
    pub fn new(every: usize) -> Self {
        Self {
            every: every.max(1),
            best: f64::NEG_INFINITY,
            next: every.max(1),
        }
    }
}

impl<X> Observer<X> for LogObserver {
    fn on_batch(&mut self, batch: &[TraceEntry<X>], done: usize, budget: usize) {
        for e in batch {
            self.best = self.best.max(e.y[0]);
        }
        while done >= self.next {
            eprintln!("[{done}/{budget}] best (maximised) = {:.6}", self.best);
            self.next += self.every;
        }
    }
}

/// Run `opt` on `problem` for `budget` evaluations.
///
/// Evaluation order, batching and every random draw are fixed by `rng`, so the
/// trace is a pure function of `(problem, optimiser state, budget, rng)`.
/// Stops early if the optimiser proposes an empty batch (e.g. an exhausted
/// finite space). The same as [`run_until`] with [`StopWhen::BudgetSpent`].
pub fn run<P, O>(
    problem: &P,
    opt: &mut O,
    budget: usize,
    rng: &mut Stream,
    observers: &mut [&mut dyn Observer<<P::Space as Space>::X>],
) -> Trace<<P::Space as Space>::X>
where
    P: Problem,
    O: Optimizer<<P::Space as Space>::X> + ?Sized,
{
    run_until(problem, opt, budget, StopWhen::BudgetSpent, rng, observers)
}

/// Run `opt` on `problem` until `budget` evaluations, an empty ask, or the
/// `stop` condition, whichever comes first; [`Trace::stop`] says which.
///
/// The condition is checked after each told batch, so an optimiser proposing
/// one point per ask stops right after the point that met it.
pub fn run_until<P, O>(
    problem: &P,
    opt: &mut O,
    budget: usize,
    stop: StopWhen,
    rng: &mut Stream,
    observers: &mut [&mut dyn Observer<<P::Space as Space>::X>],
) -> Trace<<P::Space as Space>::X>
where
    P: Problem,
    O: Optimizer<<P::Space as Space>::X> + ?Sized,
{
    let mut trace = Trace {
        // Budgets may be "unlimited" (usize::MAX) when a run ends at a target.
        entries: Vec::with_capacity(budget.min(1 << 16)),
        stop: TerminationReason::BudgetReached,
    };
    let mut batch_no = 0;
    while trace.len() < budget {
        let mut xs = opt.ask(rng);
        if xs.is_empty() {
            trace.stop = TerminationReason::OptimizerExhausted;
            break;
        }
        xs.truncate(budget - trace.len());
        let raws = problem.evaluate_batch(&xs);
        let start = trace.len();
        let mut told = Vec::with_capacity(xs.len());
        let mut reached = false;
        for (i, (x, raw)) in xs.into_iter().zip(raws).enumerate() {
            reached |= stop.reached(problem, &x, &raw);
            let y = problem.oriented(&raw);
            told.push(Evaluated {
                x: x.clone(),
                y: y.clone(),
            });
            trace.entries.push(TraceEntry {
                eval: start + i + 1,
                batch: batch_no,
                x,
                raw,
                y,
            });
        }
        opt.tell(&told, rng);
        for o in observers.iter_mut() {
            o.on_batch(&trace.entries[start..], trace.len(), budget);
        }
        batch_no += 1;
        if reached {
            trace.stop = TerminationReason::TargetReached;
            break;
        }
    }
    for o in observers.iter_mut() {
        o.on_finish(&trace);
    }
    trace
}
