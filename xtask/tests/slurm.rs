//! The Slurm backend without a cluster (issue 23): `sbatch`, `squeue` and
//! `scontrol` are stand-in scripts, and each array task is what a real one
//! runs, the xtask binary's `run-job --manifest M --index I`. `.ci/slurm-test`
//! runs the same path on a real single-node Slurm.

use std::path::{Path, PathBuf};
use xtask::backend::slurm::{self, Commands, Manifest, Settings, Submission, Submitted};
use xtask::cli::fresh_test_dir;
use xtask::config;
use xtask::plan::{self, Options};
use xtask::runner;
use xtask::store::RunRecord;

const EXP: &str = "lamcts-ackley-20";

fn opts(out: &Path) -> Options {
    Options {
        profile: "ci".into(),
        seeds: Some(2),
        budget: Some(30),
        methods: Some(vec![
            "CMA-ES".into(),
            "random search".into(),
            "TuRBO".into(),
        ]),
        out: Some(out.to_path_buf()),
        progress: false,
        jobs: Some(1),
        ..Default::default()
    }
}

/// Stand-ins: `sbatch` logs its arguments and prints job ids 100, 101, ...;
/// `squeue` prints the file `queue`; `scontrol` says MaxArraySize = 3.
fn fake_slurm(dir: &Path) -> Commands {
    std::fs::create_dir_all(dir).unwrap();
    let write = |name: &str, body: &str| -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    };
    let d = dir.display();
    Commands {
        sbatch: write(
            "sbatch",
            &format!(
                "echo \"$*\" >> {d}/sbatch.log\nn=$(cat {d}/next 2>/dev/null || echo 100)\necho $((n + 1)) > {d}/next\necho \"$n\""
            ),
        ),
        squeue: write("squeue", &format!("cat {d}/queue 2>/dev/null; true")),
        scontrol: write("scontrol", "echo 'MaxArraySize            = 3'"),
    }
}

fn settings(fake: &Path, commands: Commands) -> Settings {
    Settings {
        bin: PathBuf::from(env!("CARGO_BIN_EXE_xtask")),
        shared_dir: Some(fake.join("bin")),
        poll: std::time::Duration::from_millis(10),
        cpus: vec![(Some("TuRBO".into()), 2)],
        time: vec![(None, "10:00".into())],
        sbatch_args: vec!["--partition=short".into()],
        commands,
        ..Default::default()
    }
}

fn submit(out: &Path, s: &Settings) -> Submitted {
    let root = xtask::workspace_root();
    let o = opts(out);
    let p = plan::plan(&root, config::find(&root, EXP).unwrap(), &o).unwrap();
    slurm::submit(p, &o, s).unwrap()
}

fn sbatch_calls(fake: &Path) -> Vec<String> {
    std::fs::read_to_string(fake.join("sbatch.log"))
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

/// What an array task does: the copied binary's `run-job` on one entry,
/// with the CPUs Slurm granted.
fn run_task(sub: &Submission, index: usize) -> std::process::Output {
    let script = std::fs::read_to_string(
        sub.manifest.with_file_name(
            sub.manifest
                .file_name()
                .unwrap()
                .to_string_lossy()
                .replace("manifest-", "array-")
                .replace(".json", ".sh"),
        ),
    )
    .unwrap();
    assert!(script.contains("run-job --manifest"));
    assert!(script
        .lines()
        .all(|l| l.starts_with('#') || !l.contains("cargo")));
    std::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("SLURM_ARRAY_TASK_ID", index.to_string())
        .env("SLURM_CPUS_PER_TASK", "2")
        .output()
        .unwrap()
}

fn records(out: &Path) -> Vec<(String, RunRecord)> {
    let mut v: Vec<(String, RunRecord)> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .map(|p| {
            let mut r: RunRecord = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
            r.seconds = 0.0; // measured, the one field allowed to differ
            (p.file_name().unwrap().to_string_lossy().into_owned(), r)
        })
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

#[test]
fn records_written_through_slurm_equal_local_ones_and_reruns_submit_only_missing_jobs() {
    let out = fresh_test_dir("slurm-path");
    let fake = fresh_test_dir("slurm-fake");
    let s = settings(&fake, fake_slurm(&fake));

    // --dry-run writes and submits nothing.
    let dry = Settings {
        dry_run: true,
        ..s.clone()
    };
    assert!(matches!(submit(&out, &dry), Submitted::Pending));
    assert!(!out.join("slurm").exists() && sbatch_calls(&fake).is_empty());

    // Six jobs: TuRBO (2 CPUs, first in the config) in its own array, then
    // CMA-ES and random search (1 CPU) in arrays of at most 3 (MaxArraySize).
    assert!(matches!(submit(&out, &s), Submitted::Pending));
    let calls = sbatch_calls(&fake);
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert!(calls[0].contains("--array=0-1 ") && calls[0].contains("--cpus-per-task=2"));
    assert!(calls[1].contains("--array=0-2 ") && calls[2].contains("--array=0 "));
    assert!(calls[1].contains("--cpus-per-task=1"));
    for c in &calls {
        assert!(c.contains("--time=10:00") && c.ends_with(".sh"));
        // The user's arguments come after ours (sbatch lets the last win).
        assert!(c.find("--partition=short").unwrap() > c.find("--time=").unwrap());
    }
    let subs = slurm::submissions(&out).unwrap();
    assert_eq!(
        subs.iter().map(|s| s.job_id.as_str()).collect::<Vec<_>>(),
        ["100", "101", "102"]
    );
    let manifests: Vec<Manifest> = subs
        .iter()
        .map(|s| Manifest::read(&s.manifest).unwrap())
        .collect();
    let sizes: Vec<usize> = manifests.iter().map(|m| m.jobs.len()).collect();
    assert_eq!(sizes, [2, 3, 1]);
    assert!(manifests[0].jobs.iter().all(|e| e.method == "TuRBO"));

    // Every task runs; then a later submission finds every record and
    // hands back the outcome for the report.
    for (sub, m) in subs.iter().zip(&manifests) {
        for i in 0..m.jobs.len() {
            let o = run_task(sub, i);
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            assert!(String::from_utf8_lossy(&o.stderr).contains("2 threads"));
        }
    }
    let Submitted::Complete(outcome) = submit(&out, &s) else {
        panic!("every record is in: the report can be written")
    };
    assert_eq!(outcome.reused, 6);
    assert_eq!(sbatch_calls(&fake).len(), 3, "nothing more to submit");

    // The local backend writes the same records, but for measured seconds.
    let local = fresh_test_dir("slurm-local");
    let root = xtask::workspace_root();
    runner::reproduce(&root, config::find(&root, EXP).unwrap(), &opts(&local)).unwrap();
    let (a, b) = (records(&out), records(&local));
    assert_eq!(a.len(), 6);
    assert_eq!(a, b, "slurm and local records differ");

    // --report-job: a job after the arrays (whatever their exit) runs the
    // copied binary's `reproduce` for this folder.
    std::fs::remove_file(out.join("runs").join("cma-es-s0.json")).unwrap();
    let with_report = Settings {
        report_job: Some(vec!["reproduce".into(), EXP.into()]),
        ..s.clone()
    };
    assert!(matches!(submit(&out, &with_report), Submitted::Pending));
    let calls = sbatch_calls(&fake);
    assert_eq!(calls.len(), 5, "{calls:#?}");
    assert!(calls[4].contains("--dependency=afterany:103 ") && calls[4].contains("--wrap"));
    assert!(calls[4].contains(&format!("reproduce {EXP} --out ")));
    let redo = slurm::submissions(&out).unwrap();
    assert!(run_task(redo.last().unwrap(), 0).status.success());
    std::fs::remove_file(fake.join("sbatch.log")).unwrap();

    // A lost record: exactly its job is submitted again; while that task is
    // queued, another submission adds nothing and a local run refuses.
    std::fs::remove_file(out.join("runs").join("turbo-s1.json")).unwrap();
    assert!(matches!(submit(&out, &s), Submitted::Pending));
    let calls = sbatch_calls(&fake);
    assert_eq!(calls.len(), 1);
    assert!(calls[0].contains("--array=0 ") && calls[0].contains("--cpus-per-task=2"));
    let subs = slurm::submissions(&out).unwrap();
    let last = subs.last().unwrap();
    assert_eq!(last.job_id, "105");
    let m = Manifest::read(&last.manifest).unwrap();
    assert_eq!((m.jobs.len(), m.jobs[0].seed), (1, 1));
    std::fs::write(fake.join("queue"), "105|0|PENDING\n999|0|RUNNING\n").unwrap();
    assert!(matches!(submit(&out, &s), Submitted::Pending));
    assert_eq!(
        sbatch_calls(&fake).len(),
        1,
        "a queued job was submitted twice"
    );
    let o = opts(&out);
    let p = plan::plan(&root, config::find(&root, EXP).unwrap(), &o).unwrap();
    let e = format!(
        "{:#}",
        slurm::refuse_if_queued(&p, &s.commands).unwrap_err()
    );
    assert!(e.contains("queued or running on Slurm (arrays 105)"), "{e}");
    // The task runs; --wait sees the queue empty and completes.
    assert!(run_task(last, 0).status.success());
    std::fs::write(fake.join("queue"), "").unwrap();
    let wait = Settings {
        wait: true,
        ..s.clone()
    };
    assert!(matches!(submit(&out, &wait), Submitted::Complete(_)));
    assert_eq!(records(&out), b);
    for d in [out, fake, local] {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// A task whose config changed since submission, or that fails, writes no
/// record; the next submission sends exactly the missing jobs again.
#[test]
fn stale_or_failed_tasks_leave_no_record_and_are_resubmitted() {
    let out = fresh_test_dir("slurm-stale");
    let fake = fresh_test_dir("slurm-stale-fake");
    let s = settings(&fake, fake_slurm(&fake));
    assert!(matches!(submit(&out, &s), Submitted::Pending));
    let subs = slurm::submissions(&out).unwrap();
    let mut m = Manifest::read(&subs[1].manifest).unwrap();
    let registry = xtask::drivers::Registry::builtin();
    // A stale fingerprint: refused, nothing written.
    m.jobs[0].fingerprint = "0".repeat(32);
    let e = format!(
        "{:#}",
        slurm::run_manifest_entry(&m, 0, &registry).unwrap_err()
    );
    assert!(e.contains("stale") && e.contains("not run"), "{e}");
    // An index past the manifest: a clear error.
    let e = format!(
        "{:#}",
        slurm::run_manifest_entry(&m, 7, &registry).unwrap_err()
    );
    assert!(e.contains("--index 7: the manifest has 3 entries"), "{e}");
    // A task that fails (here: a budget the plan rejects) writes nothing,
    // as one killed mid-run (scancel, time limit, out of memory) does: a
    // record is renamed into place only after its run finished.
    let mut bad = Manifest::read(&subs[1].manifest).unwrap();
    bad.budget = 0;
    assert!(slurm::run_manifest_entry(&bad, 1, &registry).is_err());
    // The other entries run.
    for i in 1..3 {
        slurm::run_manifest_entry(&Manifest::read(&subs[1].manifest).unwrap(), i, &registry)
            .unwrap();
    }
    let names: Vec<String> = records(&out).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let before = sbatch_calls(&fake).len();
    assert!(matches!(submit(&out, &s), Submitted::Pending));
    let calls = sbatch_calls(&fake);
    // Entry 0 of array 101 (CMA-ES seed 0) failed, arrays 100 (TuRBO) and
    // 102 (random search seed 1) never ran: 2 + 2 jobs, in two arrays.
    assert_eq!(calls.len() - before, 2, "{calls:#?}");
    let subs = slurm::submissions(&out).unwrap();
    let sizes: Vec<usize> = subs[3..]
        .iter()
        .map(|s| Manifest::read(&s.manifest).unwrap().jobs.len())
        .collect();
    assert_eq!(sizes, [2, 2]);
    let _ = std::fs::remove_dir_all(out);
    let _ = std::fs::remove_dir_all(fake);
}
