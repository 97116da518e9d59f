//! `cargo xtask bench`: timings of the workspace's hot paths.
//!
//! Performance targets live here, never in timed unit tests. Each benchmark
//! runs a closure a few times after one warm-up and reports the median; the
//! inputs come from fixed streams, so successive runs time the same work.
//!
//! Rows with a [`Target`] end in a table: a speed-up target is a ratio of
//! CPU seconds against a Python reference timed in the same run by a script
//! of `xtask/python-reference` (the authors' LA-MCTS from `LAMCTS_DIR`,
//! BoTorch 0.18), pinned to one core with one BLAS / torch thread, in the
//! venvs `cargo xtask setup --python-reference` makes ([`crate::pyref`]).
//! Where a venv or `LAMCTS_DIR` is missing the row says that the reference
//! was not timed and how to enable it; no stored figure stands in for it.

use searchkit::learn::{Gp, GpConfig, KMeans, KernelKind, Svc, SvcParams};
use searchkit::pareto::hypervolume;
use searchkit::rng::Stream;
use std::time::Instant;

/// One timed case.
pub struct Bench {
    pub name: &'static str,
    pub about: &'static str,
    /// Operations one call of the closure performs; times are divided by it.
    per: usize,
    run: Box<dyn Fn() -> Box<dyn FnMut()>>,
    /// The target this row is judged against (with, for a ratio, the
    /// Python reference timed beside it in the same run).
    target: Option<Target>,
    /// At most this many timed calls, whatever `--reps` says (a whole run).
    max_reps: Option<usize>,
    /// Whether a first, untimed call precedes the timed ones. Off where
    /// every call is the same work and costs seconds (the authors'
    /// schedule refits from scratch every iteration; a whole run).
    warm_up: bool,
}

impl Bench {
    fn new(
        name: &'static str,
        per: usize,
        about: &'static str,
        run: impl Fn() -> Box<dyn FnMut()> + 'static,
    ) -> Self {
        Bench {
            name,
            about,
            per,
            run: Box::new(run),
            target: None,
            max_reps: None,
            warm_up: true,
        }
    }

    fn target(mut self, t: Target) -> Self {
        self.target = Some(t);
        self
    }
}

/// What a row must achieve.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// The reference's CPU time over ours at least `x`.
    Speedup { x: f64, reference: Reference },
    /// Ours at most this many CPU seconds.
    CpuAtMost(f64),
}

impl Target {
    pub fn describe(&self) -> String {
        match self {
            Target::Speedup { x, .. } => format!(">= {x}x"),
            Target::CpuAtMost(s) => format!("<= {} CPU", fmt(*s)),
        }
    }
}

/// A Python reference, timed by a script of `xtask/python-reference`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reference {
    /// `lamcts_bo_iter.py`: iterations of the authors' LA-MCTS-BO on
    /// Ackley-20 from the same kind of told samples (Latin-hypercube points
    /// or the real run's first rows, `--from-run`).
    Lamcts(Told),
    /// `botorch_qehvi.py batch`: one BoTorch 0.18 qEHVI batch (tutorial
    /// settings) from the same training points as ours.
    Botorch { problem: Moo, n: usize },
}

impl Reference {
    fn describe(&self) -> String {
        match self {
            Reference::Lamcts(Told::Lhs(n)) => {
                format!("authors' LA-MCTS-BO, {n} Latin-hypercube samples")
            }
            Reference::Lamcts(Told::Run(n)) => {
                format!("authors' LA-MCTS-BO, first {n} samples of the real run")
            }
            Reference::Botorch { problem, n } => {
                format!("BoTorch 0.18 qEHVI, {} at {n}", problem.name())
            }
        }
    }
}

/// The multi-objective problems of the qEHVI rows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Moo {
    BraninCurrin,
    VehicleSafety,
}

impl Moo {
    /// BoTorch's name, as `botorch_qehvi.py` takes it.
    pub fn name(&self) -> &'static str {
        match self {
            Moo::BraninCurrin => "branincurrin",
            Moo::VehicleSafety => "vehiclesafety",
        }
    }
}

fn points(n: usize, d: usize, label: &str) -> Vec<Vec<f64>> {
    let mut s = Stream::root(label);
    (0..n)
        .map(|_| (0..d).map(|_| s.uniform()).collect())
        .collect()
}

/// 300 points in 20-d with a smooth response, for the GP benchmarks.
fn gp_data() -> (Vec<Vec<f64>>, Vec<f64>) {
    let x = points(300, 20, "bench-gp");
    let y = x
        .iter()
        .map(|p| p.iter().map(|v| (6.0 * v).sin()).sum())
        .collect();
    (x, y)
}

/// A random non-dominated-ish front on the positive orthant of the unit sphere.
fn front(n: usize, m: usize) -> Vec<Vec<f64>> {
    let mut s = Stream::root("bench-front");
    (0..n)
        .map(|_| {
            let v: Vec<f64> = (0..m).map(|_| s.normal().abs()).collect();
            let norm = v.iter().map(|x| x * x).sum::<f64>().sqrt();
            v.iter().map(|x| x / norm).collect()
        })
        .collect()
}

/// LA-MCTS-BO's in-region sampler doing the authors' work
/// ([`lamcts::BoRegion::code`]): scikit-learn's GP (isotropic Matern-5/2 on
/// raw y, alpha 0.01, one L-BFGS run from its default start) refit from
/// scratch at every iteration, as `lamcts_bo_iter.py` times the authors'
/// code. This is the equal-work race; our default GP (standardised y, fitted
/// noise) refit every iteration does more work per fit (three parameters,
/// and it runs to its 50-step cap).
fn code_refit_bo() -> Box<dyn lamcts::LeafSampler> {
    Box::new(lamcts::BoRegion::code())
}

/// LA-MCTS iterations a bench call runs: one BO hyperparameter refit cycle
/// (`BoRegion::refit_every`), so the time per iteration is an honest average
/// of refitting and reusing iterations.
const LAMCTS_CYCLE: usize = 5;

/// Where a LA-MCTS bench's told samples come from.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Told {
    /// `n` Latin-hypercube points: spread out, so the tree's regions are
    /// broad and its SVMs easy; this understates a real run's cost.
    Lhs(usize),
    /// The first `n` evaluations of a real LA-MCTS-BO run
    /// (`bench-data/lamcts-ackley20-bo-s0.csv`): clustered where the run
    /// searched, as the tree sees them in a run. At 1,000 the selected leaf
    /// holds ~330 samples (its k-means split is one the SVM cannot learn),
    /// so the region sampler grows boxes around ~330 seeds.
    Run(usize),
}

fn real_run_path() -> &'static str {
    concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/bench-data/lamcts-ackley20-bo-s0.csv"
    )
}

/// The x rows of the committed real-run sample file.
fn real_run_xs() -> Vec<Vec<f64>> {
    let path = real_run_path();
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            l.split_whitespace()
                .map(|v| v.parse().unwrap_or_else(|e| panic!("{path}: `{v}`: {e}")))
                .collect()
        })
        .collect()
}

/// `iterations` LA-MCTS iterations (tree rebuild + in-region proposal)
/// with the `told` samples of Ackley-20 already told.
fn lamcts_iteration(
    told: Told,
    sampler: Box<dyn lamcts::LeafSampler>,
    iterations: usize,
) -> Box<dyn FnMut()> {
    use searchkit::optimizer::{Evaluated, Optimizer};
    use searchkit::problem::Problem;
    let problem = searchkit::functions::Ackley::new(20);
    let space = problem.space().clone();
    let config = lamcts::LaMctsConfig {
        cp: 1.0,
        leaf_size: 10,
        ..lamcts::LaMctsConfig::default()
    };
    let mut opt = lamcts::LaMcts::new(space.clone(), config, sampler).expect("valid config");
    let mut rng = Stream::root("bench-lamcts");
    let _ = opt.ask(&mut rng);
    let xs = match told {
        Told::Lhs(n) => space.latin_hypercube(n, &mut rng.child("data")),
        Told::Run(n) => {
            let xs = real_run_xs();
            assert!(n <= xs.len(), "the real run has {} samples", xs.len());
            xs[..n].to_vec()
        }
    };
    let told: Vec<Evaluated<Vec<f64>>> = xs
        .into_iter()
        .map(|x| {
            let y = problem.oriented(&problem.evaluate(&x));
            Evaluated { x, y }
        })
        .collect();
    opt.tell(&told, &mut rng);
    let mut k = 0u64;
    Box::new(move || {
        for _ in 0..iterations {
            k += 1;
            std::hint::black_box(opt.ask(&mut Stream::root("bench-lamcts").child_n("ask", k)));
        }
    })
}

/// The training points of a qEHVI batch after `n` evaluations of
/// `problem`: `(x in the unit cube, y in maximisation form, reference point)`.
/// They come from a qEHVI run with cheaper settings (32 MC samples, 4
/// restarts from 256 raw), so the front and its boxes look like the ones a
/// real run has at that point (a Sobol design's front is far smaller, which
/// would flatter the timing). The Python reference gets the same points.
type QehviData = (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<f64>);

fn qehvi_data(problem: Moo, n: usize) -> QehviData {
    fn of<P>(problem: P, n: usize) -> QehviData
    where
        P: searchkit::problem::Problem<Space = searchkit::space::BoxSpace>,
    {
        use searchkit::baselines::{Qehvi, QehviConfig};
        let space = problem.space().clone();
        let reference = problem.reference_point().expect("a reference point");
        let cheap = QehviConfig {
            mc_samples: 32,
            raw_samples: 256,
            restarts: 4,
            ..QehviConfig::default()
        };
        let mut opt = Qehvi::new(space.clone(), reference.clone(), cheap);
        let trace = searchkit::optimizer::run(
            &problem,
            &mut opt,
            n,
            &mut Stream::root("bench-qehvi-data"),
            &mut [],
        );
        let xs = trace.entries.iter().map(|e| space.to_unit(&e.x)).collect();
        let ys = trace.entries.iter().map(|e| e.y.clone()).collect();
        (xs, ys, reference)
    }
    match problem {
        Moo::BraninCurrin => of(searchkit::functions::BraninCurrin::new(), n),
        Moo::VehicleSafety => of(searchkit::functions::VehicleSafety::new(), n),
    }
}

/// One qEHVI batch (q = 5, LaMOO's BoTorch settings) after `n` evaluations
/// of `problem` ([`qehvi_data`]): GP fits, box decomposition and acquisition
/// optimisation, all included.
fn qehvi_batch(problem: Moo, n: usize) -> Box<dyn FnMut()> {
    let (xs, ys, reference) = qehvi_data(problem, n);
    let config = searchkit::baselines::QehviConfig::default();
    Box::new(move || {
        let mut rng = Stream::root("bench-qehvi");
        std::hint::black_box(searchkit::baselines::propose_qehvi(
            &xs, &ys, &reference, 5, &config, None, &mut rng,
        ));
    })
}

/// A whole run of an experiment's method through its driver, in this
/// thread, as `reproduce` runs that job (same streams, same budget), so
/// the thread's CPU time is the run's.
fn experiment_run(id: &'static str, method: &'static str, seed: u64) -> Box<dyn FnMut()> {
    let root = crate::workspace_root();
    let l = crate::config::find(&root, id).expect("the experiment's config");
    let k = l
        .exp
        .methods
        .iter()
        .position(|m| m.name == method)
        .expect("the method in the config");
    let budget = l.profile("full").expect("a full profile").budget;
    let prepared = crate::drivers::prepare(&l).expect("a valid config");
    Box::new(move || {
        let ctx = crate::drivers::RunContext {
            method: k,
            seed,
            budget,
            rng: Stream::for_run(id, method, seed),
            design: Stream::for_design(id, seed),
            device: None,
            journal: None,
        };
        let out = prepared.run(&ctx).expect("the run");
        eprintln!(
            "  {id} / {method} / seed {seed}: {} evaluations, final curve value {}",
            out.curve.len(),
            out.curve.last().copied().unwrap_or(f64::NAN)
        );
        std::hint::black_box(out);
    })
}

/// One request to a simulator worker, repeated: a Swimmer evaluation (3
/// rollouts of 1,000 steps whatever the policy, so every call is the same
/// work), or with `max_steps = Some(1)` the protocol's round trip (a reset
/// and one step per rollout). Wall-clock is what counts here: the work runs
/// in the worker process, not in this thread.
fn env_request(max_steps: Option<usize>) -> Box<dyn FnMut()> {
    crate::envs::ensure().expect("the simulators' venv (cargo xtask setup)");
    let pool =
        envbridge::pool(std::time::Duration::from_secs(600)).expect("a pool of simulator workers");
    let task = envbridge::Task::parse("swimmer").expect("a task");
    let x: Vec<f64> = points(1, task.dim, "bench-env")[0]
        .iter()
        .map(|u| task.lower + (task.upper - task.lower) * u)
        .collect();
    let mut req = task.request(&x, &[1, 2, 3]);
    req.max_steps = max_steps;
    let mut worker = pool.lease().expect("a worker");
    Box::new(move || {
        std::hint::black_box(worker.request(&req).expect("an answer"));
    })
}

/// A ratio target against a Python reference.
fn speedup(x: f64, reference: Reference) -> Target {
    Target::Speedup { x, reference }
}

pub fn all() -> Vec<Bench> {
    use Reference::{Botorch, Lamcts};
    let bc = Moo::BraninCurrin;
    let vs = Moo::VehicleSafety;
    let qehvi_row = |name, n, problem, about| {
        Bench::new(name, 1, about, move || qehvi_batch(problem, n))
            .target(speedup(100.0, Botorch { problem, n }))
    };
    // LA-MCTS-BO iterations: ours with the default schedule (a GP refit
    // every 5th iteration, warm-started; timed over one refit cycle) or the
    // authors' (refit from the default start every iteration, so one
    // iteration is representative).
    let lamcts_row = |name, told, about| {
        Bench::new(name, LAMCTS_CYCLE, about, move || {
            lamcts_iteration(told, lamcts::SamplerKind::Bo.build(), LAMCTS_CYCLE)
        })
        .target(speedup(100.0, Lamcts(told)))
    };
    let refit_row = |name, told, about| Bench {
        warm_up: false,
        ..Bench::new(name, 1, about, move || {
            lamcts_iteration(told, code_refit_bo(), 1)
        })
        .target(speedup(10.0, Lamcts(told)))
    };
    vec![
        Bench::new(
            "env-swimmer-eval",
            1,
            "one LA-MCTS Swimmer evaluation through envbridge (3 rollouts x 1,000 steps, gymnasium 1.4.0 / MuJoCo 4.0.1; wall-clock, the worker's time)",
            || env_request(None),
        ),
        Bench::new(
            "env-roundtrip",
            1,
            "one envbridge request of 3 rollouts x 1 step (JSON round trip + 3 resets + 3 steps)",
            || env_request(Some(1)),
        ),
        qehvi_row(
            "qehvi-bc-50",
            50,
            bc,
            "one qEHVI batch (q 5, 128 MC, 20 restarts, 1,024 raw), BraninCurrin (2 obj), 50 evaluations",
        ),
        qehvi_row("qehvi-bc-100", 100, bc, "the same at 100 evaluations"),
        qehvi_row(
            "qehvi-vs-50",
            50,
            vs,
            "one qEHVI batch, VehicleSafety (3 obj), 50 evaluations",
        ),
        qehvi_row("qehvi-vs-100", 100, vs, "the same at 100 evaluations"),
        Bench::new(
            "lamcts-bo-iter-200",
            LAMCTS_CYCLE,
            "one LA-MCTS-BO iteration, 200 Latin-hypercube samples of Ackley-20",
            || lamcts_iteration(Told::Lhs(200), lamcts::SamplerKind::Bo.build(), LAMCTS_CYCLE),
        ),
        lamcts_row(
            "lamcts-bo-iter-1000",
            Told::Lhs(1000),
            "one LA-MCTS-BO iteration, 1,000 Latin-hypercube samples of Ackley-20, our schedule",
        ),
        lamcts_row(
            "lamcts-bo-iter-3000",
            Told::Lhs(3000),
            "the same with 3,000 samples",
        ),
        refit_row(
            "lamcts-bo-iter-1000-coderefit",
            Told::Lhs(1000),
            "as lamcts-bo-iter-1000 doing the authors' work: their scikit-learn GP (raw y, alpha 0.01) refit from its default start every iteration (sampler bo-code)",
        ),
        refit_row(
            "lamcts-bo-iter-3000-coderefit",
            Told::Lhs(3000),
            "the same with 3,000 samples",
        ),
        Bench::new(
            "lamcts-bo-run-500",
            LAMCTS_CYCLE,
            "one LA-MCTS-BO iteration after the first 500 evaluations of a real LA-MCTS-BO run on Ackley-20 (bench-data/lamcts-ackley20-bo-s0.csv)",
            || lamcts_iteration(Told::Run(500), lamcts::SamplerKind::Bo.build(), LAMCTS_CYCLE),
        ),
        lamcts_row(
            "lamcts-bo-run-1000",
            Told::Run(1000),
            "the same after all 1,000 evaluations of that run (selected leaf: ~330 samples), our schedule",
        ),
        refit_row(
            "lamcts-bo-run-1000-coderefit",
            Told::Run(1000),
            "as lamcts-bo-run-1000 doing the authors' work (sampler bo-code: their GP refit from scratch every iteration)",
        ),
        Bench {
            max_reps: Some(1),
            warm_up: false,
            ..Bench::new(
                "lamcts-ackley20-run",
                1,
                "a whole 1,000-evaluation LA-MCTS-BO run on Ackley-20 (experiment lamcts-ackley-20, method LA-MCTS-BO, seed 0, through its driver; one timed run)",
                || experiment_run("lamcts-ackley-20", "LA-MCTS-BO", 0),
            )
            .target(Target::CpuAtMost(300.0))
        },
        Bench::new("hv2d-1000", 1, "exact hypervolume, 1,000 points, 2 objectives", || {
            let f = front(1000, 2);
            Box::new(move || {
                std::hint::black_box(hypervolume(&f, &[0.0, 0.0]));
            })
        }),
        Bench::new("hv3d-1000", 1, "exact hypervolume, 1,000 points, 3 objectives", || {
            let f = front(1000, 3);
            Box::new(move || {
                std::hint::black_box(hypervolume(&f, &[0.0, 0.0, 0.0]));
            })
        }),
        Bench::new(
            "gp-fit-300x20",
            1,
            "GP fit (Matern-5/2 ARD, default restarts), 300 points in 20-d",
            || {
                let (x, y) = gp_data();
                Box::new(move || {
                    let mut rng = Stream::root("bench-gp-fit");
                    std::hint::black_box(Gp::fit(&x, &y, &GpConfig::default(), &mut rng).unwrap());
                })
            },
        ),
        Bench::new(
            "gp-predict-10k",
            1,
            "GP posterior mean and variance at 10,000 points, 300 training points in 20-d",
            || {
                let (x, y) = gp_data();
                let gp = Gp::fit(
                    &x,
                    &y,
                    &GpConfig::default(),
                    &mut Stream::root("bench-gp-fit"),
                )
                .unwrap();
                let q = points(10_000, 20, "bench-gp-q");
                Box::new(move || {
                    std::hint::black_box(gp.predict_batch(&q));
                })
            },
        ),
        Bench::new(
            "svm-rbf-1000x20",
            1,
            "SVC fit (rbf, gamma auto, C 1), 1,000 points in 20-d",
            || {
                let x = points(1000, 20, "bench-svm");
                let labels: Vec<bool> = x
                    .iter()
                    .map(|p| p.iter().map(|v| (v - 0.5).powi(2)).sum::<f64>() < 1.6)
                    .collect();
                Box::new(move || {
                    std::hint::black_box(
                        Svc::fit(&SvcParams::new(KernelKind::Rbf), &x, &labels).unwrap(),
                    );
                })
            },
        ),
        Bench::new(
            "kmeans-3000x21",
            1,
            "k-means (k 2, 10 restarts), 3,000 rows of 21 values",
            || {
                let x = points(3000, 21, "bench-km");
                Box::new(move || {
                    std::hint::black_box(KMeans::new(2).fit(&x, &mut Stream::root("bench-km-fit")));
                })
            },
        ),
        Bench::new(
            "nb201-rea-5000",
            1,
            "few-shot NAS: one REA run of 5,000 samples with few-shot fitness",
            || {
                let _ = fewshot::tables();
                Box::new(|| {
                    let mut rea = searchkit::baselines::RegularizedEvolution::new(
                        searchkit::nasbench::nb201::space(),
                        10,
                        20,
                    );
                    let mut rng = Stream::root("bench-rea");
                    std::hint::black_box(fewshot::search(
                        fewshot::Estimator::FewShot,
                        &mut rea,
                        5000,
                        fewshot::Counting::Proposals,
                        &mut rng,
                    ));
                })
            },
        ),
    ]
}

/// `cargo xtask bench`'s options.
#[derive(Clone, Debug)]
pub struct Options {
    /// Timed repetitions of ours per benchmark (after one untimed warm-up
    /// call, except for the rows that skip it).
    pub reps: usize,
    /// Timed iterations / batches of each Python reference.
    pub ref_reps: usize,
    /// Time no Python reference (the rows say so).
    pub no_reference: bool,
    /// Also write the ratio table here (`.json`, else markdown).
    pub out: Option<std::path::PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            reps: 5,
            ref_reps: 3,
            no_reference: false,
            out: None,
        }
    }
}

/// Run the benchmarks whose name contains `filter`; print one line each,
/// then the table of targets (ours beside the references timed in this run).
pub fn run(filter: Option<&str>, opts: &Options) -> anyhow::Result<()> {
    let benches: Vec<Bench> = all()
        .into_iter()
        .filter(|b| filter.is_none_or(|f| b.name.contains(f)))
        .collect();
    if benches.is_empty() {
        let names: Vec<&str> = all().iter().map(|b| b.name).collect();
        anyhow::bail!(
            "no benchmark matches `{}`; valid choices: {}",
            filter.unwrap_or(""),
            names.join(", ")
        );
    }
    if opts.ref_reps == 0 {
        anyhow::bail!("--ref-reps must be at least 1");
    }
    println!(
        "{:18} {:>12} {:>12} {:>12}  what",
        "benchmark", "median", "min", "cpu median"
    );
    let mut refs = RefCache::default();
    let mut rows = vec![];
    for b in benches {
        let mut f = (b.run)();
        let per = b.per as f64;
        let mut time_once = || {
            let (t, c) = (Instant::now(), thread_cpu_seconds());
            f();
            let cpu = c.zip(thread_cpu_seconds()).map(|(a, z)| (z - a) / per);
            (t.elapsed().as_secs_f64() / per, cpu)
        };
        let reps = b.max_reps.map_or(opts.reps, |m| opts.reps.min(m)).max(1);
        if b.warm_up {
            time_once();
        }
        let mut times = vec![];
        while times.len() < reps {
            times.push(time_once());
        }
        let cpus: Vec<f64> = times.iter().filter_map(|t| t.1).collect();
        let ours = if cpus.len() == times.len() {
            mean(&cpus)
        } else {
            mean(&times.iter().map(|t| t.0).collect::<Vec<_>>())
        };
        let mut cpus_sorted = cpus.clone();
        cpus_sorted.sort_by(|a, b| a.total_cmp(b));
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        println!(
            "{:18} {:>12} {:>12} {:>12}  {}",
            b.name,
            fmt(times[times.len() / 2].0),
            fmt(times[0].0),
            cpus_sorted
                .get(cpus_sorted.len() / 2)
                .map_or("-".into(), |&c| fmt(c)),
            b.about
        );
        if let Some(target) = b.target {
            let reference = match target {
                Target::Speedup { reference, .. } => Some(refs.get(reference, opts)),
                Target::CpuAtMost(_) => None,
            };
            if let Some(r) = &reference {
                println!("{:18} reference: {}", "", r.line());
            }
            rows.push(Row::judge(b.name, target, ours, reference));
        }
    }
    if !rows.is_empty() {
        println!("\ntargets (CPU seconds, one core; ratio = reference / ours):");
        print!("{}", table_markdown(&rows));
        if let Some(out) = &opts.out {
            let text = if out.extension().is_some_and(|e| e == "json") {
                serde_json::to_string_pretty(&rows)? + "\n"
            } else {
                table_markdown(&rows)
            };
            std::fs::write(out, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
            println!("wrote {}", out.display());
        }
    }
    Ok(())
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// What a Python reference gave in this run.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefTime {
    /// CPU seconds of each timed iteration / batch, and what ran.
    Timed { cpu: Vec<f64>, note: String },
    /// Not timed in this run: why, and how to enable it.
    NotTimed(String),
}

impl RefTime {
    pub fn mean(&self) -> Option<f64> {
        match self {
            RefTime::Timed { cpu, .. } if !cpu.is_empty() => Some(mean(cpu)),
            _ => None,
        }
    }

    fn line(&self) -> String {
        match self {
            RefTime::Timed { cpu, note } => format!(
                "{} CPU mean over {} ({}; {note})",
                fmt(mean(cpu)),
                cpu.len(),
                cpu.iter().map(|c| fmt(*c)).collect::<Vec<_>>().join(", ")
            ),
            RefTime::NotTimed(why) => format!("not timed in this run: {why}"),
        }
    }

    /// The table's cell: mean and spread.
    fn cell(&self) -> String {
        match self {
            RefTime::Timed { cpu, .. } => {
                let lo = cpu.iter().copied().fold(f64::INFINITY, f64::min);
                let hi = cpu.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                format!(
                    "{} ({}-{}, n {})",
                    fmt(mean(cpu)),
                    fmt(lo),
                    fmt(hi),
                    cpu.len()
                )
            }
            RefTime::NotTimed(why) => format!("not timed in this run: {why}"),
        }
    }
}

/// The references timed so far in this run: rows sharing a reference (our
/// two schedules against one Python measurement) time it once.
#[derive(Default)]
struct RefCache(Vec<(Reference, RefTime)>);

impl RefCache {
    fn get(&mut self, r: Reference, opts: &Options) -> RefTime {
        if let Some((_, t)) = self.0.iter().find(|(k, _)| *k == r) {
            return t.clone();
        }
        let t = if opts.no_reference {
            RefTime::NotTimed("--no-reference was given (drop it to time the reference)".into())
        } else {
            eprintln!("  timing the reference: {}", r.describe());
            time_reference(r, opts.ref_reps)
        };
        self.0.push((r, t.clone()));
        t
    }
}

/// A row's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Verdict {
    #[serde(rename = "PASS")]
    Pass,
    #[serde(rename = "FAIL")]
    Fail,
    /// The reference was not timed in this run: no verdict.
    #[serde(rename = "NOT TIMED")]
    NotTimed,
}

/// One line of the table of targets.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Row {
    pub bench: String,
    /// Ours: mean CPU seconds per operation.
    pub ours: f64,
    pub reference: Option<RefTime>,
    pub reference_what: Option<String>,
    /// Reference mean over ours.
    pub ratio: Option<f64>,
    pub target: String,
    pub verdict: Verdict,
}

impl Row {
    pub fn judge(bench: &str, target: Target, ours: f64, reference: Option<RefTime>) -> Row {
        let (ratio, verdict, what) = match target {
            Target::Speedup { x, reference: r } => {
                match reference.as_ref().and_then(|t| t.mean()) {
                    Some(m) => {
                        let ratio = m / ours;
                        let v = if ratio >= x {
                            Verdict::Pass
                        } else {
                            Verdict::Fail
                        };
                        (Some(ratio), v, Some(r.describe()))
                    }
                    None => (None, Verdict::NotTimed, Some(r.describe())),
                }
            }
            Target::CpuAtMost(s) => {
                let v = if ours <= s {
                    Verdict::Pass
                } else {
                    Verdict::Fail
                };
                (None, v, None)
            }
        };
        Row {
            bench: bench.to_string(),
            ours,
            reference,
            reference_what: what,
            ratio,
            target: target.describe(),
            verdict,
        }
    }
}

/// The table of targets as markdown.
pub fn table_markdown(rows: &[Row]) -> String {
    let mut s = String::from(
        "| what | ours | reference | ratio | target | verdict |\n|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let reference = match (&r.reference, &r.reference_what) {
            (Some(t), Some(w)) => format!("{w}: {}", t.cell()),
            _ => "-".into(),
        };
        let verdict = match r.verdict {
            Verdict::Pass => "PASS",
            Verdict::Fail => "FAIL",
            Verdict::NotTimed => "NOT TIMED",
        };
        s += &format!(
            "| {} | {} | {} | {} | {} | {} |\n",
            r.bench,
            fmt(r.ours),
            reference,
            r.ratio.map_or("-".into(), |x| format!("{x:.1}x")),
            r.target,
            verdict
        );
    }
    s
}

/// The scripts' folder.
fn script(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python-reference")
        .join(name)
}

/// `python` pinned to one core (the first this process may use) with one
/// BLAS / OpenMP / torch thread.
fn python_command(python: &std::path::Path) -> std::process::Command {
    let cpu = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
                .and_then(|v| {
                    v.trim()
                        .split(|c: char| !c.is_ascii_digit())
                        .next()
                        .map(String::from)
                })
        })
        .filter(|c| !c.is_empty());
    let taskset = std::process::Command::new("taskset")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    let mut c = match cpu {
        Some(cpu) if taskset => {
            let mut c = std::process::Command::new("taskset");
            c.args(["-c", &cpu]).arg(python);
            c
        }
        _ => std::process::Command::new(python),
    };
    for v in [
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
    ] {
        c.env(v, "1");
    }
    c.env("PYTHONWARNINGS", "ignore");
    c
}

/// Times a reference with its script; never installs anything.
fn time_reference(r: Reference, reps: usize) -> RefTime {
    match try_time_reference(r, reps) {
        Ok(t) => t,
        Err(e) => RefTime::NotTimed(format!("{e:#}")),
    }
}

fn try_time_reference(r: Reference, reps: usize) -> anyhow::Result<RefTime> {
    use anyhow::{bail, Context};
    let env = match r {
        Reference::Lamcts(_) => &crate::pyref::LAMCTS,
        Reference::Botorch { .. } => &crate::pyref::BOTORCH,
    };
    let python = match env.find() {
        Ok(p) => p,
        Err(why) => return Ok(RefTime::NotTimed(why)),
    };
    let tmp = std::env::temp_dir().join(format!("spacepart-bench-{}", std::process::id()));
    std::fs::create_dir_all(&tmp)?;
    let mut cmd = python_command(&python);
    match r {
        Reference::Lamcts(told) => {
            let dir = match crate::pyref::lamcts_dir() {
                Ok(d) => d,
                Err(why) => return Ok(RefTime::NotTimed(why)),
            };
            cmd.arg(script("lamcts_bo_iter.py"));
            let n = match told {
                Told::Lhs(n) => n,
                Told::Run(n) => {
                    cmd.arg("--from-run").arg(real_run_path());
                    n
                }
            };
            cmd.arg(n.to_string())
                .arg(reps.to_string())
                .env("LAMCTS_DIR", dir)
                .env("RUN_DIR", tmp.join("lamcts-run"));
        }
        Reference::Botorch { problem, n } => {
            let (xs, ys, _) = qehvi_data(problem, n);
            let input = tmp.join(format!("qehvi-{}-{n}.json", problem.name()));
            let spec = serde_json::json!({"problem": problem.name(), "x_unit": xs, "y": ys});
            std::fs::write(&input, serde_json::to_string(&spec)?)?;
            cmd.arg(script("botorch_qehvi.py"))
                .arg("batch")
                .arg(&input)
                .arg(reps.to_string());
        }
    }
    let out = cmd
        .output()
        .with_context(|| format!("cannot start {cmd:?}"))?;
    let _ = std::fs::remove_dir_all(&tmp);
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        bail!(
            "the reference script failed ({}): {}",
            out.status,
            tail.into_iter().rev().collect::<Vec<_>>().join(" / ")
        );
    }
    parse_reference_output(r, &stdout)
}

/// The CPU seconds a reference script printed: `lamcts_bo_iter.py`'s
/// `iter k: ... CPU X s, ...` lines, `botorch_qehvi.py`'s `RESULT {json}`.
pub fn parse_reference_output(r: Reference, stdout: &str) -> anyhow::Result<RefTime> {
    use anyhow::Context;
    match r {
        Reference::Lamcts(_) => {
            let mut cpu = vec![];
            let mut note = String::new();
            for l in stdout.lines() {
                if l.starts_with("numpy ") {
                    note = l.to_string();
                }
                if l.starts_with("iter ") {
                    let v = l
                        .split(", ")
                        .find_map(|p| p.strip_prefix("CPU "))
                        .and_then(|p| p.strip_suffix(" s"))
                        .and_then(|p| p.parse::<f64>().ok())
                        .with_context(|| format!("no CPU time in `{l}`"))?;
                    cpu.push(v);
                }
            }
            anyhow::ensure!(!cpu.is_empty(), "lamcts_bo_iter.py printed no iteration");
            Ok(RefTime::Timed { cpu, note })
        }
        Reference::Botorch { .. } => {
            let json = stdout
                .lines()
                .find_map(|l| l.strip_prefix("RESULT "))
                .context("botorch_qehvi.py printed no RESULT line")?;
            let v: serde_json::Value = serde_json::from_str(json)?;
            let cpu: Vec<f64> = v["cpu"]
                .as_array()
                .context("no `cpu` in RESULT")?
                .iter()
                .filter_map(|c| c.as_f64())
                .collect();
            anyhow::ensure!(!cpu.is_empty(), "botorch_qehvi.py timed no batch");
            let ver = &v["versions"];
            let note = format!(
                "botorch {}, torch {}, {} torch thread",
                ver["botorch"].as_str().unwrap_or("?"),
                ver["torch"].as_str().unwrap_or("?"),
                ver["torch_threads"]
            );
            Ok(RefTime::Timed { cpu, note })
        }
    }
}

/// Quality parity of our qEHVI with BoTorch 0.18's on the same initial
/// points: log10 HV difference at `at` evaluations, ours (the committed
/// records of the LaMOO experiment's `authors` profile, method qEHVI, seed s
/// = the authors' initial set s) against `botorch_qehvi.py run` from set s
/// (`results/lamoo-<problem>/python-reference/botorch-0.18/qehvi-set<s>.json`).
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Parity {
    pub problem: String,
    pub at: usize,
    /// (set, ours, BoTorch) per paired set.
    pub pairs: Vec<(u64, f64, f64)>,
    /// Mean of ours - BoTorch (negative: ours better).
    pub diff: f64,
    /// 95% paired bootstrap CI of `diff`.
    pub ci: (f64, f64),
    pub verdict: &'static str,
}

/// The paired comparison; the verdict follows the project's ordering
/// claims: "holds" when the whole CI is at or below 0 (ours at least as
/// good), "deviates" when wholly above, else "inconclusive".
pub fn qehvi_parity(root: &std::path::Path, problem: &str, at: usize) -> anyhow::Result<Parity> {
    use anyhow::Context;
    use searchkit::stats;
    let dir = root.join("results").join(format!("lamoo-{problem}"));
    let curve_at = |path: &std::path::Path, key: &str| -> anyhow::Result<Option<(f64, f64)>> {
        if !path.is_file() {
            return Ok(None);
        }
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)
            .with_context(|| path.display().to_string())?;
        let c = v[key]
            .as_array()
            .with_context(|| format!("{}: no `{key}`", path.display()))?;
        let get = |i: usize| c.get(i).and_then(|x| x.as_f64());
        Ok(get(at - 1).zip(get(9)))
    };
    let mut pairs = vec![];
    for s in 0..100u64 {
        let ours = curve_at(
            &dir.join("authors")
                .join("runs")
                .join(format!("qehvi-s{s}.json")),
            "curve",
        )?;
        let theirs = curve_at(
            &dir.join("python-reference")
                .join("botorch-0.18")
                .join(format!("qehvi-set{s}.json")),
            "log_hv_diff",
        )?;
        if let (Some((o, o10)), Some((t, t10))) = (ours, theirs) {
            // Same initial set: the curves agree at 10 evaluations.
            anyhow::ensure!(
                (o10 - t10).abs() < 1e-6,
                "set {s}: the initial sets differ (log HV difference at 10: ours {o10}, BoTorch {t10})"
            );
            pairs.push((s, o, t));
        }
    }
    anyhow::ensure!(
        pairs.len() >= 2,
        "{problem}: fewer than 2 paired sets with our `authors` records and BoTorch 0.18 curves under {}",
        dir.display()
    );
    let (a, b): (Vec<f64>, Vec<f64>) = pairs.iter().map(|p| (p.1, p.2)).unzip();
    let d = |x: &[f64], y: &[f64]| stats::mean(x) - stats::mean(y);
    let mut rng = Stream::root(&format!("bench/qehvi-parity/{problem}/{at}"));
    let ci = stats::paired_bootstrap(&a, &b, d, 4000, 0.95, &mut rng).context("no bootstrap")?;
    let verdict = if ci.1 <= 0.0 {
        "holds"
    } else if ci.0 > 0.0 {
        "deviates"
    } else {
        "inconclusive"
    };
    Ok(Parity {
        problem: problem.to_string(),
        at,
        diff: d(&a, &b),
        pairs,
        ci,
        verdict,
    })
}

impl Parity {
    pub fn markdown(&self) -> String {
        let mut s = format!(
            "qEHVI quality parity, {} at {} evaluations (log10 HV difference, lower is better; same initial sets):\n\n| set | ours | BoTorch 0.18 | ours - BoTorch |\n|---|---|---|---|\n",
            self.problem, self.at
        );
        for (set, o, t) in &self.pairs {
            s += &format!("| {set} | {o:.4} | {t:.4} | {:+.4} |\n", o - t);
        }
        let (a, b): (Vec<f64>, Vec<f64>) = self.pairs.iter().map(|p| (p.1, p.2)).unzip();
        s += &format!(
            "| mean (n {}) | {:.4} | {:.4} | {:+.4}, 95% paired bootstrap CI [{:+.4}, {:+.4}]: {} |\n",
            self.pairs.len(),
            mean(&a),
            mean(&b),
            self.diff,
            self.ci.0,
            self.ci.1,
            self.verdict
        );
        s
    }
}

/// `cargo xtask bench --parity`: the parity tables of the problems that
/// have BoTorch curves.
pub fn parity(out: Option<&std::path::Path>) -> anyhow::Result<()> {
    let root = crate::workspace_root();
    let mut text = String::new();
    for problem in ["branincurrin", "vehiclesafety"] {
        match qehvi_parity(&root, problem, 100) {
            Ok(p) => text += &(p.markdown() + "\n"),
            Err(e) => text += &format!("{problem}: not compared: {e:#}\n\n"),
        }
    }
    print!("{text}");
    if let Some(out) = out {
        std::fs::write(out, &text)
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", out.display()))?;
    }
    Ok(())
}

/// CPU time of this thread (Linux `/proc/thread-self/schedstat`, in ns),
/// or `None` elsewhere. Why: the build machine is shared, so wall-clock
/// medians include other processes' time; CPU time is what compares with a
/// single-core Python measurement.
fn thread_cpu_seconds() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns * 1e-9)
}

fn fmt(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} us", s * 1e6)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BC50: Reference = Reference::Botorch {
        problem: Moo::BraninCurrin,
        n: 50,
    };

    fn timed(cpu: &[f64]) -> RefTime {
        RefTime::Timed {
            cpu: cpu.to_vec(),
            note: String::new(),
        }
    }

    #[test]
    fn ratios_and_verdicts() {
        let t = speedup(10.0, Reference::Lamcts(Told::Lhs(1000)));
        // mean of the reference (30 s) over ours
        let r = Row::judge("a", t, 2.0, Some(timed(&[20.0, 30.0, 40.0])));
        assert_eq!(r.ratio, Some(15.0));
        assert_eq!(r.verdict, Verdict::Pass);
        let r = Row::judge("a", t, 4.0, Some(timed(&[20.0, 30.0, 40.0])));
        assert_eq!(r.ratio, Some(7.5));
        assert_eq!(r.verdict, Verdict::Fail);
        // exactly on the target passes
        let r = Row::judge("a", t, 3.0, Some(timed(&[30.0])));
        assert_eq!(r.verdict, Verdict::Pass);
        let cap = Target::CpuAtMost(300.0);
        assert_eq!(Row::judge("run", cap, 299.0, None).verdict, Verdict::Pass);
        let r = Row::judge("run", cap, 301.0, None);
        assert_eq!((r.verdict, r.ratio), (Verdict::Fail, None));
        let md = table_markdown(&[r, Row::judge("b", t, 2.0, Some(timed(&[20.0, 40.0])))]);
        assert!(
            md.contains("| run | 301.00 s | - | - | <= 300.00 s CPU | FAIL |"),
            "{md}"
        );
        assert!(md.contains("15.0x | >= 10x | PASS |"), "{md}");
        assert!(md.contains("30.00 s (20.00 s-40.00 s, n 2)"), "{md}");
    }

    #[test]
    fn an_absent_reference_gives_no_verdict_and_says_why() {
        let opts = Options {
            no_reference: true,
            ..Options::default()
        };
        let t = RefCache::default().get(BC50, &opts);
        assert!(matches!(&t, RefTime::NotTimed(w) if w.contains("--no-reference")));
        let why = RefTime::NotTimed(
            "no venv (make it with `cargo xtask setup --python-reference`)".into(),
        );
        let r = Row::judge("qehvi-bc-50", speedup(100.0, BC50), 0.1, Some(why));
        assert_eq!((r.ratio, r.verdict), (None, Verdict::NotTimed));
        let md = table_markdown(&[r]);
        assert!(md.contains("not timed in this run: no venv"), "{md}");
        assert!(md.contains("| NOT TIMED |"), "{md}");
    }

    #[test]
    fn reference_outputs_parse() {
        let out = "numpy 2.4.6 scipy 1.17.1 sklearn 1.9.1\ninit (1000 LHS samples): 0.10 s CPU\n\
            iter 1: samples in tree 1000, nodes 9 (leaves 5), selected leaf 2 samples at depth 4, GP LML evals 16, CPU 12.50 s, wall 13.00 s\n\
            iter 2: samples in tree 1001, nodes 9 (leaves 5), selected leaf 2 samples at depth 4, GP LML evals 16, CPU 7.50 s, wall 8.00 s\n";
        let t = parse_reference_output(Reference::Lamcts(Told::Lhs(1000)), out).unwrap();
        assert_eq!(t.mean(), Some(10.0));
        let out = "RESULT {\"cpu\": [1.0, 3.0], \"wall\": [1, 3], \"versions\": {\"botorch\": \"0.18.0\", \"torch\": \"2.15.0\", \"torch_threads\": 1}}\n";
        let t = parse_reference_output(BC50, out).unwrap();
        assert_eq!(t.mean(), Some(2.0));
        assert!(parse_reference_output(BC50, "nothing\n").is_err());
    }

    #[test]
    fn parity_pairs_sets_and_judges() {
        let root = std::env::temp_dir().join(format!("bench-parity-{}", std::process::id()));
        let dir = root.join("results").join("lamoo-toy");
        let runs = dir.join("authors").join("runs");
        let refs = dir.join("python-reference").join("botorch-0.18");
        std::fs::create_dir_all(&runs).unwrap();
        std::fs::create_dir_all(&refs).unwrap();
        let curve = |start: f64, end: f64| -> Vec<f64> {
            (0..100).map(|i| if i < 10 { start } else { end }).collect()
        };
        let write = |s: u64, ours: f64, theirs: f64, start_theirs: f64| {
            let o = serde_json::json!({ "curve": curve(1.0, ours) });
            let t = serde_json::json!({ "log_hv_diff": curve(start_theirs, theirs) });
            std::fs::write(runs.join(format!("qehvi-s{s}.json")), o.to_string()).unwrap();
            std::fs::write(refs.join(format!("qehvi-set{s}.json")), t.to_string()).unwrap();
        };
        write(0, -0.3, -0.2, 1.0);
        write(1, -0.25, -0.2, 1.0);
        write(2, -0.4, -0.3, 1.0);
        // a set without its BoTorch curve is left out
        std::fs::write(runs.join("qehvi-s3.json"), r#"{"curve": []}"#).unwrap();
        let p = qehvi_parity(&root, "toy", 100).unwrap();
        assert_eq!(p.pairs.len(), 3);
        assert!((p.diff + (0.1 + 0.05 + 0.1) / 3.0).abs() < 1e-12, "{p:?}");
        assert_eq!(p.verdict, "holds");
        assert!(p.markdown().contains("holds"));
        // different initial sets are refused
        write(1, -0.25, -0.2, 1.5);
        let e = qehvi_parity(&root, "toy", 100).unwrap_err();
        assert!(format!("{e:#}").contains("initial sets differ"), "{e:#}");
        std::fs::remove_dir_all(&root).unwrap();
    }
}
