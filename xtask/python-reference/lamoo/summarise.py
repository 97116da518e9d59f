"""Merge the curves of run_branincurrin.py runs and print the table for the README.

    [EVALS=10,100,1000] python summarise.py OUT.csv FILE...

Each FILE is either a curve file written by run_branincurrin.py (complete runs) or the log of a
run, named METHOD-RUN.log, which may be unfinished: their MCTS.py prints the hypervolume after
every batch ('hv in each iter is [...]'), so an unfinished run contributes the batches it
completed. OUT.csv gets rows at batch boundaries (10, 15, ... evaluations) only, sorted by
(method, run, eval); a complete run's rows come from its curve file, and its log, if given too, is
checked against them. Prints per method the runs and the mean (± standard error over runs) of
log10(max HV - HV) at the EVALS counts (default 10, 20, 50 and 100) over the runs that reached
that count, and the paired difference LaMOO+X minus X (X = qEHVI, CMA-ES) over the runs both have
there.
"""

import ast
import csv
import math
import os
import re
import sys

MAX_HV = 59.36011874867746  # BoTorch 0.3.3 BraninCurrin._max_hv
NINIT, Q = 10, 5

out, files = sys.argv[1], sys.argv[2:]
hv = {}  # (method, run, eval) -> hv
from_log = {}
for p in files:
    if p.endswith(".log"):
        m = re.match(r"([\w-]+?)-(\d+)\.log$", os.path.basename(p))
        lines = [l for l in open(p) if l.startswith("hv in each iter is")]
        if lines:
            trace = ast.literal_eval(lines[-1][len("hv in each iter is") :].strip())
            for i, v in enumerate(trace):
                from_log[(m.group(1), int(m.group(2)), NINIT + Q * i)] = float(v)
    else:
        with open(p) as f:
            for r in csv.DictReader(f):
                if r["method"] == "method":
                    continue  # a second header from concurrent appends
                n = int(r["eval"])
                if (n - NINIT) % Q == 0:
                    hv[(r["method"], int(r["run"]), n)] = float(r["hv"])
for k, v in from_log.items():
    if k in hv:
        assert abs(hv[k] - v) < 1e-9, (k, hv[k], v)
    else:
        hv[k] = v
with open(out, "w") as f:
    f.write("method,run,eval,hv,log_hv_diff\n")
    for k in sorted(hv):
        f.write("%s,%d,%d,%r,%r\n" % (k + (hv[k], math.log10(MAX_HV - hv[k]))))

val = {k: math.log10(MAX_HV - v) for k, v in hv.items()}
methods = sorted({k[0] for k in val})


def stats(xs):
    n = len(xs)
    if n == 0:
        return float("nan"), float("nan"), 0
    mean = sum(xs) / n
    se = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1) / n) if n > 1 else float("nan")
    return mean, se, n


evals = [int(e) for e in os.environ.get("EVALS", "10,20,50,100").split(",")]
print("| method | runs (last eval) | " + " | ".join("@%d" % e for e in evals) + " |")
print("|---|---|" + "---|" * len(evals))
for m in methods:
    runs = sorted({k for mm, k, _ in val if mm == m})
    last = {k: max(e for mm, kk, e in val if mm == m and kk == k) for k in runs}
    cells = ["%.3f ± %.3f (n=%d)" % stats([val[(m, k, e)] for k in runs if (m, k, e) in val]) for e in evals]
    print("| %s | %s | %s |" % (m, ", ".join("%d (%d)" % (k, last[k]) for k in runs), " | ".join(cells)))
for ours, base in [("lamoo", "qehvi"), ("lamoo-cmaes", "cmaes")]:
    if not {ours, base} <= set(methods):
        continue
    cells, wins = [], []
    for e in evals:
        both = [k for (mm, k, ee) in val if mm == ours and ee == e and (base, k, e) in val]
        d = [val[(ours, k, e)] - val[(base, k, e)] for k in both]
        cells.append("%.3f ± %.3f (n=%d)" % stats(d))
        wins.append("%d of %d" % (sum(x < 0 for x in d), len(d)))
    print("| %s - %s (paired) | | %s |" % (ours, base, " | ".join(cells)))
    print("| runs where %s is lower (better) | | %s |" % (ours, " | ".join(wins)))
