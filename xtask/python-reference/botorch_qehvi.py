"""BoTorch 0.18 qEHVI with its tutorial settings: the reference for `cargo xtask bench qehvi-*`
(one batch, timed) and for the quality-parity check (whole runs from the LaMOO authors'
initial sets).

Settings (BoTorch's multi-objective BO tutorial, `qEHVI`): ModelListGP of one SingleTaskGP per
objective with `Standardize(m=1)` (inferred noise: the problems are noise-free), fitted with
`fit_gpytorch_mll` on a SumMarginalLogLikelihood; x normalised to the unit cube;
FastNondominatedPartitioning of the observed objectives; qExpectedHypervolumeImprovement with a
SobolQMCNormalSampler of 128 samples; optimize_acqf with q 5, 20 restarts, 1,024 raw samples,
options batch_limit 5 and maxiter 200, sequential=True. Everything in float64, one torch thread
(the caller also pins the process to one core).

Usage:
  botorch_qehvi.py batch INPUT.json REPS
      INPUT.json: {"problem": "branincurrin"|"vehiclesafety", "x_unit": [[...]], "y": [[...]]}
      (x in the unit cube of the problem's box, y in maximisation form, i.e. BoTorch's
      negate=True values). Times REPS qEHVI batches from the same data (torch seeded 0, 1, ...)
      and prints one line `RESULT {"cpu": [...], "wall": [...], ...}`: process CPU seconds of
      each batch (GP fit + partitioning + acquisition optimisation).
  botorch_qehvi.py run PROBLEM INITIAL_SETS.json SET BATCHES OUT.json
      Runs BATCHES batches of 5 from initial set SET of INITIAL_SETS.json (the LaMOO authors'
      shipped sets, data/lamoo/initial-sets/*.json: raw x, y in maximisation form), torch and
      numpy seeded with SET, and writes the curve log10(max HV - HV) after every evaluation
      (BoTorch's DominatedPartitioning hypervolume, the problem's ref_point and max_hv) with
      the CPU seconds of each batch to OUT.json.
"""
import json, os, sys, time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
import warnings

import numpy as np
import torch

torch.set_num_threads(1)
torch.set_default_dtype(torch.float64)
import botorch
from botorch.acquisition.multi_objective.monte_carlo import qExpectedHypervolumeImprovement
from botorch.fit import fit_gpytorch_mll
from botorch.models.gp_regression import SingleTaskGP
from botorch.models.model_list_gp_regression import ModelListGP
from botorch.models.transforms.outcome import Standardize
from botorch.optim.optimize import optimize_acqf
from botorch.sampling.normal import SobolQMCNormalSampler
from botorch.test_functions.multi_objective import BraninCurrin, VehicleSafety
from botorch.utils.multi_objective.box_decompositions.dominated import DominatedPartitioning
from botorch.utils.multi_objective.box_decompositions.non_dominated import (
    FastNondominatedPartitioning,
)
from botorch.utils.transforms import normalize, unnormalize
from gpytorch.mlls.sum_marginal_log_likelihood import SumMarginalLogLikelihood

warnings.filterwarnings("ignore")
BATCH, RESTARTS, RAW, MC = 5, 20, 1024, 128
PROBLEMS = {"branincurrin": BraninCurrin, "vehiclesafety": VehicleSafety}


def problem(name):
    if name not in PROBLEMS:
        sys.exit(f"unknown problem `{name}`; valid choices: {', '.join(PROBLEMS)}")
    return PROBLEMS[name](negate=True)


def versions():
    import gpytorch, scipy
    return {"botorch": botorch.__version__, "gpytorch": gpytorch.__version__,
            "torch": torch.__version__, "numpy": np.__version__, "scipy": scipy.__version__,
            "torch_threads": torch.get_num_threads()}


def propose(prob, x_unit, y):
    """One qEHVI batch of the tutorial: fit, partition, optimise; returns unit-cube points."""
    d = x_unit.shape[-1]
    models = [SingleTaskGP(x_unit, y[..., i:i + 1], outcome_transform=Standardize(m=1))
              for i in range(y.shape[-1])]
    model = ModelListGP(*models)
    fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
    partitioning = FastNondominatedPartitioning(ref_point=prob.ref_point, Y=y)
    acq = qExpectedHypervolumeImprovement(
        model=model, ref_point=prob.ref_point, partitioning=partitioning,
        sampler=SobolQMCNormalSampler(sample_shape=torch.Size([MC])))
    bounds = torch.stack([torch.zeros(d), torch.ones(d)])
    cand, _ = optimize_acqf(acq_function=acq, bounds=bounds, q=BATCH, num_restarts=RESTARTS,
                            raw_samples=RAW, options={"batch_limit": 5, "maxiter": 200},
                            sequential=True)
    return cand.detach()


def cmd_batch(path, reps):
    spec = json.load(open(path))
    prob = problem(spec["problem"])
    x = torch.tensor(spec["x_unit"])
    y = torch.tensor(spec["y"])
    cpu, wall = [], []
    for r in range(reps):
        torch.manual_seed(r)
        c0, w0 = time.process_time(), time.perf_counter()
        propose(prob, x, y)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    print("RESULT " + json.dumps({"cpu": cpu, "wall": wall, "n": int(x.shape[0]),
                                  "versions": versions()}), flush=True)


def log_hv_diff(prob, y):
    hv = DominatedPartitioning(ref_point=prob.ref_point, Y=y).compute_hypervolume().item()
    return hv, float(np.log10(max(prob.max_hv - hv, 1e-12)))


def cmd_run(name, sets_path, set_id, batches, out):
    prob = problem(name)
    sets = json.load(open(sets_path))
    s = sets["sets"][set_id]
    torch.manual_seed(set_id)
    np.random.seed(set_id)
    x = torch.tensor(s["x"])
    y = torch.tensor(s["y"])
    curve, hvs = [], []
    for k in range(1, x.shape[0] + 1):
        hv, v = log_hv_diff(prob, y[:k])
        hvs.append(hv); curve.append(v)
    cpu = []
    for b in range(batches):
        c0 = time.process_time()
        cand = propose(prob, normalize(x, prob.bounds), y)
        cpu.append(time.process_time() - c0)
        new_x = unnormalize(cand, prob.bounds)
        new_y = prob(new_x)
        for k in range(new_x.shape[0]):
            x = torch.cat([x, new_x[k:k + 1]])
            y = torch.cat([y, new_y[k:k + 1]])
            hv, v = log_hv_diff(prob, y)
            hvs.append(hv); curve.append(v)
        print(f"set {set_id} batch {b + 1}/{batches}: {x.shape[0]} evaluations, "
              f"log_hv_diff {curve[-1]:.4f}, CPU {cpu[-1]:.1f} s", flush=True)
    json.dump({"problem": name, "initial_sets": os.path.basename(sets_path), "set": set_id,
               "method": "BoTorch qEHVI (tutorial settings)", "batch_cpu_s": cpu,
               "hv": hvs, "log_hv_diff": curve, "versions": versions()},
              open(out, "w"), indent=1)
    print(f"wrote {out}", flush=True)


if __name__ == "__main__":
    a = sys.argv[1:]
    if a[:1] == ["batch"] and len(a) == 3:
        cmd_batch(a[1], int(a[2]))
    elif a[:1] == ["run"] and len(a) == 6:
        cmd_run(a[1], a[2], int(a[3]), int(a[4]), a[5])
    else:
        sys.exit(__doc__)
