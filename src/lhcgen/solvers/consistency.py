"""Multistep sampling of a consistency model (Song et al., arXiv:2303.01469, Algorithm 1).

A consistency function f(x, sigma) maps a point of a probability-flow ODE trajectory at
noise level sigma to the trajectory's end at sigma_min (models/consistency.py). One step
is x0 = f(sigma_0 z, sigma_0); further steps alternate re-noising and mapping back,

    x = x0 + sqrt(sigma_i^2 - sigma_min^2) z_i,   x0 = f(x, sigma_i),   i = 1..k-1,

on decreasing noise levels sigma_0 > sigma_1 > ... > sigma_{k-1} > sigma_min, which trades
network evaluations (k) for quality when f is learned imperfectly; with the exact f every
k gives the data distribution. Conventions as in solvers/edm.py: sigma a Python float,
noise through ``lhcgen.noise.randn`` on the CPU (a ``torch.Generator`` or per-event
``EventNoise``), times ``mask`` where given; the initial x = sigma_0 z is the caller's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from lhcgen import noise
from lhcgen.solvers.edm import CountingDenoiser

ConsistencyFunction = Callable[[torch.Tensor, float], torch.Tensor]
"""``f(x, sigma) -> x0``: x (N, ...) and sigma a Python float."""


def multistep_consistency(f: ConsistencyFunction, x: torch.Tensor,
                          sigmas: torch.Tensor | Sequence[float],
                          generator: noise.Source = None, mask: torch.Tensor | None = None,
                          sigma_min: float = 0.002) -> tuple[torch.Tensor, int]:
    """Song et al. Algorithm 1 from x at sigmas[0]: x0 = f(x, sigmas[0]), then for each
    further sigma x = x0 + sqrt(sigma^2 - sigma_min^2) z (z times ``mask``), x0 = f(x, sigma).
    Returns (x0, nfe), nfe = len(sigmas) counted."""
    if isinstance(sigmas, torch.Tensor):
        grid = sigmas.detach().to("cpu", torch.float64).reshape(-1).tolist()
    else:
        grid = [float(s) for s in sigmas]
    if not grid:
        raise ValueError("sigmas needs at least one noise level")
    if any(not math.isfinite(s) or s <= sigma_min for s in grid):
        raise ValueError(f"every noise level must be finite and above sigma_min = {sigma_min}")
    if any(b >= a for a, b in zip(grid[:-1], grid[1:], strict=True)):
        raise ValueError("sigmas must be strictly decreasing")
    counted = CountingDenoiser(f)
    x0 = counted(x, grid[0])
    for sigma in grid[1:]:
        z = noise.randn(tuple(x0.shape), generator, x0.dtype).to(x0.device)
        if mask is not None:
            z = z * mask
        x0 = counted(x0 + math.sqrt(sigma**2 - sigma_min**2) * z, sigma)
    return x0, counted.nfe


__all__ = ["ConsistencyFunction", "multistep_consistency"]
