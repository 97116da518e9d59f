"""Reference values for `cargo run -p xtask-audit` (issue 24, point 4).

Reads the inputs that `xtask-audit gen-data` wrote (raw little-endian f64 under
$SPACEPART_CACHE/audit), computes what scikit-learn, numpy/LAPACK, scipy and pycma give on them,
and writes `data/audit/reference.json` (small values, versions, timings) plus numpy's dense
outputs (`np_*.bin`, too large to commit) next to the inputs. One BLAS thread.

    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
      $SPACEPART_CACHE/pyref-audit/bin/python xtask/python-reference/audit/reference.py [--quick]
"""
import hashlib, json, os, platform, sys, time

import numpy as np
import scipy
import scipy.linalg as sla
import scipy.optimize as sopt
import sklearn
from sklearn.cluster import KMeans
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, Matern, WhiteKernel
from sklearn.svm import SVC
import cma

DIR = os.path.join(os.environ.get("SPACEPART_CACHE", "/var/cache/spacepart"), "audit")
OUT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "data", "audit", "reference.json")
D = 20
QUICK = "--quick" in sys.argv


def rd(name, shape=None):
    a = np.fromfile(os.path.join(DIR, name), dtype="<f8")
    return a.reshape(shape) if shape else a


def timed(reps, f):
    ts, out = [], None
    for _ in range(reps):
        t = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t)
    return out, {"median": float(np.median(ts)), "min": min(ts), "max": max(ts), "reps": reps}


def sha(name):
    return hashlib.sha256(open(os.path.join(DIR, name), "rb").read()).hexdigest()[:16]


ref = {"inputs": {}}


# Dense linear algebra: LAPACK through numpy/scipy.
ref["linalg"] = {}
for n in [200, 1000] if QUICK else [200, 1000, 3000]:
    K, b = rd(f"spd_{n}.bin", (n, n)), rd(f"rhs_{n}.bin")
    ref["inputs"][f"spd_{n}.bin"] = sha(f"spd_{n}.bin")
    reps = 1 if n >= 3000 else 3
    L, t_chol = timed(reps, lambda: np.linalg.cholesky(K))
    I = np.eye(n)
    linv, t_linv = timed(reps, lambda: sla.solve_triangular(L, I, lower=True))
    inv, t_inv = timed(reps, lambda: sla.cho_solve((L, True), I))
    x = sla.cho_solve((L, True), b)
    for name, a in [("chol", L), ("linv", linv), ("inv", inv), ("solve", x)]:
        np.ascontiguousarray(a, dtype="<f8").tofile(os.path.join(DIR, f"np_{name}_{n}.bin"))
    ref["linalg"][str(n)] = {
        "logdet": float(2 * np.log(np.diag(L)).sum()),
        "time_chol": t_chol, "time_linv": t_linv, "time_inv": t_inv,
    }
    print("linalg", n, t_chol["median"], t_linv["median"], t_inv["median"], flush=True)

# SVM: LA-MCTS's classifier, SVC(kernel='rbf', gamma='auto', C=1) on Ackley-20 samples.
X, f, Q = rd("svm_x.bin", (-1, D)), rd("svm_f.bin"), rd("svm_q.bin", (-1, D))
for nm in ["svm_x.bin", "svm_f.bin", "svm_q.bin"]:
    ref["inputs"][nm] = sha(nm)
med = np.sort(f)[len(f) // 2]
y = (f < med).astype(int)
svc, t_fit = timed(3, lambda: SVC(kernel="rbf", gamma="auto", C=1.0).fit(X, y))
dec, t_dec = timed(3, lambda: svc.decision_function(Q))
ref["svm"] = {
    "decision": dec.tolist(), "n_support": int(svc.n_support_.sum()),
    "time_fit": t_fit, "time_decision": t_dec,
}
print("svm", t_fit["median"], t_dec["median"], flush=True)

# k-means: LA-MCTS clusters (x, f(x)) into 2 with scikit-learn's KMeans.
Z = np.concatenate([X, f[:, None]], axis=1)
km, t_km = timed(3, lambda: KMeans(n_clusters=2, n_init=10, random_state=0).fit(Z))
ref["kmeans"] = {"inertia": float(km.inertia_), "labels": km.labels_.tolist(), "time_fit": t_km,
                 "n_init": 10}
print("kmeans", km.inertia_, t_km["median"], flush=True)

# GP: ConstantKernel * Matern-5/2 (ARD) + WhiteKernel with normalize_y, scikit-learn's L-BFGS-B,
# from our default start (length scales 0.5, outputscale 1, noise 0.005) inside our default box.
Qg = rd("gp_q.bin", (-1, D))
ref["gp"] = {}
def kernel():
    return (ConstantKernel(1.0, (0.05, 20.0)) * Matern(np.full(D, 0.5), (0.005, 2.0), nu=2.5)
            + WhiteKernel(0.005, (1e-6, 0.1)))
for n in [300] if QUICK else [300, 1000]:
    Xg, yg = rd(f"gp_x{n}.bin", (-1, D)), rd(f"gp_y{n}.bin")
    fixed = GaussianProcessRegressor(kernel(), normalize_y=True, optimizer=None).fit(Xg, yg)
    gp, t_gp = timed(1, lambda: GaussianProcessRegressor(kernel(), normalize_y=True).fit(Xg, yg))
    mu, sd = gp.predict(Qg, return_std=True)
    k = gp.kernel_
    ref["gp"][str(n)] = {
        "lml_at_start": float(fixed.log_marginal_likelihood_value_),
        "lml": float(gp.log_marginal_likelihood_value_),
        "outputscale": float(k.k1.k1.constant_value),
        "lengthscales": np.atleast_1d(k.k1.k2.length_scale).tolist(),
        "noise": float(k.k2.noise_level),
        "mean": mu.tolist(), "std": sd.tolist(), "time_fit": t_gp,
        "n_iter": int(gp.optimizer_n_iter_) if hasattr(gp, "optimizer_n_iter_") else None,
    }
    print("gp", n, gp.log_marginal_likelihood_value_, t_gp["median"], flush=True)

# L-BFGS: scipy's L-BFGS-B (defaults) on Rosenbrock-10 and on a GP likelihood.
def rosen(x):
    return sopt.rosen(x), sopt.rosen_der(x)
x0 = np.tile([-1.2, 1.0], 5)
r, t_r = timed(3, lambda: sopt.minimize(rosen, x0, jac=True, method="L-BFGS-B"))
ref["lbfgs"] = {"rosenbrock": {"f": float(r.fun), "x": r.x.tolist(), "nit": int(r.nit),
                               "nfev": int(r.nfev), "time": t_r}}
# Squared-exponential ARD GP on the first 100 points of gp_x300, first 5 inputs, targets
# standardised (ddof 0); theta = (log l_1..5, log outputscale, log noise), start 0.
Xl = rd("gp_x300.bin", (-1, D))[:100, :5]
yl = rd("gp_y300.bin")[:100]
yl = (yl - yl.mean()) / yl.std()
def gp_nll(theta):
    ls, sf2, sn2 = np.exp(theta[:5]), np.exp(theta[5]), np.exp(theta[6])
    diff = (Xl[:, None, :] - Xl[None, :, :]) ** 2 / ls ** 2
    Kf = sf2 * np.exp(-0.5 * diff.sum(-1))
    K = Kf + sn2 * np.eye(len(yl))
    L = np.linalg.cholesky(K)
    a = sla.cho_solve((L, True), yl)
    nll = 0.5 * yl @ a + np.log(np.diag(L)).sum() + 0.5 * len(yl) * np.log(2 * np.pi)
    W = sla.cho_solve((L, True), np.eye(len(yl))) - np.outer(a, a)
    g = [0.5 * np.sum(W * Kf * diff[:, :, k]) for k in range(5)]
    g += [0.5 * np.sum(W * Kf), 0.5 * sn2 * np.trace(W)]
    return nll, np.array(g)
r, t_g = timed(3, lambda: sopt.minimize(gp_nll, np.zeros(7), jac=True, method="L-BFGS-B"))
ref["lbfgs"]["gp_nll"] = {"f": float(r.fun), "x": r.x.tolist(), "nit": int(r.nit),
                          "nfev": int(r.nfev), "time": t_g}
print("lbfgs", ref["lbfgs"]["rosenbrock"]["nit"], r.nit, r.fun, flush=True)

# CMA-ES: pycma from x0 = 3 (10-d), sigma0 = 2, default population, to f <= 1e-8.
ref["cmaes"] = {}
for name, fn in [("sphere", lambda x: float(np.sum(np.asarray(x) ** 2))), ("rosenbrock", sopt.rosen)]:
    runs = []
    for seed in range(1, 6):
        es = cma.CMAEvolutionStrategy([3.0] * 10, 2.0, {"ftarget": 1e-8, "seed": seed,
                                                        "verbose": -9, "maxfevals": 100000})
        t = time.perf_counter()
        while not es.stop():
            xs = es.ask()
            es.tell(xs, [fn(x) for x in xs])
        el = time.perf_counter() - t
        runs.append({"evals": int(es.result.evaluations), "best": float(es.result.fbest),
                     "generations": int(es.countiter), "time": el})
    ref["cmaes"][name] = runs
    print("cmaes", name, [r["evals"] for r in runs], flush=True)

try:
    from threadpoolctl import threadpool_info
    blas = [{k: i.get(k) for k in ("internal_api", "version", "num_threads")} for i in threadpool_info()]
except Exception:  # noqa: BLE001
    blas = None
ref["provenance"] = {
    "python": platform.python_version(), "numpy": np.__version__, "scipy": scipy.__version__,
    "scikit-learn": sklearn.__version__, "cma": cma.__version__.split()[0], "blas": blas,
    "machine": platform.machine(), "date": time.strftime("%Y-%m-%d", time.gmtime()),
    "quick": QUICK,
}
os.makedirs(os.path.dirname(OUT), exist_ok=True)
with open(OUT, "w") as fh:
    json.dump(ref, fh, indent=1)
print("wrote", os.path.abspath(OUT))
