//! The record store's guarantees (issue 17): complete fingerprints,
//! collision-free record names, validated records, safe concurrent writers,
//! and every command-line override checked before compute. Each test names
//! the probe it answers; each failed on the store before these fixes.

use searchkit::nasbench::nb101::fixture::{synthetic_records, write_tfrecord_fixture};
use searchkit::nasbench::tabular::nb101_small_space;
use searchkit::rng::Stream;
use std::path::{Path, PathBuf};
use xtask::cli::{fresh_test_dir, ClaimCounts};
use xtask::config::{self, Loaded};
use xtask::plan::{self, Job};
use xtask::runner::{self, Options};
use xtask::store::{write_atomic, Store, Stored};

fn root() -> PathBuf {
    xtask::workspace_root()
}

fn opts(out: &Path) -> Options {
    xtask::cli::test_options(out)
}

fn err_of<T: std::fmt::Debug>(r: anyhow::Result<T>) -> String {
    format!("{:#}", r.unwrap_err())
}

/// Probe 1: records of another experiment in the same folder were reused
/// (`lamcts-levy-20` then `lamcts-levy-20-gp` into one `--out`).
#[test]
fn records_of_another_experiment_are_not_reused() {
    let out = fresh_test_dir("store-other-exp");
    let mut o = opts(&out);
    o.methods = Some(vec!["BO".into()]);
    o.seeds = Some(1);
    o.budget = Some(45);
    let a = config::find(&root(), "lamcts-levy-20").unwrap();
    let b = config::find(&root(), "lamcts-levy-20-gp").unwrap();
    let first = runner::reproduce(&root(), a, &o).unwrap();
    let second = runner::reproduce(&root(), b.clone(), &o).unwrap();
    assert_eq!(
        second.reused, 0,
        "levy-20's BO record was reused for levy-20-gp"
    );
    // What a fresh run of levy-20-gp gives.
    let fresh_dir = fresh_test_dir("store-other-exp-fresh");
    let fresh = runner::reproduce(&root(), b, &opts_like(&o, &fresh_dir)).unwrap();
    assert_eq!(second.records[0].1[0].curve, fresh.records[0].1[0].curve);
    assert_ne!(first.records[0].1[0].curve, second.records[0].1[0].curve);
    let _ = std::fs::remove_dir_all(out);
    let _ = std::fs::remove_dir_all(fresh_dir);
}

fn opts_like(o: &Options, out: &Path) -> Options {
    Options {
        out: Some(out.to_path_buf()),
        ..o.clone()
    }
}

/// A tfrecord with the first `n` cells of the small NB-101 space.
fn tfrecord(tag: &str, n: usize) -> PathBuf {
    let cells = nb101_small_space(5);
    let n = n.min(cells.len());
    let mut rng = Stream::root("nb101-fixture");
    let mut recs = synthetic_records(n, 3, &[108], &mut rng);
    for (k, r) in recs.iter_mut().enumerate() {
        r.cell = cells[k / 3].clone();
    }
    let p = std::env::temp_dir().join(format!("store-{tag}-{}.tfrecord", std::process::id()));
    write_tfrecord_fixture(&p, &recs).unwrap();
    p
}

/// Probe 1: `lanas-nb101` with half a tfrecord, then the full one, kept
/// every old run: the data were not in the fingerprint.
#[test]
fn other_input_data_change_every_fingerprint() {
    let half = tfrecord("half", 100);
    let full = tfrecord("full", 10_000);
    let out = fresh_test_dir("store-data");
    let plan_with = |file: &Path| {
        let mut l = config::find(&root(), "lanas-nb101").unwrap();
        l.exp.problem.insert(
            searchkit::nasbench::nb101::CONFIG_KEY.into(),
            toml::Value::String(file.display().to_string()),
        );
        l.exp
            .problem
            .insert("max_vertices".into(), toml::Value::Integer(5));
        plan::plan(&root(), l, &opts(&out)).unwrap()
    };
    let (a, b) = (plan_with(&half), plan_with(&full));
    assert_eq!(a.jobs.len(), b.jobs.len());
    for (x, y) in a.jobs.iter().zip(&b.jobs) {
        assert_ne!(x.fingerprint, y.fingerprint);
    }
    // The same file gives the same fingerprints.
    assert_eq!(plan_with(&full).jobs, b.jobs);
    for p in [half, full] {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_dir_all(out);
}

/// The fingerprint covers seed, budget, method, parameters and problem.
#[test]
fn fingerprints_differ_in_everything_that_determines_a_record() {
    let out = fresh_test_dir("store-fp");
    let l = config::find(&root(), "lamcts-ackley-20").unwrap();
    let base = plan::plan(&root(), l.clone(), &opts(&out)).unwrap();
    let mut fps: Vec<String> = base.jobs.iter().map(|j| j.fingerprint.clone()).collect();
    let mut o = opts(&out);
    o.budget = Some(77);
    fps.extend(
        plan::plan(&root(), l.clone(), &o)
            .unwrap()
            .jobs
            .into_iter()
            .map(|j| j.fingerprint),
    );
    let mut l2 = l.clone();
    l2.exp.methods[0]
        .params
        .insert("cp".into(), toml::Value::Float(0.5));
    l2.exp
        .problem
        .insert("dim".into(), toml::Value::Integer(21));
    fps.extend(
        plan::plan(&root(), l2, &opts(&out))
            .unwrap()
            .jobs
            .into_iter()
            .map(|j| j.fingerprint),
    );
    let n = fps.len();
    fps.sort();
    fps.dedup();
    assert_eq!(fps.len(), n, "two jobs share a fingerprint");
    let _ = std::fs::remove_dir_all(out);
}

fn with_names(id: &str, names: &[&str]) -> Loaded {
    let mut l = config::find(&root(), id).unwrap();
    let proto = l.exp.methods[0].clone();
    l.exp.methods = names
        .iter()
        .map(|n| {
            let mut m = proto.clone();
            m.name = n.to_string();
            m
        })
        .collect();
    l.exp.claims.clear();
    l
}

/// Probe 2: names that map to one file name overwrote each other; empty
/// and too long names failed only after a run.
#[test]
fn method_names_are_checked_by_file_name_before_any_run() {
    let check = |names: &[&str]| xtask::drivers::prepare(&with_names("lamoo-branincurrin", names));
    let e = err_of(check(&["NSGA II", "nsga-ii"]));
    assert!(
        e.contains("nsga-ii-s<seed>.json") && e.contains("methods[1].name"),
        "{e}"
    );
    let e = err_of(check(&["", "x"]));
    assert!(e.contains("empty record file name"), "{e}");
    let e = err_of(check(&["***", "x"]));
    assert!(e.contains("empty record file name"), "{e}");
    let long = "n".repeat(300);
    let e = err_of(check(&[&long]));
    assert!(e.contains("at most"), "{e}");
    // Names in other scripts no longer collapse to one file.
    check(&["随机", "进化"]).unwrap();
}

fn job_of(p: &plan::Plan, seed: u64) -> Job {
    p.jobs.iter().find(|j| j.seed == seed).unwrap().clone()
}

/// Probe 5: a record copied to another seed, a cut curve, garbage and a
/// truncated file were accepted or silently rerun; a deleted CSV never came
/// back.
#[test]
fn resume_rejects_foreign_edited_and_broken_records_and_restores_csv() {
    let out = fresh_test_dir("store-validate");
    let l = config::find(&root(), "lamcts-ackley-20").unwrap();
    let mut o = opts(&out);
    o.methods = Some(vec!["random search".into()]);
    o.seeds = Some(4);
    o.budget = Some(20);
    let first = runner::reproduce(&root(), l.clone(), &o).unwrap();
    let p = plan::plan(&root(), l.clone(), &o).unwrap();
    let store = Store::new(&out);
    let path = |s: u64| store.record_path(&job_of(&p, s));
    // Seed 0's record copied over seed 1's.
    std::fs::copy(path(0), path(1)).unwrap();
    // Seed 2's curve cut to 5 points.
    let mut v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path(2)).unwrap()).unwrap();
    v["curve"] = serde_json::Value::Array(v["curve"].as_array().unwrap()[..5].to_vec());
    std::fs::write(path(2), serde_json::to_vec(&v).unwrap()).unwrap();
    // Seed 3's record truncated.
    let bytes = std::fs::read(path(3)).unwrap();
    std::fs::write(path(3), &bytes[..bytes.len() / 2]).unwrap();
    for s in 1..4 {
        assert!(
            matches!(store.load(&job_of(&p, s)), Stored::Rejected(_)),
            "seed {s}"
        );
    }
    match store.load(&job_of(&p, 1)) {
        Stored::Rejected(why) => assert!(why.contains("seed 0"), "{why}"),
        other => panic!("{other:?}"),
    }
    match store.load(&job_of(&p, 2)) {
        Stored::Rejected(why) => assert!(why.contains("digest") || why.contains("points"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The per-run CSV comes back from the JSON.
    let csv = path(0).with_extension("csv");
    let csv_bytes = std::fs::read(&csv).unwrap();
    std::fs::remove_file(&csv).unwrap();
    let second = runner::reproduce(&root(), l, &o).unwrap();
    assert_eq!(second.reused, 1);
    assert_eq!(std::fs::read(&csv).unwrap(), csv_bytes);
    let curves = |x: &runner::Outcome| -> Vec<Vec<f64>> {
        x.records[0].1.iter().map(|r| r.curve.clone()).collect()
    };
    assert_eq!(curves(&first), curves(&second));
    let _ = std::fs::remove_dir_all(out);
}

/// Probe 4: simultaneous writers of one file died on a shared temporary name.
#[test]
fn concurrent_writers_of_one_file_never_fail() {
    let dir = fresh_test_dir("store-race");
    let target = dir.join("runs").join("x.json");
    std::thread::scope(|s| {
        for t in 0..4 {
            let target = &target;
            s.spawn(move || {
                for i in 0..200 {
                    write_atomic(target, format!("{{\"t\":{t},\"i\":{i}}}").as_bytes()).unwrap();
                }
            });
        }
    });
    let left: Vec<_> = std::fs::read_dir(dir.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left.len(), 1, "temporary files left: {left:?}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Probe 4: two `reproduce` of one folder both ran everything.
#[test]
fn a_second_reproduce_of_a_locked_folder_fails_at_once_naming_the_holder() {
    let dir = fresh_test_dir("store-lock");
    let store = Store::new(&dir);
    let held = store.lock().unwrap();
    let e = err_of(store.lock());
    assert!(
        e.contains("in use by another run") && e.contains(&format!("pid {}", std::process::id())),
        "{e}"
    );
    let l = config::find(&root(), "lamcts-ackley-20").unwrap();
    let e = err_of(runner::reproduce(&root(), l, &opts(&dir)));
    assert!(e.contains("in use by another run"), "{e}");
    drop(held);
    store.lock().unwrap();
    let _ = std::fs::remove_dir_all(dir);
}

/// Probe 6: `--seeds 0`, `--budget 0`, `--jobs 0` and an `--out` that is a
/// file ran nothing, or failed only after a run.
#[test]
fn command_line_overrides_are_checked_before_any_run() {
    let out = fresh_test_dir("store-cli");
    let l = config::find(&root(), "lamcts-ackley-20").unwrap();
    for (o, what) in [
        (
            Options {
                seeds: Some(0),
                ..opts(&out)
            },
            "--seeds 0",
        ),
        (
            Options {
                budget: Some(0),
                ..opts(&out)
            },
            "--budget 0",
        ),
        (
            Options {
                jobs: Some(0),
                ..opts(&out)
            },
            "--jobs 0",
        ),
        (
            Options {
                seed_list: Some(vec![]),
                ..opts(&out)
            },
            "--seed",
        ),
        (
            Options {
                seed_list: Some(vec![1]),
                seeds: Some(2),
                ..opts(&out)
            },
            "cannot be combined",
        ),
    ] {
        let e = err_of(plan::plan(&root(), l.clone(), &o));
        assert!(e.contains(what), "{what}: {e}");
    }
    let file = out.with_extension("file");
    std::fs::write(&file, b"x").unwrap();
    let e = err_of(runner::reproduce(&root(), l.clone(), &opts(&file)));
    assert!(e.contains("not a folder"), "{e}");
    let _ = std::fs::remove_file(file);
    // Seed k alone.
    let p = plan::plan(
        &root(),
        l,
        &Options {
            seed_list: Some(vec![3]),
            ..opts(&out)
        },
    )
    .unwrap();
    assert!(p.jobs.iter().all(|j| j.seed == 3) && !p.jobs.is_empty());
    // `--strict` fails when no claim could be checked.
    assert!(ClaimCounts {
        deviates: 0,
        checked: 0
    }
    .strict()
    .is_err());
    assert!(ClaimCounts {
        deviates: 1,
        checked: 3
    }
    .strict()
    .is_err());
    ClaimCounts {
        deviates: 0,
        checked: 2,
    }
    .strict()
    .unwrap();
    let _ = std::fs::remove_dir_all(out);
}

/// Committed reports re-render byte for byte from their committed records
/// (`cargo xtask verify-results`).
#[test]
fn committed_results_are_true_to_the_code() {
    let v = xtask::verify::verify_results(&root(), &xtask::drivers::Registry::builtin(), false)
        .unwrap();
    let mut verified = 0;
    for (id, verdict) in &v {
        match verdict {
            xtask::verify::Verdict::Same { .. } => verified += 1,
            xtask::verify::Verdict::Skipped(_) => {}
            other => panic!("{id}: {other:?} (`cargo xtask verify-results`)"),
        }
    }
    assert!(verified > 0);
}

/// One job alone (`cargo xtask run-job`): it writes exactly its record, a
/// second call keeps it, and `reproduce` then reuses it.
#[test]
fn one_job_runs_alone_and_is_reused() {
    let out = fresh_test_dir("store-run-one");
    let l = config::find(&root(), "lamcts-ackley-20").unwrap();
    let mut o = opts(&out);
    o.methods = Some(vec!["CMA-ES".into()]);
    o.seed_list = Some(vec![3]);
    o.budget = Some(20);
    let (rec, ran) = runner::run_one(&root(), l.clone(), &o, false).unwrap();
    assert!(ran && rec.seed == 3 && rec.curve.len() == 20);
    let files: Vec<_> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json"))
        .collect();
    assert_eq!(files, ["cma-es-s3.json"]);
    let (again, ran) = runner::run_one(&root(), l.clone(), &o, false).unwrap();
    assert!(!ran);
    assert_eq!(again, rec);
    let all = runner::reproduce(&root(), l, &o).unwrap();
    assert_eq!(all.reused, 1);
    let _ = std::fs::remove_dir_all(out);
}
