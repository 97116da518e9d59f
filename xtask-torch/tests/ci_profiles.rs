//! Snapshots of the `ci` profiles of the experiments whose drivers train
//! networks (the shared snapshot test in `tests/` skips them: xtask alone
//! cannot run them), and their thread-count invariance.

use xtask::cli::{ci_summary_with, fresh_test_dir};
use xtask::{config, drivers, runner};

/// Drivers whose results are measurements (times), never snapshot-tested.
const MEASUREMENTS: &[&str] = &["gpunet-latency", "gpunet-predictor"];

#[test]
fn torch_experiments_ci_profiles_match_their_snapshots() {
    let registry = xtask_torch::registry();
    let root = xtask::workspace_root();
    let mut ran = 0;
    for loaded in config::discover(&root)
        .and_then(|d| d.all())
        .expect("configs parse")
    {
        if !drivers::TORCH_DRIVERS.contains(&loaded.exp.driver.as_str()) {
            continue;
        }
        let id = loaded.exp.id.clone();
        if MEASUREMENTS.contains(&loaded.exp.driver.as_str()) {
            // Measured latencies differ from run to run: no snapshot (tested below).
            continue;
        }
        if loaded.exp.problem.get("data").and_then(|v| v.as_str()) == Some("ucf11") {
            // Needs the user's UCF11 data; its missing-data error is tested below.
            continue;
        }
        if loaded.exp.problem.get("dataset").and_then(|v| v.as_str()) == Some("cifar10") {
            // Needs the user's CIFAR-10 (and a GPU for its full profile); its
            // missing-data error is tested below.
            continue;
        }
        insta::assert_snapshot!(
            id.clone(),
            ci_summary_with(&registry, &root, loaded, None, None, None)
        );
        ran += 1;
    }
    assert!(ran > 0, "no libtorch experiment found");
}

#[test]
fn training_results_do_not_depend_on_thread_count() {
    let registry = xtask_torch::registry();
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "btrnn-train").unwrap();
    let one = ci_summary_with(&registry, &root, loaded.clone(), Some(1), Some(1), Some(1));
    let two = ci_summary_with(&registry, &root, loaded, Some(1), Some(1), Some(2));
    assert_eq!(one, two);
}

#[test]
fn gpunet_search_does_not_depend_on_thread_count() {
    let registry = xtask_torch::registry();
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "gpunet-search").unwrap();
    let one = ci_summary_with(&registry, &root, loaded.clone(), Some(1), Some(4), Some(1));
    let two = ci_summary_with(&registry, &root, loaded, Some(1), Some(4), Some(2));
    assert_eq!(one, two);
}

#[test]
fn fewshot_training_and_darts_do_not_depend_on_thread_count() {
    // Each (method, seed) job trains on one torch thread; the jobs' order on
    // the worker pool must not reach the numbers.
    let registry = xtask_torch::registry();
    let root = xtask::workspace_root();
    for id in ["fewshot-nb201-train", "fewshot-nb201-darts"] {
        let loaded = config::find(&root, id).unwrap();
        let one = ci_summary_with(&registry, &root, loaded.clone(), None, None, Some(1));
        let two = ci_summary_with(&registry, &root, loaded, None, None, Some(2));
        assert_eq!(one, two, "{id}");
    }
}

#[test]
fn matched_cost_darts_trains_the_few_shot_total_of_epochs() {
    // `epoch_factor = 5` gives one-shot DARTS the epochs of the 5
    // sub-supernet searches (the matched-cost variant the full config names
    // but does not run).
    let root = xtask::workspace_root();
    let mut l = config::find(&root, "fewshot-nb201-darts").unwrap();
    let mut m = l.exp.methods[0].clone();
    assert_eq!(m.algorithm, "one-shot");
    m.name = "one-shot DARTS, matched cost".into();
    m.params.insert("epoch_factor".into(), 5.into());
    l.exp.methods.push(m);
    let opts = runner::Options {
        methods: Some(vec![
            "few-shot DARTS".into(),
            "one-shot DARTS, matched cost".into(),
        ]),
        ..xtask::cli::test_options(&fresh_test_dir("darts-matched"))
    };
    let opts = runner::Options {
        drivers: xtask_torch::registry(),
        ..opts
    };
    let out = runner::reproduce(&root, l, &opts).unwrap();
    let epochs: Vec<f64> = out
        .records
        .iter()
        .map(|(_, recs)| recs[0].scalars["darts_epochs"])
        .collect();
    assert_eq!(epochs.len(), 2);
    assert_eq!(
        epochs[0], epochs[1],
        "few-shot vs matched-cost one-shot epochs"
    );
    assert!(epochs[0] >= 5.0);
    let _ = std::fs::remove_dir_all(out.out);
}

#[test]
fn ucf11_without_data_fails_with_a_clear_message() {
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "btrnn-ucf11").unwrap();
    let opts = runner::Options {
        profile: "ci".into(),
        out: Some(fresh_test_dir("ucf11")),
        progress: false,
        drivers: xtask_torch::registry(),
        ..Default::default()
    };
    if std::env::var_os("UCF11_DIR").is_some() {
        return;
    }
    // `xtask-torch check` tells missing data from a bad config.
    let e = config::check_with(&xtask_torch::registry(), &loaded).unwrap_err();
    assert!(
        e.chain().any(|c| c.is::<xtask_torch::MissingData>()),
        "{e:#}"
    );
    let e = format!("{:#}", runner::reproduce(&root, loaded, &opts).unwrap_err());
    assert!(e.contains("UCF11"), "{e}");
}

#[test]
fn cifar10_configs_without_data_fail_with_a_clear_message() {
    if std::env::var_os("CIFAR10_DIR").is_some() {
        return;
    }
    let root = xtask::workspace_root();
    for id in ["fewshot-nb201-train-cifar10", "fewshot-nb201-darts-cifar10"] {
        let loaded = config::find(&root, id).unwrap();
        let opts = runner::Options {
            profile: "ci".into(),
            out: Some(fresh_test_dir(id)),
            progress: false,
            drivers: xtask_torch::registry(),
            ..Default::default()
        };
        let e = config::check_with(&xtask_torch::registry(), &loaded).unwrap_err();
        assert!(
            e.chain().any(|c| c.is::<xtask_torch::MissingData>()),
            "{id}: {e:#}"
        );
        let e = format!("{:#}", runner::reproduce(&root, loaded, &opts).unwrap_err());
        assert!(e.contains("CIFAR-10 is not available here"), "{id}: {e}");
        assert!(e.contains("CIFAR10_DIR"), "{id}: {e}");
    }
}

#[test]
fn xtask_lists_exactly_the_drivers_this_binary_adds() {
    // xtask hands experiments to this binary by driver name without linking
    // libtorch; the list it uses must be what this binary provides.
    let builtin: Vec<&str> = drivers::Registry::builtin()
        .all()
        .iter()
        .map(|d| d.name)
        .collect();
    let added: Vec<&str> = xtask_torch::registry()
        .all()
        .iter()
        .map(|d| d.name)
        .filter(|n| !builtin.contains(n))
        .collect();
    assert_eq!(added, drivers::TORCH_DRIVERS);
}

#[test]
fn gpunet_latency_ci_measures_every_model_and_batch() {
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "gpunet-latency").unwrap();
    let opts = runner::Options {
        profile: "ci".into(),
        out: Some(fresh_test_dir("gpunet-latency")),
        progress: false,
        drivers: xtask_torch::registry(),
        ..Default::default()
    };
    let profile = loaded.with_profile("ci").unwrap();
    let models = profile.exp.problem["models"].as_array().unwrap().len();
    let batches = profile.exp.problem["batch_sizes"].as_array().unwrap().len();
    let out = runner::reproduce(&root, loaded, &opts).unwrap();
    assert_eq!(out.records.len(), 1);
    let r = &out.records[0].1[0];
    let table = r.table.as_ref().unwrap();
    assert_eq!(table.rows.len(), models * batches);
    for row in &table.rows {
        let med: f64 = row[4].parse().unwrap();
        assert!(med > 0.0 && med.is_finite(), "{row:?}");
    }
    let rho = r.scalars["spearman_b1_vs_reference"];
    assert!((-1.0..=1.0).contains(&rho), "{rho}");
}
