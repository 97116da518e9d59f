//! An LSTM classifier over clips with a pluggable input-to-hidden map, and
//! its training loop (the authors' Keras setup: Adam with inverse-time
//! decay, input and recurrent dropout, an L2-penalised softmax layer on the
//! last hidden state).
//!
//! Every random draw (initial weights, shuffling, dropout masks) comes from
//! a [`Stream`], never from torch's global generator, so a run's result does
//! not depend on which other runs share the process. On CPU with one
//! intra-op thread (`tch::set_num_threads(1)`) a run is bit-for-bit
//! reproducible.

use crate::data::Clips;
use crate::layers::{param, InputMap};
use crate::shapes::{lstm_layer_params, MapKind, Modes};
use searchkit::rng::Stream;
use tch::{nn, nn::OptimizerConfig, Device, Kind, Tensor};

/// Gate activation of the LSTM (`i`, `f`, `o`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GateActivation {
    /// Keras' `hard_sigmoid`: `clip(0.2 x + 0.5, 0, 1)` (the Keras 2 LSTM default).
    HardSigmoid,
    Sigmoid,
}

impl GateActivation {
    pub const CHOICES: &'static [&'static str] = &["hard_sigmoid", "sigmoid"];
    pub fn parse(s: &str) -> Result<Self, String> {
        match s {
            "hard_sigmoid" => Ok(Self::HardSigmoid),
            "sigmoid" => Ok(Self::Sigmoid),
            _ => Err(format!(
                "unknown gate activation `{s}`; valid choices: {}",
                Self::CHOICES.join(", ")
            )),
        }
    }
    fn apply(self, x: &Tensor) -> Tensor {
        match self {
            Self::HardSigmoid => (x * 0.2 + 0.5).clamp(0.0, 1.0),
            Self::Sigmoid => x.sigmoid(),
        }
    }
}

/// An LSTM layer (input map of any kind, dense recurrent matrix) and a
/// softmax classifier on its last hidden state.
#[derive(Debug)]
pub struct LstmClassifier {
    pub map: InputMap,
    /// `H x 4H`, gates in Keras order (input, forget, cell, output).
    w_hh: Tensor,
    bias: Tensor,
    w_out: Tensor,
    b_out: Tensor,
    pub gate: GateActivation,
    pub classes: usize,
}

impl LstmClassifier {
    /// Builds the model under `vs` (on the var store's device). `std`: the
    /// truncated-normal scale of the input map (the authors': LSTM 0.1,
    /// TT 0.08 (5 - r_1), BT 0.05 (5 - R)); the recurrent matrix is
    /// orthogonal, the classifier Glorot-uniform, biases zero except the
    /// forget gate's (one, Keras' `unit_forget_bias`).
    pub fn new(
        vs: &nn::VarStore,
        modes: Modes,
        kind: MapKind,
        std: f64,
        classes: usize,
        gate: GateActivation,
        rng: &Stream,
    ) -> Result<Self, String> {
        if modes.gates != 4 {
            return Err("an LSTM needs the 4 gates folded into its map".into());
        }
        let root = vs.root();
        let map = InputMap::new(&(&root / "map"), modes, kind, std, rng)?;
        let h = map.modes.hidden_size();
        // Orthogonal recurrent matrix: Q of a Gaussian (4H x H) matrix, sign-fixed.
        let mut r = rng.child("recurrent");
        let g: Vec<f32> = (0..4 * h * h).map(|_| r.normal() as f32).collect();
        let g = Tensor::from_slice(&g).view([4 * h as i64, h as i64]);
        let (q, rr) = Tensor::linalg_qr(&g, "reduced");
        let q = q * rr.diagonal(0, 0, 1).sign().unsqueeze(0);
        let q: Vec<f32> = Vec::<f32>::try_from(&q.transpose(0, 1).contiguous().view([-1]))
            .map_err(|e| e.to_string())?;
        let w_hh = param(&root, "w_hh", &[h, 4 * h], &q);
        let mut b = vec![0f32; 4 * h];
        b[h..2 * h].iter_mut().for_each(|v| *v = 1.0);
        let bias = param(&root, "bias", &[4 * h], &b);
        let limit = (6.0 / (h + classes) as f64).sqrt();
        let mut r = rng.child("classifier");
        let w: Vec<f32> = (0..h * classes)
            .map(|_| ((2.0 * r.uniform() - 1.0) * limit) as f32)
            .collect();
        let w_out = param(&root, "w_out", &[h, classes], &w);
        let b_out = param(&root, "b_out", &[classes], &vec![0f32; classes]);
        Ok(Self {
            map,
            w_hh,
            bias,
            w_out,
            b_out,
            gate,
            classes,
        })
    }

    /// Parameters of the LSTM layer (map, recurrent matrix, bias).
    pub fn lstm_params(&self) -> usize {
        lstm_layer_params(&self.map.modes, &self.map.kind)
    }

    /// `x`: `(batch, frames, prod I)`; `masks`: input dropout mask
    /// `(batch, prod I)` and recurrent mask `(batch, H)`, both already
    /// scaled by `1 / (1 - p)` (one mask per clip for all frames, as Keras).
    /// Returns the logits `(batch, classes)`.
    pub fn forward(&self, x: &Tensor, masks: Option<(&Tensor, &Tensor)>) -> Tensor {
        let s = x.size();
        let (b, t, n) = (s[0], s[1], s[2]);
        let h = self.map.modes.hidden_size() as i64;
        let x = match masks {
            Some((m, _)) => x * m.unsqueeze(1),
            None => x.shallow_clone(),
        };
        // The input map has no recurrence: all frames at once.
        let xw = self.map.forward(&x.reshape([b * t, n])).view([b, t, 4 * h]);
        let mut hs = Tensor::zeros([b, h], (Kind::Float, x.device()));
        let mut cs = Tensor::zeros([b, h], (Kind::Float, x.device()));
        for step in 0..t {
            let hin = match masks {
                Some((_, m)) => &hs * m,
                None => hs.shallow_clone(),
            };
            let z = xw.select(1, step) + hin.matmul(&self.w_hh) + &self.bias;
            let g = z.chunk(4, 1);
            let i = self.gate.apply(&g[0]);
            let f = self.gate.apply(&g[1]);
            let c = g[2].tanh();
            let o = self.gate.apply(&g[3]);
            cs = f * &cs + i * c;
            hs = o * cs.tanh();
        }
        hs.matmul(&self.w_out) + &self.b_out
    }

    /// The L2 penalty of the classifier's kernel (Keras `l2(alpha)`).
    pub fn l2(&self, alpha: f64) -> Tensor {
        self.w_out.square().sum(Kind::Float) * alpha
    }
}

/// Training settings (the authors' `experiment_UCF11.py`, scaled to the task
/// by the config).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    /// Adam's initial learning rate.
    pub lr: f64,
    /// Keras' inverse-time decay: `lr / (1 + decay * step)`.
    pub decay: f64,
    /// L2 weight of the classifier's kernel.
    pub l2: f64,
    pub dropout: f64,
    pub recurrent_dropout: f64,
    pub device: Device,
}

/// One epoch's numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    pub epoch: usize,
    /// Mean training loss over the epoch's batches (with dropout, with L2).
    pub train_loss: f64,
    pub train_acc: f64,
    pub test_loss: f64,
    pub test_acc: f64,
}

fn batch_tensor(clips: &Clips, idx: &[usize], device: Device) -> (Tensor, Tensor) {
    let mut buf = Vec::with_capacity(idx.len() * clips.clip_size());
    for &i in idx {
        clips.clip_f32(i, &mut buf);
    }
    let x = Tensor::from_slice(&buf)
        .view([
            idx.len() as i64,
            clips.frames as i64,
            clips.frame_size as i64,
        ])
        .to_device(device);
    let y: Vec<i64> = idx.iter().map(|&i| clips.labels[i]).collect();
    (x, Tensor::from_slice(&y).to_device(device))
}

fn dropout_mask(rng: &mut Stream, rows: usize, cols: usize, p: f64, device: Device) -> Tensor {
    let keep = (1.0 / (1.0 - p)) as f32;
    let m: Vec<f32> = (0..rows * cols)
        .map(|_| if rng.uniform() < p { 0.0 } else { keep })
        .collect();
    Tensor::from_slice(&m)
        .view([rows as i64, cols as i64])
        .to_device(device)
}

/// Loss and accuracy (%) on `clips`, without dropout.
pub fn evaluate(model: &LstmClassifier, clips: &Clips, device: Device) -> (f64, f64) {
    tch::no_grad(|| {
        let (mut loss, mut correct) = (0.0, 0i64);
        let idx: Vec<usize> = (0..clips.len()).collect();
        for chunk in idx.chunks(250) {
            let (x, y) = batch_tensor(clips, chunk, device);
            let logits = model.forward(&x, None);
            loss += logits.cross_entropy_for_logits(&y).double_value(&[]) * chunk.len() as f64;
            correct += logits
                .argmax(1, false)
                .eq_tensor(&y)
                .sum(Kind::Int64)
                .int64_value(&[]);
        }
        let n = clips.len().max(1) as f64;
        (loss / n, 100.0 * correct as f64 / n)
    })
}

/// Trains `model` on `train`, evaluating on `test` after every epoch; `rng`
/// drives shuffling and dropout.
pub fn train(
    vs: &nn::VarStore,
    model: &LstmClassifier,
    train: &Clips,
    test: &Clips,
    cfg: &TrainConfig,
    rng: &Stream,
    mut on_epoch: impl FnMut(&EpochStats),
) -> Result<Vec<EpochStats>, String> {
    if cfg.batch_size == 0 || train.is_empty() {
        return Err("batch size and training set must be non-empty".into());
    }
    let mut opt = nn::Adam::default()
        .build(vs, cfg.lr)
        .map_err(|e| e.to_string())?;
    let n_in = model.map.modes.input_size();
    if train.frame_size != n_in || test.frame_size != n_in {
        return Err(format!(
            "frames hold {} values but the model's input modes multiply to {n_in}",
            train.frame_size
        ));
    }
    let h = model.map.modes.hidden_size();
    let mut step = 0usize;
    let mut stats = Vec::with_capacity(cfg.epochs);
    for epoch in 1..=cfg.epochs {
        let mut r = rng.child_n("epoch", epoch as u64);
        let mut order: Vec<usize> = (0..train.len()).collect();
        for i in (1..order.len()).rev() {
            order.swap(i, r.below(i + 1));
        }
        let (mut loss_sum, mut correct, mut seen) = (0.0, 0i64, 0usize);
        for chunk in order.chunks(cfg.batch_size) {
            let (x, y) = batch_tensor(train, chunk, cfg.device);
            let masks = if cfg.dropout > 0.0 || cfg.recurrent_dropout > 0.0 {
                Some((
                    dropout_mask(&mut r, chunk.len(), n_in, cfg.dropout, cfg.device),
                    dropout_mask(&mut r, chunk.len(), h, cfg.recurrent_dropout, cfg.device),
                ))
            } else {
                None
            };
            let logits = model.forward(&x, masks.as_ref().map(|(a, b)| (a, b)));
            let loss = logits.cross_entropy_for_logits(&y) + model.l2(cfg.l2);
            opt.set_lr(cfg.lr / (1.0 + cfg.decay * step as f64));
            opt.backward_step(&loss);
            step += 1;
            loss_sum += loss.double_value(&[]) * chunk.len() as f64;
            correct += logits
                .argmax(1, false)
                .eq_tensor(&y)
                .sum(Kind::Int64)
                .int64_value(&[]);
            seen += chunk.len();
        }
        let (test_loss, test_acc) = evaluate(model, test, cfg.device);
        let s = EpochStats {
            epoch,
            train_loss: loss_sum / seen as f64,
            train_acc: 100.0 * correct as f64 / seen as f64,
            test_loss,
            test_acc,
        };
        on_epoch(&s);
        stats.push(s);
    }
    Ok(stats)
}
