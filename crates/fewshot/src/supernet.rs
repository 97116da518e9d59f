//! The NAS-Bench-201 network with weight sharing, on tch (feature `torch`).
//!
//! One [`Supernet`] holds the weights of every operation on every edge of
//! every searched cell; an architecture is a path through it. The same type
//! serves three uses:
//!
//! - a standalone network: [`train`] with [`Sampler::Fixed`] (only the cell's
//!   operations receive gradients, the rest stay unused);
//! - the one-shot supernet: [`Sampler::Uniform`] with no fixed edge, each
//!   searched cell drawing its own cell per forward pass (uniform single-path
//!   sampling, as the authors' `UniformRandomSupernet`);
//! - a few-shot sub-supernet: [`Sampler::Uniform`] with edge 1<-0 fixed to one
//!   operation, started from a copy of the one-shot weights ([`Supernet::fork`]);
//! - DARTS's continuous relaxation ([`Supernet::forward_mixed`], searched by
//!   [`darts`]): every edge the softmax(alpha)-weighted sum of its operations,
//!   edge 1<-0 optionally fixed (a sub-supernet).
//!
//! The macro structure is NAS-Bench-201's: a 3x3 stem conv + BN, three stages
//! of `cells_per_stage` searched cells at `C`, `2C`, `4C` channels separated by
//! ResNet basic blocks of stride 2, then BN + ReLU, global pooling and a
//! linear classifier. Operations: none, skip, ReLU-conv1x1-BN, ReLU-conv3x3-BN,
//! 3x3 average pooling (padding excluded from the count); the searched cells'
//! BNs are not affine (the authors' supernet), the stem's, the reduction
//! blocks' and the last BN are. Every BN normalises with the batch's own
//! statistics, in training and evaluation alike (the authors'
//! `track_running_stats = 0` option), so an estimate depends on no running
//! averages that other paths wrote; evaluation therefore uses fixed batches.
//!
//! Every random draw (initial weights, shuffling, the sampled paths) comes
//! from a [`Stream`]; on CPU with one intra-op thread a run is bit-for-bit
//! reproducible.

use searchkit::nasbench::nb201::{Cell, EDGES, NUM_EDGES, OPS};
use searchkit::rng::Stream;
use tch::nn::OptimizerConfig;
use tch::{nn, Device, Kind, Tensor};

/// The network's macro shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shape {
    /// `C`: channels of the first stage (NAS-Bench-201: 16).
    pub channels: usize,
    /// `N`: searched cells per stage (NAS-Bench-201: 5).
    pub cells_per_stage: usize,
    pub in_channels: usize,
    pub classes: usize,
}

impl Shape {
    /// NAS-Bench-201's shape (C = 16, N = 5) for `in_channels`-channel images.
    pub fn nb201(in_channels: usize, classes: usize) -> Self {
        Self {
            channels: 16,
            cells_per_stage: 5,
            in_channels,
            classes,
        }
    }

    /// Number of searched cells (3 stages).
    pub fn searched_cells(&self) -> usize {
        3 * self.cells_per_stage
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.channels == 0 || self.cells_per_stage == 0 || self.in_channels == 0 {
            return Err("channels, cells_per_stage and in_channels must be at least 1".into());
        }
        if self.classes < 2 {
            return Err("a classifier needs at least 2 classes".into());
        }
        Ok(())
    }
}

/// Weights of one searched edge: the two convolutions (the other operations
/// have no parameters).
#[derive(Debug)]
struct EdgeWeights {
    conv1: Tensor,
    conv3: Tensor,
}

#[derive(Debug)]
enum Block {
    Searched(Vec<EdgeWeights>),
    /// ResNet basic block, stride 2: ReLU-conv3x3(s2)-BN, ReLU-conv3x3-BN, and a
    /// 2x2 average pool + conv1x1 shortcut.
    Reduction {
        conv_a: Tensor,
        bn_a: (Tensor, Tensor),
        conv_b: Tensor,
        bn_b: (Tensor, Tensor),
        shortcut: Tensor,
    },
}

/// The weight-sharing network (see the module docs).
#[derive(Debug)]
pub struct Supernet {
    pub vs: nn::VarStore,
    pub shape: Shape,
    stem: Tensor,
    stem_bn: (Tensor, Tensor),
    blocks: Vec<Block>,
    last_bn: (Tensor, Tensor),
    w_out: Tensor,
    b_out: Tensor,
}

/// PyTorch's default initialisation of a conv / linear weight (Kaiming
/// uniform with a = sqrt(5), i.e. bound 1 / sqrt(fan_in)), drawn from `rng`.
fn uniform_param(root: &nn::Path, name: &str, dims: &[i64], fan_in: i64, rng: &Stream) -> Tensor {
    let bound = 1.0 / (fan_in as f64).sqrt();
    let mut r = rng.child(name);
    let n: i64 = dims.iter().product();
    let v: Vec<f32> = (0..n)
        .map(|_| ((2.0 * r.uniform() - 1.0) * bound) as f32)
        .collect();
    root.var_copy(name, &Tensor::from_slice(&v).view(dims))
}

fn affine(root: &nn::Path, name: &str, c: i64) -> (Tensor, Tensor) {
    (
        root.var(&format!("{name}_w"), &[c], nn::Init::Const(1.0)),
        root.var(&format!("{name}_b"), &[c], nn::Init::Const(0.0)),
    )
}

/// Batch normalisation with the batch's statistics (optionally affine).
fn bn(x: &Tensor, affine: Option<&(Tensor, Tensor)>) -> Tensor {
    x.batch_norm(
        affine.map(|a| &a.0),
        affine.map(|a| &a.1),
        None::<&Tensor>,
        None::<&Tensor>,
        true,
        0.1,
        1e-5,
        false,
    )
}

fn relu_conv_bn(
    x: &Tensor,
    w: &Tensor,
    stride: i64,
    pad: i64,
    a: Option<&(Tensor, Tensor)>,
) -> Tensor {
    bn(
        &x.relu()
            .conv2d(w, None::<&Tensor>, [stride, stride], [pad, pad], [1, 1], 1),
        a,
    )
}

impl Supernet {
    /// Builds the network on `device`, every weight drawn from `rng` by name,
    /// so the same seed gives the same weights whatever path is trained.
    pub fn new(shape: Shape, device: Device, rng: &Stream) -> Result<Self, String> {
        shape.validate()?;
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let c = shape.channels as i64;
        let cin = shape.in_channels as i64;
        let stem = uniform_param(&root, "stem", &[c, cin, 3, 3], cin * 9, rng);
        let stem_bn = affine(&root, "stem_bn", c);
        let mut blocks = Vec::new();
        let mut width = c;
        for stage in 0..3 {
            if stage > 0 {
                let (ci, co) = (width, 2 * width);
                let p = format!("reduce{stage}");
                blocks.push(Block::Reduction {
                    conv_a: uniform_param(&root, &format!("{p}_a"), &[co, ci, 3, 3], ci * 9, rng),
                    bn_a: affine(&root, &format!("{p}_bn_a"), co),
                    conv_b: uniform_param(&root, &format!("{p}_b"), &[co, co, 3, 3], co * 9, rng),
                    bn_b: affine(&root, &format!("{p}_bn_b"), co),
                    shortcut: uniform_param(&root, &format!("{p}_short"), &[co, ci, 1, 1], ci, rng),
                });
                width = co;
            }
            for k in 0..shape.cells_per_stage {
                let edges = (0..NUM_EDGES)
                    .map(|e| {
                        let p = format!("s{stage}c{k}e{e}");
                        EdgeWeights {
                            conv1: uniform_param(
                                &root,
                                &format!("{p}_conv1"),
                                &[width, width, 1, 1],
                                width,
                                rng,
                            ),
                            conv3: uniform_param(
                                &root,
                                &format!("{p}_conv3"),
                                &[width, width, 3, 3],
                                width * 9,
                                rng,
                            ),
                        }
                    })
                    .collect();
                blocks.push(Block::Searched(edges));
            }
        }
        let last_bn = affine(&root, "last_bn", width);
        let k = shape.classes as i64;
        let w_out = uniform_param(&root, "classifier_w", &[width, k], width, rng);
        let b_out = uniform_param(&root, "classifier_b", &[k], width, rng);
        Ok(Self {
            vs,
            shape,
            stem,
            stem_bn,
            blocks,
            last_bn,
            w_out,
            b_out,
        })
    }

    /// A copy with the same weights (a sub-supernet's start from the one-shot
    /// weights); `rng` only feeds the throw-away initialisation.
    pub fn fork(&self, rng: &Stream) -> Result<Self, String> {
        let mut copy = Self::new(self.shape, self.vs.device(), rng)?;
        copy.vs.copy(&self.vs).map_err(|e| e.to_string())?;
        Ok(copy)
    }

    /// Number of trainable values (all paths).
    pub fn num_params(&self) -> usize {
        self.vs
            .trainable_variables()
            .iter()
            .map(|t| t.numel())
            .sum()
    }

    fn edge_op(x: &Tensor, op: u8, w: &EdgeWeights) -> Option<Tensor> {
        match OPS[op as usize] {
            "none" => None,
            "skip_connect" => Some(x.shallow_clone()),
            "nor_conv_1x1" => Some(relu_conv_bn(x, &w.conv1, 1, 0, None)),
            "nor_conv_3x3" => Some(relu_conv_bn(x, &w.conv3, 1, 1, None)),
            _ => Some(x.avg_pool2d([3, 3], [1, 1], [1, 1], false, false, None::<i64>)),
        }
    }

    /// The output of edge `e` on `input` (`None`: nothing flows).
    fn edge_forward(input: &Tensor, e: usize, mix: &Mix<'_>, w: &EdgeWeights) -> Option<Tensor> {
        match *mix {
            Mix::Path(cell) => Self::edge_op(input, cell.ops()[e], w),
            Mix::Softmax { weights, edge0 } => match edge0 {
                Some(op) if e == 0 => Self::edge_op(input, op, w),
                // DARTS's mixed operation: the softmax-weighted sum of every
                // op (`none` adds zeros, so it only takes its share of weight).
                _ => (1..OPS.len() as u8)
                    .filter_map(|op| {
                        Self::edge_op(input, op, w)
                            .map(|y| y * weights.get(e as i64).get(op as i64))
                    })
                    .reduce(|a, b| a + b),
            },
        }
    }

    fn cell_forward(x: &Tensor, mix: &Mix<'_>, edges: &[EdgeWeights]) -> Tensor {
        let mut nodes: Vec<Option<Tensor>> = vec![Some(x.shallow_clone())];
        for target in 1..4 {
            let mut sum: Option<Tensor> = None;
            for (e, &(t, s)) in EDGES.iter().enumerate() {
                if t != target {
                    continue;
                }
                let Some(input) = &nodes[s] else { continue };
                if let Some(y) = Self::edge_forward(input, e, mix, &edges[e]) {
                    sum = Some(match sum {
                        Some(acc) => acc + y,
                        None => y,
                    });
                }
            }
            nodes.push(sum);
        }
        // A cell whose output node is cut off outputs zeros (its `none` edges).
        nodes[3].take().unwrap_or_else(|| x.zeros_like())
    }

    /// Logits for `x` (`batch x in_channels x H x W`), searched cell `i`
    /// using `cells[i]` (one entry per searched cell).
    pub fn forward(&self, x: &Tensor, cells: &[Cell]) -> Tensor {
        assert_eq!(
            cells.len(),
            self.shape.searched_cells(),
            "one cell per searched cell"
        );
        let mixes: Vec<Mix<'_>> = cells.iter().map(|&c| Mix::Path(c)).collect();
        self.forward_mixes(x, &mixes)
    }

    /// Logits of DARTS's continuous relaxation: every searched cell mixes
    /// each edge's operations with `weights` (`NUM_EDGES x 5`, rows summing
    /// to 1; shared by all cells, as the authors' `TinyNetworkDarts`); `edge0`
    /// fixes edge 1<-0 to one operation (a few-shot sub-supernet).
    pub fn forward_mixed(&self, x: &Tensor, weights: &Tensor, edge0: Option<u8>) -> Tensor {
        let mix = Mix::Softmax { weights, edge0 };
        let mixes: Vec<Mix<'_>> = (0..self.shape.searched_cells()).map(|_| mix).collect();
        self.forward_mixes(x, &mixes)
    }

    fn forward_mixes(&self, x: &Tensor, mixes: &[Mix<'_>]) -> Tensor {
        let mut h = bn(
            &x.conv2d(&self.stem, None::<&Tensor>, [1, 1], [1, 1], [1, 1], 1),
            Some(&self.stem_bn),
        );
        let mut next = mixes.iter();
        for b in &self.blocks {
            h = match b {
                Block::Searched(edges) => Self::cell_forward(&h, next.next().unwrap(), edges),
                Block::Reduction {
                    conv_a,
                    bn_a,
                    conv_b,
                    bn_b,
                    shortcut,
                } => {
                    let a = relu_conv_bn(&h, conv_a, 2, 1, Some(bn_a));
                    let a = relu_conv_bn(&a, conv_b, 1, 1, Some(bn_b));
                    // ceil mode: an odd side (7 -> 4) pools its last row alone,
                    // as the stride-2 conv does; on even sides it is PyTorch's
                    // AvgPool2d(2, 2).
                    let s = h
                        .avg_pool2d([2, 2], [2, 2], [0, 0], true, false, None::<i64>)
                        .conv2d(shortcut, None::<&Tensor>, [1, 1], [0, 0], [1, 1], 1);
                    a + s
                }
            };
        }
        let h =
            bn(&h, Some(&self.last_bn))
                .relu()
                .mean_dim([2i64, 3].as_slice(), false, Kind::Float);
        h.matmul(&self.w_out) + &self.b_out
    }
}

/// How a searched cell combines its edges' operations.
#[derive(Clone, Copy, Debug)]
enum Mix<'a> {
    /// One operation per edge (an architecture).
    Path(Cell),
    /// DARTS's softmax mixture (see [`Supernet::forward_mixed`]).
    Softmax {
        weights: &'a Tensor,
        edge0: Option<u8>,
    },
}

/// Which path each training step takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sampler {
    /// Always this cell in every searched cell (standalone training).
    Fixed(Cell),
    /// Each searched cell draws its own cell uniformly per step; `edge0`
    /// fixes edge 1<-0 to one operation (a few-shot sub-supernet).
    Uniform { edge0: Option<u8> },
}

impl Sampler {
    fn draw(&self, rng: &mut Stream) -> Cell {
        match *self {
            Self::Fixed(c) => c,
            Self::Uniform { edge0 } => {
                let mut ops = [0u8; NUM_EDGES];
                for o in ops.iter_mut() {
                    *o = rng.below(OPS.len()) as u8;
                }
                if let Some(op) = edge0 {
                    ops[0] = op;
                }
                Cell::new(ops)
            }
        }
    }
}

/// The training recipe: SGD with (Nesterov) momentum, weight decay, the
/// learning rate cosine-annealed per step from `lr` to `lr_min` over all
/// epochs (the authors' `cos` scheduler).
#[derive(Clone, Debug, PartialEq)]
pub struct Recipe {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub lr_min: f64,
    pub momentum: f64,
    pub weight_decay: f64,
    pub nesterov: bool,
}

impl Recipe {
    /// The authors' supernet recipe (`ONE-SHOT-SUPERNET.config`: 600 epochs;
    /// `FEW-SHOT-SUPERNET.config`: 300), with `epochs` given.
    pub fn authors(epochs: usize) -> Self {
        Self {
            epochs,
            batch_size: 48,
            lr: 0.025,
            lr_min: 0.001,
            momentum: 0.9,
            weight_decay: 1e-4,
            nesterov: true,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.batch_size == 0 {
            return Err("batch_size must be at least 1".into());
        }
        if !(self.lr > 0.0 && self.lr_min >= 0.0 && self.lr_min <= self.lr) {
            return Err(format!(
                "need 0 <= lr_min <= lr and lr > 0, got lr {} lr_min {}",
                self.lr, self.lr_min
            ));
        }
        Ok(())
    }

    /// The learning rate at fractional epoch `t`.
    pub fn lr_at(&self, t: f64) -> f64 {
        let frac = if self.epochs == 0 {
            1.0
        } else {
            (t / self.epochs as f64).min(1.0)
        };
        self.lr_min + (self.lr - self.lr_min) * 0.5 * (1.0 + (std::f64::consts::PI * frac).cos())
    }
}

/// Images (`n x channels x H x W`, float) and labels (`n`, int64) on one device.
#[derive(Debug)]
pub struct Data {
    pub x: Tensor,
    pub y: Tensor,
}

impl Data {
    pub fn len(&self) -> usize {
        self.y.size()[0] as usize
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Trains `net` on `data` with `recipe`, each step taking a path from
/// `sampler`; returns the mean training loss of each epoch. `rng` drives
/// shuffling (child `epoch`, n) and paths (child `paths`, n).
pub fn train(
    net: &Supernet,
    data: &Data,
    recipe: &Recipe,
    sampler: Sampler,
    rng: &Stream,
) -> Result<Vec<f64>, String> {
    recipe.validate()?;
    if data.is_empty() {
        return Err("empty training set".into());
    }
    let mut opt = nn::Sgd {
        momentum: recipe.momentum,
        dampening: 0.0,
        wd: recipe.weight_decay,
        nesterov: recipe.nesterov,
    }
    .build(&net.vs, recipe.lr)
    .map_err(|e| e.to_string())?;
    let n = data.len();
    let steps = n.div_ceil(recipe.batch_size);
    let k = net.shape.searched_cells();
    let device = net.vs.device();
    let mut losses = Vec::with_capacity(recipe.epochs);
    for epoch in 0..recipe.epochs {
        let mut order_rng = rng.child_n("epoch", epoch as u64);
        let mut path_rng = rng.child_n("paths", epoch as u64);
        let mut order: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            order.swap(i, order_rng.below(i + 1));
        }
        let mut sum = 0.0;
        for (s, chunk) in order.chunks(recipe.batch_size).enumerate() {
            let idx = Tensor::from_slice(chunk).to_device(device);
            let x = data.x.index_select(0, &idx);
            let y = data.y.index_select(0, &idx);
            let cells: Vec<Cell> = (0..k).map(|_| sampler.draw(&mut path_rng)).collect();
            opt.set_lr(recipe.lr_at(epoch as f64 + s as f64 / steps as f64));
            let loss = net.forward(&x, &cells).cross_entropy_for_logits(&y);
            opt.backward_step(&loss);
            sum += loss.double_value(&[]) * chunk.len() as f64;
        }
        losses.push(sum / n as f64);
    }
    Ok(losses)
}

/// Accuracy (%) of `cell` (in every searched cell) on `data`, in fixed
/// batches of `batch` (BN uses each batch's statistics).
pub fn accuracy(net: &Supernet, data: &Data, cell: Cell, batch: usize) -> f64 {
    let cells = vec![cell; net.shape.searched_cells()];
    let n = data.len();
    if n == 0 {
        return f64::NAN;
    }
    tch::no_grad(|| {
        let mut correct = 0i64;
        let mut start = 0;
        while start < n {
            let len = batch.max(1).min(n - start);
            let x = data.x.narrow(0, start as i64, len as i64);
            let y = data.y.narrow(0, start as i64, len as i64);
            correct += net
                .forward(&x, &cells)
                .argmax(1, false)
                .eq_tensor(&y)
                .sum(Kind::Int64)
                .int64_value(&[]);
            start += len;
        }
        100.0 * correct as f64 / n as f64
    })
}

/// Trains `cell` standalone (weights from `rng`'s child `init`, steps from
/// its child `train`) and returns its accuracy (%) on `test`.
pub fn standalone(
    cell: Cell,
    shape: Shape,
    train_data: &Data,
    test: &Data,
    recipe: &Recipe,
    eval_batch: usize,
    rng: &Stream,
) -> Result<f64, String> {
    let net = Supernet::new(shape, train_data.x.device(), &rng.child("init"))?;
    train(
        &net,
        train_data,
        recipe,
        Sampler::Fixed(cell),
        &rng.child("train"),
    )?;
    Ok(accuracy(&net, test, cell, eval_batch))
}

/// Few-shot NAS's split: one sub-supernet per operation of edge 1<-0, each
/// a copy of `one_shot` ([`Supernet::fork`]) trained with that edge fixed.
/// Sub-supernet `op` uses `rng`'s children (`fork`, op) and (`sub`, op).
pub fn split(
    one_shot: &Supernet,
    data: &Data,
    recipe: &Recipe,
    rng: &Stream,
) -> Result<Vec<Supernet>, String> {
    (0..OPS.len())
        .map(|op| {
            let sub = one_shot.fork(&rng.child_n("fork", op as u64))?;
            train(
                &sub,
                data,
                recipe,
                Sampler::Uniform {
                    edge0: Some(op as u8),
                },
                &rng.child_n("sub", op as u64),
            )?;
            Ok(sub)
        })
        .collect()
}

/// The few-shot estimate of `cell`: its accuracy with the weights of the
/// sub-supernet in charge of its edge 1<-0.
pub fn few_shot_accuracy(subs: &[Supernet], data: &Data, cell: Cell, batch: usize) -> f64 {
    accuracy(&subs[cell.ops()[0] as usize], data, cell, batch)
}

/// DARTS's settings: the weights' recipe (SGD, cosine schedule) plus the
/// architecture parameters' Adam and the weights' gradient clipping.
#[derive(Clone, Debug, PartialEq)]
pub struct DartsRecipe {
    pub weights: Recipe,
    /// Adam's learning rate for the architecture parameters (authors: 3e-4).
    pub arch_lr: f64,
    /// Adam's weight decay for them (authors: 1e-3).
    pub arch_weight_decay: f64,
    /// Adam's betas (authors: 0.5, 0.999).
    pub arch_betas: (f64, f64),
    /// Gradient-norm clip of the weights (authors: 5).
    pub clip: f64,
}

impl DartsRecipe {
    /// The authors' `DARTS.config` and `DARTS-V2*.sh` settings with `epochs`
    /// given (theirs: 60): SGD Nesterov 0.9, lr 0.025 cosine to 0.001, weight
    /// decay 5e-4, batch 48; Adam 3e-4, betas (0.5, 0.999), decay 1e-3.
    pub fn authors(epochs: usize) -> Self {
        Self {
            weights: Recipe {
                weight_decay: 5e-4,
                ..Recipe::authors(epochs)
            },
            arch_lr: 3e-4,
            arch_weight_decay: 1e-3,
            arch_betas: (0.5, 0.999),
            clip: 5.0,
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        self.weights.validate()?;
        if !(self.arch_lr > 0.0 && self.arch_weight_decay >= 0.0 && self.clip > 0.0) {
            return Err(format!(
                "need arch_lr > 0, arch_weight_decay >= 0 and clip > 0, got {}, {}, {}",
                self.arch_lr, self.arch_weight_decay, self.clip
            ));
        }
        Ok(())
    }
}

/// What a DARTS search returns.
#[derive(Clone, Debug, PartialEq)]
pub struct DartsOutcome {
    /// The derived cell: each edge's argmax of alpha (edge 1<-0 the fixed
    /// operation of a sub-supernet).
    pub cell: Cell,
    /// softmax(alpha), `NUM_EDGES x 5`, row-major (the fixed edge's row is
    /// one-hot).
    pub weights: Vec<f64>,
    /// Accuracy (%) of the relaxed network on the validation images at the
    /// end (the authors' `valid_func`, which picks among sub-supernets).
    pub valid_accuracy: f64,
    /// Mean training loss of each epoch.
    pub losses: Vec<f64>,
}

/// `VarStore::freeze` / `unfreeze` through a shared reference (the
/// variables are handles to the same tensors).
fn set_requires_grad(vs: &nn::VarStore, on: bool) {
    for v in vs.trainable_variables() {
        let _ = v.set_requires_grad(on);
    }
}

/// Whether an operation has no parameters (none, skip, average pooling):
/// the ops DARTS collapses to.
pub fn parameter_free(op: u8) -> bool {
    !matches!(OPS[op as usize], "nor_conv_1x1" | "nor_conv_3x3")
}

/// First-order DARTS on `net`: architecture parameters alpha
/// (`NUM_EDGES x 5`, shared by all cells, drawn as 1e-3 N(0, 1) from `rng`'s
/// child `alpha`), each step one Adam step of alpha on a validation batch
/// and then one SGD step of the weights on a training batch (clipped); the
/// cell is derived by each edge's argmax. `edge0` fixes edge 1<-0 (a
/// few-shot sub-supernet: alpha's row 0 is then unused). `rng`'s children
/// `epoch` / `valid-epoch` shuffle the two splits.
pub fn darts(
    net: &Supernet,
    train_data: &Data,
    valid: &Data,
    recipe: &DartsRecipe,
    edge0: Option<u8>,
    eval_batch: usize,
    rng: &Stream,
) -> Result<DartsOutcome, String> {
    recipe.validate()?;
    if train_data.is_empty() || valid.is_empty() {
        return Err("DARTS needs training and validation images".into());
    }
    let device = net.vs.device();
    let alpha_vs = nn::VarStore::new(device);
    let init: Vec<f32> = {
        let mut r = rng.child("alpha");
        (0..NUM_EDGES * OPS.len())
            .map(|_| (1e-3 * r.normal()) as f32)
            .collect()
    };
    let alpha = alpha_vs.root().var_copy(
        "alpha",
        &Tensor::from_slice(&init).view([NUM_EDGES as i64, OPS.len() as i64]),
    );
    let w = &recipe.weights;
    let mut w_opt = nn::Sgd {
        momentum: w.momentum,
        dampening: 0.0,
        wd: w.weight_decay,
        nesterov: w.nesterov,
    }
    .build(&net.vs, w.lr)
    .map_err(|e| e.to_string())?;
    let mut a_opt = nn::Adam {
        beta1: recipe.arch_betas.0,
        beta2: recipe.arch_betas.1,
        wd: recipe.arch_weight_decay,
        eps: 1e-8,
        amsgrad: false,
    }
    .build(&alpha_vs, recipe.arch_lr)
    .map_err(|e| e.to_string())?;
    let shuffled = |n: usize, r: &mut Stream| {
        let mut order: Vec<i64> = (0..n as i64).collect();
        for i in (1..n).rev() {
            order.swap(i, r.below(i + 1));
        }
        order
    };
    let (n, nv) = (train_data.len(), valid.len());
    let steps = n.div_ceil(w.batch_size);
    let mut losses = Vec::with_capacity(w.epochs);
    for epoch in 0..w.epochs {
        let order = shuffled(n, &mut rng.child_n("epoch", epoch as u64));
        let vorder = shuffled(nv, &mut rng.child_n("valid-epoch", epoch as u64));
        // Validation batches cycle when the split is shorter than the training one.
        let vbatches: Vec<&[i64]> = vorder.chunks(w.batch_size).collect();
        let mut sum = 0.0;
        for (s, chunk) in order.chunks(w.batch_size).enumerate() {
            let vidx = Tensor::from_slice(vbatches[s % vbatches.len()]).to_device(device);
            // The alpha step needs no weight gradients (they would be zeroed
            // before the weight step anyway): skip computing them.
            set_requires_grad(&net.vs, false);
            let arch_loss = net
                .forward_mixed(
                    &valid.x.index_select(0, &vidx),
                    &alpha.softmax(-1, Kind::Float),
                    edge0,
                )
                .cross_entropy_for_logits(&valid.y.index_select(0, &vidx));
            a_opt.backward_step(&arch_loss);
            set_requires_grad(&net.vs, true);
            let idx = Tensor::from_slice(chunk).to_device(device);
            w_opt.set_lr(w.lr_at(epoch as f64 + s as f64 / steps as f64));
            // alpha is fixed during the weight step (first order).
            let weights = tch::no_grad(|| alpha.softmax(-1, Kind::Float));
            let loss = net
                .forward_mixed(&train_data.x.index_select(0, &idx), &weights, edge0)
                .cross_entropy_for_logits(&train_data.y.index_select(0, &idx));
            w_opt.backward_step_clip_norm(&loss, recipe.clip);
            sum += loss.double_value(&[]) * chunk.len() as f64;
        }
        losses.push(sum / n as f64);
    }
    let weights = tch::no_grad(|| alpha.softmax(-1, Kind::Float));
    let mut probs: Vec<f64> = Vec::<f64>::try_from(weights.to_kind(Kind::Double).view([-1]))
        .map_err(|e| e.to_string())?;
    let mut ops = [0u8; NUM_EDGES];
    for (e, o) in ops.iter_mut().enumerate() {
        let row = &mut probs[e * OPS.len()..(e + 1) * OPS.len()];
        if let (0, Some(op)) = (e, edge0) {
            row.iter_mut()
                .enumerate()
                .for_each(|(k, p)| *p = if k == op as usize { 1.0 } else { 0.0 });
        }
        // Ties (never in practice) go to the first op, as torch's argmax.
        *o = (0..OPS.len()).fold(0, |b, k| if row[k] > row[b] { k } else { b }) as u8;
    }
    let valid_accuracy = tch::no_grad(|| {
        let mut correct = 0i64;
        let mut start = 0;
        while start < nv {
            let len = eval_batch.max(1).min(nv - start);
            let x = valid.x.narrow(0, start as i64, len as i64);
            let y = valid.y.narrow(0, start as i64, len as i64);
            correct += net
                .forward_mixed(&x, &weights, edge0)
                .argmax(1, false)
                .eq_tensor(&y)
                .sum(Kind::Int64)
                .int64_value(&[]);
            start += len;
        }
        100.0 * correct as f64 / nv as f64
    });
    Ok(DartsOutcome {
        cell: Cell::new(ops),
        weights: probs,
        valid_accuracy,
        losses,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_data(n: i64, c: i64, side: i64, rng: &Stream) -> Data {
        let mut r = rng.clone();
        let x: Vec<f32> = (0..n * c * side * side)
            .map(|_| r.normal() as f32)
            .collect();
        let y: Vec<i64> = (0..n).map(|_| r.below(10) as i64).collect();
        Data {
            x: Tensor::from_slice(&x).view([n, c, side, side]),
            y: Tensor::from_slice(&y),
        }
    }

    fn small() -> Shape {
        Shape {
            channels: 4,
            cells_per_stage: 1,
            in_channels: 1,
            classes: 10,
        }
    }

    #[test]
    fn full_nb201_shape_takes_a_training_step() {
        tch::set_num_threads(1);
        let rng = Stream::root("full-shape");
        let shape = Shape::nb201(3, 10);
        let net = Supernet::new(shape, Device::Cpu, &rng).unwrap();
        assert_eq!(net.shape.searched_cells(), 15);
        let data = random_data(4, 3, 32, &rng.child("data"));
        let mut recipe = Recipe::authors(1);
        recipe.batch_size = 4;
        let losses = train(&net, &data, &recipe, Sampler::Uniform { edge0: None }, &rng).unwrap();
        assert_eq!(losses.len(), 1);
        assert!(losses[0].is_finite());
        let logits = tch::no_grad(|| net.forward(&data.x, &[Cell::new([3; 6]); 15]));
        assert_eq!(logits.size(), vec![4, 10]);
    }

    #[test]
    fn training_is_reproducible_and_fork_copies_weights() {
        tch::set_num_threads(1);
        let rng = Stream::root("repro");
        let data = random_data(24, 1, 14, &rng.child("data"));
        let cell = Cell::new([3, 1, 2, 4, 0, 3]);
        let mut recipe = Recipe::authors(2);
        recipe.batch_size = 8;
        let run = || {
            let net = Supernet::new(small(), Device::Cpu, &rng.child("init")).unwrap();
            let l = train(
                &net,
                &data,
                &recipe,
                Sampler::Uniform { edge0: Some(2) },
                &rng.child("t"),
            )
            .unwrap();
            (net, l)
        };
        let (a, la) = run();
        let (_, lb) = run();
        assert_eq!(la, lb);
        let copy = a.fork(&rng.child("other")).unwrap();
        assert_eq!(
            accuracy(&a, &data, cell, 8),
            accuracy(&copy, &data, cell, 8)
        );
        let subs = split(&a, &data, &Recipe::authors(1), &rng.child("split")).unwrap();
        assert_eq!(subs.len(), 5);
        let acc = few_shot_accuracy(&subs, &data, cell, 8);
        assert!((0.0..=100.0).contains(&acc));
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut s = small();
        s.classes = 1;
        assert!(Supernet::new(s, Device::Cpu, &Stream::root("x")).is_err());
        let mut r = Recipe::authors(1);
        r.batch_size = 0;
        assert!(r.validate().is_err());
        let r = Recipe::authors(10);
        assert!((r.lr_at(0.0) - 0.025).abs() < 1e-12);
        assert!((r.lr_at(10.0) - 0.001).abs() < 1e-12);
    }

    #[test]
    fn darts_is_reproducible_and_respects_the_fixed_edge() {
        tch::set_num_threads(1);
        let rng = Stream::root("darts");
        let data = random_data(24, 1, 14, &rng.child("data"));
        let valid = random_data(16, 1, 14, &rng.child("valid"));
        let mut recipe = DartsRecipe::authors(2);
        recipe.weights.batch_size = 8;
        recipe.arch_lr = 0.05;
        let run = |edge0| {
            let net = Supernet::new(small(), Device::Cpu, &rng.child("init")).unwrap();
            darts(&net, &data, &valid, &recipe, edge0, 8, &rng.child("d")).unwrap()
        };
        let (a, b) = (run(None), run(None));
        assert_eq!(a, b);
        assert_eq!(a.losses.len(), 2);
        assert!((0.0..=100.0).contains(&a.valid_accuracy));
        // Each row of softmax(alpha) sums to 1 and the cell is its argmax.
        for e in 0..NUM_EDGES {
            let row = &a.weights[e * 5..(e + 1) * 5];
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5);
            let arg = (0..5).fold(0, |m, k| if row[k] > row[m] { k } else { m });
            assert_eq!(a.cell.ops()[e] as usize, arg);
        }
        let f = run(Some(3));
        assert_eq!(f.cell.ops()[0], 3);
        assert_eq!(f.weights[3], 1.0);
        assert!(parameter_free(0) && parameter_free(1) && parameter_free(4));
        assert!(!parameter_free(2) && !parameter_free(3));
        let mut bad = recipe.clone();
        bad.arch_lr = 0.0;
        assert!(bad.validate().is_err());
    }

    #[test]
    fn uniform_sampler_fixes_edge_one_zero() {
        let mut r = Stream::root("s");
        for _ in 0..50 {
            assert_eq!(Sampler::Uniform { edge0: Some(4) }.draw(&mut r).ops()[0], 4);
        }
    }
}
