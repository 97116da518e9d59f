//! # BT-RNN (Ye, Wang, Li, Chen, Zhe, Chu, Xu; CVPR 2018)
//!
//! *Learning Compact Recurrent Neural Networks with Block-Term Tensor
//! Decomposition* (arXiv:1712.05134). The input-to-hidden matrix of an RNN
//! fed with raw video frames is huge (UCF11: 57,600 inputs x 4 x 256 gate
//! units = 58,982,400 weights). BT-RNN reshapes input and output into
//! tensors (`8 x 20 x 20 x 18` and `4 x 4 x 4 x 4`, the four LSTM gates
//! folded into the first output mode) and replaces the matrix by a sum of
//! `N` Tucker blocks, each a small core (`R x .. x R`) and one factor
//! `I_k x J_k x R` per mode: with `R = 4, N = 2` that is 3,392 weights,
//! 17,388 times fewer. The forward pass contracts the input mode by mode
//! and never builds the matrix. The paper compares BT-LSTM with the
//! tensor-train LSTM (TT-LSTM) and the plain LSTM on UCF11 action
//! recognition: higher accuracy and faster convergence with far fewer
//! parameters.
//!
//! Speed (`cargo xtask bench btrnn`: forward + backward of the LSTM layer
//! and classifier at the UCF11 shapes, batch 16 x 6 frames, CPU, one
//! thread; median of 5): dense LSTM 350-368 ms, TT-LSTM (ranks 4) 39-42 ms,
//! BT-LSTM R = 4, N = 2 168 ms (2.2x faster than the dense layer), R = 1,
//! N = 1 22 ms.
//!
//! Entry points:
//! - [`shapes`] (always built): [`Modes`] (tensorised input / hidden shapes),
//!   [`MapKind`] (dense, tensor train, block term) with exact parameter
//!   counts, [`ucf11_modes`] (the paper's setting);
//! - [`data`] (always built): the embedded Fashion-MNIST subset and the
//!   moving-item clip task that stands in for UCF11 here;
//! - with the `torch` feature (tch / libtorch 2.11.0): [`layers::InputMap`]
//!   (the three maps behind one interface, mode-by-mode contraction),
//!   [`model::LstmClassifier`] and [`model::train`].
//!
//! ```
//! use btrnn::{ucf11_modes, MapKind};
//!
//! let ucf11 = ucf11_modes();
//! let bt = MapKind::BlockTerm { ranks: vec![4; 4], blocks: 2 };
//! assert_eq!(MapKind::Dense.params(&ucf11), 58_982_400);
//! assert_eq!(bt.params(&ucf11), 3_392);
//! ```
//!
//! With the `torch` feature, a BT map on a small shape (its output is what
//! the dense matrix it stands for gives):
//!
//! ```
//! # #[cfg(feature = "torch")] {
//! use btrnn::{layers::InputMap, MapKind, Modes};
//! use searchkit::rng::Stream;
//! use tch::{nn, Device, Kind, Tensor};
//!
//! let vs = nn::VarStore::new(Device::Cpu);
//! let modes = Modes::new(vec![4, 6], vec![2, 3], 4).unwrap(); // 24 inputs -> 4 x 6 gate units
//! let kind = MapKind::BlockTerm { ranks: vec![2, 2], blocks: 2 };
//! let map = InputMap::new(&vs.root(), modes, kind, 0.5, &Stream::root("doc")).unwrap();
//! let x = Tensor::ones([3, 24], (Kind::Float, Device::Cpu));
//! let y = map.forward(&x);
//! assert_eq!(y.size(), vec![3, 24]);
//! let dense = x.matmul(&map.dense_weight());
//! assert!(f64::try_from((y - dense).abs().max()).unwrap() < 1e-4);
//! # }
//! ```

pub mod data;
pub mod shapes;

#[cfg(feature = "torch")]
pub mod layers;
#[cfg(feature = "torch")]
pub mod model;

pub use shapes::{lstm_layer_params, ucf11_modes, MapKind, Modes};

/// The libtorch version this crate's tch expects (tch 0.24).
pub const TORCH_VERSION: &str = "2.11.0";

#[cfg(all(test, feature = "torch"))]
mod torch_tests;
