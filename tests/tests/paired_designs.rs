//! `problem.initial_design = "paired"` in the LA-MCTS drivers (issue 19):
//! every method of a seed starts from the same points, methods with a larger
//! design of their own top it up, and the option is checked before any run.

use std::path::Path;
use xtask::cli::fresh_test_dir;
use xtask::config::{self, Loaded};
use xtask::runner::{self, Options};

fn opts(out: &Path) -> Options {
    Options {
        seed_list: Some(vec![0, 1]),
        budget: Some(16),
        ..xtask::cli::test_options(out)
    }
}

fn with_problem(mut l: Loaded, kv: &[(&str, toml::Value)]) -> Loaded {
    for (k, v) in kv {
        l.exp.problem.insert(k.to_string(), v.clone());
    }
    l
}

/// Each method's evaluated points `x` (the table's last column), per seed.
fn points(l: Loaded, name: &str) -> Vec<(String, u64, Vec<String>)> {
    let out = fresh_test_dir(name);
    let outcome = runner::reproduce(&xtask::workspace_root(), l, &opts(&out)).unwrap();
    let mut all = vec![];
    for (method, recs) in &outcome.records {
        for r in recs {
            let t = r.table.as_ref().expect("the LA-MCTS drivers write a table");
            let xcol = t.header.iter().position(|h| h == "x").unwrap();
            all.push((
                method.clone(),
                r.seed,
                t.rows.iter().map(|row| row[xcol].clone()).collect(),
            ));
        }
    }
    let _ = std::fs::remove_dir_all(out);
    all
}

#[test]
fn paired_designs_give_every_method_the_same_first_points() {
    let root = xtask::workspace_root();
    let l = config::find(&root, "lamcts-ackley-20").unwrap();
    let paired = with_problem(
        l.clone(),
        &[
            ("initial_design", "paired".into()),
            ("design_size", 5.into()),
        ],
    );
    let runs = points(paired, "paired-designs");
    assert!(runs.len() >= 8, "{} runs", runs.len());
    for seed in [0, 1] {
        let of_seed: Vec<_> = runs.iter().filter(|r| r.1 == seed).collect();
        let first = &of_seed[0].2[..5];
        for (m, _, xs) in &of_seed {
            assert_eq!(&xs[..5], first, "{m}, seed {seed}");
        }
        // Past the design, methods differ.
        assert!(of_seed.iter().any(|r| r.2[5..] != of_seed[0].2[5..]));
    }
    // Seeds get different designs.
    assert_ne!(runs[0].2[..5], runs[1].2[..5]);

    // The default (per-method) is what it was: the methods' first points differ.
    let own = points(l, "per-method-designs");
    let s0: Vec<_> = own.iter().filter(|r| r.1 == 0).collect();
    assert!(s0.iter().any(|r| r.2[0] != s0[0].2[0]));
}

#[test]
fn paired_design_options_are_checked_before_any_run() {
    let root = xtask::workspace_root();
    let out = fresh_test_dir("paired-designs-bad");
    for (id, kv, want) in [
        (
            "lamcts-ackley-20",
            vec![("initial_design", toml::Value::from("shared"))],
            "per-method, paired",
        ),
        (
            "lamcts-ackley-20",
            vec![
                ("initial_design", "paired".into()),
                ("design_size", 0.into()),
            ],
            "design_size",
        ),
        (
            // A size without "paired" is an unknown key, not silently ignored.
            "lamcts-swimmer",
            vec![("design_size", 5.into())],
            "design_size",
        ),
    ] {
        let l = with_problem(config::find(&root, id).unwrap(), &kv);
        let e = format!(
            "{:#}",
            runner::reproduce(&root, l, &opts(&out)).unwrap_err()
        );
        assert!(e.contains(want), "{id} {kv:?}: {e}");
        assert!(e.contains(".toml"), "{id}: names the file: {e}");
    }
    assert!(!out.join("runs").exists(), "nothing ran");
    let _ = std::fs::remove_dir_all(out);
}

/// Each run's curve, per (method, seed).
fn curves(l: Loaded, name: &str, methods: Option<Vec<String>>) -> Vec<(String, u64, Vec<f64>)> {
    let out = fresh_test_dir(name);
    let o = Options {
        methods,
        budget: Some(40),
        ..opts(&out)
    };
    let outcome = runner::reproduce(&xtask::workspace_root(), l, &o).unwrap();
    let _ = std::fs::remove_dir_all(out);
    outcome
        .records
        .iter()
        .flat_map(|(m, recs)| {
            recs.iter()
                .map(move |r| (m.clone(), r.seed, r.curve.clone()))
        })
        .collect()
}

#[test]
fn finite_space_drivers_share_a_distinct_design() {
    // NAS tables (LaNAS, REA, random without replacement) and the few-shot
    // search (REA with different fitness): with a paired design of 8
    // distinct cells, every method's best-so-far curve agrees over its
    // first 8 samples.
    let root = xtask::workspace_root();
    let paired = [
        ("initial_design", toml::Value::from("paired")),
        ("design_size", 8.into()),
    ];
    for (id, methods) in [
        (
            "lanas-nb201-cifar10-test",
            Some(vec!["LaNAS".into(), "REA".into(), "random search".into()]),
        ),
        ("fewshot-nb201-search", None),
    ] {
        let l = config::find(&root, id).unwrap();
        let runs = curves(with_problem(l.clone(), &paired), id, methods.clone());
        assert!(runs.len() >= 6, "{id}: {} runs", runs.len());
        for seed in [0, 1] {
            let s: Vec<_> = runs.iter().filter(|r| r.1 == seed).collect();
            for (m, _, c) in &s {
                assert_eq!(c[..8], s[0].2[..8], "{id}: {m}, seed {seed}");
            }
        }
        // Per method (the default), the first samples differ somewhere.
        let own = curves(l, &format!("{id}-own"), methods);
        assert!(
            own.iter().any(|r| r.2[..8] != own[0].2[..8]),
            "{id}: per-method designs should differ"
        );
    }

    // AlphaX's MCTS has no design to share: a clear error before any run.
    let l = with_problem(
        config::find(&root, "lanas-nb201-cifar10-test").unwrap(),
        &paired,
    );
    let out = fresh_test_dir("paired-alphax");
    let e = format!(
        "{:#}",
        runner::reproduce(&root, l, &opts(&out)).unwrap_err()
    );
    assert!(e.contains("MCTS") && e.contains("AlphaX"), "{e}");
    let _ = std::fs::remove_dir_all(out);
}
