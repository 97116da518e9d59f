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
    for l in config::discover(&xtask::workspace_root()).unwrap() {
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
