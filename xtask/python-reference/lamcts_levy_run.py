"""One whole LA-MCTS-BO run of the authors' LA-MCTS/lamcts on Levy-20, to compare its curve with ours.

Usage: LAMCTS_DIR=<LaMCTS checkout>/LA-MCTS python lamcts_levy_run.py SEED EVALS
  SEED  : numpy's global seed (the authors' code draws from numpy's global generator).
  EVALS : evaluations in total, the 40 initial Latin-hypercube points included.
Everything is the authors' unmodified code with the settings of functions/functions.py Levy:
bounds [-10, 10], Cp 10, leaf 8, poly kernel, gamma auto, 40 initial points, solver 'bo'
(MCTS's default). Prints the best f so far every 10 evaluations, then the whole best-so-far
curve (the function's own tracker) on one line starting with 'curve'.
"""
import os, sys, io, time, contextlib
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "stubs"))  # torch/gym/imageio/matplotlib stand-ins
sys.path.insert(0, os.environ["LAMCTS_DIR"])     # authors' LA-MCTS folder, unmodified
import numpy as np
import sklearn, scipy, scipy.stats  # before the torch stub, which imports scipy.stats itself
from functions.functions import Levy
from lamcts import MCTS

seed, evals = int(sys.argv[1]), int(sys.argv[2])
np.random.seed(seed)
# The tracker writes its trace files into a folder named after the function, in the cwd.
work = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"lamcts-levy-s{seed}")
os.makedirs(work, exist_ok=True)
os.chdir(work)
with contextlib.redirect_stdout(io.StringIO()):
    f = Levy(dims=20)
    agent = MCTS(lb=f.lb, ub=f.ub, dims=f.dims, ninits=f.ninits, func=f, Cp=f.Cp,
                 leaf_size=f.leaf_size, kernel_type=f.kernel_type, gamma_type=f.gamma_type)
t0 = time.process_time()
while agent.sample_counter < evals:
    with contextlib.redirect_stdout(io.StringIO()):
        agent.search(iterations=agent.sample_counter + 1)
    n = len(f.tracker.results)
    if n % 10 == 0 or n >= evals:
        print(f"evals {n} best {f.tracker.results[-1]:.4f} cpu {time.process_time() - t0:.0f} s",
              flush=True)
print("curve", " ".join(f"{v:.6g}" for v in f.tracker.results), flush=True)
