use super::*;
use crate::problem::{Problem, Sense};
use crate::space::Space;
use flate2::read::GzDecoder;
use std::collections::HashSet;
use std::io::Read;

static NASLIB_ZC: &[u8] = include_bytes!("../../../../../data/nb201/naslib_zc_nasbench201.json.gz");
static TEST_200EP: &[u8] = include_bytes!("../../../../../data/nb201/nats_tss_200ep_test.csv.gz");

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    GzDecoder::new(bytes).read_to_string(&mut s).unwrap();
    s
}

/// Python's json writes non-finite floats as bare `-Infinity`/`NaN` (the
/// NASLib file has a few in its zero-cost scores); make them JSON `null`.
fn json(bytes: &[u8]) -> serde_json::Map<String, serde_json::Value> {
    let text = gunzip(bytes)
        .replace("-Infinity", "null")
        .replace("Infinity", "null")
        .replace("NaN", "null");
    serde_json::from_str(&text).unwrap()
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// NASLib keys look like "(0, 2, 3, 2, 3, 1)".
fn naslib_key(key: &str) -> Vec<usize> {
    key.trim_matches(|c| c == '(' || c == ')')
        .split(',')
        .map(|s| s.trim().parse().unwrap())
        .collect()
}

#[test]
fn nb201_known_values() {
    let t = table();
    assert_eq!(t.len(), 15_625);
    assert!(!t.is_empty());
    let (i, v) = t.best(Metric::TestAccuracy(Dataset::Cifar10));
    assert_eq!((i, round3(v)), (6111, 94.373));
    assert_eq!(
        round3(t.best(Metric::TestAccuracy(Dataset::Cifar100)).1),
        73.513
    );
    assert_eq!(
        round3(t.best(Metric::TestAccuracy(Dataset::ImageNet16_120)).1),
        47.311
    );
    assert_eq!(round3(t.best(Metric::Cifar10ValidValidation).1), 91.607);
    assert_eq!(
        t.get(0).cell.arch_str(),
        "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    );
    // Row 1 of each file, read off the CSVs by hand.
    let r = t.get(1);
    assert_eq!(r.test_accuracy[0], 93.66000000000001);
    assert_eq!(r.cifar10_valid_validation, 90.76933332);
    assert_eq!(r.cifar10_valid_test, 90.51333333);
    assert_eq!(r.train_time, 2169.641376);
    assert_eq!(r.test12[0], 88.22);
    assert_eq!(r.valid12[2], 35.433333353678385);
    assert_eq!(
        t.value(1, Metric::Test12(Dataset::Cifar100)),
        58.25999995727539
    );
    // Minimised metrics pick the smallest value.
    let (_, p) = t.best(Metric::Params(Dataset::Cifar10));
    assert!(t.records().iter().all(|r| r.params[0] >= p));
}

#[test]
fn nb201_table_loads_fast() {
    let start = std::time::Instant::now();
    let t = Table::load();
    let took = start.elapsed();
    eprintln!("nb201 table parse: {took:?}");
    assert_eq!(t.len(), NUM_CELLS);
    assert!(took.as_secs_f64() < 3.0, "table parse took {took:?}");
}

#[test]
fn nb201_round_trips_every_cell() {
    let official: Vec<String> = {
        let mut rdr = csv::Reader::from_reader(GzDecoder::new(TEST_200EP));
        let col = rdr
            .headers()
            .unwrap()
            .iter()
            .position(|h| h == "ArchitectureString")
            .unwrap();
        rdr.records().map(|r| r.unwrap()[col].to_string()).collect()
    };
    let s = space();
    let mut codes = HashSet::new();
    for (i, cell) in all_cells().enumerate() {
        assert_eq!(cell.arch_str(), official[i]);
        assert_eq!(cell.index(), i);
        assert_eq!(Cell::from_index(i).unwrap(), cell);
        assert_eq!(Cell::from_arch_str(&cell.arch_str()).unwrap(), cell);
        assert_eq!(cell.arch_str().parse::<Cell>().unwrap(), cell);
        assert_eq!(Cell::from_ops(&cell.to_vec()).unwrap(), cell);
        assert_eq!(Cell::new(cell.ops()), cell);
        assert_eq!(Cell::from_code(cell.code()).unwrap(), cell);
        assert_eq!(s.index_of(&cell.to_vec()), cell.code());
        assert!(s.contains(&cell.to_vec()));
        assert_eq!(Cell::from_naslib_tuple(&cell.naslib_tuple()).unwrap(), cell);
        assert_eq!(table().get(i).index, i);
        codes.insert(cell.code());
    }
    assert_eq!(codes.len(), NUM_CELLS);
}

#[test]
fn nb201_edge_order() {
    let c = Cell::from_arch_str(
        "|none~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|none~2|",
    )
    .unwrap();
    assert_eq!(c.to_vec(), vec![0, 1, 2, 3, 4, 0]);
    for (e, &(to, from)) in EDGES.iter().enumerate() {
        assert_eq!(c.op_on(to, from), c.ops()[e]);
    }
    // NASLib: ids skip=0 none=1 conv3x3=2 conv1x1=3 avgpool=4; edges
    // (1<-0), (2<-0), (3<-0), (2<-1), (3<-1), (3<-2).
    assert_eq!(c.naslib_tuple(), vec![1, 0, 2, 3, 4, 1]);
}

#[test]
fn nb201_params_flops_match_naslib_sample() {
    let data = json(NASLIB_ZC);
    let mut total = 0;
    for (name, entries) in &data {
        let d = Dataset::parse(name).unwrap();
        let entries = entries.as_object().unwrap();
        for (key, e) in entries {
            let cell = Cell::from_naslib_tuple(&naslib_key(key)).unwrap();
            let p = e["params"]["score"].as_f64().unwrap();
            let f = e["flops"]["score"].as_f64().unwrap();
            assert!(
                (params(cell, d) - p).abs() <= 1e-9 * p,
                "{name} {key}: params {} vs {p}",
                params(cell, d)
            );
            assert!(
                (flops_naslib(cell, d) - f).abs() <= 1e-9 * f,
                "{name} {key}: flops {} vs {f}",
                flops_naslib(cell, d)
            );
            // The table stores the API convention, which differs by BN/ReLU/pool terms.
            assert_eq!(
                table().record_of(cell).params[d.position()],
                params(cell, d)
            );
            assert!(flops(cell, d) < f);
            total += 1;
        }
    }
    // The ImageNet16-120 sample has 724 entries, the others 725.
    assert_eq!(total, 725 + 725 + 724);
}

#[test]
fn nb201_naslib_edge_order_agrees_with_accuracies() {
    // NASLib's val_accuracy is one seed, so it only approximately matches the
    // tables; the right edge map matches far better than the naive one.
    let data = json(NASLIB_ZC);
    let truth = |d: Dataset| match d {
        Dataset::Cifar10 => Metric::Cifar10ValidTest,
        d => Metric::TestAccuracy(d),
    };
    for (name, entries) in &data {
        let d = Dataset::parse(name).unwrap();
        let (mut ours, mut naive, mut n) = (0.0, 0.0, 0.0);
        for (key, e) in entries.as_object().unwrap() {
            let tuple = naslib_key(key);
            let acc = e["val_accuracy"].as_f64().unwrap();
            let cell = Cell::from_naslib_tuple(&tuple).unwrap();
            ours += (table().record_of(cell).value(truth(d)) - acc).abs();
            let ops: Vec<usize> = tuple.iter().map(|&o| NASLIB_OP[o] as usize).collect();
            let naive_cell = Cell::from_ops(&ops).unwrap();
            naive += (table().record_of(naive_cell).value(truth(d)) - acc).abs();
            n += 1.0;
        }
        let (ours, naive) = (ours / n, naive / n);
        eprintln!("{name}: mean |diff| {ours:.3} (ours) vs {naive:.3} (naive order)");
        assert!(
            ours < 0.6 && naive > 2.0 * ours,
            "{name}: {ours} vs {naive}"
        );
    }
}

#[test]
fn nb201_api_flops_published_values() {
    // NB-201 API get_cost_info(0, 'cifar10'): flops 15.64737, params 0.129306.
    let c0 = Cell::from_index(0).unwrap();
    assert!((flops(c0, Dataset::Cifar10) - 15.64737).abs() < 1e-9);
    assert!((params(c0, Dataset::Cifar10) - 0.129306).abs() < 1e-9);
    assert_eq!(flop_count(c0, Dataset::Cifar10), 15_647_370);
    assert_eq!(param_count(c0, Dataset::Cifar10), 129_306);
    // Published CIFAR-10 ranges: FLOPs 7.78..220.11 M, params 0.07..1.53 M.
    let t = table();
    let f = Metric::Flops(Dataset::Cifar10);
    let fmin = t.best(f).1;
    let fmax = t.column(f).into_iter().fold(0.0, f64::max);
    assert_eq!((fmin * 100.0).floor(), 778.0);
    assert_eq!((fmax * 100.0).floor(), 22011.0);
    let p = t.column(Metric::Params(Dataset::Cifar10));
    let pmax = p.iter().cloned().fold(0.0, f64::max);
    assert_eq!(
        (t.best(Metric::Params(Dataset::Cifar10)).1 * 100.0).floor(),
        7.0
    );
    assert_eq!((pmax * 100.0).floor(), 153.0);
    for r in t.records() {
        for d in Dataset::ALL {
            assert_eq!(r.flops[d.position()], flops(r.cell, d));
        }
    }
}

fn msg(e: Nb201Error) -> String {
    e.to_string()
}

#[test]
fn nb201_error_messages() {
    let bad = "|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|";
    let m = msg(Cell::from_arch_str(bad).unwrap_err());
    assert_eq!(
        m,
        format!(
            "unknown op 'conv' in arch string '{bad}'; valid ops: none, skip_connect, nor_conv_1x1, nor_conv_3x3, avg_pool_3x3"
        )
    );
    let m = msg(Cell::from_arch_str("none~0|+|none~0|none~1|+|none~0|none~1|none~2").unwrap_err());
    assert!(m.contains("must start and end with '|'"), "{m}");
    let m = msg(Cell::from_arch_str("|none~0|+|none~0|none~1|").unwrap_err());
    assert!(m.contains("found 2 node groups"), "{m}");
    let m = msg(Cell::from_arch_str("|none~0|+|none~0|+|none~0|none~1|none~2|").unwrap_err());
    assert!(m.contains("node 2 has 1 inputs, expected 2"), "{m}");
    let m =
        msg(Cell::from_arch_str("|none~0|+|none~1|none~0|+|none~0|none~1|none~2|").unwrap_err());
    assert!(m.contains("should come from node 0"), "{m}");
    let m = msg(Cell::from_arch_str("|none|+|none~0|none~1|+|none~0|none~1|none~2|").unwrap_err());
    assert!(m.contains("not of the form op~source"), "{m}");

    assert_eq!(
        msg(Cell::from_ops(&[0, 1, 2]).unwrap_err()),
        "a NAS-Bench-201 cell has 6 edges, but 3 ops were given"
    );
    let m = msg(Cell::from_ops(&[0, 1, 2, 3, 4, 5]).unwrap_err());
    assert!(
        m.starts_with(
            "op id 5 at edge 5 is out of range; valid op ids are 0..=4 (none, skip_connect"
        ),
        "{m}"
    );
    let m = msg(Cell::from_naslib_tuple(&[0, 0, 7, 0, 0, 0]).unwrap_err());
    assert!(
        m.starts_with("NASLib op id 7 at position 2 is out of range"),
        "{m}"
    );
    assert_eq!(
        msg(Cell::from_index(15_625).unwrap_err()),
        "index 15625 is out of range; NAS-Bench-201 has 15625 cells (0..=15624)"
    );
    assert!(Cell::from_code(15_625).is_err());

    assert_eq!(
        msg(Dataset::parse("cifar").unwrap_err()),
        "unknown dataset 'cifar'; valid datasets: cifar10, cifar100, ImageNet16-120"
    );
    let m = msg(Metric::parse("accuracy").unwrap_err());
    assert!(m.starts_with("unknown metric 'accuracy'; valid metrics: cifar10-test, cifar100-test, ImageNet16-120-test, cifar10-valid-valid"), "{m}");
    assert!(m.ends_with("train-time"), "{m}");
}

#[test]
fn nb201_names_parse() {
    for (s, d) in [
        ("cifar10", Dataset::Cifar10),
        ("cifar100", Dataset::Cifar100),
        ("ImageNet16-120", Dataset::ImageNet16_120),
        ("imagenet16-120", Dataset::ImageNet16_120),
        ("ImageNet16_120", Dataset::ImageNet16_120),
    ] {
        assert_eq!(Dataset::parse(s).unwrap(), d);
        assert_eq!(s.parse::<Dataset>().unwrap(), d);
    }
    for d in Dataset::ALL {
        assert_eq!(Dataset::parse(d.name()).unwrap(), d);
        assert_eq!(Dataset::ALL[d.position()], d);
    }
    let names: HashSet<String> = Metric::ALL.iter().map(|m| m.name()).collect();
    assert_eq!(names.len(), Metric::ALL.len());
    for m in Metric::ALL {
        assert_eq!(Metric::parse(&m.name()).unwrap(), m);
        assert_eq!(m.name().to_uppercase().parse::<Metric>().unwrap(), m);
    }
    assert_eq!(
        Metric::parse("cifar10-valid-valid").unwrap(),
        Metric::Cifar10ValidValidation
    );
    assert_eq!(
        Metric::parse("imagenet16-120-test").unwrap(),
        Metric::TestAccuracy(Dataset::ImageNet16_120)
    );
    assert_eq!(Metric::Flops(Dataset::Cifar100).sense(), Sense::Minimize);
    assert_eq!(Metric::Test12(Dataset::Cifar100).sense(), Sense::Maximize);
}

#[test]
fn nb201_problem() {
    let p = Nb201Problem::new(Metric::TestAccuracy(Dataset::Cifar10));
    assert_eq!(p.name(), "nb201-cifar10-test");
    assert_eq!(p.space().size(), NUM_CELLS as u128);
    let best = Cell::from_index(6111).unwrap().to_vec();
    assert_eq!(p.evaluate(&best), vec![p.optimum().unwrap()]);
    assert_eq!(p.senses(), vec![Sense::Maximize]);
    let mut rng = crate::rng::Stream::root("nb201");
    for _ in 0..100 {
        let x = p.space().sample(&mut rng);
        assert!(p.evaluate(&x)[0] <= p.optimum().unwrap());
    }

    let q = Nb201Problem::new(Metric::Params(Dataset::ImageNet16_120));
    assert_eq!(q.metric(), Metric::Params(Dataset::ImageNet16_120));
    assert_eq!(q.senses(), vec![Sense::Minimize]);
    let none = vec![0; 6];
    let v = q.evaluate(&none);
    assert_eq!(v[0], q.optimum().unwrap());
    assert_eq!(q.oriented(&v), vec![-v[0]]);
}
