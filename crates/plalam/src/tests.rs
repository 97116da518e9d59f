use super::*;
use searchkit::partition::{Labeller, NodeScore, Samples};
use searchkit::rng::Stream;

#[test]
fn max_value_and_metric() {
    let mut d = Samples::new();
    for v in [1.0, 5.0, -2.0] {
        d.push(vec![v], vec![v]);
    }
    assert_eq!(MaxValue::default().score(&d, &[0, 1, 2]), 5.0);
    assert_eq!(Metric::Max.score(&d, &[0, 2]), 1.0);
    assert_eq!(Metric::Mean.score(&d, &[0, 1, 2]), 4.0 / 3.0);
    assert_eq!(MaxValue::default().score(&d, &[]), f64::NEG_INFINITY);
}

#[test]
fn labeller_splits_two_blobs_by_svm_prediction_and_max() {
    // Two blobs; the left one holds the single best point, the right one the
    // better mean: max and mean disagree about which side is good.
    let mut d = Samples::new();
    let mut rng = Stream::root("blobs");
    for i in 0..30 {
        let left = i % 2 == 0;
        let x = if left { -5.0 } else { 5.0 } + 0.1 * rng.normal();
        let y = if left {
            if i == 0 {
                10.0
            } else {
                -1.0
            }
        } else {
            1.0
        };
        d.push(vec![x, 0.1 * rng.normal()], vec![y]);
    }
    let idx: Vec<usize> = (0..30).collect();
    for (metric, good_left) in [(Metric::Max, true), (Metric::Mean, false)] {
        let l = Lap3Labeller {
            metric,
            ..Lap3Labeller::default()
        };
        let (labels, b) = l.label_fitted(0, &d, &idx, &mut Stream::root("l"));
        let b = b.expect("separable");
        for (i, &lab) in labels.iter().enumerate() {
            let left = d.xs[i][0] < 0.0;
            assert_eq!(lab, left == good_left, "{metric:?} sample {i}");
            assert_eq!(b.predict(&d.xs[i]), lab);
        }
    }
    // One point cannot be split.
    let (labels, b) = Lap3Labeller::default().label_fitted(0, &d, &[3], &mut Stream::root("l"));
    assert_eq!((labels, b.is_none()), (vec![true], true));
}

#[test]
fn one_generation_moves_towards_the_best() {
    let a = [1.0, 0.0];
    let b = [0.0, 0.0];
    let c = [-1.0, 0.0];
    let x0 = [0.0, 0.0];
    let (m, s) = one_generation(&[&a, &b, &c, &c], &x0, 1.0);
    // lambda 4, mu 2: weights ln 2.5 - ln 1, ln 2.5 - ln 2 on a and b.
    let (w1, w2) = (2.5f64.ln(), 2.5f64.ln() - 2f64.ln());
    assert!((m[0] - w1 / (w1 + w2)).abs() < 1e-12, "{m:?}");
    assert_eq!(m[1], 0.0);
    assert!(s > 0.0 && s.is_finite());
}

fn reach(a: &[f64]) -> f64 {
    let (mut x, mut y) = (0.0f64, 0.0f64);
    for t in 0..a.len() / 2 {
        x += 0.5 * a[2 * t].tanh();
        y += 0.5 * a[2 * t + 1].tanh();
    }
    -((x - 3.0).powi(2) + (y - 3.0).powi(2)).sqrt()
}

#[test]
fn lap3_rebuilds_on_schedule_and_is_deterministic() {
    let config = Lap3Config {
        latent: false,
        init: 20,
        init_sigma: 1.0,
        rebuild_every: 25,
        ..Lap3Config::default()
    };
    let go = || {
        let rng = Stream::for_run("t", "lap3", 3);
        let mut s = lap3(config.clone(), 12, &rng).unwrap();
        let mut f = reach;
        let v = plan(&mut s, &mut f, 120, &mut rng.child("plan")).unwrap();
        (v, s.rebuilds())
    };
    let (a, rebuilds) = go();
    assert_eq!(a.len(), 120);
    // 100 samples after the design: a rebuild at the first and every 25th.
    assert_eq!(rebuilds, 4);
    assert_eq!(go().0, a);
    // The search improves on its initial design.
    let init_best = a[..20].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let best = a.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    assert!(best > init_best);
}

/// A toy "renderer": the frames show where the point is, so the latent sees
/// positions. Checks the frames path of the planner end to end.
struct Seen {
    shape: FrameShape,
}

impl Objective for Seen {
    type Error = String;
    fn rollout(&mut self, a: &[f64], frames: bool) -> Result<Outcome, String> {
        let s = self.shape;
        let mut buf = vec![0u8; s.bytes()];
        let (mut x, mut y) = (0.0f64, 0.0f64);
        let per = (a.len() / 2) / s.frames;
        for t in 0..a.len() / 2 {
            x += 0.5 * a[2 * t].tanh();
            y += 0.5 * a[2 * t + 1].tanh();
            if per > 0 && t % per == 0 && t / per < s.frames {
                let r = ((y + 4.0) / 8.0 * s.height as f64).clamp(0.0, s.height as f64 - 1.0);
                let c = ((x + 4.0) / 8.0 * s.width as f64).clamp(0.0, s.width as f64 - 1.0);
                let at = (((t / per) * s.height + r as usize) * s.width + c as usize) * 3;
                buf[at] = 255;
            }
        }
        Ok(Outcome {
            value: -((x - 3.0).powi(2) + (y - 3.0).powi(2)).sqrt(),
            frames: frames.then_some(buf),
        })
    }
}

#[test]
fn latent_planning_runs_on_frames_and_refuses_missing_frames() {
    let shape = FrameShape {
        frames: 3,
        height: 8,
        width: 8,
    };
    let config = Lap3Config {
        frames: shape,
        init: 25,
        init_sigma: 1.0,
        ..Lap3Config::default()
    };
    let rng = Stream::for_run("t", "latent", 0);
    let mut s = lap3(config.clone(), 12, &rng).unwrap();
    let v = plan(&mut s, &mut Seen { shape }, 80, &mut rng.child("plan")).unwrap();
    assert_eq!(v.len(), 80);
    let tree = s.tree().unwrap();
    assert!(tree.len() >= 3, "the latent tree split");
    // A closure gives no frames: a clear error at the first rollout.
    let mut s = lap3(config, 12, &rng).unwrap();
    let mut f = reach;
    let e = plan(&mut s, &mut f, 5, &mut rng.child("plan")).unwrap_err();
    assert!(e.to_string().contains("rollout 1"), "{e}");
}

#[test]
fn bad_configs_are_refused() {
    let rng = Stream::root("x");
    let e = lap3(
        Lap3Config {
            cp: -1.0,
            ..Lap3Config::default()
        },
        4,
        &rng,
    )
    .unwrap_err();
    assert_eq!(e, Lap3Error::Cp(-1.0));
    let e = lap3(Lap3Config::default(), 0, &rng).unwrap_err();
    assert!(e.to_string().contains("dimension"), "{e}");
}
