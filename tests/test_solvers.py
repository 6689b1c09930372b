"""Solvers against the closed form of dx/dt = a x integrated from t = 1 to t = 0."""

import math

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.solvers import integrate, nominal_nfe

A = 1.3


def field(t, x):
    return A * x


def exact(x1):
    return x1 * math.exp(-A)


@pytest.mark.parametrize("name,order", [("euler", 1), ("midpoint", 2), ("heun", 2), ("rk4", 4)])
def test_fixed_step_order_and_nfe(name, order):
    x1 = torch.ones(3, 2, dtype=torch.float64)
    errors = []
    for steps in (8, 16):
        x0, nfe = integrate(name, field, x1, steps)
        assert nfe == nominal_nfe(name, steps)
        errors.append(float((x0 - exact(x1)).abs().max()))
    observed = math.log2(errors[0] / errors[1])
    assert observed == pytest.approx(order, abs=0.3)


def test_dopri5_is_accurate_and_counts_evaluations():
    x1 = torch.ones(4, dtype=torch.float64)
    x0, nfe = integrate("dopri5", field, x1, steps=1, rtol=1e-8, atol=1e-10)
    torch.testing.assert_close(x0, exact(x1), rtol=1e-6, atol=1e-8)
    assert nfe > 6 and nominal_nfe("dopri5", 1) is None


def test_time_dependent_field():
    # dx/dt = 2t: from t=1 to 0, x(0) = x(1) - 1, exact for second order methods
    x0, _ = integrate("midpoint", lambda t, x: 2 * t * torch.ones_like(x),
                      torch.zeros(2, dtype=torch.float64), 5)
    torch.testing.assert_close(x0, -torch.ones(2, dtype=torch.float64))


def test_unknown_solver_and_bad_steps():
    with pytest.raises(LhcgenError, match="unknown solver 'leapfrog'.*rk4"):
        integrate("leapfrog", field, torch.ones(1), 4)
    with pytest.raises(LhcgenError, match="positive"):
        integrate("rk4", field, torch.ones(1), 0)
