//! Timing and the audit table.

use std::time::Instant;

/// Wall seconds of a few repetitions: median and spread.
#[derive(Clone, Copy, Debug)]
pub struct Timing {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub reps: usize,
}

impl Timing {
    pub fn from_samples(mut s: Vec<f64>) -> Timing {
        s.sort_by(f64::total_cmp);
        let m = s.len();
        let median = if m % 2 == 1 {
            s[m / 2]
        } else {
            0.5 * (s[m / 2 - 1] + s[m / 2])
        };
        Timing {
            median,
            min: s[0],
            max: s[m - 1],
            reps: m,
        }
    }
}

impl std::fmt::Display for Timing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.reps == 1 {
            write!(f, "{} (1 rep)", secs(self.median))
        } else {
            write!(
                f,
                "{} [{}–{}, {} reps]",
                secs(self.median),
                secs(self.min),
                secs(self.max),
                self.reps
            )
        }
    }
}

pub fn secs(s: f64) -> String {
    if s >= 1.0 {
        format!("{s:.2} s")
    } else if s >= 1e-3 {
        format!("{:.2} ms", s * 1e3)
    } else {
        format!("{:.1} µs", s * 1e6)
    }
}

/// Run `f` `reps` times; the result is dropped outside the timed region.
pub fn time_reps<T>(reps: usize, mut f: impl FnMut() -> T) -> Timing {
    let s = (0..reps)
        .map(|_| {
            let t = Instant::now();
            let out = f();
            let e = t.elapsed().as_secs_f64();
            drop(out);
            e
        })
        .collect();
    Timing::from_samples(s)
}

/// One line of the audit: an implementation on one case.
#[derive(Clone, Debug)]
pub struct Row {
    pub component: String,
    pub implementation: String,
    pub case: String,
    pub time: String,
    pub agreement: String,
}

impl Row {
    pub fn new(
        component: &str,
        implementation: &str,
        case: impl Into<String>,
        time: impl Into<String>,
        agreement: impl Into<String>,
    ) -> Row {
        Row {
            component: component.into(),
            implementation: implementation.into(),
            case: case.into(),
            time: time.into(),
            agreement: agreement.into(),
        }
    }

    pub fn linalg(implementation: &str, n: usize, t: [Timing; 3], agreement: String) -> Row {
        Row::new(
            "dense linear algebra",
            implementation,
            format!("n = {n}"),
            format!("Cholesky {}; L^-1 {}; K^-1 {}", t[0], t[1], t[2]),
            agreement,
        )
    }
}

pub fn markdown(rows: &[Row], header: &str) -> String {
    let mut s = String::from(header);
    s.push_str("\n| component | implementation | case | wall time, median [min–max] | agreement with the reference |\n|---|---|---|---|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            r.component, r.implementation, r.case, r.time, r.agreement
        ));
    }
    s
}
