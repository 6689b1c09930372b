"""Variational Bayesian linear layers (nets/bayesian.py) against closed forms and toy fits.

References: Blundell et al., arXiv:1505.05424 (Bayes by backprop); Kingma, Salimans, Welling,
arXiv:1506.02557 (local reparameterisation); Bellagente et al., arXiv:2104.04543.
"""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.distributions import Normal
from torch.distributions import kl_divergence as torch_kl

from lhcgen import solvers
from lhcgen.models import Batch, Coordinates, build_generator
from lhcgen.models.config import BayesianConfig, ModelConfig
from lhcgen.nets.bayesian import (
    BayesianLinear,
    bayesianize,
    is_bayesian,
    kl_divergence,
    weight_draw,
)
from lhcgen.nets.mlp import ResidualMLP
from lhcgen.nets.transformer import ObjectTransformer
from lhcgen.train.ema import EMA

COORDS = Coordinates.plain([0, 0, 1, 1])


def _layer(seed: int = 0, log_var: tuple[float, float] = (-2.0, 0.0), prior_std: float = 0.7,
           dtype: torch.dtype = torch.float32) -> BayesianLinear:
    """A 3 -> 2 layer with random means and log-variances spread over ``log_var``."""
    torch.manual_seed(seed)
    layer = BayesianLinear(3, 2, prior_std=prior_std, dtype=dtype)
    with torch.no_grad():
        lo, hi = log_var
        layer.weight_log_var.uniform_(lo, hi)
        layer.bias_log_var.uniform_(lo, hi)
        layer.bias_mean.normal_()
    return layer


def _inputs(n: int = 6, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.ones(n, 4, dtype=torch.bool)
    mask[: n // 2, 2:] = False
    return torch.randn(n, 4, generator=g) * mask, torch.randn(n, 5, generator=g), mask


# --- the layer --------------------------------------------------------------------------


def test_kl_matches_torch_distributions_and_monte_carlo():
    layer = _layer()
    q = [Normal(m.detach(), (0.5 * lv.detach()).exp())
         for m, lv in ((layer.weight_mean, layer.weight_log_var),
                       (layer.bias_mean, layer.bias_log_var))]
    p = Normal(0.0, layer.prior_std)
    exact = sum(torch_kl(qi, p).sum() for qi in q)
    torch.testing.assert_close(layer.kl().detach(), exact)
    # Monte Carlo: KL = E_q[log q(w) - log p(w)]
    g = torch.Generator().manual_seed(3)
    terms = 0.0
    for qi in q:
        w = qi.loc + qi.scale * torch.randn((20000, *qi.loc.shape), generator=g)
        terms = terms + (qi.log_prob(w) - p.log_prob(w)).flatten(1).sum(1)
    estimate, error = terms.mean(), terms.std() / len(terms) ** 0.5
    assert abs(float(estimate - exact)) < 5 * float(error)
    # the KL vanishes exactly when q equals the prior
    with torch.no_grad():
        for m, lv in ((layer.weight_mean, layer.weight_log_var),
                      (layer.bias_mean, layer.bias_log_var)):
            m.zero_()
            lv.fill_(2 * torch.log(torch.tensor(layer.prior_std)))
    assert abs(layer.kl().item()) < 1e-5


def test_kl_gradients_and_float64():
    layer = _layer(dtype=torch.float64)
    kl = layer.kl()
    assert kl.dtype == torch.float64
    kl.backward()
    # d KL / d log_var = (sigma^2 / s^2 - 1) / 2, d KL / d mu = mu / s^2
    s2 = layer.prior_std ** 2
    torch.testing.assert_close(layer.weight_log_var.grad,
                               0.5 * (layer.weight_log_var.detach().exp() / s2 - 1))
    torch.testing.assert_close(layer.bias_mean.grad, layer.bias_mean.detach() / s2)
    out = layer(torch.randn(4, 3, dtype=torch.float64))
    assert out.dtype == torch.float64


def test_from_linear_eval_equals_the_linear():
    torch.manual_seed(0)
    linear = nn.Linear(5, 3)
    layer = BayesianLinear.from_linear(linear, prior_std=2.0, init_log_variance=-4.0)
    x = torch.randn(7, 2, 5)  # leading dimensions pass through
    layer.eval()
    torch.testing.assert_close(layer(x), linear(x))
    assert torch.equal(layer.weight, linear.weight) and torch.equal(layer.bias, linear.bias)
    assert layer.weight_mean is not linear.weight  # a copy, not shared storage
    assert torch.all(layer.weight_log_var == -4.0) and torch.all(layer.bias_log_var == -4.0)
    assert layer.prior_std == 2.0
    # training mode is stochastic, around the linear output
    layer.train()
    a, b = layer(x), layer(x)
    assert not torch.equal(a, b)
    # without bias
    nobias = BayesianLinear.from_linear(nn.Linear(5, 3, bias=False)).eval()
    assert nobias.bias is None and nobias.kl() > 0
    nobias.train()
    y = nobias(torch.zeros(2, 5, requires_grad=True))
    y.sum().backward()  # vanishing variance at x = 0 must not give NaN gradients
    assert torch.isfinite(nobias.weight_log_var.grad).all()


def test_training_outputs_follow_the_local_reparameterisation():
    layer = _layer(log_var=(-1.5, -0.5))
    x = torch.tensor([[1.0, -2.0, 0.5], [0.0, 0.3, 3.0]])
    n = 20000
    torch.manual_seed(5)
    out = layer.train()(x.repeat(n, 1)).detach().reshape(n, 2, 2)
    mean = x @ layer.weight_mean.detach().T + layer.bias_mean.detach()
    var = (x ** 2) @ layer.weight_log_var.detach().exp().T + layer.bias_log_var.detach().exp()
    assert torch.all((out.mean(0) - mean).abs() < 5 * (var / n).sqrt())
    torch.testing.assert_close(out.var(0), var, rtol=0.06, atol=0.0)
    # the two output units of one input are independent (factorised posterior)
    corr = torch.corrcoef(out[:, 0].T)[0, 1]
    assert abs(float(corr)) < 0.05
    # fresh noise on every call, drawn from the global RNG
    torch.manual_seed(11)
    a = layer(x)
    torch.manual_seed(11)
    torch.testing.assert_close(layer(x), a)
    assert not torch.equal(layer(x), a)


def test_invalid_settings():
    with pytest.raises(ValueError, match="prior_std"):
        BayesianLinear(2, 2, prior_std=0.0)
    with pytest.raises(ValueError, match="init_log_variance"):
        BayesianLinear(2, 2, init_log_variance=float("nan"))


# --- weight draws -----------------------------------------------------------------------


def _bayesian_mlp(seed: int = 0) -> ResidualMLP:
    torch.manual_seed(seed)
    net = ResidualMLP(4, 5, hidden=16, blocks=2)
    bayesianize(net, prior_std=1.0, init_log_variance=-3.0)
    return net


def test_weight_draw_is_reproducible_fixed_and_restored():
    net = _bayesian_mlp().eval()
    x, c, _ = _inputs()
    with torch.no_grad():
        mean_out = net(x, c)
        with weight_draw(net, torch.Generator().manual_seed(1)):
            a = net(x, c)
            assert torch.equal(net(x, c), a)  # one network for the whole context
            net.train()
            assert torch.equal(net(x, c), a)  # in any mode
            net.eval()
        with weight_draw(net, torch.Generator().manual_seed(1)):
            assert torch.equal(net(x, c), a)
        with weight_draw(net, torch.Generator().manual_seed(2)):
            b = net(x, c)
        assert float((a - b).abs().max()) > 1e-3
        assert float((a - mean_out).abs().max()) > 1e-3
        torch.testing.assert_close(net(x, c), mean_out)  # restored: eval -> means
        net.train()
        assert not torch.equal(net(x, c), net(x, c))  # restored: training -> fresh noise
        # nested contexts and exceptions restore the enclosing state
        net.eval()
        with weight_draw(net, torch.Generator().manual_seed(1)):
            with weight_draw(net, torch.Generator().manual_seed(2)):
                assert torch.equal(net(x, c), b)
            assert torch.equal(net(x, c), a)
        with pytest.raises(RuntimeError, match="boom"), \
                weight_draw(net, torch.Generator().manual_seed(2)):
            raise RuntimeError("boom")
        torch.testing.assert_close(net(x, c), mean_out)


def test_drawn_weights_follow_the_posterior():
    layer = BayesianLinear(100, 100, init_log_variance=-1.0)
    with torch.no_grad():
        layer.weight_log_var.uniform_(-3.0, 1.0)
    with weight_draw(layer, torch.Generator().manual_seed(0)):
        z = (layer.weight - layer.weight_mean) / (0.5 * layer.weight_log_var).exp()
        z = z.detach()
    assert abs(float(z.mean())) < 0.05 and abs(float(z.std()) - 1.0) < 0.05
    # the draw uses the generator only: the global RNG does not matter
    torch.manual_seed(1)
    with weight_draw(layer, torch.Generator().manual_seed(0)):
        w1 = layer.weight.detach().clone()
    torch.manual_seed(2)
    with weight_draw(layer, torch.Generator().manual_seed(0)):
        assert torch.equal(layer.weight, w1)


def test_weight_draw_float64_gradients_and_errors():
    net = _bayesian_mlp().double()
    x, c, _ = _inputs()
    with weight_draw(net, torch.Generator().manual_seed(0)):
        out = net(x.double(), c.double())
        assert out.dtype == torch.float64
        out.square().sum().backward()  # gradients flow to the posterior parameters
    layer = net.embed
    assert layer.weight_log_var.grad is not None and layer.weight_log_var.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="no Bayesian layers"), \
            weight_draw(nn.Sequential(nn.Linear(2, 2)), torch.Generator()):
        pass


# --- bayesianize ------------------------------------------------------------------------


def test_bayesianize_residual_mlp():
    torch.manual_seed(0)
    net = ResidualMLP(4, 5, hidden=16, blocks=2)
    ref = copy.deepcopy(net)
    assert not is_bayesian(net)
    assert bayesianize(net) == 1 + 3 * 2 + 1  # embed, (inner, context, outer) x 2, head
    assert is_bayesian(net)
    assert not any(type(m) is nn.Linear for m in net.modules())
    x, c, _ = _inputs()
    net.eval()
    torch.testing.assert_close(net(x, c), ref(x, c))
    net.train()
    net(x, c).square().sum().backward()
    for layer in (m for m in net.modules() if isinstance(m, BayesianLinear)):
        assert layer.weight_log_var.grad.abs().sum() > 0
        assert layer.bias_log_var.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="no nn.Linear"):
        bayesianize(net)  # already Bayesian
    with pytest.raises(ValueError, match="no nn.Linear"):
        bayesianize(nn.Sequential(nn.ReLU()))
    with pytest.raises(ValueError, match="top-level"):
        bayesianize(nn.Linear(2, 2))


def test_bayesianize_shared_linear_stays_shared():
    shared = nn.Linear(3, 3)
    net = nn.Sequential(shared, nn.ReLU(), shared)
    assert bayesianize(net) == 1
    assert net[0] is net[2] and isinstance(net[0], BayesianLinear)


def test_bayesianize_object_transformer():
    torch.manual_seed(0)
    net = ObjectTransformer([0, 0, 1, 1], 5, hidden=16, layers=2, heads=2)
    ref = copy.deepcopy(net)
    # embed, context, read + (linear1, linear2) per layer; attention projections untouched
    assert bayesianize(net, init_log_variance=-3.0) == 3 + 2 * 2
    for layer in net.encoder.layers:
        assert isinstance(layer.linear1, BayesianLinear)
        assert isinstance(layer.self_attn.out_proj, nn.Linear)
        assert not any(isinstance(m, BayesianLinear) for m in layer.self_attn.modules())
    x, c, mask = _inputs()
    net.eval()
    ref.eval()
    # eval + no_grad takes the fused encoder-layer fast path that reads layer.weight
    with torch.no_grad():
        fast = net(x, c, mask)
        torch.testing.assert_close(fast, ref(x, c, mask))
        with weight_draw(net, torch.Generator().manual_seed(4)):
            drawn_fast = net(x, c, mask)
    with weight_draw(net, torch.Generator().manual_seed(4)):
        drawn_slow = net(x, c, mask)  # grad enabled: the Python path
    torch.testing.assert_close(drawn_fast, drawn_slow.detach(), atol=1e-5, rtol=1e-5)
    assert float((drawn_fast - fast).abs().max()) > 1e-3
    net.train()
    out = net(x, c, mask)
    assert out.shape == (6, 4) and torch.isfinite(out).all()
    out.square().sum().backward()
    for layer in (m for m in net.modules() if isinstance(m, BayesianLinear)):
        assert layer.weight_log_var.grad.abs().sum() > 0


# --- through build_generator ------------------------------------------------------------


def _generator(seed: int = 0):
    torch.manual_seed(seed)
    cfg = ModelConfig(name="cfm", hidden=16, blocks=1, time_embedding=8,
                      bayesian=BayesianConfig(enabled=True, init_log_variance=-4.0))
    return build_generator(cfg, COORDS, [1, 2])


def _batch(n: int = 32) -> Batch:
    x, _, mask = _inputs(n)
    return Batch(x, mask, torch.where(mask[:, 2], 2, 1), torch.ones(n))


def test_build_generator_bayesian_cfm():
    model = _generator()
    assert is_bayesian(model)
    assert not any(type(m) is nn.Linear for m in model.modules())
    assert sum(isinstance(m, BayesianLinear) for m in model.modules()) == 1 + 3 + 1
    model.train()
    loss = model.loss(_batch(), torch.Generator().manual_seed(0))
    kl = kl_divergence(model)
    assert torch.isfinite(loss) and kl.item() > 0
    (loss + kl / 1000).backward()
    assert model.net.embed.weight_log_var.grad.abs().sum() > 0
    assert float(kl_divergence(nn.Linear(2, 2))) == 0.0
    assert not is_bayesian(build_generator(ModelConfig(hidden=16, blocks=1), COORDS, [1, 2]))


def test_deepcopy_state_dict_and_ema():
    model = _generator(0).eval()
    mult = torch.tensor([1, 2, 2])
    dims = torch.ones(3, 4, dtype=torch.bool)
    dims[0, 2:] = False

    def sample(m: nn.Module, seed: int = 7) -> torch.Tensor:
        return solvers.sample(m, mult, dims, torch.Generator().manual_seed(seed), "euler", 3)[0]

    reference = sample(model)
    twin = copy.deepcopy(model)
    assert twin.net.embed.weight_log_var is not model.net.embed.weight_log_var
    torch.testing.assert_close(sample(twin), reference)
    state = model.state_dict()
    assert {"net.embed.weight_mean", "net.embed.weight_log_var", "net.embed.bias_mean",
            "net.embed.bias_log_var"} <= set(state)
    fresh = _generator(1).eval()
    assert not torch.allclose(sample(fresh), reference)
    fresh.load_state_dict(state)
    torch.testing.assert_close(sample(fresh), reference)
    torch.testing.assert_close(kl_divergence(fresh), kl_divergence(model))
    # posterior draws: one network per draw, reproducible per seed
    with weight_draw(fresh, torch.Generator().manual_seed(1)):
        d1 = sample(fresh)
    with weight_draw(fresh, torch.Generator().manual_seed(1)):
        torch.testing.assert_close(sample(fresh), d1)
    with weight_draw(fresh, torch.Generator().manual_seed(2)):
        assert not torch.allclose(sample(fresh), d1)
    # the EMA deep-copies the model and averages all posterior parameters
    ema = EMA(model, 0.5)
    with torch.no_grad():
        model.net.embed.weight_log_var.add_(1.0)
    ema.update(model)
    assert is_bayesian(ema.model)
    assert torch.all(ema.model.net.embed.weight_log_var > -4.0)


# --- a Bayesian regression with a known posterior width ---------------------------------


def _fit_slope_std(n: int, sigma: float = 0.1, steps: int = 600) -> tuple[float, float]:
    """Fit y = a x + b + N(0, sigma^2) by minimising E_q[MSE] / 2 sigma^2 + KL / N.
    Returns (fitted posterior std of the slope, mean-field optimum)."""
    g = torch.Generator().manual_seed(n)
    x = 2 * torch.rand(n, 1, generator=g) - 1
    y = 1.5 * x - 0.3 + sigma * torch.randn(n, 1, generator=g)
    torch.manual_seed(0)
    layer = BayesianLinear(1, 1, prior_std=1.0, init_log_variance=-6.0)
    opt = torch.optim.Adam(layer.parameters(), lr=0.1)
    stds = []
    for step in range(steps):
        loss = ((layer(x) - y) ** 2).mean() / (2 * sigma ** 2) + layer.kl() / n
        opt.zero_grad()
        loss.backward()
        opt.step()
        if step >= steps - 150:  # average out the Monte-Carlo jitter
            stds.append(float((0.5 * layer.weight_log_var.detach()).exp()))
    # for a factorised Gaussian q the optimal variance is 1 / (diagonal of the precision)
    optimum = float((x.square().sum() / sigma ** 2 + 1.0) ** -0.5)
    assert float(layer.weight_mean.detach()) == pytest.approx(1.5, abs=5 * optimum + 0.02)
    return sum(stds) / len(stds), optimum


def test_posterior_width_shrinks_with_more_data():
    small, small_expected = _fit_slope_std(20)
    large, large_expected = _fit_slope_std(2000)
    assert small == pytest.approx(small_expected, rel=0.3)
    assert large == pytest.approx(large_expected, rel=0.3)
    assert small > 5 * large
