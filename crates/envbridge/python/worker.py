"""Environment worker for the spacepart `envbridge` crate.

One JSON object per line on stdin (a request), one per line on stdout (its
answer). A request is one whole evaluation: a policy vector, the rollouts'
reset seeds, and optionally the steps at which to return observations. The
worker keeps one environment per id, so a long-lived worker pays gymnasium's
start-up once. Anything it prints besides answers goes to stderr, which the
Rust side quotes when something fails.

Request keys:
  env        gymnasium id, e.g. "Swimmer-v5", "LunarLander-v3"
  policy     "linear" (action = M @ ((obs - obs_mean) / obs_std), M of shape
             [action dim, observation dim] filled row by row from x) or
             "lunar-heuristic" (the 12-parameter controller of TuRBO and
             LA-MCTS's Lunar Lander objective)
  x          the policy's parameters
  seeds      one reset seed per rollout
  max_steps  optional cap on steps per rollout (the environment's own time
             limit applies anyway)
  obs_mean, obs_std   optional, linear policy only (default 0 and 1)
  obs_steps  optional: return the observation seen before these steps
Answer: {"returns": [...], "steps": [...], "obs": [[[...], ...], ...]} or
{"error": "..."}.
"""

import json
import os
import sys
import traceback

os.environ.setdefault("PYGLET_HEADLESS", "true")
os.environ.setdefault("MUJOCO_GL", "egl")

import numpy as np  # noqa: E402
import gymnasium as gym  # noqa: E402

ENVS = {}


def get_env(name):
    env = ENVS.get(name)
    if env is None:
        # The checker warns on out-of-range actions; MuJoCo clamps controls
        # to their range itself, as mujoco-py did for the authors.
        env = gym.make(name, disable_env_checker=True)
        ENVS[name] = env
    return env


def lunar_heuristic(s, w):
    angle_targ = s[0] * w[0] + s[2] * w[1]
    angle_targ = min(max(angle_targ, -w[2]), w[2])
    hover_targ = w[3] * abs(s[0])
    angle_todo = (angle_targ - s[4]) * w[4] - s[5] * w[5]
    hover_todo = (hover_targ - s[1]) * w[6] - s[3] * w[7]
    if s[6] or s[7]:
        angle_todo = w[8]
        hover_todo = -s[3] * w[9]
    if hover_todo > abs(angle_todo) and hover_todo > w[10]:
        return 2
    if angle_todo < -w[11]:
        return 3
    if angle_todo > w[11]:
        return 1
    return 0


def evaluate(req):
    env = get_env(req["env"])
    x = np.asarray(req["x"], dtype=np.float64)
    policy = req["policy"]
    if policy == "linear":
        obs_dim = env.observation_space.shape[0]
        act_dim = env.action_space.shape[0]
        if x.size != obs_dim * act_dim:
            raise ValueError(
                f"{req['env']}: a linear policy needs {act_dim} x {obs_dim} = "
                f"{act_dim * obs_dim} parameters, got {x.size}"
            )
        m = x.reshape(act_dim, obs_dim)
        mean = np.asarray(req.get("obs_mean", 0.0), dtype=np.float64)
        std = np.asarray(req.get("obs_std", 1.0), dtype=np.float64)
        act = lambda obs: m @ ((obs - mean) / std)  # noqa: E731
    elif policy == "lunar-heuristic":
        if x.size != 12:
            raise ValueError(f"the Lunar Lander heuristic needs 12 parameters, got {x.size}")
        act = lambda obs: lunar_heuristic(obs, x)  # noqa: E731
    else:
        raise ValueError(f"unknown policy {policy!r} (linear, lunar-heuristic)")
    max_steps = req.get("max_steps")
    want = set(req.get("obs_steps", []))
    returns, steps, observations = [], [], []
    for seed in req["seeds"]:
        obs, _ = env.reset(seed=int(seed))
        total, n, seen = 0.0, 0, []
        while max_steps is None or n < max_steps:
            if n in want:
                seen.append([float(v) for v in obs])
            obs, r, terminated, truncated, _ = env.step(act(obs))
            total += float(r)
            n += 1
            if terminated or truncated:
                break
        returns.append(total)
        steps.append(n)
        observations.append(seen)
    out = {"returns": returns, "steps": steps}
    if want:
        out["obs"] = observations
    return out


def main():
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            req = json.loads(line)
            out = evaluate(req)
        except Exception as e:  # one bad request fails that request only
            traceback.print_exc(file=sys.stderr)
            out = {"error": f"{type(e).__name__}: {e}"}
        if isinstance(req, dict) and "id" in req:
            out["id"] = req["id"]
        sys.stdout.write(json.dumps(out, allow_nan=True) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
