//! Measurements on tch for the search (feature `torch`): a block's or a
//! network's CPU latency, and the NASWOT accuracy proxy.
//!
//! **Latency** ([`time_block`], [`time_spec`]): batch 1, FP32, inference
//! mode, on whatever intra-op threads torch has (the callers pin one);
//! `warmup` untimed passes, then the median of `repeats` timed ones, in ms.
//! Weights are left at the builder's zeros: dense FP32 convolution time
//! does not depend on the values, and drawing them would cost more than
//! timing a layer.
//!
//! **NASWOT** ([`naswot`]; Mellor, Turner, Storkey, Crowley, *Neural
//! Architecture Search without Training*, ICML 2021, eq. 2): at
//! initialisation, each image of a mini-batch gets a binary code, the sign
//! pattern of every rectified unit's input; with `N_A` units,
//! `K[i][j] = N_A - hamming(c_i, c_j)`, summed here layer by layer as
//! `c c^T + (1 - c)(1 - c)^T` (the authors' code), and the score is
//! `log |det K|`. Higher predicts a more accurate network after training.
//! Our choices: the units are the inputs of every ReLU / swish of the
//! convolution blocks (a swish's "code" is the same sign, `x > 0`), BN on
//! its initial running statistics (the network in eval mode), weights from
//! [`Gpunet::init`].

use crate::model::Gpunet;
use crate::spec::{Block, Spec};
use searchkit::rng::Stream;
use searchkit::stats::quantile;
use std::time::Instant;
use tch::{nn, Device, Kind, Tensor};

fn median_ms(warmup: usize, repeats: usize, mut f: impl FnMut()) -> f64 {
    tch::no_grad(|| {
        for _ in 0..warmup {
            f();
        }
        let t: Vec<f64> = (0..repeats.max(1))
            .map(|_| {
                let t0 = Instant::now();
                f();
                t0.elapsed().as_secs_f64() * 1e3
            })
            .collect();
        quantile(&t, 0.5)
    })
}

/// Median CPU latency (ms) of `block` alone on a `(1, cin, side, side)`
/// input.
pub fn time_block(block: &Block, side: usize, warmup: usize, repeats: usize) -> f64 {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = Gpunet::single(&vs.root(), block);
    let x = Tensor::ones(
        [1, block.cin() as i64, side as i64, side as i64],
        (Kind::Float, Device::Cpu),
    );
    median_ms(warmup, repeats, || {
        let _ = net.forward(&x);
    })
}

/// Median CPU latency (ms) of the whole network at its resolution, batch 1.
pub fn time_spec(spec: &Spec, warmup: usize, repeats: usize) -> f64 {
    let vs = nn::VarStore::new(Device::Cpu);
    let net = Gpunet::new(&vs.root(), spec);
    let r = spec.resolution as i64;
    let x = Tensor::ones(
        [1, spec.in_channels() as i64, r, r],
        (Kind::Float, Device::Cpu),
    );
    median_ms(warmup, repeats, || {
        let _ = net.forward(&x);
    })
}

/// The NASWOT score of `spec` on `images` `(B, 3, s, s)` (any side `s`
/// its kernels fit), weights drawn from `stream`; or why the network does
/// not fit the images.
pub fn naswot(spec: &Spec, images: &Tensor, stream: &Stream) -> Result<f64, String> {
    let size = images.size();
    if size.len() != 4 || size[1] != spec.in_channels() as i64 || size[2] != size[3] {
        return Err(format!(
            "images of shape {size:?}; NASWOT needs (B, {}, s, s)",
            spec.in_channels()
        ));
    }
    spec.shapes(size[2] as usize)?;
    let b = size[0];
    let vs = nn::VarStore::new(Device::Cpu);
    let net = Gpunet::new(&vs.root(), spec);
    net.init(&vs, stream);
    let mut k = Tensor::zeros([b, b], (Kind::Double, Device::Cpu));
    tch::no_grad(|| {
        let _ = net.forward_hooked(images, &mut |y| {
            let c = y.gt(0.0).to_kind(Kind::Float).view([b, -1]);
            let nc: Tensor = c.ones_like() - &c;
            let kk = c.matmul(&c.tr()) + nc.matmul(&nc.tr());
            k += kk.to_kind(Kind::Double);
        });
    });
    let (_, logabsdet) = k.slogdet();
    Ok(logabsdet.double_value(&[]))
}
