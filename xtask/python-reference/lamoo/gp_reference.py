"""Fitted hyperparameters of BoTorch's SingleTaskGP as the LaMOO authors fit it, on fixed data.

    python gp_reference.py INITIAL_SETS_DIR OUT.json

The authors' MCTS.py (`init_surrogate_model`) builds
`SingleTaskGP(train_x, train_obj, outcome_transform=Standardize(m=train_obj.shape[-1]))` on the
raw x (no input scaling) and calls `fit_gpytorch_model(ExactMarginalLogLikelihood(...))`. With
BoTorch 0.3.3 that is, for each output separately (the m-output batched model is converted to a
ModelList and each output fitted alone, `sequential=True`): Matern-5/2 ARD inside a ScaleKernel,
priors lengthscale Gamma(3, 6), outputscale Gamma(2, 0.15), noise Gamma(1.1, 0.05) with noise >=
1e-4 (no upper bound), a learnt constant mean, y standardised per output (unbiased std),
scipy L-BFGS-B on the MAP objective from lengthscale = outputscale = softplus(0) = 0.6931,
noise = 2.0 (the noise prior's mode), mean 0; a retry from a prior sample only if scipy reports a
failure (torch seeded with 0 before each fit).

Cases: the first shipped BraninCurrin and NB-201 initial sets (10 points), 30 BraninCurrin points
on a fixed rank-1 lattice written out here, and the first VehicleSafety set (raw x in [1,3]^5, as
the authors feed it).
"""

import json
import math
import sys
import warnings

import botorch
import gpytorch
import torch
from botorch import fit_gpytorch_model
from botorch.models.converter import batched_to_model_list
from botorch.optim.fit import fit_gpytorch_scipy
from botorch.models.gp_regression import SingleTaskGP
from botorch.models.transforms.outcome import Standardize
from botorch.test_functions.multi_objective import BraninCurrin
from gpytorch.mlls.exact_marginal_log_likelihood import ExactMarginalLogLikelihood

torch.set_default_dtype(torch.float64)

# count fit_gpytorch_model's retries (it resamples from the priors only after a failed L-BFGS-B run)
RETRIES = [0]
_sample_all_priors = botorch.fit.sample_all_priors


def _counting_sample_all_priors(model):
    RETRIES[0] += 1
    return _sample_all_priors(model)


botorch.fit.sample_all_priors = _counting_sample_all_priors


def lattice30():
    """30 points of a 2-d rank-1 lattice shifted off the boundary: ((i + 0.5) / 30, frac((i + 0.5) * 11 / 30))."""
    return torch.tensor([[(i + 0.5) / 30, ((i + 0.5) * 11 / 30) % 1.0] for i in range(30)])


def per_output(model, x):
    """Hyperparameters and MLL values of each output of a fitted (batched) SingleTaskGP."""
    outs = []
    if model.num_outputs > 1:
        tf, model.outcome_transform = model.outcome_transform, None  # as fit_gpytorch_model does
        models = batched_to_model_list(model).models
        model.outcome_transform = tf
    else:
        models = [model]
    for m in models:
        m.train()
        mll = ExactMarginalLogLikelihood(m.likelihood, m)
        y = m.train_targets  # standardised
        with torch.no_grad():
            out = m(*m.train_inputs)
            total = mll(out, y).item()  # (log N(y | mean, K + noise I) + sum of log priors) / n
            loglik = m.likelihood(out).log_prob(y).item() / y.shape[-1]
        outs.append(
            {
                "lengthscale": m.covar_module.base_kernel.lengthscale.reshape(-1).tolist(),
                "outputscale": m.covar_module.outputscale.item(),
                "noise": m.likelihood.noise.reshape(-1)[0].item(),
                "mean": m.mean_module.constant.reshape(-1)[0].item(),
                "mll": total,
                "log_lik": loglik,
                "y_standardised": y.reshape(-1).tolist(),
            }
        )
    return outs


def fit_case(name, x, y, note):
    torch.manual_seed(0)
    RETRIES[0] = 0
    m = y.shape[-1]
    model = SingleTaskGP(x, y, outcome_transform=Standardize(m=m))
    mll = ExactMarginalLogLikelihood(model.likelihood, model)
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        fit_gpytorch_model(mll)
    retries = RETRIES[0]
    tf = model.outcome_transform
    outputs = per_output(model, x)
    for b, o in enumerate(outputs):
        o["standardize_mean"] = tf.means.reshape(-1)[b].item()
        o["standardize_std"] = tf.stdvs.reshape(-1)[b].item()
    # the same fit on each output alone, as a check that the batched call fits outputs separately
    for b in range(m):
        torch.manual_seed(0)
        single = SingleTaskGP(x, y[:, b : b + 1], outcome_transform=Standardize(m=1))
        fit_gpytorch_model(ExactMarginalLogLikelihood(single.likelihood, single))
        ls = single.covar_module.base_kernel.lengthscale.reshape(-1)
        diff = (ls - torch.tensor(outputs[b]["lengthscale"])).abs().max().item()
        outputs[b]["single_output_fit_lengthscale_diff"] = diff
    # other local optima: 10 L-BFGS-B runs per output from prior samples (not what the authors run)
    for b in range(m):
        best = None
        for seed in range(1, 11):
            torch.manual_seed(seed)
            single = SingleTaskGP(x, y[:, b : b + 1], outcome_transform=Standardize(m=1))
            mll_b = ExactMarginalLogLikelihood(single.likelihood, single)
            _sample_all_priors(single)
            mll_b.train()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit_gpytorch_scipy(mll_b)
            o = per_output(single, x)[0]
            if best is None or o["mll"] > best["mll"]:
                best = o
        outputs[b]["multistart_best"] = {k: best[k] for k in ("lengthscale", "outputscale", "noise", "mean", "mll")}
    warns = sorted({str(w.category.__name__) + ": " + str(w.message)[:120] for w in ws})
    print(name, [(["%.4g" % v for v in o["lengthscale"]], "%.4g" % o["outputscale"], "%.4g" % o["noise"],
                  "%.5g" % o["mll"], "%.5g" % o["multistart_best"]["mll"]) for o in outputs], warns, "retries", retries, file=sys.stderr)
    return {
        "name": name,
        "note": note,
        "x": x.tolist(),
        "y": y.tolist(),
        "outputs": outputs,
        "warnings": warns,
        "retries": retries,
    }


def main():
    sets_dir, out = sys.argv[1], sys.argv[2]
    load = lambda p: json.load(open("%s/%s.json" % (sets_dir, p)))
    bc, nb, vs = load("branincurrin"), load("nb201"), load("vehiclesafety")
    f = BraninCurrin(negate=True)
    x30 = lattice30()
    cases = [
        fit_case("branincurrin-set0", torch.tensor(bc["sets"][0]["x"]), torch.tensor(bc["sets"][0]["y"]),
                 "data/lamoo/initial-sets/branincurrin.json set 0 (x in the unit cube = raw)"),
        fit_case("branincurrin-lattice30", x30, f(x30),
                 "x_i = ((i + 0.5) / 30, frac((i + 0.5) * 11 / 30)), i = 0..29; y = BraninCurrin(negate=True)"),
        fit_case("nb201-set0", torch.tensor(nb["sets"][0]["x"]), torch.tensor(nb["sets"][0]["y"]),
                 "data/lamoo/initial-sets/nb201.json set 0 (x in [0, 0.99999]^6 as the authors feed it; "
                 "y widened from float32, the authors' train_obj is float32)"),
        fit_case("vehiclesafety-set0", torch.tensor(vs["sets"][0]["x"]), torch.tensor(vs["sets"][0]["y"]),
                 "data/lamoo/initial-sets/vehiclesafety.json set 0, raw x in [1,3]^5 (the authors do not scale x)"),
    ]
    doc = {
        "versions": {
            "python": sys.version.split()[0],
            "torch": torch.__version__,
            "gpytorch": gpytorch.__version__,
            "botorch": botorch.__version__,
        },
        "model": "SingleTaskGP(x, y, outcome_transform=Standardize(m)); fit_gpytorch_model(ExactMarginalLogLikelihood) "
        "with BoTorch 0.3.3 defaults: each output fitted alone (sequential=True), scipy L-BFGS-B on the negated mll "
        "over (raw lengthscales, raw outputscale: softplus transforms; noise: bounded below by 1e-4, no transform; "
        "mean constant) from lengthscale = outputscale = 0.6931 (softplus(0)), noise = 2.0, mean = 0; float64",
        "fields": {
            "x": "as given to the GP (the authors give raw x; for BraninCurrin and NB-201 that is the unit cube)",
            "y": "raw objective values (maximised), before Standardize",
            "outputs": "one entry per objective (column of y)",
            "lengthscale, outputscale, noise, mean": "fitted values (noise is the likelihood's noise variance, "
            "on the standardised scale; mean is the ConstantMean's constant)",
            "mll": "gpytorch ExactMarginalLogLikelihood of the single-output model at the fit: (log N(y_std | mean, "
            "outputscale K + noise I) + log Gamma priors of lengthscales, outputscale and noise at their values) / n; "
            "the priors are densities of the parameters themselves (no change-of-variables term)",
            "log_lik": "the same without the priors, divided by n",
            "standardize_mean, standardize_std": "Standardize's mean and unbiased std of y",
            "single_output_fit_lengthscale_diff": "max |lengthscale| difference to fitting that output alone",
            "multistart_best": "the best of 10 further L-BFGS-B runs of that output alone from prior samples "
            "(torch seeds 1..10); not part of the authors' fit: shows whether the fit above is the global MAP",
            "retries": "restarts from a prior sample after a failed L-BFGS-B run, over all outputs of the case",
        },
        "cases": cases,
    }
    with open(out, "w") as fh:
        json.dump(doc, fh, indent=1)
        fh.write("\n")


if __name__ == "__main__":
    main()
