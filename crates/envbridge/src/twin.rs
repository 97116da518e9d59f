//! A Rust-native twin of PlaLaM's MiniWorld move rule and reward (no
//! rendering), for the planners that need no frames.
//!
//! The worker (`python/worker.py`, policies `plan` and `step`) moves the
//! agent by `(step tanh(a[1]), step tanh(a[0]))` in `(x, z)`, rejects the
//! whole move when the agent's circle would come closer than its radius to
//! a collision segment (the package's `intersect_circle_segs`) or to
//! another entity (the box), and ends the episode on reaching the box
//! (distance < box radius + agent radius + 1.1 step: return
//! `1 - 0.2 t / T`) or at the horizon (return minus the distance to the
//! box). [`NavTwin`] replays that arithmetic in f64 in numpy's order on the
//! geometry the worker hands over once per maze ([`layout`], policy
//! `layout`), so a rollout costs microseconds instead of a worker round
//! trip.
//!
//! Exactness: every operation is the worker's, in its order, except `tanh`:
//! numpy's float64 `tanh` is its own SIMD polynomial (on AVX2 machines),
//! which differs from the C library's `tanh` that Rust calls by up to 3 ulp
//! on about a third of the inputs. Positions and returns therefore agree
//! to about `1e-13` rather than bit for bit; a collision or the goal test
//! could only flip where a distance lies within that of its threshold.

use crate::nav::{NavRollout, NavTask};
use crate::worker::{Error, Lease, Request};
use serde::{Deserialize, Serialize};

/// Everything the move rule and the reward read in one maze, as the worker
/// sees it (policy `layout`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct NavLayout {
    /// Gymnasium id and maze seed it came from.
    pub env: String,
    pub seed: u64,
    /// Steps per episode and the move's size (0.3 on MazeS3).
    pub horizon: usize,
    pub step: f64,
    /// The collision segments `[a_x, a_z, b_x, b_z]` in the package's
    /// order (its arithmetic starts from `a`); doors are gaps between them.
    pub walls: Vec<[f64; 4]>,
    /// The agent's start `(x, y, z)` and radius.
    pub start: [f64; 3],
    pub agent_radius: f64,
    /// The box's `(x, y, z)` and radius.
    pub goal: [f64; 3],
    pub goal_radius: f64,
    /// Every entity that blocks a move, `[x, z, radius]` (the box).
    pub blockers: Vec<[f64; 3]>,
}

/// The layout of maze `seed` from the worker.
pub fn layout(worker: &mut Lease, task: &NavTask, seed: u64) -> Result<NavLayout, Error> {
    let req = Request {
        env: task.env.clone(),
        policy: "layout".into(),
        seeds: vec![seed],
        ..Default::default()
    };
    worker.request(&req)?.layout.ok_or_else(|| Error::Request {
        message: "layout: no layout in the answer".into(),
        tail: String::new(),
    })
}

/// A wall with the parts of numpy's arithmetic that do not depend on the
/// agent computed once (the same operations, so the same bits).
#[derive(Clone, Debug)]
struct Wall {
    a: [f64; 2],
    ab: [f64; 2],
    ab_ab: f64,
    /// The segment's bounding box grown by the agent's radius and a margin
    /// far above rounding: a point outside it cannot come out closer than
    /// the radius, so the exact test is skipped without changing a decision.
    lo: [f64; 2],
    hi: [f64; 2],
}

/// The move rule and reward of one maze in plain Rust.
#[derive(Clone, Debug)]
pub struct NavTwin {
    layout: NavLayout,
    walls: Vec<Wall>,
    /// The goal test's threshold, as the worker sums it.
    reach: f64,
}

impl NavTwin {
    /// A twin of `layout`; refuses a layout the rule cannot run on.
    pub fn new(layout: NavLayout) -> Result<Self, Error> {
        let bad = |m: String| Error::Request {
            message: format!("layout: {m}"),
            tail: String::new(),
        };
        if layout.horizon == 0 {
            return Err(bad("horizon 0".into()));
        }
        let finite = |v: &[f64]| v.iter().all(|x| x.is_finite());
        if !finite(&[layout.step, layout.agent_radius, layout.goal_radius])
            || !finite(&layout.start)
            || !finite(&layout.goal)
            || !layout.walls.iter().all(|w| finite(w))
            || !layout.blockers.iter().all(|b| finite(b))
        {
            return Err(bad("a non-finite number".into()));
        }
        let grow = layout.agent_radius + 1e-6;
        let walls = layout
            .walls
            .iter()
            .map(|&[ax, az, bx, bz]| {
                let ab = [bx - ax, bz - az];
                Wall {
                    a: [ax, az],
                    ab,
                    ab_ab: ab[0] * ab[0] + ab[1] * ab[1],
                    lo: [ax.min(bx) - grow, az.min(bz) - grow],
                    hi: [ax.max(bx) + grow, az.max(bz) + grow],
                }
            })
            .collect();
        let reach = layout.goal_radius + layout.agent_radius + 1.1 * layout.step;
        Ok(Self {
            layout,
            walls,
            reach,
        })
    }

    pub fn layout(&self) -> &NavLayout {
        &self.layout
    }

    /// The agent's start and the box's `(x, z)`.
    pub fn start(&self) -> [f64; 2] {
        [self.layout.start[0], self.layout.start[2]]
    }

    pub fn goal(&self) -> [f64; 2] {
        [self.layout.goal[0], self.layout.goal[2]]
    }

    /// Actions of one plan.
    pub fn dim(&self) -> usize {
        2 * self.layout.horizon
    }

    /// Whether the agent's circle at `(x, z)` touches a wall or an entity
    /// (miniworld's `intersect`; the y terms it carries are all 0).
    fn blocked(&self, x: f64, z: f64) -> bool {
        let r = self.layout.agent_radius;
        for w in &self.walls {
            if x < w.lo[0] || x > w.hi[0] || z < w.lo[1] || z > w.hi[1] {
                continue;
            }
            let ap = [x - w.a[0], z - w.a[1]];
            let proj = ((ap[0] * w.ab[0] + ap[1] * w.ab[1]) / w.ab_ab).clamp(0.0, 1.0);
            let d = [w.a[0] + proj * w.ab[0] - x, w.a[1] + proj * w.ab[1] - z];
            if (d[0] * d[0] + d[1] * d[1]).sqrt() < r {
                return true;
            }
        }
        self.layout.blockers.iter().any(|&[bx, bz, br]| {
            let (dx, dz) = (bx - x, bz - z);
            (dx * dx + dz * dz).sqrt() < r + br
        })
    }

    /// One move of the authors' rule from `(x, z)` under `a`: the new
    /// position, or the old one when the move would collide.
    pub fn step(&self, pos: [f64; 2], a: [f64; 2]) -> [f64; 2] {
        let s = self.layout.step;
        // The worker nudges a zero x action (it divides by it for the
        // camera's heading); tanh(1e-8) still moves the agent by 3e-9.
        let ax = if a[1] == 0.0 { a[1] + 1e-8 } else { a[1] };
        let next = [pos[0] + s * ax.tanh(), pos[1] + s * a[0].tanh()];
        if self.blocked(next[0], next[1]) {
            pos
        } else {
            next
        }
    }

    /// The distance from the agent at `(x, z)` to the box, summed as
    /// numpy's `norm` (BLAS `ddot` over `(dx, dy, dz)`) sums it.
    fn to_goal(&self, p: [f64; 2]) -> f64 {
        let g = &self.layout.goal;
        let d = [p[0] - g[0], self.layout.start[1] - g[1], p[1] - g[2]];
        (d[0] * d[0] + d[1] * d[1] + d[2] * d[2]).sqrt()
    }

    /// Roll a plan out (`2 x horizon` actions), as the worker's policy
    /// `plan` does: the return, the steps run, and the `(x, z)` after each
    /// step (1-based) in `positions_at` that the episode reached, in step
    /// order. No frames.
    pub fn rollout(&self, actions: &[f64], positions_at: &[usize]) -> Result<NavRollout, Error> {
        let horizon = self.layout.horizon;
        if actions.len() != 2 * horizon {
            return Err(Error::Request {
                message: format!(
                    "{}: a plan needs {} actions, got {}",
                    self.layout.env,
                    2 * horizon,
                    actions.len()
                ),
                tail: String::new(),
            });
        }
        let mut pos = self.start();
        let (mut total, mut t) = (0.0, 0);
        let mut positions = vec![];
        for a in actions.chunks_exact(2) {
            t += 1;
            pos = self.step(pos, [a[0], a[1]]);
            if positions_at.contains(&t) {
                positions.push(pos);
            }
            let mut done = t >= horizon;
            let mut r = 0.0;
            if self.to_goal(pos) < self.reach {
                r += 1.0 - 0.2 * (t as f64 / horizon as f64);
                done = true;
            }
            if r == 0.0 && done {
                r = -self.to_goal(pos);
            }
            total += r;
            if done {
                break;
            }
        }
        Ok(NavRollout {
            value: total,
            steps: t,
            frames: None,
            positions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One 4 x 4 room, `[0, 4]^2`, agent at (1, 1), box at (3, 3), horizon 20,
    /// step 0.3; optionally a wall across the middle, z = 2, with a door at
    /// x > 2.5.
    fn room(with_inner_wall: bool) -> NavTwin {
        let mut walls = vec![
            [0.0, 0.0, 4.0, 0.0],
            [4.0, 0.0, 4.0, 4.0],
            [4.0, 4.0, 0.0, 4.0],
            [0.0, 4.0, 0.0, 0.0],
        ];
        if with_inner_wall {
            walls.push([0.0, 2.0, 2.5, 2.0]);
        }
        NavTwin::new(NavLayout {
            env: "room".into(),
            seed: 0,
            horizon: 20,
            step: 0.3,
            walls,
            start: [1.0, 0.0, 1.0],
            agent_radius: 0.4,
            goal: [3.0, 0.0, 3.0],
            goal_radius: 0.5,
            blockers: vec![[3.0, 3.0, 0.5]],
        })
        .unwrap()
    }

    fn plan(steps: usize, a: [f64; 2]) -> Vec<f64> {
        (0..steps).flat_map(|_| a).collect()
    }

    #[test]
    fn a_zero_plan_creeps_along_x_and_times_out_at_minus_the_distance() {
        let twin = room(false);
        let r = twin.rollout(&vec![0.0; 40], &[1, 20]).unwrap();
        assert_eq!(r.steps, 20);
        // A zero x action becomes 1e-8, so x creeps by 0.3 tanh(1e-8).
        let dx = 0.3 * 1e-8f64.tanh();
        assert!(dx > 0.0);
        assert_eq!(r.positions[0], [1.0 + dx, 1.0]);
        let mut x = 1.0;
        for _ in 0..20 {
            x += dx;
        }
        assert_eq!(r.positions[1], [x, 1.0]);
        let d = ((x - 3.0) * (x - 3.0) + 4.0f64).sqrt();
        assert_eq!(r.value, -d);
        assert!(r.frames.is_none());
    }

    #[test]
    fn a_move_into_a_wall_is_rejected_whole() {
        let twin = room(false);
        // Toward -x: from x = 1 the circle reaches the wall at x = 0 once x
        // drops below 0.4; every move from x = 0.4 + (below 0.3) is refused.
        let r = twin
            .rollout(&plan(20, [0.0, -5.0]), &[1, 2, 3, 20])
            .unwrap();
        let s = 0.3 * (-5.0f64).tanh();
        assert_eq!(r.positions[0], [1.0 + s, 1.0]);
        assert_eq!(r.positions[1], [1.0 + s + s, 1.0]);
        assert_eq!(
            r.positions[2], r.positions[1],
            "the third move would cross x = 0.4"
        );
        assert_eq!(r.positions[3], r.positions[1]);
        // The direct step is refused too.
        assert_eq!(twin.step([0.45, 1.0], [0.0, -5.0]), [0.45, 1.0]);
        assert_eq!(
            twin.step([0.45, 1.0], [0.0, 5.0])[0],
            0.45 + 0.3 * 5.0f64.tanh()
        );
    }

    #[test]
    fn the_diagonal_reaches_the_box_and_scores_by_the_step() {
        let twin = room(false);
        let r = twin.rollout(&plan(20, [5.0, 5.0]), &[]).unwrap();
        // Reach: 0.5 + 0.4 + 0.33 = 1.23 from (3, 3); one diagonal move
        // covers 0.3 tanh(5) ~ 0.29999 per axis, so after t moves the
        // distance is sqrt(2) (2 - 0.3 tanh(5) t) < 1.23 first at t = 4.
        assert_eq!(r.steps, 4);
        assert_eq!(r.value, 1.0 - 0.2 * (4.0 / 20.0));
        assert!(r.positions.is_empty());
    }

    #[test]
    fn an_inner_wall_blocks_and_its_door_lets_through() {
        let twin = room(true);
        // Straight up from (1, 1): stopped below z = 2 - 0.4.
        let r = twin.rollout(&plan(20, [5.0, 0.0]), &[20]).unwrap();
        assert_eq!(r.steps, 20);
        assert!(r.positions[0][1] < 1.6 && r.positions[0][1] > 1.3, "{r:?}");
        // East to x ~ 3.4 (the ninth move would touch the east wall), then
        // up through the door: reaches the box.
        let mut p = plan(9, [0.0, 5.0]);
        p.extend(plan(11, [5.0, 0.0]));
        let r = twin.rollout(&p, &[8, 9]).unwrap();
        assert!(r.positions[0][0] > 3.39, "{r:?}");
        assert_eq!(r.positions[0], r.positions[1]);
        assert!(r.value > 0.0 && r.steps < 20, "{r:?}");
    }

    #[test]
    fn a_plan_of_the_wrong_length_and_a_bad_layout_are_refused() {
        let twin = room(false);
        let e = twin.rollout(&[0.0; 3], &[]).unwrap_err();
        assert!(e.to_string().contains("40"), "{e}");
        let mut l = twin.layout().clone();
        l.step = f64::NAN;
        assert!(NavTwin::new(l).is_err());
        let l = NavLayout {
            horizon: 0,
            ..twin.layout().clone()
        };
        assert!(NavTwin::new(l).unwrap_err().to_string().contains("horizon"));
    }

    #[test]
    fn layouts_round_trip_through_json() {
        let l = room(true).layout().clone();
        let text = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<NavLayout>(&text).unwrap(), l);
    }
}
