//! The authors' latent: an untrained, randomly initialised 3-D CNN over a
//! rollout's frames (`latent_space/model_cnn.py`, `CNNModel` with
//! `is_2d = False`), written out in Rust so that the default build needs no
//! libtorch (the network is three small convolutions; a direct loop is exact
//! and fast enough, see [`Encoder::encode_batch`]).
//!
//! - Input: the frames of one rollout, `frames` of `height x width x 3` bytes
//!   (`80 x 60` first-person renders, every 20th step, 11 for MazeS3), read as
//!   the code's `view(B, T, 60, 80, 3).permute(0, 4, 2, 3, 1)`: channels =
//!   colour, depth = image rows, height = image columns, width = time.
//! - Normalisation: the mean over the *batch* (all rollouts encoded together)
//!   is subtracted, then the absolute value is taken (`x - x.mean(dim=0)`,
//!   `x.abs()`), on raw 0-255 values as the code does.
//! - Three `Conv3d(k=3, padding=1)` layers with 6 output channels, each
//!   followed by `MaxPool3d(k=3, stride=2, padding=1)`; no activation.
//!   Flattened in PyTorch's (channel, depth, height, width) order: 960
//!   features for 60 x 80 x 11.
//! - Weights and biases drawn as PyTorch's default initialisation draws them,
//!   `U(-1/sqrt(fan_in), 1/sqrt(fan_in))` with `fan_in = 27 c_in`, from a
//!   [`Stream`] (a fresh encoder per plan, as the code makes a new
//!   `LatentConverterCNN` in every `plan` call).
//!
//! Arithmetic is `f32` as in the code; summation order differs from
//! PyTorch's, so features agree to rounding, not bit for bit.

use rayon::prelude::*;
use searchkit::rng::Stream;

/// Channels of every convolution (`channels = 6` in the code).
pub const CHANNELS: usize = 6;

/// The shape of one rollout's frames.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameShape {
    /// Frames per rollout (time).
    pub frames: usize,
    /// Image rows (60).
    pub height: usize,
    /// Image columns (80).
    pub width: usize,
}

impl FrameShape {
    /// MiniWorld's 80 x 60 renders, every 20th of 216 steps: 11 frames.
    pub const MAZE_S3: FrameShape = FrameShape {
        frames: 11,
        height: 60,
        width: 80,
    };

    /// Bytes of one rollout (`frames x height x width x 3`).
    pub fn bytes(&self) -> usize {
        self.frames * self.height * self.width * 3
    }

    /// Length of the encoding (`6 x pooled^3 sizes`).
    pub fn latent_dim(&self) -> usize {
        let p = |n: usize| pooled(pooled(pooled(n)));
        CHANNELS * p(self.height) * p(self.width) * p(self.frames)
    }
}

/// Output length of `MaxPool(k=3, stride=2, padding=1)`.
fn pooled(n: usize) -> usize {
    (n + 2 - 3) / 2 + 1
}

/// A volume `[c][t][d][h]`: channel, time, image row, image column
/// (columns innermost, so the convolution's inner loop is a long row).
#[derive(Clone, Debug)]
struct Volume {
    c: usize,
    t: usize,
    d: usize,
    h: usize,
    v: Vec<f32>,
}

impl Volume {
    fn zeros(c: usize, t: usize, d: usize, h: usize) -> Self {
        Self {
            c,
            t,
            d,
            h,
            v: vec![0.0; c * t * d * h],
        }
    }
    fn at(&self, c: usize, t: usize, d: usize) -> usize {
        ((c * self.t + t) * self.d + d) * self.h
    }
}

/// One `Conv3d(c_in, 6, k=3, padding=1)`.
#[derive(Clone, Debug)]
struct Conv {
    c_in: usize,
    /// `[out][in][kd][kh][kw]` as PyTorch stores them (kd: rows, kh:
    /// columns, kw: time).
    weight: Vec<f32>,
    bias: Vec<f32>,
}

impl Conv {
    fn random(c_in: usize, rng: &mut Stream) -> Self {
        let bound = 1.0 / ((c_in * 27) as f64).sqrt();
        let mut draw = || ((2.0 * rng.uniform() - 1.0) * bound) as f32;
        let weight = (0..CHANNELS * c_in * 27).map(|_| draw()).collect();
        let bias = (0..CHANNELS).map(|_| draw()).collect();
        Self { c_in, weight, bias }
    }

    /// One output row `(t, d)` at a time for all channels, accumulated in
    /// a small buffer that stays in L1 (the volume is swept once, not once
    /// per tap).
    fn forward(&self, x: &Volume) -> Volume {
        debug_assert_eq!(x.c, self.c_in);
        let mut y = Volume::zeros(CHANNELS, x.t, x.d, x.h);
        let h = x.h;
        let mut acc = vec![0.0f32; CHANNELS * h];
        for t in 0..x.t {
            for d in 0..x.d {
                for o in 0..CHANNELS {
                    acc[o * h..(o + 1) * h].fill(self.bias[o]);
                }
                for c in 0..self.c_in {
                    for kw in 0..3 {
                        let Some(ti) = (t + kw).checked_sub(1).filter(|&v| v < x.t) else {
                            continue;
                        };
                        for kd in 0..3 {
                            let Some(di) = (d + kd).checked_sub(1).filter(|&v| v < x.d) else {
                                continue;
                            };
                            let at = x.at(c, ti, di);
                            let row = &x.v[at..at + h];
                            for kh in 0..3 {
                                // Output column j reads input column j + kh - 1.
                                let (j0, j1) = match kh {
                                    0 => (1, h),
                                    1 => (0, h),
                                    _ => (0, h - 1),
                                };
                                let inp = &row[j0 + kh - 1..j1 + kh - 1];
                                for o in 0..CHANNELS {
                                    let w = self.weight
                                        [(((o * self.c_in + c) * 3 + kd) * 3 + kh) * 3 + kw];
                                    let out = &mut acc[o * h + j0..o * h + j1];
                                    for (a, b) in out.iter_mut().zip(inp) {
                                        *a += w * b;
                                    }
                                }
                            }
                        }
                    }
                }
                for o in 0..CHANNELS {
                    let at = y.at(o, t, d);
                    y.v[at..at + h].copy_from_slice(&acc[o * h..(o + 1) * h]);
                }
            }
        }
        y
    }
}

/// `MaxPool3d(k=3, stride=2, padding=1)` (padding never wins: it is -inf).
fn max_pool(x: &Volume) -> Volume {
    let (t2, d2, h2) = (pooled(x.t), pooled(x.d), pooled(x.h));
    let mut y = Volume::zeros(x.c, t2, d2, h2);
    let window = |o: usize, n: usize| (2 * o).saturating_sub(1)..(2 * o + 2).min(n);
    for c in 0..x.c {
        for t in 0..t2 {
            for d in 0..d2 {
                for j in 0..h2 {
                    let mut m = f32::NEG_INFINITY;
                    for ti in window(t, x.t) {
                        for di in window(d, x.d) {
                            let row = x.at(c, ti, di);
                            for hi in window(j, x.h) {
                                m = m.max(x.v[row + hi]);
                            }
                        }
                    }
                    let at = y.at(c, t, d) + j;
                    y.v[at] = m;
                }
            }
        }
    }
    y
}

/// The random 3-D CNN encoder (see the module docs).
#[derive(Clone, Debug)]
pub struct Encoder {
    shape: FrameShape,
    convs: [Conv; 3],
}

impl Encoder {
    /// A fresh encoder for rollouts of `shape`, weights from `rng`.
    pub fn random(shape: FrameShape, rng: &mut Stream) -> Self {
        let convs = [
            Conv::random(3, rng),
            Conv::random(CHANNELS, rng),
            Conv::random(CHANNELS, rng),
        ];
        Self { shape, convs }
    }

    pub fn shape(&self) -> FrameShape {
        self.shape
    }

    /// Encode a batch of rollouts (each `shape.bytes()` long, frames
    /// `t x rows x columns x rgb`), normalised by the batch's mean; one
    /// `latent_dim` vector per rollout. Rollouts are encoded in parallel
    /// (each independently, so the result does not depend on the thread
    /// count).
    ///
    /// # Panics
    /// If a rollout has the wrong length.
    pub fn encode_batch(&self, batch: &[&[u8]]) -> Vec<Vec<f64>> {
        let s = self.shape;
        let len = s.bytes();
        assert!(
            batch.iter().all(|b| b.len() == len),
            "every rollout needs {len} bytes of frames"
        );
        if batch.is_empty() {
            return Vec::new();
        }
        let mut mean = vec![0.0f64; len];
        for b in batch {
            for (m, &v) in mean.iter_mut().zip(b.iter()) {
                *m += f64::from(v);
            }
        }
        let mean: Vec<f32> = mean
            .iter()
            .map(|m| (m / batch.len() as f64) as f32)
            .collect();
        batch
            .par_iter()
            .map(|b| self.encode_one(b, &mean))
            .collect()
    }

    fn encode_one(&self, frames: &[u8], mean: &[f32]) -> Vec<f64> {
        let s = self.shape;
        // Byte (t, row, col, colour) -> volume [colour][t][row][col].
        let mut x = Volume::zeros(3, s.frames, s.height, s.width);
        for t in 0..s.frames {
            for r in 0..s.height {
                for col in 0..s.width {
                    let src = ((t * s.height + r) * s.width + col) * 3;
                    for c in 0..3 {
                        let at = x.at(c, t, r) + col;
                        x.v[at] = (f32::from(frames[src + c]) - mean[src + c]).abs();
                    }
                }
            }
        }
        let mut y = x;
        for conv in &self.convs {
            y = max_pool(&conv.forward(&y));
        }
        // PyTorch's flatten order: channel, rows, columns, time.
        let mut out = Vec::with_capacity(y.v.len());
        for c in 0..y.c {
            for d in 0..y.d {
                for h in 0..y.h {
                    for t in 0..y.t {
                        out.push(f64::from(y.v[y.at(c, t, d) + h]));
                    }
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A direct (slow, obviously correct) Conv3d + pool on the volume, to
    /// check the row-wise loops.
    fn reference_conv(conv: &Conv, x: &Volume) -> Volume {
        let mut y = Volume::zeros(CHANNELS, x.t, x.d, x.h);
        for o in 0..CHANNELS {
            for t in 0..x.t {
                for d in 0..x.d {
                    for j in 0..x.h {
                        let mut acc = conv.bias[o];
                        for c in 0..conv.c_in {
                            for kd in 0..3 {
                                for kh in 0..3 {
                                    for kw in 0..3 {
                                        let (ti, di, hi) = (
                                            t as isize + kw as isize - 1,
                                            d as isize + kd as isize - 1,
                                            j as isize + kh as isize - 1,
                                        );
                                        if ti < 0
                                            || di < 0
                                            || hi < 0
                                            || ti >= x.t as isize
                                            || di >= x.d as isize
                                            || hi >= x.h as isize
                                        {
                                            continue;
                                        }
                                        let w = conv.weight
                                            [(((o * conv.c_in + c) * 3 + kd) * 3 + kh) * 3 + kw];
                                        acc += w * x.v
                                            [x.at(c, ti as usize, di as usize) + hi as usize];
                                    }
                                }
                            }
                        }
                        let at = y.at(o, t, d) + j;
                        y.v[at] = acc;
                    }
                }
            }
        }
        y
    }

    #[test]
    fn convolution_matches_the_direct_sum() {
        let mut rng = Stream::root("conv");
        let conv = Conv::random(3, &mut rng);
        let mut x = Volume::zeros(3, 4, 5, 7);
        for v in &mut x.v {
            *v = rng.uniform() as f32 * 10.0;
        }
        let (a, b) = (conv.forward(&x), reference_conv(&conv, &x));
        for (p, q) in a.v.iter().zip(&b.v) {
            assert!((p - q).abs() <= 1e-4 * q.abs().max(1.0), "{p} vs {q}");
        }
    }

    #[test]
    fn pooling_takes_window_maxima() {
        let mut x = Volume::zeros(1, 3, 4, 5);
        for (i, v) in x.v.iter_mut().enumerate() {
            *v = ((i * 37) % 23) as f32;
        }
        let y = max_pool(&x);
        assert_eq!((y.t, y.d, y.h), (2, 2, 3));
        // Output (t=1, d=1, h=2) covers t 1..3, d 1..4, h 3..5.
        let mut m = f32::NEG_INFINITY;
        for t in 1..3 {
            for d in 1..4 {
                for h in 3..5 {
                    m = m.max(x.v[x.at(0, t, d) + h]);
                }
            }
        }
        assert_eq!(y.v[y.at(0, 1, 1) + 2], m);
    }

    #[test]
    fn maze_latent_has_960_features_and_depends_on_the_batch() {
        let s = FrameShape::MAZE_S3;
        assert_eq!(s.latent_dim(), 960);
        let enc = Encoder::random(s, &mut Stream::root("enc"));
        let a: Vec<u8> = (0..s.bytes()).map(|i| (i % 251) as u8).collect();
        let b: Vec<u8> = (0..s.bytes()).map(|i| (i % 13) as u8).collect();
        let z = vec![0u8; s.bytes()];
        let two = enc.encode_batch(&[&a, &b]);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].len(), 960);
        assert!(two[0].iter().all(|v| v.is_finite()));
        let three = enc.encode_batch(&[&a, &b, &z]);
        assert_ne!(two[0], three[0], "the batch mean changes every encoding");
        // Same stream, same encoder.
        let again = Encoder::random(s, &mut Stream::root("enc"));
        assert_eq!(again.encode_batch(&[&a, &b]), two);
    }
}
