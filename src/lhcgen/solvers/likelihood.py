"""Exact log-densities of ODE flows by the instantaneous change of variables.

For dx/dt = v(x, t) carrying the data at t = 0 to a standard normal at t = 1,
    log p_0(x_0) = log N(x_1; 0, 1) + int_0^1 div v(x_t, t) dt
(Chen et al., arXiv:1806.07366). The divergence is computed exactly, one vector-Jacobian
product per coordinate, or estimated with Hutchinson's trace estimator (one product,
Grathwohl et al., arXiv:1810.01367), with Rademacher probes drawn once per trajectory.
Only existing coordinates (``dims_mask``) count; the velocity is zero on the others.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from lhcgen.errors import LhcgenError
from lhcgen.solvers.ode import integrate

TRACES = ("exact", "hutchinson")

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def divergence_exact(velocity: Velocity, t: torch.Tensor, x: torch.Tensor,
                     dims_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(v, div v) with the trace of the Jacobian summed over the existing coordinates."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = velocity(t, x)
        div = torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)
        for d in range(x.shape[1]):
            if not dims_mask[:, d].any():
                continue
            (grad,) = torch.autograd.grad(v[:, d].sum(), x, retain_graph=True)
            div = div + grad[:, d] * dims_mask[:, d]
    return v.detach(), div.detach()


def divergence_hutchinson(velocity: Velocity, t: torch.Tensor, x: torch.Tensor,
                          probe: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(v, e^T (dv/dx) e): an unbiased estimate of div v for a probe with E[e e^T] = 1."""
    with torch.enable_grad():
        x = x.detach().requires_grad_(True)
        v = velocity(t, x)
        (vjp,) = torch.autograd.grad((v * probe).sum(), x)
    return v.detach(), (vjp * probe).sum(-1).detach()


def standard_normal_log_prob(x: torch.Tensor, dims_mask: torch.Tensor) -> torch.Tensor:
    """log N(x; 0, 1) over the existing coordinates."""
    m = dims_mask.to(x.dtype)
    return (-0.5 * x**2 * m).sum(-1) - 0.5 * math.log(2 * math.pi) * m.sum(-1)


def ode_log_prob(velocity: Velocity, x: torch.Tensor, dims_mask: torch.Tensor,
                 solver: str = "rk4", steps: int = 16, trace: str = "exact",
                 generator: torch.Generator | None = None) -> tuple[torch.Tensor, int]:
    """log p(x) (N,) of the flow dx/dt = velocity(t, x), integrating from t = 0 to t = 1.

    Returns (log p, number of velocity evaluations).
    """
    if trace not in TRACES:
        raise LhcgenError(f"unknown trace estimator '{trace}' (available: {', '.join(TRACES)})")
    mask = dims_mask.to(x.dtype)
    probe = None
    if trace == "hutchinson":
        signs = torch.randint(0, 2, x.shape, generator=generator).to(x.device, x.dtype)
        probe = (2 * signs - 1) * mask
    dim = x.shape[1]

    def augmented(t: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        y = state[:, :dim]
        if probe is None:
            v, div = divergence_exact(velocity, t, y, dims_mask)
        else:
            v, div = divergence_hutchinson(velocity, t, y, probe)
        return torch.cat([v, div[:, None]], dim=-1)

    state = torch.cat([x * mask, torch.zeros_like(x[:, :1])], dim=-1)
    end, nfe = integrate(solver, augmented, state, steps, t_start=0.0, t_end=1.0)
    z, integral = end[:, :dim], end[:, dim]
    return standard_normal_log_prob(z, dims_mask) + integral, nfe
