//! `cargo xtask`: list and reproduce the experiments of the workspace.

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::cli::{self, ReproduceArgs, RunJobArgs};
use xtask::{config, drivers, workspace_root};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "Reproduce the papers' tables and figures",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// List every experiment with its paper, table/figure and description.
    List {
        /// Also list the drivers and their algorithms.
        #[arg(long)]
        drivers: bool,
    },
    /// Run an experiment (resuming finished runs) and compare with the paper.
    Reproduce(ReproduceArgs),
    /// Find or install libtorch 2.11.0 for the crates that train networks
    /// (reused when present; `LIBTORCH` overrides) and the simulators'
    /// Python venv (gymnasium MuJoCo / Box2D; `SPACEPART_PYTHON` overrides).
    Setup {
        /// Print `export` lines for LIBTORCH, LD_LIBRARY_PATH and the ISA-independent kernel settings.
        #[arg(long)]
        print_env: bool,
        /// Instead: make the bench's pinned Python reference venvs
        /// (`$SPACEPART_CACHE/pyref-lamcts-1`: numpy / scipy / scikit-learn
        /// for the LA-MCTS authors' code; `pyref-botorch-1`: BoTorch 0.18 on
        /// torch 2.15, about 4 GB).
        #[arg(long)]
        python_reference: bool,
    },
    /// The workspace's tests: set up libtorch, then `cargo test --workspace
    /// --locked` with it (extra arguments go to cargo test).
    Test {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
    /// Run one job (method, seed) of an experiment and write its record
    /// (no report, no folder lock: what a cluster job runs).
    RunJob(RunJobArgs),
    /// Re-render every committed report from its committed run records and
    /// fail on any byte difference (nothing is run).
    VerifyResults {
        /// Rewrite the files that differ.
        #[arg(long)]
        write: bool,
    },
    /// Upgrade committed run records of an older record format in place,
    /// when their old fingerprint still matches (values kept bit for bit).
    MigrateRecords {
        /// Only this experiment.
        id: Option<String>,
    },
    /// Check every config against its schema and driver without running.
    Check,
    /// Time the hot paths (release build); performance targets live here.
    Bench {
        /// Only benchmarks whose name contains this.
        filter: Option<String>,
        /// Timed repetitions per benchmark (median reported).
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// Timed iterations / batches of each Python reference (mean reported).
        #[arg(long, default_value_t = 3)]
        ref_reps: usize,
        /// Time no Python reference (the table says so per row).
        #[arg(long)]
        no_reference: bool,
        /// Also write the table of targets to this file (`.json`, else markdown).
        #[arg(long)]
        out: Option<std::path::PathBuf>,
        /// Instead of timing: our qEHVI's log HV difference at 100
        /// evaluations against BoTorch 0.18's from the same initial sets
        /// (committed curves; paired bootstrap CI).
        #[arg(long)]
        parity: bool,
    },
}

fn main() {
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let root = workspace_root();
    match cli.cmd {
        Cmd::List { drivers: show } => {
            let found = config::discover(&root)?;
            let all = &found.configs;
            let w = all.iter().map(|l| l.exp.id.len()).max().unwrap_or(10);
            let wp = all.iter().map(|l| l.exp.paper.len()).max().unwrap_or(5);
            let wr = all
                .iter()
                .map(|l| l.exp.reproduces.len())
                .max()
                .unwrap_or(10);
            println!(
                "{:w$}  {:wp$}  {:wr$}  description",
                "id", "paper", "reproduces"
            );
            for l in all {
                println!(
                    "{:w$}  {:wp$}  {:wr$}  {}",
                    l.exp.id, l.exp.paper, l.exp.reproduces, l.exp.description
                );
            }
            for b in &found.errors {
                eprintln!("error: {}: bad config: {:#}", b.id, b.error);
            }
            if show {
                println!("\ndrivers:");
                for d in drivers::all() {
                    println!(
                        "  {:18} {} (algorithms: {})",
                        d.name,
                        d.about,
                        d.algorithms.join(", ")
                    );
                }
            }
        }
        Cmd::Bench {
            filter,
            reps,
            ref_reps,
            no_reference,
            out,
            parity,
        } => {
            if parity {
                return xtask::bench::parity(out.as_deref());
            }
            let torch = filter
                .as_deref()
                .is_some_and(|f| "btrnn".contains(f) || f.contains("btrnn"));
            if filter.is_none() || !torch {
                let opts = xtask::bench::Options {
                    reps,
                    ref_reps,
                    no_reference,
                    out,
                };
                xtask::bench::run(filter.as_deref(), &opts)?;
            }
            if torch {
                let args = vec!["bench".to_string(), "--reps".into(), reps.to_string()];
                xtask::torch::run_torch_binary(&root, &args, false)?;
            }
        }
        Cmd::Setup {
            python_reference: true,
            ..
        } => {
            for env in xtask::pyref::ALL {
                env.ensure()?;
            }
        }
        Cmd::Setup { print_env, .. } => {
            let lt = xtask::torch::ensure()?;
            let python = xtask::envs::ensure()?;
            if print_env {
                for (k, v) in lt.env() {
                    println!("export {k}='{v}'");
                }
                println!("export {}='{}'", envbridge::PYTHON_VAR, python.display());
            }
        }
        Cmd::Test { args } => xtask::torch::test(&root, &args)?,
        Cmd::RunJob(args) => {
            // Simulator experiments need the venv (made on first use), also
            // in a cluster task.
            let id = match (&args.id, &args.manifest) {
                (Some(id), _) => Some(id.clone()),
                (None, Some(m)) => Some(xtask::backend::slurm::Manifest::read(m)?.experiment),
                _ => None,
            };
            if let Some(id) = id {
                if drivers::needs_envs(&config::find(&root, &id)?) {
                    xtask::envs::ensure()?;
                }
            }
            match args.torch_config(&root)? {
                Some(l) => {
                    // Trains networks: the libtorch binary runs the job.
                    let cuda = l.exp.problem.get("device").and_then(|v| v.as_str()) == Some("cuda");
                    xtask::torch::run_torch_binary(&root, &args.forward(), cuda)?;
                }
                None => args.run(&root, &drivers::Registry::builtin())?,
            }
        }
        Cmd::VerifyResults { write } => {
            let mut bad = 0;
            for (id, v) in
                xtask::verify::verify_results(&root, &drivers::Registry::builtin(), write)?
            {
                use xtask::verify::Verdict;
                match v {
                    Verdict::Same { files, records } => {
                        println!(
                            "ok       {id}  ({files} files re-rendered from {records} records)"
                        )
                    }
                    Verdict::Skipped(why) => println!("skipped  {id}  ({why})"),
                    Verdict::Differs { files } => {
                        bad += 1;
                        println!(
                            "{}  {id}  {}",
                            if write { "REWROTE " } else { "DIFFERS " },
                            files.join(", ")
                        )
                    }
                    Verdict::Failed(e) => {
                        bad += 1;
                        println!("FAILED   {id}  {e}")
                    }
                }
            }
            if bad > 0 && !write {
                anyhow::bail!("{bad} experiment(s) differ from their committed records: `cargo xtask verify-results --write` regenerates them");
            }
        }
        Cmd::MigrateRecords { id } => {
            for (id, m) in
                xtask::verify::migrate_records(&root, &drivers::Registry::builtin(), id.as_deref())?
            {
                println!(
                    "{id}: {} upgraded, {} already current, {} refused",
                    m.upgraded,
                    m.current,
                    m.refused.len()
                );
                for (p, why) in &m.refused {
                    println!("  refused {}: {why}", p.display());
                }
            }
        }
        Cmd::Check => {
            let found = config::discover(&root)?;
            let total = found.configs.len() + found.errors.len();
            let mut failed = found.errors.len();
            for l in &found.configs {
                match config::check(l) {
                    Ok(()) if drivers::needs_torch(l) => println!(
                        "ok  {}  ({}; schema only: its driver runs in the libtorch binary)",
                        l.exp.id,
                        l.path.display()
                    ),
                    Ok(()) => println!("ok  {}  ({})", l.exp.id, l.path.display()),
                    Err(e) => {
                        failed += 1;
                        println!("error  {}  {e:#}", l.exp.id);
                    }
                }
            }
            for b in &found.errors {
                println!("error  {}  {:#}", b.id, b.error);
            }
            if failed > 0 {
                anyhow::bail!("{failed} of {total} experiment configs failed the check");
            }
        }
        Cmd::Reproduce(args) => {
            args.validate()?;
            let id = &args.id;
            let (targets, bad) = if id == "all" {
                let found = config::discover(&root)?;
                (found.configs, found.errors)
            } else {
                (vec![config::find(&root, id)?], vec![])
            };
            for b in &bad {
                eprintln!("error: {}: bad config, not run: {:#}", b.id, b.error);
            }
            let registry = drivers::Registry::builtin();
            let mut counts = cli::ClaimCounts::default();
            // The libtorch binary applies --strict to what it runs.
            let torch_only = targets.iter().all(|l| registry.needs_torch(l));
            // `all --backend slurm --wait`: submit every experiment first,
            // then wait for each, so their arrays share the cluster.
            let mut passes = vec![args.clone()];
            if id == "all" && args.cluster.is_slurm() && args.cluster.wait {
                passes[0].cluster.wait = false;
                passes.push(args.clone());
            }
            for pass in &passes {
                counts = cli::ClaimCounts::default();
                for l in &targets {
                    let out = pass.out.as_ref().map(|o| {
                        if id == "all" {
                            o.join(&l.exp.id)
                        } else {
                            o.clone()
                        }
                    });
                    if drivers::needs_torch(l) {
                        // Trains networks: hand over to the libtorch binary.
                        let fwd = pass.forward(&l.exp.id, out.as_deref());
                        let cuda = pass.device.as_deref() == Some("cuda")
                            || l.exp.problem.get("device").and_then(|v| v.as_str()) == Some("cuda");
                        xtask::torch::run_torch_binary(&root, &fwd, cuda)?;
                        continue;
                    }
                    if drivers::needs_envs(l) {
                        // Simulators: the venv is made on first use.
                        xtask::envs::ensure()?;
                    }
                    counts += cli::reproduce_and_report(&root, l.clone(), pass, out, &registry)?;
                }
            }
            if !bad.is_empty() {
                anyhow::bail!("{} bad experiment config(s) not run", bad.len());
            }
            if args.strict && !torch_only {
                counts.strict()?;
            }
        }
    }
    Ok(())
}
