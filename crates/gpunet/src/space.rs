//! The GPUNet search space (the paper's space table, reproduced in the
//! reference README's "Model architecture" figure) as a searchkit space.
//!
//! Eight stages, the layers of a stage sharing one configuration, the
//! first layer of a stage taking its stride:
//!
//! | stage | type | stride | kernel | #layers | act | expansion | filters (lo, hi, step) | SE |
//! |---|---|---|---|---|---|---|---|---|
//! | 0 | conv | 2 | 3, 5 | 1 | relu, swish | | 24..32 / 8 | |
//! | 1 | conv | 1 | 3, 5 | 1..4 | relu, swish | | 24..32 / 8 | |
//! | 2 | fused IRB | 2 | 3, 5 | 1..8 | relu, swish | 2..6 | 32..80 / 16 | 0, 1 |
//! | 3 | fused IRB | 2 | 3, 5 | 1..8 | relu, swish | 2..6 | 48..112 / 16 | 0, 1 |
//! | 4 | IRB | 2 | 3, 5 | 1..10 | relu, swish | 2..6 | 96..192 / 16 | 0, 1 |
//! | 5 | IRB | 1 | 3, 5 | 0..15 | relu, swish | 2..6 | 112..224 / 16 | 0, 1 |
//! | 6 | IRB | 2 | 3, 5 | 1..15 | relu, swish | 2..6 | 128..416 / 32 | 0, 1 |
//! | 7 | IRB | 1 | 3, 5 | 0..15 | relu, swish | 2..6 | 256..832 / 64 | 0, 1 |
//! | 8 | 1x1 conv, pooling, FC | | | | | | 1792 | |
//!
//! plus the resolution, 224..512 in steps of 32. Our reading of the table:
//! the expansion is an integer 2..6 (the table gives the range [2, 6]);
//! stage 0 is the JSON's `head` when its kernel is 3 (the reference's head
//! is a fixed 3x3 conv) and a stride-2 `conv` layer when it is 5; the
//! classifier is the ordinary `tail` with 1792 filters and 1000 classes.
//!
//! [`GpunetSpace`] is a [`Categorical`] space (so searchkit's random
//! search, evolution and partition methods run on it) with
//! [`GpunetSpace::decode`] to an [`Arch`] and [`GpunetSpace::encode`] back.
//! Validity: a stage with 0 layers has every other choice at its first
//! value (one encoding per architecture). [`Arch::from_spec`] reads a model
//! JSON back into stage configurations, and [`Arch::violations`] lists what
//! keeps a model out of the table's space. Of the published models, only
//! GPUNet-0/1/2 read as stage configurations, and none is a member as
//! published (the test `published_models_against_the_space` pins why):
//! GPUNet-2 only by its classifier width (1280, not 1792), GPUNet-0 and
//! GPUNet-1 also by stage widths above the table's ranges; P0 and P1 vary
//! the expansion inside a stage and put a plain conv in stage 2, D1 and D2
//! are distilled models (other modules, kernel 7, expansion per layer).

use crate::spec::{Act, Block, Layer, Spec};
use searchkit::space::Categorical;

/// Block type of a stage.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StageKind {
    Conv,
    FusedIrb,
    Irb,
}

/// One row of the space table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StageRange {
    pub kind: StageKind,
    pub stride: usize,
    pub layers: (usize, usize),
    /// Filters: lowest, highest, step.
    pub filters: (usize, usize, usize),
}

pub const KERNELS: [usize; 2] = [3, 5];
pub const ACTS: [Act; 2] = [Act::Relu, Act::Swish];
pub const EXPANSIONS: [usize; 5] = [2, 3, 4, 5, 6];
pub const TAIL_FILTERS: usize = 1792;
pub const CLASSES: usize = 1000;

/// The space table, stages 0..7.
pub const STAGES: [StageRange; 8] = [
    StageRange {
        kind: StageKind::Conv,
        stride: 2,
        layers: (1, 1),
        filters: (24, 32, 8),
    },
    StageRange {
        kind: StageKind::Conv,
        stride: 1,
        layers: (1, 4),
        filters: (24, 32, 8),
    },
    StageRange {
        kind: StageKind::FusedIrb,
        stride: 2,
        layers: (1, 8),
        filters: (32, 80, 16),
    },
    StageRange {
        kind: StageKind::FusedIrb,
        stride: 2,
        layers: (1, 8),
        filters: (48, 112, 16),
    },
    StageRange {
        kind: StageKind::Irb,
        stride: 2,
        layers: (1, 10),
        filters: (96, 192, 16),
    },
    StageRange {
        kind: StageKind::Irb,
        stride: 1,
        layers: (0, 15),
        filters: (112, 224, 16),
    },
    StageRange {
        kind: StageKind::Irb,
        stride: 2,
        layers: (1, 15),
        filters: (128, 416, 32),
    },
    StageRange {
        kind: StageKind::Irb,
        stride: 1,
        layers: (0, 15),
        filters: (256, 832, 64),
    },
];

/// Input resolutions: 224..512 in steps of 32.
pub fn resolutions() -> Vec<usize> {
    (224..=512).step_by(32).collect()
}

impl StageRange {
    fn filter_choices(&self) -> Vec<usize> {
        let (lo, hi, step) = self.filters;
        (lo..=hi).step_by(step).collect()
    }
    fn has_expansion(&self) -> bool {
        self.kind != StageKind::Conv
    }
}

/// One stage's configuration (shared by its layers).
#[derive(Clone, Debug, PartialEq)]
pub struct StageArch {
    pub kind: StageKind,
    pub stride: usize,
    pub kernel: usize,
    pub layers: usize,
    pub act: Act,
    /// 0 for conv stages.
    pub expansion: f64,
    pub filters: usize,
    pub se: bool,
}

/// A network as stage configurations.
#[derive(Clone, Debug, PartialEq)]
pub struct Arch {
    pub resolution: usize,
    /// Stages 0..7 (a stage with 0 layers is absent from the network).
    pub stages: Vec<StageArch>,
    pub tail_filters: usize,
    pub classes: usize,
}

impl Arch {
    /// The model JSON's blocks (`stage` keys 0..7 as in the published JSONs;
    /// a kernel-3 stage 0 is the `head`, written without a stage key).
    pub fn to_spec(&self) -> Result<Spec, String> {
        let mut layers = vec![];
        let mut c = 3;
        for (i, s) in self.stages.iter().enumerate() {
            for j in 0..s.layers {
                let stride = if j == 0 { s.stride } else { 1 };
                let cin = c;
                let cout = s.filters;
                let block = match s.kind {
                    StageKind::Conv if i == 0 && s.kernel == 3 => Block::Head {
                        cin,
                        cout,
                        act: s.act,
                    },
                    StageKind::Conv => Block::Conv {
                        cin,
                        cout,
                        kernel: s.kernel,
                        stride,
                        act: s.act,
                    },
                    StageKind::FusedIrb => Block::FusedIrb {
                        cin,
                        cout,
                        kernel: s.kernel,
                        stride,
                        expansion: s.expansion,
                        act: s.act,
                        se: s.se,
                    },
                    StageKind::Irb => Block::Irb {
                        cin,
                        cout,
                        kernel: s.kernel,
                        stride,
                        expansion: s.expansion,
                        act: s.act,
                        se: s.se,
                    },
                };
                let stage = match block {
                    Block::Head { .. } => None,
                    _ => Some(i as i64),
                };
                layers.push(Layer { block, stage });
                c = cout;
            }
        }
        layers.push(Layer {
            block: Block::Tail {
                cin: c,
                cout: self.tail_filters,
                classes: self.classes,
            },
            stage: None,
        });
        let spec = Spec {
            resolution: self.resolution,
            distill: false,
            layers,
        };
        // Every check of a parsed JSON (channels, kernels fit, SE width).
        Spec::parse(&spec.to_json()).map_err(|e| e.to_string())
    }

    /// Read a model back into stage configurations: the ordinary builder's
    /// blocks grouped by their `stage` key (the `head` is stage 0), each
    /// stage's layers sharing one configuration with only the first
    /// strided. `Err` says why the model is not of this form.
    pub fn from_spec(spec: &Spec) -> Result<Arch, String> {
        if spec.distill {
            return Err("a distilled model: its modules (PrologueD, Inverted_Residual_Block, EpilogueD) are not the space's".into());
        }
        let (body, tail) = spec.layers.split_at(spec.layers.len() - 1);
        let Block::Tail { cout, classes, .. } = tail[0].block else {
            return Err("no ordinary `tail`".into());
        };
        let mut stages: Vec<Option<StageArch>> = vec![None; 8];
        let mut last = -1i64;
        for (n, l) in body.iter().enumerate() {
            let (kind, kernel, stride, act, expansion, se, st) = match l.block {
                Block::Head { act, .. } => (StageKind::Conv, 3, 2, act, 0.0, false, 0),
                Block::Conv {
                    kernel,
                    stride,
                    act,
                    ..
                } => (
                    StageKind::Conv,
                    kernel,
                    stride,
                    act,
                    0.0,
                    false,
                    l.stage.unwrap_or(-1),
                ),
                Block::FusedIrb {
                    kernel,
                    stride,
                    expansion,
                    act,
                    se,
                    ..
                } => (
                    StageKind::FusedIrb,
                    kernel,
                    stride,
                    act,
                    expansion,
                    se,
                    l.stage.unwrap_or(-1),
                ),
                Block::Irb {
                    kernel,
                    stride,
                    expansion,
                    act,
                    se,
                    ..
                } => (
                    StageKind::Irb,
                    kernel,
                    stride,
                    act,
                    expansion,
                    se,
                    l.stage.unwrap_or(-1),
                ),
                _ => return Err(format!("layer {}: not a module of the space", n + 1)),
            };
            if !(0..8).contains(&st) {
                return Err(format!("layer {}: stage {st} is not one of 0..7", n + 1));
            }
            if st < last {
                return Err(format!("layer {}: stage {st} after stage {last}", n + 1));
            }
            let here = StageArch {
                kind,
                stride,
                kernel,
                layers: 1,
                act,
                expansion,
                filters: l.block.cout(),
                se,
            };
            match &mut stages[st as usize] {
                None => {
                    if kind != STAGES[st as usize].kind {
                        return Err(format!(
                            "stage {st} is a {:?} stage in the space, the model has a {kind:?} block there",
                            STAGES[st as usize].kind
                        ));
                    }
                    stages[st as usize] = Some(here);
                }
                Some(s) => {
                    let same = StageArch {
                        layers: s.layers,
                        stride: s.stride,
                        ..here.clone()
                    };
                    if stride != 1 {
                        return Err(format!(
                            "stage {st}: layer {} has stride {stride}; only a stage's first layer is strided",
                            n + 1
                        ));
                    }
                    if same != *s {
                        return Err(format!(
                            "stage {st}: layer {} differs from the stage's first layer (kernel, act, expansion, filters or SE), but a stage's layers share one configuration",
                            n + 1
                        ));
                    }
                    s.layers += 1;
                }
            }
            last = st;
        }
        let stages = stages
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                s.unwrap_or(StageArch {
                    kind: STAGES[i].kind,
                    stride: STAGES[i].stride,
                    kernel: KERNELS[0],
                    layers: 0,
                    act: ACTS[0],
                    expansion: if STAGES[i].has_expansion() {
                        EXPANSIONS[0] as f64
                    } else {
                        0.0
                    },
                    filters: STAGES[i].filters.0,
                    se: false,
                })
            })
            .collect();
        Ok(Arch {
            resolution: spec.resolution,
            stages,
            tail_filters: cout,
            classes,
        })
    }

    /// What keeps this architecture out of the table's space (empty: a
    /// member).
    pub fn violations(&self) -> Vec<String> {
        let mut v = vec![];
        if !resolutions().contains(&self.resolution) {
            v.push(format!(
                "resolution {} is not one of 224..512 step 32",
                self.resolution
            ));
        }
        for (i, (s, r)) in self.stages.iter().zip(&STAGES).enumerate() {
            if s.layers < r.layers.0 || s.layers > r.layers.1 {
                v.push(format!(
                    "stage {i}: {} layers, the space allows {}..{}",
                    s.layers, r.layers.0, r.layers.1
                ));
            }
            if s.layers == 0 {
                continue;
            }
            if s.stride != r.stride {
                v.push(format!(
                    "stage {i}: stride {}, the space's is {}",
                    s.stride, r.stride
                ));
            }
            if !KERNELS.contains(&s.kernel) {
                v.push(format!("stage {i}: kernel {} is not 3 or 5", s.kernel));
            }
            if !r.filter_choices().contains(&s.filters) {
                let (lo, hi, st) = r.filters;
                v.push(format!(
                    "stage {i}: {} filters, the space allows {lo}..{hi} step {st}",
                    s.filters
                ));
            }
            if r.has_expansion() && !EXPANSIONS.iter().any(|&e| e as f64 == s.expansion) {
                v.push(format!(
                    "stage {i}: expansion {} is not an integer in 2..6",
                    s.expansion
                ));
            }
        }
        if self.tail_filters != TAIL_FILTERS {
            v.push(format!(
                "classifier width {}, the space's is {TAIL_FILTERS}",
                self.tail_filters
            ));
        }
        if self.classes != CLASSES {
            v.push(format!("{} classes, not {CLASSES}", self.classes));
        }
        v
    }
}

/// The space as categorical coordinates: the resolution, then per stage
/// kernel, #layers, act, (expansion,) filters, (SE).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpunetSpace {
    pub cat: Categorical,
}

impl Default for GpunetSpace {
    fn default() -> Self {
        Self::new()
    }
}

impl GpunetSpace {
    pub fn new() -> Self {
        let mut c = vec![resolutions().len()];
        for r in &STAGES {
            c.push(KERNELS.len());
            c.push(r.layers.1 - r.layers.0 + 1);
            c.push(ACTS.len());
            if r.has_expansion() {
                c.push(EXPANSIONS.len());
            }
            c.push(r.filter_choices().len());
            if r.has_expansion() {
                c.push(2);
            }
        }
        Self {
            cat: Categorical::new(c),
        }
    }

    /// Whether `x` is a valid point: in range, and a stage with 0 layers
    /// has its other choices at their first value (one point per network).
    pub fn is_valid(&self, x: &[usize]) -> bool {
        if x.len() != self.cat.cardinalities.len()
            || x.iter().zip(&self.cat.cardinalities).any(|(v, c)| v >= c)
        {
            return false;
        }
        let mut k = 1;
        for r in &STAGES {
            let n = if r.has_expansion() { 6 } else { 4 };
            let s = &x[k..k + n];
            if r.layers.0 + s[1] == 0 && s.iter().enumerate().any(|(j, &v)| j != 1 && v != 0) {
                return false;
            }
            k += n;
        }
        true
    }

    /// The point of the unit box `[0, 1]^d` (one coordinate per choice, as
    /// [`searchkit::space::BoxSpace`] searches see it): coordinate `u` of a
    /// choice with `c` values is value `floor(u c)` (`u = 1` the last), and a
    /// stage with 0 layers has its other choices set to their first value,
    /// so every box point is a valid point.
    pub fn from_unit(&self, u: &[f64]) -> Result<Vec<usize>, String> {
        let c = &self.cat.cardinalities;
        if u.len() != c.len() {
            return Err(format!(
                "{} coordinates for a space of {} choices",
                u.len(),
                c.len()
            ));
        }
        let mut x: Vec<usize> = u
            .iter()
            .zip(c)
            .map(|(&v, &n)| ((v.clamp(0.0, 1.0) * n as f64) as usize).min(n - 1))
            .collect();
        let mut k = 1;
        for r in &STAGES {
            let n = if r.has_expansion() { 6 } else { 4 };
            if r.layers.0 + x[k + 1] == 0 {
                for (j, v) in x[k..k + n].iter_mut().enumerate() {
                    if j != 1 {
                        *v = 0;
                    }
                }
            }
            k += n;
        }
        Ok(x)
    }

    /// The architecture at a point.
    pub fn decode(&self, x: &[usize]) -> Result<Arch, String> {
        if !self.is_valid(x) {
            return Err(format!("{x:?} is not a valid point of the GPUNet space"));
        }
        let resolution = resolutions()[x[0]];
        let mut k = 1;
        let mut stages = vec![];
        for r in &STAGES {
            let e = r.has_expansion();
            let mut next = || {
                k += 1;
                x[k - 1]
            };
            let kernel = KERNELS[next()];
            let layers = r.layers.0 + next();
            let act = ACTS[next()];
            let expansion = if e { EXPANSIONS[next()] as f64 } else { 0.0 };
            let filters = r.filter_choices()[next()];
            let se = e && next() == 1;
            stages.push(StageArch {
                kind: r.kind,
                stride: r.stride,
                kernel,
                layers,
                act,
                expansion,
                filters,
                se,
            });
        }
        Ok(Arch {
            resolution,
            stages,
            tail_filters: TAIL_FILTERS,
            classes: CLASSES,
        })
    }

    /// The point of a member architecture, or its violations.
    pub fn encode(&self, a: &Arch) -> Result<Vec<usize>, Vec<String>> {
        let v = a.violations();
        if !v.is_empty() {
            return Err(v);
        }
        let pos = |xs: &[usize], x: usize| xs.iter().position(|&y| y == x).expect("checked");
        let mut x = vec![pos(&resolutions(), a.resolution)];
        for (s, r) in a.stages.iter().zip(&STAGES) {
            let e = r.has_expansion();
            if s.layers == 0 {
                x.extend(std::iter::repeat_n(0, if e { 6 } else { 4 }));
                continue;
            }
            x.push(pos(&KERNELS, s.kernel));
            x.push(s.layers - r.layers.0);
            x.push(ACTS.iter().position(|&y| y == s.act).expect("two acts"));
            if e {
                x.push(pos(&EXPANSIONS, s.expansion as usize));
            }
            x.push(pos(&r.filter_choices(), s.filters));
            if e {
                x.push(s.se as usize);
            }
        }
        Ok(x)
    }
}
