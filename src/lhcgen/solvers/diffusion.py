"""Samplers of denoising diffusion, as plain functions (the schedules: models/noise_schedules.py).

The forward chain (Ho et al., arXiv:2006.11239) noises the data x_0 in T steps,

    q(x_t | x_0) = N(sqrt(alpha_bar_t) x_0, (1 - alpha_bar_t) 1),
    alpha_bar_t = prod_{s=1..t} (1 - beta_s),   alpha_bar_0 = 1.

Index convention: a schedule is a float64 tensor ``alpha_bar`` of length T whose entry
``alpha_bar[t - 1]`` belongs to the timestep t = 1..T (alpha_bar_0 = 1 is implicit and never
stored). Samplers take the timesteps they visit as integers in 1..T, in increasing order,
with the matching entries of the schedule: the full chain is ``timesteps = 1..T``, a
respaced chain (Nichol & Dhariwal, arXiv:2102.09672, sec. 4) a subset of it; the sampler
walks it backwards, from the largest timestep to x_0.

Samplers are functions of an epsilon-predictor ``eps(x, t)``, where x is the (N, D) state
and t the integer timestep of the *full* chain, returning the predicted noise (N, D). They
return (x_0, nfe), nfe being the number of ``eps`` evaluations, counted. All schedule
arithmetic is done in float64 (on the CPU, as Python floats); the state keeps its dtype
and device.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lhcgen import noise
from lhcgen.errors import LhcgenError
from lhcgen.models.noise_schedules import betas_from_alpha_bar

EpsPredictor = Callable[[torch.Tensor, int], torch.Tensor]


def respaced(alpha_bar: torch.Tensor,
             steps: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A chain of ``steps`` evenly spaced timesteps of the full one (Nichol & Dhariwal sec. 4).

    Timesteps are round(1 + (T - 1) k / (steps - 1)), k = 0..steps-1 (rounding halves up),
    so the chain always ends at t = T and, with two steps or more, starts at t = 1; one step
    is t = T alone; steps = T is the full chain. Returns (timesteps (steps,) long in 1..T,
    increasing; alpha_bar of those timesteps (steps,) float64; the respaced betas
    1 - alpha_bar_{t_k} / alpha_bar_{t_{k-1}} with alpha_bar_{t_0} = 1), whose cumulative
    product of (1 - beta) is the subset's alpha_bar.
    """
    T = len(alpha_bar)
    if not 1 <= steps <= T:
        raise LhcgenError(f"a respaced chain needs between 1 and T = {T} steps, got {steps}")
    if steps == 1:
        timesteps = torch.tensor([T])
    else:
        grid = 1.0 + (T - 1) * torch.arange(steps, dtype=torch.float64) / (steps - 1)
        timesteps = torch.floor(grid + 0.5).long()
    subset = alpha_bar.to(torch.float64)[timesteps - 1]
    return timesteps, subset, betas_from_alpha_bar(subset)


def _check_chain(alpha_bar_subset: torch.Tensor,
                 timesteps: torch.Tensor | list[int]) -> tuple[list[float], list[int]]:
    ab = alpha_bar_subset.detach().to("cpu", torch.float64).tolist()
    ts = [int(t) for t in timesteps]
    if len(ab) != len(ts) or not ts:
        raise ValueError("alpha_bar_subset and timesteps must be non-empty and of one length")
    if any(b <= a for a, b in zip(ts[:-1], ts[1:], strict=True)):
        raise ValueError("timesteps must be strictly increasing")
    return ab, ts


def _noise(x: torch.Tensor, generator: torch.Generator | None,
           mask: torch.Tensor | None) -> torch.Tensor:
    z = noise.randn(x.shape, generator, x.dtype).to(x.device)
    return z if mask is None else z * mask


def ancestral(eps: EpsPredictor, x_T: torch.Tensor, alpha_bar_subset: torch.Tensor,
              timesteps: torch.Tensor | list[int], generator: torch.Generator | None = None,
              mask: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """Ancestral sampling of Ho et al. (Algorithm 2) with the posterior variance beta-tilde.

    On the chain t_K > ... > t_1 (the full one or a respaced one) with beta_k =
    1 - alpha_bar_{t_k} / alpha_bar_{t_{k-1}}, alpha_bar_{t_0} = 1:

        x_{k-1} = (x_k - beta_k / sqrt(1 - alpha_bar_k) eps(x_k, t_k)) / sqrt(1 - beta_k)
                  + sqrt(beta-tilde_k) z,
        beta-tilde_k = (1 - alpha_bar_{k-1}) / (1 - alpha_bar_k) beta_k,

    with no noise on the last step (beta-tilde_1 = 0). Noise is drawn on the CPU from
    ``generator`` and multiplied by ``mask`` where one is given. Returns (x_0, nfe).
    """
    ab, ts = _check_chain(alpha_bar_subset, timesteps)
    x, nfe = x_T, 0
    for k in range(len(ts) - 1, -1, -1):
        a, a_prev = ab[k], (ab[k - 1] if k > 0 else 1.0)
        beta = 1.0 - a / a_prev
        e = eps(x, ts[k])
        nfe += 1
        x = (x - beta / math.sqrt(1.0 - a) * e) / math.sqrt(1.0 - beta)
        if k > 0:
            variance = (1.0 - a_prev) / (1.0 - a) * beta
            x = x + math.sqrt(variance) * _noise(x, generator, mask)
    return x, nfe


def ddim(eps: EpsPredictor, x_T: torch.Tensor, alpha_bar_subset: torch.Tensor,
         timesteps: torch.Tensor | list[int], eta: float = 0.0,
         generator: torch.Generator | None = None,
         mask: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """DDIM sampling (Song et al., arXiv:2010.02502, eq. 12) on the chain t_K > ... > t_1:

        x0_hat = (x_k - sqrt(1 - alpha_bar_k) eps) / sqrt(alpha_bar_k),
        x_{k-1} = sqrt(alpha_bar_{k-1}) x0_hat + sqrt(1 - alpha_bar_{k-1} - sigma_k^2) eps
                  + sigma_k z,
        sigma_k = eta sqrt((1 - alpha_bar_{k-1}) / (1 - alpha_bar_k))
                  sqrt(1 - alpha_bar_k / alpha_bar_{k-1}),

    alpha_bar_0 = 1 after the last step. eta = 0 is deterministic given x_T (no noise is
    drawn); eta = 1 is ancestral sampling with beta-tilde, step for step (the same noise is
    drawn from ``generator``). Returns (x_0, nfe).
    """
    if eta < 0:
        raise LhcgenError(f"DDIM needs eta >= 0, got {eta}")
    ab, ts = _check_chain(alpha_bar_subset, timesteps)
    x, nfe = x_T, 0
    for k in range(len(ts) - 1, -1, -1):
        a, a_prev = ab[k], (ab[k - 1] if k > 0 else 1.0)
        e = eps(x, ts[k])
        nfe += 1
        x0 = (x - math.sqrt(1.0 - a) * e) / math.sqrt(a)
        sigma = eta * math.sqrt((1.0 - a_prev) / (1.0 - a) * (1.0 - a / a_prev))
        direction = math.sqrt(max(1.0 - a_prev - sigma**2, 0.0))
        x = math.sqrt(a_prev) * x0 + direction * e
        if eta > 0 and k > 0:
            x = x + sigma * _noise(x, generator, mask)
    return x, nfe


__all__ = ["EpsPredictor", "ancestral", "ddim", "respaced"]
