"""Run the authors' LaMOO+qEHVI, qEHVI, LaMOO+CMA-ES or CMA-ES (aoiang/LaMOO, `branincurrin`) once.

Runs their unmodified `MCTS.py` as a script (runpy, `__main__`) from a checkout given by
LAMOO_DIR, with their command-line defaults and `--data_id RUN` (their shipped initial set RUN),
then recomputes the hypervolume after every evaluation from the agent's samples with BoTorch's
`Hypervolume` (the same call their `search` prints once per batch).

    LAMOO_DIR=/tmp/lamoo-src python run_branincurrin.py {lamoo|qehvi|lamoo-cmaes|cmaes} RUN OUT.csv [LOG]

lamoo = their defaults (`--cmaes_method lamcts`: the tree is rebuilt each batch, leaf selection,
poly SVM degree 4, Cp 6); qehvi = `--cmaes_method vanilla` (their switch that skips the tree, so
the root's whole box is the region). lamoo-cmaes and cmaes are the same two with
`--sample_method cmaes` (their CMA-ES sampler, `Classifier.propose_rand_samples_cmaes`).
`LAMOO_ITERS` sets `--iter` (batches of 5 after the 10 initial points; their default 18 gives
100 evaluations, 198 gives the poster's 1,000 for the CMA-ES rows). Their code seeds nothing; this wrapper seeds Python's
`random`, numpy's global generator and torch with RUN before the run.
Appends rows `method,run,eval,hv,log_hv_diff` to OUT.csv (log10 of max HV minus HV).
"""

import contextlib
import math
import os
import random
import runpy
import sys
import time

import numpy as np
import torch

# method -> (--cmaes_method, --sample_method)
METHODS = {
    "lamoo": ("lamcts", "bayesian"),
    "qehvi": ("vanilla", "bayesian"),
    "lamoo-cmaes": ("lamcts", "cmaes"),
    "cmaes": ("vanilla", "cmaes"),
}


def main():
    if len(sys.argv) < 4 or sys.argv[1] not in METHODS:
        sys.exit("usage: run_branincurrin.py {lamoo|qehvi|lamoo-cmaes|cmaes} RUN OUT.csv [LOG]")
    method, run, out = sys.argv[1], int(sys.argv[2]), os.path.abspath(sys.argv[3])
    log = os.path.abspath(sys.argv[4]) if len(sys.argv) > 4 else os.devnull
    src = os.path.join(os.environ["LAMOO_DIR"], "branincurrin")
    os.chdir(src)  # their code loads BraninCurrin_data.pt and imports its siblings from the cwd
    sys.path.insert(0, src)
    random.seed(run)
    np.random.seed(run)
    torch.manual_seed(run)
    cmaes_method, sample_method = METHODS[method]
    sys.argv = ["MCTS.py", "--data_id", str(run), "--cmaes_method", cmaes_method,
                "--sample_method", sample_method, "--iter", os.environ.get("LAMOO_ITERS", "18")]
    t0, c0 = time.time(), time.process_time()
    with open(log, "w", buffering=1) as f, contextlib.redirect_stdout(f):
        g = runpy.run_path("MCTS.py", run_name="__main__")
    wall, cpu = time.time() - t0, time.process_time() - c0
    agent = g["agent"]
    from botorch.utils.multi_objective.hypervolume import Hypervolume
    from botorch.utils.multi_objective.pareto import is_non_dominated

    y = agent.samples[1]
    hv = Hypervolume(ref_point=agent.func.ref_point.clone().detach())
    max_hv = agent.func._max_hv
    rows = []
    for n in range(agent.ninits, len(y) + 1):
        yn = y[:n]
        v = hv.compute(yn[is_non_dominated(yn)])
        rows.append(f"{method},{run},{n},{v!r},{math.log10(max_hv - v)!r}")
    new = not os.path.exists(out)
    with open(out, "a") as f:
        if new:
            f.write("method,run,eval,hv,log_hv_diff\n")
        f.write("\n".join(rows) + "\n")
    print(f"{method} run {run}: {len(y)} evals, final hv {v:.4f}, wall {wall:.1f} s, cpu {cpu:.1f} s",
          file=sys.stderr)


if __name__ == "__main__":
    main()
