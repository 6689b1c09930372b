"""Sampling and likelihood of any generator, as plain functions of the model.

A generator declares how it is sampled (``Generator.sampling``):
  * "ode": a velocity field ``model.velocity(x, t, condition, dims_mask)``, integrated from
    Gaussian noise at t = 1 to the data at t = 0 by an ODE solver (solvers/ode.py); its
    log-density by the instantaneous change of variables (solvers/likelihood.py);
  * "diffusion": a noise predictor ``model.predict_noise(x, timestep, condition,
    dims_mask)`` on the chain ``model.alpha_bar``, walked by ancestral sampling or DDIM
    (solvers/diffusion.py);
  * "edm": a preconditioned denoiser ``model.denoise(x, sigma, condition, dims_mask,
    context)`` (EDM, Karras et al.), walked down the sigma schedule of ``karras_sigmas`` by
    the samplers of solvers/edm.py (Euler = DDIM, Heun, midpoint, RK4, the stochastic
    sampler, Euler-Maruyama, DPM-Solver++(2M));
  * "consistency": a consistency function ``model.denoise(x, sigma, condition, dims_mask,
    context)`` (models/consistency.py), sampled in k steps on the first k noise levels of
    ``model.consistency.sampling_sigmas`` (solvers/consistency.py, Song et al. Algorithm 1);
  * "direct": the model samples itself in one pass (an INN's inverse, JetGPT's
    autoregression): ``model.sample_direct`` and ``model.log_prob``.
The model never imports a solver; this module is where the two meet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from lhcgen import noise
from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Generator
from lhcgen.solvers.consistency import multistep_consistency
from lhcgen.solvers.diffusion import ancestral, ddim, respaced
from lhcgen.solvers.edm import edm_sample, karras_sigmas
from lhcgen.solvers.likelihood import ode_log_prob
from lhcgen.solvers.ode import integrate

EDM_OPTIONS = ("sigma_min", "rho", "s_churn", "s_tmin", "s_tmax", "guidance",
               "guidance_sigma_low", "guidance_sigma_high")
"""The EDM sampling options a user sets (``lhcgen sample --sigma-min --rho --s-churn
--s-tmin --s-tmax --guidance --guidance-sigmas``): the schedule's smallest noise level and
exponent, the stochastic sampler's churn and the noise levels it churns at, and the
classifier-free guidance w of a model trained with ``condition_dropout`` and the interval of
noise levels (low, high] it is applied in (Kynkäänniemi et al., arXiv:2404.07724: guidance
at the highest noise levels narrows the distribution, at the lowest it does little)."""
CONSISTENCY_OPTIONS = ("sigma_1", "sigma_2")
"""The consistency sampling options a user sets (``lhcgen sample --renoise-sigmas S1[,S2]``):
the noise levels the second and third steps re-noise to, in place of
``model.consistency.sampling_sigmas[1]`` and ``[2]`` (the first step starts from
``sampling_sigmas[0]``, sigma_max)."""


@torch.no_grad()
def sample(model: Generator, multiplicity: torch.Tensor, dims_mask: torch.Tensor,
           generator: torch.Generator | None = None, solver: str | None = None,
           steps: int | None = None, context: torch.Tensor | None = None,
           **options) -> tuple[torch.Tensor, dict]:
    """Events (N, D), or particle clouds (N, P, F), in network coordinates for the discrete
    conditions ``multiplicity`` (N,) (jet multiplicity or jet type) and the continuous
    ``context`` (N, C) (a jet's kinematics, or None), of the shape of ``dims_mask`` and zero
    where it is not; all noise from ``generator`` (drawn on the CPU).

    ``solver`` and ``steps`` default to the model's (``model.resolve_sampler``). Options:
    ODE: ``rtol``, ``atol`` (dopri5); DDPM: ``eta`` (DDIM); EDM: ``sigma_min`` and ``rho``
    of the noise schedule (default: the model's; sampling parameters, Karras et al. sec. 3,
    that training does not fix), for the stochastic sampler, ``s_churn``, ``s_tmin``,
    ``s_tmax``, ``s_noise``, and classifier-free guidance ``guidance``,
    ``guidance_sigma_low``, ``guidance_sigma_high`` (``guidance_of``); JetGPT: ``kv_cache``.
    Returns (x, info) with info["nfe"] the network evaluations, counted (a guided evaluation
    is two passes of the network and counts two).
    """
    solver, steps = model.resolve_sampler(solver, steps)
    if model.sampling == "ode":
        return _sample_ode(model, multiplicity, dims_mask, generator, solver, steps, options,
                           context)
    if model.sampling == "edm":
        return _sample_edm(model, multiplicity, dims_mask, generator, solver, steps, options,
                           context)
    if model.sampling == "consistency":
        return _sample_consistency(model, multiplicity, dims_mask, generator, solver, steps,
                                   options, context)
    if context is not None:
        raise LhcgenError(f"{type(model).__name__} takes no continuous conditions")
    if model.sampling == "diffusion":
        return _sample_diffusion(model, multiplicity, dims_mask, generator, solver, steps,
                                 options)
    return model.sample_direct(multiplicity, dims_mask, generator, **options)


def log_prob(model: Generator, batch: Batch, generator: torch.Generator | None = None,
             **options) -> torch.Tensor:
    """log p(x | multiplicity) per event over the coordinates that exist, in network
    coordinates, (N,) float64. ODE options: ``solver`` (default rk4), ``steps`` (16),
    ``trace`` ("exact" or "hutchinson")."""
    if not model.has_density:
        raise LhcgenError(f"{type(model).__name__} has no tractable density")
    if model.sampling == "ode":
        return _log_prob_ode(model, batch, generator, **options)
    return model.log_prob(batch, generator, **options)


def _sample_ode(model, multiplicity, dims_mask, generator, solver, steps, options,
                context=None):
    condition = model.condition_index(multiplicity)
    device = next(model.parameters()).device
    dims_mask = dims_mask.to(device)
    condition = condition.to(device)
    context = None if context is None else context.to(device)
    n = len(multiplicity)
    x1 = noise.randn(tuple(dims_mask.shape), generator).to(device) * dims_mask

    def field(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return model.velocity(x, t.to(x.dtype).expand(n), condition, dims_mask, context)

    x0, nfe = integrate(solver, field, x1, steps, **options)
    return x0, {"solver": solver, "steps": steps, "nfe": nfe}


def _log_prob_ode(model, batch: Batch, generator, solver: str = "rk4", steps: int = 16,
                  trace: str = "exact") -> torch.Tensor:
    device = batch.x.device
    condition = model.condition_index(batch.multiplicity).to(device)
    dims_mask = batch.dims_mask.to(device)
    n = len(batch.x)

    def field(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return model.velocity(x, t.to(x.dtype).expand(n), condition, dims_mask)

    logp, _ = ode_log_prob(field, batch.x, dims_mask, solver, steps, trace, generator)
    return logp.double()


def _sample_diffusion(model, multiplicity, dims_mask, generator, solver, steps, options):
    eta = float(options.pop("eta", 0.0))
    if options:
        raise LhcgenError(f"unknown ddpm sampling option(s): {', '.join(sorted(options))}")
    if solver == "ancestral" and eta != 0.0:
        raise LhcgenError("eta is an option of the ddim sampler, not of ancestral sampling")
    condition = model.condition_index(multiplicity)
    parameter = next(model.parameters())
    device, dtype = parameter.device, parameter.dtype
    condition, dims_mask = condition.to(device), dims_mask.to(device)
    mask = dims_mask.to(dtype)
    n = len(multiplicity)
    x_T = noise.randn((n, model.dim), generator, dtype).to(device) * mask

    def eps(x: torch.Tensor, t: int) -> torch.Tensor:
        timestep = torch.full((n,), t, dtype=torch.long, device=device)
        return model.predict_noise(x, timestep, condition, dims_mask)

    timesteps, alpha_bar, _ = respaced(model.alpha_bar.cpu(), steps)
    if solver == "ancestral":
        x0, nfe = ancestral(eps, x_T, alpha_bar, timesteps, generator, mask=mask)
    else:
        x0, nfe = ddim(eps, x_T, alpha_bar, timesteps, eta, generator, mask=mask)
    return x0 * mask, {"solver": solver, "steps": steps, "nfe": nfe}


def _noise_level_model(model, multiplicity, dims_mask, generator, sigma_start, context,
                       guidance: Guidance | None = None):
    """(denoise(x, sigma) with the model's conditions, the initial state sigma_start z on
    the existing coordinates, the mask, the network passes so far (a one-element list)) of
    an EDM or consistency model; with ``guidance``, the guided denoiser."""
    condition = model.condition_index(multiplicity)
    parameter = next(model.parameters())
    device, dtype = parameter.device, parameter.dtype
    condition, dims_mask = condition.to(device), dims_mask.to(device)
    context = None if context is None else context.to(device)
    mask = dims_mask.to(dtype)
    n = len(multiplicity)
    x_T = noise.randn(tuple(dims_mask.shape), generator, dtype).to(device) * mask * sigma_start

    passes = [0]

    def denoise(x: torch.Tensor, sigma: float) -> torch.Tensor:
        level = torch.full((n,), sigma, dtype=dtype, device=device)
        if guidance is None or not guidance.applies(sigma):
            passes[0] += 1
            return model.denoise(x, level, condition, dims_mask, context)
        # two passes one after the other: on 2 CPU threads a batch of 2n jets took 1.5x the
        # time of two batches of n (CAE, n = 2048)
        passes[0] += 2
        given = model.denoise(x, level, condition, dims_mask, context)
        free = model.denoise(x, level, condition, dims_mask, context,
                             torch.zeros(n, device=device))
        return free + guidance.weight * (given - free)

    return denoise, x_T, mask, passes


@dataclass(frozen=True)
class Guidance:
    """Classifier-free guidance: D(.|type) + weight [D(.|type, kinematics) - D(.|type)] at
    the noise levels low < sigma <= high, the conditional denoiser elsewhere."""

    weight: float
    low: float = 0.0
    high: float = math.inf

    def applies(self, sigma: float) -> bool:
        return self.low < sigma <= self.high


def guidance_of(model, options: dict, conditioned: bool) -> Guidance | None:
    """The guidance the sampling options ask for (popped from ``options``; the default weight
    is the model's ``edm.guidance``), None for the conditional denoiser alone. One line when
    the model cannot be guided (not trained with ``condition_dropout``, or ``conditioned``
    False: no continuous conditions given) or a value is impossible."""
    weight = float(options.pop("guidance", model.cfg.guidance))
    low = float(options.pop("guidance_sigma_low", 0.0))
    high = float(options.pop("guidance_sigma_high", math.inf))
    if not (math.isfinite(weight) and weight >= 0):
        raise LhcgenError(f"guidance must be a finite number >= 0 (1: none), got {weight}")
    if not 0 <= low < high:
        raise LhcgenError(f"the guidance interval needs 0 <= low < high, got ({low}, {high}]")
    if weight == 1.0:
        return None
    if not model.guidable:
        raise LhcgenError(f"guidance {weight:g} needs a model trained with "
                          "model.edm.condition_dropout > 0 (it extrapolates from the denoiser "
                          "without the kinematics); this one always saw them: use guidance 1")
    if not conditioned:
        raise LhcgenError("guidance needs continuous conditions to guide towards (jets' pT, "
                          "eta, m, N); none were given")
    return Guidance(weight, low, high)


def _sample_edm(model, multiplicity, dims_mask, generator, solver, steps, options,
                context=None):
    churn = {k: float(options.pop(k)) for k in ("s_churn", "s_tmin", "s_tmax", "s_noise")
             if k in options}
    sigma_min = float(options.pop("sigma_min", model.sigma_min))
    rho = float(options.pop("rho", model.rho))
    guidance = guidance_of(model, options, context is not None)
    if options:
        raise LhcgenError(f"unknown EDM sampling option(s): {', '.join(sorted(options))}")
    if solver == "stochastic":
        churn.setdefault("s_churn", model.cfg.s_churn)
    elif churn:
        raise LhcgenError(f"{', '.join(churn)} are options of the stochastic EDM sampler, not "
                          f"of '{solver}'")
    sigmas = karras_sigmas(steps, sigma_min, model.sigma_max, rho)
    denoise, x_T, mask, passes = _noise_level_model(model, multiplicity, dims_mask, generator,
                                                    float(sigmas[0]), context, guidance)
    x0, _ = edm_sample(solver, denoise, x_T, sigmas, generator, mask, **churn)
    return x0 * mask, {"solver": solver, "steps": steps, "nfe": passes[0]}


def consistency_sigmas(levels, steps: int, options: dict) -> list[float]:
    """The noise levels of ``steps`` consistency steps: the first ``steps`` of ``levels``
    (the model's ``sampling_sigmas``), with ``sigma_1`` and ``sigma_2`` of ``options`` in
    place of the second and third. One line for an option that is unknown or sets a step
    that does not run (whether the levels decrease is the sampler's check)."""
    unknown = sorted(set(options) - set(CONSISTENCY_OPTIONS))
    if unknown:
        raise LhcgenError(f"unknown consistency sampling option(s): {', '.join(unknown)} "
                          f"(known: {', '.join(CONSISTENCY_OPTIONS)})")
    sigmas = [float(s) for s in levels[:steps]]
    for index, key in enumerate(CONSISTENCY_OPTIONS, start=1):
        if key not in options:
            continue
        if index >= steps:
            raise LhcgenError(f"{key} is the noise level of step {index + 1}; {steps} "
                              f"step(s) re-noise {'to none' if steps == 1 else 'once'}")
        sigmas[index] = float(options[key])
    return sigmas


def _sample_consistency(model, multiplicity, dims_mask, generator, solver, steps, options,
                        context=None):
    sigmas = consistency_sigmas(model.consistency.sampling_sigmas, steps, options)
    f, x_T, mask, _ = _noise_level_model(model, multiplicity, dims_mask, generator, sigmas[0],
                                         context)
    try:
        x0, nfe = multistep_consistency(f, x_T, sigmas, generator, mask, model.sigma_min)
    except ValueError as e:  # a user's noise levels: not decreasing, or below sigma_min
        raise LhcgenError(f"consistency noise levels {sigmas}: {e}") from None
    return x0 * mask, {"solver": solver, "steps": steps, "nfe": nfe}
