//! Driver for GPUNet's model table (pure Rust): one method per published
//! model (`algorithm = "published"`, `params.model` = `GPUNet-0` ... or the
//! JSON's file name), its exact #params and MACs in closed form from the
//! JSON (`gpunet::Spec::counts`). The latency driver (`gpunet-latency`,
//! libtorch) lives in `xtask-torch` and shares [`parse_model`].

use super::{Driver, Prepared, RunContext, RunOutput, Table};
use crate::config::{Loaded, Params};
use anyhow::Result;
use gpunet::{Published, Spec};

pub const ALGORITHMS: &[&str] = &["published"];

pub fn models_driver() -> Driver {
    Driver {
        name: "gpunet-models",
        about: "GPUNet: exact #params and MACs of the published models from their JSONs",
        algorithms: ALGORITHMS,
        prepare,
    }
}

/// A method's model (`params.model`), parsed and checked.
pub fn parse_model(p: &mut Params) -> Result<(Published, Spec)> {
    let names: Vec<&str> = gpunet::ALL.iter().map(|m| m.name).collect();
    let name = p.choice("model", None, &names)?;
    let m = Published::find(&name).map_err(|e| p.loaded.err(&p.key, e))?;
    let spec = m
        .spec()
        .map_err(|e| p.loaded.err(&p.key, format!("{}: {e}", m.file)))?;
    Ok((m, spec))
}

/// Every method's model.
pub fn parse_methods(l: &Loaded) -> Result<Vec<(Published, Spec)>> {
    let mut out = vec![];
    for (i, m) in l.exp.methods.iter().enumerate() {
        let mut p = Params::new(l, format!("methods[{i}].params"), &m.params);
        out.push(parse_model(&mut p)?);
        p.finish()?;
    }
    Ok(out)
}

#[derive(Debug)]
struct ModelTable {
    models: Vec<(Published, Spec)>,
}

fn prepare(l: &Loaded) -> Result<Box<dyn Prepared>> {
    Params::new(l, "problem", &l.exp.problem).finish()?;
    Ok(Box::new(ModelTable {
        models: parse_methods(l)?,
    }))
}

impl Prepared for ModelTable {
    fn run(&self, ctx: &RunContext<'_>) -> Result<RunOutput> {
        let (_, spec) = &self.models[ctx.method];
        let c = spec.counts();
        let mut out = RunOutput::default();
        let s = &mut out.scalars;
        s.insert("params".into(), c.params as f64);
        s.insert("params_m".into(), c.params as f64 / 1e6);
        s.insert("macs".into(), c.macs as f64);
        s.insert("gmacs".into(), c.macs as f64 / 1e9);
        s.insert("resolution".into(), spec.resolution as f64);
        s.insert("layers".into(), spec.layers.len() as f64);
        let header = [
            "index",
            "layer_type",
            "stage",
            "in_hw",
            "out_hw",
            "params",
            "macs",
        ];
        out.table = Some(Table {
            header: header.iter().map(|h| h.to_string()).collect(),
            rows: c
                .layers
                .iter()
                .zip(&spec.layers)
                .map(|(lc, l)| {
                    vec![
                        lc.index.to_string(),
                        lc.layer_type.to_string(),
                        l.stage.map_or(String::new(), |s| s.to_string()),
                        lc.in_hw.to_string(),
                        lc.out_hw.to_string(),
                        lc.params.to_string(),
                        lc.macs.to_string(),
                    ]
                })
                .collect(),
        });
        Ok(out)
    }
    fn has_curves(&self) -> bool {
        false
    }
}
