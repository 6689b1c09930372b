"""ODE samplers as plain functions; ``integrate`` picks one by name and counts NFE."""

from __future__ import annotations

import torch

from lhcgen.errors import LhcgenError
from lhcgen.solvers.ode import (
    FIXED_STEP,
    SOLVERS,
    STAGES,
    CountingVelocity,
    Velocity,
    dopri5,
    time_grid,
)


def check_solver(name: str, steps: int) -> None:
    if name not in SOLVERS:
        raise LhcgenError(f"unknown solver '{name}' (available: {', '.join(SOLVERS)})")
    if steps <= 0:
        raise LhcgenError(f"the number of solver steps must be positive, got {steps}")


def integrate(name: str, velocity: Velocity, x: torch.Tensor, steps: int,
              t_start: float = 1.0, t_end: float = 0.0,
              rtol: float = 1e-5, atol: float = 1e-5) -> tuple[torch.Tensor, int]:
    """Integrate dx/dt = velocity(t, x) from t_start to t_end with solver ``name``.

    ``steps`` is the number of fixed steps (ignored by dopri5, which adapts).
    Returns (x at t_end, number of velocity evaluations).
    """
    check_solver(name, steps)
    counted = CountingVelocity(velocity)
    if name == "dopri5":
        x = dopri5(counted, x, t_start, t_end, rtol=rtol, atol=atol)
    else:
        x = FIXED_STEP[name](counted, x, time_grid(steps, t_start, t_end).to(x.device))
    return x, counted.nfe


def nominal_nfe(name: str, steps: int) -> int | None:
    """Evaluations a fixed-step solver will use (None for the adaptive dopri5)."""
    return STAGES[name] * steps if name in STAGES else None


__all__ = ["SOLVERS", "check_solver", "integrate", "nominal_nfe"]
