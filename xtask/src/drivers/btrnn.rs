//! Driver for BT-RNN's parameter table (pure Rust), and the model settings
//! every BT-RNN driver shares (the training driver, which needs libtorch,
//! lives in `xtask-torch`).
//!
//! Each method is one model: `lstm` (dense input-to-hidden matrix),
//! `tt-lstm` (`ranks`: the d - 1 inner tensor-train ranks) or `bt-lstm`
//! (`rank`: the core rank R of every mode, `blocks`: N).

use super::{Driver, Prepared, RunContext, RunOutput};
use crate::config::{Loaded, Params};
use anyhow::Result;
use btrnn::shapes::forward_macs;
use btrnn::{lstm_layer_params, MapKind, Modes};

pub const ALGORITHMS: &[&str] = &["lstm", "tt-lstm", "bt-lstm"];

pub fn params_driver() -> Driver {
    Driver {
        name: "btrnn-params",
        about: "BT-RNN: exact parameter counts of LSTM / TT-LSTM / BT-LSTM input-to-hidden maps",
        algorithms: ALGORITHMS,
        prepare: prepare_params,
    }
}

/// The tensorised shapes from `problem` (`input_modes`, `hidden_modes`;
/// default: the paper's UCF11 setting). An LSTM folds 4 gates.
pub fn parse_modes(p: &mut Params) -> Result<Modes> {
    let d = btrnn::ucf11_modes();
    let input = p.usize_list_or("input_modes", &d.input)?;
    let hidden = p.usize_list_or("hidden_modes", &d.hidden)?;
    Modes::new(input, hidden, 4).map_err(|e| p.loaded.err(&p.key, e))
}

/// One method's map and the truncated-normal scale of its initial weights
/// (the authors' defaults: LSTM 0.1, TT 0.08 (5 - r), BT 0.05 (5 - R)).
pub fn parse_model(p: &mut Params, algorithm: &str, modes: &Modes) -> Result<(MapKind, f64)> {
    let d = modes.order();
    let (kind, std) = match algorithm {
        "lstm" => (MapKind::Dense, 0.1),
        "tt-lstm" => {
            let inner = p.usize_list_or("ranks", &vec![4; d.saturating_sub(1)])?;
            let mut ranks = vec![1];
            ranks.extend(&inner);
            ranks.push(1);
            let r1 = inner.first().copied().unwrap_or(1) as f64;
            (MapKind::TensorTrain { ranks }, 0.08 * (5.0 - r1).max(1.0))
        }
        _ => {
            let rank = p.usize_or("rank", 4)?;
            let blocks = p.usize_or("blocks", 2)?;
            (
                MapKind::BlockTerm {
                    ranks: vec![rank; d],
                    blocks,
                },
                0.05 * (5.0 - rank as f64).max(1.0),
            )
        }
    };
    kind.validate(modes).map_err(|e| p.loaded.err(&p.key, e))?;
    // `init`: the authors' per-model scales, or scales matched to the dense
    // LSTM's (0.1) through the represented matrix (our variant).
    let std = match p
        .choice("init", Some("authors"), &["authors", "matched"])?
        .as_str()
    {
        "matched" => kind.matched_init_std(0.1),
        _ => std,
    };
    let std = p.f64_or("init_std", std)?;
    Ok((kind, std))
}

#[derive(Debug)]
struct ParamTable {
    modes: Modes,
    methods: Vec<MapKind>,
}

fn prepare_params(l: &Loaded) -> Result<Box<dyn Prepared>> {
    let mut p = Params::new(l, "problem", &l.exp.problem);
    let modes = parse_modes(&mut p)?;
    p.finish()?;
    let mut methods = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let mut p = Params::new(l, format!("methods[{i}].params"), &m.params);
        let (kind, _) = parse_model(&mut p, &m.algorithm, &modes)?;
        p.finish()?;
        methods.push(kind);
    }
    Ok(Box::new(ParamTable { modes, methods }))
}

impl Prepared for ParamTable {
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let method = ctx.method;
        let kind = &self.methods[method];
        let m = &self.modes;
        let ih = kind.params(m);
        let mut out = RunOutput::default();
        let dense = MapKind::Dense.params(m) as f64;
        out.scalars
            .insert("params_input_to_hidden".into(), ih as f64);
        out.scalars.insert(
            "params_lstm_layer".into(),
            lstm_layer_params(m, kind) as f64,
        );
        out.scalars
            .insert("compression_vs_dense".into(), dense / ih as f64);
        out.scalars.insert(
            "forward_macs_per_frame".into(),
            forward_macs(m, kind) as f64,
        );
        Ok(out)
    }
    fn has_curves(&self) -> bool {
        false
    }
}
