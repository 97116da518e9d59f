//! Backends: where a plan's jobs execute.
//!
//! The job body, [`run_job`], is engine-neutral: it needs only the plan's
//! prepared driver and one [`Job`], derives the run's stream from
//! (experiment id, method name, seed), and returns the record without
//! touching the filesystem. A backend decides where bodies run and hands
//! each finished record to a callback (the store writes it). Today the only
//! backend that runs bodies in this process is [`Local`] (rayon threads); a
//! cluster backend submits the same jobs and collects the
//! records the jobs write: [`slurm`] (`reproduce --backend slurm`) submits
//! them as array tasks running `run-job --manifest M --index I`.

pub mod slurm;

use crate::drivers::{RunContext, RunOutput};
use crate::plan::{Job, Plan};
use crate::store::{RunRecord, RECORD_FORMAT};
use anyhow::{Context, Result};
use rayon::prelude::*;
use searchkit::rng::Stream;

/// Executes jobs of a plan.
pub trait Backend: Sync {
    /// A short name for messages.
    fn name(&self) -> &str;
    /// Runs `jobs` (of `plan`) and calls `done` with each finished record as
    /// it finishes (from any thread); stops at the first error.
    fn execute(
        &self,
        plan: &Plan,
        jobs: &[Job],
        device: Option<&str>,
        done: &(dyn Fn(&Job, RunRecord) -> Result<()> + Sync),
    ) -> Result<()>;
}

/// Runs jobs on this machine's cores with rayon.
#[derive(Clone, Copy, Debug, Default)]
pub struct Local {
    /// Worker threads (default: all cores). Results do not depend on it.
    pub threads: Option<usize>,
}

impl Backend for Local {
    fn name(&self) -> &str {
        "local"
    }

    fn execute(
        &self,
        plan: &Plan,
        jobs: &[Job],
        device: Option<&str>,
        done: &(dyn Fn(&Job, RunRecord) -> Result<()> + Sync),
    ) -> Result<()> {
        let exec = || -> Result<()> {
            jobs.par_iter().try_for_each(|job| {
                let rec = run_job(plan, job, device)?;
                done(job, rec)
            })
        };
        match self.threads {
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()?
                .install(exec),
            None => exec(),
        }
    }
}

/// The job body: runs one (method, seed) and returns its sealed record.
pub fn run_job(plan: &Plan, job: &Job, device: Option<&str>) -> Result<RunRecord> {
    let rng = Stream::for_run(&job.experiment, &job.method_name, job.seed);
    let ctx = RunContext {
        method: job.method,
        seed: job.seed,
        budget: job.budget,
        rng,
        design: Stream::for_design(&job.experiment, job.seed),
        device,
        journal: Some(crate::journal::JournalSpec {
            path: plan.store.journal_path(job),
            header: crate::journal::Header {
                journal: crate::journal::JOURNAL_FORMAT,
                experiment: job.experiment.clone(),
                method: job.method_name.clone(),
                seed: job.seed,
                budget: job.budget,
                fingerprint: job.fingerprint.clone(),
            },
        }),
    };
    let t0 = std::time::Instant::now();
    let RunOutput {
        curve,
        scalars,
        table,
    } = plan.prepared.run(&ctx).with_context(|| {
        format!(
            "{}: method `{}`, seed {}",
            job.experiment, job.method_name, job.seed
        )
    })?;
    Ok(RunRecord {
        format: RECORD_FORMAT,
        experiment: job.experiment.clone(),
        method: job.method_name.clone(),
        seed: job.seed,
        budget: job.budget,
        fingerprint: job.fingerprint.clone(),
        curve,
        scalars,
        table,
        seconds: t0.elapsed().as_secs_f64(),
        digest: String::new(),
    }
    .seal())
}
