//! A run of an environment experiment stopped in the middle resumes from
//! its journal (`xtask::journal`): journaled evaluations are replayed, not
//! rerun, the record is what an uninterrupted run writes, and the store
//! deletes the journal once the record is saved.

use searchkit::rng::Stream;
use std::path::Path;
use xtask::cli::fresh_test_dir;
use xtask::config;
use xtask::drivers::{RunContext, RunOutput};
use xtask::journal::{Header, JournalSpec, JOURNAL_FORMAT};
use xtask::plan::{self, Plan};
use xtask::runner::{self, Options};

fn opts(out: &Path) -> Options {
    Options {
        // CMA-ES's first generation (12 points for 16 parameters) is asked
        // before any value is told, so a changed journaled value cannot
        // change the points that follow it.
        methods: Some(vec!["CMA-ES".into()]),
        seed_list: Some(vec![0]),
        budget: Some(12),
        ..xtask::cli::test_options(out)
    }
}

fn run(plan: &Plan, spec: &JournalSpec) -> RunOutput {
    let job = &plan.jobs[0];
    plan.prepared
        .run(&RunContext {
            method: job.method,
            seed: job.seed,
            budget: job.budget,
            rng: Stream::for_run(&job.experiment, &job.method_name, job.seed),
            design: Stream::for_design(&job.experiment, job.seed),
            device: None,
            journal: Some(spec.clone()),
        })
        .unwrap()
}

/// The journal's header and its first `k` evaluation lines.
fn prefix(text: &str, k: usize) -> Vec<String> {
    text.lines().take(1 + k).map(String::from).collect()
}

#[test]
fn an_interrupted_environment_run_resumes_from_its_journal() {
    if let Err(e) = envbridge::python() {
        // CI installs the venv (`cargo xtask test` runs the set-up first).
        eprintln!("SKIPPED an_interrupted_environment_run_resumes_from_its_journal: {e}");
        return;
    }
    let root = xtask::workspace_root();
    let out = fresh_test_dir("journal-resume");
    let l = config::find(&root, "lamcts-swimmer").unwrap();
    let o = opts(&out);
    let plan = plan::plan(&root, l.clone(), &o).unwrap();
    let job = plan.jobs[0].clone();
    let spec = JournalSpec {
        path: plan.store.journal_path(&job),
        header: Header {
            journal: JOURNAL_FORMAT,
            experiment: job.experiment.clone(),
            method: job.method_name.clone(),
            seed: job.seed,
            budget: job.budget,
            fingerprint: job.fingerprint.clone(),
        },
    };

    // An uninterrupted run journals every evaluation.
    let whole = run(&plan, &spec);
    let text = std::fs::read_to_string(&spec.path).unwrap();
    assert_eq!(text.lines().count(), 1 + 12);

    // Stopped after 5 evaluations, its first value marked: the resumed run
    // replays the 5 (the mark shows) and evaluates the rest.
    let mut lines = prefix(&text, 5);
    let mut first: serde_json::Value = serde_json::from_str(&lines[1]).unwrap();
    first["y"] = 12345.0.into();
    lines[1] = first.to_string();
    std::fs::write(&spec.path, lines.join("\n") + "\n").unwrap();
    let resumed = run(&plan, &spec);
    let (t, w) = (resumed.table.unwrap(), whole.table.clone().unwrap());
    assert_eq!(t.rows[0][1], "12345", "the first value was replayed");
    for k in 1..12 {
        // Value and point; the best-so-far column carries the mark.
        for col in [1, 3] {
            assert_eq!(t.rows[k][col], w.rows[k][col], "evaluation {}", k + 1);
        }
    }

    // An exact prefix, with a torn last line: the record of the
    // uninterrupted run, bit for bit; saved through the store, which then
    // deletes the journal.
    let cut = prefix(&text, 5).join("\n") + "\n{\"x\":[0.25,";
    std::fs::write(&spec.path, cut).unwrap();
    let (rec, ran) = runner::run_one(&root, l, &o, true).unwrap();
    assert!(ran);
    assert_eq!(rec.curve, whole.curve);
    assert_eq!(rec.table, whole.table);
    assert!(
        !spec.path.exists(),
        "journal left after the record was saved"
    );
    let _ = std::fs::remove_dir_all(out);
}
