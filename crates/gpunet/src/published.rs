//! The seven published GPUNet models (NVIDIA DeepLearningExamples,
//! `PyTorch/Classification/GPUNet/configs/batch1/GV100/`), embedded
//! verbatim from `data/gpunet/` (provenance in `data/MANIFEST.md`).
//!
//! The file names are the reference's latency tiers on a GV100; the model
//! names are the README's. The reported accuracies and latencies are not
//! here: they live in the experiment configs (`paper_configs/gpunet/`).

use crate::spec::{Spec, SpecError};

/// One published model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Published {
    /// The README's name, e.g. `GPUNet-0`.
    pub name: &'static str,
    /// The JSON's file name in the reference (and in `data/gpunet/`).
    pub file: &'static str,
    /// The JSON text, verbatim.
    pub json: &'static str,
}

macro_rules! model {
    ($name:literal, $file:literal) => {
        Published {
            name: $name,
            file: $file,
            json: include_str!(concat!("../../../data/gpunet/", $file)),
        }
    };
}

/// All seven, in the README's order.
pub const ALL: [Published; 7] = [
    model!("GPUNet-0", "0.65ms.json"),
    model!("GPUNet-1", "0.85ms.json"),
    model!("GPUNet-2", "1.75ms.json"),
    model!("GPUNet-P0", "0.5ms-D.json"),
    model!("GPUNet-P1", "0.8ms-D.json"),
    model!("GPUNet-D1", "1.25ms-D.json"),
    model!("GPUNet-D2", "2.25ms-D.json"),
];

impl Published {
    /// By model name (`GPUNet-0`) or file name with or without `.json`
    /// (`0.65ms`), with the valid choices in the error.
    pub fn find(name: &str) -> Result<Published, String> {
        ALL.iter()
            .find(|p| p.name == name || p.file == name || p.file.trim_end_matches(".json") == name)
            .copied()
            .ok_or_else(|| {
                let names: Vec<&str> = ALL.iter().map(|p| p.name).collect();
                format!(
                    "unknown GPUNet model `{name}`; valid choices: {} (or their file names, e.g. 0.65ms)",
                    names.join(", ")
                )
            })
    }

    /// The parsed model.
    pub fn spec(&self) -> Result<Spec, SpecError> {
        Spec::parse(self.json)
    }
}
