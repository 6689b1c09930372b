"""ODE solvers as plain functions of a velocity field, a state and a time grid.

``velocity(t, x)`` takes a scalar time tensor and a state (N, D) and returns dx/dt.
Fixed-step solvers integrate along ``times`` (for flow matching: from t = 1, the noise, to
t = 0, the data). Every solver returns the final state and the number of function
evaluations (NFE) it used, counted, not assumed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from lhcgen.errors import LhcgenError

Velocity = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class CountingVelocity:
    """Wrap a velocity field and count its evaluations."""

    def __init__(self, velocity: Velocity):
        self.velocity, self.nfe = velocity, 0

    def __call__(self, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        self.nfe += 1
        return self.velocity(t, x)


def time_grid(steps: int, t_start: float = 1.0, t_end: float = 0.0) -> torch.Tensor:
    """Uniform grid of ``steps`` intervals from t_start to t_end (float64)."""
    return torch.linspace(t_start, t_end, steps + 1, dtype=torch.float64)


def euler(velocity: Velocity, x: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """x_{n+1} = x_n + h v(t_n, x_n). One evaluation per step, first order."""
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        x = x + (t1 - t0).to(x.dtype) * velocity(t0, x)
    return x


def midpoint(velocity: Velocity, x: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """Explicit midpoint rule. Two evaluations per step, second order."""
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        h = (t1 - t0).to(x.dtype)
        x_half = x + 0.5 * h * velocity(t0, x)
        x = x + h * velocity(t0 + 0.5 * (t1 - t0), x_half)
    return x


def heun(velocity: Velocity, x: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """Heun's method (explicit trapezoid). Two evaluations per step, second order."""
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        h = (t1 - t0).to(x.dtype)
        k1 = velocity(t0, x)
        k2 = velocity(t1, x + h * k1)
        x = x + 0.5 * h * (k1 + k2)
    return x


def rk4(velocity: Velocity, x: torch.Tensor, times: torch.Tensor) -> torch.Tensor:
    """Classical fourth-order Runge-Kutta. Four evaluations per step."""
    for t0, t1 in zip(times[:-1], times[1:], strict=True):
        h = (t1 - t0).to(x.dtype)
        t_half = t0 + 0.5 * (t1 - t0)
        k1 = velocity(t0, x)
        k2 = velocity(t_half, x + 0.5 * h * k1)
        k3 = velocity(t_half, x + 0.5 * h * k2)
        k4 = velocity(t1, x + h * k3)
        x = x + h / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
    return x


def dopri5(velocity: Velocity, x: torch.Tensor, t_start: float = 1.0, t_end: float = 0.0,
           rtol: float = 1e-5, atol: float = 1e-5) -> torch.Tensor:
    """Adaptive Dormand-Prince 5(4) (torchdiffeq); the step count follows the tolerances."""
    from torchdiffeq import odeint

    times = torch.tensor([t_start, t_end], dtype=x.dtype, device=x.device)
    return odeint(velocity, x, times, method="dopri5", rtol=rtol, atol=atol)[-1]


FIXED_STEP = {"euler": euler, "midpoint": midpoint, "heun": heun, "rk4": rk4}
STAGES = {"euler": 1, "midpoint": 2, "heun": 2, "rk4": 4}
SOLVERS = (*FIXED_STEP, "dopri5")


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
