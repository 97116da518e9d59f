//! The network on tch, module for module as the reference builds it (see
//! [`crate::spec::Block`] for each block's layers, padding and BN epsilon).
//!
//! Inference only: [`Gpunet::forward`] runs BN on its running statistics
//! and skips dropout and drop-path (the reference's `eval()` mode).
//! Weights are drawn by [`Gpunet::init`] from a [`Stream`], never from
//! torch's global generator (convs: normal with std `sqrt(2 / fan_out)`,
//! timm's EfficientNet init; BN scale 1, shift 0; biases 0; the classifier
//! normal with std 0.01), so two builds from one stream are identical.

use crate::counts::{bn_eps, fused_pad, sym_pad};
use crate::spec::{Act, Block, Spec, TAIL_D_WIDTH};
use searchkit::rng::Stream;
use tch::nn::{self, Module, ModuleT};
use tch::{Kind, Tensor};

fn conv(
    p: &nn::Path,
    cin: usize,
    cout: usize,
    k: usize,
    s: usize,
    pad: usize,
    groups: usize,
    bias: bool,
) -> nn::Conv2D {
    nn::conv2d(
        p,
        cin as i64,
        cout as i64,
        k as i64,
        nn::ConvConfig {
            stride: s as i64,
            padding: pad as i64,
            groups: groups as i64,
            bias,
            ws_init: nn::Init::Const(0.0),
            bs_init: nn::Init::Const(0.0),
            ..Default::default()
        },
    )
}

fn bn(p: &nn::Path, c: usize, eps: f64) -> nn::BatchNorm {
    nn::batch_norm2d(
        p,
        c as i64,
        nn::BatchNormConfig {
            eps,
            ..Default::default()
        },
    )
}

fn act(a: Act, x: Tensor) -> Tensor {
    match a {
        Act::Relu => x.relu(),
        Act::Swish => x.silu(),
    }
}

/// Conv, BN, optional activation.
#[derive(Debug)]
struct ConvBn {
    conv: nn::Conv2D,
    bn: nn::BatchNorm,
    act: Option<Act>,
}

impl ConvBn {
    #[allow(clippy::too_many_arguments)]
    fn new(
        p: &nn::Path,
        cin: usize,
        cout: usize,
        k: usize,
        s: usize,
        pad: usize,
        groups: usize,
        eps: f64,
        act: Option<Act>,
    ) -> Self {
        Self {
            conv: conv(&(p / "conv"), cin, cout, k, s, pad, groups, false),
            bn: bn(&(p / "bn"), cout, eps),
            act,
        }
    }
    /// `hook` sees every activation's input (BN's output), for NASWOT's
    /// binary codes.
    fn forward(&self, x: &Tensor, hook: &mut dyn FnMut(&Tensor)) -> Tensor {
        let y = self.bn.forward_t(&self.conv.forward(x), false);
        match self.act {
            Some(a) => {
                hook(&y);
                act(a, y)
            }
            None => y,
        }
    }
}

/// Squeeze-excite: mean over space, 1x1 reduce (bias), act, 1x1 expand
/// (bias), sigmoid gate.
#[derive(Debug)]
struct Se {
    reduce: nn::Conv2D,
    expand: nn::Conv2D,
    act: Act,
}

impl Se {
    fn forward(&self, x: &Tensor) -> Tensor {
        let s = x.mean_dim(&[2i64, 3][..], true, None::<Kind>);
        let s = self.expand.forward(&act(self.act, self.reduce.forward(&s)));
        x * s.sigmoid()
    }
}

#[derive(Debug)]
enum Unit {
    /// Convs in sequence, an optional SE after the `se_at`-th, an optional
    /// residual.
    Seq {
        convs: Vec<ConvBn>,
        se: Option<(usize, Se)>,
        residual: bool,
    },
    /// A classifier: conv(s), pool, (conv, ReLU,) linear.
    Tail {
        pre: ConvBn,
        post: Option<nn::Conv2D>,
        fc: nn::Linear,
    },
}

impl Unit {
    fn forward(&self, x: &Tensor, hook: &mut dyn FnMut(&Tensor)) -> Tensor {
        match self {
            Unit::Seq {
                convs,
                se,
                residual,
            } => {
                let mut y = x.shallow_clone();
                for (i, c) in convs.iter().enumerate() {
                    y = c.forward(&y, hook);
                    if let Some((at, s)) = se {
                        if *at == i {
                            y = s.forward(&y);
                        }
                    }
                }
                if *residual {
                    y + x
                } else {
                    y
                }
            }
            Unit::Tail { pre, post, fc } => {
                let mut y = pre.forward(x, hook).adaptive_avg_pool2d([1, 1]);
                if let Some(c) = post {
                    y = c.forward(&y).relu();
                }
                fc.forward(&y.flatten(1, -1))
            }
        }
    }
}

/// A GPUNet built from a [`Spec`].
#[derive(Debug)]
pub struct Gpunet {
    units: Vec<Unit>,
    pub resolution: usize,
    pub classes: usize,
}

fn build(p: &nn::Path, b: &Block) -> Unit {
    let eps = bn_eps(b);
    let seq = |convs: Vec<ConvBn>, se: Option<(usize, Se)>| Unit::Seq {
        convs,
        se,
        residual: b.residual(),
    };
    let se = |at: usize, mid: usize, a: Act| {
        b.se_channels().map(|rd| {
            let q = p / "se";
            (
                at,
                Se {
                    reduce: conv(&(&q / "reduce"), mid, rd, 1, 1, 0, 1, true),
                    expand: conv(&(&q / "expand"), rd, mid, 1, 1, 0, 1, true),
                    act: a,
                },
            )
        })
    };
    let cb = |name: &str, cin, cout, k, s, pad, g, a| {
        ConvBn::new(&(p / name), cin, cout, k, s, pad, g, eps, a)
    };
    match *b {
        Block::Head { cin, cout, act } => {
            seq(vec![cb("c0", cin, cout, 3, 2, 1, 1, Some(act))], None)
        }
        Block::HeadD { cin, cout } => {
            seq(vec![cb("c0", cin, cout, 3, 2, 1, 1, Some(Act::Relu))], None)
        }
        Block::HeadLargeD { cin, cout } => seq(
            vec![
                cb("c0", cin, cout, 3, 2, 1, 1, Some(Act::Relu)),
                cb("c1", cout, cout, 3, 1, 1, 1, Some(Act::Relu)),
                cb("c2", cout, cout, 3, 1, 1, 1, Some(Act::Relu)),
            ],
            None,
        ),
        Block::Conv {
            cin,
            cout,
            kernel,
            stride,
            act,
        } => seq(
            vec![cb(
                "c0",
                cin,
                cout,
                kernel,
                stride,
                sym_pad(kernel, stride),
                1,
                Some(act),
            )],
            None,
        ),
        Block::Irb {
            cin,
            cout,
            kernel,
            stride,
            act,
            ..
        } => {
            let mid = b.mid().expect("irb");
            seq(
                vec![
                    cb("pw", cin, mid, 1, 1, 0, 1, Some(act)),
                    cb(
                        "dw",
                        mid,
                        mid,
                        kernel,
                        stride,
                        sym_pad(kernel, stride),
                        mid,
                        Some(act),
                    ),
                    cb("pwl", mid, cout, 1, 1, 0, 1, None),
                ],
                se(1, mid, act),
            )
        }
        Block::FusedIrb {
            cin,
            cout,
            kernel,
            stride,
            act,
            ..
        } => {
            let mid = b.mid().expect("fused");
            seq(
                vec![
                    cb(
                        "exp",
                        cin,
                        mid,
                        kernel,
                        stride,
                        fused_pad(kernel, stride),
                        1,
                        Some(act),
                    ),
                    cb("pwl", mid, cout, 1, 1, 0, 1, None),
                ],
                se(0, mid, act),
            )
        }
        Block::IrbD {
            cin,
            cout,
            kernel,
            stride,
            groups,
            ..
        } => {
            let mid = b.mid().expect("irb");
            seq(
                vec![
                    cb("pw", cin, mid, 1, 1, 0, groups, Some(Act::Relu)),
                    cb(
                        "dw",
                        mid,
                        mid,
                        kernel,
                        stride,
                        kernel / 2,
                        mid,
                        Some(Act::Relu),
                    ),
                    cb("pwl", mid, cout, 1, 1, 0, groups, None),
                ],
                None,
            )
        }
        Block::FusedIrbD {
            cin,
            cout,
            kernel,
            stride,
            ..
        } => {
            let mid = b.mid().expect("fused");
            seq(
                vec![
                    cb(
                        "exp",
                        cin,
                        mid,
                        kernel,
                        stride,
                        kernel / 2,
                        1,
                        Some(Act::Relu),
                    ),
                    cb("pwl", mid, cout, 1, 1, 0, 1, None),
                ],
                None,
            )
        }
        Block::Tail { cin, cout, classes } => Unit::Tail {
            pre: cb("pre", cin, cout, 1, 1, 0, 1, Some(Act::Relu)),
            post: None,
            fc: linear(&(p / "fc"), cout, classes),
        },
        Block::TailD { cin, cout, classes } => Unit::Tail {
            pre: cb("pre", cin, TAIL_D_WIDTH, 1, 1, 0, 1, Some(Act::Relu)),
            post: Some(conv(&(p / "post"), TAIL_D_WIDTH, cout, 1, 1, 0, 1, false)),
            fc: linear(&(p / "fc"), cout, classes),
        },
    }
}

fn linear(p: &nn::Path, i: usize, o: usize) -> nn::Linear {
    nn::linear(
        p,
        i as i64,
        o as i64,
        nn::LinearConfig {
            ws_init: nn::Init::Const(0.0),
            bs_init: Some(nn::Init::Const(0.0)),
            bias: true,
        },
    )
}

impl Gpunet {
    /// The network's modules under `p` (weights zero until [`Gpunet::init`]).
    pub fn new(p: &nn::Path, spec: &Spec) -> Self {
        let units = spec
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| build(&(p / format!("l{i:02}")), &l.block))
            .collect();
        Self {
            units,
            resolution: spec.resolution,
            classes: spec.classes(),
        }
    }

    /// Draw every trainable tensor of `vs` from `stream` (child streams by
    /// variable name, so the draw does not depend on the store's order).
    pub fn init(&self, vs: &nn::VarStore, stream: &Stream) {
        let vars = vs.variables();
        let mut names: Vec<&String> = vars.keys().collect();
        names.sort();
        tch::no_grad(|| {
            for name in names {
                let t = &vars[name];
                if !t.requires_grad() {
                    continue; // BN running statistics keep mean 0, var 1
                }
                let size = t.size();
                let n: i64 = size.iter().product();
                let std = if size.len() == 4 {
                    // conv: std sqrt(2 / fan_out), fan_out = k^2 C_out / groups
                    let groups = if size[1] == 1 { size[0] } else { 1 };
                    (2.0 / (size[2] * size[3] * size[0] / groups) as f64).sqrt()
                } else if size.len() == 2 {
                    0.01
                } else if name.ends_with("bn.weight") {
                    let _ = t.shallow_clone().fill_(1.0);
                    continue;
                } else {
                    let _ = t.shallow_clone().fill_(0.0);
                    continue;
                };
                let mut r = stream.child(name);
                let v: Vec<f32> = (0..n).map(|_| (r.normal() * std) as f32).collect();
                let src = Tensor::from_slice(&v)
                    .view(size.as_slice())
                    .to_device(t.device());
                t.shallow_clone().copy_(&src);
            }
        });
    }

    /// The spatial side after each layer (the tail's: 1).
    pub fn sides(&self, x: &Tensor) -> Vec<usize> {
        let mut y = x.shallow_clone();
        let mut out = vec![];
        for u in &self.units {
            y = u.forward(&y, &mut |_| {});
            out.push(if y.dim() == 4 {
                y.size()[2] as usize
            } else {
                1
            });
        }
        out
    }

    /// Logits `(N, classes)` for images `(N, C, H, W)`, inference mode.
    pub fn forward(&self, x: &Tensor) -> Tensor {
        self.forward_hooked(x, &mut |_| {})
    }

    /// [`Gpunet::forward`], handing `hook` the input of every ReLU / swish
    /// of the convolution blocks (after BN; the squeeze-excite's inner
    /// activation is not included), in order.
    pub fn forward_hooked(&self, x: &Tensor, hook: &mut dyn FnMut(&Tensor)) -> Tensor {
        let mut y = x.shallow_clone();
        for u in &self.units {
            y = u.forward(&y, hook);
        }
        y
    }

    /// One block alone (e.g. to time it for a latency lookup table).
    pub fn single(p: &nn::Path, block: &Block) -> Self {
        Self {
            units: vec![build(&(p / "l00"), block)],
            resolution: 0,
            classes: match *block {
                Block::Tail { classes, .. } | Block::TailD { classes, .. } => classes,
                _ => 0,
            },
        }
    }
}
