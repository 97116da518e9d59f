"""Convert the initial sets the LaMOO authors ship (torch pickles) to JSON data files.

    LAMOO_DIR=/tmp/lamoo-src python convert_initial_sets.py OUT_DIR

LAMOO_DIR is a checkout of github aoiang/LaMOO (commit a78c86b). Each `.pt` file is a list of 10
runs, each `[x, y]` with x a float64 tensor of 10 points and y their objective values (maximised,
as their MCTS feeds them to the GP and the hypervolume). Floats are written as Python's repr of
the float64 value, which parses back to the same bits; float32 values (NB-201's y, NB-201's upper
bound) are widened to float64 exactly first. Also checks y against the objective where it can:
BraninCurrin and VehicleSafety with BoTorch's test functions (negate=True, as their MCTS builds
them), NB-201's FLOPs column with the closed form recovered in searchkit's nb201/moo.rs.
"""

import json
import os
import sys

import numpy as np
import torch

COMMIT = "a78c86bce1a9405894e7e0e9be1e352132db86f4"


def f64(v):
    """Exact float64 value of a float32 or float64 number, as a JSON-ready float."""
    return float(v)


def rows(t):
    return [[f64(v) for v in r] for r in t.tolist()]


def nb201_flops_column(x):
    # bins floor(5x) -> ops none, skip, avg_pool, conv1x1, conv3x3 (nb201/moo.rs BIN_OPS);
    # u = #conv1x1 + 9 #conv3x3; shipped value -(z + 2), z = (u - 12) / sqrt(74.4)
    bins = np.minimum(np.floor(5 * np.asarray(x)), 4).astype(int)
    u = (bins == 3).sum(axis=1) + 9 * (bins == 4).sum(axis=1)
    return -((u - 12) / np.sqrt(74.4) + 2)


def dump(doc):
    """JSON with one point per line (json writes floats with repr, so they round-trip)."""
    head = {k: v for k, v in doc.items() if k not in ("bounds", "sets")}
    text = json.dumps(head, indent=1)[:-2] + ',\n "bounds": [\n  %s,\n  %s\n ],\n "sets": [\n' % tuple(
        json.dumps(b) for b in doc["bounds"]
    )
    sets = []
    for s in doc["sets"]:
        parts = []
        for key in ("x", "y"):
            pts = ",\n   ".join(json.dumps(p) for p in s[key])
            parts.append('  "%s": [\n   %s\n  ]' % (key, pts))
        sets.append("  {\n" + ",\n".join(parts) + "\n  }")
    text += ",\n".join(sets) + "\n ]\n}\n"
    assert json.loads(text) == doc
    return text


def main():
    src, out = os.environ["LAMOO_DIR"], sys.argv[1]
    os.makedirs(out, exist_ok=True)
    from botorch.test_functions.multi_objective import BraninCurrin, VehicleSafety

    problems = [
        ("branincurrin", "branincurrin/BraninCurrin_data.pt", BraninCurrin(negate=True)),
        ("vehiclesafety", "vehiclesafety/VehicleSafety_data.pt", VehicleSafety(negate=True)),
        ("nb201", "nasbench/nasbench201_std_normalized_data.pt", None),
    ]
    for name, path, func in problems:
        data = torch.load(os.path.join(src, path), map_location="cpu")
        sets, checks = [], []
        for x, y in data:
            assert x.dtype == torch.float64 and x.shape[0] == 10, (path, x.dtype, x.shape)
            sets.append({"x": rows(x), "y": rows(y)})
            if func is not None:
                checks.append((func(x) - y).abs().max().item())
            else:
                fl = nb201_flops_column(x.numpy())
                checks.append(float(np.abs(fl - y[:, 1].double().numpy()).max()))
        ydtype = str(data[0][1].dtype).replace("torch.", "")
        if name == "nb201":
            # their Nasbench201.bounds: [(0.0, 0.99999)] * 6 as a float32 tensor
            b = torch.tensor([(0.0, 0.99999)] * 6, dtype=torch.float).transpose(-1, -2)
            bounds = rows(b)
            space = "raw (their coordinates are the unit cube up to 0.99999; each x is binned floor(5x) to an op)"
            note = (
                "y = (z(CIFAR-10 test accuracy) - 2, -(z(FLOPs) + 2)), both maximised, reference point "
                "(-3, -6), max HV 8.06987476348877 (their Nasbench201 class). y is stored as float32 in "
                "the .pt file and widened to float64 exactly here. The upper bound 0.99999 is the float32 "
                "value their bounds tensor holds. Check: the FLOPs column equals -((u - 12) / sqrt(74.4) + 2), "
                "u = #conv1x1 + 9 #conv3x3 of the binned cell, to %.2g (float32 rounding); the accuracy "
                "column needs their lookup table, which is not in their repository." % max(checks)
            )
        else:
            bounds = rows(func.bounds)
            space = "raw" + (" (BraninCurrin's raw box is the unit cube)" if name == "branincurrin" else "")
            note = (
                "y is BoTorch's %s(negate=True) at x (every objective negated, so maximised), as their "
                "MCTS.py builds the function; largest |f(x) - y| over all sets: %r. Their GP (SingleTaskGP "
                "with Standardize) is fitted on these raw x, not on x scaled to the unit cube, and qEHVI "
                "is optimised over the raw bounds. Reference point %s, max HV %r (BoTorch 0.3.3)."
                % (type(func).__name__, max(checks), [f64(v) for v in func.ref_point.tolist()], func._max_hv)
            )
        doc = {
            "source": "github aoiang/LaMOO, commit %s, %s (torch.save of a list of 10 [x, y] pairs; "
            "x float64, y %s)" % (COMMIT, path, ydtype),
            "note": note,
            "space": space,
            "bounds": bounds,
            "sets": sets,
        }
        with open(os.path.join(out, name + ".json"), "w") as f:
            f.write(dump(doc))
        print(name, len(sets), "sets, y dtype", ydtype, "max check diff", max(checks))


if __name__ == "__main__":
    main()
