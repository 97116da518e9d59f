//! Runs every experiment's `ci` profile and snapshots its summary.

use xtask::cli::{ci_summary, fresh_test_dir};
use xtask::{config, report, runner};

#[test]
fn every_experiment_ci_profile_matches_its_snapshot() {
    let root = xtask::workspace_root();
    let all = config::discover(&root)
        .and_then(|d| d.all())
        .expect("configs parse");
    assert!(
        !all.is_empty(),
        "no experiment configs found under {}",
        root.display()
    );
    if all.iter().any(xtask::drivers::needs_envs) {
        // The environment experiments run real simulators: CI installs their
        // venv (`cargo xtask test` runs the set-up first).
        if let Err(e) = envbridge::python() {
            panic!("the environment experiments' ci profiles need the simulators' Python: {e}");
        }
    }
    for loaded in all {
        if xtask::drivers::needs_torch(&loaded) {
            // Trains networks with libtorch: snapshot-tested in xtask-torch/tests.
            continue;
        }
        let id = loaded.exp.id.clone();
        insta::assert_snapshot!(id, ci_summary(&root, loaded, None, None, None));
    }
}

#[test]
fn results_do_not_depend_on_thread_count() {
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "fewshot-nb201-search").unwrap();
    let one = ci_summary(&root, loaded.clone(), Some(3), None, Some(1));
    let two = ci_summary(&root, loaded, Some(3), None, Some(2));
    assert_eq!(one, two);
}

#[test]
fn interrupted_run_resumes_without_redoing_finished_runs() {
    // lamoo-branincurrin's curves are full-precision floats: a resumed record
    // must read back bit-identical (serde_json's float_roundtrip).
    for id in ["fewshot-nb201-search", "lamoo-branincurrin"] {
        resume_case(id);
    }
}

fn resume_case(id: &str) {
    let root = xtask::workspace_root();
    let loaded = config::find(&root, id).unwrap();
    let out = fresh_test_dir(&format!("resume-{id}"));
    let opts = runner::Options {
        profile: "ci".into(),
        seeds: Some(2),
        out: Some(out.clone()),
        progress: false,
        jobs: Some(1),
        budget: None,
        ..Default::default()
    };
    let first = runner::reproduce(&root, loaded.clone(), &opts).unwrap();
    assert_eq!(first.reused, 0);
    // Simulate an interruption: one run's record is gone, a stray temp file is left.
    let runs = out.join("runs");
    let victim = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "json"))
        .unwrap();
    std::fs::remove_file(&victim).unwrap();
    std::fs::write(runs.join(".half-written.json.tmp"), b"{").unwrap();
    let second = runner::reproduce(&root, loaded, &opts).unwrap();
    let total: usize = second.records.iter().map(|(_, v)| v.len()).sum();
    assert_eq!(second.reused, total - 1);
    assert_eq!(
        report::markdown(&first, &report::build(&first)),
        report::markdown(&second, &report::build(&second))
    );
    // Debug prints the shortest repr that round-trips, so this compares bits.
    let bits = |o: &runner::Outcome| {
        let v: Vec<_> = o
            .records
            .iter()
            .flat_map(|(_, rs)| rs)
            .map(|r| (&r.curve, &r.scalars))
            .collect();
        format!("{v:?}")
    };
    assert_eq!(
        bits(&first),
        bits(&second),
        "{id}: resumed records differ from the fresh ones"
    );
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn budget_override_runs_that_many_evaluations_and_keeps_results_apart() {
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "fewshot-nb201-search").unwrap();
    let out = fresh_test_dir("budget");
    let opts = runner::Options {
        profile: "ci".into(),
        seeds: Some(1),
        budget: Some(50),
        out: Some(out.clone()),
        progress: false,
        jobs: Some(1),
        ..Default::default()
    };
    let o = runner::reproduce(&root, loaded, &opts).unwrap();
    assert!(o
        .records
        .iter()
        .all(|(_, v)| v.iter().all(|r| r.curve.len() == 50)));
    assert_eq!(
        runner::default_out(&root, "x", "ci-budget50"),
        root.join("results").join("x").join("ci-budget50")
    );
    let _ = std::fs::remove_dir_all(out);
}

#[test]
fn a_method_subset_runs_alone_and_a_later_full_run_reuses_it() {
    let root = xtask::workspace_root();
    let loaded = config::find(&root, "lamcts-ackley-20").unwrap();
    let out = fresh_test_dir("methods");
    let mut opts = runner::Options {
        profile: "ci".into(),
        seeds: Some(1),
        budget: Some(45),
        out: Some(out.clone()),
        progress: false,
        jobs: Some(1),
        methods: Some(vec!["CMA-ES".into(), "random search".into()]),
        ..Default::default()
    };
    let sub = runner::reproduce(&root, loaded.clone(), &opts).unwrap();
    let names: Vec<&str> = sub.records.iter().map(|(m, _)| m.as_str()).collect();
    assert_eq!(names, ["CMA-ES", "random search"]);
    // A claim about a method left out is not checked, and says why.
    let rep = report::build(&sub);
    assert!(rep.claims.iter().any(|c| matches!(
        &c.verdict,
        report::Verdict::NotInProfile { why } if why.contains("`--methods`")
    )));
    opts.methods = None;
    let all = runner::reproduce(&root, loaded.clone(), &opts).unwrap();
    assert_eq!(all.reused, 2);
    assert_eq!(all.records.len(), loaded.exp.methods.len());

    opts.methods = Some(vec!["LA-MCTS".into()]);
    let err = format!("{:#}", runner::reproduce(&root, loaded, &opts).unwrap_err());
    assert!(err.contains("lamcts-ackley-20.toml"), "{err}");
    assert!(
        err.contains("--methods") && err.contains("LA-MCTS-BO, LA-MCTS-TuRBO"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(out);
}
