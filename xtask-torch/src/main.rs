//! `xtask-torch`: runs the experiments whose drivers train networks with
//! libtorch. Normally started by `cargo xtask reproduce <id>` (which sets up
//! libtorch and builds this binary); the same options as there.

use anyhow::Result;
use clap::{Parser, Subcommand};
use xtask::cli::{self, ReproduceArgs, RunJobArgs};
use xtask::{config, workspace_root};

#[derive(Parser)]
#[command(
    name = "xtask-torch",
    about = "Experiments that train networks (libtorch)",
    version
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Run an experiment (resuming finished runs) and compare with the paper.
    Reproduce(ReproduceArgs),
    /// Run one job (method, seed) and write its record (see `cargo xtask run-job`).
    RunJob(RunJobArgs),
    /// Check the configs of this binary's drivers.
    Check,
    /// Few-shot NAS: train the sampled cells of the scaled-down NAS-Bench-201
    /// space standalone (resumable; one shard per process), or merge the shards.
    FewshotGroundTruth {
        #[arg(long, default_value = "results/fewshot-nb201-train/ground-truth-parts")]
        dir: std::path::PathBuf,
        #[arg(long, default_value_t = 0)]
        shard: usize,
        #[arg(long, default_value_t = 1)]
        shards: usize,
        #[arg(long)]
        merge: bool,
        /// Sample size (the committed table: 500).
        #[arg(long)]
        sample: Option<usize>,
    },
    /// Forward + backward timings of BT-LSTM against the dense LSTM.
    Bench {
        #[arg(long, default_value_t = 5)]
        reps: usize,
        /// `cpu` or `cuda`.
        #[arg(long, default_value = "cpu")]
        device: String,
    },
}

fn main() {
    // Before any thread or torch kernel exists: the ISA-independent kernels
    // (`xtask::torch::PORTABLE_KERNELS`) when the binary is started directly
    // rather than through `cargo xtask`, which sets them.
    for (k, v) in xtask::torch::PORTABLE_KERNELS {
        if std::env::var_os(k).is_none() {
            std::env::set_var(k, v);
        }
    }
    if let Err(e) = real_main() {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

fn real_main() -> Result<()> {
    let cli = Cli::parse();
    let registry = xtask_torch::registry();
    let root = workspace_root();
    match cli.cmd {
        Cmd::Check => {
            let found = config::discover(&root)?;
            // Every config is judged, not only those before the first bad one.
            let mut bad = found.errors.len();
            for l in &found.configs {
                if !xtask::drivers::TORCH_DRIVERS.contains(&l.exp.driver.as_str()) {
                    continue;
                }
                match config::check_with(&registry, l) {
                    Ok(()) => println!("ok  {}  ({})", l.exp.id, l.path.display()),
                    Err(e) if e.chain().any(|c| c.is::<xtask_torch::MissingData>()) => {
                        println!(
                            "ok  {}  (its data is not here, so it cannot run: {e:#})",
                            l.exp.id
                        )
                    }
                    Err(e) => {
                        println!("error  {}  {e:#}", l.exp.id);
                        bad += 1;
                    }
                }
            }
            // A bad file's driver is unknown: report every one.
            for b in &found.errors {
                println!("error  {}  {:#}", b.id, b.error);
            }
            if bad > 0 {
                anyhow::bail!("{bad} bad experiment config(s)");
            }
        }
        Cmd::Bench { reps, device } => {
            let device = xtask_torch::parse_device(&device).map_err(anyhow::Error::msg)?;
            xtask_torch::bench::run(reps, device)?;
        }
        Cmd::FewshotGroundTruth {
            dir,
            shard,
            shards,
            merge,
            sample,
        } => {
            let mut gt = xtask_torch::fewshot_train::GroundTruth::default();
            if let Some(n) = sample {
                gt.sample = n;
            }
            xtask_torch::fewshot_train::ground_truth_command(
                &root.join(dir),
                shard,
                shards,
                merge,
                &gt,
            )?;
        }
        Cmd::RunJob(args) => args.run(&root, &registry)?,
        Cmd::Reproduce(args) => {
            args.validate()?;
            let l = config::find(&root, &args.id)?;
            let out = args.out.clone();
            let counts = cli::reproduce_and_report(&root, l, &args, out, &registry)?;
            if args.strict {
                counts.strict()?;
            }
        }
    }
    Ok(())
}
