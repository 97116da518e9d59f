//! Closed-form #params and #FLOPs of the NAS-Bench-201 TinyNetwork.
//!
//! Network (C = 16, N = 5, batch 1, input `r x r`, r = 32 or 16): stem
//! Conv3x3(3 -> C, no bias) + BN; 3 stages of 5 cells at C, 2C, 4C channels
//! and resolution r, r/2, r/4; between stages a ResNet basic block
//! (ReLU-Conv3x3/2-BN, ReLU-Conv3x3-BN, shortcut AvgPool2d(2) + Conv1x1, no
//! bias); then BN + ReLU, global average pool and Linear(4C, classes). In a
//! cell, `nor_conv_kxk` is ReLU + Conv(kxk, no bias) + BN(affine); pooling,
//! skip and none have no parameters. Only the number of 1x1 and 3x3 conv
//! edges (and, for [`flops_naslib`], pooling edges) varies between cells.

use super::{Cell, Dataset};

const C: u64 = 16;
const CELLS_PER_STAGE: u64 = 5;
/// Channels of the three stages.
const STAGES: [u64; 3] = [C, 2 * C, 4 * C];

struct Counts {
    conv1: u64,
    conv3: u64,
    pool: u64,
}

fn counts(cell: Cell) -> Counts {
    let c = cell.op_counts();
    Counts {
        conv1: c[2] as u64,
        conv3: c[3] as u64,
        pool: c[4] as u64,
    }
}

/// Exact number of trainable parameters (conv weights, BN affine weight and
/// bias, classifier weight and bias; BN running statistics are buffers).
pub fn param_count(cell: Cell, dataset: Dataset) -> u64 {
    let n = counts(cell);
    let k = dataset.num_classes() as u64;
    let mut p = 27 * C + 2 * C; // stem conv + BN
    for (s, &c) in STAGES.iter().enumerate() {
        if s > 0 {
            let ci = c / 2;
            // conv_a + BN, conv_b + BN, shortcut 1x1 conv.
            p += 9 * ci * c + 2 * c + 9 * c * c + 2 * c + ci * c;
        }
        p += CELLS_PER_STAGE * (n.conv1 * (c * c + 2 * c) + n.conv3 * (9 * c * c + 2 * c));
    }
    let last = STAGES[2];
    p + 2 * last + last * k + k // last BN, classifier
}

/// #Parameters in millions, as the NB-201 API reports them ("params", MB).
pub fn params(cell: Cell, dataset: Dataset) -> f64 {
    param_count(cell, dataset) as f64 / 1e6
}

/// Exact FLOP count in the NB-201 API convention: the multiply-accumulates of
/// every convolution (`k*k*Cin*Cout` per output position, no bias) plus the
/// classifier (`in*out + out`); BN, ReLU and pooling are free.
pub fn flop_count(cell: Cell, dataset: Dataset) -> u64 {
    let n = counts(cell);
    let k = dataset.num_classes() as u64;
    let r = dataset.resolution() as u64;
    let mut f = 27 * C * r * r; // stem
    for (s, &c) in STAGES.iter().enumerate() {
        let h = r >> s;
        if s > 0 {
            let ci = c / 2;
            f += (9 * ci * c + 9 * c * c + ci * c) * h * h;
        }
        f += CELLS_PER_STAGE * (n.conv1 * c * c + n.conv3 * 9 * c * c) * h * h;
    }
    f + STAGES[2] * k + k
}

/// #FLOPs in millions, NB-201 API convention (see [`flop_count`]). Checked
/// against the published 15.64737 for index 0 on CIFAR-10 and the published
/// range 7.78..220.11 M on CIFAR-10.
pub fn flops(cell: Cell, dataset: Dataset) -> f64 {
    flop_count(cell, dataset) as f64 / 1e6
}

/// Exact FLOP count in the convention of the NASLib zero-cost sample, whose
/// counter (torchstat, via tensorwatch) charges on top of the conv MACs:
/// BN(affine) 2 per input element, ReLU 1 per input element, AvgPool
/// `k*k` per output element, the global AdaptiveAvgPool `(h+1)*(w+1)` per
/// channel (torchstat widens each window by one), and the classifier `in*out`
/// without bias.
pub fn flop_count_naslib(cell: Cell, dataset: Dataset) -> u64 {
    let n = counts(cell);
    let k = dataset.num_classes() as u64;
    let r = dataset.resolution() as u64;
    let mut f = flop_count(cell, dataset) - k; // classifier bias is not counted
    f += 2 * C * r * r; // stem BN
    for (s, &c) in STAGES.iter().enumerate() {
        let h = r >> s;
        let hw = h * h;
        if s > 0 {
            let ci = c / 2;
            let hi = 2 * h;
            // ReLU on the block input, BN + ReLU + BN at the output size,
            // 2x2 shortcut pool.
            f += ci * hi * hi + 5 * c * hw + 4 * ci * hw;
        }
        // Each conv edge: ReLU (1) + BN (2) per element; each pool edge: 3x3.
        f += CELLS_PER_STAGE * ((n.conv1 + n.conv3) * 3 * c * hw + n.pool * 9 * c * hw);
    }
    let (last, h) = (STAGES[2], r >> 2);
    f + 3 * last * h * h + last * (h + 1) * (h + 1) // last BN + ReLU, global pool
}

/// #FLOPs in millions as in the NASLib zero-cost sample (see [`flop_count_naslib`]).
pub fn flops_naslib(cell: Cell, dataset: Dataset) -> f64 {
    flop_count_naslib(cell, dataset) as f64 / 1e6
}
