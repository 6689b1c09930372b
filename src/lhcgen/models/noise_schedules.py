"""Variance schedules of denoising diffusion (Ho et al.; Nichol & Dhariwal), float64.

A schedule is a tensor ``alpha_bar`` of length T whose entry ``alpha_bar[t - 1]`` belongs to
the timestep t = 1..T (alpha_bar_0 = 1 is implicit); solvers/diffusion.py walks it.
"""

from __future__ import annotations

import math

import torch

from lhcgen.errors import LhcgenError


def linear_betas(T: int, beta_start: float = 1e-4, beta_end: float = 0.02) -> torch.Tensor:
    """The linear schedule of Ho et al.: betas (T,) float64 evenly spaced from beta_start
    (t = 1) to beta_end (t = T). ``alpha_bar_from_betas`` turns them into alpha_bar."""
    if T < 1:
        raise LhcgenError(f"the number of diffusion timesteps must be positive, got {T}")
    if not 0.0 < beta_start <= beta_end < 1.0:
        raise LhcgenError("the linear schedule needs 0 < beta_start <= beta_end < 1, got "
                          f"beta_start = {beta_start}, beta_end = {beta_end}")
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def alpha_bar_from_betas(betas: torch.Tensor) -> torch.Tensor:
    """alpha_bar_t = prod_{s <= t} (1 - beta_s), t = 1..T, float64."""
    return torch.cumprod(1.0 - betas.to(torch.float64), dim=0)


def betas_from_alpha_bar(alpha_bar: torch.Tensor) -> torch.Tensor:
    """beta_t = 1 - alpha_bar_t / alpha_bar_{t-1} with alpha_bar_0 = 1, float64."""
    alpha_bar = alpha_bar.to(torch.float64)
    previous = torch.cat([alpha_bar.new_ones(1), alpha_bar[:-1]])
    return 1.0 - alpha_bar / previous


def cosine_alpha_bar(T: int, s: float = 0.008, max_beta: float = 0.999) -> torch.Tensor:
    """The cosine schedule of Nichol & Dhariwal (eq. 17): alpha_bar (T,) float64, t = 1..T.

    alpha_bar_t = f(t) / f(0), f(t) = cos^2(pi/2 (t/T + s) / (1 + s)), with the implied
    betas clipped at ``max_beta`` (only the last one, where f(T) = 0, is in practice), so
    that alpha_bar_T > 0. The returned values are the cumulative product of the clipped
    betas; where no clipping happens they equal f(t) / f(0) to rounding.
    """
    if T < 1:
        raise LhcgenError(f"the number of diffusion timesteps must be positive, got {T}")
    t = torch.arange(T + 1, dtype=torch.float64)
    f = torch.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1.0 - f[1:] / f[:-1]).clamp(max=max_beta)
    return alpha_bar_from_betas(betas)


def make_alpha_bar(schedule: str, T: int, beta_start: float = 1e-4,
                   beta_end: float = 0.02) -> torch.Tensor:
    """alpha_bar (T,) float64 of the schedule named "linear" or "cosine"."""
    if schedule == "linear":
        return alpha_bar_from_betas(linear_betas(T, beta_start, beta_end))
    if schedule == "cosine":
        return cosine_alpha_bar(T)
    raise LhcgenError(f"unknown diffusion schedule '{schedule}' (available: linear, cosine)")
