//! iLQR as the authors run it (`lamcts_planning/methods/ilqr/ilqr.py` and
//! its copy of pylqr, `methods/ilqr/pylqr.py`, at 7bd5fb3).
//!
//! Unlike the other baselines it is not a black-box search: it needs a
//! model to step from any state and a per-step cost. The authors give it
//! the simulator itself (the agent's `(x, z)` is set and `env.step` run)
//! and a privileged dense cost, the change in distance to the box over the
//! step; every derivative is a central finite difference (step `1e-5`) of
//! those two, as pylqr does without autograd. [`Model`] is that simulator
//! step, batched (the finite-difference points of a whole trajectory go in
//! one call); the cost is a closure of `(x, u, next)`.
//!
//! The solver is pylqr's `ilqr_iterate`: the trajectory from `u_init`, then
//! per iteration the LQR system along it, the backward pass with the
//! regularised inverse of `Quu` (regularisation 1 at the start, / 10 after
//! an accepted step, x 10 after a rejected iteration, stop above 1000), a
//! line search over `alpha = 1.1^(-k^2)`, `k = 0..9`, taking the first
//! alpha that lowers the total cost, and a stop when the relative decrease
//! is below `1e-6`. Two implementation choices: the ten line-search
//! trajectories are stepped together (the first that lowers the cost is
//! kept, as in the code's loop, so the result is the same), and `Quu`'s
//! regularised pseudo-inverse is `sum_k sign(l_k) v_k v_k^T / (|l_k| + reg)`
//! from its eigendecomposition, which is the SVD form pylqr intends for a
//! symmetric matrix (pylqr multiplies numpy's `vh` untransposed, the same
//! whenever `vh` is symmetric, as LAPACK returns it for these 2 x 2
//! matrices).

use searchkit::linalg::symmetric_eigen;

/// A deterministic one-step model: the next state after control `u` from
/// state `x`, for every query of a batch, in order.
pub trait Model {
    type Error;
    fn step(&mut self, queries: &[(Vec<f64>, Vec<f64>)]) -> Result<Vec<Vec<f64>>, Self::Error>;
}

/// A closure `(x, u) -> next` as a [`Model`].
pub struct FnModel<F>(pub F);

impl<F: FnMut(&[f64], &[f64]) -> Vec<f64>> Model for FnModel<F> {
    type Error = std::convert::Infallible;
    fn step(&mut self, queries: &[(Vec<f64>, Vec<f64>)]) -> Result<Vec<Vec<f64>>, Self::Error> {
        Ok(queries.iter().map(|(x, u)| (self.0)(x, u)).collect())
    }
}

/// pylqr's constants.
#[derive(Clone, Debug, PartialEq)]
pub struct IlqrConfig {
    /// Finite-difference step (`finite_diff_eps`).
    pub eps: f64,
    /// Relative cost decrease under which the iteration has converged.
    pub tol: f64,
    /// Regularisation at the start, its floor, its ceiling (the run stops
    /// when a rejected iteration finds it above) and its factor.
    pub reg_init: f64,
    pub reg_min: f64,
    pub reg_max: f64,
    pub reg_factor: f64,
    /// Line-search steps `1.1^(-k^2)`, `k < line_search`.
    pub line_search: usize,
}

impl Default for IlqrConfig {
    fn default() -> Self {
        Self {
            eps: 1e-5,
            tol: 1e-6,
            reg_init: 1.0,
            reg_min: 1e-6,
            reg_max: 1000.0,
            reg_factor: 10.0,
            line_search: 10,
        }
    }
}

/// Why the iteration stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IlqrStop {
    Converged,
    /// Every line-search step was rejected with the regularisation above
    /// its ceiling.
    Regularisation,
}

/// The state of one iLQR run (pylqr's `ilqr_iterate`, one iteration per
/// [`Ilqr::iterate`]).
#[derive(Clone, Debug)]
pub struct Ilqr {
    config: IlqrConfig,
    xs: Vec<Vec<f64>>,
    us: Vec<Vec<f64>>,
    cost: f64,
    reg: f64,
    stop: Option<IlqrStop>,
    iterations: usize,
}

type Cost<'a> = &'a dyn Fn(&[f64], &[f64], &[f64]) -> f64;

/// A trajectory: states `x_0 .. x_T` and controls `u_0 .. u_{T-1}`.
type Traj = (Vec<Vec<f64>>, Vec<Vec<f64>>);

fn add(a: &[f64], i: usize, d: f64) -> Vec<f64> {
    let mut v = a.to_vec();
    v[i] += d;
    v
}

fn add2(a: &[f64], i: usize, j: usize, d: f64) -> Vec<f64> {
    let mut v = a.to_vec();
    v[i] += d;
    v[j] += d;
    v
}

/// `a^T b` for `a` (r x p) and `b` (r x q).
fn at_b(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let (p, q) = (a[0].len(), b[0].len());
    (0..p)
        .map(|i| {
            (0..q)
                .map(|j| (0..a.len()).map(|k| a[k][i] * b[k][j]).sum())
                .collect()
        })
        .collect()
}

fn mul(a: &[Vec<f64>], b: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let q = b[0].len();
    a.iter()
        .map(|r| {
            (0..q)
                .map(|j| r.iter().zip(b).map(|(x, row)| x * row[j]).sum())
                .collect()
        })
        .collect()
}

fn mat_vec(a: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    a.iter()
        .map(|r| r.iter().zip(v).map(|(x, y)| x * y).sum())
        .collect()
}

fn at_v(a: &[Vec<f64>], v: &[f64]) -> Vec<f64> {
    (0..a[0].len())
        .map(|i| a.iter().zip(v).map(|(r, y)| r[i] * y).sum())
        .collect()
}

fn plus(a: &[Vec<f64>], b: &[Vec<f64>], s: f64) -> Vec<Vec<f64>> {
    a.iter()
        .zip(b)
        .map(|(r, q)| r.iter().zip(q).map(|(x, y)| x + s * y).collect())
        .collect()
}

/// The regularised inverse of a symmetric matrix, as the SVD form
/// `V diag(1 / (s + reg)) U^T` (see the module's notes).
fn reg_inverse(m: &[Vec<f64>], reg: f64) -> Vec<Vec<f64>> {
    let n = m.len();
    let (w, v) = symmetric_eigen(m);
    (0..n)
        .map(|i| {
            (0..n)
                .map(|j| {
                    (0..n)
                        .map(|k| v[i][k] * v[j][k] * w[k].signum() / (w[k].abs() + reg))
                        .sum()
                })
                .collect()
        })
        .collect()
}

impl Ilqr {
    /// The trajectory of `u_init` (T controls) from `x0` and its cost.
    pub fn new<M: Model>(
        config: IlqrConfig,
        model: &mut M,
        cost: Cost<'_>,
        x0: &[f64],
        u_init: Vec<Vec<f64>>,
    ) -> Result<Self, M::Error> {
        let mut xs = vec![x0.to_vec()];
        for u in &u_init {
            let next = model.step(&[(xs[xs.len() - 1].clone(), u.clone())])?;
            xs.push(next.into_iter().next().expect("one answer"));
        }
        let mut s = Self {
            reg: config.reg_init,
            config,
            xs,
            us: u_init,
            cost: 0.0,
            stop: None,
            iterations: 0,
        };
        s.cost = s.total_cost(model, cost, &[(s.xs.clone(), s.us.clone())])?[0];
        Ok(s)
    }

    /// The current controls (one `Vec` per step).
    pub fn controls(&self) -> &[Vec<f64>] {
        &self.us
    }

    /// The current states, `x_0 .. x_T`.
    pub fn states(&self) -> &[Vec<f64>] {
        &self.xs
    }

    /// The current total cost.
    pub fn cost(&self) -> f64 {
        self.cost
    }

    /// Why the run stopped, once it has.
    pub fn stopped(&self) -> Option<IlqrStop> {
        self.stop
    }

    /// Iterations run (stopped runs do not count further calls).
    pub fn iterations(&self) -> usize {
        self.iterations
    }

    /// pylqr's `evaluate_trajectory_cost` for several trajectories: the
    /// stage costs plus the terminal term at a zero control.
    fn total_cost<M: Model>(
        &self,
        model: &mut M,
        cost: Cost<'_>,
        trajs: &[Traj],
    ) -> Result<Vec<f64>, M::Error> {
        let m = self.us.first().map_or(0, Vec::len);
        let ends: Vec<(Vec<f64>, Vec<f64>)> = trajs
            .iter()
            .map(|(xs, _)| (xs[xs.len() - 1].clone(), vec![0.0; m]))
            .collect();
        let nexts = model.step(&ends)?;
        Ok(trajs
            .iter()
            .zip(&ends)
            .zip(&nexts)
            .map(|(((xs, us), (xt, ut)), nt)| {
                let stages: f64 = (0..us.len())
                    .map(|t| cost(&xs[t], &us[t], &xs[t + 1]))
                    .sum();
                stages + cost(xt, ut, nt)
            })
            .collect())
    }

    /// One iteration: the LQR system by finite differences, the backward
    /// pass, the line search. Returns whether the controls changed; after a
    /// stop it does nothing.
    pub fn iterate<M: Model>(&mut self, model: &mut M, cost: Cost<'_>) -> Result<bool, M::Error> {
        if self.stop.is_some() {
            return Ok(false);
        }
        self.iterations += 1;
        let (ks, gains) = self.backward(model, cost)?;
        let alphas: Vec<f64> = (0..self.config.line_search)
            .map(|k| 1.1f64.powi(-((k * k) as i32)))
            .collect();
        // The line search's trajectories, stepped together.
        let t_len = self.us.len();
        let mut trials: Vec<Traj> = alphas
            .iter()
            .map(|_| (vec![self.xs[0].clone()], Vec::with_capacity(t_len)))
            .collect();
        for t in 0..t_len {
            let queries: Vec<(Vec<f64>, Vec<f64>)> = alphas
                .iter()
                .zip(&mut trials)
                .map(|(&alpha, (xs, us))| {
                    let dx: Vec<f64> = xs[t].iter().zip(&self.xs[t]).map(|(a, b)| a - b).collect();
                    let fb = mat_vec(&gains[t], &dx);
                    let u: Vec<f64> = self.us[t]
                        .iter()
                        .zip(&ks[t])
                        .zip(&fb)
                        .map(|((u, k), f)| u + alpha * (k + f))
                        .collect();
                    us.push(u.clone());
                    (xs[t].clone(), u)
                })
                .collect();
            let nexts = model.step(&queries)?;
            for ((xs, _), n) in trials.iter_mut().zip(nexts) {
                xs.push(n);
            }
        }
        let costs = self.total_cost(model, cost, &trials)?;
        let mut accepted = false;
        for (trial, j_new) in trials.into_iter().zip(costs) {
            if j_new < self.cost {
                let converged = ((self.cost - j_new) / self.cost).abs() < self.config.tol;
                self.cost = j_new;
                (self.xs, self.us) = trial;
                if converged {
                    self.stop = Some(IlqrStop::Converged);
                    return Ok(true);
                }
                self.reg = (self.reg / self.config.reg_factor).max(self.config.reg_min);
                accepted = true;
                break;
            }
        }
        if !accepted {
            if self.reg > self.config.reg_max {
                self.stop = Some(IlqrStop::Regularisation);
            } else {
                self.reg *= self.config.reg_factor;
            }
        }
        Ok(accepted)
    }

    /// pylqr's `build_lqr_system` (every derivative by finite differences,
    /// its formulas) and `back_propagation`: the feedforward terms `k_t`
    /// and gains `K_t`.
    #[allow(clippy::type_complexity)]
    fn backward<M: Model>(
        &self,
        model: &mut M,
        cost: Cost<'_>,
    ) -> Result<(Vec<Vec<f64>>, Vec<Vec<Vec<f64>>>), M::Error> {
        let e = self.config.eps;
        let n = self.xs[0].len();
        let m = self.us.first().map_or(0, Vec::len);
        let t_len = self.us.len();
        // Every (x, u) a step t needs, in a fixed order.
        let points = |x: &[f64], u: &[f64]| -> Vec<(Vec<f64>, Vec<f64>)> {
            let mut p = vec![(x.to_vec(), u.to_vec())];
            for i in 0..n {
                p.push((add(x, i, e), u.to_vec()));
                p.push((add(x, i, -e), u.to_vec()));
            }
            for j in 0..m {
                p.push((x.to_vec(), add(u, j, e)));
                p.push((x.to_vec(), add(u, j, -e)));
            }
            for i in 0..n {
                for j in 0..n {
                    p.push((add2(x, i, j, e), u.to_vec()));
                    p.push((add2(x, i, j, -e), u.to_vec()));
                }
            }
            for i in 0..m {
                for j in 0..m {
                    p.push((x.to_vec(), add2(u, i, j, e)));
                    p.push((x.to_vec(), add2(u, i, j, -e)));
                }
            }
            for j in 0..m {
                for i in 0..n {
                    p.push((add(x, i, e), add(u, j, e)));
                    p.push((add(x, i, -e), add(u, j, -e)));
                }
            }
            p
        };
        let zero = vec![0.0; m];
        let mut queries = Vec::new();
        for t in 0..=t_len {
            let u = if t < t_len { &self.us[t] } else { &zero };
            queries.extend(points(&self.xs[t], u));
        }
        let nexts = model.step(&queries)?;
        let per = queries.len() / (t_len + 1);
        struct Lqr {
            fx: Vec<Vec<f64>>,
            fu: Vec<Vec<f64>>,
            lx: Vec<f64>,
            lu: Vec<f64>,
            lxx: Vec<Vec<f64>>,
            luu: Vec<Vec<f64>>,
            lux: Vec<Vec<f64>>,
        }
        let lqr: Vec<Lqr> = (0..=t_len)
            .map(|t| {
                let q = &queries[t * per..(t + 1) * per];
                let f = &nexts[t * per..(t + 1) * per];
                let l: Vec<f64> = q.iter().zip(f).map(|((x, u), nx)| cost(x, u, nx)).collect();
                let l0 = l[0];
                let (fx1, cx1) = (|i: usize| &f[1 + 2 * i], |i: usize| l[1 + 2 * i]);
                let (fx2, cx2) = (|i: usize| &f[2 + 2 * i], |i: usize| l[2 + 2 * i]);
                let bu = 1 + 2 * n;
                let (fu1, cu1) = (|j: usize| &f[bu + 2 * j], |j: usize| l[bu + 2 * j]);
                let (fu2, cu2) = (|j: usize| &f[bu + 1 + 2 * j], |j: usize| l[bu + 1 + 2 * j]);
                let bxx = bu + 2 * m;
                let buu = bxx + 2 * n * n;
                let bux = buu + 2 * m * m;
                let fx = (0..n)
                    .map(|k| {
                        (0..n)
                            .map(|i| (fx1(i)[k] - fx2(i)[k]) / (2.0 * e))
                            .collect()
                    })
                    .collect();
                let fu = (0..n)
                    .map(|k| {
                        (0..m)
                            .map(|j| (fu1(j)[k] - fu2(j)[k]) / (2.0 * e))
                            .collect()
                    })
                    .collect();
                let lx = (0..n).map(|i| (cx1(i) - cx2(i)) / (2.0 * e)).collect();
                let lu = (0..m).map(|j| (cu1(j) - cu2(j)) / (2.0 * e)).collect();
                // pylqr's finite_difference_second_order_.
                let hess = |d: usize,
                            base: usize,
                            c1: &dyn Fn(usize) -> f64,
                            c2: &dyn Fn(usize) -> f64| {
                    (0..d)
                        .map(|i| {
                            (0..d)
                                .map(|j| {
                                    let fpp = l[base + 2 * (i * d + j)];
                                    let fnn = l[base + 2 * (i * d + j) + 1];
                                    (fpp - c1(i) - c1(j) - c2(j) - c2(i) + fnn + 2.0 * l0)
                                        / (2.0 * e * e)
                                })
                                .collect()
                        })
                        .collect()
                };
                let lxx = hess(n, bxx, &cx1, &cx2);
                let luu = hess(m, buu, &cu1, &cu2);
                let lux = (0..m)
                    .map(|j| {
                        (0..n)
                            .map(|i| {
                                let c1 = l[bux + 2 * (j * n + i)];
                                let c2 = l[bux + 2 * (j * n + i) + 1];
                                (c1 + c2 + 2.0 * l0 - cx1(i) - cx2(i) - cu1(j) - cu2(j))
                                    / (2.0 * e * e)
                            })
                            .collect()
                    })
                    .collect();
                Lqr {
                    fx,
                    fu,
                    lx,
                    lu,
                    lxx,
                    luu,
                    lux,
                }
            })
            .collect();
        let mut vxx = lqr[t_len].lxx.clone();
        let mut vx = lqr[t_len].lx.clone();
        let mut ks = vec![Vec::new(); t_len];
        let mut gains = vec![Vec::new(); t_len];
        for t in (0..t_len).rev() {
            let s = &lqr[t];
            let qx: Vec<f64> =
                s.lx.iter()
                    .zip(at_v(&s.fx, &vx))
                    .map(|(a, b)| a + b)
                    .collect();
            let qu: Vec<f64> =
                s.lu.iter()
                    .zip(at_v(&s.fu, &vx))
                    .map(|(a, b)| a + b)
                    .collect();
            let vxx_fx = mul(&vxx, &s.fx);
            let vxx_fu = mul(&vxx, &s.fu);
            let qxx = plus(&s.lxx, &at_b(&s.fx, &vxx_fx), 1.0);
            let qux = plus(&s.lux, &at_b(&s.fu, &vxx_fx), 1.0);
            let quu = plus(&s.luu, &at_b(&s.fu, &vxx_fu), 1.0);
            let inv = reg_inverse(&quu, self.reg);
            let k: Vec<f64> = mat_vec(&inv, &qu).into_iter().map(|v| -v).collect();
            let gain: Vec<Vec<f64>> = mul(&inv, &qux)
                .into_iter()
                .map(|r| r.into_iter().map(|v| -v).collect())
                .collect();
            // Vxx = Qxx - K^T Quu K; Vx = Qx - K^T Quu k.
            let quu_gain = mul(&quu, &gain);
            vxx = plus(&qxx, &at_b(&gain, &quu_gain), -1.0);
            let quu_k = mat_vec(&quu, &k);
            vx = qx
                .iter()
                .zip(at_v(&gain, &quu_k))
                .map(|(a, b)| a - b)
                .collect();
            ks[t] = k;
            gains[t] = gain;
        }
        Ok((ks, gains))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-D point moving `0.3 tanh(u)` per step, a wall at `x = 1` for
    /// `z < 2` (a move into it is rejected whole, as MiniWorld's), and the
    /// authors' cost: the change in distance to the goal.
    #[allow(clippy::type_complexity)]
    fn point(
        goal: [f64; 2],
        wall: bool,
    ) -> (
        impl FnMut(&[f64], &[f64]) -> Vec<f64>,
        impl Fn(&[f64], &[f64], &[f64]) -> f64,
    ) {
        let model = move |x: &[f64], u: &[f64]| {
            let next = vec![x[0] + 0.3 * u[1].tanh(), x[1] + 0.3 * u[0].tanh()];
            if wall && next[0] > 1.0 && next[1] < 2.0 {
                x.to_vec()
            } else {
                next
            }
        };
        let dist = move |p: &[f64]| ((p[0] - goal[0]).powi(2) + (p[1] - goal[1]).powi(2)).sqrt();
        let cost = move |x: &[f64], _u: &[f64], next: &[f64]| dist(next) - dist(x);
        (model, cost)
    }

    fn run(wall: bool, iterations: usize) -> (Vec<f64>, Vec<Vec<f64>>, f64) {
        let (model, cost) = point([2.0, 1.0], wall);
        let mut model = FnModel(model);
        let mut s = Ilqr::new(
            IlqrConfig::default(),
            &mut model,
            &cost,
            &[0.0, 0.0],
            vec![vec![0.0; 2]; 12],
        )
        .unwrap();
        let start = s.cost();
        let mut costs = vec![start];
        for _ in 0..iterations {
            s.iterate(&mut model, &cost).unwrap();
            costs.push(s.cost());
        }
        (costs, s.controls().to_vec(), s.states()[12][0])
    }

    #[test]
    fn ilqr_reaches_the_goal_in_free_space_and_is_deterministic() {
        let (costs, us, _) = run(false, 30);
        // The cost telescopes to dist(x_T) - dist(x_0); from (0, 0) to (2, 1)
        // is sqrt(5), reachable in 12 moves of at most 0.3 per axis.
        assert!(costs.windows(2).all(|w| w[1] <= w[0]), "{costs:?}");
        let end = costs[costs.len() - 1];
        assert!(end < -5f64.sqrt() + 0.05, "cost {end}");
        let again = run(false, 30);
        assert_eq!((again.0, again.1), (costs, us));
    }

    #[test]
    fn ilqr_improves_but_is_stopped_by_a_wall() {
        // The goal is behind the wall: the moves towards it are rejected,
        // their derivative is zero, and iLQR stalls short of the goal (what
        // makes it a weak maze planner even with its privileged cost).
        let (costs, _, x_end) = run(true, 40);
        let end = costs[costs.len() - 1];
        assert!(end < costs[0], "{costs:?}");
        assert!(end > -5f64.sqrt() + 0.3, "cost {end}");
        assert!(x_end <= 1.0);
    }

    #[test]
    fn regularised_inverse_inverts_a_symmetric_matrix() {
        let m = vec![vec![2.0, 0.7], vec![0.7, -1.0]];
        let inv = reg_inverse(&m, 0.0);
        let id = mul(&inv, &m);
        for (i, r) in id.iter().enumerate() {
            for (j, v) in r.iter().enumerate() {
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12, "{id:?}");
            }
        }
    }
}
