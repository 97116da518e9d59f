//! Minimal SVG charts in the papers' forms: curves with a shaded standard-error
//! band, and scatter panels. Hand-written so the default build needs no
//! plotting stack.

use std::fmt::Write;

const PALETTE: [&str; 10] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
    "#bcbd22", "#17becf",
];

/// One line of a chart, with an optional band (e.g. mean +- standard error).
#[derive(Clone, Debug)]
pub struct Series {
    pub name: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    pub band: Option<(Vec<f64>, Vec<f64>)>,
}

/// A marker for a number the paper reports.
#[derive(Clone, Debug)]
pub struct Marker {
    pub x: f64,
    pub y: f64,
    pub label: String,
}

#[derive(Clone, Debug, Default)]
pub struct Axes {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    pub y_min: Option<f64>,
    pub y_max: Option<f64>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) {
        return vec![];
    }
    if hi.partial_cmp(&lo) != Some(std::cmp::Ordering::Greater) {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let mut t = (lo / step).ceil() * step;
    let mut out = vec![];
    // Why the cap: a range narrower than a few ulps of its values would
    // never advance `t`.
    while t <= hi + step * 1e-9 && out.len() <= 4 * n + 4 {
        out.push(if t.abs() < step * 1e-9 { 0.0 } else { t });
        t += step;
    }
    out
}

fn fmt_tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-3..1e5).contains(&a) {
        format!("{v:.0e}")
    } else if (v - v.round()).abs() < 1e-9 {
        format!("{}", v.round() as i64)
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

struct Frame {
    x0: f64,
    x1: f64,
    y0: f64,
    y1: f64,
    left: f64,
    top: f64,
    w: f64,
    h: f64,
    log_x: bool,
    log_y: bool,
}

impl Frame {
    fn tx(&self, x: f64) -> f64 {
        let (a, b, v) = if self.log_x {
            (self.x0.log10(), self.x1.log10(), x.max(1e-300).log10())
        } else {
            (self.x0, self.x1, x)
        };
        let v = v.clamp(a - (b - a) * 0.02, b + (b - a) * 0.02);
        self.left + (v - a) / (b - a) * self.w
    }
    fn ty(&self, y: f64) -> f64 {
        let (a, b, v) = if self.log_y {
            (self.y0.log10(), self.y1.log10(), y.max(1e-300).log10())
        } else {
            (self.y0, self.y1, y)
        };
        let v = v.clamp(a - (b - a) * 0.02, b + (b - a) * 0.02);
        self.top + self.h - (v - a) / (b - a) * self.h
    }

    fn draw_axes(&self, s: &mut String, ax: &Axes) {
        let _ = writeln!(
            s,
            r##"<rect x="{}" y="{}" width="{}" height="{}" fill="none" stroke="#333"/>"##,
            self.left, self.top, self.w, self.h
        );
        let xt = if self.log_x {
            log_ticks(self.x0, self.x1)
        } else {
            nice_ticks(self.x0, self.x1, 6)
        };
        for t in xt {
            let x = self.tx(t);
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{}" x2="{x:.1}" y2="{}" stroke="#ddd"/>"##,
                self.top,
                self.top + self.h
            );
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="{}" font-size="11" text-anchor="middle">{}</text>"#,
                self.top + self.h + 15.0,
                fmt_tick(t)
            );
        }
        let yt = if self.log_y {
            log_ticks(self.y0, self.y1)
        } else {
            nice_ticks(self.y0, self.y1, 6)
        };
        for t in yt {
            let y = self.ty(t);
            let _ = writeln!(
                s,
                r##"<line x1="{}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#ddd"/>"##,
                self.left,
                self.left + self.w
            );
            let _ = writeln!(
                s,
                r#"<text x="{}" y="{:.1}" font-size="11" text-anchor="end">{}</text>"#,
                self.left - 5.0,
                y + 4.0,
                fmt_tick(t)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" font-size="13" text-anchor="middle">{}</text>"#,
            self.left + self.w / 2.0,
            self.top + self.h + 35.0,
            esc(&ax.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text x="{x}" y="{y}" font-size="13" text-anchor="middle" transform="rotate(-90 {x} {y})">{}</text>"#,
            esc(&ax.y_label),
            x = self.left - 48.0,
            y = self.top + self.h / 2.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" font-size="14" font-weight="bold" text-anchor="middle">{}</text>"#,
            self.left + self.w / 2.0,
            self.top - 10.0,
            esc(&ax.title)
        );
    }
}

fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    if !(lo > 0.0 && hi > lo && hi.is_finite()) {
        return vec![];
    }
    let (a, b) = (
        lo.max(1e-300).log10().floor() as i32,
        hi.log10().ceil() as i32,
    );
    let mut t: Vec<f64> = (a..=b)
        .map(|e| 10f64.powi(e))
        .filter(|v| *v >= lo * 0.999 && *v <= hi * 1.001)
        .collect();
    if t.len() < 3 {
        t = (a..=b)
            .flat_map(|e| [1.0, 2.0, 5.0].map(|m| m * 10f64.powi(e)))
            .filter(|v| *v >= lo * 0.999 && *v <= hi * 1.001)
            .collect();
    }
    t
}

fn finite_range(vals: impl Iterator<Item = f64>, log: bool) -> (f64, f64) {
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for v in vals.filter(|v| v.is_finite() && (!log || *v > 0.0)) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() {
        return if log { (1.0, 10.0) } else { (0.0, 1.0) };
    }
    if hi <= lo {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.05 };
        return (lo - d, hi + d);
    }
    if log {
        (lo, hi)
    } else {
        let pad = (hi - lo) * 0.04;
        (lo - pad, hi + pad)
    }
}

/// The axis range: the data's `auto` range with the given limits where they
/// make one; a limit that cannot be drawn (not finite, not positive on a log
/// axis) is ignored, and one beyond the data on the other side widens the
/// range to hold both.
fn limited_range(auto: (f64, f64), min: Option<f64>, max: Option<f64>, log: bool) -> (f64, f64) {
    let usable = |v: &f64| v.is_finite() && (!log || *v > 0.0);
    let lo = min.filter(usable).unwrap_or(auto.0);
    let hi = max.filter(usable).unwrap_or(auto.1);
    let (lo, hi) = if hi > lo {
        (lo, hi)
    } else {
        finite_range([lo, hi].into_iter(), log)
    };
    // Keeps `hi - lo` (and the frame's margins) finite; what is left of a
    // range squeezed to nothing (data near f64::MAX or the smallest
    // subnormal) gets a default one.
    const BIG: f64 = f64::MAX / 4.0;
    let (lo, hi) = (lo.clamp(-BIG, BIG), hi.clamp(-BIG, BIG));
    let drawable = |(lo, hi): (f64, f64)| {
        if log {
            lo > 0.0 && hi.log10() > lo.log10()
        } else {
            hi > lo
        }
    };
    [(lo, hi), (lo / 1.25, hi * 1.25)]
        .into_iter()
        .find(|r| drawable(*r))
        .unwrap_or(if log { (1.0, 10.0) } else { (0.0, 1.0) })
}

/// A line chart: one line per series, shaded bands, paper markers, legend.
pub fn line_chart(ax: &Axes, series: &[Series], markers: &[Marker]) -> String {
    // The canvas widens so the longest legend entry (right of the frame,
    // from x = 588, ~6.8 px per character at 12 px) is not cut off.
    let longest = series
        .iter()
        .map(|s| s.name.chars().count())
        .max()
        .unwrap_or(0);
    let (width, height) = (
        (588.0 + 6.8 * longest as f64 + 12.0).max(760.0).ceil(),
        480.0,
    );
    let (x0, x1) = finite_range(
        series
            .iter()
            .flat_map(|s| s.xs.iter().copied())
            .chain(markers.iter().map(|m| m.x)),
        ax.log_x,
    );
    let x0 = if ax.log_x {
        x0
    } else {
        x0.max(0.0).min(
            series
                .iter()
                .flat_map(|s| s.xs.first().copied())
                .fold(f64::INFINITY, f64::min),
        )
    };
    let x1 = series
        .iter()
        .flat_map(|s| s.xs.last().copied())
        .chain(markers.iter().map(|m| m.x))
        .fold(x1.min(f64::INFINITY), f64::max);
    let (x0, x1) = limited_range((x0, x1), None, None, ax.log_x);
    let auto_y = finite_range(
        series
            .iter()
            .flat_map(|s| {
                s.ys.iter().copied().chain(
                    s.band
                        .iter()
                        .flat_map(|b| b.0.iter().chain(b.1.iter()).copied()),
                )
            })
            .chain(markers.iter().map(|m| m.y)),
        ax.log_y,
    );
    let (y0, y1) = limited_range(auto_y, ax.y_min, ax.y_max, ax.log_y);
    let f = Frame {
        x0,
        x1,
        y0,
        y1,
        left: 75.0,
        top: 35.0,
        w: 470.0,
        h: 390.0,
        log_x: ax.log_x,
        log_y: ax.log_y,
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    f.draw_axes(&mut s, ax);
    let _ = writeln!(
        s,
        r#"<clipPath id="plot"><rect x="{}" y="{}" width="{}" height="{}"/></clipPath><g clip-path="url(#plot)">"#,
        f.left, f.top, f.w, f.h
    );
    for (i, se) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        if let Some((lo, hi)) = &se.band {
            // NaN is left out; an infinity is drawn at the frame's edge.
            let mut pts: Vec<String> = se
                .xs
                .iter()
                .zip(hi)
                .filter(|(_, y)| !y.is_nan())
                .map(|(x, y)| format!("{:.1},{:.1}", f.tx(*x), f.ty(*y)))
                .collect();
            pts.extend(
                se.xs
                    .iter()
                    .zip(lo)
                    .rev()
                    .filter(|(_, y)| !y.is_nan())
                    .map(|(x, y)| format!("{:.1},{:.1}", f.tx(*x), f.ty(*y))),
            );
            let _ = writeln!(
                s,
                r#"<polygon points="{}" fill="{c}" fill-opacity="0.15" stroke="none"/>"#,
                pts.join(" ")
            );
        }
        let pts: Vec<String> = se
            .xs
            .iter()
            .zip(&se.ys)
            .filter(|(_, y)| y.is_finite())
            .map(|(x, y)| format!("{:.1},{:.1}", f.tx(*x), f.ty(*y)))
            .collect();
        let _ = writeln!(
            s,
            r#"<polyline points="{}" fill="none" stroke="{c}" stroke-width="2"/>"#,
            pts.join(" ")
        );
    }
    let _ = writeln!(s, "</g>");
    for m in markers
        .iter()
        .filter(|m| m.x.is_finite() && m.y.is_finite())
    {
        let (x, y) = (f.tx(m.x), f.ty(m.y));
        let _ = writeln!(
            s,
            r##"<path d="M{:.1},{:.1} l8,8 m0,-8 l-8,8" stroke="black" stroke-width="2"/>"##,
            x - 4.0,
            y - 4.0
        );
    }
    // Legend to the right of the frame.
    let lx = f.left + f.w + 15.0;
    let mut ly = f.top + 10.0;
    for (i, se) in series.iter().enumerate() {
        let c = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            s,
            r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="3"/>"#,
            lx + 22.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" font-size="12">{}</text>"#,
            lx + 28.0,
            ly + 4.0,
            esc(&se.name)
        );
        ly += 20.0;
    }
    if !markers.is_empty() {
        let _ = writeln!(
            s,
            r##"<path d="M{},{} l8,8 m0,-8 l-8,8" stroke="black" stroke-width="2"/>"##,
            lx + 7.0,
            ly - 4.0
        );
        let _ = writeln!(
            s,
            r#"<text x="{}" y="{}" font-size="12">paper's reported value</text>"#,
            lx + 28.0,
            ly + 4.0
        );
        ly += 20.0;
    }
    let _ = writeln!(
        s,
        r##"<text x="{lx}" y="{}" font-size="10" fill="#555">lines: mean over seeds</text>"##,
        ly + 6.0
    );
    let _ = writeln!(
        s,
        r##"<text x="{lx}" y="{}" font-size="10" fill="#555">bands: +- 1 standard error</text>"##,
        ly + 20.0
    );
    s.push_str("</svg>\n");
    s
}

/// One scatter panel.
#[derive(Clone, Debug)]
pub struct Panel {
    pub title: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
}

/// Scatter panels side by side, sharing axis labels.
pub fn scatter_panels(x_label: &str, y_label: &str, panels: &[Panel]) -> String {
    let pw = 360.0;
    let width = 40.0 + panels.len() as f64 * (pw + 40.0);
    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="440" font-family="Helvetica, Arial, sans-serif">"#
    );
    let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (i, p) in panels.iter().enumerate() {
        let (x0, x1) = limited_range(finite_range(p.xs.iter().copied(), false), None, None, false);
        let (y0, y1) = limited_range(finite_range(p.ys.iter().copied(), false), None, None, false);
        let f = Frame {
            x0,
            x1,
            y0,
            y1,
            left: 75.0 + i as f64 * (pw + 40.0),
            top: 35.0,
            w: pw - 40.0,
            h: 340.0,
            log_x: false,
            log_y: false,
        };
        let ax = Axes {
            title: p.title.clone(),
            x_label: x_label.into(),
            y_label: y_label.into(),
            ..Default::default()
        };
        f.draw_axes(&mut s, &ax);
        let c = PALETTE[i % PALETTE.len()];
        for (x, y) in
            p.xs.iter()
                .zip(&p.ys)
                .filter(|(x, y)| x.is_finite() && y.is_finite())
        {
            let _ = writeln!(
                s,
                r#"<circle cx="{:.1}" cy="{:.1}" r="1.3" fill="{c}" fill-opacity="0.35"/>"#,
                f.tx(*x),
                f.ty(*y)
            );
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(fmt_tick(2.5), "2.5");
        assert_eq!(fmt_tick(1000.0), "1000");
    }

    #[test]
    fn chart_is_well_formed() {
        let se = Series {
            name: "a<b".into(),
            xs: vec![1.0, 2.0],
            ys: vec![0.5, 0.7],
            band: Some((vec![0.4, 0.6], vec![0.6, 0.8])),
        };
        let svg = line_chart(
            &Axes::default(),
            &[se],
            &[Marker {
                x: 2.0,
                y: 0.7,
                label: "p".into(),
            }],
        );
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("a&lt;b"));
    }

    /// Draws without panicking and writes only finite coordinates.
    fn sane(ax: &Axes, series: &[Series], markers: &[Marker]) {
        let svg = line_chart(ax, series, markers);
        let lower = svg.to_lowercase();
        assert!(
            !lower.contains("nan") && !lower.contains("inf"),
            "{ax:?} {series:?}:\n{svg}"
        );
    }

    fn series(xs: &[f64], ys: &[f64]) -> Series {
        Series {
            name: "s".into(),
            xs: xs.to_vec(),
            ys: ys.to_vec(),
            band: Some((ys.to_vec(), ys.iter().map(|y| y + 0.1).collect())),
        }
    }

    #[test]
    fn degenerate_data_draws_finite_coordinates() {
        let nan = f64::NAN;
        let data = [
            series(&[1.0, 2.0, 3.0], &[2.0, 2.0, 2.0]),
            series(&[1.0, 2.0], &[nan, nan]),
            series(&[1.0], &[0.5]),
            series(&[1.0, 2.0], &[0.0, -3.0]),
            series(&[1.0, 2.0], &[f64::INFINITY, f64::NEG_INFINITY]),
            series(&[1.0, 2.0], &[-1e308, 1e308]),
            series(&[1.0, 2.0], &[1e16, 1e16 + 2.0]),
            series(&[1.0, 2.0], &[5e-324, 5e-324]),
            series(&[1.0, 2.0], &[f64::MAX, f64::MAX]),
            series(&[], &[]),
        ];
        let marker = Marker {
            x: 2.0,
            y: 0.0,
            label: "p".into(),
        };
        for log_x in [false, true] {
            for log_y in [false, true] {
                let ax = Axes {
                    log_x,
                    log_y,
                    ..Default::default()
                };
                for se in &data {
                    sane(&ax, std::slice::from_ref(se), &[]);
                    sane(&ax, std::slice::from_ref(se), std::slice::from_ref(&marker));
                }
                sane(&ax, &data, &[]);
            }
        }
    }

    #[test]
    fn unusable_limits_are_ignored() {
        let nan = f64::NAN;
        let se = series(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]);
        for (lo, hi) in [
            (Some(5.0), Some(1.0)),
            (Some(2.0), Some(2.0)),
            (Some(nan), None),
            (None, Some(f64::INFINITY)),
            (Some(-1.0), Some(0.0)),
            (Some(0.0), None),
            (Some(10.0), None),
            (None, Some(-10.0)),
            (Some(-1e308), Some(1e308)),
        ] {
            for log_y in [false, true] {
                let ax = Axes {
                    log_y,
                    y_min: lo,
                    y_max: hi,
                    ..Default::default()
                };
                sane(&ax, std::slice::from_ref(&se), &[]);
            }
        }
    }

    #[test]
    fn scatter_skips_nan_points() {
        let svg = scatter_panels(
            "x",
            "y",
            &[Panel {
                title: "t".into(),
                xs: vec![1.0, f64::NAN, 3.0],
                ys: vec![1.0, 2.0, f64::INFINITY],
            }],
        );
        assert!(!svg.to_lowercase().contains("nan"), "{svg}");
        assert_eq!(svg.matches("<circle").count(), 1);
    }
}
