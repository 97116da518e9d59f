//! Snapshots of the `ci` profiles of the experiments whose drivers train
//! networks (the shared snapshot test in `tests/` skips them: xtask alone
//! cannot run them), and their thread-count invariance.

use std::path::PathBuf;
use xtask::{config, drivers, report, runner};

fn out_dir(id: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("spacepart-torch-snap-{}-{id}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

#[test]
fn torch_experiments_ci_profiles_match_their_snapshots() {
    xtask_torch::register();
    let root = xtask::workspace_root();
    let mut ran = 0;
    for loaded in config::discover(&root).expect("configs parse") {
        if !drivers::TORCH_DRIVERS.contains(&loaded.exp.driver.as_str()) {
            continue;
        }
        let id = loaded.exp.id.clone();
        if loaded.exp.problem.get("data").and_then(|v| v.as_str()) == Some("ucf11") {
            // Needs the user's UCF11 data; its missing-data error is tested below.
            continue;
        }
        let out = out_dir(&id);
        let opts = runner::Options {
            profile: "ci".into(),
            out: Some(out.clone()),
            progress: false,
            ..Default::default()
        };
        let outcome =
            runner::reproduce(&root, loaded, &opts).unwrap_or_else(|e| panic!("{id}: {e:#}"));
        let (rep, _) = report::write(&outcome).unwrap_or_else(|e| panic!("{id}: {e:#}"));
        insta::assert_snapshot!(id.clone(), report::markdown(&outcome, &rep));
        let _ = std::fs::remove_dir_all(out);
        ran += 1;
    }
    assert!(ran > 0, "no libtorch experiment found");
}

#[test]
fn training_results_do_not_depend_on_thread_count() {
    xtask_torch::register();
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "btrnn-train").unwrap();
    let mut summaries = vec![];
    for jobs in [1, 2] {
        let out = out_dir(&format!("threads{jobs}"));
        let opts = runner::Options {
            profile: "ci".into(),
            seeds: Some(1),
            budget: Some(1),
            jobs: Some(jobs),
            out: Some(out.clone()),
            progress: false,
        };
        let o = runner::reproduce(&root, loaded.clone(), &opts).unwrap();
        summaries.push(report::markdown(&o, &report::build(&o)));
        let _ = std::fs::remove_dir_all(out);
    }
    assert_eq!(summaries[0], summaries[1]);
}

#[test]
fn ucf11_without_data_fails_with_a_clear_message() {
    xtask_torch::register();
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "btrnn-ucf11").unwrap();
    let opts = runner::Options {
        profile: "ci".into(),
        out: Some(out_dir("ucf11")),
        progress: false,
        ..Default::default()
    };
    if std::env::var_os("UCF11_DIR").is_some() {
        return;
    }
    let e = format!("{:#}", runner::reproduce(&root, loaded, &opts).unwrap_err());
    assert!(e.contains("UCF11"), "{e}");
}
