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
