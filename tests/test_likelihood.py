"""ODE log-densities against a flow whose density is known in closed form."""

import math

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.solvers.likelihood import ode_log_prob, standard_normal_log_prob

MU = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
SIGMA = torch.tensor([0.5, 2.0, 1.3], dtype=torch.float64)


def gaussian_velocity(t, x):
    """The straight-path flow carrying N(MU, SIGMA^2) at t = 0 to N(0, 1) at t = 1:
    x_t = m_t + s_t (x_0 - MU) / SIGMA with m_t = (1 - t) MU, s_t^2 = (1 - t)^2 SIGMA^2 + t^2."""
    t = t.to(x.dtype)
    m = (1 - t) * MU
    s2 = (1 - t) ** 2 * SIGMA**2 + t**2
    return -MU + (t - (1 - t) * SIGMA**2) / s2 * (x - m)


def gaussian_log_prob(x, dims_mask):
    m = dims_mask.to(x.dtype)
    z = (x - MU) / SIGMA
    return ((-0.5 * z**2 - torch.log(SIGMA) - 0.5 * math.log(2 * math.pi)) * m).sum(-1)


def _points(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = MU + SIGMA * torch.randn(n, 3, generator=g, dtype=torch.float64)
    dims = torch.ones(n, 3, dtype=torch.bool)
    dims[: n // 2, 2] = False  # half the events lack the last coordinate
    return x * dims, dims


def _masked_velocity(dims):
    return lambda t, x: gaussian_velocity(t, x) * dims


def test_exact_trace_reproduces_the_gaussian_density():
    x, dims = _points()
    logp, nfe = ode_log_prob(_masked_velocity(dims), x, dims, "rk4", 32, "exact")
    assert nfe == 4 * 32
    torch.testing.assert_close(logp, gaussian_log_prob(x, dims), atol=1e-6, rtol=0)


def test_hutchinson_trace_is_exact_for_a_diagonal_jacobian():
    x, dims = _points(n=8)
    logp, _ = ode_log_prob(_masked_velocity(dims), x, dims, "rk4", 32, "hutchinson",
                           torch.Generator().manual_seed(3))
    torch.testing.assert_close(logp, gaussian_log_prob(x, dims), atol=1e-6, rtol=0)


def test_hutchinson_trace_is_unbiased_for_a_rotated_gaussian():
    """Rotate the Gaussian flow: the Jacobian is no longer diagonal, single probes scatter,
    and their mean converges to the exact density p(x) = p_gauss(R x)."""
    angle = torch.tensor(0.7, dtype=torch.float64)
    c, s = torch.cos(angle), torch.sin(angle)
    rot = torch.tensor([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], dtype=torch.float64)
    g = torch.Generator().manual_seed(1)
    y = MU + SIGMA * torch.randn(6, 3, generator=g, dtype=torch.float64)
    x = y @ rot  # x = R^T y
    dims = torch.ones(6, 3, dtype=torch.bool)

    def velocity(t, x):
        return gaussian_velocity(t, x @ rot.T) @ rot

    runs = torch.stack([ode_log_prob(velocity, x, dims, "rk4", 8, "hutchinson",
                                     torch.Generator().manual_seed(k))[0]
                        for k in range(200)])
    truth = gaussian_log_prob(x @ rot.T, dims)
    exact, _ = ode_log_prob(velocity, x, dims, "rk4", 8, "exact")
    torch.testing.assert_close(exact, truth, atol=1e-4, rtol=0)
    error = runs.std(0) / math.sqrt(len(runs))
    assert (runs.std(0) > 1e-3).all()
    assert ((runs.mean(0) - exact).abs() < 5 * error).all()


def test_standard_normal_counts_only_existing_coordinates():
    x = torch.tensor([[0.0, 0.0, 5.0]], dtype=torch.float64)
    dims = torch.tensor([[True, True, False]])
    assert float(standard_normal_log_prob(x, dims)) == pytest.approx(-math.log(2 * math.pi))


def test_unknown_trace_is_an_error():
    x, dims = _points(n=2)
    with pytest.raises(LhcgenError, match="unknown trace estimator"):
        ode_log_prob(_masked_velocity(dims), x, dims, trace="skilling")
