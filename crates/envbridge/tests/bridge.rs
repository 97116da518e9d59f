//! The bridge's failure behaviour against fake workers (plain `sh`), and one
//! real Swimmer evaluation against a recorded value.

use envbridge::{Error, Pool, Request, Task, Worker, WorkerConfig};
use std::sync::Arc;
use std::time::Duration;

fn fake(script: &str, timeout_ms: u64) -> WorkerConfig {
    WorkerConfig {
        command: vec!["sh".into(), "-c".into(), script.into()],
        scratch: std::env::temp_dir().join("envbridge-test-scratch"),
        timeout: Duration::from_millis(timeout_ms),
    }
}

fn req() -> Request {
    Request {
        env: "Swimmer-v5".into(),
        policy: "linear".into(),
        x: vec![0.5; 16],
        seeds: vec![0, 1, 2],
        ..Default::default()
    }
}

/// Whether a process id is gone (reaped: no zombie left).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        // A recycled pid would not be a zombie of ours.
        Ok(s) => !s.split(") ").nth(1).is_some_and(|r| r.starts_with('Z')),
    }
}

#[test]
fn a_crashing_worker_fails_with_its_stderr_tail_and_is_reaped() {
    let mut w = Worker::spawn(&fake("read l; echo 'Traceback: boom' >&2; exit 3", 5000)).unwrap();
    let pid = w.pid().unwrap();
    let e = w.request(&req()).unwrap_err();
    assert!(matches!(e, Error::Crashed { .. }), "{e}");
    let msg = e.to_string();
    assert!(
        msg.contains("Traceback: boom") && msg.contains("3"),
        "{msg}"
    );
    assert!(!w.is_alive());
    assert!(gone(pid));
    // Later requests fail at once.
    assert!(matches!(w.request(&req()), Err(Error::Crashed { .. })));
}

#[test]
fn a_hanging_worker_times_out_is_killed_and_reaped() {
    let mut w = Worker::spawn(&fake("echo 'loading...' >&2; exec sleep 60", 300)).unwrap();
    let pid = w.pid().unwrap();
    let t = std::time::Instant::now();
    let e = w.request(&req()).unwrap_err();
    assert!(t.elapsed() < Duration::from_secs(10));
    assert!(matches!(e, Error::Timeout { .. }), "{e}");
    assert!(e.to_string().contains("loading..."), "{e}");
    assert!(gone(pid));
}

#[test]
fn a_worker_printing_garbage_fails_and_is_killed() {
    let mut w = Worker::spawn(&fake(
        "read l; echo 'warning: something' >&2; echo 'this is not json'; exec sleep 60",
        5000,
    ))
    .unwrap();
    let pid = w.pid().unwrap();
    let e = w.request(&req()).unwrap_err();
    assert!(matches!(e, Error::Garbage { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("this is not json"), "{msg}");
    assert!(gone(pid));
}

#[test]
fn a_worker_answering_another_id_is_garbage() {
    let mut w = Worker::spawn(&fake(
        r#"read l; echo '{"id": 99, "returns": [1.0], "steps": [3]}'; exec sleep 60"#,
        5000,
    ))
    .unwrap();
    assert!(matches!(w.request(&req()), Err(Error::Garbage { .. })));
}

#[test]
fn a_request_error_keeps_the_worker_and_answers_round_trip_exactly() {
    // Answers two requests: an error, then a value that needs all 17 digits.
    let script = r#"read l; echo 'bad env' >&2; echo '{"id": 1, "error": "ValueError: no such env"}';
read l; echo '{"id": 2, "returns": [0.1, 1e-320, -2.718281828459045], "steps": [1000, 5, 7]}'; exec sleep 60"#;
    let mut w = Worker::spawn(&fake(script, 5000)).unwrap();
    let e = w.request(&req()).unwrap_err();
    assert!(matches!(e, Error::Request { .. }), "{e}");
    assert!(e.to_string().contains("no such env"));
    assert!(w.is_alive());
    let a = w.request(&req()).unwrap();
    assert_eq!(a.returns, vec![0.1, 1e-320, -std::f64::consts::E]);
    assert_eq!(a.steps, vec![1000, 5, 7]);
}

#[test]
fn a_missing_program_is_a_clear_error() {
    let cfg = WorkerConfig {
        command: vec!["/nonexistent/python3".into()],
        ..fake("", 100)
    };
    let e = Worker::spawn(&cfg).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/python3"), "{e}");
}

#[test]
fn the_pool_reuses_live_workers_and_drops_dead_ones() {
    let pool = Arc::new(Pool::new(fake(
        r#"while read l; do echo '{"id": 1, "returns": [2.5], "steps": [1]}'; done"#,
        5000,
    )));
    let pid = {
        let mut a = pool.lease().unwrap();
        assert_eq!(a.request(&req()).unwrap().returns, vec![2.5]);
        a.pid().unwrap()
    };
    assert_eq!(pool.idle(), 1);
    let mut b = pool.lease().unwrap();
    assert_eq!(b.pid(), Some(pid));
    // Its second answer carries id 1 again: garbage, so the worker dies.
    assert!(b.request(&req()).is_err());
    drop(b);
    assert_eq!(pool.idle(), 0);
    assert!(gone(pid));
}

/// One Swimmer evaluation through the real worker equals the value recorded
/// when the bridge was written (gymnasium 1.4.0, mujoco 4.0.1).
#[test]
fn swimmer_evaluation_equals_the_recorded_value() {
    let pool = match envbridge::pool(Duration::from_secs(120)) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("SKIPPED swimmer_evaluation_equals_the_recorded_value: {e}");
            return;
        }
    };
    let task = Task::parse("swimmer").unwrap();
    let x: Vec<f64> = (0..16).map(|i| ((i * 7 % 16) as f64 / 8.0) - 1.0).collect();
    let mut w = pool.lease().unwrap();
    let a = w.request(&task.request(&x, &[0, 1, 2])).unwrap();
    assert_eq!(a.steps, vec![1000, 1000, 1000]);
    let mean = envbridge::mean_return(&a);
    eprintln!("swimmer returns {:?} mean {mean:?}", a.returns);
    assert_eq!(mean, RECORDED_SWIMMER);
}

const RECORDED_SWIMMER: f64 = -13.236377592841682;
