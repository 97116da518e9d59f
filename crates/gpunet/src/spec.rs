//! The GPUNet model JSON: a list of layers, the first a `data` entry
//! (resolution, whether the model is a distilled one), then the network's
//! blocks in order. Parsed into [`Spec`] with an error naming the layer,
//! the key and the valid choices; nothing is built before the whole file
//! checks out (channels chain, kernels are odd, strides 1 or 2, ...).
//!
//! The same `layer_type` means different modules in the two builders of the
//! reference (`GPUNet_Builder._get_model` / `_get_distill_model`), so the
//! parsed [`Block`] names the module, not the JSON word:
//!
//! | JSON `layer_type` | `distill: false` | `distill: true` |
//! |---|---|---|
//! | `head` | [`Block::Head`] (3x3 s2 conv, BN eps 1e-3, `act`, default swish) | [`Block::HeadD`] (BN eps 1e-5, ReLU) |
//! | `head_large` | error | [`Block::HeadLargeD`] (three 3x3 convs) |
//! | `conv` | [`Block::Conv`] (conv + BN + act, no residual) | error |
//! | `irb` | [`Block::Irb`] (timm's MBConv: channel rounding, SE) | [`Block::IrbD`] (no rounding, no SE, ReLU) |
//! | `fused_irb` | [`Block::FusedIrb`] (timm's EdgeResidual) | [`Block::FusedIrbD`] |
//! | `tail` | [`Block::Tail`] (1x1 conv, BN, ReLU, pool, linear) | [`Block::TailD`] (1x1 conv to 1152, pool, 1x1 conv, linear) |

use serde_json::{Map, Value};
use std::fmt;

/// A block's activation (the reference's `get_act`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Act {
    Relu,
    /// SiLU, `x * sigmoid(x)`.
    Swish,
}

impl Act {
    pub const CHOICES: &'static [&'static str] = &["relu", "swish"];
    pub fn name(self) -> &'static str {
        match self {
            Act::Relu => "relu",
            Act::Swish => "swish",
        }
    }
}

/// One module of the network, as the reference builds it.
#[derive(Clone, Debug, PartialEq)]
pub enum Block {
    /// `Prologue`: 3x3 stride-2 conv (padding 1, no bias), BN (eps 1e-3), `act`.
    Head { cin: usize, cout: usize, act: Act },
    /// `ConvBnAct`: k x k conv (symmetric padding), BN (eps 1e-3), `act`; no
    /// residual (the builder leaves `skip` off).
    Conv {
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        act: Act,
    },
    /// `InvertedResidual` (MBConv): 1x1 expand to `make_divisible(cin *
    /// expansion)`, BN, act; depthwise k x k (symmetric padding), BN, act;
    /// optional squeeze-excite; 1x1 project, BN; residual when
    /// `cin == cout` and stride 1. BN eps 1e-3.
    Irb {
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        expansion: f64,
        act: Act,
        se: bool,
    },
    /// `EdgeResidual` (fused MBConv): k x k conv to `make_divisible(cin *
    /// expansion)` with TF "same" padding as the reference resolves it
    /// (`(k - 1) / 2` at stride 1, **none** at stride 2: the dynamic-padding
    /// flag is dropped, so no padding is applied), BN, act; optional SE; 1x1
    /// project, BN; residual when `cin == cout` and stride 1. BN eps 1e-3.
    FusedIrb {
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        expansion: f64,
        act: Act,
        se: bool,
    },
    /// `Epilogue`: 1x1 conv, BN (eps 1e-3), ReLU, global average pool,
    /// dropout 0.2, linear (with bias) to the classes.
    Tail {
        cin: usize,
        cout: usize,
        classes: usize,
    },
    /// `PrologueD`: 3x3 stride-2 conv, BN (eps 1e-5), ReLU.
    HeadD { cin: usize, cout: usize },
    /// `PrologueLargeD`: 3x3 stride-2 conv then two 3x3 stride-1 convs, each
    /// followed by BN (eps 1e-5) and ReLU.
    HeadLargeD { cin: usize, cout: usize },
    /// `Inverted_Residual_Block`: 1x1 (grouped) expand to `cin * expansion`
    /// (no rounding), BN, ReLU; depthwise k x k (padding k / 2), BN, ReLU;
    /// 1x1 (grouped) project, BN; residual when `cin == cout` and stride 1.
    /// BN eps 1e-5, no SE.
    IrbD {
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        expansion: usize,
        groups: usize,
    },
    /// `Fused_IRB`: k x k conv to `cin * expansion` (padding k / 2), BN
    /// (eps 1e-3), ReLU; 1x1 project, BN (eps 1e-3); residual when
    /// `cin == cout` and stride 1. (`groups` is read but unused, as in the
    /// reference.)
    FusedIrbD {
        cin: usize,
        cout: usize,
        kernel: usize,
        stride: usize,
        expansion: usize,
        groups: usize,
    },
    /// `EpilogueD`: 1x1 conv to 1152, BN (eps 1e-5), ReLU, global average
    /// pool, 1x1 conv (no bias) to `cout`, ReLU, dropout 0.2, linear.
    TailD {
        cin: usize,
        cout: usize,
        classes: usize,
    },
}

/// Width of `EpilogueD`'s first 1x1 conv (fixed in the reference).
pub const TAIL_D_WIDTH: usize = 1152;
/// BN epsilon of the ordinary modules (and of `Fused_IRB`).
pub const BN_EPS: f64 = 1e-3;
/// BN epsilon of the distilled modules (PyTorch's default).
pub const BN_EPS_D: f64 = 1e-5;
/// Squeeze-excite ratio of the ordinary blocks, relative to the block's input.
pub const SE_RATIO: f64 = 0.25;

/// The reference's (timm's) `make_divisible(v, 8)`: round to the nearest
/// multiple of 8 (at least 8), going up one step when rounding down lost
/// more than 10%.
pub fn make_divisible(v: f64) -> usize {
    let divisor = 8.0;
    let mut new_v = (((v + divisor / 2.0).floor() / divisor).floor() * divisor).max(divisor);
    if new_v < 0.9 * v {
        new_v += divisor;
    }
    new_v as usize
}

impl Block {
    pub fn cin(&self) -> usize {
        match *self {
            Block::Head { cin, .. }
            | Block::Conv { cin, .. }
            | Block::Irb { cin, .. }
            | Block::FusedIrb { cin, .. }
            | Block::Tail { cin, .. }
            | Block::HeadD { cin, .. }
            | Block::HeadLargeD { cin, .. }
            | Block::IrbD { cin, .. }
            | Block::FusedIrbD { cin, .. }
            | Block::TailD { cin, .. } => cin,
        }
    }
    pub fn cout(&self) -> usize {
        match *self {
            Block::Head { cout, .. }
            | Block::Conv { cout, .. }
            | Block::Irb { cout, .. }
            | Block::FusedIrb { cout, .. }
            | Block::Tail { cout, .. }
            | Block::HeadD { cout, .. }
            | Block::HeadLargeD { cout, .. }
            | Block::IrbD { cout, .. }
            | Block::FusedIrbD { cout, .. }
            | Block::TailD { cout, .. } => cout,
        }
    }
    /// The JSON `layer_type` this block is written as.
    pub fn layer_type(&self) -> &'static str {
        match self {
            Block::Head { .. } | Block::HeadD { .. } => "head",
            Block::HeadLargeD { .. } => "head_large",
            Block::Conv { .. } => "conv",
            Block::Irb { .. } | Block::IrbD { .. } => "irb",
            Block::FusedIrb { .. } | Block::FusedIrbD { .. } => "fused_irb",
            Block::Tail { .. } | Block::TailD { .. } => "tail",
        }
    }
    /// Hidden width of an (fused) inverted residual block.
    pub fn mid(&self) -> Option<usize> {
        match *self {
            Block::Irb { cin, expansion, .. } | Block::FusedIrb { cin, expansion, .. } => {
                Some(make_divisible(cin as f64 * expansion))
            }
            Block::IrbD { cin, expansion, .. } | Block::FusedIrbD { cin, expansion, .. } => {
                Some(cin * expansion)
            }
            _ => None,
        }
    }
    /// Squeeze-excite width: `round(mid * (0.25 / expansion))` with Python's
    /// round-half-to-even (the reference's `SqueezeExcite`), i.e. a quarter
    /// of the block's input channels before rounding.
    pub fn se_channels(&self) -> Option<usize> {
        match *self {
            Block::Irb {
                expansion,
                se: true,
                ..
            }
            | Block::FusedIrb {
                expansion,
                se: true,
                ..
            } => {
                let mid = self.mid()? as f64;
                Some((mid * (SE_RATIO / expansion)).round_ties_even() as usize)
            }
            _ => None,
        }
    }
    /// Whether the block adds its input to its output.
    pub fn residual(&self) -> bool {
        match *self {
            Block::Irb {
                cin, cout, stride, ..
            }
            | Block::FusedIrb {
                cin, cout, stride, ..
            }
            | Block::IrbD {
                cin, cout, stride, ..
            }
            | Block::FusedIrbD {
                cin, cout, stride, ..
            } => cin == cout && stride == 1,
            _ => false,
        }
    }
}

/// A block and the stage the JSON gives it (if any).
#[derive(Clone, Debug, PartialEq)]
pub struct Layer {
    pub block: Block,
    pub stage: Option<i64>,
}

/// A parsed, checked model JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    /// Input resolution (square images).
    pub resolution: usize,
    /// Whether the reference builds it with the distilled modules.
    pub distill: bool,
    pub layers: Vec<Layer>,
}

/// A bad model JSON: where (layer index in the JSON list, its type) and
/// which key.
#[derive(Clone, Debug, PartialEq)]
pub struct SpecError {
    pub layer: Option<(usize, String)>,
    pub key: Option<String>,
    pub msg: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.layer {
            Some((i, t)) if t.is_empty() => write!(f, "layer {i}")?,
            Some((i, t)) => write!(f, "layer {i} (`{t}`)")?,
            None => write!(f, "model JSON")?,
        }
        if let Some(k) = &self.key {
            write!(f, ", key `{k}`")?;
        }
        write!(f, ": {}", self.msg)
    }
}

impl std::error::Error for SpecError {}

/// Keys the reference's JSONs carry that no builder reads, accepted and
/// ignored: `stage:` is a typo of `stage` in the published `2.25ms-D.json`.
pub const IGNORED_KEYS: &[&str] = &["stage:"];

/// One JSON object's keys, read with errors that name the layer.
struct Obj<'a> {
    i: usize,
    ty: String,
    m: &'a Map<String, Value>,
    used: Vec<&'static str>,
}

impl<'a> Obj<'a> {
    fn err(&self, key: Option<&str>, msg: impl Into<String>) -> SpecError {
        SpecError {
            layer: Some((self.i, self.ty.clone())),
            key: key.map(str::to_string),
            msg: msg.into(),
        }
    }
    fn get(&mut self, key: &'static str) -> Option<&'a Value> {
        self.used.push(key);
        self.m.get(key)
    }
    fn usize(&mut self, key: &'static str) -> Result<usize, SpecError> {
        match self.get(key) {
            None => Err(self.err(Some(key), "missing (a positive integer)")),
            Some(v) => match v.as_u64() {
                Some(n) if (1..=1 << 20).contains(&n) => Ok(n as usize),
                _ => Err(self.err(Some(key), format!("expected a positive integer, found {v}"))),
            },
        }
    }
    fn usize_opt(&mut self, key: &'static str, default: usize) -> Result<usize, SpecError> {
        if self.m.contains_key(key) {
            self.usize(key)
        } else {
            self.used.push(key);
            Ok(default)
        }
    }
    fn f64(&mut self, key: &'static str) -> Result<f64, SpecError> {
        match self.get(key) {
            None => Err(self.err(Some(key), "missing (a positive number)")),
            Some(v) => match v.as_f64() {
                Some(x) if x.is_finite() && x > 0.0 && x <= 64.0 => Ok(x),
                _ => Err(self.err(
                    Some(key),
                    format!("expected a number in (0, 64], found {v}"),
                )),
            },
        }
    }
    fn bool(&mut self, key: &'static str) -> Result<bool, SpecError> {
        match self.get(key) {
            None => Err(self.err(Some(key), "missing (true or false)")),
            Some(Value::Bool(b)) => Ok(*b),
            Some(v) => Err(self.err(Some(key), format!("expected true or false, found {v}"))),
        }
    }
    fn act(&mut self, key: &'static str, default: Option<Act>) -> Result<Act, SpecError> {
        match (self.get(key), default) {
            (None, Some(d)) => Ok(d),
            (None, None) => Err(self.err(
                Some(key),
                format!("missing; valid choices: {}", Act::CHOICES.join(", ")),
            )),
            (Some(Value::String(s)), _) if s == "relu" => Ok(Act::Relu),
            (Some(Value::String(s)), _) if s == "swish" => Ok(Act::Swish),
            (Some(v), _) => Err(self.err(
                Some(key),
                format!(
                    "unknown activation {v}; valid choices: {}",
                    Act::CHOICES.join(", ")
                ),
            )),
        }
    }
    fn kernel(&mut self) -> Result<usize, SpecError> {
        let k = self.usize("kernel_size")?;
        if k % 2 == 0 || k > 15 {
            return Err(self.err(
                Some("kernel_size"),
                format!("expected an odd kernel size up to 15, found {k}"),
            ));
        }
        Ok(k)
    }
    fn stride(&mut self) -> Result<usize, SpecError> {
        let s = self.usize("stride")?;
        if s > 2 {
            return Err(self.err(Some("stride"), format!("valid choices: 1, 2; found {s}")));
        }
        Ok(s)
    }
    fn int_expansion(&mut self) -> Result<usize, SpecError> {
        let e = self.f64("expansion")?;
        if e.fract() != 0.0 {
            return Err(self.err(
                Some("expansion"),
                format!("the distilled modules need an integer expansion (channels = in x expansion, no rounding), found {e}"),
            ));
        }
        Ok(e as usize)
    }
    fn stage(&mut self) -> Result<Option<i64>, SpecError> {
        match self.get("stage") {
            None => Ok(None),
            Some(v) => v
                .as_i64()
                .map(Some)
                .ok_or_else(|| self.err(Some("stage"), format!("expected an integer, found {v}"))),
        }
    }
    /// Reject keys no builder reads (a typo would otherwise pass silently).
    fn finish(self) -> Result<(), SpecError> {
        for k in self.m.keys() {
            if k != "layer_type"
                && !self.used.contains(&k.as_str())
                && !IGNORED_KEYS.contains(&k.as_str())
            {
                let mut known = self.used.clone();
                known.sort_unstable();
                known.dedup();
                return Err(self.err(
                    Some(k),
                    format!("unknown key; valid keys here: {}", known.join(", ")),
                ));
            }
        }
        Ok(())
    }
}

const TYPES: &[&str] = &["head", "head_large", "conv", "irb", "fused_irb", "tail"];

impl Spec {
    /// Parse and check a model JSON (the reference's format).
    pub fn parse(json: &str) -> Result<Spec, SpecError> {
        let top = |msg: String| SpecError {
            layer: None,
            key: None,
            msg,
        };
        let v: Value = serde_json::from_str(json).map_err(|e| top(format!("not JSON: {e}")))?;
        let list = v
            .as_array()
            .ok_or_else(|| top("expected a list of layer objects".into()))?;
        if list.is_empty() {
            return Err(top(
                "empty layer list (expected a `data` entry first)".into()
            ));
        }
        let mut objs = vec![];
        for (i, l) in list.iter().enumerate() {
            let m = l.as_object().ok_or_else(|| SpecError {
                layer: Some((i, String::new())),
                key: None,
                msg: format!("expected an object, found {l}"),
            })?;
            let ty = match m.get("layer_type") {
                Some(Value::String(s)) => s.clone(),
                other => {
                    return Err(SpecError {
                        layer: Some((i, String::new())),
                        key: Some("layer_type".into()),
                        msg: format!(
                            "{}; valid choices: data, {}",
                            match other {
                                None => "missing".to_string(),
                                Some(v) => format!("expected a string, found {v}"),
                            },
                            TYPES.join(", ")
                        ),
                    })
                }
            };
            objs.push(Obj {
                i,
                ty,
                m,
                used: vec![],
            });
        }
        let mut it = objs.into_iter();
        let mut data = it.next().expect("non-empty");
        if data.ty != "data" {
            return Err(data.err(
                Some("layer_type"),
                "the first layer must be the `data` entry (img_resolution, distill)",
            ));
        }
        let resolution = data.usize("img_resolution")?;
        let distill = data.bool("distill")?;
        data.finish()?;

        let mut layers = vec![];
        for mut o in it {
            let block = match (o.ty.as_str(), distill) {
                ("head", false) => Block::Head {
                    cin: o.usize("num_in_channels")?,
                    cout: o.usize("num_out_channels")?,
                    act: o.act("act", Some(Act::Swish))?,
                },
                ("head", true) => Block::HeadD {
                    cin: o.usize("num_in_channels")?,
                    cout: o.usize("num_out_channels")?,
                },
                ("head_large", true) => Block::HeadLargeD {
                    cin: o.usize("num_in_channels")?,
                    cout: o.usize("num_out_channels")?,
                },
                ("conv", false) => Block::Conv {
                    cin: o.usize("num_in_channels")?,
                    cout: o.usize("num_out_channels")?,
                    kernel: o.kernel()?,
                    stride: o.stride()?,
                    act: o.act("act", None)?,
                },
                ("irb", false) | ("fused_irb", false) => {
                    let (cin, cout) = (o.usize("num_in_channels")?, o.usize("num_out_channels")?);
                    let (kernel, stride) = (o.kernel()?, o.stride()?);
                    let expansion = o.f64("expansion")?;
                    let act = o.act("act", None)?;
                    let se = o.bool("use_se")?;
                    if o.ty == "irb" {
                        Block::Irb {
                            cin,
                            cout,
                            kernel,
                            stride,
                            expansion,
                            act,
                            se,
                        }
                    } else {
                        Block::FusedIrb {
                            cin,
                            cout,
                            kernel,
                            stride,
                            expansion,
                            act,
                            se,
                        }
                    }
                }
                ("irb", true) | ("fused_irb", true) => {
                    let (cin, cout) = (o.usize("num_in_channels")?, o.usize("num_out_channels")?);
                    let (kernel, stride) = (o.kernel()?, o.stride()?);
                    let expansion = o.int_expansion()?;
                    let groups = o.usize_opt("groups", 1)?;
                    if o.ty == "irb" {
                        let mid = cin * expansion;
                        for (what, c) in [("input", cin), ("expanded", mid), ("output", cout)] {
                            if c % groups != 0 {
                                return Err(o.err(
                                    Some("groups"),
                                    format!(
                                        "{groups} groups do not divide the {what} channels ({c})"
                                    ),
                                ));
                            }
                        }
                        Block::IrbD {
                            cin,
                            cout,
                            kernel,
                            stride,
                            expansion,
                            groups,
                        }
                    } else {
                        Block::FusedIrbD {
                            cin,
                            cout,
                            kernel,
                            stride,
                            expansion,
                            groups,
                        }
                    }
                }
                ("tail", d) => {
                    let (cin, cout) = (o.usize("num_in_channels")?, o.usize("num_out_channels")?);
                    let classes = o.usize("num_classes")?;
                    if d {
                        Block::TailD { cin, cout, classes }
                    } else {
                        Block::Tail { cin, cout, classes }
                    }
                }
                ("data", _) => {
                    return Err(o.err(Some("layer_type"), "a second `data` entry"));
                }
                (t, d) if TYPES.contains(&t) => {
                    return Err(o.err(
                        Some("layer_type"),
                        format!(
                            "`{t}` is not a module of the {} builder; valid choices there: {}",
                            if d { "distilled" } else { "ordinary" },
                            if d {
                                "head, head_large, irb, fused_irb, tail"
                            } else {
                                "head, conv, irb, fused_irb, tail"
                            }
                        ),
                    ));
                }
                (t, _) => {
                    return Err(o.err(
                        Some("layer_type"),
                        format!(
                            "unknown layer type `{t}`; valid choices: {}",
                            TYPES.join(", ")
                        ),
                    ));
                }
            };
            let stage = o.stage()?;
            if let Some(mid) = block.mid() {
                if mid == 0 {
                    return Err(o.err(Some("expansion"), "the expanded width rounds to 0"));
                }
            }
            if block.se_channels() == Some(0) {
                return Err(o.err(
                    Some("use_se"),
                    "the squeeze-excite width rounds to 0 channels",
                ));
            }
            let i = o.i;
            let ty = o.ty.clone();
            o.finish()?;
            if let Some(prev) = layers.last() {
                let prev: &Layer = prev;
                if matches!(prev.block, Block::Tail { .. } | Block::TailD { .. }) {
                    return Err(SpecError {
                        layer: Some((i, ty)),
                        key: None,
                        msg: "a layer after the `tail`".into(),
                    });
                }
                if prev.block.cout() != block.cin() {
                    return Err(SpecError {
                        layer: Some((i, ty)),
                        key: Some("num_in_channels".into()),
                        msg: format!(
                            "{} input channels, but the layer before gives {}",
                            block.cin(),
                            prev.block.cout()
                        ),
                    });
                }
            }
            layers.push(Layer { block, stage });
        }
        match layers.last() {
            Some(Layer {
                block: Block::Tail { .. } | Block::TailD { .. },
                ..
            }) => {}
            _ => {
                return Err(top(
                    "the last layer must be the `tail` (the classifier)".into()
                ))
            }
        }
        let spec = Spec {
            resolution,
            distill,
            layers,
        };
        spec.shapes(resolution).map_err(top)?;
        Ok(spec)
    }

    /// Number of classes of the classifier.
    pub fn classes(&self) -> usize {
        match self.layers.last().map(|l| &l.block) {
            Some(Block::Tail { classes, .. } | Block::TailD { classes, .. }) => *classes,
            _ => 0,
        }
    }

    /// Input channels of the first layer.
    pub fn in_channels(&self) -> usize {
        self.layers.first().map_or(0, |l| l.block.cin())
    }

    /// The spatial side before and after each layer at input `resolution`,
    /// or why a layer's kernel does not fit.
    pub fn shapes(&self, resolution: usize) -> Result<Vec<(usize, usize)>, String> {
        let mut hw = resolution;
        let mut out = vec![];
        for (i, l) in self.layers.iter().enumerate() {
            let mut h = hw;
            for (k, s, p) in crate::counts::spatial_convs(&l.block) {
                h = crate::counts::conv_out(h, k, s, p).ok_or_else(|| {
                    format!(
                        "layer {} (`{}`): a {k}x{k} convolution does not fit a {h}x{h} input at resolution {resolution}",
                        i + 1,
                        l.block.layer_type()
                    )
                })?;
            }
            out.push((hw, h));
            hw = h;
        }
        Ok(out)
    }
}

impl Spec {
    /// The model as the reference's JSON (a list of layer objects), which
    /// [`Spec::parse`] reads back to an equal `Spec`. Keys the builders do
    /// not read are left out (the `head`'s `act` is always written).
    pub fn to_json(&self) -> String {
        use serde_json::json;
        let mut out = vec![json!({
            "layer_type": "data",
            "img_resolution": self.resolution,
            "distill": self.distill,
        })];
        for l in &self.layers {
            let b = &l.block;
            let mut o = json!({
                "layer_type": b.layer_type(),
                "num_in_channels": b.cin(),
                "num_out_channels": b.cout(),
            });
            let m = o.as_object_mut().expect("object");
            let mut put = |k: &str, v: Value| {
                m.insert(k.to_string(), v);
            };
            match *b {
                Block::Head { act, .. } => put("act", json!(act.name())),
                Block::Conv {
                    kernel,
                    stride,
                    act,
                    ..
                } => {
                    put("stride", json!(stride));
                    put("kernel_size", json!(kernel));
                    put("act", json!(act.name()));
                }
                Block::Irb {
                    kernel,
                    stride,
                    expansion,
                    act,
                    se,
                    ..
                }
                | Block::FusedIrb {
                    kernel,
                    stride,
                    expansion,
                    act,
                    se,
                    ..
                } => {
                    put("stride", json!(stride));
                    put("expansion", json!(expansion));
                    put("kernel_size", json!(kernel));
                    put("act", json!(act.name()));
                    put("use_se", json!(se));
                }
                Block::IrbD {
                    kernel,
                    stride,
                    expansion,
                    groups,
                    ..
                }
                | Block::FusedIrbD {
                    kernel,
                    stride,
                    expansion,
                    groups,
                    ..
                } => {
                    put("stride", json!(stride));
                    put("expansion", json!(expansion));
                    put("kernel_size", json!(kernel));
                    put("groups", json!(groups));
                }
                Block::Tail { classes, .. } | Block::TailD { classes, .. } => {
                    put("num_classes", json!(classes));
                }
                Block::HeadD { .. } | Block::HeadLargeD { .. } => {}
            }
            if let Some(s) = l.stage {
                put("stage", json!(s));
            }
            out.push(o);
        }
        serde_json::to_string_pretty(&Value::Array(out)).expect("serialisable")
    }
}
