//! Long-lived Python worker processes and the JSON-lines protocol.
//!
//! A worker reads one request per line on stdin and answers one JSON line on
//! stdout; its stderr is kept (the last [`STDERR_LINES`] lines) to quote when
//! something fails. A worker that crashes, hangs past the timeout or answers
//! garbage is killed and reaped, and the request fails with an [`Error`]
//! quoting that tail. Dropping a [`Worker`] kills and reaps it, so no zombie
//! is left behind.

use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// How many lines of a worker's stderr an error quotes.
pub const STDERR_LINES: usize = 30;

/// The worker script shipped with the crate (written into the scratch
/// folder, so a built binary needs no checkout).
pub const WORKER_SCRIPT: &str = include_str!("../python/worker.py");

/// What can go wrong with a worker.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    NoPython(String),
    #[error("cannot start the environment worker `{cmd}`: {source}")]
    Spawn { cmd: String, source: std::io::Error },
    #[error("the environment worker exited ({status}) before answering; its stderr ends:\n{tail}")]
    Crashed { status: String, tail: String },
    #[error("the environment worker gave no answer within {secs} s and was killed; its stderr ends:\n{tail}")]
    Timeout { secs: f64, tail: String },
    #[error("the environment worker answered garbage ({why}): {line:?}; its stderr ends:\n{tail}")]
    Garbage {
        line: String,
        why: String,
        tail: String,
    },
    #[error("the environment worker failed the request: {message}; its stderr ends:\n{tail}")]
    Request { message: String, tail: String },
    #[error("environment worker I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// One whole evaluation: a policy's parameters run for one rollout per
/// reset seed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Request {
    /// Gymnasium id, e.g. `Swimmer-v5`.
    pub env: String,
    /// `linear` or `lunar-heuristic` (see `python/worker.py`).
    pub policy: String,
    pub x: Vec<f64>,
    pub seeds: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_steps: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obs_mean: Option<Vec<f64>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub obs_std: Option<Vec<f64>>,
    /// Steps (0-based) whose observation each rollout returns.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub obs_steps: Vec<usize>,
    /// Planning tasks (policy `plan`): return the render after steps 1,
    /// 1 + k, 1 + 2k, ... of each rollout ([`Answer::frames`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame_every: Option<usize>,
}

/// A worker's answer to a [`Request`].
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
pub struct Answer {
    /// Undiscounted return of each rollout.
    pub returns: Vec<f64>,
    /// Steps each rollout ran.
    pub steps: Vec<usize>,
    /// Per rollout, the observations at the requested steps it reached.
    #[serde(default)]
    pub obs: Vec<Vec<Vec<f64>>>,
    /// Per rollout, the frames asked by [`Request::frame_every`]: base64 of
    /// the uint8 bytes (frames x rows x columns x rgb; see [`crate::nav`]).
    #[serde(default)]
    pub frames: Vec<String>,
    /// Policy `step` (see [`crate::nav::steps`]): the `(x, z)` after one
    /// move from each query, the agent's start and the box's position.
    #[serde(default)]
    pub next: Vec<Vec<f64>>,
    #[serde(default)]
    pub start: Vec<f64>,
    #[serde(default)]
    pub goal: Vec<f64>,
    /// Policy `layout` (see [`crate::twin::layout`]): one maze's geometry.
    #[serde(default)]
    pub layout: Option<crate::twin::NavLayout>,
}

#[derive(Deserialize)]
struct Raw {
    id: Option<u64>,
    error: Option<String>,
    #[serde(flatten)]
    answer: Option<Answer>,
}

/// How to start workers.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// The program and its arguments (normally the venv's `python -u
    /// <scratch>/worker.py`; tests start fake workers).
    pub command: Vec<String>,
    /// The working folder (MuJoCo writes `MUJOCO_LOG.TXT` there).
    pub scratch: PathBuf,
    /// How long one request may take before the worker counts as hung.
    pub timeout: Duration,
}

/// One worker process.
pub struct Worker {
    child: Option<Child>,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    tail: Arc<Mutex<VecDeque<String>>>,
    threads: Vec<JoinHandle<()>>,
    timeout: Duration,
    next_id: u64,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Worker")
            .field("pid", &self.child.as_ref().map(|c| c.id()))
            .finish()
    }
}

impl Worker {
    /// Starts a worker.
    pub fn spawn(cfg: &WorkerConfig) -> Result<Self, Error> {
        let (prog, args) = cfg
            .command
            .split_first()
            .ok_or_else(|| Error::NoPython("empty worker command".into()))?;
        std::fs::create_dir_all(&cfg.scratch)?;
        let mut child = Command::new(prog)
            .args(args)
            .current_dir(&cfg.scratch)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|source| Error::Spawn {
                cmd: cfg.command.join(" "),
                source,
            })?;
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        let (tx, lines) = mpsc::channel();
        let tail = Arc::new(Mutex::new(VecDeque::new()));
        let out = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let keep = Arc::clone(&tail);
        let err = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                let mut t = keep.lock().unwrap_or_else(|p| p.into_inner());
                if t.len() == STDERR_LINES {
                    t.pop_front();
                }
                t.push_back(line);
            }
        });
        Ok(Self {
            stdin: child.stdin.take(),
            child: Some(child),
            lines,
            tail,
            threads: vec![out, err],
            timeout: cfg.timeout,
            next_id: 0,
        })
    }

    /// Whether the worker can take another request.
    pub fn is_alive(&self) -> bool {
        self.child.is_some()
    }

    /// The process id, while alive.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Runs one request. A crash, hang or garbage answer kills the worker
    /// (later requests fail at once); an error the worker reports for this
    /// request leaves it usable.
    pub fn request(&mut self, req: &Request) -> Result<Answer, Error> {
        if self.child.is_none() {
            return Err(Error::Crashed {
                status: "stopped after an earlier failure".into(),
                tail: self.tail(),
            });
        }
        self.next_id += 1;
        let id = self.next_id;
        let mut line = serde_json::to_value(req).expect("a request serialises");
        line["id"] = id.into();
        let mut text = line.to_string();
        text.push('\n');
        let sent = self
            .stdin
            .as_mut()
            .expect("stdin while alive")
            .write_all(text.as_bytes())
            .and_then(|_| self.stdin.as_mut().expect("stdin").flush());
        if sent.is_err() {
            // A broken pipe: the worker is gone; say why from its status.
            return Err(self.crashed());
        }
        match self.lines.recv_timeout(self.timeout) {
            Ok(reply) => self.parse(id, reply),
            Err(RecvTimeoutError::Timeout) => {
                self.shutdown();
                Err(Error::Timeout {
                    secs: self.timeout.as_secs_f64(),
                    tail: self.tail(),
                })
            }
            Err(RecvTimeoutError::Disconnected) => Err(self.crashed()),
        }
    }

    fn parse(&mut self, id: u64, reply: String) -> Result<Answer, Error> {
        let garbage = |w: &mut Self, why: String| {
            w.shutdown();
            let mut line = reply.clone();
            line.truncate(400);
            Error::Garbage {
                line,
                why,
                tail: w.tail(),
            }
        };
        let raw: Raw = match serde_json::from_str(&reply) {
            Ok(r) => r,
            Err(e) => return Err(garbage(self, e.to_string())),
        };
        if raw.id != Some(id) {
            return Err(garbage(self, format!("expected id {id}, got {:?}", raw.id)));
        }
        if let Some(message) = raw.error {
            return Err(Error::Request {
                message,
                tail: self.tail(),
            });
        }
        match raw.answer {
            Some(a) if a.returns.len() == a.steps.len() => Ok(a),
            _ => Err(garbage(
                self,
                "no `returns` and `steps` of equal length".into(),
            )),
        }
    }

    fn crashed(&mut self) -> Error {
        let status = self
            .child
            .as_mut()
            .and_then(|c| c.wait().ok())
            .map(|s| s.to_string())
            .unwrap_or_else(|| "unknown status".into());
        self.shutdown();
        Error::Crashed {
            status,
            tail: self.tail(),
        }
    }

    /// Kills and reaps the process and joins the reader threads (so the
    /// stderr tail is complete).
    fn shutdown(&mut self) {
        self.stdin = None;
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }

    /// The last lines the worker wrote to stderr.
    pub fn tail(&self) -> String {
        let t = self.tail.lock().unwrap_or_else(|p| p.into_inner());
        if t.is_empty() {
            "(nothing)".into()
        } else {
            t.iter().cloned().collect::<Vec<_>>().join("\n")
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Workers shared by the runs of one process: a run takes one for its
/// whole length ([`Pool::lease`]) and gives it back when done, so there are
/// as many workers as runs in parallel, each paying Python's start-up once.
#[derive(Debug)]
pub struct Pool {
    cfg: WorkerConfig,
    idle: Mutex<Vec<Worker>>,
    /// Remove the scratch folder when the pool goes (it made the folder).
    owns_scratch: bool,
}

impl Pool {
    pub fn new(cfg: WorkerConfig) -> Self {
        Self {
            cfg,
            idle: Mutex::new(vec![]),
            owns_scratch: false,
        }
    }

    /// A pool that removes its scratch folder when dropped.
    pub fn owning_scratch(cfg: WorkerConfig) -> Self {
        let mut pool = Self::new(cfg);
        pool.owns_scratch = true;
        pool
    }

    pub fn config(&self) -> &WorkerConfig {
        &self.cfg
    }

    /// An idle live worker, or a new one.
    pub fn lease(self: &Arc<Self>) -> Result<Lease, Error> {
        let reuse = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let worker = match reuse {
            Some(w) => w,
            None => Worker::spawn(&self.cfg)?,
        };
        Ok(Lease {
            pool: Arc::clone(self),
            worker: Some(worker),
        })
    }

    /// Number of idle workers.
    pub fn idle(&self) -> usize {
        self.idle.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        // Workers first (they hold the folder as working directory).
        self.idle
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
        if self.owns_scratch {
            let _ = std::fs::remove_dir_all(&self.cfg.scratch);
        }
    }
}

/// A worker taken from a [`Pool`]; back to the pool on drop if still alive.
#[derive(Debug)]
pub struct Lease {
    pool: Arc<Pool>,
    worker: Option<Worker>,
}

impl std::ops::Deref for Lease {
    type Target = Worker;
    fn deref(&self) -> &Worker {
        self.worker.as_ref().expect("leased worker")
    }
}

impl std::ops::DerefMut for Lease {
    fn deref_mut(&mut self) -> &mut Worker {
        self.worker.as_mut().expect("leased worker")
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Some(w) = self.worker.take() {
            if w.is_alive() {
                self.pool
                    .idle
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(w);
            }
        }
    }
}
