//! The experiments that train networks with tch (libtorch), as a library
//! and the `xtask-torch` binary.
//!
//! `xtask` cannot link libtorch (it installs it), so the drivers that train
//! networks live here and join xtask's drivers in [`registry`], which this
//! binary passes to xtask's runner; everything else (configs, runner, report,
//! figures) is xtask's. `cargo xtask reproduce <id>` builds this binary
//! after `cargo xtask setup` and hands such experiments to it.
//!
//! - [`btrnn_train`]: the `btrnn-train` driver (LSTM / TT-LSTM / BT-LSTM
//!   trained on clips, accuracy and loss against epochs);
//! - [`gpunet_latency`]: the `gpunet-latency` driver (inference latency of
//!   the published GPUNet models, rank-correlated with the published
//!   TensorRT latencies; a measurement, never snapshot-tested);
//! - [`gpunet_search`]: the `gpunet-search` driver (LaMOO, NSGA-II and
//!   random search over the GPUNet space for NASWOT against a per-layer
//!   latency table, one architecture per published model's latency) and
//!   `gpunet-predictor` (that table against measured latency; a
//!   measurement);
//! - [`fewshot_train`]: the `fewshot-train` driver (one-shot vs few-shot
//!   supernets trained on a scaled-down NAS-Bench-201, ranked against a
//!   standalone-trained ground truth) and the `fewshot-ground-truth` command;
//! - [`fewshot_darts`]: the `fewshot-darts` driver (first-order DARTS on the
//!   one-shot supernet and on the 5 sub-supernets, found cells scored by
//!   that ground truth);
//! - [`bench`]: forward + backward timings of the BT-LSTM against the dense
//!   LSTM at the paper's UCF11 shapes.
//!
//! Determinism: every run draws from its own [`searchkit::rng::Stream`], and
//! [`registry`] pins torch to one intra-op thread, so a run gives the same
//! numbers at any `--jobs` on CPU.
//!
//! ```no_run
//! let root = xtask::workspace_root();
//! let l = xtask::config::find(&root, "btrnn-train").unwrap();
//! let opts = xtask::runner::Options {
//!     profile: "ci".into(),
//!     drivers: xtask_torch::registry(),
//!     ..Default::default()
//! };
//! let outcome = xtask::runner::reproduce(&root, l, &opts).unwrap();
//! println!("{}", outcome.records.len());
//! ```

pub mod bench;
pub mod btrnn_train;
pub mod fewshot_darts;
pub mod fewshot_train;
pub mod gpunet_latency;
pub mod gpunet_search;

use xtask::drivers::Registry;

/// xtask's drivers plus this crate's; pins torch to one intra-op thread
/// (BLAS results can depend on the thread count; runs are parallel across
/// (method, seed) instead).
/// A config that is valid but whose user-supplied data (UCF11, CIFAR-10) is
/// not on this machine: `reproduce` fails with this message, while `check`,
/// which judges configs, reports the experiment as skipped rather than bad.
#[derive(Debug)]
pub struct MissingData(pub String);

impl std::fmt::Display for MissingData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for MissingData {}

/// `l.err(key, msg)` as a [`MissingData`] error.
pub(crate) fn missing_data(
    l: &xtask::config::Loaded,
    key: &str,
    msg: impl std::fmt::Display,
) -> anyhow::Error {
    anyhow::Error::new(MissingData(l.err(key, msg).to_string()))
}

pub fn registry() -> Registry {
    tch::set_num_threads(1);
    Registry::builtin().with(vec![
        btrnn_train::driver(),
        gpunet_latency::driver(),
        gpunet_search::search_driver(),
        gpunet_search::predictor_driver(),
        fewshot_train::driver(),
        fewshot_darts::driver(),
    ])
}

/// `cpu` or `cuda` (the first GPU), with a clear error when CUDA is missing.
pub fn parse_device(name: &str) -> Result<tch::Device, String> {
    match name {
        "cpu" => Ok(tch::Device::Cpu),
        "cuda" => {
            if tch::Cuda::is_available() {
                Ok(tch::Device::Cuda(0))
            } else {
                Err("device `cuda` asked for, but libtorch sees no CUDA device (point LIBTORCH at a CUDA build of libtorch 2.11.0 and run through `cargo xtask reproduce ... --device cuda`)".into())
            }
        }
        _ => Err(format!("unknown device `{name}`; valid choices: cpu, cuda")),
    }
}
