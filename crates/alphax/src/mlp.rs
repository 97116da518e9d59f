//! A small dense MLP with ReLU hidden layers, a sigmoid output, mean squared
//! error and Adam: AlphaX's meta-DNN (the authors' Keras model
//! 56-512-2048-2048-512-1, lr 2e-4, batch 128, 20 epochs per retraining).
//!
//! Hand-written because the workspace's deep-learning backend (tch) is not a
//! dependency of this crate; the networks here are small and the loops plain,
//! so results are bit-reproducible for a given stream.

use searchkit::rng::Stream;

/// A fully connected network `sizes[0] -> ... -> 1`.
#[derive(Clone, Debug)]
pub struct Mlp {
    sizes: Vec<usize>,
    /// Layer `l`: `sizes[l+1] x sizes[l]` weights, row-major (output-major).
    w: Vec<Vec<f32>>,
    b: Vec<Vec<f32>>,
    mw: Vec<Vec<f32>>,
    vw: Vec<Vec<f32>>,
    mb: Vec<Vec<f32>>,
    vb: Vec<Vec<f32>>,
    t: i32,
}

/// Adam settings and the training schedule.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub lr: f32,
    pub batch: usize,
    pub epochs: usize,
}

impl Default for TrainConfig {
    /// The authors' `env_model.fit(batch_size=128, epochs=20)` with `Adam(lr=0.0002)`.
    fn default() -> Self {
        Self {
            lr: 2e-4,
            batch: 128,
            epochs: 20,
        }
    }
}

fn uniform(rng: &mut Stream, lim: f64) -> f32 {
    ((2.0 * rng.uniform() - 1.0) * lim) as f32
}

impl Mlp {
    /// `input -> hidden... -> 1`, initialised as the authors' Keras model:
    /// `RandomUniform(-0.05, 0.05)` for all but the last two layers, Glorot
    /// uniform for those, zero biases.
    pub fn new(input: usize, hidden: &[usize], rng: &mut Stream) -> Self {
        let mut sizes = vec![input];
        sizes.extend_from_slice(hidden);
        sizes.push(1);
        let layers = sizes.len() - 1;
        let mut w = vec![];
        let mut b = vec![];
        for l in 0..layers {
            let (fi, fo) = (sizes[l], sizes[l + 1]);
            let lim = if l + 2 >= layers {
                (6.0 / (fi + fo) as f64).sqrt()
            } else {
                0.05
            };
            w.push((0..fi * fo).map(|_| uniform(rng, lim)).collect::<Vec<_>>());
            b.push(vec![0.0; fo]);
        }
        let zeros_w: Vec<Vec<f32>> = w.iter().map(|l| vec![0.0; l.len()]).collect();
        let zeros_b: Vec<Vec<f32>> = b.iter().map(|l| vec![0.0; l.len()]).collect();
        Self {
            sizes,
            w,
            b,
            mw: zeros_w.clone(),
            vw: zeros_w,
            mb: zeros_b.clone(),
            vb: zeros_b,
            t: 0,
        }
    }

    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }

    /// Activations of every layer (input first, sigmoid output last).
    fn forward(&self, x: &[f32]) -> Vec<Vec<f32>> {
        let layers = self.w.len();
        let mut acts = vec![x.to_vec()];
        for l in 0..layers {
            let (fi, fo) = (self.sizes[l], self.sizes[l + 1]);
            let a = &acts[l];
            let mut z = self.b[l].clone();
            for (o, zo) in z.iter_mut().enumerate() {
                let row = &self.w[l][o * fi..(o + 1) * fi];
                *zo += row.iter().zip(a).map(|(w, x)| w * x).sum::<f32>();
            }
            if l + 1 < layers {
                z.iter_mut().for_each(|v| *v = v.max(0.0));
            } else {
                z.iter_mut().for_each(|v| *v = 1.0 / (1.0 + (-*v).exp()));
            }
            debug_assert_eq!(z.len(), fo);
            acts.push(z);
        }
        acts
    }

    pub fn predict(&self, x: &[f32]) -> f32 {
        self.forward(x).last().unwrap()[0]
    }

    /// Mean squared error over a data set.
    pub fn mse(&self, xs: &[Vec<f32>], ys: &[f32]) -> f64 {
        xs.iter()
            .zip(ys)
            .map(|(x, &y)| f64::from(self.predict(x) - y).powi(2))
            .sum::<f64>()
            / xs.len().max(1) as f64
    }

    /// Gradients of the batch's mean squared error.
    pub fn gradients(&self, xs: &[&[f32]], ys: &[f32]) -> (Vec<Vec<f32>>, Vec<Vec<f32>>) {
        let layers = self.w.len();
        let mut gw: Vec<Vec<f32>> = self.w.iter().map(|l| vec![0.0; l.len()]).collect();
        let mut gb: Vec<Vec<f32>> = self.b.iter().map(|l| vec![0.0; l.len()]).collect();
        let scale = 1.0 / xs.len() as f32;
        for (x, &y) in xs.iter().zip(ys) {
            let acts = self.forward(x);
            let out = acts[layers][0];
            // d(mean (yhat - y)^2)/dz through the sigmoid.
            let mut delta = vec![2.0 * (out - y) * out * (1.0 - out) * scale];
            for l in (0..layers).rev() {
                let fi = self.sizes[l];
                let a = &acts[l];
                let mut prev = vec![0.0f32; fi];
                for (o, &d) in delta.iter().enumerate() {
                    if d == 0.0 {
                        continue;
                    }
                    gb[l][o] += d;
                    let row = &self.w[l][o * fi..(o + 1) * fi];
                    let grow = &mut gw[l][o * fi..(o + 1) * fi];
                    for i in 0..fi {
                        grow[i] += d * a[i];
                        prev[i] += d * row[i];
                    }
                }
                if l > 0 {
                    // ReLU derivative on the hidden layer below.
                    for (p, &ai) in prev.iter_mut().zip(a) {
                        if ai <= 0.0 {
                            *p = 0.0;
                        }
                    }
                }
                delta = prev;
            }
        }
        (gw, gb)
    }

    fn adam_step(&mut self, gw: &[Vec<f32>], gb: &[Vec<f32>], lr: f32) {
        // Keras Adam defaults: beta1 0.9, beta2 0.999, epsilon 1e-7.
        let (b1, b2, eps) = (0.9f32, 0.999f32, 1e-7f32);
        self.t += 1;
        let c1 = 1.0 - b1.powi(self.t);
        let c2 = 1.0 - b2.powi(self.t);
        let step = |p: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]| {
            for k in 0..p.len() {
                m[k] = b1 * m[k] + (1.0 - b1) * g[k];
                v[k] = b2 * v[k] + (1.0 - b2) * g[k] * g[k];
                p[k] -= lr * (m[k] / c1) / ((v[k] / c2).sqrt() + eps);
            }
        };
        for l in 0..self.w.len() {
            step(&mut self.w[l], &mut self.mw[l], &mut self.vw[l], &gw[l]);
            step(&mut self.b[l], &mut self.mb[l], &mut self.vb[l], &gb[l]);
        }
    }

    /// Minibatch Adam for `cfg.epochs` epochs, shuffling every epoch; the
    /// optimiser state carries over between calls (Keras `fit` on a kept model).
    pub fn train(&mut self, xs: &[Vec<f32>], ys: &[f32], cfg: &TrainConfig, rng: &mut Stream) {
        let n = xs.len();
        if n == 0 {
            return;
        }
        let mut order: Vec<usize> = (0..n).collect();
        for _ in 0..cfg.epochs {
            for k in (1..n).rev() {
                order.swap(k, rng.below(k + 1));
            }
            for chunk in order.chunks(cfg.batch.max(1)) {
                let bx: Vec<&[f32]> = chunk.iter().map(|&i| xs[i].as_slice()).collect();
                let by: Vec<f32> = chunk.iter().map(|&i| ys[i]).collect();
                let (gw, gb) = self.gradients(&bx, &by);
                self.adam_step(&gw, &gb, cfg.lr);
            }
        }
    }

    /// Mutable access to one weight (for gradient checks).
    #[doc(hidden)]
    pub fn weight_mut(&mut self, layer: usize, k: usize) -> &mut f32 {
        &mut self.w[layer][k]
    }

    #[doc(hidden)]
    pub fn bias_mut(&mut self, layer: usize, k: usize) -> &mut f32 {
        &mut self.b[layer][k]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gradients_match_finite_differences() {
        let mut rng = Stream::root("gc");
        let mut net = Mlp::new(4, &[6, 5], &mut rng);
        // Larger first-layer weights so no ReLU sits within h of its kink.
        for k in 0..24 {
            *net.weight_mut(0, k) *= 20.0;
        }
        let xs: Vec<Vec<f32>> = (0..5)
            .map(|_| (0..4).map(|_| rng.uniform() as f32).collect())
            .collect();
        let ys: Vec<f32> = (0..5).map(|_| rng.uniform() as f32).collect();
        let bx: Vec<&[f32]> = xs.iter().map(|x| x.as_slice()).collect();
        let (gw, gb) = net.gradients(&bx, &ys);
        let h = 1e-3f32;
        let mut checked = 0;
        for l in 0..3 {
            for k in 0..gw[l].len().min(8) {
                let orig = *net.weight_mut(l, k);
                *net.weight_mut(l, k) = orig + h;
                let up = net.mse(&xs, &ys);
                *net.weight_mut(l, k) = orig - h;
                let dn = net.mse(&xs, &ys);
                *net.weight_mut(l, k) = orig;
                let fd = (up - dn) / (2.0 * f64::from(h));
                let an = f64::from(gw[l][k]);
                assert!(
                    (fd - an).abs() <= 1e-3 + 0.05 * an.abs(),
                    "layer {l} weight {k}: fd {fd} analytic {an}"
                );
                checked += 1;
            }
            let orig = *net.bias_mut(l, 0);
            *net.bias_mut(l, 0) = orig + h;
            let up = net.mse(&xs, &ys);
            *net.bias_mut(l, 0) = orig - h;
            let dn = net.mse(&xs, &ys);
            *net.bias_mut(l, 0) = orig;
            let fd = (up - dn) / (2.0 * f64::from(h));
            let an = f64::from(gb[l][0]);
            assert!(
                (fd - an).abs() <= 1e-3 + 0.05 * fd.abs(),
                "layer {l} bias: fd {fd} analytic {an}"
            );
        }
        assert!(checked > 10);
    }

    #[test]
    fn fits_a_known_function() {
        let mut rng = Stream::root("fit");
        let xs: Vec<Vec<f32>> = (0..400)
            .map(|_| (0..3).map(|_| rng.uniform() as f32).collect())
            .collect();
        let f = |x: &[f32]| 0.2 + 0.5 * x[0] * x[1] + 0.2 * (x[2] - 0.5).abs();
        let ys: Vec<f32> = xs.iter().map(|x| f(x)).collect();
        let mut net = Mlp::new(3, &[32, 32], &mut rng);
        let before = net.mse(&xs, &ys);
        let cfg = TrainConfig {
            lr: 3e-3,
            batch: 32,
            epochs: 300,
        };
        net.train(&xs, &ys, &cfg, &mut rng);
        let after = net.mse(&xs, &ys);
        assert!(after < 2e-4, "mse {before} -> {after}");
        let x = [0.9f32, 0.8, 0.1];
        assert!((net.predict(&x) - f(&x)).abs() < 0.03);
    }
}
