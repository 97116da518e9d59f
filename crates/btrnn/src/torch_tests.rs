//! Tests of the layers and the model against dense references.

use crate::data::{fashion_mnist_subset, make_clips, ClipSpec};
use crate::layers::InputMap;
use crate::model::{train, GateActivation, LstmClassifier, TrainConfig};
use crate::shapes::{forward_macs, ucf11_modes, MapKind, Modes};
use searchkit::rng::Stream;
use tch::{nn, Device, Kind, Tensor};

fn max_abs(t: &Tensor) -> f64 {
    f64::try_from(t.abs().max()).unwrap()
}

fn random_input(rows: i64, cols: usize, seed: &str) -> Tensor {
    let mut r = Stream::root(seed);
    let v: Vec<f32> = (0..rows as usize * cols)
        .map(|_| r.normal() as f32)
        .collect();
    Tensor::from_slice(&v).view([rows, cols as i64])
}

fn check_against_dense(modes: Modes, kind: MapKind) {
    tch::set_num_threads(1);
    let vs = nn::VarStore::new(Device::Cpu);
    let map = InputMap::new(
        &vs.root(),
        modes.clone(),
        kind.clone(),
        0.5,
        &Stream::root("w"),
    )
    .unwrap();
    assert_eq!(map.num_params(), kind.params(&modes), "{kind}");
    let x = random_input(5, modes.input_size(), "x");
    let y = map.forward(&x);
    assert_eq!(y.size(), vec![5, modes.output_size() as i64]);
    let w = map.dense_weight();
    assert_eq!(
        w.size(),
        vec![modes.input_size() as i64, modes.output_size() as i64]
    );
    let dense = x.matmul(&w);
    let scale = max_abs(&dense).max(1e-6);
    assert!(
        max_abs(&(y - dense)) / scale < 1e-4,
        "{kind}: mode-by-mode forward differs from the dense matrix"
    );
}

#[test]
fn block_term_forward_equals_its_dense_matrix() {
    // Orders 2, 3, 4 and 5; ranks that differ per mode; modes that grow and shrink.
    check_against_dense(
        Modes::new(vec![4, 6], vec![2, 3], 4).unwrap(),
        MapKind::BlockTerm {
            ranks: vec![2, 3],
            blocks: 2,
        },
    );
    check_against_dense(
        Modes::new(vec![3, 5, 4], vec![2, 2, 3], 1).unwrap(),
        MapKind::BlockTerm {
            ranks: vec![1, 2, 3],
            blocks: 3,
        },
    );
    check_against_dense(
        Modes::new(vec![2, 5, 5, 4], vec![2, 2, 2, 2], 4).unwrap(),
        MapKind::BlockTerm {
            ranks: vec![2; 4],
            blocks: 2,
        },
    );
    check_against_dense(
        Modes::new(vec![2, 3, 2, 3, 2], vec![2, 1, 2, 1, 2], 4).unwrap(),
        MapKind::BlockTerm {
            ranks: vec![2, 1, 2, 2, 1],
            blocks: 1,
        },
    );
}

#[test]
fn tensor_train_forward_equals_its_dense_matrix() {
    check_against_dense(
        Modes::new(vec![4, 6], vec![2, 3], 4).unwrap(),
        MapKind::TensorTrain {
            ranks: vec![1, 3, 1],
        },
    );
    check_against_dense(
        Modes::new(vec![2, 5, 5, 4], vec![2, 2, 2, 2], 4).unwrap(),
        MapKind::TensorTrain {
            ranks: vec![1, 2, 3, 2, 1],
        },
    );
}

/// `matched_init_std` gives the represented matrix the dense matrix's entry
/// spread (checked on the full 4,096 x 1,024 matrix of the clip task).
#[test]
fn matched_init_gives_the_dense_entry_spread() {
    let m = Modes::new(vec![8; 4], vec![4; 4], 4).unwrap();
    let std_of = |kind: MapKind, s: f64| {
        let vs = nn::VarStore::new(Device::Cpu);
        let map = InputMap::new(&vs.root(), m.clone(), kind, s, &Stream::root("m")).unwrap();
        f64::try_from(map.dense_weight().std(true)).unwrap()
    };
    let dense = std_of(MapKind::Dense, 0.1);
    for kind in [
        MapKind::BlockTerm {
            ranks: vec![4; 4],
            blocks: 2,
        },
        MapKind::BlockTerm {
            ranks: vec![2; 4],
            blocks: 2,
        },
        MapKind::TensorTrain {
            ranks: vec![1, 4, 4, 4, 1],
        },
    ] {
        let s = kind.matched_init_std(0.1);
        let got = std_of(kind.clone(), s);
        // A few shared factors make the spread itself random: within 2x
        // (the authors' scales are ~1e-5 of it).
        assert!(
            (0.5..2.0).contains(&(got / dense)),
            "{kind}: std {got} vs dense {dense} (scale {s})"
        );
    }
}

#[test]
fn ucf11_maps_have_the_counted_parameters_and_cheap_forward() {
    let m = ucf11_modes();
    let vs = nn::VarStore::new(Device::Cpu);
    let bt = MapKind::BlockTerm {
        ranks: vec![4; 4],
        blocks: 2,
    };
    let map = InputMap::new(&vs.root(), m.clone(), bt.clone(), 0.05, &Stream::root("u")).unwrap();
    assert_eq!(map.num_params(), 3392);
    let y = map.forward(&Tensor::zeros([2, 57600], (Kind::Float, Device::Cpu)));
    assert_eq!(y.size(), vec![2, 1024]);
    // Mode-by-mode contraction needs far fewer multiply-adds than the matrix.
    assert!(forward_macs(&m, &bt) * 10 < forward_macs(&m, &MapKind::Dense));
}

#[test]
fn training_is_reproducible_and_learns() {
    tch::set_num_threads(1);
    let (tr, te) = fashion_mnist_subset();
    let spec = ClipSpec {
        canvas: 32,
        frames: 3,
        max_speed: 2,
    };
    let train_clips = make_clips(&tr, 200, &spec, &Stream::root("train")).unwrap();
    let test_clips = make_clips(&te, 100, &spec, &Stream::root("test")).unwrap();
    let modes = Modes::new(vec![4, 8, 8, 4], vec![2, 2, 2, 2], 4).unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 16,
        lr: 1e-2,
        decay: 0.0,
        l2: 1e-3,
        dropout: 0.25,
        recurrent_dropout: 0.25,
        device: Device::Cpu,
    };
    let run = || {
        let vs = nn::VarStore::new(Device::Cpu);
        let kind = MapKind::BlockTerm {
            ranks: vec![2; 4],
            blocks: 2,
        };
        let model = LstmClassifier::new(
            &vs,
            modes.clone(),
            kind,
            0.3,
            10,
            GateActivation::HardSigmoid,
            &Stream::root("m"),
        )
        .unwrap();
        train(
            &vs,
            &model,
            &train_clips,
            &test_clips,
            &cfg,
            &Stream::root("t"),
            |_| {},
        )
        .unwrap()
    };
    let a = run();
    let b = run();
    assert_eq!(a, b, "same streams, same numbers");
    assert!(a[2].train_loss < a[0].train_loss, "{a:?}");
    assert!(a[2].test_acc > 15.0, "{a:?}");
}
