"""EDM samplers against the closed forms of Gaussian data.

For data y ~ N(MU, S^2) per coordinate the exact denoiser is D(x, sigma) = MU + S^2 / (S^2 +
sigma^2) (x - MU), the marginal at sigma is N(MU, S^2 + sigma^2), and the probability-flow
ODE dx/dsigma = (x - D) / sigma is solved by x(sigma) - MU = (x_T - MU) sqrt(S^2 + sigma^2)
/ sqrt(S^2 + sigma_max^2).
"""

from __future__ import annotations

import math

import pytest
import torch

from lhcgen.errors import LhcgenError
from lhcgen.noise import EventNoise
from lhcgen.solvers import diffusion
from lhcgen.solvers.edm import (
    EDM_SAMPLERS,
    EDM_STOCHASTIC,
    check_edm_sampler,
    ddim,
    dpm_solver_pp_2m,
    edm_euler,
    edm_heun,
    edm_nfe,
    edm_sample,
    edm_stochastic,
    euler_maruyama,
    karras_sigmas,
)

MU, S = 0.3, 0.5
DETERMINISTIC = [name for name in EDM_SAMPLERS if name not in EDM_STOCHASTIC]
ORDER_STEPS = (16, 32, 64)


def denoise(x, sigma):
    return MU + S**2 / (S**2 + sigma**2) * (x - MU)


def flow(x_start, sigma_start, sigma):
    """The exact PF-ODE solution from (x_start, sigma_start) to sigma."""
    return MU + (x_start - MU) * math.sqrt(S**2 + sigma**2) / math.sqrt(S**2 + sigma_start**2)


def start(sigma_max):
    z = torch.linspace(-2.5, 2.5, 11, dtype=torch.float64).reshape(11, 1)
    return sigma_max * z


def test_karras_sigmas():
    sigmas = karras_sigmas(10, sigma_min=0.01, sigma_max=10.0, rho=7.0)
    assert sigmas.dtype == torch.float64 and sigmas.shape == (11,)
    assert sigmas[0] == 10.0 and sigmas[-2] == 0.01 and sigmas[-1] == 0.0
    assert bool((sigmas[1:] < sigmas[:-1]).all())
    i = 4  # eq. 5
    expected = (10.0 ** (1 / 7) + i / 9 * (0.01 ** (1 / 7) - 10.0 ** (1 / 7))) ** 7
    assert float(sigmas[i]) == pytest.approx(expected, rel=1e-14)
    assert karras_sigmas(1, sigma_max=5.0).tolist() == [5.0, 0.0]
    uniform = karras_sigmas(4, sigma_min=1.0, sigma_max=4.0, rho=1.0)
    torch.testing.assert_close(uniform, torch.tensor([4.0, 3.0, 2.0, 1.0, 0.0],
                                                     dtype=torch.float64))
    with pytest.raises(LhcgenError, match="positive, got 0"):
        karras_sigmas(0)
    with pytest.raises(LhcgenError, match="sigma_min < sigma_max"):
        karras_sigmas(5, sigma_min=0.0)


@pytest.mark.parametrize("name,steps,atol", [
    ("euler", 512, 1.5e-2), ("ddim", 512, 1.5e-2), ("heun", 256, 1e-3), ("midpoint", 256, 1e-4),
    ("rk4", 128, 1e-4), ("heun_dp", 256, 1e-3), ("midpoint_dp", 256, 1e-4), ("rk4_dp", 128, 1e-4),
    ("dpmpp_2m", 256, 1e-3)])
def test_deterministic_samplers_follow_the_exact_flow(name, steps, atol):
    x_T = start(80.0)
    x, _ = EDM_SAMPLERS[name](denoise, x_T, karras_sigmas(steps))
    torch.testing.assert_close(x, flow(x_T, 80.0, 0.0), rtol=0.0, atol=atol)
    # x_T = sigma_max z lands on MU + S z up to MU S / sigma_max (x_T has mean 0, not MU)
    torch.testing.assert_close(x, MU + S * x_T / 80.0, rtol=0.0, atol=atol + MU * S / 80.0)


def _errors(name):
    """Max error at ORDER_STEPS from sigma_max = 10 to the exact solution. The reference is
    the exact flow to sigma_min followed by the sampler's own last step to 0, x = D(x,
    sigma_min): that step's error (~ sigma_min^2) does not shrink with the step count and
    would mask the order."""
    sigma_max, sigma_min = 10.0, 0.01
    x_T = start(sigma_max)
    reference = denoise(flow(x_T, sigma_max, sigma_min), sigma_min)
    errors = []
    for steps in ORDER_STEPS:
        x, _ = EDM_SAMPLERS[name](denoise, x_T, karras_sigmas(steps, sigma_min, sigma_max))
        errors.append(float((x - reference).abs().max()))
    return errors


@pytest.mark.parametrize("name,low,high", [
    ("euler", 1.6, 2.5), ("heun", 3.0, 6.0), ("midpoint", 3.0, 10.0), ("dpmpp_2m", 3.0, 6.0),
    ("rk4", 10.0, 24.0), ("heun_dp", 3.0, 6.0), ("midpoint_dp", 3.0, 10.0),
    ("rk4_dp", 10.0, 24.0)])
def test_convergence_order(name, low, high):
    errors = _errors(name)
    ratios = [a / b for a, b in zip(errors[:-1], errors[1:], strict=True)]
    assert all(low < r < high for r in ratios), (name, errors, ratios)


DENOISER_ERROR = 1e-3


def imperfect(x, sigma):
    """The exact denoiser plus a smooth error of size DENOISER_ERROR that varies with sigma,
    as a trained network's would."""
    return denoise(x, sigma) + DENOISER_ERROR * torch.cos(7 * x + 13 * math.log(sigma))


@pytest.mark.parametrize("steps", [4, 8])
def test_data_prediction_form_does_not_amplify_the_denoiser_error(steps):
    """On the coarse last steps of a rho = 7 grid (sigma 0.47 -> 0.002 at 4 steps) a stage
    in sigma weighs the denoiser's error by h / sigma_stage: Heun and RK4 in sigma move x by
    tens of times the error, the same methods in y = x / sigma, u = 1 / sigma by about the
    error itself (measured: Heun 120x -> 2.2x at 4 steps, 13x -> 3.4x at 8; RK4 43x -> 1.9x
    and 5.8x -> 3.5x)."""
    x_T, sigmas = start(80.0), karras_sigmas(steps)

    def shift(name):
        moved = EDM_SAMPLERS[name](imperfect, x_T, sigmas)[0]
        return float((moved - EDM_SAMPLERS[name](denoise, x_T, sigmas)[0]).abs().max())

    for sigma_form, dp_form in (("heun", "heun_dp"), ("rk4", "rk4_dp")):
        assert shift(dp_form) < 4 * DENOISER_ERROR
        assert shift(sigma_form) > 5 * DENOISER_ERROR
    assert shift("heun") > (100 if steps == 4 else 10) * DENOISER_ERROR


def test_euler_in_the_data_prediction_form_is_euler_in_sigma():
    from lhcgen.solvers.edm import _data_prediction_flow

    x_T, sigmas = start(80.0), karras_sigmas(6)
    torch.testing.assert_close(_data_prediction_flow("euler", imperfect, x_T, sigmas)[0],
                               edm_euler(imperfect, x_T, sigmas)[0], rtol=1e-12, atol=1e-12)


def test_last_step_to_zero_is_the_denoised_value():
    x = start(1.0)
    for name in EDM_SAMPLERS:
        options = {"s_churn": 0.0} if name == "stochastic" else {}
        out, nfe = edm_sample(name, denoise, x, [0.7, 0.0], **options)
        assert nfe == 1
        torch.testing.assert_close(out, denoise(x, 0.7), rtol=0.0, atol=1e-15)


@pytest.mark.parametrize("name", list(EDM_SAMPLERS))
@pytest.mark.parametrize("steps", [1, 2, 5])
def test_counted_nfe_matches_nominal(name, steps):
    x = start(5.0)
    generator = torch.Generator().manual_seed(0)
    _, nfe = edm_sample(name, denoise, x, karras_sigmas(steps, 0.01, 5.0), generator=generator)
    assert nfe == edm_nfe(name, steps)
    # a grid that stops above 0: every step at full cost
    sigmas = karras_sigmas(steps + 1, 0.01, 5.0)[:-1]
    _, nfe = edm_sample(name, denoise, x, sigmas, generator=generator)
    assert nfe == edm_nfe(name, steps, ends_at_zero=False)


def test_nominal_nfe_formulas():
    n = 10
    assert [edm_nfe(name, n) for name in ("euler", "ddim", "dpmpp_2m", "euler_maruyama")] == [
        n] * 4
    assert [edm_nfe(name, n) for name in ("heun", "midpoint", "stochastic", "heun_dp",
                                          "midpoint_dp")] == [2 * n - 1] * 5
    assert edm_nfe("rk4", n) == 4 * n - 3 and edm_nfe("rk4", n, ends_at_zero=False) == 4 * n
    assert edm_nfe("rk4_dp", n) == 4 * n - 3


def _gaussian_sample(sampler, steps=200, **options):
    """20000 x 2 samples, started from the exact marginal N(MU, S^2 + sigma_max^2)."""
    generator = torch.Generator().manual_seed(0)
    sigmas = karras_sigmas(steps)
    x = MU + math.sqrt(S**2 + 80.0**2) * torch.randn(20000, 2, generator=generator,
                                                      dtype=torch.float64)
    y, nfe = sampler(denoise, x, sigmas, generator, **options)
    return y, nfe


@pytest.mark.parametrize("sampler,options", [
    (edm_stochastic, {"s_churn": 40.0}), (edm_stochastic, {"s_churn": 80.0, "s_tmax": 10.0}),
    (edm_stochastic, {"s_churn": 40.0, "s_tmin": 0.05, "s_tmax": 50.0}),
    (euler_maruyama, {})])
def test_stochastic_samplers_reach_the_data_distribution(sampler, options):
    y, _ = _gaussian_sample(sampler, **options)
    standard_error = S / math.sqrt(len(y))
    assert float((y.mean(0) - MU).abs().max()) < 4 * standard_error
    torch.testing.assert_close(y.std(0), torch.full((2,), S, dtype=torch.float64),
                               rtol=0.03, atol=0.0)


def test_churn_zero_is_heun_and_ddim_is_euler():
    x = start(80.0)
    sigmas = karras_sigmas(12)
    heun, _ = edm_heun(denoise, x, sigmas)
    stochastic, nfe = edm_stochastic(denoise, x, sigmas, torch.Generator().manual_seed(1),
                                     s_churn=0.0)
    assert torch.equal(stochastic, heun) and nfe == 23
    # churn confined to noise levels no step visits is Heun too; inside them it is not
    outside, _ = edm_stochastic(denoise, x, sigmas, torch.Generator().manual_seed(1),
                                s_churn=40.0, s_tmin=100.0, s_tmax=200.0)
    inside, _ = edm_stochastic(denoise, x, sigmas, torch.Generator().manual_seed(1),
                               s_churn=40.0, s_tmin=0.05, s_tmax=50.0)
    assert torch.equal(outside, heun) and not torch.allclose(inside, heun)
    assert ddim is edm_euler


def test_euler_is_vp_ddim():
    """Karras sec. 3 / Song et al. sec. 4.3: DDIM (eta = 0) on a VP chain is the Euler step
    in x / sqrt(alpha_bar), sigma = sqrt((1 - alpha_bar) / alpha_bar)."""
    from lhcgen.models.noise_schedules import alpha_bar_from_betas, linear_betas

    alpha_bar = alpha_bar_from_betas(linear_betas(1000))
    timesteps, subset, _ = diffusion.respaced(alpha_bar, 20)

    def sigma_of(ab):
        return math.sqrt((1.0 - ab) / ab)

    def eps(x_vp, t):
        ab = float(alpha_bar[t - 1])
        sigma, x = sigma_of(ab), x_vp / math.sqrt(ab)
        return (x - denoise(x, sigma)) / sigma

    sigmas = [sigma_of(ab) for ab in reversed(subset.tolist())] + [0.0]
    x_T = start(sigmas[0])
    x_vp, nfe_vp = diffusion.ddim(eps, x_T * math.sqrt(float(subset[-1])), subset, timesteps)
    x, nfe = ddim(denoise, x_T, sigmas)
    torch.testing.assert_close(x, x_vp, rtol=1e-10, atol=1e-12)
    assert nfe == nfe_vp == 20


@pytest.mark.parametrize("name", sorted(EDM_STOCHASTIC))
def test_seeded_runs_repeat_and_per_event_noise_ignores_the_batch(name):
    sigmas = karras_sigmas(8, 0.01, 10.0)
    x = 10.0 * torch.randn(128, 3, generator=torch.Generator().manual_seed(4))

    def run(x, generator):
        return edm_sample(name, denoise, x, sigmas, generator=generator)[0]

    first = run(x, torch.Generator().manual_seed(5))
    assert torch.equal(first, run(x, torch.Generator().manual_seed(5)))
    assert not torch.equal(first, run(x, torch.Generator().manual_seed(6)))
    whole = run(x, EventNoise(7, 0, 128))
    halves = torch.cat([run(x[:64], EventNoise(7, 0, 64)), run(x[64:], EventNoise(7, 64, 64))])
    assert torch.equal(whole, halves)


@pytest.mark.parametrize("name", list(EDM_SAMPLERS))
def test_mask_keeps_padded_particles_zero(name):
    generator = torch.Generator().manual_seed(3)
    mask = torch.ones(16, 5, 1)
    mask[:, 3:] = 0.0  # particle clouds (N, P, F) with two padded particles each
    x = 80.0 * torch.randn(16, 5, 3, generator=generator) * mask

    def masked(x, sigma):
        return denoise(x, sigma) * mask

    y, _ = edm_sample(name, masked, x, karras_sigmas(6), generator=generator, mask=mask)
    assert y.dtype == torch.float32 and y.shape == x.shape
    assert bool((y[:, 3:] == 0).all()) and bool((y[:, :3] != 0).all())


def test_dpm_solver_first_step_is_ddim():
    # the first step (no history) is the exponential-integrator Euler step, i.e. DDIM
    x = start(10.0)
    a, _ = dpm_solver_pp_2m(denoise, x, [10.0, 2.0])
    b, _ = edm_euler(denoise, x, [10.0, 2.0])
    torch.testing.assert_close(a, b, rtol=1e-14, atol=1e-14)


def test_bad_input():
    with pytest.raises(LhcgenError, match="unknown EDM sampler 'leapfrog'.*heun.*dpmpp_2m"):
        check_edm_sampler("leapfrog", 10)
    with pytest.raises(LhcgenError, match="positive, got 0"):
        check_edm_sampler("heun", 0)
    with pytest.raises(LhcgenError, match="unknown EDM sampler"):
        edm_nfe("leapfrog", 4)
    with pytest.raises(LhcgenError, match="positive"):
        edm_sample("heun", denoise, start(1.0), [1.0])
    with pytest.raises(LhcgenError, match="takes no options"):
        edm_sample("heun", denoise, start(1.0), karras_sigmas(3), s_churn=1.0)
    with pytest.raises(LhcgenError, match="s_churn"):
        edm_stochastic(denoise, start(1.0), karras_sigmas(3), s_churn=-1.0)
    with pytest.raises(LhcgenError, match="s_tmin <= s_tmax"):
        edm_stochastic(denoise, start(1.0), karras_sigmas(3), s_tmin=5.0, s_tmax=1.0)
    with pytest.raises(ValueError, match="decreasing"):
        edm_heun(denoise, start(1.0), [1.0, 2.0, 0.0])
    with pytest.raises(ValueError, match="positive"):
        edm_euler(denoise, start(1.0), [1.0, 0.0, 0.0])
