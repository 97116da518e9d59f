//! Mutates every shipped config (types swapped, numbers set to NaN, inf,
//! negative, zero or huge, keys removed, unknown keys added, keys other
//! configs give the same driver or algorithm added) and asserts that what
//! `cargo xtask check` does never panics, nor a tiny `ci` run (1 seed,
//! [`BUDGET`] evaluations) of a mutant that passes the check. Drivers that
//! need libtorch are checked but not run; experiments whose data is missing
//! run as they do on such a machine (nothing runs, claims unchecked).
//!
//! Deterministic: the mutations come from a fixed seed, and each failure
//! prints its mutant. `CONFIG_FUZZ_MUTANTS=500 CONFIG_FUZZ_SEED=2` hunts
//! longer; `CONFIG_FUZZ_VERBOSE=1` prints every mutant and rejection.

use searchkit::rng::Stream;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use toml::Value;
use xtask::{config, drivers, report, runner};

/// Mutants per shipped config, and mutations per mutant (at most).
const MUTANTS: usize = 80;
const MUTATIONS: usize = 3;
/// Evaluations of a mutant's run: enough for every method to start.
const BUDGET: usize = 6;

#[derive(Clone, Debug)]
enum Seg {
    Key(String),
    Idx(usize),
}

fn show(path: &[Seg]) -> String {
    let mut s = String::new();
    for seg in path {
        match seg {
            Seg::Key(k) if s.is_empty() => s.push_str(k),
            Seg::Key(k) => s.push_str(&format!(".{k}")),
            Seg::Idx(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Every value's path, except prose (notes, citations, claim texts), whose
/// mutations only exercise the TOML parser.
fn paths(v: &Value, prefix: &mut Vec<Seg>, out: &mut Vec<Vec<Seg>>) {
    let prose = [
        "notes",
        "citation",
        "description",
        "text",
        "source",
        "reason",
    ];
    match v {
        Value::Table(t) => {
            for (k, child) in t {
                if prose.contains(&k.as_str()) {
                    continue;
                }
                prefix.push(Seg::Key(k.clone()));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(a) => {
            for (i, child) in a.iter().enumerate() {
                prefix.push(Seg::Idx(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

fn get_mut<'a>(v: &'a mut Value, path: &[Seg]) -> Option<&'a mut Value> {
    let mut cur = v;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Table(t)) => t.get_mut(k)?,
            (Seg::Idx(i), Value::Array(a)) => a.get_mut(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// Odd values of every type.
fn palette(rng: &mut Stream) -> Value {
    let vals = [
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Float(f64::NEG_INFINITY),
        Value::Float(-1.0),
        Value::Float(0.0),
        Value::Float(0.5),
        Value::Float(1e300),
        Value::Float(-1e300),
        Value::Float(1e-300),
        Value::Integer(0),
        Value::Integer(-1),
        Value::Integer(1),
        Value::Integer(2),
        Value::Integer(i64::MAX),
        Value::Integer(1 << 40),
        Value::String("x".into()),
        Value::String(String::new()),
        Value::Boolean(true),
        Value::Boolean(false),
        Value::Array(vec![]),
        Value::Array(vec![Value::Integer(0)]),
        Value::Array(vec![Value::Integer(1 << 40), Value::Integer(3)]),
        Value::Array(vec![Value::String("x".into())]),
        Value::Table(toml::Table::new()),
    ];
    vals[rng.below(vals.len())].clone()
}

/// A number's odd neighbours: NaN, infinities, its negative, zero, huge,
/// the other numeric type.
fn numeric_twist(v: &Value, rng: &mut Stream) -> Value {
    let x = match v {
        Value::Integer(i) => *i as f64,
        Value::Float(f) => *f,
        _ => 1.0,
    };
    let choices = [
        Value::Float(f64::NAN),
        Value::Float(f64::INFINITY),
        Value::Float(f64::NEG_INFINITY),
        Value::Float(-x),
        Value::Float(-x - 1.0),
        Value::Integer((x as i64).saturating_neg().saturating_sub(1)),
        Value::Integer(0),
        Value::Float(0.0),
        Value::Float(x * 1e12),
        Value::Integer(i64::MAX),
        Value::Integer((x as i64).saturating_mul(1000)),
        match v {
            Value::Integer(i) => Value::Float(*i as f64 + 0.5),
            _ => Value::Integer(x as i64),
        },
    ];
    choices[rng.below(choices.len())].clone()
}

/// Keys worth adding where a config may leave them out.
const EXTRA_KEYS: &[(&str, &str)] = &[
    ("report", "y_min"),
    ("report", "y_max"),
    ("report", "log_y"),
    ("report", "log_x"),
    ("report", "checkpoints"),
    ("report", "higher_is_better"),
    ("", "zz_unknown"),
];

/// The `problem` keys every driver's configs use, and the `params` keys
/// every algorithm's: a mutant may give one to a config that leaves it at
/// its default.
#[derive(Default)]
struct Known {
    problem: BTreeMap<String, Vec<(String, Value)>>,
    params: BTreeMap<String, Vec<(String, Value)>>,
}

impl Known {
    fn add(&mut self, doc: &Value) {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let driver = s(doc.get("driver"));
        if let Some(t) = doc.get("problem").and_then(Value::as_table) {
            let e = self.problem.entry(driver).or_default();
            e.extend(t.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for m in doc
            .get("methods")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(t) = m.get("params").and_then(Value::as_table) {
                let e = self.params.entry(s(m.get("algorithm"))).or_default();
                e.extend(t.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }

    /// Where (`problem` or a method's `params`) and what to add.
    fn pick(&self, doc: &Value, rng: &mut Stream) -> Option<(Vec<Seg>, String, Value)> {
        let s = |v: Option<&Value>| v.and_then(Value::as_str).unwrap_or_default().to_string();
        let methods = doc.get("methods").and_then(Value::as_array)?;
        let (path, pool) = if rng.below(2) == 0 {
            (
                vec![Seg::Key("problem".into())],
                self.problem.get(&s(doc.get("driver")))?,
            )
        } else {
            let i = rng.below(methods.len().max(1));
            let pool = self.params.get(&s(methods.get(i)?.get("algorithm")))?;
            (
                vec![
                    Seg::Key("methods".into()),
                    Seg::Idx(i),
                    Seg::Key("params".into()),
                ],
                pool,
            )
        };
        if pool.is_empty() {
            return None;
        }
        let (k, v) = pool[rng.below(pool.len())].clone();
        let v = match rng.below(3) {
            0 => v,
            1 => numeric_twist(&v, rng),
            _ => palette(rng),
        };
        Some((path, k, v))
    }
}

/// One mutation; returns what it did.
fn mutate(doc: &mut Value, known: &Known, rng: &mut Stream) -> Option<String> {
    let mut all = vec![];
    paths(doc, &mut vec![], &mut all);
    // Out of 20: add a key 3 (one the driver knows 1), remove 2, duplicate
    // 2, twist a number 10 (most checks are about ranges), set an odd
    // value 3.
    let op = rng.below(20);
    if op == 2 {
        let (path, key, val) = known.pick(doc, rng)?;
        let mut cur = &mut *doc;
        for seg in &path {
            cur = match (seg, cur) {
                (Seg::Key(k), Value::Table(t)) => t
                    .entry(k.clone())
                    .or_insert_with(|| Value::Table(toml::Table::new())),
                (Seg::Idx(i), Value::Array(a)) => a.get_mut(*i)?,
                _ => return None,
            };
        }
        cur.as_table_mut()?.insert(key.clone(), val.clone());
        return Some(format!("add `{}.{key}` = {val}", show(&path)));
    }
    if op < 2 {
        // Add a key: one of the report's, or an unknown one in a random
        // table (the top level included).
        let (table, key) = EXTRA_KEYS[rng.below(EXTRA_KEYS.len())];
        let val = palette(rng);
        let path = if table.is_empty() {
            let mut tables: Vec<Vec<Seg>> = all
                .iter()
                .filter(|p| matches!(get(doc, p), Some(Value::Table(_))))
                .cloned()
                .collect();
            tables.push(vec![]);
            tables[rng.below(tables.len())].clone()
        } else {
            doc.as_table_mut()?
                .entry(table)
                .or_insert_with(|| Value::Table(toml::Table::new()));
            vec![Seg::Key(table.into())]
        };
        let Some(Value::Table(t)) = get_mut(doc, &path) else {
            return None;
        };
        t.insert(key.into(), val.clone());
        let mut full = path;
        full.push(Seg::Key(key.into()));
        return Some(format!("add `{}` = {val}", show(&full)));
    }
    if all.is_empty() {
        return None;
    }
    let path = all[rng.below(all.len())].clone();
    let (last, parent) = path.split_last()?;
    match op {
        3 | 4 => {
            // Remove the key or element.
            match (get_mut(doc, parent)?, last) {
                (Value::Table(t), Seg::Key(k)) => {
                    t.remove(k);
                }
                (Value::Array(a), Seg::Idx(i)) => {
                    a.remove(*i);
                }
                _ => return None,
            }
            Some(format!("remove `{}`", show(&path)))
        }
        5 | 6 => {
            // Duplicate an array element (a second method or claim).
            let (Value::Array(a), Seg::Idx(i)) = (get_mut(doc, parent)?, last) else {
                return None;
            };
            let v = a[*i].clone();
            a.push(v);
            Some(format!("duplicate `{}`", show(&path)))
        }
        7..=16 => {
            let numbers: Vec<&Vec<Seg>> = all
                .iter()
                .filter(|p| matches!(get(doc, p), Some(Value::Integer(_) | Value::Float(_))))
                .collect();
            if numbers.is_empty() {
                return None;
            }
            let path = numbers[rng.below(numbers.len())].clone();
            let v = get_mut(doc, &path)?;
            let new = numeric_twist(v, rng);
            let desc = format!("set `{}` = {new}", show(&path));
            *v = new;
            Some(desc)
        }
        _ => {
            let new = palette(rng);
            let desc = format!("set `{}` = {new}", show(&path));
            *get_mut(doc, &path)? = new;
            Some(desc)
        }
    }
}

fn get<'a>(v: &'a Value, path: &[Seg]) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path {
        cur = match (seg, cur) {
            (Seg::Key(k), Value::Table(t)) => t.get(k)?,
            (Seg::Idx(i), Value::Array(a)) => a.get(*i)?,
            _ => return None,
        };
    }
    Some(cur)
}

fn shipped(root: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        let mut es: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        es.sort();
        for p in es {
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "toml") {
                out.push(p);
            }
        }
    }
    let mut out = vec![];
    walk(&root.join("paper_configs"), &mut out);
    walk(&root.join("experiments"), &mut out);
    out
}

/// The message and place of the last panic (the hook records it; the
/// default hook would print hundreds of expected-free lines otherwise).
static LAST_PANIC: Mutex<String> = Mutex::new(String::new());

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    let at = LAST_PANIC.lock().map(|s| s.clone()).unwrap_or_default();
    format!("{msg} ({at})")
}

#[test]
fn mutated_configs_never_panic_in_check_or_a_ci_run() {
    let root = xtask::workspace_root();
    let files = shipped(&root);
    assert!(!files.is_empty(), "no configs under {}", root.display());
    let dir = std::env::temp_dir().join(format!("spacepart-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::panic::set_hook(Box::new(|info| {
        let mut at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        // Where in the workspace: the first frame in its sources.
        let bt = std::backtrace::Backtrace::force_capture().to_string();
        if let Some(frame) = bt.lines().map(str::trim).find(|l| {
            l.starts_with("at ")
                && (l.contains("/crates/") || l.contains("/xtask/src/"))
                && !l.contains("config_fuzz")
        }) {
            at = format!("{at}, from {}", &frame[3..]);
        }
        if let Ok(mut s) = LAST_PANIC.lock() {
            *s = at;
        }
    }));
    let verbose = std::env::var_os("CONFIG_FUZZ_VERBOSE").is_some();
    let mutants = std::env::var("CONFIG_FUZZ_MUTANTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(MUTANTS);
    let seed = std::env::var("CONFIG_FUZZ_SEED").unwrap_or_default();
    let t0 = std::time::Instant::now();
    let (mut rejected, mut ran, mut run_errors) = (0, 0, 0);
    let mut panics: Vec<String> = vec![];
    let mut known = Known::default();
    for file in &files {
        known.add(&Value::Table(
            toml::from_str(&std::fs::read_to_string(file).unwrap()).unwrap(),
        ));
    }
    for file in &files {
        let stem = file.file_stem().unwrap().to_string_lossy().into_owned();
        let text = std::fs::read_to_string(file).unwrap();
        let original: Value = Value::Table(toml::from_str(&text).unwrap());
        let mut rng = Stream::root(&format!("config-fuzz{seed}")).child(&stem);
        for k in 0..mutants {
            let mut doc = original.clone();
            // Mostly one mutation, so that more mutants pass the schema.
            let n = 1 + rng.below(2 * MUTATIONS).saturating_sub(MUTATIONS);
            let did: Vec<String> = (0..n)
                .filter_map(|_| mutate(&mut doc, &known, &mut rng))
                .collect();
            let mutant = format!("{stem} mutant {k}: {}", did.join("; "));
            let Ok(body) = toml::to_string(&doc) else {
                continue;
            };
            let sub = dir.join(format!("m{k}"));
            std::fs::create_dir_all(&sub).unwrap();
            let path = sub.join(format!("{stem}.toml"));
            std::fs::write(&path, &body).unwrap();
            if verbose {
                eprintln!("trying: {mutant}");
            }
            let checked =
                catch_unwind(|| config::load(&path).and_then(|l| config::check(&l).map(|()| l)));
            let l = match checked {
                Err(p) => {
                    panics.push(format!("check: {mutant}: {}", message(&*p)));
                    continue;
                }
                Ok(Err(e)) => {
                    if verbose {
                        eprintln!("rejected: {mutant}: {e:#}");
                    }
                    rejected += 1;
                    continue;
                }
                Ok(Ok(l)) => l,
            };
            if drivers::needs_torch(&l) {
                continue;
            }
            if drivers::needs_envs(&l) {
                // Checked only: a run starts Python simulator workers (about a
                // second each), and a mutant moved to Humanoid's 5,916
                // dimensions spends ~25 s in CMA-ES's set-up; the ci profiles
                // of these experiments are snapshot-tested.
                continue;
            }
            let out = sub.join("out");
            let opts = runner::Options {
                profile: "ci".into(),
                seeds: Some(1),
                budget: Some(BUDGET),
                jobs: Some(1),
                out: Some(out.clone()),
                methods: None,
                progress: false,
                ..Default::default()
            };
            let t_run = std::time::Instant::now();
            let run = catch_unwind(AssertUnwindSafe(|| {
                let o = runner::reproduce(&root, l, &opts)?;
                report::write(&o).map(|_| ())
            }));
            ran += 1;
            if verbose {
                eprintln!("ran in {:.2} s", t_run.elapsed().as_secs_f64());
            }
            match run {
                Err(p) => panics.push(format!("ci run: {mutant}: {}", message(&*p))),
                Ok(Err(e)) => {
                    run_errors += 1;
                    eprintln!("note: passes the check but its run fails: {mutant}: {e:#}");
                }
                Ok(Ok(())) => {}
            }
            let _ = std::fs::remove_dir_all(&sub);
        }
    }
    let _ = std::panic::take_hook();
    let _ = std::fs::remove_dir_all(&dir);
    eprintln!(
        "{} configs x {mutants} mutants: {rejected} rejected by the check, {ran} ran ({run_errors} failed with an error), {} panicked; {:.1} s",
        files.len(),
        panics.len(),
        t0.elapsed().as_secs_f64()
    );
    assert!(
        panics.is_empty(),
        "{} mutant(s) panicked:\n{}",
        panics.len(),
        panics.join("\n")
    );
}
