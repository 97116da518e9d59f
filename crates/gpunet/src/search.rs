//! What the latency-tiered search over [`crate::space`] needs without
//! torch: a per-layer latency lookup table, its closed-form stand-in, and
//! the pick of one architecture per latency tier.
//!
//! **Predictor.** GPUNet predicts a network's latency from its layers. Here
//! a [`Lut`] maps each layer, keyed by its block (type, channels, kernel,
//! stride, expansion, activation, SE) and its input side ([`layer_keys`]),
//! to a latency measured on the machine at hand (`gpunet::measure`, with
//! the `torch` feature), and a network's prediction is the sum over its
//! layers; an entry is measured the first time a network needs it. The
//! deterministic stand-in ([`gmacs`]) is the closed-form multiply-accumulate
//! count in G, so a profile that must give the same numbers everywhere
//! (the `ci` profile) never uses a measurement.
//!
//! ```
//! use gpunet::{published::Published, search::{gmacs, Lut}};
//!
//! let spec = Published::find("GPUNet-0").unwrap().spec().unwrap();
//! let mut lut = Lut::default();
//! // A stand-in measurement: 1 ms per layer.
//! let ms = lut.predict(&spec, &mut |_, _| 1.0).unwrap();
//! assert_eq!(ms, spec.layers.len() as f64);
//! // A stage's repeated layers share one entry.
//! assert_eq!(lut.len(), spec.layers.len() - lut.repeated_layers(&spec).unwrap());
//! assert!(gmacs(&spec) > 1.0);
//! ```

use crate::spec::{Block, Spec};
use std::collections::BTreeMap;

/// Each layer's lookup key, block and input side at the model's
/// resolution, or why a layer does not fit.
pub fn layer_keys(spec: &Spec) -> Result<Vec<(String, Block, usize)>, String> {
    let shapes = spec.shapes(spec.resolution)?;
    Ok(spec
        .layers
        .iter()
        .zip(shapes)
        .map(|(l, (side, _))| (format!("{:?}@{side}", l.block), l.block.clone(), side))
        .collect())
}

/// Per-layer latency lookup table (ms per key of [`layer_keys`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lut {
    pub entries: BTreeMap<String, f64>,
}

impl Lut {
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The predicted latency of `spec`: the sum of its layers' entries,
    /// each missing one measured by `measure(block, input side)` first.
    pub fn predict(
        &mut self,
        spec: &Spec,
        measure: &mut dyn FnMut(&Block, usize) -> f64,
    ) -> Result<f64, String> {
        let mut total = 0.0;
        for (key, block, side) in layer_keys(spec)? {
            let v = *self
                .entries
                .entry(key)
                .or_insert_with(|| measure(&block, side));
            total += v;
        }
        Ok(total)
    }

    /// How many of `spec`'s layers repeat an earlier layer's key (they cost
    /// no new measurement).
    pub fn repeated_layers(&self, spec: &Spec) -> Result<usize, String> {
        let keys = layer_keys(spec)?;
        let mut seen = std::collections::BTreeSet::new();
        Ok(keys
            .into_iter()
            .filter(|(k, _, _)| !seen.insert(k.clone()))
            .count())
    }
}

/// The deterministic stand-in for latency: closed-form multiply-accumulates
/// in G at the model's resolution.
pub fn gmacs(spec: &Spec) -> f64 {
    spec.counts().macs as f64 / 1e9
}

/// The side of the accuracy proxy's input for a model of `resolution`: one
/// eighth (224 -> 28, Fashion-MNIST's own side; 512 -> 64), so the proxy
/// still sees the resolution choice at 1/64 of the cost.
pub fn proxy_side(resolution: usize) -> usize {
    resolution / 8
}

/// For each tier (a latency), the index of the point with the highest
/// proxy among those whose latency is at most the tier (`None` when no
/// point is that fast). Points are `(proxy, latency)`; ties keep the first.
pub fn best_per_tier(points: &[(f64, f64)], tiers: &[f64]) -> Vec<Option<usize>> {
    tiers
        .iter()
        .map(|&t| {
            let mut best: Option<usize> = None;
            for (i, &(p, l)) in points.iter().enumerate() {
                if l <= t && p.is_finite() && best.is_none_or(|b| p > points[b].0) {
                    best = Some(i);
                }
            }
            best
        })
        .collect()
}

/// Indices of the non-dominated points (proxy up, latency down), by
/// increasing latency.
pub fn front(points: &[(f64, f64)]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_finite() && points[i].1.is_finite())
        .collect();
    idx.sort_by(|&a, &b| {
        points[a]
            .1
            .total_cmp(&points[b].1)
            .then(points[b].0.total_cmp(&points[a].0))
    });
    let mut out = vec![];
    let mut best = f64::NEG_INFINITY;
    for i in idx {
        if points[i].0 > best {
            best = points[i].0;
            out.push(i);
        }
    }
    out
}
