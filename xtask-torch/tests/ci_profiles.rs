//! Snapshots of the `ci` profiles of the experiments whose drivers train
//! networks (the shared snapshot test in `tests/` skips them: xtask alone
//! cannot run them), and their thread-count invariance.

use xtask::cli::{ci_summary_with, fresh_test_dir};
use xtask::{config, drivers, runner};

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
        if loaded.exp.problem.get("data").and_then(|v| v.as_str()) == Some("ucf11") {
            // Needs the user's UCF11 data; its missing-data error is tested below.
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
    let e = format!("{:#}", runner::reproduce(&root, loaded, &opts).unwrap_err());
    assert!(e.contains("UCF11"), "{e}");
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
