//! # GPUNet (Wang, Yu, Salian, Kierat, Migacz, Florea; CVPR 2022)
//!
//! *GPUNet: Searching the Deployable Convolution Neural Networks for GPUs*
//! (arXiv:2205.00841). A distributed NAS searches a space of CNNs (per
//! stage: conv / fused inverted residual / inverted residual blocks, their
//! kernel, depth, expansion, width, activation and squeeze-excite; input
//! resolution 224..512) for accuracy against TensorRT latency on a GPU, and
//! publishes one model per latency tier: GPUNet-0/1/2, the distilled
//! GPUNet-P0/P1 and D1/D2, each as a JSON list of layers. The paper claims a
//! new accuracy/latency Pareto front ("within 1 ms, 2x faster than
//! EfficientNet-X and FBNetV3 with better accuracy").
//!
//! This crate reads those JSONs as the reference implementation (NVIDIA
//! DeepLearningExamples, `PyTorch/Classification/GPUNet`) builds them:
//!
//! - [`spec`]: the JSON parsed into [`Spec`] (one [`Block`] per module of
//!   the reference, the ordinary and the distilled builder told apart),
//!   checked before anything is built; [`make_divisible`] channel rounding,
//!   the squeeze-excite width, BN epsilons, the stride-2 padding of fused
//!   blocks;
//! - [`counts`]: exact #parameters and multiply-accumulates in closed form,
//!   no torch ([`Spec::counts`]);
//! - [`published`]: the seven published JSONs, embedded;
//! - [`space`]: the paper's search space (per stage kernel, depth,
//!   activation, expansion, width, SE; resolution 224..512) as a searchkit
//!   [`Categorical`](searchkit::space::Categorical) space, with conversion to
//!   and from the JSON and the reasons a published model is not a member;
//! - [`search`]: the latency-tiered search's torch-free parts: the
//!   per-layer latency lookup table [`search::Lut`] (summed over a
//!   network's layers), its closed-form stand-in, the Pareto front and one
//!   architecture per latency tier;
//! - with the `torch` feature (tch / libtorch 2.11.0): [`model::Gpunet`],
//!   the network on tch, weights drawn from a [`searchkit::rng::Stream`];
//!   `measure`: block and network CPU latency, and the NASWOT accuracy
//!   proxy (Mellor et al., ICML 2021).
//!
//! ```
//! use gpunet::published::Published;
//!
//! let spec = Published::find("GPUNet-0").unwrap().spec().unwrap();
//! assert_eq!(spec.resolution, 320);
//! let c = spec.counts();
//! assert_eq!(c.layers.len(), spec.layers.len());
//! assert!(c.params > 10_000_000 && c.macs > 1_000_000_000);
//! ```
//!
//! With the `torch` feature, the module's trainable tensors hold exactly the
//! closed-form count:
//!
//! ```
//! # #[cfg(feature = "torch")] {
//! use gpunet::{model::Gpunet, published::Published};
//! use searchkit::rng::Stream;
//! use tch::{nn, Device};
//!
//! let spec = Published::find("GPUNet-P0").unwrap().spec().unwrap();
//! let vs = nn::VarStore::new(Device::Cpu);
//! let net = Gpunet::new(&vs.root(), &spec);
//! net.init(&vs, &Stream::root("doc"));
//! let n: i64 = vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
//! assert_eq!(n as u64, spec.counts().params);
//! # }
//! ```

pub mod counts;
pub mod published;
pub mod search;
pub mod space;
pub mod spec;

#[cfg(feature = "torch")]
pub mod measure;
#[cfg(feature = "torch")]
pub mod model;

pub use counts::{Counts, LayerCount};
pub use published::{Published, ALL};
pub use spec::{make_divisible, Act, Block, Layer, Spec, SpecError};

#[cfg(test)]
mod tests;
#[cfg(all(test, feature = "torch"))]
mod torch_tests;
