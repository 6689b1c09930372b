"""DDPM: variance schedules against their formulas, the samplers with the exact noise
predictor of Gaussian data, and the model on small problems with a known answer."""

from __future__ import annotations

import math

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.models import Batch, Coordinates, build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.ddpm import DDPMConfig, DenoisingDiffusion
from lhcgen.models.noise_schedules import (
    alpha_bar_from_betas,
    betas_from_alpha_bar,
    cosine_alpha_bar,
    linear_betas,
    make_alpha_bar,
)
from lhcgen.nets.mlp import ResidualMLP
from lhcgen.solvers import log_prob, sample
from lhcgen.solvers.diffusion import ancestral, ddim, respaced

COORDS = Coordinates.plain([0, 0, 1, 1])
F64 = torch.float64


# --- schedules ----------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", ["linear", "cosine"])
@pytest.mark.parametrize("T", [1, 10, 1000])
def test_alpha_bar_is_strictly_decreasing_in_the_unit_interval(schedule, T):
    ab = make_alpha_bar(schedule, T)
    assert ab.dtype == F64 and ab.shape == (T,)
    assert bool(((ab > 0) & (ab < 1)).all())
    assert bool((ab[1:] < ab[:-1]).all())


def test_linear_schedule_is_the_product_of_its_betas():
    T, b0, b1 = 1000, 1e-4, 0.02
    betas = linear_betas(T, b0, b1)
    assert betas.dtype == F64
    assert float(betas[0]) == b0 and float(betas[-1]) == pytest.approx(b1, rel=1e-15)
    ab = alpha_bar_from_betas(betas)
    for t in (1, 2, 10, 500, 999, 1000):  # alpha_bar[t - 1] belongs to timestep t
        expected = math.prod(1 - (b0 + (b1 - b0) * (s - 1) / (T - 1)) for s in range(1, t + 1))
        assert float(ab[t - 1]) == pytest.approx(expected, rel=1e-12)
    torch.testing.assert_close(betas_from_alpha_bar(ab), betas, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("T", [20, 1000])
def test_cosine_schedule_follows_its_formula(T):
    s = 0.008

    def f(t):
        return math.cos((t / T + s) / (1 + s) * math.pi / 2) ** 2

    ab = cosine_alpha_bar(T, s)
    for t in range(1, T):  # the betas are clipped at 0.999 at t = T only
        assert float(ab[t - 1]) == pytest.approx(f(t) / f(0), rel=1e-10)
    assert float(ab[-1]) == pytest.approx(float(ab[-2]) * (1 - 0.999), rel=1e-12)
    assert float(betas_from_alpha_bar(ab).max()) == pytest.approx(0.999)


@pytest.mark.parametrize("steps", [1, 2, 7, 50, 100, 999, 1000])
def test_respaced_betas_reproduce_the_subset(steps):
    ab = cosine_alpha_bar(1000)
    timesteps, subset, betas = respaced(ab, steps)
    assert timesteps.shape == subset.shape == betas.shape == (steps,)
    assert bool((timesteps[1:] > timesteps[:-1]).all())
    assert int(timesteps[-1]) == 1000 and (steps == 1 or int(timesteps[0]) == 1)
    torch.testing.assert_close(subset, ab[timesteps - 1], rtol=0, atol=0)
    # to rounding: 1 - beta loses digits where beta is close to 1 (the last cosine step)
    torch.testing.assert_close(alpha_bar_from_betas(betas), subset, rtol=1e-12, atol=1e-16)
    if steps == 1000:
        torch.testing.assert_close(timesteps, torch.arange(1, 1001))


def test_respaced_steps_out_of_range():
    for steps in (0, 11):
        with pytest.raises(LhcgenError, match="between 1 and T = 10 steps"):
            respaced(make_alpha_bar("linear", 10), steps)


# --- samplers with the exact noise predictor ----------------------------------------------
# Data x_0 ~ N(mu, sigma^2) per coordinate, so x_t ~ N(sqrt(a) mu, a sigma^2 + 1 - a) and,
# jointly Gaussian, E[eps | x_t] = sqrt(1 - a) (x_t - sqrt(a) mu) / (a sigma^2 + 1 - a),
# E[x_0 | x_t] = mu + sqrt(a) sigma^2 (x_t - sqrt(a) mu) / (a sigma^2 + 1 - a).

MU = torch.tensor([0.5, -1.0, 2.0], dtype=F64)
SIGMA = torch.tensor([0.3, 1.0, 0.7], dtype=F64)


def oracle(alpha_bar, mu=MU, sigma=SIGMA):
    def eps(x, t):
        a = float(alpha_bar[t - 1])
        return math.sqrt(1 - a) * (x - math.sqrt(a) * mu) / (a * sigma**2 + 1 - a)

    return eps


def chain_moments(subset, kind, mu=MU, sigma=SIGMA):
    """Mean and std of x_0 that a sampler with the exact predictor produces from x_T ~ N(0, 1):
    each step is affine in x plus independent noise, so Gaussian moments propagate exactly.
    Written with the posterior mean of Ho et al. eq. 7 and E[x_0 | x_t] rather than the
    samplers' epsilon form."""
    mean, var = torch.zeros_like(mu), torch.ones_like(mu)
    ab = subset.tolist()
    for k in range(len(ab) - 1, -1, -1):
        a, a_prev = ab[k], (ab[k - 1] if k > 0 else 1.0)
        beta = 1 - a / a_prev
        # x0_hat = mu + gain (x - sqrt(a) mu)
        gain = math.sqrt(a) * sigma**2 / (a * sigma**2 + 1 - a)
        x0_slope, x0_offset = gain, mu - gain * math.sqrt(a) * mu
        if kind == "ancestral":  # mu_tilde = c0 x0_hat + ct x_t
            c0 = math.sqrt(a_prev) * beta / (1 - a)
            ct = math.sqrt(1 - beta) * (1 - a_prev) / (1 - a)
            slope, offset = c0 * x0_slope + ct, c0 * x0_offset
            noise = (1 - a_prev) / (1 - a) * beta
        else:  # sqrt(a_prev) x0_hat + sqrt(1 - a_prev) eps_hat, eps_hat from x_t and x0_hat
            e_slope = (1 - math.sqrt(a) * x0_slope) / math.sqrt(1 - a)
            e_offset = -math.sqrt(a) * x0_offset / math.sqrt(1 - a)
            slope = math.sqrt(a_prev) * x0_slope + math.sqrt(1 - a_prev) * e_slope
            offset = math.sqrt(a_prev) * x0_offset + math.sqrt(1 - a_prev) * e_offset
            noise = 0.0
        mean, var = slope * mean + offset, slope**2 * var + noise
    return mean, var.sqrt()


# (sampler, steps, tolerance on std / sigma - 1): fixed-variance samplers are biased towards
# a narrower distribution with few steps (the exact chain moments above: about -0.6% on the
# full chain, -3% to -5% for ancestral at 100 and DDIM at 50 steps of the cosine schedule).
CASES = [("ddim", 50, 0.06), ("ancestral", 1000, 0.015), ("ancestral", 100, 0.07)]


@pytest.mark.parametrize("kind,steps,tolerance", CASES)
def test_samplers_reproduce_a_gaussian_with_the_exact_predictor(kind, steps, tolerance):
    n = 20_000
    ab = cosine_alpha_bar(1000)
    timesteps, subset, _ = respaced(ab, steps)
    g = torch.Generator().manual_seed(11)
    x_T = torch.randn(n, 3, generator=g, dtype=F64)
    if kind == "ddim":
        x, nfe = ddim(oracle(ab), x_T, subset, timesteps)
    else:
        x, nfe = ancestral(oracle(ab), x_T, subset, timesteps, g)
    assert nfe == steps and x.dtype == F64
    mean, std = x.mean(0), x.std(0)
    exact_mean, exact_std = chain_moments(subset, kind)
    # the sampler produces exactly the chain's distribution, within statistical error ...
    torch.testing.assert_close(mean, exact_mean, rtol=0, atol=float(5 * exact_std.max()) / n**0.5)
    torch.testing.assert_close(std / exact_std, torch.ones(3, dtype=F64), rtol=0,
                               atol=5 / (2 * n) ** 0.5)
    # ... which is the data distribution, up to the known discretisation bias of the std
    torch.testing.assert_close(mean, MU, rtol=0, atol=float(5 * SIGMA.max()) / n**0.5)
    assert bool(((std / SIGMA - 1).abs() < tolerance).all())
    assert bool(((exact_std / SIGMA - 1).abs() < tolerance).all())


@pytest.mark.parametrize("steps", [1, 10, 50])
def test_ddim_is_deterministic_and_exact_for_standard_normal_data(steps):
    """For N(0, 1) data each DDIM step with the exact predictor is x -> cos(theta_k -
    theta_{k-1}) x with sqrt(alpha_bar) = cos(theta): a closed form for every sample."""
    ab = cosine_alpha_bar(1000)
    timesteps, subset, _ = respaced(ab, steps)
    eps = oracle(ab, torch.zeros(2, dtype=F64), torch.ones(2, dtype=F64))
    x_T = torch.randn(100, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    a, nfe_a = ddim(eps, x_T, subset, timesteps, generator=torch.Generator().manual_seed(1))
    b, nfe_b = ddim(eps, x_T, subset, timesteps, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert nfe_a == nfe_b == steps
    theta = [0.0] + [math.acos(math.sqrt(v)) for v in subset.tolist()]
    factor = math.prod(math.cos(t1 - t0) for t0, t1 in zip(theta[:-1], theta[1:], strict=True))
    # x0_hat = (x - sqrt(1 - a) eps) / sqrt(a) cancels digits at alpha_bar_T ~ 2e-9
    torch.testing.assert_close(a, factor * x_T, rtol=1e-8, atol=1e-10)


def test_ddim_with_eta_one_is_ancestral_sampling():
    ab = make_alpha_bar("linear", 200)
    timesteps, subset, _ = respaced(ab, 25)
    x_T = torch.randn(50, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    a, _ = ancestral(oracle(ab), x_T, subset, timesteps, torch.Generator().manual_seed(4))
    b, _ = ddim(oracle(ab), x_T, subset, timesteps, 1.0, torch.Generator().manual_seed(4))
    torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("kind", ["ancestral", "ddim"])
def test_point_mass_data_is_recovered_exactly(kind):
    """With sigma -> 0 the predictor knows x_0 = mu at every step; both samplers end on it."""
    ab = cosine_alpha_bar(100)
    timesteps, subset, _ = respaced(ab, 9)
    x_T = torch.randn(10, 3, generator=torch.Generator().manual_seed(0), dtype=F64)
    eps = oracle(ab, MU, torch.zeros(3, dtype=F64))
    sampler = ancestral if kind == "ancestral" else ddim
    x, _ = sampler(eps, x_T, subset, timesteps, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(x, MU.expand(10, 3), rtol=0, atol=1e-9)


# --- the model ----------------------------------------------------------------------------

def _data(n, seed=0):
    """Two coordinates per object; multiplicity 1 -> only object 0 exists, mean depends on
    the multiplicity, so the condition must be used."""
    g = torch.Generator().manual_seed(seed)
    mult = torch.randint(1, 3, (n,), generator=g)
    x = 0.3 * torch.randn(n, 4, generator=g) + torch.where(mult[:, None] == 1, -1.0, 1.0)
    dims = torch.ones(n, 4, dtype=torch.bool)
    dims[mult == 1, 2:] = False
    return Batch(x * dims, dims, mult, torch.ones(n))


def _model(net="mlp", timesteps=20, schedule="cosine", **kw):
    cfg = ModelConfig(name="ddpm", net=net, hidden=16, blocks=1, heads=2, time_embedding=8,
                      ddpm=DDPMConfig(timesteps=timesteps, schedule=schedule), **kw)
    return build_generator(cfg, COORDS, [1, 2])


def _half_and_half(n):
    mult = torch.tensor([1] * (n // 2) + [2] * (n - n // 2))
    dims = torch.ones(n, 4, dtype=torch.bool)
    dims[: n // 2, 2:] = False
    return mult, dims


@pytest.mark.parametrize("net", ["mlp", pytest.param("transformer", marks=pytest.mark.slow)])
def test_loss_decreases_and_samples_follow_the_condition(net):
    torch.manual_seed(0)
    cfg = ModelConfig(name="ddpm", net=net, hidden=32, blocks=2, heads=2, time_embedding=8,
                      ddpm=DDPMConfig(timesteps=100))
    model = build_generator(cfg, COORDS, [1, 2])
    data, val = _data(4000), _data(2000, seed=5)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        before = float(model.loss(val, torch.Generator().manual_seed(2)))
    for _ in range(300):
        idx = torch.randint(0, 4000, (256,), generator=g)
        batch = Batch(data.x[idx], data.dims_mask[idx], data.multiplicity[idx],
                      data.weights[idx])
        loss = model.loss(batch, g)
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        after = float(model.loss(val, torch.Generator().manual_seed(2)))
    assert after < 0.7 * before
    mult, dims = _half_and_half(1000)
    for solver, steps in (("ddim", 20), ("ancestral", None)):
        x, info = sample(model, mult, dims, torch.Generator().manual_seed(3), solver, steps)
        assert info["nfe"] == (steps or 100) and not x[~dims].any()
        assert float(x[:500, :2].mean()) == pytest.approx(-1.0, abs=0.15)
        assert float(x[500:].mean()) == pytest.approx(1.0, abs=0.15)
        assert float(x[500:].std()) == pytest.approx(0.3, abs=0.12)


@pytest.mark.parametrize("solver,steps,nfe", [
    ("ancestral", None, 20), ("ancestral", 5, 5), ("ddim", None, 20), ("ddim", 7, 7),
    (None, None, 20),
])
def test_sample_shapes_masks_determinism_and_nfe(solver, steps, nfe):
    model = _model()
    mult, dims = _half_and_half(6)
    seen = []
    predict = model.predict_noise

    def spy(x, t, condition, dims_mask):
        seen.append(x.clone())
        out = predict(x, t, condition, dims_mask)
        seen.append(out.clone())
        return out

    model.predict_noise = spy
    a, info = sample(model, mult, dims, torch.Generator().manual_seed(7), solver, steps)
    b, _ = sample(model, mult, dims, torch.Generator().manual_seed(7), solver, steps)
    c, _ = sample(model, mult, dims, torch.Generator().manual_seed(8), solver, steps)
    assert a.shape == (6, 4) and a.dtype == torch.float32
    assert info == {"solver": solver or "ddim", "steps": nfe, "nfe": nfe}
    assert len(seen) == 6 * nfe
    assert all(not s[~dims].any() for s in seen)  # absent coordinates stay 0 in the chain
    assert not a[~dims].any() and bool(a[dims].ne(0).all())
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.equal(a, c)


def test_ddim_default_steps_and_eta():
    model = _model(timesteps=200)
    mult, dims = _half_and_half(4)
    x, info = sample(model, mult, dims, torch.Generator().manual_seed(0))
    assert info == {"solver": "ddim", "steps": 50, "nfe": 50}
    y, _ = sample(model, mult, dims, torch.Generator().manual_seed(0), "ddim", 50, eta=1.0)
    assert not torch.equal(x, y) and not y[~dims].any()


def test_loss_ignores_absent_coordinates_and_the_weight_scale():
    model = _model()
    batch = _data(64)
    dirty = Batch(batch.x + 5.0 * ~batch.dims_mask, batch.dims_mask, batch.multiplicity,
                  batch.weights)
    scaled = Batch(batch.x, batch.dims_mask, batch.multiplicity, 3.0 * batch.weights)
    with torch.no_grad():
        losses = [float(model.loss(b, torch.Generator().manual_seed(0)))
                  for b in (batch, dirty, scaled)]
    assert losses[0] > 0 and math.isfinite(losses[0])
    assert losses[1] == pytest.approx(losses[0], rel=1e-6)
    assert losses[2] == pytest.approx(losses[0], rel=1e-6)


def test_bad_sampler_options_are_one_line_errors():
    model = _model()
    mult, dims = _half_and_half(2)
    with pytest.raises(LhcgenError, match=r"unknown solver 'rk4' for model 'ddpm' "
                                          r"\(available: ancestral, ddim\)"):
        sample(model, mult, dims, solver="rk4")
    for solver in ("ancestral", "ddim"):
        for steps in (21, 0):
            with pytest.raises(LhcgenError, match=f"between 1 and T = 20 steps.*got {steps}"):
                sample(model, mult, dims, solver=solver, steps=steps)
    with pytest.raises(LhcgenError, match="unknown ddpm sampling option"):
        sample(model, mult, dims, solver="ddim", rtol=1e-3)
    with pytest.raises(LhcgenError, match="eta is an option of the ddim sampler"):
        sample(model, mult, dims, solver="ancestral", eta=1.0)
    with pytest.raises(LhcgenError, match=r"multiplicity \[4\] was not in the training data"):
        sample(model, torch.tensor([4]), torch.ones(1, 4, dtype=torch.bool))
    with pytest.raises(LhcgenError, match="no tractable density"):
        log_prob(model, _data(2))


@pytest.mark.parametrize("net", ["mlp", "transformer"])
@pytest.mark.parametrize("schedule", ["linear", "cosine"])
def test_build_generator(net, schedule):
    model = _model(net, timesteps=30, schedule=schedule)
    assert isinstance(model, DenoisingDiffusion) and not model.has_density
    assert model.timesteps == 30 and model.alpha_bar.dtype == F64
    torch.testing.assert_close(model.alpha_bar, make_alpha_bar(schedule, 30))
    assert "alpha_bar" in model.state_dict()
    loss = model.loss(_data(32), torch.Generator().manual_seed(0))
    loss.backward()
    assert math.isfinite(float(loss.detach()))
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.net.parameters())
    mult, dims = _half_and_half(4)
    x, info = sample(model, mult, dims, torch.Generator().manual_seed(0), "ancestral", 3)
    assert x.shape == (4, 4) and info["nfe"] == 3


def test_default_config_builds_the_cosine_chain_of_1000_steps():
    model = build_generator(ModelConfig(name="ddpm", hidden=8, blocks=1), COORDS, [1, 2])
    assert model.timesteps == 1000
    torch.testing.assert_close(model.alpha_bar, cosine_alpha_bar(1000), rtol=0, atol=0)


def test_noise_prediction_is_bounded_at_the_end_of_the_chain():
    """The default parameterization: eps = sqrt(1 - ab) x_t + sqrt(ab) net, so at t = T
    (ab ~ 2e-7 for the cosine schedule at T = 100) eps ~ x_t whatever the network says, and
    x0_hat = sqrt(ab) x_t - sqrt(1 - ab) net stays bounded; with "eps" it is the network."""
    torch.manual_seed(0)
    dims = torch.ones(8, 4, dtype=torch.bool)
    x = torch.randn(8, 4)
    cond, t = torch.zeros(8, dtype=torch.long), torch.full((8,), 100)
    ab = make_alpha_bar("cosine", 100)
    net = ResidualMLP(4, 8 + 2, 16, 1)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(torch.randn_like(p))
    v = DenoisingDiffusion(net, 4, [1, 2], ab, 8)
    eps = DenoisingDiffusion(net, 4, [1, 2], ab, 8, parameterization="eps")
    with torch.no_grad():
        out_v, out_eps = v.predict_noise(x, t, cond, dims), eps.predict_noise(x, t, cond, dims)
        raw = net(x, torch.cat([v.time_embedding(t / 100.0), torch.eye(2)[cond]], -1))
    torch.testing.assert_close(out_eps, raw)
    assert float((out_v - x).abs().max()) < 1e-3 * (1 + float(raw.abs().max()))
    with pytest.raises(LhcgenError, match="unknown ddpm parameterization 'x0'"):
        DenoisingDiffusion(net, 4, [1, 2], ab, 8, parameterization="x0")
