"""Time individual LA-MCTS-BO iterations of the authors' LA-MCTS/lamcts on Ackley-20.

Usage: LAMCTS_DIR=<LaMCTS checkout>/LA-MCTS python lamcts_bo_iter.py NINITS ITERS [PROFILE_ITERS]
  NINITS  : Latin-hypercube initial samples (MCTS ninits), so the first search
            iteration runs with NINITS samples in the tree.
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

ninits = int(sys.argv[1]); iters = int(sys.argv[2])
prof_iters = int(sys.argv[3]) if len(sys.argv) > 3 else 0
np.random.seed(0)
RUN = os.environ.get("RUN_DIR", "/tmp/lamcts-bo-iter-run")  # the code writes its traces here
os.makedirs(RUN, exist_ok=True); os.chdir(RUN)

print("numpy", np.__version__, "scipy", scipy.__version__, "sklearn", sklearn.__version__, flush=True)
f = Ackley(dims=20)
sink = io.StringIO()
t0 = time.process_time()
with contextlib.redirect_stdout(sink):
    agent = MCTS(lb=f.lb, ub=f.ub, dims=f.dims, ninits=ninits, func=f, Cp=f.Cp,
                 leaf_size=f.leaf_size, kernel_type=f.kernel_type, gamma_type=f.gamma_type)
print(f"init ({ninits} LHS samples): {time.process_time()-t0:.2f} s CPU", flush=True)

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
          f"GP LML evals {NLML[0]}, CPU {c1-c0:.2f} s, wall {w1-w0:.2f} s", flush=True)
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
