//! Exact parameter and multiply-accumulate counts in closed form, from the
//! parsed JSON alone (no torch).
//!
//! - **Parameters** are what PyTorch's `model.parameters()` holds: conv
//!   weights (and the squeeze-excite convs' and the classifier's biases),
//!   BN scale and shift (2 per channel). BN running statistics are buffers,
//!   not parameters.
//! - **MACs** are the multiply-accumulates of the convolutions and linear
//!   layers for one image (a conv: `H_out W_out C_out (C_in / groups) k^2`;
//!   the squeeze-excite convs run on 1 x 1). Not counted: BN (foldable into
//!   the conv before it), activations, pooling, the SE gate's multiply,
//!   residual additions, biases. FLOPs counters differ on these; a "FLOPs"
//!   figure of 2 x MACs or of MACs alone are both common.

use crate::spec::{Block, Spec, BN_EPS, TAIL_D_WIDTH};

/// Output side of a convolution, `None` when the kernel does not fit.
pub fn conv_out(h: usize, k: usize, s: usize, p: usize) -> Option<usize> {
    (h + 2 * p).checked_sub(k).map(|x| x / s + 1)
}

/// Symmetric padding of the reference's `get_padding` (PyTorch-style,
/// `((s - 1) + (k - 1)) / 2`): `k / 2` for the odd kernels used here.
pub fn sym_pad(k: usize, s: usize) -> usize {
    ((s - 1) + (k - 1)) / 2
}

/// Padding of `EdgeResidual`'s expansion conv (`pad_type = "same"`): static
/// `(k - 1) / 2` at stride 1; at stride 2 the reference asks for dynamic
/// TF-style padding but builds a plain conv with padding 0, so none.
pub fn fused_pad(k: usize, s: usize) -> usize {
    if s == 1 {
        (k - 1) / 2
    } else {
        0
    }
}

/// The (kernel, stride, padding) of the convolutions on a block's main
/// path that change the spatial size, in order.
pub fn spatial_convs(b: &Block) -> Vec<(usize, usize, usize)> {
    match *b {
        Block::Head { .. } | Block::HeadD { .. } => vec![(3, 2, 1)],
        Block::HeadLargeD { .. } => vec![(3, 2, 1), (3, 1, 1), (3, 1, 1)],
        Block::Conv { kernel, stride, .. } | Block::Irb { kernel, stride, .. } => {
            vec![(kernel, stride, sym_pad(kernel, stride))]
        }
        Block::FusedIrb { kernel, stride, .. } => vec![(kernel, stride, fused_pad(kernel, stride))],
        Block::IrbD { kernel, stride, .. } | Block::FusedIrbD { kernel, stride, .. } => {
            vec![(kernel, stride, kernel / 2)]
        }
        // Global average pooling: 1 x 1 after the tail's first conv.
        Block::Tail { .. } | Block::TailD { .. } => vec![],
    }
}

/// One layer's counts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerCount {
    /// Position in `Spec::layers`.
    pub index: usize,
    pub layer_type: &'static str,
    /// Spatial side of the input and output.
    pub in_hw: usize,
    pub out_hw: usize,
    pub params: u64,
    pub macs: u64,
}

/// A model's counts at one resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Counts {
    pub resolution: usize,
    pub params: u64,
    pub macs: u64,
    pub layers: Vec<LayerCount>,
}

#[derive(Default)]
struct Acc {
    params: u64,
    macs: u64,
}

impl Acc {
    /// A conv on an `hw_out x hw_out` output.
    fn conv(
        &mut self,
        cin: usize,
        cout: usize,
        k: usize,
        groups: usize,
        bias: bool,
        hw_out: usize,
    ) {
        let w = (cout * (cin / groups) * k * k) as u64;
        self.params += w + if bias { cout as u64 } else { 0 };
        self.macs += w * (hw_out * hw_out) as u64;
    }
    fn bn(&mut self, c: usize) {
        self.params += 2 * c as u64;
    }
    fn linear(&mut self, i: usize, o: usize) {
        self.params += (i * o + o) as u64;
        self.macs += (i * o) as u64;
    }
    fn se(&mut self, mid: usize, rd: usize) {
        self.conv(mid, rd, 1, 1, true, 1);
        self.conv(rd, mid, 1, 1, true, 1);
    }
}

fn block_counts(b: &Block, hw: usize, out: usize) -> Acc {
    let mut a = Acc::default();
    match *b {
        Block::Head { cin, cout, .. } | Block::HeadD { cin, cout } => {
            a.conv(cin, cout, 3, 1, false, out);
            a.bn(cout);
        }
        Block::HeadLargeD { cin, cout } => {
            a.conv(cin, cout, 3, 1, false, out);
            a.conv(cout, cout, 3, 1, false, out);
            a.conv(cout, cout, 3, 1, false, out);
            a.bn(cout);
            a.bn(cout);
            a.bn(cout);
        }
        Block::Conv {
            cin, cout, kernel, ..
        } => {
            a.conv(cin, cout, kernel, 1, false, out);
            a.bn(cout);
        }
        Block::Irb {
            cin, cout, kernel, ..
        } => {
            let mid = b.mid().expect("irb");
            a.conv(cin, mid, 1, 1, false, hw);
            a.bn(mid);
            a.conv(mid, mid, kernel, mid, false, out);
            a.bn(mid);
            if let Some(rd) = b.se_channels() {
                a.se(mid, rd);
            }
            a.conv(mid, cout, 1, 1, false, out);
            a.bn(cout);
        }
        Block::FusedIrb {
            cin, cout, kernel, ..
        } => {
            let mid = b.mid().expect("fused");
            a.conv(cin, mid, kernel, 1, false, out);
            a.bn(mid);
            if let Some(rd) = b.se_channels() {
                a.se(mid, rd);
            }
            a.conv(mid, cout, 1, 1, false, out);
            a.bn(cout);
        }
        Block::IrbD {
            cin,
            cout,
            kernel,
            groups,
            ..
        } => {
            let mid = b.mid().expect("irb");
            a.conv(cin, mid, 1, groups, false, hw);
            a.bn(mid);
            a.conv(mid, mid, kernel, mid, false, out);
            a.bn(mid);
            a.conv(mid, cout, 1, groups, false, out);
            a.bn(cout);
        }
        Block::FusedIrbD {
            cin, cout, kernel, ..
        } => {
            let mid = b.mid().expect("fused");
            a.conv(cin, mid, kernel, 1, false, out);
            a.bn(mid);
            a.conv(mid, cout, 1, 1, false, out);
            a.bn(cout);
        }
        Block::Tail { cin, cout, classes } => {
            a.conv(cin, cout, 1, 1, false, hw);
            a.bn(cout);
            a.linear(cout, classes);
        }
        Block::TailD { cin, cout, classes } => {
            a.conv(cin, TAIL_D_WIDTH, 1, 1, false, hw);
            a.bn(TAIL_D_WIDTH);
            a.conv(TAIL_D_WIDTH, cout, 1, 1, false, 1);
            a.linear(cout, classes);
        }
    }
    a
}

impl Spec {
    /// Counts at the model's own resolution.
    pub fn counts(&self) -> Counts {
        self.counts_at(self.resolution)
            .expect("a parsed spec fits its own resolution")
    }

    /// Counts at another input resolution (parameters do not depend on it).
    pub fn counts_at(&self, resolution: usize) -> Result<Counts, String> {
        let shapes = self.shapes(resolution)?;
        let mut c = Counts {
            resolution,
            params: 0,
            macs: 0,
            layers: vec![],
        };
        for (i, (l, &(hw, out))) in self.layers.iter().zip(&shapes).enumerate() {
            let a = block_counts(&l.block, hw, out);
            c.params += a.params;
            c.macs += a.macs;
            c.layers.push(LayerCount {
                index: i,
                layer_type: l.block.layer_type(),
                in_hw: hw,
                out_hw: out,
                params: a.params,
                macs: a.macs,
            });
        }
        Ok(c)
    }
}

/// BN epsilon of a block's batch norms, by block (for the builder and docs).
pub fn bn_eps(b: &Block) -> f64 {
    match b {
        Block::HeadD { .. }
        | Block::HeadLargeD { .. }
        | Block::IrbD { .. }
        | Block::TailD { .. } => crate::spec::BN_EPS_D,
        _ => BN_EPS,
    }
}
