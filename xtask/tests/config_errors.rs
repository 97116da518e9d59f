//! Bad configs fail with errors that name the file, the key and the choices.

use std::path::PathBuf;
use xtask::{config, drivers};

fn write(name: &str, body: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spacepart-cfg-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(format!("{name}.toml"));
    std::fs::write(&p, body).unwrap();
    p
}

const HEAD: &str = r#"
paper = "fewshot"
citation = "c"
reproduces = "Figure 1"
description = "d"
driver = "fewshot-search"
[profiles.full]
seeds = 2
budget = 10
[profiles.ci]
seeds = 1
budget = 5
"#;

fn err_of(name: &str, body: &str) -> String {
    let p = write(name, &format!("id = \"{name}\"\n{HEAD}\n{body}"));
    match config::load(&p).and_then(|l| drivers::prepare(&l).map(|_| ())) {
        Ok(()) => panic!("{name}: expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn unknown_top_level_key_is_rejected_with_choices() {
    let p = write(
        "t1",
        &format!(
            "id = \"t1\"\ncolour = \"red\"\n{HEAD}\n[[methods]]\nname = \"a\"\nalgorithm = \"rea\""
        ),
    );
    let e = format!("{:#}", config::load(&p).unwrap_err());
    assert!(
        e.contains("t1.toml")
            && e.contains("colour")
            && e.contains("methods")
            && e.contains("claims"),
        "{e}"
    );
}

#[test]
fn unknown_algorithm_names_the_key_and_choices() {
    let e = err_of("t2", "[[methods]]\nname = \"a\"\nalgorithm = \"reaa\"");
    assert!(
        e.contains("t2.toml") && e.contains("methods[0].algorithm") && e.contains("rea, random"),
        "{e}"
    );
}

#[test]
fn unknown_param_and_bad_choice() {
    let e = err_of("t3", "[[methods]]\nname = \"a\"\nalgorithm = \"rea\"\nparams = { fitness = \"true\", popsize = 3 }");
    assert!(
        e.contains("methods[0].params.popsize") && e.contains("population"),
        "{e}"
    );
    let e = err_of(
        "t4",
        "[[methods]]\nname = \"a\"\nalgorithm = \"rea\"\nparams = { fitness = \"two-shot\" }",
    );
    assert!(
        e.contains("methods[0].params.fitness") && e.contains("one-shot, few-shot"),
        "{e}"
    );
}

#[test]
fn claims_must_name_known_methods_and_metrics() {
    let m = "[[methods]]\nname = \"a\"\nalgorithm = \"random\"\nparams = { fitness = \"true\" }\n";
    let e = err_of("t5", &format!("{m}[[claims]]\nkind = \"value\"\nsource = \"s\"\ntext = \"t\"\nmethod = \"b\"\nmetric = \"curve\"\nat = 5\nreported = 1.0\ntolerance = 0.1"));
    assert!(
        e.contains("claims[0].method") && e.contains("valid choices: a"),
        "{e}"
    );
    let e = err_of("t6", &format!("{m}[[claims]]\nkind = \"value\"\nsource = \"s\"\ntext = \"t\"\nmethod = \"a\"\nmetric = \"samples_to_reach\"\nreported = 1.0\ntolerance = 0.1"));
    assert!(e.contains("claims[0].target"), "{e}");
    let e = err_of(
        "t7",
        &format!("{m}[[claims]]\nkind = \"guess\"\nsource = \"s\"\ntext = \"t\""),
    );
    assert!(
        e.contains("guess") && e.contains("value") && e.contains("ordering"),
        "{e}"
    );
}

#[test]
fn id_must_match_file_and_profiles_are_required() {
    let p = write(
        "t8",
        &format!("id = \"other\"\n{HEAD}\n[[methods]]\nname = \"a\"\nalgorithm = \"random\""),
    );
    let e = format!("{:#}", config::load(&p).unwrap_err());
    assert!(e.contains("t8.toml") && e.contains("`id`"), "{e}");
    let root = xtask::workspace_root();
    let e = format!(
        "{:#}",
        config::find(&root, "no-such-experiment").unwrap_err()
    );
    assert!(e.contains("fewshot-nb201-search"), "{e}");
}

#[test]
fn shipped_configs_all_prepare() {
    for l in config::discover(&xtask::workspace_root())
        .and_then(|d| d.all())
        .unwrap()
    {
        // Drivers that train networks live in xtask-torch, which checks its own.
        if drivers::needs_torch(&l) {
            continue;
        }
        drivers::prepare(&l).unwrap_or_else(|e| panic!("{e:#}"));
    }
}

#[test]
fn gp_ard_needs_the_bo_sampler() {
    let lamcts = HEAD.replace("fewshot-search", "lamcts-synthetic");
    let p = write(
        "t9",
        &format!("id = \"t9\"\n{lamcts}\n[problem]\nfunction = \"ackley\"\ndim = 4\n[[methods]]\nname = \"a\"\nalgorithm = \"lamcts\"\nparams = {{ sampler = \"turbo\", gp_ard = true }}"),
    );
    let e = format!(
        "{:#}",
        config::load(&p)
            .and_then(|l| drivers::prepare(&l).map(|_| ()))
            .unwrap_err()
    );
    assert!(
        e.contains("methods[0].params.gp_ard") && e.contains("`bo`"),
        "{e}"
    );
}

/// `load`'s error for a config with `body` after the head and one method.
fn load_err(name: &str, body: &str) -> String {
    let p = write(
        name,
        &format!("id = \"{name}\"\n{HEAD}\n[[methods]]\nname = \"a\"\nalgorithm = \"random\"\nparams = {{ fitness = \"true\" }}\n{body}"),
    );
    match config::load(&p) {
        Ok(_) => panic!("{name}: expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn figure_limits_that_cannot_be_drawn_are_rejected_at_load() {
    for (name, report, key) in [
        ("r1", "y_min = 5.0\ny_max = 1.0", "report.y_min"),
        ("r2", "y_min = 2.0\ny_max = 2.0", "report.y_min"),
        ("r3", "log_y = true\ny_min = 0.0", "report.y_min"),
        ("r4", "log_y = true\ny_max = -1.0", "report.y_max"),
        ("r5", "y_min = nan", "report.y_min"),
        ("r6", "y_max = inf", "report.y_max"),
        ("r7", "checkpoints = [0, 5]", "report.checkpoints"),
    ] {
        let e = load_err(name, &format!("[report]\n{report}"));
        assert!(
            e.contains(&format!("{name}.toml")) && e.contains(&format!("`{key}`")),
            "{report}: {e}"
        );
    }
    let e = load_err("r8", "[report]\nlog_y = true\ny_min = -1.0");
    assert!(e.contains("positive"), "{e}");
    let e = load_err("r9", "[report]\ny_min = 5.0\ny_max = 1.0");
    assert!(e.contains("below `report.y_max`"), "{e}");
}

#[test]
fn claim_numbers_must_be_finite_and_tolerances_non_negative() {
    let claim = |reported: &str, tolerance: &str| {
        format!("[[claims]]\nkind = \"value\"\nsource = \"s\"\ntext = \"t\"\nmethod = \"a\"\nmetric = \"curve\"\nreported = {reported}\ntolerance = {tolerance}")
    };
    for (name, body, key) in [
        ("c1", claim("nan", "0.1"), "claims[0].reported"),
        ("c2", claim("inf", "0.1"), "claims[0].reported"),
        ("c3", claim("1.0", "nan"), "claims[0].tolerance"),
        ("c4", claim("1.0", "-0.5"), "claims[0].tolerance"),
        ("c5", claim("1.0", "-inf"), "claims[0].tolerance"),
        (
            "c6",
            format!("{}\nat = 0", claim("1.0", "0.1")),
            "claims[0].at",
        ),
        (
            "c7",
            "[[claims]]\nkind = \"ratio\"\nsource = \"s\"\ntext = \"t\"\nnumerator = \"a\"\ndenominator = \"a\"\nmetric = \"samples_to_reach\"\ntarget = nan\nreported = 1.0\ntolerance = 0.1".into(),
            "claims[0].target",
        ),
    ] {
        let e = load_err(name, &body);
        assert!(
            e.contains(&format!("{name}.toml")) && e.contains(&format!("`{key}`")),
            "{body}: {e}"
        );
    }
}

#[test]
fn profile_problem_overrides_are_checked() {
    let lamcts = HEAD.replace("fewshot-search", "lamcts-synthetic").replace(
        "[profiles.ci]\nseeds = 1\nbudget = 5\n",
        "[profiles.ci]\nseeds = 1\nbudget = 5\nproblem = { dimension = 2 }\n",
    );
    let p = write(
        "t10",
        &format!("id = \"t10\"\n{lamcts}\n[problem]\nfunction = \"ackley\"\ndim = 4\n[[methods]]\nname = \"a\"\nalgorithm = \"random\""),
    );
    let l = config::load(&p).unwrap();
    drivers::prepare(&l).unwrap();
    let e = format!("{:#}", config::check(&l).unwrap_err());
    assert!(
        e.contains("t10.toml")
            && e.contains("profiles.ci.problem")
            && e.contains("problem.dimension"),
        "{e}"
    );
}

/// A workspace-like folder with the given configs under `paper_configs/x/`.
fn fake_root(tag: &str, files: &[(&str, String)]) -> PathBuf {
    let root = std::env::temp_dir().join(format!("spacepart-root-{}-{tag}", std::process::id()));
    let _ = std::fs::remove_dir_all(&root);
    for (rel, body) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, body).unwrap();
    }
    root
}

#[test]
fn one_bad_config_blocks_only_itself() {
    let method =
        "[[methods]]\nname = \"a\"\nalgorithm = \"random\"\nparams = { fitness = \"true\" }";
    let good = |id: &str| format!("id = \"{id}\"\n{HEAD}\n{method}");
    let root = fake_root(
        "discover",
        &[
            ("paper_configs/x/good.toml", good("good")),
            (
                "paper_configs/x/bad.toml",
                format!("{}\n[report]\ny_min = nan", good("bad")),
            ),
            (
                "paper_configs/x/broken.toml",
                "id = \"broken\"\npaper = ".into(),
            ),
            ("paper_configs/x/twice.toml", good("twice")),
            ("experiments/twice.toml", good("twice")),
        ],
    );
    let d = config::discover(&root).unwrap();
    let ids: Vec<&str> = d.configs.iter().map(|l| l.exp.id.as_str()).collect();
    assert_eq!(ids, ["good"]);
    let mut bad: Vec<&str> = d.errors.iter().map(|b| b.id.as_str()).collect();
    bad.sort();
    assert_eq!(bad, ["bad", "broken", "twice", "twice"]);
    for b in &d.errors {
        let e = format!("{:#}", b.error);
        assert!(e.contains(&b.path.display().to_string()), "{e}");
    }
    let e = format!("{:#}", d.all().unwrap_err());
    assert!(e.contains("4 bad") && e.contains("bad.toml"), "{e}");

    assert_eq!(config::find(&root, "good").unwrap().exp.id, "good");
    let e = format!("{:#}", config::find(&root, "bad").unwrap_err());
    assert!(
        e.contains("bad.toml") && e.contains("`report.y_min`") && e.contains("finite"),
        "{e}"
    );
    let e = format!("{:#}", config::find(&root, "broken").unwrap_err());
    assert!(e.contains("broken.toml"), "{e}");
    let e = format!("{:#}", config::find(&root, "twice").unwrap_err());
    assert!(
        e.contains("defined 2 times") && e.contains("experiments/twice.toml"),
        "{e}"
    );
    let e = format!("{:#}", config::find(&root, "nothing").unwrap_err());
    assert!(e.contains("valid choices: good"), "{e}");
    let _ = std::fs::remove_dir_all(root);
}

#[test]
fn figure_survives_limits_that_bypass_the_check() {
    // A config built in code skips `load`'s checks: the figure must still
    // draw finite coordinates, not panic.
    let root = xtask::workspace_root();
    let base = config::find(&root, "fewshot-nb201-search").unwrap();
    for (k, (lo, hi, log)) in [
        (Some(5.0), Some(1.0), false),
        (Some(2.0), Some(2.0), false),
        (Some(f64::NAN), None, false),
        (Some(-1.0), None, true),
        (None, Some(0.0), true),
    ]
    .into_iter()
    .enumerate()
    {
        let mut l = base.clone();
        l.exp.report.y_min = lo;
        l.exp.report.y_max = hi;
        l.exp.report.log_y = log;
        let out = xtask::cli::fresh_test_dir(&format!("figure-{k}"));
        let opts = xtask::runner::Options {
            profile: "ci".into(),
            seeds: Some(1),
            budget: Some(5),
            jobs: Some(1),
            out: Some(out.clone()),
            progress: false,
            methods: None,
            ..Default::default()
        };
        let o = xtask::runner::reproduce(&root, l, &opts).unwrap();
        xtask::report::write(&o).unwrap();
        let svg = std::fs::read_to_string(out.join("figure.svg")).unwrap();
        assert!(
            !svg.contains("NaN") && !svg.contains("inf"),
            "{lo:?} {hi:?}: {svg}"
        );
        let _ = std::fs::remove_dir_all(out);
    }
}

/// A method's cluster request (`resources`, `--backend slurm`) is checked
/// at load: key, value and the accepted forms.
#[test]
fn bad_cluster_resources_name_the_key() {
    let e = err_of(
        "t_res1",
        "[[methods]]\nname = \"a\"\nalgorithm = \"rea\"\nresources = { time = \"2 hours\" }",
    );
    assert!(
        e.contains("t_res1.toml") && e.contains("methods[0].resources") && e.contains("HH:MM:SS"),
        "{e}"
    );
    let e = err_of(
        "t_res2",
        "[[methods]]\nname = \"a\"\nalgorithm = \"rea\"\nresources = { gpus = 1 }",
    );
    assert!(e.contains("gpus") && e.contains("gres"), "{e}");
}
