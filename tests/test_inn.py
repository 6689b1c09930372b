"""The coupling-block INN and its rational-quadratic splines on problems with a known answer."""

from __future__ import annotations

import math

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.models import Batch, Coordinates, build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.inn import CouplingFlow, INNConfig, coupling_splits
from lhcgen.nets.splines import rational_quadratic_spline
from lhcgen.solvers import log_prob, sample

COUPLINGS = ["affine", "spline"]
COORDS6 = Coordinates.plain([0, 0, 1, 1, 2, 2])
COORDS4 = Coordinates.plain([0, 0, 1, 1])


def _flow(coupling: str, coords: Coordinates = COORDS6, mults: list[int] | None = None,
          hidden: int = 16, couplings: int = 4, **inn) -> CouplingFlow:
    torch.manual_seed(0)
    cfg = ModelConfig(name="inn", hidden=hidden,
                      inn=INNConfig(coupling=coupling, couplings=couplings, subnet_layers=2,
                                    bins=6, **inn))
    return build_generator(cfg, coords, mults or [1, 2, 3])


def _perturb(model: torch.nn.Module, scale: float, seed: int = 0) -> torch.nn.Module:
    """Random weights everywhere, the zero-initialised last layers included."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(scale * torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


def _mixed(n: int, seed: int = 0, dtype: torch.dtype = torch.float64) -> Batch:
    """Three objects of two coordinates, multiplicity 1..3; the absent coordinates hold
    non-zero junk (they must pass through untouched and must not matter)."""
    g = torch.Generator().manual_seed(seed)
    mult = torch.randint(1, 4, (n,), generator=g)
    mult[:3] = torch.tensor([1, 2, 3])
    x = 1.5 * torch.randn(n, 6, generator=g, dtype=dtype)
    dims = torch.arange(3).repeat_interleave(2)[None, :] < mult[:, None]
    return Batch(x, dims, mult, torch.ones(n, dtype=dtype))


def _onehot(model: CouplingFlow, mult: torch.Tensor, dtype=torch.float64) -> torch.Tensor:
    index = model.condition_index(mult)
    return torch.nn.functional.one_hot(index, len(model.multiplicities)).to(dtype)


def _spline_params(shape, bins, seed=0, dtype=torch.float64, scale=1.5):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(*shape, bins, generator=g, dtype=dtype),
            scale * torch.randn(*shape, bins, generator=g, dtype=dtype),
            scale * torch.randn(*shape, bins - 1, generator=g, dtype=dtype))


# --- splines -------------------------------------------------------------------------------

def test_spline_round_trip_float64():
    x = torch.linspace(-6, 6, 3001, dtype=torch.float64)
    w, h, d = _spline_params((3001,), 8)
    y, logdet = rational_quadratic_spline(x, w, h, d, tail_bound=4.0)
    x_back, logdet_inv = rational_quadratic_spline(y, w, h, d, inverse=True, tail_bound=4.0)
    torch.testing.assert_close(x_back, x, atol=1e-10, rtol=0)
    torch.testing.assert_close(logdet_inv, -logdet, atol=1e-10, rtol=0)
    # and the other way round
    x2, _ = rational_quadratic_spline(x, w, h, d, inverse=True, tail_bound=4.0)
    y2, _ = rational_quadratic_spline(x2, w, h, d, tail_bound=4.0)
    torch.testing.assert_close(y2, x, atol=1e-10, rtol=0)


@pytest.mark.parametrize("inverse", [False, True])
def test_spline_logdet_is_the_derivative(inverse):
    x = torch.linspace(-3.99, 3.99, 997, dtype=torch.float64).requires_grad_(True)
    w, h, d = _spline_params((997,), 5, seed=1)
    y, logdet = rational_quadratic_spline(x, w, h, d, inverse=inverse, tail_bound=4.0)
    (grad,) = torch.autograd.grad(y.sum(), x)
    assert (grad > 0).all()
    torch.testing.assert_close(logdet, grad.log(), atol=1e-9, rtol=0)
    assert logdet.abs().max() > 0.3  # a non-trivial spline


def test_spline_is_the_identity_outside_the_bound_and_continuous_at_it():
    x = torch.tensor([-100.0, -4.5, -4.0 - 1e-9, 4.0 + 1e-9, 7.0, 1e3], dtype=torch.float64)
    w, h, d = _spline_params((6,), 7, seed=2)
    for inverse in (False, True):
        y, logdet = rational_quadratic_spline(x, w, h, d, inverse=inverse, tail_bound=4.0)
        assert torch.equal(y, x) and torch.equal(logdet, torch.zeros_like(x))
    edges = torch.tensor([-4.0, 4.0], dtype=torch.float64)
    y, _ = rational_quadratic_spline(edges, w[:2], h[:2], d[:2], tail_bound=4.0)
    torch.testing.assert_close(y, edges, atol=1e-12, rtol=0)


def test_spline_is_monotone_and_zero_parameters_give_the_identity():
    x = torch.linspace(-5, 5, 20001, dtype=torch.float64)
    w, h, d = (p[:1].expand(20001, -1) for p in _spline_params((1,), 10, seed=3, scale=3.0))
    y, _ = rational_quadratic_spline(x, w, h, d, tail_bound=4.0)
    assert (y.diff() > 0).all()
    assert not torch.allclose(y, x, atol=1e-2)
    zeros = torch.zeros(20001, 10, dtype=torch.float64)
    y0, logdet0 = rational_quadratic_spline(x, zeros, zeros, zeros[:, 1:], tail_bound=4.0)
    torch.testing.assert_close(y0, x, atol=1e-12, rtol=0)
    assert logdet0.abs().max() < 1e-12


def test_spline_float32():
    # moderate parameters: with derivatives near the 1e-3 minimum the inverse is
    # ill-conditioned in float32 (dx/dy ~ 1e3 amplifies the rounding of y)
    x = torch.linspace(-5, 5, 1001)
    w, h, d = (p.float() for p in _spline_params((1001,), 6, seed=4, scale=0.7))
    y, logdet = rational_quadratic_spline(x, w, h, d, tail_bound=4.0)
    x_back, logdet_inv = rational_quadratic_spline(y, w, h, d, inverse=True, tail_bound=4.0)
    assert y.dtype == logdet.dtype == x_back.dtype == torch.float32
    assert torch.isfinite(logdet).all()
    torch.testing.assert_close(x_back, x, atol=1e-4, rtol=0)
    torch.testing.assert_close(logdet_inv, -logdet, atol=1e-4, rtol=0)


def test_spline_wrong_parameter_count():
    w, h, d = _spline_params((3,), 4)
    with pytest.raises(ValueError, match="K - 1 derivatives"):
        rational_quadratic_spline(torch.zeros(3, dtype=torch.float64), w, h, d[..., :2])


# --- the flow ------------------------------------------------------------------------------

def test_every_coordinate_is_transformed_in_every_pair_of_couplings():
    for dim in (1, 2, 5, 6):
        splits = coupling_splits(dim, 6)
        for i in range(0, 6, 2):
            transformed = set()
            for perm, split in splits[i:i + 2]:
                assert sorted(perm.tolist()) == list(range(dim))
                transformed |= set(perm[split:].tolist())
            assert transformed == set(range(dim))
    assert [p.tolist() for p, _ in coupling_splits(6, 4)] == \
        [p.tolist() for p, _ in coupling_splits(6, 4)]


@pytest.mark.parametrize("coupling", COUPLINGS)
def test_build_generator_and_a_fresh_flow_is_the_identity(coupling):
    model = _flow(coupling)
    assert isinstance(model, CouplingFlow) and model.has_density
    assert len(model.blocks) == 4
    perms = [k for k in model.state_dict() if k.endswith(".perm")]
    assert len(perms) == 4
    data = _mixed(50, dtype=torch.float32)
    onehot = _onehot(model, data.multiplicity, torch.float32)
    z, logdet = model.forward_transform(data.x, onehot, data.dims_mask)
    torch.testing.assert_close(z, data.x)
    assert logdet.abs().max() < 1e-5
    m = data.dims_mask.double()
    expected = (-0.5 * data.x.double()**2 * m).sum(-1) - 0.5 * math.log(2 * math.pi) * m.sum(-1)
    logp = log_prob(model, data)
    assert logp.dtype == torch.float64 and logp.shape == (50,)
    torch.testing.assert_close(logp, expected, atol=1e-5, rtol=1e-6)


def test_unknown_coupling_is_an_error():
    cfg = ModelConfig(name="inn", inn=INNConfig(coupling="glow"))  # type: ignore[arg-type]
    with pytest.raises(LhcgenError, match="unknown INN coupling 'glow'"):
        build_generator(cfg, COORDS4, [1])


@pytest.mark.parametrize("coupling", COUPLINGS)
def test_round_trip_with_random_weights_and_absent_coordinates_untouched(coupling):
    # weights scaled so the per-block log-dets stay moderate: much larger random weights make
    # spline bins with derivatives near the 1e-3 floor and the inverse ill-conditioned
    model = _perturb(_flow(coupling).double(), 0.15)
    data = _mixed(300)
    x = data.x.clone()
    x[:100] *= 3.0  # some values beyond the spline's tail bound
    onehot = _onehot(model, data.multiplicity)
    with torch.no_grad():
        z, logdet = model.forward_transform(x, onehot, data.dims_mask)
        x_back = model.inverse_transform(z, onehot, data.dims_mask)
    absent = ~data.dims_mask
    assert torch.equal(z[absent], x[absent])
    assert (z[data.dims_mask] - x[data.dims_mask]).abs().max() > 0.1  # really transformed
    assert logdet.abs().max() > 0.1
    torch.testing.assert_close(x_back, x, atol=1e-9, rtol=0)


@pytest.mark.parametrize("coupling", COUPLINGS)
def test_logdet_matches_the_jacobian_of_the_existing_coordinates(coupling):
    model = _perturb(_flow(coupling).double(), 0.15, seed=1)
    data = _mixed(6, seed=2)
    onehot = _onehot(model, data.multiplicity)
    with torch.no_grad():
        _, logdet = model.forward_transform(data.x, onehot, data.dims_mask)
    for i in range(6):
        mask = data.dims_mask[i]

        def f(x, i=i):
            return model.forward_transform(x[None], onehot[i:i + 1], data.dims_mask[i:i + 1])[0][0]

        jac = torch.autograd.functional.jacobian(f, data.x[i])
        inner = jac[mask][:, mask]
        _, expected = torch.linalg.slogdet(inner)
        torch.testing.assert_close(logdet[i], expected, atol=1e-9, rtol=1e-9)
        # existing outputs do not depend on absent inputs; absent outputs are the identity
        assert torch.equal(jac[mask][:, ~mask], torch.zeros_like(jac[mask][:, ~mask]))
        n_absent = int((~mask).sum())
        assert torch.equal(jac[~mask][:, ~mask], torch.eye(n_absent, dtype=jac.dtype))


@pytest.mark.parametrize("coupling", COUPLINGS)
def test_log_prob_ignores_the_absent_coordinates(coupling):
    model = _perturb(_flow(coupling), 0.15, seed=3)
    data = _mixed(200, dtype=torch.float32)
    other = data.x.clone()
    other[~data.dims_mask] = 0.0
    changed = Batch(other, data.dims_mask, data.multiplicity, data.weights)
    logp = log_prob(model, data)
    assert logp.dtype == torch.float64 and torch.isfinite(logp).all()
    torch.testing.assert_close(log_prob(model, changed), logp, atol=0, rtol=0)


def test_loss_is_the_weighted_nll_per_existing_coordinate():
    model = _perturb(_flow("affine").double(), 0.2, seed=4)
    data = _mixed(40)
    logp = log_prob(model, data)
    coords = data.dims_mask.double().sum(-1).mean()
    torch.testing.assert_close(model.loss(data), -logp.mean() / coords)
    weights = torch.zeros(40, dtype=torch.float64)
    weights[[3, 7]] = torch.tensor([1.0, 3.0], dtype=torch.float64)
    weighted = Batch(data.x, data.dims_mask, data.multiplicity, weights)
    expected = -(logp[3] + 3 * logp[7]) / 4 / coords
    torch.testing.assert_close(model.loss(weighted), expected)


def _grid_integral(model: CouplingFlow, half_width: float, points: int) -> float:
    edges = torch.linspace(-half_width, half_width, points + 1, dtype=torch.float64)
    centres = 0.5 * (edges[1:] + edges[:-1])
    gx, gy = torch.meshgrid(centres, centres, indexing="ij")
    x = torch.stack([gx.reshape(-1), gy.reshape(-1)], dim=-1)
    n = len(x)
    batch = Batch(x, torch.ones(n, 2, dtype=torch.bool), torch.ones(n, dtype=torch.long),
                  torch.ones(n, dtype=torch.float64))
    with torch.no_grad():
        density = log_prob(model, batch).exp()
    return float(density.sum()) * float(edges[1] - edges[0]) ** 2


def _two_gaussians(n: int, g: torch.Generator) -> torch.Tensor:
    sign = torch.randint(0, 2, (n, 1), generator=g) * 2 - 1
    centre = torch.cat([1.5 * sign, 0.5 * sign], dim=-1)
    return centre + 0.4 * torch.randn(n, 2, generator=g)


@pytest.mark.parametrize("coupling", COUPLINGS)
def test_density_of_a_perturbed_untrained_flow_is_normalised(coupling):
    model = _perturb(_flow(coupling, Coordinates.plain([0, 0]), [1], hidden=16), 0.15, seed=5)
    model = model.double()
    assert _grid_integral(model, 12.0, 300) == pytest.approx(1.0, abs=0.01)


@pytest.mark.slow
@pytest.mark.parametrize("coupling", COUPLINGS)
def test_density_after_training_on_two_gaussians_is_normalised(coupling):
    model = _flow(coupling, Coordinates.plain([0, 0]), [1], hidden=32, couplings=4)
    g = torch.Generator().manual_seed(6)
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    ones = torch.ones(256, dtype=torch.long)
    mask = torch.ones(256, 2, dtype=torch.bool)
    for _ in range(150):
        batch = Batch(_two_gaussians(256, g), mask, ones, torch.ones(256))
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    val = Batch(_two_gaussians(4000, torch.Generator().manual_seed(7)),
                torch.ones(4000, 2, dtype=torch.bool), torch.ones(4000, dtype=torch.long),
                torch.ones(4000))
    with torch.no_grad():
        nll = float(model.loss(val))
    # per coordinate: the untrained flow (a standard normal) gives 1.62, the best Gaussian
    # 1.42, the mixture's own entropy 0.85
    assert nll < 1.15
    model = model.double()
    assert _grid_integral(model, 10.0, 300) == pytest.approx(1.0, abs=0.01)


def _conditional_data(n: int, seed: int = 0) -> Batch:
    """As in test_cfm.py: multiplicity 1 -> only object 0 exists; the mean depends on it."""
    g = torch.Generator().manual_seed(seed)
    mult = torch.randint(1, 3, (n,), generator=g)
    x = 0.3 * torch.randn(n, 4, generator=g) + torch.where(mult[:, None] == 1, -1.0, 1.0)
    dims = torch.ones(n, 4, dtype=torch.bool)
    dims[mult == 1, 2:] = False
    return Batch(x * dims, dims, mult, torch.ones(n))


@pytest.mark.slow
@pytest.mark.parametrize("coupling", COUPLINGS)
def test_loss_decreases_and_samples_follow_the_condition(coupling):
    model = _flow(coupling, COORDS4, [1, 2], hidden=32, couplings=4)
    data, val = _conditional_data(4000), _conditional_data(2000, seed=5)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        before = float(model.loss(val))
    for _ in range(100):
        idx = torch.randint(0, 4000, (256,), generator=g)
        batch = Batch(data.x[idx], data.dims_mask[idx], data.multiplicity[idx],
                      data.weights[idx])
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(model.loss(val))
    # the conditional Gaussians' own entropy is 0.215 per coordinate
    assert before > 1.2 and after < 0.3
    mult = torch.tensor([1] * 500 + [2] * 500)
    dims = torch.ones(1000, 4, dtype=torch.bool)
    dims[:500, 2:] = False
    x, info = sample(model, mult, dims, torch.Generator().manual_seed(3))
    assert info["nfe"] == 1
    assert not x[~dims].any()
    assert float(x[:500, :2].mean()) == pytest.approx(-1.0, abs=0.1)
    assert float(x[500:].mean()) == pytest.approx(1.0, abs=0.1)
    assert float(x[:500, :2].std()) == pytest.approx(0.3, abs=0.15)
    assert float(x[500:].std()) == pytest.approx(0.3, abs=0.15)


@pytest.mark.parametrize("coupling", COUPLINGS)
def test_sample_shapes_zeros_and_determinism(coupling):
    model = _perturb(_flow(coupling), 0.15, seed=8)
    data = _mixed(64, dtype=torch.float32)
    a, info = sample(model, data.multiplicity, data.dims_mask, torch.Generator().manual_seed(7))
    b, _ = sample(model, data.multiplicity, data.dims_mask, torch.Generator().manual_seed(7),
                        solver=None, steps=None)
    c, _ = sample(model, data.multiplicity, data.dims_mask, torch.Generator().manual_seed(8))
    assert a.shape == (64, 6) and a.dtype == torch.float32 and info == {"nfe": 1}
    assert torch.isfinite(a).all()
    assert not a[~data.dims_mask].any()
    assert a[data.dims_mask].abs().min() > 0
    torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert not torch.allclose(a, c)


@pytest.mark.parametrize("coupling", COUPLINGS)
def test_untrained_multiplicity_is_an_error(coupling):
    model = _flow(coupling, COORDS4, [1, 2])
    with pytest.raises(LhcgenError, match=r"multiplicity \[4\] was not in the training data"):
        sample(model, torch.tensor([4]), torch.ones(1, 4, dtype=torch.bool))
    batch = Batch(torch.zeros(2, 4), torch.ones(2, 4, dtype=torch.bool), torch.tensor([1, 3]),
                  torch.ones(2))
    with pytest.raises(LhcgenError, match=r"multiplicity \[3\] was not in the training data"):
        log_prob(model, batch)
