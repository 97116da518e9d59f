"""Time individual LA-MCTS-BO iterations of the authors' LA-MCTS/lamcts on Ackley-20.

Usage: LAMCTS_DIR=<LaMCTS checkout>/LA-MCTS python lamcts_bo_iter.py [--from-run CSV] NINITS ITERS [PROFILE_ITERS]
  NINITS  : Latin-hypercube initial samples (MCTS ninits), so the first search
            iteration runs with NINITS samples in the tree.
  --from-run CSV : instead of NINITS Latin-hypercube points, start the tree from the first
            NINITS rows of CSV ('#' lines are comments, each other line is the 20 x values
            of one evaluation); MCTS is built with ninits=0 and each row goes through the
            authors' MCTS.collect_samples, i.e. f is evaluated with their Ackley.
  ITERS   : timed search iterations (each = agent.search(sample_counter+1),
            i.e. exactly one iteration of MCTS.search's loop).
  PROFILE_ITERS : extra iterations run under cProfile afterwards (default 0).
Settings from functions/functions.py Ackley: lb -5, ub 10, Cp 1, leaf 10, rbf, gamma auto.
"""
import os, sys, io, time, contextlib, cProfile, pstats
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "stubs"))  # torch/gym/imageio/matplotlib stand-ins
sys.path.insert(0, os.environ["LAMCTS_DIR"])     # authors' LA-MCTS folder, unmodified
import numpy as np
import sklearn, scipy
from functions.functions import Ackley
from lamcts import MCTS
# count GP log-marginal-likelihood evaluations (L-BFGS steps) per iteration; no effect on computation
from sklearn.gaussian_process import GaussianProcessRegressor as _GPR
_lml = _GPR.log_marginal_likelihood; NLML = [0]
def _lml_counted(self, *a, **k):
    NLML[0] += 1; return _lml(self, *a, **k)
_GPR.log_marginal_likelihood = _lml_counted

# record the leaf MCTS.select returns (samples in it, path depth); no effect on computation
_select = MCTS.select; SEL = [None]
def _select_recorded(self):
    leaf, path = _select(self); SEL[0] = (len(leaf.bag), len(path)); return leaf, path
MCTS.select = _select_recorded

args = sys.argv[1:]; from_run = None
if args and args[0] == "--from-run":
    from_run = os.path.abspath(args[1]); args = args[2:]
ninits = int(args[0]); iters = int(args[1])
prof_iters = int(args[2]) if len(args) > 2 else 0
np.random.seed(0)
RUN = os.environ.get("RUN_DIR", "/tmp/lamcts-bo-iter-run")  # the code writes its traces here
os.makedirs(RUN, exist_ok=True); os.chdir(RUN)

print("numpy", np.__version__, "scipy", scipy.__version__, "sklearn", sklearn.__version__, flush=True)
f = Ackley(dims=20)
sink = io.StringIO()
t0 = time.process_time()
if from_run is None:
    with contextlib.redirect_stdout(sink):
        agent = MCTS(lb=f.lb, ub=f.ub, dims=f.dims, ninits=ninits, func=f, Cp=f.Cp,
                     leaf_size=f.leaf_size, kernel_type=f.kernel_type, gamma_type=f.gamma_type)
    print(f"init ({ninits} LHS samples): {time.process_time()-t0:.2f} s CPU", flush=True)
else:
    rows = [np.array([float(v) for v in ln.split()]) for ln in open(from_run)
            if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(rows) >= ninits, f"{from_run} has only {len(rows)} rows"
    with contextlib.redirect_stdout(sink):
        agent = MCTS(lb=f.lb, ub=f.ub, dims=f.dims, ninits=0, func=f, Cp=f.Cp,
                     leaf_size=f.leaf_size, kernel_type=f.kernel_type, gamma_type=f.gamma_type)
        for x in rows[:ninits]:
            assert x.shape == (f.dims,)
            agent.collect_samples(x)  # value = -Ackley(x), as in init_train
    assert agent.sample_counter == ninits and agent.solver_type == "bo"
    print(f"init ({ninits} samples from {from_run}, best f {-agent.curt_best_value:.4f}): "
          f"{time.process_time()-t0:.2f} s CPU", flush=True)

# watchdog: abort if one iteration exceeds 15 min CPU (report lower bound)
import threading
cur = {"c0": None, "n": None}
def _watch():
    while True:
        time.sleep(5)
        if cur["c0"] is not None and time.process_time() - cur["c0"] > 900:
            sys.__stdout__.write(f"ABORT: iteration at {cur['n']} samples exceeded 900 s CPU "
                                 f"({time.process_time()-cur['c0']:.1f} s so far)\n"); sys.__stdout__.flush()
            os._exit(3)
threading.Thread(target=_watch, daemon=True).start()

times = []
for k in range(iters):
    n = agent.sample_counter; NLML[0] = 0
    sink = io.StringIO()
    c0 = time.process_time(); w0 = time.perf_counter(); cur["c0"], cur["n"] = c0, n
    with contextlib.redirect_stdout(sink):
        agent.search(iterations=n + 1)
    c1 = time.process_time(); w1 = time.perf_counter(); cur["c0"] = None
    assert agent.sample_counter == n + 1
    nleaves = sum(1 for nd in agent.nodes if nd.is_leaf())
    times.append(c1 - c0)
    print(f"iter {k+1}: samples in tree {n}, nodes {len(agent.nodes)} (leaves {nleaves}), "
          f"selected leaf {SEL[0][0]} samples at depth {SEL[0][1]}, GP LML evals {NLML[0]}, CPU {c1-c0:.2f} s, wall {w1-w0:.2f} s", flush=True)
if times:
    print(f"mean CPU over {len(times)}: {sum(times)/len(times):.2f} s", flush=True)

for k in range(prof_iters):
    n = agent.sample_counter
    pr = cProfile.Profile()
    c0 = time.process_time(); cur["c0"], cur["n"] = c0, n
    with contextlib.redirect_stdout(io.StringIO()):
        pr.enable(); agent.search(iterations=n + 1); pr.disable()
    cur["c0"] = None
    print(f"profiled iter at {n} samples: CPU {time.process_time()-c0:.2f} s", flush=True)
    st = pstats.Stats(pr); st.sort_stats("cumulative"); st.print_stats(25)
    st.sort_stats("tottime"); st.print_stats(15)
