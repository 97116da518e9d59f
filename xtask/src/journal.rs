//! Resuming a run in the middle: a journal of its evaluations.
//!
//! Records are written when a run finishes, so a run stopped after hours
//! (a session's end, a Slurm time limit, a crash) used to start over. A
//! driver whose evaluations are the expensive part (a MuJoCo rollout, a
//! maze plan) appends each evaluation to `partial/<stem>.jsonl` beside the
//! records. The next run of the same job replays them: the optimiser runs
//! again from the start (its draws are deterministic), and each point it
//! asks for is checked against the journal, bit for bit, and given the
//! journaled value instead of being evaluated. The optimiser's own work is
//! repeated, the evaluations are not. The store deletes the journal once
//! the record is written.
//!
//! The journal's first line is its header: the job's experiment, method,
//! seed, budget and fingerprint. A journal of other settings is set aside
//! (renamed `*.stale`), never replayed. A torn last line (a kill in the
//! middle of a write) is dropped.

use anyhow::{bail, Context, Result};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::collections::VecDeque;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};

/// Journal format version (header field `journal`).
pub const JOURNAL_FORMAT: u32 = 1;

/// What identifies the run a journal belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    pub journal: u32,
    pub experiment: String,
    pub method: String,
    pub seed: u64,
    pub budget: usize,
    pub fingerprint: String,
}

/// Where a run's journal lives and whose it is; in [`crate::drivers::RunContext`].
#[derive(Clone, Debug)]
pub struct JournalSpec {
    pub path: PathBuf,
    pub header: Header,
}

#[derive(Serialize, Deserialize)]
struct Line<X, Y> {
    x: X,
    y: Y,
}

/// An open journal: evaluations to replay, then appends.
pub struct Journal<X, Y> {
    file: File,
    path: PathBuf,
    replay: VecDeque<(X, Y)>,
    replayed: usize,
}

impl<X, Y> Journal<X, Y>
where
    X: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug,
    Y: Serialize + DeserializeOwned + Clone,
{
    /// Opens (or starts) the journal of `spec`: the evaluations an earlier,
    /// interrupted run of the same job left, ready to replay.
    pub fn open(spec: &JournalSpec) -> Result<Self> {
        let path = &spec.path;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut replay = VecDeque::new();
        let mut keep_bytes = 0u64;
        if path.exists() {
            match read(path, &spec.header)? {
                Some((entries, bytes)) => {
                    replay = entries;
                    keep_bytes = bytes;
                }
                None => {
                    let stale = path.with_extension("jsonl.stale");
                    std::fs::rename(path, &stale)
                        .with_context(|| format!("cannot set aside {}", path.display()))?;
                    eprintln!(
                        "note: {} belongs to other settings; set aside as {}",
                        path.display(),
                        stale.display()
                    );
                }
            }
        }
        let mut file = OpenOptions::new()
            .create(true)
            .read(true)
            .write(true)
            .truncate(false)
            .open(path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        if keep_bytes == 0 {
            file.set_len(0)?;
            let mut head = serde_json::to_vec(&spec.header)?;
            head.push(b'\n');
            file.write_all(&head)?;
        } else {
            // Drop a torn tail, then append after the last whole line.
            file.set_len(keep_bytes)?;
        }
        use std::io::Seek;
        file.seek(std::io::SeekFrom::End(0))?;
        file.sync_data()?;
        Ok(Self {
            file,
            path: path.clone(),
            replay,
            replayed: 0,
        })
    }

    /// Evaluations still to replay.
    pub fn pending(&self) -> usize {
        self.replay.len()
    }

    /// Evaluations replayed so far.
    pub fn replayed(&self) -> usize {
        self.replayed
    }

    /// The journaled value of `x` when the journal still has entries to
    /// replay: the next entry must be `x` exactly (the run is
    /// deterministic), else the journal and the code disagree.
    pub fn replay(&mut self, x: &X) -> Result<Option<Y>> {
        match self.replay.pop_front() {
            None => Ok(None),
            Some((jx, jy)) => {
                if &jx != x {
                    bail!(
                        "{}: evaluation {} of the journal does not replay: the run asked for {x:?}, the journal holds {jx:?}. The code's draws changed without a change of fingerprint; delete the journal to start the run over",
                        self.path.display(),
                        self.replayed + 1
                    );
                }
                self.replayed += 1;
                Ok(Some(jy))
            }
        }
    }

    /// Appends a new evaluation (written through before the run goes on).
    pub fn append(&mut self, x: &X, y: &Y) -> Result<()> {
        let mut line = serde_json::to_vec(&Line { x, y })?;
        line.push(b'\n');
        self.file
            .write_all(&line)
            .and_then(|_| self.file.sync_data())
            .with_context(|| format!("cannot append to {}", self.path.display()))
    }

    /// The value of `x`: replayed from the journal, or computed by `eval`
    /// and journaled.
    pub fn evaluate(&mut self, x: &X, eval: impl FnOnce(&X) -> Result<Y>) -> Result<Y> {
        if let Some(y) = self.replay(x)? {
            return Ok(y);
        }
        let y = eval(x)?;
        self.append(x, &y)?;
        Ok(y)
    }
}

/// The entries of the journal at `path` and the byte length of its whole
/// lines, or `None` when its header is not `header`.
#[allow(clippy::type_complexity)]
fn read<X: DeserializeOwned, Y: DeserializeOwned>(
    path: &Path,
    header: &Header,
) -> Result<Option<(VecDeque<(X, Y)>, u64)>> {
    let f = File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut r = BufReader::new(f);
    let mut buf = String::new();
    let mut bytes = 0u64;
    let n = r.read_line(&mut buf)?;
    if n == 0 || !buf.ends_with('\n') {
        return Ok(None);
    }
    match serde_json::from_str::<Header>(buf.trim_end()) {
        Ok(h) if &h == header => {}
        _ => return Ok(None),
    }
    bytes += n as u64;
    let mut entries = VecDeque::new();
    loop {
        buf.clear();
        let n = r.read_line(&mut buf)?;
        if n == 0 || !buf.ends_with('\n') {
            break;
        }
        match serde_json::from_str::<Line<X, Y>>(buf.trim_end()) {
            Ok(l) => entries.push_back((l.x, l.y)),
            // A line that does not parse ends the usable part.
            Err(_) => break,
        }
        bytes += n as u64;
    }
    Ok(Some((entries, bytes)))
}

/// Deletes the journal at `path`, if any (after its record is stored).
pub fn remove(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e).with_context(|| format!("cannot delete {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(dir: &Path, fingerprint: &str) -> JournalSpec {
        JournalSpec {
            path: dir.join("partial").join("m-s0.jsonl"),
            header: Header {
                journal: JOURNAL_FORMAT,
                experiment: "e".into(),
                method: "m".into(),
                seed: 0,
                budget: 10,
                fingerprint: fingerprint.into(),
            },
        }
    }

    #[test]
    fn replays_exact_values_then_appends_and_drops_a_torn_tail() {
        let dir = crate::cli::fresh_test_dir("journal-unit");
        let s = spec(&dir, "f1");
        let xs: Vec<Vec<f64>> = vec![vec![0.1, 1.0 / 3.0], vec![-2.5e-300, 7.0]];
        {
            let mut j: Journal<Vec<f64>, f64> = Journal::open(&s).unwrap();
            for x in &xs {
                j.evaluate(x, |x| Ok(x[0] + x[1])).unwrap();
            }
        }
        // A kill in the middle of a write.
        let mut f = OpenOptions::new().append(true).open(&s.path).unwrap();
        f.write_all(b"{\"x\":[0.5,").unwrap();
        drop(f);
        let mut j: Journal<Vec<f64>, f64> = Journal::open(&s).unwrap();
        assert_eq!(j.pending(), 2);
        for x in &xs {
            let y = j
                .evaluate(x, |_| panic!("replayed, not evaluated"))
                .unwrap();
            assert_eq!(y.to_bits(), (x[0] + x[1]).to_bits());
        }
        assert_eq!(j.evaluate(&vec![1.0, 1.0], |_| Ok(2.0)).unwrap(), 2.0);
        drop(j);
        let j: Journal<Vec<f64>, f64> = Journal::open(&s).unwrap();
        assert_eq!(j.pending(), 3);

        // Another point than journaled: a clear error, nothing evaluated.
        let mut j: Journal<Vec<f64>, f64> = Journal::open(&s).unwrap();
        let e = j.evaluate(&vec![9.0, 9.0], |_| Ok(0.0)).unwrap_err();
        assert!(format!("{e:#}").contains("does not replay"), "{e:#}");

        // Other settings: set aside, not replayed.
        let other = spec(&dir, "f2");
        let j: Journal<Vec<f64>, f64> = Journal::open(&other).unwrap();
        assert_eq!(j.pending(), 0);
        assert!(s.path.with_extension("jsonl.stale").exists());
        remove(&other.path).unwrap();
        assert!(!other.path.exists());
        let _ = std::fs::remove_dir_all(dir);
    }
}
