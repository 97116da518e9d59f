//! Our hand-written SVG (`xtask/src/svg.rs`, compiled in here by path: it needs only std) against
//! plotters' SVG backend on the same chart: three curves of 200 points with standard-error bands,
//! as a report's `figure.svg`.

#[path = "../../xtask/src/svg.rs"]
#[allow(dead_code)]
mod svg;

use crate::table::{time_reps, Row};
use anyhow::Result;
use plotters::prelude::*;

fn series() -> Vec<svg::Series> {
    (0..3)
        .map(|s| {
            let xs: Vec<f64> = (1..=200).map(f64::from).collect();
            let ys: Vec<f64> = xs
                .iter()
                .map(|x| 10.0 / (1.0 + 0.05 * x * (s + 1) as f64))
                .collect();
            let lo = ys.iter().map(|y| y * 0.9).collect();
            let hi = ys.iter().map(|y| y * 1.1).collect();
            svg::Series {
                name: format!("method {s}"),
                xs,
                ys,
                band: Some((lo, hi)),
            }
        })
        .collect()
}

fn ours(series: &[svg::Series]) -> String {
    let ax = svg::Axes {
        title: "Ackley-20".into(),
        x_label: "evaluations".into(),
        y_label: "best value".into(),
        ..Default::default()
    };
    svg::line_chart(&ax, series, &[])
}

fn plotters_svg(series: &[svg::Series]) -> Result<String> {
    let mut s = String::new();
    {
        let root = SVGBackend::with_string(&mut s, (640, 420)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| anyhow::anyhow!("{e}"))?;
        let mut chart = ChartBuilder::on(&root)
            .caption("Ackley-20", ("sans-serif", 16))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(45)
            .build_cartesian_2d(0.0..200.0, 0.0..12.0)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        chart
            .configure_mesh()
            .x_desc("evaluations")
            .y_desc("best value")
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        for (i, se) in series.iter().enumerate() {
            let c = Palette99::pick(i);
            if let Some((lo, hi)) = &se.band {
                let poly: Vec<(f64, f64)> = se
                    .xs
                    .iter()
                    .zip(hi)
                    .map(|(x, y)| (*x, *y))
                    .chain(se.xs.iter().zip(lo).rev().map(|(x, y)| (*x, *y)))
                    .collect();
                chart
                    .draw_series(std::iter::once(Polygon::new(poly, c.mix(0.2).filled())))
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            }
            let c2 = c.to_rgba();
            chart
                .draw_series(LineSeries::new(
                    se.xs.iter().copied().zip(se.ys.iter().copied()),
                    c.stroke_width(2),
                ))
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .label(se.name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], c2));
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        root.present().map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(s)
}

pub fn run() -> Result<Vec<Row>> {
    let se = series();
    let case = "line chart, 3 curves x 200 points with bands".to_string();
    let t = time_reps(20, || ours(&se));
    let a = ours(&se);
    let t2 = time_reps(20, || plotters_svg(&se).expect("plotters"));
    let b = plotters_svg(&se)?;
    let dir = std::env::temp_dir();
    std::fs::write(dir.join("audit-ours.svg"), &a)?;
    std::fs::write(dir.join("audit-plotters.svg"), &b)?;
    Ok(vec![
        Row::new(
            "SVG charts",
            "ours (xtask/src/svg.rs)",
            case.clone(),
            format!("render {t}"),
            format!("{} bytes", a.len()),
        ),
        Row::new(
            "SVG charts",
            "plotters 0.3 (svg_backend, no font stack)",
            case,
            format!("render {t2}"),
            format!("{} bytes", b.len()),
        ),
    ])
}
