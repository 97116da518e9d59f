//! The experiments that train networks with tch (libtorch), as a library
//! and the `xtask-torch` binary.
//!
//! `xtask` cannot link libtorch (it installs it), so the drivers that train
//! networks live here and join xtask's driver list through
//! [`xtask::drivers::register`]; everything else (configs, runner, report,
//! figures) is xtask's. `cargo xtask reproduce <id>` builds this binary
//! after `cargo xtask setup` and hands such experiments to it.
//!
//! - [`btrnn_train`]: the `btrnn-train` driver (LSTM / TT-LSTM / BT-LSTM
//!   trained on clips, accuracy and loss against epochs);
//! - [`bench`]: forward + backward timings of the BT-LSTM against the dense
//!   LSTM at the paper's UCF11 shapes.
//!
//! Determinism: every run draws from its own [`searchkit::rng::Stream`], and
//! [`register`] pins torch to one intra-op thread, so a run gives the same
//! numbers at any `--jobs` on CPU.
//!
//! ```no_run
//! xtask_torch::register();
//! let root = xtask::workspace_root();
//! let l = xtask::config::find(&root, "btrnn-train").unwrap();
//! let opts = xtask::runner::Options { profile: "ci".into(), ..Default::default() };
//! let outcome = xtask::runner::reproduce(&root, l, &opts).unwrap();
//! println!("{}", outcome.records.len());
//! ```

pub mod bench;
pub mod btrnn_train;

use std::sync::Mutex;

static DEVICE: Mutex<Option<String>> = Mutex::new(None);

/// Registers this crate's drivers with xtask and pins torch to one thread.
pub fn register() {
    tch::set_num_threads(1);
    xtask::drivers::register(vec![btrnn_train::driver()]);
}

/// Overrides every config's `device` (the CLI's `--device`).
pub fn set_device_override(device: Option<String>) {
    *DEVICE.lock().unwrap_or_else(|e| e.into_inner()) = device;
}

pub(crate) fn device_override() -> Option<String> {
    DEVICE.lock().unwrap_or_else(|e| e.into_inner()).clone()
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
