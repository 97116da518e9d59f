use crate::counts::{conv_out, fused_pad, sym_pad};
use crate::published::ALL;
use crate::spec::*;

#[test]
fn make_divisible_matches_the_reference_rule() {
    // Hand-computed from timm's rule: nearest multiple of 8, at least 8,
    // one step up when rounding down loses more than 10%.
    assert_eq!(make_divisible(32.0 * 5.0), 160);
    assert_eq!(make_divisible(96.0 * 7.67), 736); // 736.32
    assert_eq!(make_divisible(256.0 * 4.25), 1088);
    assert_eq!(make_divisible(704.0 * 3.82), 2688); // 2689.28 -> 2688
    assert_eq!(make_divisible(3.0), 8);
    assert_eq!(make_divisible(12.0), 16); // 12 + 4 = 16
    assert_eq!(make_divisible(11.9), 8 + 8); // 8 < 0.9 * 11.9 -> 16
    assert_eq!(make_divisible(8.7), 8);
}

#[test]
fn se_width_is_a_quarter_of_the_input_rounded_half_to_even() {
    let b = Block::Irb {
        cin: 96,
        cout: 160,
        kernel: 3,
        stride: 2,
        expansion: 2.0,
        act: Act::Swish,
        se: true,
    };
    assert_eq!(b.mid(), Some(192));
    assert_eq!(b.se_channels(), Some(24));
    // mid 736 (96 x 7.67 rounded) x 0.25 / 7.67 = 23.99 -> 24
    let b = Block::Irb {
        cin: 96,
        cout: 96,
        kernel: 3,
        stride: 1,
        expansion: 7.67,
        act: Act::Relu,
        se: true,
    };
    assert_eq!(b.se_channels(), Some(24));
    // 2.5 rounds to 2 (Python's round), not 3.
    let b = Block::FusedIrb {
        cin: 10,
        cout: 10,
        kernel: 3,
        stride: 1,
        expansion: 1.6,
        act: Act::Relu,
        se: true,
    };
    assert_eq!(b.mid(), Some(16));
    assert_eq!(b.se_channels(), Some(2)); // 16 x 0.25 / 1.6 = 2.5
}

#[test]
fn padding_conventions() {
    assert_eq!(sym_pad(3, 2), 1);
    assert_eq!(sym_pad(5, 2), 2);
    assert_eq!(sym_pad(5, 1), 2);
    assert_eq!(fused_pad(3, 1), 1);
    // The reference's fused block at stride 2 builds its conv unpadded.
    assert_eq!(fused_pad(3, 2), 0);
    assert_eq!(conv_out(160, 3, 2, 0), Some(79));
    assert_eq!(conv_out(160, 3, 2, 1), Some(80));
    assert_eq!(conv_out(2, 5, 1, 0), None);
}

#[test]
fn every_published_model_parses_and_chains() {
    for p in ALL {
        let s = p.spec().unwrap_or_else(|e| panic!("{}: {e}", p.name));
        assert_eq!(s.classes(), 1000, "{}", p.name);
        assert_eq!(s.in_channels(), 3, "{}", p.name);
        let c = s.counts();
        assert_eq!(c.params, c.layers.iter().map(|l| l.params).sum::<u64>());
        assert_eq!(c.macs, c.layers.iter().map(|l| l.macs).sum::<u64>());
        // The tail pools to 1 x 1 on its own: the last spatial side is > 1.
        assert!(c.layers.last().unwrap().in_hw > 1, "{}", p.name);
    }
    let d: Vec<&str> = ALL
        .iter()
        .filter(|p| p.spec().unwrap().distill)
        .map(|p| p.name)
        .collect();
    assert_eq!(d, ["GPUNet-D1", "GPUNet-D2"]);
}

#[test]
fn gpunet0_by_hand() {
    // GPUNet-0 at 320: head 3x3 s2 -> 160; fused s2 unpadded -> 79;
    // fused s2 -> 39; irb s2 -> 20; irb s2 -> 10.
    let s = crate::Published::find("0.65ms").unwrap().spec().unwrap();
    let c = s.counts();
    let outs: Vec<usize> = c.layers.iter().map(|l| l.out_hw).collect();
    assert_eq!(
        outs,
        [160, 160, 160, 79, 79, 39, 39, 39, 20, 20, 20, 10, 10, 10]
    );
    // Head: 3x3x3x32 weights + BN 64.
    assert_eq!(c.layers[0].params, 864 + 64);
    assert_eq!(c.layers[0].macs, 864 * 160 * 160);
    // Tail: 704 -> 1280 1x1 conv, BN, linear 1280 -> 1000.
    assert_eq!(
        c.layers[13].params,
        704 * 1280 + 2 * 1280 + 1280 * 1000 + 1000
    );
    assert_eq!(c.layers[13].macs, 704 * 1280 * 100 + 1280 * 1000);
    // First irb with SE: 256 -> 704, e5, k3, s2, mid 1280, SE 64.
    let l = &c.layers[11];
    let mid = 1280u64;
    let se = 64u64;
    let p = 256 * mid
        + 2 * mid
        + 9 * mid
        + 2 * mid
        + (mid * se + se)
        + (se * mid + mid)
        + mid * 704
        + 2 * 704;
    assert_eq!(l.params, p);
    let m = 256 * mid * 400 + 9 * mid * 100 + 2 * mid * se + mid * 704 * 100;
    assert_eq!(l.macs, m);
}

fn err(json: &str) -> String {
    Spec::parse(json).unwrap_err().to_string()
}

#[test]
fn bad_json_gives_clear_errors() {
    let data = r#"{"layer_type": "data", "img_resolution": 224, "distill": false}"#;
    let head = r#"{"layer_type": "head", "num_in_channels": 3, "num_out_channels": 32}"#;
    let tail = r#"{"layer_type": "tail", "num_in_channels": 32, "num_out_channels": 64, "num_classes": 10}"#;
    assert!(Spec::parse(&format!("[{data},{head},{tail}]")).is_ok());
    assert!(err("{}").contains("expected a list"));
    assert!(err(&format!("[{head}]")).contains("`data` entry"));
    let e = err(&format!(
        r#"[{data},{head},{{"layer_type": "irb", "num_in_channels": 32, "num_out_channels": 32, "stride": 1, "expansion": 2, "kernel_size": 3, "act": "gelu", "use_se": false}},{tail}]"#
    ));
    assert!(
        e.contains("layer 2 (`irb`), key `act`") && e.contains("relu, swish"),
        "{e}"
    );
    let e = err(&format!(
        r#"[{data},{head},{{"layer_type": "conv", "num_in_channels": 16, "num_out_channels": 32, "stride": 1, "kernel_size": 3, "act": "relu"}},{tail}]"#
    ));
    assert!(
        e.contains("key `num_in_channels`") && e.contains("gives 32"),
        "{e}"
    );
    let e = err(&format!(
        r#"[{data},{head},{{"layer_type": "conv", "num_in_channels": 32, "num_out_channels": 32, "stride": 3, "kernel_size": 3, "act": "relu"}},{tail}]"#
    ));
    assert!(e.contains("key `stride`") && e.contains("1, 2"), "{e}");
    let e = err(&format!(
        r#"[{data},{head},{{"layer_type": "conv", "num_in_channels": 32, "num_out_channels": 32, "stride": 1, "kernel_size": 3, "act": "relu", "kernal": 3}},{tail}]"#
    ));
    assert!(
        e.contains("key `kernal`") && e.contains("unknown key"),
        "{e}"
    );
    let e = err(&format!(
        r#"[{data},{head},{{"layer_type": "pool"}},{tail}]"#
    ));
    assert!(
        e.contains("unknown layer type `pool`") && e.contains("fused_irb"),
        "{e}"
    );
    let e = err(&format!(
        r#"[{data},{{"layer_type": "head_large", "num_in_channels": 3, "num_out_channels": 32}},{tail}]"#
    ));
    assert!(e.contains("not a module of the ordinary builder"), "{e}");
    let dd = r#"{"layer_type": "data", "img_resolution": 224, "distill": true}"#;
    let e = err(&format!(
        r#"[{dd},{head},{{"layer_type": "irb", "num_in_channels": 32, "num_out_channels": 32, "stride": 1, "expansion": 2.5, "kernel_size": 3, "groups": 1}},{tail}]"#
    ));
    assert!(e.contains("integer expansion"), "{e}");
    assert!(err(&format!("[{data},{head}]")).contains("last layer must be the `tail`"));
    let tiny = r#"{"layer_type": "data", "img_resolution": 4, "distill": false}"#;
    let e = err(&format!(
        r#"[{tiny},{head},{{"layer_type": "fused_irb", "num_in_channels": 32, "num_out_channels": 32, "stride": 2, "kernel_size": 5, "expansion": 1, "act": "relu", "use_se": false}},{tail}]"#
    ));
    assert!(e.contains("does not fit"), "{e}");
}

#[test]
fn every_published_json_round_trips_through_to_json() {
    for p in ALL {
        let s = p.spec().unwrap();
        assert_eq!(Spec::parse(&s.to_json()).unwrap(), s, "{}", p.name);
    }
}

mod space {
    use crate::published::{Published, ALL};
    use crate::space::*;
    use searchkit::rng::Stream;

    fn arch(name: &str) -> Result<Arch, String> {
        Arch::from_spec(&Published::find(name).unwrap().spec().unwrap())
    }

    #[test]
    fn published_models_against_the_space() {
        let space = GpunetSpace::new();
        // GPUNet-0/1/2 read as stage configurations and convert back exactly.
        for name in ["GPUNet-0", "GPUNet-1", "GPUNet-2"] {
            let spec = Published::find(name).unwrap().spec().unwrap();
            let a = Arch::from_spec(&spec).unwrap();
            assert_eq!(a.to_spec().unwrap(), spec, "{name}");
        }
        let v = |n: &str| space.encode(&arch(n).unwrap()).unwrap_err();
        assert_eq!(
            v("GPUNet-2"),
            ["classifier width 1280, the space's is 1792"]
        );
        assert_eq!(
            v("GPUNet-0"),
            [
                "stage 4: 256 filters, the space allows 96..192 step 16",
                "stage 6: 704 filters, the space allows 128..416 step 32",
                "classifier width 1280, the space's is 1792",
            ]
        );
        assert_eq!(
            v("GPUNet-1"),
            [
                "stage 5: 288 filters, the space allows 112..224 step 16",
                "stage 6: 448 filters, the space allows 128..416 step 32",
                "classifier width 1280, the space's is 1792",
            ]
        );
        // The others are not stage configurations at all.
        assert!(arch("GPUNet-P0")
            .unwrap_err()
            .contains("stage 2 is a FusedIrb stage"));
        assert!(arch("GPUNet-P1")
            .unwrap_err()
            .contains("stage 2 is a FusedIrb stage"));
        assert!(arch("GPUNet-D1").unwrap_err().contains("distilled"));
        assert!(arch("GPUNet-D2").unwrap_err().contains("distilled"));
        assert_eq!(ALL.len(), 7);
        // GPUNet-2 with the table's classifier width is a member.
        let mut a = arch("GPUNet-2").unwrap();
        a.tail_filters = TAIL_FILTERS;
        let x = space.encode(&a).unwrap();
        assert!(space.is_valid(&x));
        assert_eq!(space.decode(&x).unwrap(), a);
    }

    #[test]
    fn random_points_decode_build_and_encode_back() {
        let space = GpunetSpace::new();
        let mut r = Stream::root("gpunet-space-test");
        let mut valid = 0;
        for _ in 0..300 {
            let x: Vec<usize> = space
                .cat
                .cardinalities
                .iter()
                .map(|&c| r.below(c))
                .collect();
            if !space.is_valid(&x) {
                assert!(space.decode(&x).is_err());
                continue;
            }
            valid += 1;
            let a = space.decode(&x).unwrap();
            assert!(a.violations().is_empty(), "{:?}", a.violations());
            assert_eq!(space.encode(&a).unwrap(), x);
            let spec = a.to_spec().unwrap();
            assert_eq!(Arch::from_spec(&spec).unwrap(), a);
            assert!(spec.counts().params > 0);
        }
        assert!(valid > 50, "{valid}");
        assert!(space.cat.size() > 1_000_000_000_000);
    }
}

mod search {
    use crate::search::*;
    use crate::space::GpunetSpace;
    use searchkit::rng::Stream;

    #[test]
    fn every_box_point_is_a_network_that_fits_the_proxy_input() {
        let space = GpunetSpace::new();
        let d = space.cat.cardinalities.len();
        let mut r = Stream::root("gpunet-box-test");
        let mut points: Vec<Vec<f64>> = vec![vec![0.0; d], vec![1.0; d], vec![0.5; d]];
        // The smallest resolution with the largest kernels: the tightest fit.
        let mut tight = vec![1.0; d];
        tight[0] = 0.0;
        points.push(tight);
        points.extend((0..200).map(|_| (0..d).map(|_| r.uniform()).collect()));
        for u in &points {
            let x = space.from_unit(u).unwrap();
            assert!(space.is_valid(&x), "{u:?}");
            let spec = space.decode(&x).unwrap().to_spec().unwrap();
            spec.shapes(proxy_side(spec.resolution)).unwrap();
            assert!(layer_keys(&spec).unwrap().len() == spec.layers.len());
        }
        assert!(space.from_unit(&[0.5]).unwrap_err().contains("coordinates"));
    }

    #[test]
    fn tiers_and_front() {
        // (proxy, latency)
        let pts = [
            (1.0, 10.0),
            (3.0, 30.0),
            (2.0, 5.0),
            (2.5, 40.0),
            (f64::NAN, 1.0),
        ];
        assert_eq!(front(&pts), vec![2, 1]);
        assert_eq!(
            best_per_tier(&pts, &[4.0, 5.0, 29.0, 100.0]),
            vec![None, Some(2), Some(2), Some(1)]
        );
    }

    #[test]
    fn the_table_measures_each_layer_key_once() {
        let spec = crate::Published::find("GPUNet-1").unwrap().spec().unwrap();
        let mut lut = Lut::default();
        let mut calls = 0;
        let a = lut
            .predict(&spec, &mut |_, side| {
                calls += 1;
                side as f64
            })
            .unwrap();
        let b = lut.predict(&spec, &mut |_, _| unreachable!()).unwrap();
        assert_eq!(a, b);
        assert_eq!(calls, lut.len());
        assert_eq!(
            calls + lut.repeated_layers(&spec).unwrap(),
            spec.layers.len()
        );
        // The sum is over all layers, repeated ones included.
        let sides: f64 = spec
            .shapes(spec.resolution)
            .unwrap()
            .iter()
            .map(|s| s.0 as f64)
            .sum();
        assert_eq!(a, sides);
    }
}
