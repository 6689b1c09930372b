"""Classifier-free guidance of EDM (Ho & Salimans, arXiv:2207.12598) against closed forms.

Gaussian data: given the condition c, y ~ N(c, S^2) per coordinate; c itself ~ N(0, T^2), so
without it y ~ N(0, B) with B = S^2 + T^2. The exact denoisers are
D(x, sigma | c) = c + S^2 / (S^2 + sigma^2) (x - c) and D(x, sigma) = B / (B + sigma^2) x.
The guided probability-flow ODE dx/dsigma = (x - D_w) / sigma, D_w = D(.) + w [D(.|c) - D(.)],
is linear in x: w = 1 is solved by the conditional flow, w = 0 by the unconditional one (which
does not depend on c), and any w (also applied on an interval of noise levels only) by
scipy's solve_ivp, an integration independent of the samplers'.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch
from lhcgen.models.config import ModelConfig
from lhcgen.models.edm import EDMConfig, EDMDiffusion, build
from lhcgen.solvers.edm import edm_nfe
from lhcgen.solvers.sampling import EDM_OPTIONS, Guidance, guidance_of, sample
from lhcgen.transforms.coordinates import Coordinates

S, T = 0.4, 1.5
B = S**2 + T**2
SIGMA_MAX = 20.0
JETS, PARTICLES, FEATURES = 7, 2, 3


class ExactGaussian(EDMDiffusion):
    """An EDM model whose denoiser is the exact one of the Gaussian data above, the condition
    c being the first continuous condition; ``shown`` 0 gives the denoiser without it."""

    def __init__(self, condition_dropout: float = 0.1):
        super().__init__(nn.Identity(), FEATURES, [0],
                         EDMConfig(sigma_max=SIGMA_MAX, condition_dropout=condition_dropout))
        self.anchor = nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.calls: list[tuple[int, torch.Tensor | None]] = []

    def denoise(self, x, sigma, condition, dims_mask, context=None, shown=None):
        self.calls.append((len(x), None if shown is None else shown.clone()))
        sig = sigma.view(-1, 1, 1).to(x.dtype)
        c = context[:, :1, None].to(x.dtype)
        given = c + S**2 / (S**2 + sig**2) * (x - c)
        free = B / (B + sig**2) * x
        if shown is None:
            return given * dims_mask
        keep = shown.view(-1, 1, 1).to(x.dtype)
        return (keep * given + (1 - keep) * free) * dims_mask


def guided_flow(x_start: float, c: float, w: float, low: float = 0.0,
                high: float = math.inf, sigma_end: float = 0.002) -> float:
    """x at sigma_end of the guided ODE from x_start at SIGMA_MAX (solve_ivp, rtol 1e-11)."""

    def slope(sigma, x):
        given = c + S**2 / (S**2 + sigma**2) * (x - c)
        if not low < sigma <= high:
            return (x - given) / sigma
        free = B / (B + sigma**2) * x
        return (x - free - w * (given - free)) / sigma

    steps = sorted({SIGMA_MAX, sigma_end, *(s for s in (low, high) if sigma_end < s < SIGMA_MAX)},
                   reverse=True)
    x = np.array([x_start])
    for a, b in zip(steps[:-1], steps[1:], strict=False):  # integrate piece by piece
        x = solve_ivp(slope, (a, b), x, rtol=1e-11, atol=1e-12).y[:, -1]
    return float(x[0])


def draw(model, w: float | None, seed: int = 3, steps: int = 128, **options):
    g = torch.Generator().manual_seed(seed)
    c = torch.linspace(-2.0, 2.0, JETS, dtype=torch.float64).view(-1, 1).repeat(1, 4)
    mask = torch.ones(JETS, PARTICLES, FEATURES, dtype=torch.bool)
    mask[0, 1] = False  # a padded particle stays zero
    if w is not None:
        options["guidance"] = w
    x, info = sample(model, torch.zeros(JETS, dtype=torch.long), mask, g, "rk4", steps,
                     context=c, sigma_min=0.002, **options)
    start = torch.randn(JETS, PARTICLES, FEATURES, generator=torch.Generator().manual_seed(seed),
                        dtype=torch.float64) * SIGMA_MAX
    return x, info, c[:, 0], start, mask


def test_guidance_one_is_the_conditional_denoiser_alone():
    model = ExactGaussian()
    x1, info1, c, start, mask = draw(model, 1.0)
    assert all(shown is None for _, shown in model.calls)  # one pass, conditions shown
    x, info, *_ = draw(ExactGaussian(), None)
    torch.testing.assert_close(x1, x, rtol=0, atol=0)
    assert info1["nfe"] == info["nfe"] == edm_nfe("rk4", 128)  # the last step: one
    # the conditional flow: x - c = (x_T - c) sqrt(S^2 + sigma^2) / sqrt(S^2 + sigma_max^2),
    # then the last step to sigma = 0 (the rk4 samplers end on the denoiser's value)
    end = 0.002
    expected = c.view(-1, 1, 1) + (start - c.view(-1, 1, 1)) * math.sqrt(S**2 + end**2) \
        / math.sqrt(S**2 + SIGMA_MAX**2)
    expected = c.view(-1, 1, 1) + S**2 / (S**2 + end**2) * (expected - c.view(-1, 1, 1))
    torch.testing.assert_close(x, expected * mask, rtol=0, atol=1e-4)


def test_guidance_zero_forgets_the_conditions():
    """w = 0 is the denoiser without the kinematics: the same noise gives the same jet
    whatever c, x_T sqrt(B) / sqrt(B + sigma_max^2), the unconditional flow."""
    x, info, c, start, mask = draw(ExactGaussian(), 0.0)
    expected = start * math.sqrt(B) / math.sqrt(B + SIGMA_MAX**2)
    torch.testing.assert_close(x, expected * mask, rtol=0, atol=1e-3)
    assert info["nfe"] == 2 * edm_nfe("rk4", 128)  # two passes per evaluation, counted


@pytest.mark.parametrize("w,low,high", [(2.0, 0.0, math.inf), (3.5, 0.0, math.inf),
                                         (2.0, 0.3, 5.0)])
def test_guided_jets_follow_the_guided_flow(w, low, high):
    model = ExactGaussian()
    options = {} if (low, high) == (0.0, math.inf) else {"guidance_sigma_low": low,
                                                          "guidance_sigma_high": high}
    x, info, c, start, mask = draw(model, w, **options)
    got = x[:, 0, 0].numpy()
    for i in range(JETS):
        at_end = guided_flow(float(start[i, 0, 0]), float(c[i]), w, low, high)
        given = float(c[i]) + S**2 / (S**2 + 0.002**2) * (at_end - float(c[i]))
        free = B / (B + 0.002**2) * at_end
        final = given if not low < 0.002 <= high else free + w * (given - free)
        # a guidance interval switches the slope within a step: first order there
        assert got[i] == pytest.approx(final, abs=2e-4 if high == math.inf else 2e-3)
        assert abs(final - guided_flow(float(start[i, 0, 0]), float(c[i]), 1.0)) > 0.02
    assert float(x[0, 1].abs().max()) == 0.0
    hidden_calls = [i for i, (_, shown) in enumerate(model.calls) if shown is not None]
    assert info["nfe"] == len(model.calls)  # every pass counted, guided ones as two
    if high < math.inf:
        assert 0 < len(hidden_calls) < len(model.calls) / 2
    else:
        assert len(hidden_calls) == len(model.calls) / 2
    for i in hidden_calls:  # a guided evaluation: the jets shown, then the same jets hidden
        assert model.calls[i - 1][1] is None and model.calls[i][1].tolist() == [0.0] * JETS
    assert all(n == JETS for n, _ in model.calls)


def test_guidance_beyond_one_narrows_the_jets_around_their_condition():
    """The guided flow is affine in x_T, so the mean of the jets given c is the flow of x_T =
    0 and their standard deviation, x_T ~ N(0, sigma_max^2), the flow of x_T = sigma_max
    minus that of 0.
    w = 0: the unconditional N(0, B); w = 1: N(c, S^2); w > 1: the mean pushed past c, away
    from the unconditional 0, and the spread narrower than S: guidance trades diversity for
    adherence to the condition (w = 4 keeps 2 % of S)."""
    c = 1.0
    mean = {w: guided_flow(0.0, c, w) for w in (0.0, 1.0, 1.5, 2.0, 4.0)}
    spread = {w: (guided_flow(SIGMA_MAX, c, w) - mean[w]) for w in mean}
    assert mean[0.0] == pytest.approx(0.0, abs=1e-9)
    assert spread[0.0] == pytest.approx(math.sqrt(B) * SIGMA_MAX / math.hypot(math.sqrt(B),
                                                                               SIGMA_MAX),
                                         rel=1e-4)
    assert mean[1.0] == pytest.approx(c * (1 - S / math.hypot(S, SIGMA_MAX)), rel=1e-6)
    assert spread[1.0] == pytest.approx(S * SIGMA_MAX / math.hypot(S, SIGMA_MAX), rel=1e-4)
    assert c < mean[1.5] < mean[2.0]
    assert spread[1.0] > spread[1.5] > spread[2.0] > spread[4.0] and spread[4.0] < 0.02 * S


def test_guidance_needs_a_model_that_learnt_to_do_without_the_conditions():
    plain = ExactGaussian(condition_dropout=0.0)
    with pytest.raises(LhcgenError, match="condition_dropout > 0"):
        draw(plain, 2.0, steps=2)
    draw(plain, 1.0, steps=2)  # w = 1 needs nothing
    with pytest.raises(LhcgenError, match="finite number >= 0"):
        guidance_of(ExactGaussian(), {"guidance": -1.0}, True)
    with pytest.raises(LhcgenError, match="low < high"):
        guidance_of(ExactGaussian(), {"guidance": 2.0, "guidance_sigma_low": 3.0,
                                      "guidance_sigma_high": 1.0}, True)
    with pytest.raises(LhcgenError, match="continuous conditions"):
        guidance_of(ExactGaussian(), {"guidance": 2.0}, False)
    assert guidance_of(ExactGaussian(), {"guidance": 2.0}, True) == Guidance(2.0)
    assert {"guidance", "guidance_sigma_low", "guidance_sigma_high"} <= set(EDM_OPTIONS)


# ---- training -------------------------------------------------------------------------------
class Spy(nn.Module):
    """A network that records the conditioning vector it is given."""

    def __init__(self):
        super().__init__()
        self.weight = nn.Parameter(torch.zeros((), dtype=torch.float64))
        self.seen: list[torch.Tensor] = []

    def forward(self, x, context, dims_mask):
        self.seen.append(context.detach().clone())
        return x * self.weight


def clouds(n: int, seed: int = 0) -> Batch:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, PARTICLES, FEATURES, generator=g, dtype=torch.float64)
    context = 1 + torch.rand(n, 4, generator=g, dtype=torch.float64)  # never zero
    return Batch(x, torch.ones_like(x, dtype=torch.bool), torch.zeros(n, dtype=torch.long),
                 torch.ones(n, dtype=torch.float64), context)


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_condition_dropout_hides_the_kinematics_of_a_share_p(p):
    n = 20000
    spy = Spy()
    model = EDMDiffusion(spy, FEATURES, [0], EDMConfig(condition_dropout=p), time_embedding=8)
    batch = clouds(n)
    model.loss(batch, generator=torch.Generator().manual_seed(5))
    vector = spy.seen[0]
    assert vector.shape == (n, 8 + 1 + 4 + 1)  # noise level, type, kinematics, flag
    flag, kinematics = vector[:, -1], vector[:, -5:-1]
    assert set(flag.unique().tolist()) == {0.0, 1.0}
    hidden = flag == 0
    assert abs(float(hidden.double().mean()) - p) < 4 * math.sqrt(p * (1 - p) / n)
    assert float(kinematics[hidden].abs().max()) == 0.0  # hidden: zeros
    torch.testing.assert_close(kinematics[~hidden], batch.context[~hidden])  # shown as given
    assert float(vector[:, 8].min()) == 1.0  # the jet type is always shown
    # the same seed hides the same jets
    again = Spy()
    EDMDiffusion(again, FEATURES, [0], EDMConfig(condition_dropout=p), time_embedding=8).loss(
        batch, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(again.seen[0], vector, rtol=0, atol=0)
    model.eval()  # the validation loss: every example shown, as nn.Dropout
    model.loss(batch, generator=torch.Generator().manual_seed(5))
    assert float(spy.seen[-1][:, -1].min()) == 1.0


def test_without_dropout_the_network_and_its_noise_are_those_of_before():
    """p = 0: no flag input, and the loss draws exactly what it drew before the option (the
    training of every earlier run repeats)."""
    spy = Spy()
    model = EDMDiffusion(spy, FEATURES, [0], EDMConfig(), time_embedding=8)
    batch = clouds(100)
    g = torch.Generator().manual_seed(7)
    model.loss(batch, generator=g)
    assert spy.seen[0].shape == (100, 8 + 1 + 4)
    after = torch.rand(1, generator=g)
    g2 = torch.Generator().manual_seed(7)
    torch.randn(100, generator=g2, dtype=torch.float64)
    torch.randn(batch.x.shape, generator=g2, dtype=torch.float64)
    assert float(after) == float(torch.rand(1, generator=g2))
    with pytest.raises(LhcgenError, match="cannot hide"):
        model.denoise(batch.x, torch.ones(100, dtype=torch.float64), batch.multiplicity,
                      batch.dims_mask, batch.context, torch.zeros(100))


def test_condition_dropout_needs_continuous_conditions():
    cfg = ModelConfig(name="edm", net="mlp", hidden=8, blocks=1, time_embedding=8,
                      edm=EDMConfig(condition_dropout=0.1))
    with pytest.raises(LhcgenError, match="condition_dropout.*has none"):
        build(cfg, Coordinates.plain([0, 1, 1]), [1, 2])


def test_a_guidable_cae_takes_one_input_more_and_samples_both_ways():
    """The flag is one more input of the CAE's conditioning layers; with p = 0 the network's
    parameters are those of every earlier run (their checkpoints load)."""
    coordinates = Coordinates.cloud(PARTICLES, FEATURES, context=4, angular=2)
    cfg = ModelConfig(name="edm", net="cae", hidden=8, blocks=1, heads=2, global_tokens=2,
                      time_embedding=8)
    torch.manual_seed(0)
    plain = build(cfg, coordinates, [0])
    guided = build(ModelConfig(**{**cfg.__dict__, "edm": EDMConfig(condition_dropout=0.1)}),
                   coordinates, [0])
    shapes = {k: tuple(v.shape) for k, v in plain.state_dict().items()}
    changed = {k for k, v in guided.state_dict().items() if tuple(v.shape) != shapes[k]}
    assert set(guided.state_dict()) == set(shapes) and changed
    assert all(guided.state_dict()[k].shape[-1] == shapes[k][-1] + 1 for k in changed)
    batch = clouds(5)
    mask = torch.ones(5, PARTICLES, FEATURES, dtype=torch.bool)
    x, info = sample(guided.double(), batch.multiplicity, mask, torch.Generator().manual_seed(1),
                     "midpoint", 3, context=batch.context, guidance=2.0)
    assert x.shape == (5, PARTICLES, FEATURES) and bool(torch.isfinite(x).all())
    assert info["nfe"] == 2 * 5
