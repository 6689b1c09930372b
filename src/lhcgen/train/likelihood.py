"""Test-set negative log-likelihood in physical coordinates, comparable across models.

A model's density lives in its network coordinates x; the preprocessing maps the physical
event to x with a known Jacobian. Every model of a comparison shares the preprocessing, and
the likelihood is quoted in the same physical coordinates for all of them:

    log p(event) = log P(n) + log p_net(x | n) + log|det dx / d(phys)| - log(2 pi),

where n is the jet multiplicity (P(n): the training fractions, the model's own multiplicity
law), the physical coordinates are (pT, eta, phi) of each muon and (pT, eta, phi, m) of each
jet in GeV and radians, and -log(2 pi) is the density of the leading muon's azimuth, which
the networks do not model (it is uniform). NLL values are in nats per event; they compare
models on the same test events only (the densities of different multiplicities live in
spaces of different dimension, so the per-multiplicity values are conditional on n).
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch
from lhcgen.solvers import log_prob
from lhcgen.transforms.base import Chain


def _preprocessing_logdet(surrogate, sample: EventSample):
    """Network coordinates and log|det dx / d(pT, eta, phi, m)| of each event.

    The chain starts from (E, px, py, pz); its first step (to pT, eta, phi, m) is left out
    of the Jacobian so the density is per (pT, eta, phi[, m]).
    """
    pre = surrogate.preprocessing
    encoded = pre.encode(sample)
    first, rest = pre.chain.transforms[0], Chain(pre.chain.transforms[1:])
    physical, _ = first.forward(torch.from_numpy(sample.momenta), encoded.mask)
    _, logdet = rest.forward(physical, encoded.mask)
    return encoded, logdet


def heldout_nll(surrogate, truth: EventSample, max_events: int = 10000, batch_size: int = 2000,
             seed: int = 0, progress: bool = False, **options) -> dict:
    """The NLL of the first ``max_events`` truth events under ``surrogate``'s model.

    ``options`` go to ``lhcgen.solvers.log_prob`` (CFM: ``solver``, ``steps``, ``trace``).
    Returns a JSON-ready dict: mean NLL and its standard error, overall and per multiplicity,
    the events used and the seconds taken.
    """
    model = surrogate.model
    if not model.has_density:
        raise LhcgenError(f"model '{surrogate.cfg.model.name}' has no tractable density")
    sample = truth.subset(slice(0, max_events)) if max_events else truth
    unknown = sorted(set(sample.multiplicity.tolist()) - set(model.multiplicities))
    if unknown:
        raise LhcgenError(f"the truth file has jet multiplicities {unknown} the model was not "
                          f"trained on ({model.multiplicities})")
    encoded, logdet = _preprocessing_logdet(surrogate, sample)
    fractions = dict(zip(surrogate.preprocessing.multiplicities,
                         surrogate.preprocessing.fractions, strict=True))
    log_pn = np.log([fractions[int(m)] for m in sample.multiplicity])
    gen = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    started = time.perf_counter()
    parts = []
    for start in tqdm(range(0, len(sample), batch_size), desc="test NLL", disable=not progress,
                      dynamic_ncols=True):
        sl = slice(start, start + batch_size)
        batch = Batch(encoded.x[sl].float(), encoded.dims_mask[sl],
                      encoded.multiplicity[sl].long(), encoded.weights[sl].float())
        with torch.no_grad():
            parts.append(log_prob(model, batch.to(device), generator=gen, **options).cpu())
    seconds = time.perf_counter() - started
    log_net = torch.cat(parts).numpy().astype(np.float64)
    log_phys_given_n = log_net + logdet.numpy() - math.log(2 * math.pi)
    log_phys = log_phys_given_n + log_pn
    weights = sample.weights
    bad = ~np.isfinite(log_phys)
    if bad.any():
        raise LhcgenError(f"{int(bad.sum())} test events got a non-finite log-likelihood")

    def mean_and_error(values, w):
        mean = float(np.average(values, weights=w))
        var = float(np.average((values - mean) ** 2, weights=w))
        n_eff = w.sum() ** 2 / (w**2).sum()
        return mean, math.sqrt(var / n_eff)

    nll, nll_err = mean_and_error(-log_phys, weights)
    per_mult = {}
    for m in sorted(set(sample.multiplicity.tolist())):
        sel = sample.multiplicity == m
        value, error = mean_and_error(-log_phys_given_n[sel], weights[sel])
        per_mult[f"{m}j"] = {"nll_given_n": value, "error": error, "events": int(sel.sum()),
                             "dimension": int(encoded.dims_mask[sel][0].sum()) + 1}
    return {"nll": nll, "error": nll_err, "events": len(sample), "seconds": round(seconds, 2),
            "per_multiplicity": per_mult, "options": {k: v for k, v in options.items()},
            "units": "nats per event; density in (pT, eta, phi) per muon and (pT, eta, phi, m) "
                     "per jet, GeV and radians, times P(n jets)"}


@dataclasses.dataclass(frozen=True)
class NLLSettings:
    """How `lhcgen evaluate` scores the truth under the run's model."""

    run_dir: str | None = None
    """Run whose model is scored (default: the run recorded in the generated file)."""
    events: int = 10000
    """Truth events scored (the first N)."""
    trace: str = "exact"
    """ODE models: the divergence along the ODE exactly or by Hutchinson's estimator."""
    steps: int = 16
    """ODE models: RK4 steps of the likelihood ODE."""
    device: str = "cpu"
    required: bool = False
    """True: a model without a density or a missing run is an error, not a note."""


def run_nll(settings: NLLSettings, recorded_run: str | None, truth: EventSample,
            progress: bool) -> dict:
    """The test NLL of the run, or a note saying why there is none."""
    from lhcgen.train.run import resolve_device
    from lhcgen.train.surrogate import Surrogate

    run_dir = settings.run_dir or recorded_run
    if not run_dir or not Path(run_dir).is_dir():
        message = (f"run directory {run_dir!r} not found; pass --run RUN_DIR" if run_dir else
                   "the generated file names no run directory; pass --run RUN_DIR")
        if settings.required:
            raise LhcgenError(f"test NLL: {message}")
        return {"note": message}
    surrogate = Surrogate.load(run_dir, resolve_device(settings.device))
    if not surrogate.model.has_density:
        message = f"model '{surrogate.cfg.model.name}' has no tractable density"
        if settings.required:
            raise LhcgenError(f"test NLL: {message}")
        return {"note": message}
    options = {}
    if surrogate.model.sampling == "ode":
        options = {"solver": "rk4", "steps": settings.steps, "trace": settings.trace}
    result = heldout_nll(surrogate, truth, settings.events, progress=progress, **options)
    result["run_dir"] = str(run_dir)
    result["model"] = surrogate.cfg.model.name
    return result
