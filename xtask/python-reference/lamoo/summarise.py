"""Merge per-method curve files from run_branincurrin.py and print the table for the README.

    python summarise.py OUT.csv IN.csv...

Writes OUT.csv sorted by (method, run, eval); prints, per method, the runs present and the mean
(and standard error over runs) of log10(max HV - HV) at 10, 20, 50 and 100 evaluations, and the
paired difference LaMOO+qEHVI minus qEHVI over the runs both methods have.
"""

import csv
import math
import sys

out, ins = sys.argv[1], sys.argv[2:]
rows = []
for p in ins:
    with open(p) as f:
        rows += list(csv.DictReader(f))
rows.sort(key=lambda r: (r["method"], int(r["run"]), int(r["eval"])))
with open(out, "w") as f:
    f.write("method,run,eval,hv,log_hv_diff\n")
    for r in rows:
        f.write("%s,%s,%s,%s,%s\n" % (r["method"], r["run"], r["eval"], r["hv"], r["log_hv_diff"]))

val = {(r["method"], int(r["run"]), int(r["eval"])): float(r["log_hv_diff"]) for r in rows}
methods = sorted({m for m, _, _ in val})
full = {m: sorted({k for mm, k, e in val if mm == m and (mm, k, 100) in val}) for m in methods}


def stats(xs):
    n = len(xs)
    mean = sum(xs) / n
    se = math.sqrt(sum((x - mean) ** 2 for x in xs) / (n - 1) / n) if n > 1 else float("nan")
    return mean, se


evals = [10, 20, 50, 100]
print("| method | runs | " + " | ".join("@%d" % e for e in evals) + " |")
print("|---|---|" + "---|" * len(evals))
for m in methods:
    cells = ["%.3f ± %.3f" % stats([val[(m, k, e)] for k in full[m]]) for e in evals]
    print("| %s | %s | %s |" % (m, ",".join(map(str, full[m])), " | ".join(cells)))
if len(methods) == 2:
    a, b = "lamoo", "qehvi"
    both = sorted(set(full[a]) & set(full[b]))
    cells = ["%.3f ± %.3f" % stats([val[(a, k, e)] - val[(b, k, e)] for k in both]) for e in evals]
    print("| lamoo - qehvi (paired) | %s | %s |" % (",".join(map(str, both)), " | ".join(cells)))
    wins = [sum(val[(a, k, e)] < val[(b, k, e)] for k in both) for e in evals]
    print("runs where lamoo is lower (better):", dict(zip(evals, wins)), "of", len(both))
