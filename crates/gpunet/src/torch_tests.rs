//! The built networks: one forward pass per published model at its own
//! resolution, and the closed-form counts against the modules' tensors.

use crate::model::Gpunet;
use crate::published::{Published, ALL};
use searchkit::rng::Stream;
use tch::{nn, Device, Kind, Tensor};

fn built(p: &Published) -> (nn::VarStore, Gpunet, crate::Spec) {
    tch::set_num_threads(1);
    let spec = p.spec().unwrap();
    let vs = nn::VarStore::new(Device::Cpu);
    let net = Gpunet::new(&vs.root(), &spec);
    net.init(&vs, &Stream::root("gpunet-test").child(p.name));
    (vs, net, spec)
}

fn forward_gives_logits(name: &str) {
    let p = Published::find(name).unwrap();
    let (vs, net, spec) = built(&p);
    // Closed-form count = the module's trainable tensors.
    let n: i64 = vs
        .trainable_variables()
        .iter()
        .map(|t| t.numel() as i64)
        .sum();
    assert_eq!(n as u64, spec.counts().params, "{name}");
    let r = spec.resolution as i64;
    let x = Tensor::randn([2, 3, r, r], (Kind::Float, Device::Cpu));
    let y = tch::no_grad(|| net.forward(&x));
    assert_eq!(y.size(), vec![2, 1000], "{name}");
    assert!(f64::try_from(y.isfinite().all().to_kind(Kind::Float)).unwrap() == 1.0);
}

#[test]
fn gpunet_0_forward() {
    forward_gives_logits("GPUNet-0");
}
#[test]
fn gpunet_1_forward() {
    forward_gives_logits("GPUNet-1");
}
#[test]
fn gpunet_2_forward() {
    forward_gives_logits("GPUNet-2");
}
#[test]
fn gpunet_p0_forward() {
    forward_gives_logits("GPUNet-P0");
}
#[test]
fn gpunet_p1_forward() {
    forward_gives_logits("GPUNet-P1");
}
#[test]
fn gpunet_d1_forward() {
    forward_gives_logits("GPUNet-D1");
}
#[test]
fn gpunet_d2_forward() {
    forward_gives_logits("GPUNet-D2");
}

#[test]
fn every_layer_output_has_the_closed_form_side() {
    // Per-layer spatial sides from the counts against the module's shapes,
    // at a small resolution to keep it quick (the fused stride-2 blocks'
    // unpadded convs show here: 64 -> 32 -> 15).
    for p in ALL {
        let (_vs, net, spec) = built(&p);
        let c = spec.counts_at(96).unwrap();
        let x = Tensor::zeros([1, 3, 96, 96], (Kind::Float, Device::Cpu));
        let sides = tch::no_grad(|| net.sides(&x));
        let want: Vec<usize> = c.layers.iter().map(|l| l.out_hw).collect();
        assert_eq!(
            sides[..sides.len() - 1],
            want[..want.len() - 1],
            "{}",
            p.name
        );
    }
}

#[test]
fn init_is_drawn_from_the_stream() {
    let p = Published::find("GPUNet-P0").unwrap();
    let (a, _, _) = built(&p);
    let (b, _, _) = built(&p);
    let (va, vb) = (a.variables(), b.variables());
    for (k, t) in &va {
        assert!(t.equal(&vb[k]), "{k}");
    }
}

#[test]
fn naswot_is_a_function_of_the_network_and_its_stream() {
    use crate::measure::naswot;
    let spec = Published::find("GPUNet-P0").unwrap().spec().unwrap();
    let x = Tensor::randn([4, 3, 28, 28], (Kind::Float, Device::Cpu));
    let s = Stream::root("naswot-test");
    let a = naswot(&spec, &x, &s).unwrap();
    assert_eq!(a, naswot(&spec, &x, &s).unwrap());
    // log|det K| of a 4 x 4 kernel whose diagonal is the unit count N_A:
    // at most 4 log N_A (Hadamard), and far above 0 for a real network.
    let units: i64 = {
        let vs = nn::VarStore::new(Device::Cpu);
        let net = Gpunet::new(&vs.root(), &spec);
        let mut n = 0;
        let _ = tch::no_grad(|| net.forward_hooked(&x, &mut |y| n += y.numel() as i64 / 4));
        n
    };
    assert!(
        a > 0.0 && a <= 4.0 * (units as f64).ln() + 1e-9,
        "{a} {units}"
    );
    // Images the kernels do not fit, or of the wrong shape: a clear error.
    // (GPUNet-0's unpadded stride-2 fused blocks: 8 -> 4 -> 1 -> no fit.)
    let g0 = Published::find("GPUNet-0").unwrap().spec().unwrap();
    let tiny = Tensor::zeros([4, 3, 8, 8], (Kind::Float, Device::Cpu));
    assert!(naswot(&g0, &tiny, &s).unwrap_err().contains("does not fit"));
    let grey = Tensor::zeros([4, 1, 28, 28], (Kind::Float, Device::Cpu));
    assert!(naswot(&spec, &grey, &s)
        .unwrap_err()
        .contains("NASWOT needs"));
}

#[test]
fn a_block_and_a_network_can_be_timed() {
    use crate::measure::{time_block, time_spec};
    let spec = Published::find("GPUNet-P0").unwrap().spec().unwrap();
    let t = time_block(&spec.layers[1].block, 56, 0, 1);
    assert!(t > 0.0 && t.is_finite());
    let t = time_spec(&spec, 0, 1);
    assert!(t > 0.0 && t.is_finite());
}
