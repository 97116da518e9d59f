//! The Rust twin of the MiniWorld move rule against the real worker: the
//! same episode ends, success, positions and returns on recorded plans.
//! Skipped, with a message, where the simulators' venv is absent.
//!
//! Tolerance: numpy's float64 `tanh` (its SIMD polynomial) and the C
//! library's, which the twin calls, differ by up to 3 ulp on about a third
//! of the inputs; everything else is the worker's arithmetic in its order.
//! Over 250 steps of positions below 20 that stays far below `TOL`.

use envbridge::twin::{layout, NavTwin};
use envbridge::{nav, Lease, NavTask};
use std::collections::HashMap;
use std::time::{Duration, Instant};

const TOL: f64 = 1e-12;

fn lease(test: &str) -> Option<Lease> {
    match envbridge::pool(Duration::from_secs(120)).and_then(|p| p.lease()) {
        Ok(w) => Some(w),
        Err(e) => {
            eprintln!("SKIPPED {test}: {e}");
            None
        }
    }
}

/// splitmix64 and Box-Muller: recorded plans without a rand dependency.
struct Gauss(u64);

impl Gauss {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn normal(&mut self, sigma: f64) -> f64 {
        let u = 1.0 - self.uniform();
        sigma * (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * self.uniform()).cos()
    }
}

/// A plan that reaches the box, found on the twin: breadth-first search
/// over the nine saturated moves from the start, positions binned to a
/// tenth of a step so the frontier stays small. Zeros after the goal.
fn solving_plan(twin: &NavTwin, horizon: usize) -> Option<Vec<f64>> {
    let step = twin.layout().step;
    let goal = twin.goal();
    let reach = twin.layout().goal_radius + twin.layout().agent_radius + 1.1 * step;
    let key = |p: [f64; 2]| {
        (
            (p[0] / (0.1 * step)).round() as i64,
            (p[1] / (0.1 * step)).round() as i64,
        )
    };
    let mut seen = HashMap::new();
    let mut frontier = vec![(twin.start(), vec![])];
    seen.insert(key(twin.start()), ());
    for _ in 0..horizon {
        let mut next = vec![];
        for (p, actions) in &frontier {
            for a in [[5.0, 5.0], [5.0, 0.0], [5.0, -5.0], [0.0, 5.0], [0.0, -5.0]]
                .into_iter()
                .chain([[-5.0, 5.0], [-5.0, 0.0], [-5.0, -5.0]])
            {
                let q = twin.step(*p, a);
                if seen.insert(key(q), ()).is_some() {
                    continue;
                }
                let mut acts: Vec<f64> = actions.clone();
                acts.extend(a);
                let d = ((q[0] - goal[0]).powi(2) + (q[1] - goal[1]).powi(2)).sqrt();
                if d < reach - 1e-6 {
                    acts.resize(2 * horizon, 0.0);
                    return Some(acts);
                }
                next.push((q, acts));
            }
        }
        frontier = next;
    }
    None
}

/// Rolls `plans` out on both and compares; returns the largest difference
/// in position or value seen and how many values were bit-equal.
fn compare(
    w: &mut Lease,
    task: &NavTask,
    seed: u64,
    twin: &NavTwin,
    plans: &[Vec<f64>],
) -> (f64, usize) {
    let all: Vec<usize> = (1..=task.horizon).collect();
    let (mut worst, mut exact) = (0.0f64, 0);
    for (i, plan) in plans.iter().enumerate() {
        let want = nav::rollout(w, task, seed, plan, None, &all).unwrap();
        let got = twin.rollout(plan, &all).unwrap();
        let what = format!("{} maze {seed} plan {i}", task.env);
        assert_eq!(got.steps, want.steps, "{what}: episode ends");
        assert_eq!(got.value > 0.0, want.value > 0.0, "{what}: success");
        assert_eq!(got.positions.len(), want.positions.len(), "{what}");
        for (t, (g, e)) in got.positions.iter().zip(&want.positions).enumerate() {
            let d = (g[0] - e[0]).abs().max((g[1] - e[1]).abs());
            assert!(d <= TOL, "{what} step {}: {g:?} vs {e:?}", t + 1);
            worst = worst.max(d);
        }
        let d = (got.value - want.value).abs();
        assert!(d <= TOL, "{what}: value {} vs {}", got.value, want.value);
        worst = worst.max(d);
        exact += (got.value == want.value) as usize;
    }
    (worst, exact)
}

/// The plans of one maze: 4 random N(0, 8^2), zero, straight east and
/// south (into walls), a slow random walk (tanh's curved part, N(0, 0.5^2)),
/// and a plan found on the twin that reaches the box.
fn plans(twin: &NavTwin, horizon: usize, seed: u64) -> (Vec<Vec<f64>>, bool) {
    let mut g = Gauss(seed);
    let mut plans: Vec<Vec<f64>> = (0..4)
        .map(|_| (0..2 * horizon).map(|_| g.normal(8.0)).collect())
        .collect();
    plans.push(vec![0.0; 2 * horizon]);
    plans.push((0..2 * horizon).map(|i| 3.0 * (i % 2) as f64).collect());
    plans.push((0..2 * horizon).map(|i| 3.0 * (1 - i % 2) as f64).collect());
    plans.push((0..2 * horizon).map(|_| g.normal(0.5)).collect());
    let solved = solving_plan(twin, horizon);
    let found = solved.is_some();
    plans.extend(solved);
    (plans, found)
}

fn check_task(test: &str, name: &str, seeds: std::ops::RangeInclusive<u64>) {
    let Some(mut w) = lease(test) else { return };
    let task = NavTask::parse(name).unwrap();
    let mut worst = 0.0f64;
    let (mut solved, mut exact, mut rolled) = (0, 0, 0);
    for seed in seeds {
        let twin = NavTwin::new(layout(&mut w, &task, seed).unwrap()).unwrap();
        assert_eq!(twin.layout().horizon, task.horizon);
        let (plans, found) = plans(&twin, task.horizon, seed);
        assert!(
            found,
            "{name} maze {seed}: no solving plan found on the twin"
        );
        solved += found as usize;
        let want = nav::rollout(&mut w, &task, seed, plans.last().unwrap(), None, &[]).unwrap();
        assert!(
            want.value > 0.0,
            "{name} maze {seed}: the worker does not solve the twin's plan"
        );
        let (d, e) = compare(&mut w, &task, seed, &twin, &plans);
        (worst, exact, rolled) = (worst.max(d), exact + e, rolled + plans.len());
        // Single moves from anywhere near the walls, as iLQR's model asks.
        let mut g = Gauss(seed ^ 0x5eed);
        let (lo, hi) =
            twin.layout()
                .walls
                .iter()
                .fold(([f64::MAX; 2], [f64::MIN; 2]), |(lo, hi), w| {
                    (
                        [lo[0].min(w[0]).min(w[2]), lo[1].min(w[1]).min(w[3])],
                        [hi[0].max(w[0]).max(w[2]), hi[1].max(w[1]).max(w[3])],
                    )
                });
        let queries: Vec<[f64; 4]> = (0..300)
            .map(|_| {
                [
                    lo[0] + (hi[0] - lo[0]) * g.uniform(),
                    lo[1] + (hi[1] - lo[1]) * g.uniform(),
                    g.normal(2.0),
                    g.normal(2.0),
                ]
            })
            .collect();
        let s = nav::steps(&mut w, &task, seed, &queries).unwrap();
        assert_eq!((s.start, s.goal), (twin.start(), twin.goal()));
        let mut moved = 0;
        for (q, e) in queries.iter().zip(&s.next) {
            let got = twin.step([q[0], q[1]], [q[2], q[3]]);
            let d = (got[0] - e[0]).abs().max((got[1] - e[1]).abs());
            assert!(d <= TOL, "{name} maze {seed} step {q:?}: {got:?} vs {e:?}");
            // Same decision: moved on both or on neither.
            assert_eq!(got == [q[0], q[1]], *e == [q[0], q[1]], "{q:?}");
            moved += (got != [q[0], q[1]]) as usize;
            worst = worst.max(d);
        }
        assert!(moved > 0 && moved < queries.len(), "{moved} of 300 moved");
    }
    eprintln!(
        "{name}: {solved} mazes solved by the twin's plan; {exact} of {rolled} returns bit-equal; largest difference {worst:e}"
    );
}

#[test]
fn the_twin_matches_the_worker_on_mazes3_123_to_130() {
    check_task(
        "the_twin_matches_the_worker_on_mazes3_123_to_130",
        "mazes3",
        123..=130,
    );
}

#[test]
fn the_twin_matches_the_worker_on_fourrooms_123_to_126() {
    check_task(
        "the_twin_matches_the_worker_on_fourrooms_123_to_126",
        "fourrooms",
        123..=126,
    );
}

/// Rollouts per second of the twin and of the worker on MazeS3 maze 123
/// (N(0, 8^2) plans, no frames). A measurement, not an assertion:
/// `cargo test -p envbridge --release --test twin -- --ignored --nocapture`.
#[test]
#[ignore]
fn twin_and_worker_rollouts_per_second() {
    let Some(mut w) = lease("twin_and_worker_rollouts_per_second") else {
        return;
    };
    let task = NavTask::parse("mazes3").unwrap();
    let twin = NavTwin::new(layout(&mut w, &task, 123).unwrap()).unwrap();
    let mut g = Gauss(7);
    let plans: Vec<Vec<f64>> = (0..200)
        .map(|_| (0..task.dim()).map(|_| g.normal(8.0)).collect())
        .collect();
    let t = Instant::now();
    let mut sum = 0.0;
    for p in &plans[..100] {
        sum += nav::rollout(&mut w, &task, 123, p, None, &[])
            .unwrap()
            .value;
    }
    let worker = 100.0 / t.elapsed().as_secs_f64();
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_secs(2) {
        for p in &plans {
            sum += twin.rollout(p, &[]).unwrap().value;
        }
        n += plans.len();
    }
    let fast = n as f64 / t.elapsed().as_secs_f64();
    eprintln!(
        "MazeS3 maze 123: worker {worker:.1} rollouts/s, twin {fast:.0} rollouts/s ({:.0}x) [{sum:.1}]",
        fast / worker
    );
}
