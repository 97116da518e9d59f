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

Policy "plan" (PlaLaM's open-loop planning on MiniWorld, see `nav_rollout`):
x is the action sequence (2 floats per step, the authors' continuous move),
seeds the mazes; `frame_every` (optional) asks for the 80x60 render after
steps 1, 1 + k, 1 + 2k, ... (zeros past the episode's end), returned as one
base64 string of uint8 bytes per rollout under "frames"; `obs_steps` returns
the agent's (x, z) after those steps (for the Rust-side tests).

Policy "step" (the model PlaLaM's iLQR baseline differentiates, as the
authors' `methods/ilqr/ilqr.py` steps the simulator from set positions): x
holds queries of 4 floats (agent x, agent z, a[0], a[1]), seeds one maze;
the answer's "next" is the (x, z) after one move of the authors' rule from
each, and "start" / "goal" the agent's start and the box's (x, z).

Policy "layout" (for the Rust-native twin, `envbridge::twin`): seeds one
maze, x empty; the answer's "layout" holds everything the move rule and the
reward read (the collision segments, the entities that block a move, the
agent's start and radius, the box, step size and horizon), exactly.
"""

import base64
import json
import math
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


NAV_ENVS = {}

# PlaLaM's MiniWorld tasks: (package class, steps per episode, step size).
# The step sizes are the authors' modified gym-miniworld's (MazeS3: 0.3).
NAV_TASKS = {
    "MiniWorld-MazeS3-v0": ("maze", 216, 0.3),
    "MiniWorld-FourRooms-v0": ("fourrooms", 250, 0.2),
}


def nav_env(name):
    """The package's environment for `name`, with the authors' placement.

    MazeS3: the rooms, walls and the depth-first spanning tree come from the
    package's own `_gen_world` logic and seeding (`reset(seed=...)`); as in
    the authors' modified copy, the agent starts in the top-left room and
    the box is placed in the last room the depth-first search visits.
    """
    env = NAV_ENVS.get(name)
    if env is not None:
        return env
    if name not in NAV_TASKS:
        raise ValueError(f"unknown planning task {name!r} ({', '.join(NAV_TASKS)})")
    from miniworld.entity import Box
    from miniworld.envs.fourrooms import FourRooms
    from miniworld.envs.maze import MazeS3

    class AuthorsFourRooms(FourRooms):
        """The package's four 6 x 6 rooms with the authors' doors (each in
        a corner of the wall between two rooms, `envs/fourrooms.py` of their
        copy) and the box opposite the start (at minus the agent's
        position)."""

        def _gen_world(self):
            r0 = self.add_rect_room(min_x=-7, max_x=-1, min_z=1, max_z=7)
            r1 = self.add_rect_room(min_x=1, max_x=7, min_z=1, max_z=7)
            r2 = self.add_rect_room(min_x=1, max_x=7, min_z=-7, max_z=-1)
            r3 = self.add_rect_room(min_x=-7, max_x=-1, min_z=-7, max_z=-1)
            self.connect_rooms(r0, r1, min_z=5, max_z=7, max_y=2.2)
            self.connect_rooms(r1, r2, min_x=5, max_x=7, max_y=2.2)
            self.connect_rooms(r2, r3, min_z=-7, max_z=-5, max_y=2.2)
            self.connect_rooms(r3, r0, min_x=-7, max_x=-5, max_y=2.2)
            self.place_agent()
            self.box = self.place_entity(Box(color="red"), pos=-self.agent.pos)

    class AuthorsMazeS3(MazeS3):
        def _gen_world(self):
            rows = []
            for j in range(self.num_rows):
                row = []
                for i in range(self.num_cols):
                    min_x = i * (self.room_size + self.gap_size)
                    min_z = j * (self.room_size + self.gap_size)
                    row.append(self.add_rect_room(
                        min_x=min_x, max_x=min_x + self.room_size,
                        min_z=min_z, max_z=min_z + self.room_size,
                        wall_tex="brick_wall"))
                rows.append(row)
            visited, order = set(), []

            def visit(i, j):
                room = rows[j][i]
                visited.add(room)
                order.append(room)
                # The package's neighbour shuffle, draw for draw.
                dirs = [(0, 1), (0, -1), (-1, 0), (1, 0)]
                shuffled = []
                while len(shuffled) < 4:
                    d = dirs[self.np_random.choice(len(dirs))]
                    dirs.remove(d)
                    shuffled.append(d)
                for dj, di in shuffled:
                    ni, nj = i + di, j + dj
                    if not (0 <= nj < self.num_rows and 0 <= ni < self.num_cols):
                        continue
                    nb = rows[nj][ni]
                    if nb in visited:
                        continue
                    if di == 0:
                        self.connect_rooms(room, nb, min_x=room.min_x, max_x=room.max_x)
                    else:
                        self.connect_rooms(room, nb, min_z=room.min_z, max_z=room.max_z)
                    visit(ni, nj)

            visit(0, 0)
            self.place_agent(room=rows[0][0])
            self.box = self.place_entity(Box(color="red"), room=order[-1])

    env = AuthorsMazeS3() if NAV_TASKS[name][0] == "maze" else AuthorsFourRooms()
    NAV_ENVS[name] = env
    return env


def nav_maze(name, seed):
    """The maze of `seed`, generated once per seed; later calls reuse it."""
    env = nav_env(name)
    if getattr(env, "nav_seed", None) != int(seed):
        env.reset(seed=int(seed))
        env.nav_seed = int(seed)
        env.nav_start = (env.agent.pos.copy(), env.agent.dir)
    return env


def nav_move(env, pos, a, step):
    """One move of the authors' rule from `pos`: the new position."""
    y, xx = float(a[0]), float(a[1])
    if xx == 0:
        xx += 1e-8
    nxt = pos + np.array([step * np.tanh(xx), 0.0, step * np.tanh(y)])
    if env.intersect(env.agent, nxt, env.agent.radius):
        return pos
    return nxt


def nav_step(req):
    """One move from each queried (x, z, a[0], a[1]) in maze seeds[0]."""
    name = req["env"]
    if name not in NAV_TASKS:
        raise ValueError(f"unknown planning task {name!r} ({', '.join(NAV_TASKS)})")
    step = NAV_TASKS[name][2]
    if len(req["seeds"]) != 1:
        raise ValueError("policy step takes one maze seed")
    env = nav_maze(name, req["seeds"][0])
    q = np.asarray(req["x"], dtype=np.float64)
    if q.size % 4 != 0:
        raise ValueError(f"step queries are 4 floats each, got {q.size}")
    height = float(env.nav_start[0][1])
    nxt = []
    for x, z, a0, a1 in q.reshape(-1, 4):
        p = nav_move(env, np.array([x, height, z]), (a0, a1), step)
        nxt.append([float(p[0]), float(p[2])])
    start, box = env.nav_start[0], env.box.pos
    return {
        "returns": [],
        "steps": [],
        "next": nxt,
        "start": [float(start[0]), float(start[2])],
        "goal": [float(box[0]), float(box[2])],
    }


def nav_layout(req):
    """What `nav_move` and `nav_rollout` read in maze seeds[0], for the twin.

    Walls are `env.wall_segs` as `intersect_circle_segs` sees them, in its
    order (a, b): only segments starting at floor level collide, so the
    doors are gaps between them. The twin drops the y terms of the
    package's 3-D arithmetic, exact only while every y is 0 and every array
    float64, so anything else is refused rather than mirrored wrongly.
    """
    name = req["env"]
    if name not in NAV_TASKS:
        raise ValueError(f"unknown planning task {name!r} ({', '.join(NAV_TASKS)})")
    _, horizon, step = NAV_TASKS[name]
    if len(req["seeds"]) != 1:
        raise ValueError("policy layout takes one maze seed")
    env = nav_maze(name, req["seeds"][0])
    segs = np.asarray(env.wall_segs)
    start, box = env.nav_start[0], env.box.pos
    blockers = [e for e in env.entities if e is not env.agent]
    if segs.dtype != np.float64 or np.any(segs[:, :, 1] != 0):
        raise ValueError("layout: wall segments off the floor or not float64")
    if start.dtype != np.float64 or any(e.pos.dtype != np.float64 for e in blockers):
        raise ValueError("layout: positions not float64")
    return {
        "returns": [],
        "steps": [],
        "layout": {
            "env": name,
            "seed": int(req["seeds"][0]),
            "horizon": horizon,
            "step": step,
            "walls": [[float(a[0]), float(a[2]), float(b[0]), float(b[2])] for a, b in segs],
            "start": [float(v) for v in start],
            "agent_radius": float(env.agent.radius),
            "goal": [float(v) for v in box],
            "goal_radius": float(env.box.radius),
            "blockers": [[float(e.pos[0]), float(e.pos[2]), float(e.radius)] for e in blockers],
        },
    }


def nav_rollout(req):
    """One open-loop plan per seed, under the authors' rule.

    Each step (MiniWorldEnv.step of their copy): the step count goes up;
    the move is (0.3 tanh(a[1]) along x, 0.3 tanh(a[0]) along z), rejected
    whole if the agent's circle would hit a wall or an entity; the camera
    turns to face the move; at the step limit the episode ends with reward
    0; reaching the box (distance < r_box + r_agent + 1.1 * 0.3) ends it
    with 1 - 0.2 t / T; an episode ending with reward 0 scores
    -||agent - box||. Only the frames asked for are rendered.
    """
    name = req["env"]
    _, horizon, step = NAV_TASKS.get(name, (None, None, None))
    env = nav_env(name)
    x = np.asarray(req["x"], dtype=np.float64)
    if x.size != 2 * horizon:
        raise ValueError(f"{name}: a plan needs 2 x {horizon} = {2 * horizon} actions, got {x.size}")
    acts = x.reshape(horizon, 2)
    every = req.get("frame_every")
    want = set(req.get("obs_steps", []))
    out = {"returns": [], "steps": [], "obs": [], "frames": []}
    for seed in req["seeds"]:
        # A maze is generated once per seed; later rollouts restore the
        # agent's start (what the authors' `simulate` / `restore` do).
        env = nav_maze(name, seed)
        env.agent.pos = env.nav_start[0].copy()
        env.agent.dir = env.nav_start[1]
        agent, box = env.agent, env.box
        reach = box.radius + agent.radius + 1.1 * step
        frames, seen, total, t = [], [], 0.0, 0
        for a in acts:
            t += 1
            y, xx = float(a[0]), float(a[1])
            if xx == 0:
                xx += 1e-8
            agent.pos = nav_move(env, agent.pos, a, step)
            agent.dir = -math.atan(y / xx) + (math.pi if xx < 0 else 0.0)
            if every and (t - 1) % every == 0:
                frames.append(env.render_obs())
            if t in want:
                seen.append([float(agent.pos[0]), float(agent.pos[2])])
            done, r = t >= horizon, 0.0
            if np.linalg.norm(box.pos - agent.pos) < reach:
                r += 1.0 - 0.2 * (t / horizon)
                done = True
            if r == 0 and done:
                r = -float(np.linalg.norm(agent.pos - box.pos))
            total += r
            if done:
                break
        out["returns"].append(total)
        out["steps"].append(t)
        out["obs"].append(seen)
        if every:
            n = (horizon + every - 1) // every
            h, w = env.observation_space.shape[:2]
            buf = np.zeros((n, h, w, 3), dtype=np.uint8)
            for i, f in enumerate(frames):
                buf[i] = f
            out["frames"].append(base64.b64encode(buf.tobytes()).decode("ascii"))
    if not every:
        del out["frames"]
    if not want:
        del out["obs"]
    return out


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
    if req["policy"] == "plan":
        return nav_rollout(req)
    if req["policy"] == "step":
        return nav_step(req)
    if req["policy"] == "layout":
        return nav_layout(req)
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
    # Answers go to the real stdout; anything a library prints (pyglet's
    # headless canvas announces its multisampling there) goes to stderr.
    out_stream, sys.stdout = sys.stdout, sys.stderr
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
        out_stream.write(json.dumps(out, allow_nan=True) + "\n")
        out_stream.flush()


if __name__ == "__main__":
    main()
