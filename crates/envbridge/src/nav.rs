//! PlaLaM's planning tasks on MiniWorld: one open-loop action sequence per
//! maze, rolled out by the worker under the authors' continuous-move rule
//! (`python/worker.py`, policy `plan`), optionally with the frames the
//! latent reads.

use crate::worker::{Error, Lease, Request};

/// A planning task: a MiniWorld environment and its episode length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NavTask {
    /// Gymnasium id (`MiniWorld-MazeS3-v0`).
    pub env: String,
    /// Steps per episode (216 for MazeS3): the plan has two actions per step.
    pub horizon: usize,
    /// Render rows and columns (60 x 80).
    pub height: usize,
    pub width: usize,
}

/// The planning tasks the worker knows.
pub const NAV_TASK_NAMES: [&str; 2] = ["mazes3", "fourrooms"];

impl NavTask {
    /// `mazes3`: MiniWorld-MazeS3-v0, 216 steps; `fourrooms`:
    /// MiniWorld-FourRooms-v0 with the authors' doors, 250 steps; both with
    /// 80 x 60 renders.
    pub fn parse(name: &str) -> Result<Self, String> {
        let (env, horizon) = match name {
            "mazes3" => ("MiniWorld-MazeS3-v0", 216),
            "fourrooms" => ("MiniWorld-FourRooms-v0", 250),
            other => {
                return Err(format!(
                    "unknown planning task `{other}` (valid: {})",
                    NAV_TASK_NAMES.join(", ")
                ))
            }
        };
        Ok(Self {
            env: env.into(),
            horizon,
            height: 60,
            width: 80,
        })
    }

    /// Actions of one plan.
    pub fn dim(&self) -> usize {
        2 * self.horizon
    }

    /// Frames per rollout when every `k`-th is rendered.
    pub fn frames(&self, every: usize) -> usize {
        self.horizon.div_ceil(every.max(1))
    }
}

/// One rollout of a plan.
#[derive(Clone, Debug, PartialEq)]
pub struct NavRollout {
    /// The episode's return (> 0: the goal was reached).
    pub value: f64,
    pub steps: usize,
    /// The frames, when asked (zeros past the episode's end).
    pub frames: Option<Vec<u8>>,
    /// The agent's `(x, z)` after each step asked in `positions_at`.
    pub positions: Vec<[f64; 2]>,
}

/// Roll `actions` out in maze `seed` on `worker`; with `frame_every`, the
/// renders after steps 1, 1 + k, ... come back; `positions_at` lists the
/// steps (1-based) whose agent positions come back.
pub fn rollout(
    worker: &mut Lease,
    task: &NavTask,
    seed: u64,
    actions: &[f64],
    frame_every: Option<usize>,
    positions_at: &[usize],
) -> Result<NavRollout, Error> {
    let bad = |message: String| Error::Request {
        message,
        tail: String::new(),
    };
    if actions.len() != task.dim() {
        return Err(bad(format!(
            "{}: a plan needs {} actions, got {}",
            task.env,
            task.dim(),
            actions.len()
        )));
    }
    let req = Request {
        env: task.env.clone(),
        policy: "plan".into(),
        x: actions.to_vec(),
        seeds: vec![seed],
        obs_steps: positions_at.to_vec(),
        frame_every,
        ..Default::default()
    };
    let a = worker.request(&req)?;
    if a.returns.len() != 1 || a.steps.len() != 1 {
        return Err(bad(format!("{} returns for one maze", a.returns.len())));
    }
    let frames = match frame_every {
        None => None,
        Some(k) => {
            let want = task.frames(k) * task.height * task.width * 3;
            let text = a
                .frames
                .first()
                .ok_or_else(|| bad("no frames in the answer".into()))?;
            let bytes = base64_decode(text).ok_or_else(|| bad("frames: bad base64".into()))?;
            if bytes.len() != want {
                return Err(bad(format!("frames: {} bytes, want {want}", bytes.len())));
            }
            Some(bytes)
        }
    };
    let positions = a
        .obs
        .first()
        .map(|o| {
            o.iter()
                .filter(|p| p.len() == 2)
                .map(|p| [p[0], p[1]])
                .collect()
        })
        .unwrap_or_default();
    Ok(NavRollout {
        value: a.returns[0],
        steps: a.steps[0],
        frames,
        positions,
    })
}

/// One move of the authors' rule from each of a batch of positions, in one
/// maze: what the authors' iLQR (`methods/ilqr/ilqr.py`) differentiates by
/// finite differences, with the privileged positions it reads.
#[derive(Clone, Debug, PartialEq)]
pub struct NavSteps {
    /// The `(x, z)` after the move from each query.
    pub next: Vec<[f64; 2]>,
    /// The agent's start and the box's `(x, z)`.
    pub start: [f64; 2],
    pub goal: [f64; 2],
}

/// In maze `seed`, the position after one move from each query `[x, z,
/// a[0], a[1]]` (the worker's policy `step`: `0.3 tanh(a[1])` along x,
/// `0.3 tanh(a[0])` along z on MazeS3, rejected whole on a collision).
pub fn steps(
    worker: &mut Lease,
    task: &NavTask,
    seed: u64,
    queries: &[[f64; 4]],
) -> Result<NavSteps, Error> {
    let bad = |message: String| Error::Request {
        message,
        tail: String::new(),
    };
    let req = Request {
        env: task.env.clone(),
        policy: "step".into(),
        x: queries.iter().flatten().copied().collect(),
        seeds: vec![seed],
        ..Default::default()
    };
    let a = worker.request(&req)?;
    let pair = |v: &[f64], what: &str| -> Result<[f64; 2], Error> {
        match v {
            [x, z] => Ok([*x, *z]),
            _ => Err(bad(format!("step: {what} has {} numbers, want 2", v.len()))),
        }
    };
    if a.next.len() != queries.len() {
        return Err(bad(format!(
            "step: {} answers for {} queries",
            a.next.len(),
            queries.len()
        )));
    }
    Ok(NavSteps {
        next: a
            .next
            .iter()
            .map(|p| pair(p, "a next position"))
            .collect::<Result<_, _>>()?,
        start: pair(&a.start, "start")?,
        goal: pair(&a.goal, "goal")?,
    })
}

/// Standard base64 (with `=` padding) to bytes; `None` on a bad character
/// or length.
pub fn base64_decode(text: &str) -> Option<Vec<u8>> {
    fn val(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let b = text.as_bytes();
    if b.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(b.len() / 4 * 3);
    for chunk in b.chunks(4) {
        let pad = chunk.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut n = 0u32;
        for &c in &chunk[..4 - pad] {
            n = (n << 6) | val(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_round_trips_known_strings() {
        assert_eq!(base64_decode("").unwrap(), b"");
        assert_eq!(base64_decode("Zg==").unwrap(), b"f");
        assert_eq!(base64_decode("Zm8=").unwrap(), b"fo");
        assert_eq!(base64_decode("Zm9v").unwrap(), b"foo");
        assert_eq!(base64_decode("AP8A").unwrap(), vec![0, 255, 0]);
        assert!(base64_decode("Zm9").is_none());
        assert!(base64_decode("Zm!v").is_none());
    }

    #[test]
    fn tasks_parse_or_name_the_valid_ones() {
        let t = NavTask::parse("mazes3").unwrap();
        assert_eq!((t.dim(), t.frames(20)), (432, 11));
        assert_eq!(NavTask::parse("fourrooms").unwrap().frames(20), 13);
        assert!(NavTask::parse("maze")
            .unwrap_err()
            .contains("mazes3, fourrooms"));
    }
}
