"""JetGPT (arXiv:2305.10475): mixture densities, the causal transformer with its key/value
cache, and the autoregressive density and sampler on small problems with a known answer."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.models import Batch, Coordinates, build_generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.jetgpt import JetGPT, JetGPTConfig
from lhcgen.nets import mixtures
from lhcgen.nets.gpt import CausalTransformer, KVCache
from lhcgen.solvers import log_prob, sample

PERIOD = 4.0
COORDS = Coordinates((0, 0, 1, 1), (None, PERIOD, None, None))
"""Two coordinates per object, the second one periodic; object 1 exists for multiplicity 2."""


def _model(coords: Coordinates = COORDS, components: int = 3, hidden: int = 16,
           blocks: int = 2, seed: int = 0) -> JetGPT:
    torch.manual_seed(seed)
    cfg = ModelConfig(name="jetgpt", hidden=hidden, blocks=blocks, heads=2,
                      jetgpt=JetGPTConfig(components=components))
    return build_generator(cfg, coords, [1, 2]).eval()


def _data(n: int, seed: int = 0) -> Batch:
    """Like tests/test_cfm.py: the mean (-1 or +1) depends on the multiplicity, so the
    condition must be used; multiplicity 1 -> only the prefix of object 0 exists.
    Coordinate 1 is an angle of period 4 in [-2, 2)."""
    g = torch.Generator().manual_seed(seed)
    mult = torch.randint(1, 3, (n,), generator=g)
    x = 0.3 * torch.randn(n, 4, generator=g) + torch.where(mult[:, None] == 1, -1.0, 1.0)
    x[:, 1] = mixtures.wrap(x[:, 1], 0.0, PERIOD)
    dims = torch.ones(n, 4, dtype=torch.bool)
    dims[mult == 1, 2:] = False
    return Batch(x * dims, dims, mult, torch.ones(n))


def _random_parameters(k: int, seed: int, low: float, high: float, loc_range: float):
    g = torch.Generator().manual_seed(seed)
    logits = 2 * torch.randn(k, generator=g, dtype=torch.float64)
    locs = loc_range * (2 * torch.rand(k, generator=g, dtype=torch.float64) - 1)
    log_scales = low + (high - low) * torch.rand(k, generator=g, dtype=torch.float64)
    return logits, locs, log_scales


# ---- mixtures -------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gaussian_mixture_integrates_to_one(seed):
    logits, locs, log_scales = _random_parameters(5, seed, -2.0, 1.0, 3.0)
    x = torch.linspace(-40, 40, 80001, dtype=torch.float64)
    shape = (len(x), 5)
    logp = mixtures.gaussian_mixture_log_prob(x, logits.expand(shape), locs.expand(shape),
                                              log_scales.expand(shape))
    assert float(torch.trapezoid(logp.exp(), x)) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize(("period", "seed"), [(2 * math.pi, 0), (0.7, 1), (3.5, 2)])
def test_von_mises_mixture_integrates_to_one_over_a_period(period, seed):
    """Locations anywhere (the density is periodic), widths from 2% to 2 periods; the
    rectangle rule is spectrally accurate for a smooth periodic integrand."""
    logits, locs, log_scales = _random_parameters(
        5, seed, math.log(0.02 * period), math.log(2 * period), 5 * period)
    n = 4000
    for start in (-period / 2, 1.3):
        x = start + period * torch.arange(n, dtype=torch.float64) / n
        shape = (n, 5)
        logp = mixtures.von_mises_mixture_log_prob(
            x, logits.expand(shape), locs.expand(shape), log_scales.expand(shape), period)
        assert float(logp.exp().sum() * period / n) == pytest.approx(1.0, abs=1e-10)


def _mixture_cdf(logp_fn, low: float, high: float, n: int = 20001):
    grid = np.linspace(low, high, n)
    density = logp_fn(torch.from_numpy(grid)).exp().numpy()
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(grid))])
    return lambda v: np.interp(v, grid, cdf / cdf[-1])


def test_von_mises_mixture_samples_follow_the_density():
    period, centre, n = 3.0, 1.0, 20000
    logits = torch.tensor([0.0, -0.5, 0.3], dtype=torch.float64)
    locs = torch.tensor([0.2, 2.4, -4.0], dtype=torch.float64)  # -4.0 = -1.0 mod 3
    log_scales = torch.log(torch.tensor([0.05, 0.3, 2.0], dtype=torch.float64))
    shape = (n, 3)
    x = mixtures.von_mises_mixture_sample(logits.expand(shape), locs.expand(shape),
                                          log_scales.expand(shape), period, centre,
                                          torch.Generator().manual_seed(0))
    assert x.shape == (n,) and x.dtype == torch.float64
    assert float(x.min()) >= centre - period / 2 and float(x.max()) < centre + period / 2

    def logp(v):
        s = (len(v), 3)
        return mixtures.von_mises_mixture_log_prob(v, logits.expand(s), locs.expand(s),
                                                   log_scales.expand(s), period)

    cdf = _mixture_cdf(logp, centre - period / 2, centre + period / 2)
    assert stats.kstest(x.numpy(), cdf).pvalue > 0.01
    # a wrong Jacobian or window would be caught; so is a sampler ignoring a component
    shifted = mixtures.wrap(x + 0.05, centre, period)
    assert stats.kstest(shifted.numpy(), cdf).pvalue < 1e-6


def test_gaussian_mixture_samples_follow_the_density():
    n = 20000
    logits = torch.tensor([0.0, 1.0], dtype=torch.float64)
    locs = torch.tensor([-2.0, 1.0], dtype=torch.float64)
    log_scales = torch.log(torch.tensor([0.3, 1.0], dtype=torch.float64))
    shape = (n, 2)
    x = mixtures.gaussian_mixture_sample(logits.expand(shape), locs.expand(shape),
                                         log_scales.expand(shape),
                                         torch.Generator().manual_seed(1))
    w = torch.softmax(logits, 0).numpy()

    def cdf(v):
        return sum(w[k] * stats.norm.cdf(v, float(locs[k]), float(log_scales[k].exp()))
                   for k in range(2))

    assert stats.kstest(x.numpy(), cdf).pvalue > 0.01


def test_von_mises_at_large_concentration_is_a_gaussian():
    period, sigma = 2.5, 1e-3
    logits = torch.tensor([0.0, 0.7], dtype=torch.float64)
    locs = torch.tensor([0.1, 0.4], dtype=torch.float64)
    log_scales = torch.log(torch.tensor([sigma, 2 * sigma], dtype=torch.float64))
    # within 4 widths of each component (far out both are negligible and differ relatively)
    x = torch.cat([torch.linspace(0.1 - 4 * sigma, 0.1 + 4 * sigma, 1001, dtype=torch.float64),
                   torch.linspace(0.4 - 8 * sigma, 0.4 + 8 * sigma, 1001, dtype=torch.float64)])
    shape = (len(x), 2)
    args = (logits.expand(shape), locs.expand(shape), log_scales.expand(shape))
    circular = mixtures.von_mises_mixture_log_prob(x, *args, period)
    gauss = mixtures.gaussian_mixture_log_prob(x, *args)
    torch.testing.assert_close(circular, gauss, atol=1e-3, rtol=0)
    # the sampler: the standard deviation of the angle is 1 / sqrt(kappa) at large kappa
    # (rejection sampler below 1e6, wrapped normal above), uniform as kappa -> 0
    kappa = torch.tensor([1e4, 1e8, 1e-10], dtype=torch.float64).repeat_interleave(10000)
    angles = mixtures.von_mises_sample_angles(kappa, torch.Generator().manual_seed(2))
    angles = angles.reshape(3, -1)
    assert float(angles.abs().max()) <= math.pi
    std = angles.std(1)
    assert float(std[0]) == pytest.approx(1e-2, rel=0.03)
    assert float(std[1]) == pytest.approx(1e-4, rel=0.03)
    assert float(std[2]) == pytest.approx(math.pi / math.sqrt(3), rel=0.03)


# ---- transformer ----------------------------------------------------------------------------


def _net_and_tokens():
    torch.manual_seed(0)
    net = CausalTransformer(hidden=16, layers=2, heads=4).eval()
    tokens = torch.randn(3, 7, 16)
    return net, tokens


def test_kv_cache_gives_the_full_causal_pass():
    net, tokens = _net_and_tokens()
    with torch.no_grad():
        full = net(tokens)
        cache = KVCache()
        pieces = [net(tokens[:, a:b], cache) for a, b in [(0, 3), (3, 4), (4, 5), (5, 7)]]
        assert cache.length == 7
        again = net(tokens, KVCache())
    torch.testing.assert_close(torch.cat(pieces, dim=1), full, atol=1e-5, rtol=0)
    torch.testing.assert_close(again, full, atol=1e-6, rtol=0)


def test_transformer_is_causal():
    net, tokens = _net_and_tokens()
    changed = tokens.clone()
    changed[:, 4:] += torch.randn(3, 3, 16)  # (a constant shift would vanish in LayerNorm)
    with torch.no_grad():
        a, b = net(tokens), net(changed)
    torch.testing.assert_close(a[:, :4], b[:, :4], atol=1e-6, rtol=0)
    assert (a[:, 4:] - b[:, 4:]).abs().max() > 1e-2


def test_every_linear_map_is_a_module():
    """A later Bayesian swap replaces each nn.Linear: there must be no attention module
    with its own weights."""
    model = _model()
    assert not any(isinstance(m, nn.MultiheadAttention) for m in model.modules())
    linear = sum(p.numel() for m in model.modules() if isinstance(m, nn.Linear)
                 for p in m.parameters())
    embeddings = sum(p.numel() for m in model.modules() if isinstance(m, (nn.Embedding,
                                                                           nn.LayerNorm))
                     for p in m.parameters())
    assert linear + embeddings == sum(p.numel() for p in model.parameters())


# ---- the JetGPT density ---------------------------------------------------------------------


def test_log_prob_is_the_sum_of_incremental_conditionals():
    model = _model()
    batch = _data(64, seed=1)
    with torch.no_grad():
        logp = log_prob(model, batch)
        assert logp.shape == (64,) and logp.dtype == torch.float64
        cache = KVCache()
        h = model.net(model.condition_tokens(batch.multiplicity), cache)
        parts = [model.conditional_log_prob(h, batch.x[:, :1], 0)]
        for i in range(1, 4):
            h = model.net(model.value_tokens(batch.x[:, i - 1: i], i - 1), cache)
            parts.append(model.conditional_log_prob(h, batch.x[:, i: i + 1], i))
    steps = torch.cat(parts, dim=1)
    torch.testing.assert_close(logp, (steps * batch.dims_mask).sum(-1), atol=1e-4, rtol=0)
    # the absent coordinates do not enter: changing them changes nothing
    other = Batch(batch.x + 5.0 * ~batch.dims_mask, batch.dims_mask, batch.multiplicity,
                  batch.weights)
    with torch.no_grad():
        torch.testing.assert_close(log_prob(model, other), logp)


def test_log_prob_of_a_2d_toy_integrates_to_one():
    """Coordinate 0 ordinary, coordinate 1 an angle of period 2.5: integrate p(x0, x1 | n=2)
    over a grid (x1 over one period) and p(x0 | n=1) over x0."""
    period = 2.5
    model = _model(Coordinates((0, 1), (None, period)), components=4)
    with torch.no_grad():  # a more structured, input-dependent density than at init
        model.head.weight.mul_(2.0)
    x0 = torch.linspace(-60, 60, 2401)  # component widths reach e^1.6 = 5 here
    n1 = 32
    x1 = -period / 2 + period * torch.arange(n1) / n1
    grid = torch.stack(torch.meshgrid(x0, x1, indexing="ij"), dim=-1).reshape(-1, 2)
    dims = torch.ones(len(grid), 2, dtype=torch.bool)
    batch = Batch(grid, dims, torch.full((len(grid),), 2), torch.ones(len(grid)))
    with torch.no_grad():
        density = log_prob(model, batch).exp().reshape(len(x0), n1)
    marginal = density.sum(1) * period / n1
    assert float(torch.trapezoid(marginal, x0.double())) == pytest.approx(1.0, abs=1e-3)
    # the conditional of x1 depends on x0
    conditional = density / marginal[:, None]
    assert float((conditional[1180] - conditional[1220]).abs().max()) > 1e-2  # x0 = -1, 1
    dims[:, 1] = False
    single = Batch(torch.stack([x0, torch.zeros_like(x0)], -1), dims[: len(x0)],
                   torch.ones(len(x0), dtype=torch.long), torch.ones(len(x0)))
    with torch.no_grad():
        p1 = log_prob(model, single).exp()
    assert float(torch.trapezoid(p1, x0.double())) == pytest.approx(1.0, abs=1e-3)


# ---- sampling -------------------------------------------------------------------------------


def test_sampling_with_and_without_the_kv_cache_agrees():
    model = _model()
    mult = torch.tensor([1, 2, 2, 1, 2] * 20)
    dims = torch.ones(100, 4, dtype=torch.bool)
    dims[mult == 1, 2:] = False
    a, info_a = sample(model, mult, dims, torch.Generator().manual_seed(3))
    b, info_b = sample(model, mult, dims, torch.Generator().manual_seed(3), kv_cache=False)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=0)
    assert info_a == {"nfe": 4, "kv_cache": True} and info_b == {"nfe": 4, "kv_cache": False}


def test_sample_shapes_zeros_and_determinism():
    model = _model()
    mult = torch.tensor([1, 2, 2, 1, 1])
    dims = torch.ones(5, 4, dtype=torch.bool)
    dims[mult == 1, 2:] = False
    a, info = sample(model, mult, dims, torch.Generator().manual_seed(7))
    b, _ = sample(model, mult, dims, torch.Generator().manual_seed(7))
    c, _ = sample(model, mult, dims, torch.Generator().manual_seed(8))
    assert a.shape == (5, 4) and a.dtype == torch.float32 and info["nfe"] == 4
    assert not a[~dims].any() and a[dims].ne(0).all()
    torch.testing.assert_close(a, b)
    assert not torch.allclose(a, c)
    # the angle lies in its window, centred at 0 before any training data
    assert float(a[:, 1].abs().max()) <= PERIOD / 2
    # only the longest existing prefix is generated
    short, info = sample(model, mult[mult == 1], dims[mult == 1])
    assert info["nfe"] == 2 and not short[:, 2:].any()


def test_bad_requests_raise_lhcgen_errors():
    model = _model()
    dims = torch.ones(1, 4, dtype=torch.bool)
    with pytest.raises(LhcgenError, match=r"multiplicity \[4\] was not in the training data"):
        sample(model, torch.tensor([4]), dims)
    with pytest.raises(LhcgenError, match=r"multiplicity \[4\] was not in the training data"):
        log_prob(model, Batch(torch.zeros(1, 4), dims, torch.tensor([4]), torch.ones(1)))
    holes = torch.tensor([[True, False, True, True]])
    with pytest.raises(LhcgenError, match="prefix"):
        sample(model, torch.tensor([2]), holes)
    with pytest.raises(LhcgenError, match="no solver or steps"):
        sample(model, torch.tensor([2]), dims, solver="euler")
    with pytest.raises(LhcgenError, match="divisible"):
        build_generator(ModelConfig(name="jetgpt", hidden=10, heads=4), COORDS, [1, 2])


def test_build_generator_makes_a_jetgpt():
    cfg = ModelConfig(name="jetgpt", hidden=16, blocks=3, heads=4, dropout=0.1,
                      jetgpt=JetGPTConfig(components=5))
    model = build_generator(cfg, COORDS, [1, 2])
    assert isinstance(model, JetGPT) and model.has_density
    assert len(model.net.blocks) == 3 and model.head.out_features == 15
    assert model.periods == (None, PERIOD, None, None)


def test_window_centre_follows_the_training_range():
    """Angles standardised with a mean offset live in a window not centred at 0: samples
    must land in the window of the data."""
    model = _model(seed=1)
    batch = _data(500, seed=2)
    low = 2.0
    batch.x[:, 1] = low + PERIOD * torch.rand(500, generator=torch.Generator().manual_seed(4))
    model.eval()
    model.loss(batch)
    assert float(model.centres[1]) == 0.0  # evaluation does not record ranges
    model.train()
    model.loss(batch)
    model.eval()
    assert float(model.centres[1]) == pytest.approx(low + PERIOD / 2, abs=0.05)
    assert float(model.centres[0]) == 0.0  # only angles have a window
    x, _ = sample(model, batch.multiplicity, batch.dims_mask, torch.Generator().manual_seed(5))
    centre = float(model.centres[1])
    assert float(x[:, 1].min()) >= centre - PERIOD / 2
    assert float(x[:, 1].max()) < centre + PERIOD / 2
    assert "range_low" in model.state_dict()


@pytest.mark.slow
def test_loss_decreases_and_samples_follow_the_condition():
    model = _model(components=4, hidden=32, seed=0).train()
    data = _data(4000)
    val = _data(2000, seed=5)
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        before = float(model.loss(val))
    for _ in range(250):
        idx = torch.randint(0, 4000, (256,), generator=g)
        batch = Batch(data.x[idx], data.dims_mask[idx], data.multiplicity[idx],
                      data.weights[idx])
        loss = model.loss(batch)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        after = float(model.loss(val))
    # per-coordinate NLL of N(+-1, 0.3^2) given the multiplicity: 0.5 log(2 pi e 0.09) = 0.22
    assert after < before - 0.5 and after < 0.6
    mult = torch.tensor([1] * 500 + [2] * 500)
    dims = torch.ones(1000, 4, dtype=torch.bool)
    dims[:500, 2:] = False
    x, info = sample(model, mult, dims, torch.Generator().manual_seed(3))
    assert info["nfe"] == 4 and not x[~dims].any()
    assert float(x[:500, :2].mean()) == pytest.approx(-1.0, abs=0.15)
    assert float(x[500:].mean()) == pytest.approx(1.0, abs=0.15)
    assert float(x[500:, 1].std()) == pytest.approx(0.3, abs=0.1)
