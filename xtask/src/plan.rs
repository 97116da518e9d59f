//! Plans: an experiment, with its profile and the command line applied,
//! turned into the list of jobs (method, seed), each with the fingerprint of
//! everything that determines its record.
//!
//! Planning does every check that can fail before compute: the profile and
//! its overrides (`--seeds`, `--seed`, `--budget`, `--jobs`), the methods
//! (`--methods`), the driver's checks of the config, the record file names
//! (no two methods may share one). A plan has no side effects; whoever
//! writes records checks the folder first ([`Store::check_writable`]).

use crate::config::Loaded;
use crate::drivers::{Prepared, Registry};
use crate::store::{hex16, Store};
use anyhow::{bail, Result};
use searchkit::rng::Stream;
use std::path::{Path, PathBuf};

/// Version of the stream derivation (`Stream::for_run` and `child`), part of
/// every fingerprint: bump it if the derivation ever changes.
pub const RNG_VERSION: &str = "chacha8-v1";

/// The longest method-name slug (bytes): `<slug>-s<seed>.json` and the
/// writer's temporary name must fit in a 255-byte file name.
pub const MAX_SLUG_BYTES: usize = 150;

/// Which runs to do and where (the resolved command line of `reproduce`).
#[derive(Clone, Debug)]
pub struct Options {
    pub profile: String,
    /// Run seeds `0..n` (overrides the profile's count).
    pub seeds: Option<u64>,
    /// Run exactly these seeds (e.g. seed 3 alone).
    pub seed_list: Option<Vec<u64>>,
    /// Override the profile's budget.
    pub budget: Option<usize>,
    /// Worker threads of the local backend.
    pub jobs: Option<usize>,
    pub out: Option<PathBuf>,
    /// Run only these methods (by name); the report covers only them.
    pub methods: Option<Vec<String>>,
    /// Show a progress bar (hidden anyway when stderr is not a terminal).
    pub progress: bool,
    /// The drivers this binary has (xtask's own, plus xtask-torch's there).
    pub drivers: Registry,
    /// Where networks train (`--device`), handed to every run.
    pub device: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            profile: "full".into(),
            seeds: None,
            seed_list: None,
            budget: None,
            jobs: None,
            out: None,
            methods: None,
            progress: true,
            drivers: Registry::builtin(),
            device: None,
        }
    }
}

/// One (method, seed) run of an experiment.
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub experiment: String,
    /// Index into the plan's (selected) methods.
    pub method: usize,
    pub method_name: String,
    pub seed: u64,
    pub budget: usize,
    /// Digest of everything that determines the record (see [`fingerprint`]).
    pub fingerprint: String,
    /// Record file stem: `<method slug>-s<seed>`.
    pub stem: String,
    /// The curve length the driver promises for this job, if fixed.
    pub curve_len: Option<usize>,
}

/// An experiment ready to run: the config with the profile applied, the
/// prepared driver and every job.
#[derive(Debug)]
pub struct Plan {
    pub loaded: Loaded,
    pub profile: String,
    pub budget: usize,
    pub seeds: Vec<u64>,
    pub out: PathBuf,
    pub jobs: Vec<Job>,
    pub prepared: Box<dyn Prepared>,
    /// Why nothing can run here (see [`Prepared::unavailable`]).
    pub unavailable: Option<String>,
    pub store: Store,
}

/// Default output folder: `results/<id>` for the full profile,
/// `results/<id>/<profile>` otherwise (so a CI run never overwrites the
/// committed full-profile results).
pub fn default_out(root: &Path, id: &str, profile: &str) -> PathBuf {
    let base = root.join("results").join(id);
    if profile == "full" {
        base
    } else {
        base.join(profile)
    }
}

/// A method name as a file-name stem: letters and digits lower-cased, every
/// other run of characters one `-`. Letters outside ASCII are kept, so
/// names in other scripts stay apart.
pub fn slug(name: &str) -> String {
    let mut s = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_alphanumeric() {
            s.extend(c.to_lowercase());
        } else if !s.ends_with('-') {
            s.push('-');
        }
    }
    s.trim_matches('-').to_string()
}

/// Checks that every method has a usable record file name and that no two
/// share one (names that differ only in case or punctuation do).
pub fn check_file_names(l: &Loaded) -> Result<()> {
    let mut seen: Vec<(String, &str)> = Vec::new();
    for (i, m) in l.exp.methods.iter().enumerate() {
        let key = format!("methods[{i}].name");
        let s = slug(&m.name);
        if s.is_empty() {
            bail!(l.err(
                &key,
                format!(
                    "`{}` gives an empty record file name; a method name needs a letter or digit",
                    m.name
                )
            ));
        }
        if s.len() > MAX_SLUG_BYTES {
            bail!(l.err(
                &key,
                format!(
                    "`{}` gives a record file name of {} bytes; at most {MAX_SLUG_BYTES} fit (shorten the name)",
                    m.name,
                    s.len()
                )
            ));
        }
        if let Some((_, other)) = seen.iter().find(|(t, _)| *t == s) {
            bail!(l.err(
                &key,
                format!(
                    "`{}` and `{other}` would both write runs/{s}-s<seed>.json; method names must differ in more than case and punctuation",
                    m.name
                )
            ));
        }
        seen.push((s, &m.name));
    }
    Ok(())
}

/// Keep only the named methods, in the config's order. Why: a user may
/// want the cheap methods of a long experiment first; records are keyed by
/// method name and fingerprint, so a later full run reuses them.
///
/// `names` may hold comma-joined lists (`--methods a,b`); as a method name
/// may itself contain commas, the joined text is split into the longest
/// method names that match, left to right.
pub fn select_methods(loaded: &mut Loaded, names: &[String]) -> Result<()> {
    let valid: Vec<&str> = loaded.exp.methods.iter().map(|m| m.name.as_str()).collect();
    let joined = names.join(",");
    let parts: Vec<&str> = joined.split(',').collect();
    let mut chosen: Vec<String> = Vec::new();
    let mut i = 0;
    while i < parts.len() {
        // The longest run of parts from `i` on that names a method.
        let hit = (i + 1..=parts.len()).rev().find_map(|j| {
            let name = parts[i..j].join(",");
            let name = name.trim();
            valid.contains(&name).then(|| (j, name.to_string()))
        });
        match hit {
            Some((j, name)) => {
                chosen.push(name);
                i = j;
            }
            None => bail!(
                "{}: --methods: no method `{}`; valid choices: {}",
                loaded.path.display(),
                parts[i].trim(),
                valid.join(", ")
            ),
        }
    }
    loaded.exp.methods.retain(|m| chosen.contains(&m.name));
    Ok(())
}

/// The fingerprint of one job: a digest of the experiment id, driver,
/// problem (after the profile's overrides), method name, algorithm and
/// parameters, budget, seed, stream-derivation version, the driver's code
/// revision for the method, and digests of user-supplied input data.
pub fn fingerprint(
    l: &Loaded,
    method: usize,
    budget: usize,
    seed: u64,
    revision: u32,
    inputs: &[(String, String)],
) -> String {
    let m = &l.exp.methods[method];
    let json = serde_json::json!({
        "experiment": l.exp.id, "driver": l.exp.driver, "problem": l.exp.problem,
        "method": m.name, "algorithm": m.algorithm, "params": m.params,
        "budget": budget, "seed": seed, "rng": RNG_VERSION, "revision": revision,
        "inputs": inputs,
    });
    hex16(blake3::hash(json.to_string().as_bytes()).as_bytes())
}

/// The fingerprint of record format 1 (before experiment id, seed and data
/// digests were covered); only `migrate-records` uses it, to upgrade old
/// records that still match.
pub fn legacy_fingerprint(l: &Loaded, method: usize, budget: usize, revision: u32) -> String {
    let m = &l.exp.methods[method];
    let mut json = serde_json::json!({
        "driver": l.exp.driver, "problem": l.exp.problem, "algorithm": m.algorithm,
        "params": m.params, "budget": budget, "rng": RNG_VERSION,
    });
    if revision > 0 {
        json["revision"] = revision.into();
    }
    format!("{:016x}", Stream::root(&json.to_string()).key())
}

/// Resolves the profile and the options into a plan; fails, before any
/// compute, on anything that would fail later.
pub fn plan(root: &Path, loaded: Loaded, opts: &Options) -> Result<Plan> {
    // `default`: the config's `default_profile` (a smaller main-job profile
    // where the paper's budget takes long), else `full`.
    let pname = match opts.profile.as_str() {
        "default" => loaded
            .exp
            .default_profile
            .clone()
            .unwrap_or_else(|| "full".into()),
        p => p.to_string(),
    };
    let profile = loaded.profile(&pname)?.clone();
    let mut loaded = loaded.with_profile(&pname)?;
    if let Some(names) = &opts.methods {
        select_methods(&mut loaded, names)?;
    }
    if opts.seeds == Some(0) {
        bail!("--seeds 0: at least one seed is needed");
    }
    if opts.budget == Some(0) {
        bail!("--budget 0: the budget must be at least 1");
    }
    if opts.jobs == Some(0) {
        bail!("--jobs 0: at least one worker thread is needed");
    }
    let seeds: Vec<u64> = match (&opts.seed_list, opts.seeds) {
        (Some(_), Some(_)) => bail!("--seed and --seeds cannot be combined: --seeds N runs seeds 0..N, --seed K runs seed K"),
        (Some(list), None) => {
            if list.is_empty() {
                bail!("--seed: name at least one seed");
            }
            let mut v = list.clone();
            v.sort_unstable();
            v.dedup();
            v
        }
        (None, n) => (0..n.unwrap_or(profile.seeds)).collect(),
    };
    let budget = opts.budget.unwrap_or(profile.budget);
    // A budget override never writes over the profile's own results.
    let folder = match opts.budget {
        Some(b) if b != profile.budget => format!("{pname}-budget{b}"),
        _ => pname.clone(),
    };
    let out = opts
        .out
        .clone()
        .unwrap_or_else(|| default_out(root, &loaded.exp.id, &folder));
    let prepared = opts.drivers.prepare(&loaded)?;
    let unavailable = prepared.unavailable();
    let store = Store::new(&out);
    let inputs = if unavailable.is_none() {
        prepared.inputs()?
    } else {
        Vec::new()
    };
    let mut jobs = Vec::new();
    for (mi, m) in loaded.exp.methods.iter().enumerate() {
        let revision = prepared.revision(mi);
        for &seed in &seeds {
            jobs.push(Job {
                experiment: loaded.exp.id.clone(),
                method: mi,
                method_name: m.name.clone(),
                seed,
                budget,
                fingerprint: fingerprint(&loaded, mi, budget, seed, revision, &inputs),
                stem: format!("{}-s{seed}", slug(&m.name)),
                curve_len: prepared.curve_len(mi, budget),
            });
        }
    }
    Ok(Plan {
        loaded,
        profile: pname,
        budget,
        seeds,
        out,
        jobs,
        prepared,
        unavailable,
        store,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_ascii_names_as_before_and_other_scripts_apart() {
        assert_eq!(slug("LA-MCTS-BO"), "la-mcts-bo");
        assert_eq!(slug("NSGA II"), "nsga-ii");
        assert_eq!(
            slug("TT-LSTM (ranks 4), matched init"),
            "tt-lstm-ranks-4-matched-init"
        );
        assert_eq!(slug("  random search "), "random-search");
        assert_ne!(slug("随机搜索"), slug("进化"));
        assert_eq!(slug("!!!"), "");
    }

    #[test]
    fn method_subsets_match_whole_names_with_commas() {
        let root = crate::workspace_root();
        let loaded = crate::config::find(&root, "btrnn-train").unwrap();
        let pick = |arg: &[&str]| -> Result<Vec<String>> {
            let mut l = loaded.clone();
            let names: Vec<String> = arg.iter().map(|s| s.to_string()).collect();
            select_methods(&mut l, &names)?;
            Ok(l.exp.methods.into_iter().map(|m| m.name).collect())
        };
        // As clap hands over `--methods "LSTM,TT-LSTM (ranks 4), matched init"`.
        let got = pick(&["LSTM", "TT-LSTM (ranks 4)", " matched init"]).unwrap();
        assert_eq!(got, ["LSTM", "TT-LSTM (ranks 4), matched init"]);
        let got = pick(&["TT-LSTM (ranks 4)"]).unwrap();
        assert_eq!(got, ["TT-LSTM (ranks 4)"]);
        let e = format!("{:#}", pick(&["LSTM", "GRU"]).unwrap_err());
        assert!(
            e.contains("btrnn-train.toml") && e.contains("`GRU`") && e.contains("LSTM, TT-LSTM"),
            "{e}"
        );
    }
}
