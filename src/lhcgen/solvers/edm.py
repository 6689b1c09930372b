"""Samplers of a variance-exploding (EDM) diffusion model, as plain functions of a denoiser.

The model of Karras et al. (arXiv:2206.00364, "EDM") noises the data y by adding Gaussian
noise of standard deviation sigma, x = y + sigma n, and learns the denoiser

    D(x, sigma) ~ E[y | x],   score(x, sigma) = grad log p(x; sigma) = (D(x, sigma) - x) / sigma^2.

Samples follow the probability-flow ODE (eq. 1 and 3 with sigma(t) = t, s(t) = 1)

    dx/dsigma = (x - D(x, sigma)) / sigma,

(Euler, Heun, midpoint, RK4 in sigma), the same ODE in its data-prediction variables
y = x / sigma, u = 1 / sigma, dy/du = D(y / u, 1 / u) (``heun_dp``, ``midpoint_dp``,
``rk4_dp``: no 1 / sigma on the right-hand side, so a stage at a small sigma does not
amplify the denoiser's error), DPM-Solver++(2M), or the reverse-time SDE, integrated from
sigma_max down to sigma = 0 on a decreasing grid
``sigmas`` = sigma_0 > sigma_1 > ... > sigma_N >= 0 (``karras_sigmas``: eq. 5, sigma_N = 0).
``steps`` is N, the number of intervals, len(sigmas) - 1.

Conventions:
  * the denoiser is ``denoise(x, sigma) -> x0_hat`` with x of any shape (N, ...), e.g. a
    particle cloud (N, P, F), and sigma a **Python float** (float64, never a tensor); the
    caller expands it to whatever the network wants (a (N,) tensor, c_noise = log(sigma)/4,
    the preconditioning of Karras Table 1) on the device it wants;
  * initial noise is the caller's job: x = sigma_0 * N(0, 1), e.g.
    ``x = sigmas[0].item() * noise.randn(shape, generator, dtype).to(device)`` (times the
    mask for padded particles). Strictly, the marginal at sigma_max is N(mu, s_data^2 +
    sigma_max^2); sigma_max >> s_data makes the difference negligible (Karras sec. 3);
  * every sampler returns (x at sigmas[-1], nfe), nfe being the number of ``denoise`` calls,
    counted (``CountingDenoiser``), not assumed; ``edm_nfe`` gives the nominal number;
  * grid arithmetic is done in float64 on the CPU, as Python floats; the state keeps its
    dtype and device;
  * noise (stochastic samplers) is drawn through ``lhcgen.noise.randn`` on the CPU from a
    ``torch.Generator`` or a per-event ``EventNoise``, then moved to x.device, and multiplied
    by ``mask`` where one is given, so padded entries stay zero (if the denoiser keeps them
    zero too). The sequence of draws depends on the grid and the options only, not on the
    batch, so per-event noise is independent of the batch size;
  * a step to sigma = 0 cannot evaluate the ODE's right-hand side (it divides by sigma), so
    every sampler takes its last step, when it ends at 0, as the Euler step from sigma_{N-1}
    to 0, which is x = D(x, sigma_{N-1}): one evaluation (Karras Algorithm 1, line 7;
    DPM-Solver++ returns the denoised value the same way). Its error, of order
    sigma_{N-1}^2, does not shrink with the number of steps: keep sigma_min small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

from lhcgen import noise
from lhcgen.errors import LhcgenError
from lhcgen.solvers.ode import FIXED_STEP

Denoiser = Callable[[torch.Tensor, float], torch.Tensor]
"""``denoise(x, sigma) -> x0_hat``: x (N, ...) and sigma a Python float."""


class CountingDenoiser:
    """Wrap a denoiser and count its evaluations."""

    def __init__(self, denoise: Denoiser):
        self.denoise, self.nfe = denoise, 0

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        self.nfe += 1
        return self.denoise(x, sigma)


def karras_sigmas(steps: int, sigma_min: float = 0.002, sigma_max: float = 80.0,
                  rho: float = 7.0) -> torch.Tensor:
    """The noise levels of Karras et al. eq. 5, float64 of length steps + 1:

        sigma_i = (sigma_max^(1/rho) + i / (N - 1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho,
        i = 0..N-1,   sigma_N = 0,   N = steps,

    so sigma_0 = sigma_max, sigma_{N-1} = sigma_min (one step: [sigma_max, 0]). rho = 7 puts
    the steps near sigma_min (Karras sec. 3, Fig. 13); rho = 1 is uniform in sigma.
    """
    if steps < 1:
        raise LhcgenError(f"the number of sampler steps must be positive, got {steps}")
    if not 0.0 < sigma_min < sigma_max:
        raise LhcgenError(f"need 0 < sigma_min < sigma_max, got sigma_min = {sigma_min}, "
                          f"sigma_max = {sigma_max}")
    if rho <= 0:
        raise LhcgenError(f"rho must be positive, got {rho}")
    if steps == 1:
        return torch.tensor([sigma_max, 0.0], dtype=torch.float64)
    ramp = torch.arange(steps, dtype=torch.float64) / (steps - 1)
    lo, hi = sigma_min ** (1.0 / rho), sigma_max ** (1.0 / rho)
    sigmas = (hi + ramp * (lo - hi)) ** rho
    sigmas[0], sigmas[-1] = sigma_max, sigma_min  # exact ends, no round-off of the power
    return torch.cat([sigmas, torch.zeros(1, dtype=torch.float64)])


def _grid(sigmas: torch.Tensor | Sequence[float]) -> list[float]:
    """The grid as Python floats, checked: strictly decreasing, positive but for the last."""
    if isinstance(sigmas, torch.Tensor):
        grid = sigmas.detach().to("cpu", torch.float64).reshape(-1).tolist()
    else:
        grid = [float(s) for s in sigmas]
    if len(grid) < 2:
        raise ValueError("sigmas needs at least two noise levels (one step)")
    if any(not math.isfinite(s) for s in grid) or grid[-1] < 0 or min(grid[:-1]) <= 0:
        raise ValueError("sigmas must be finite, positive, and >= 0 at the end")
    if any(b >= a for a, b in zip(grid[:-1], grid[1:], strict=True)):
        raise ValueError("sigmas must be strictly decreasing")
    return grid


def _slope(denoise: Denoiser, x: torch.Tensor, sigma: float) -> torch.Tensor:
    """dx/dsigma = (x - D(x, sigma)) / sigma, one evaluation."""
    return (x - denoise(x, sigma)) / sigma


def _noise(x: torch.Tensor, generator: noise.Source,
           mask: torch.Tensor | None) -> torch.Tensor:
    z = noise.randn(x.shape, generator, x.dtype).to(x.device)
    return z if mask is None else z * mask


def _probability_flow(name: str, denoise: Denoiser, x: torch.Tensor,
                      sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """The fixed-step ODE solver ``name`` of solvers/ode.py (the same function the flow
    matching models use) on dx/dsigma = (x - D(x, sigma)) / sigma along the grid; a last
    step to sigma = 0, where the slope cannot be evaluated, is an Euler step, which lands on
    x = D(x, sigma_{N-1}) (Karras et al. algorithm 1). Returns (x, nfe)."""
    grid, counted = _grid(sigmas), CountingDenoiser(denoise)

    def slope(sigma: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
        return _slope(counted, state, float(sigma))

    positive = grid[:-1] if grid[-1] == 0.0 else grid
    if len(positive) > 1:
        x = FIXED_STEP[name](slope, x, torch.tensor(positive, dtype=torch.float64))
    if grid[-1] == 0.0:
        x = counted(x, grid[-2])
    return x, counted.nfe


def _data_prediction_flow(name: str, denoise: Denoiser, x: torch.Tensor,
                          sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """The fixed-step ODE solver ``name`` of solvers/ode.py on the probability-flow ODE in
    its data-prediction variables y = x / sigma, u = 1 / sigma, where it reads

        dy/du = D(y / u, 1 / u),

    (from dx/dsigma = (x - D) / sigma: dy/dsigma = -D / sigma^2), the right-hand side being
    the denoiser itself, bounded, with no 1 / sigma. An error e of the denoiser at a stage
    therefore moves x by about e (times 1 - sigma_{i+1} / sigma_i), where in sigma it moves
    x by e h / sigma_stage, which on the coarse last steps of a rho = 7 grid (sigma_{N-2} /
    sigma_{N-1} = 17.7 at 8 steps, 236 at 4) amplifies it up to a hundredfold: the
    variables of DPM-Solver++ (Lu et al., arXiv:2211.01095, sec. 3), here with a
    Runge-Kutta method in u. The stages sit at u midpoints, i.e. at the harmonic mean of
    sigma_i and sigma_{i+1}. Euler in these variables is Euler in sigma (DDIM). A last step
    to sigma = 0 (u = inf) is x = D(x, sigma_{N-1}), as everywhere. Returns (x, nfe)."""
    grid, counted = _grid(sigmas), CountingDenoiser(denoise)

    def slope(u: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        sigma = 1.0 / float(u)
        return counted(y * sigma, sigma)

    positive = grid[:-1] if grid[-1] == 0.0 else grid
    if len(positive) > 1:
        u = torch.tensor([1.0 / s for s in positive], dtype=torch.float64)
        x = FIXED_STEP[name](slope, x / positive[0], u) * positive[-1]
    if grid[-1] == 0.0:
        x = counted(x, grid[-2])
    return x, counted.nfe


def edm_euler(denoise: Denoiser, x: torch.Tensor,
              sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """Euler's method on the probability-flow ODE, first order, one evaluation per step:

        x_{i+1} = x_i + (sigma_{i+1} - sigma_i) (x_i - D(x_i, sigma_i)) / sigma_i
                = D_i + sigma_{i+1} / sigma_i (x_i - D_i),

    which reaches x = D(x, sigma_{N-1}) on a last step to 0. The second form is DDIM with
    eta = 0 (Song et al., arXiv:2010.02502, sec. 4.3 eq. 14): in the VP variables
    x_vp = sqrt(alpha_bar) x, sigma = sqrt((1 - alpha_bar) / alpha_bar), eps_hat =
    (x - D) / sigma, DDIM's update is exactly this Euler step (Karras et al. sec. 3 and
    Table 1, "DDIM"); ``ddim`` is this function. NFE = N. Returns (x, nfe).
    """
    return _probability_flow("euler", denoise, x, sigmas)


ddim = edm_euler
"""Deterministic DDIM (eta = 0) in the sigma parametrisation: the Euler step (see edm_euler)."""


def edm_heun(denoise: Denoiser, x: torch.Tensor,
             sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """Heun's method, Karras et al. Algorithm 1, second order:

        d_i = (x_i - D(x_i, sigma_i)) / sigma_i,    x' = x_i + (sigma_{i+1} - sigma_i) d_i,
        d'  = (x' - D(x', sigma_{i+1})) / sigma_{i+1},
        x_{i+1} = x_i + (sigma_{i+1} - sigma_i) (d_i + d') / 2,

    the correction skipped on a step to sigma_{i+1} = 0 (an Euler step, x = D(x, sigma_i)).
    NFE = 2 N - 1 on a grid ending at 0 (2 N otherwise). Returns (x, nfe).
    """
    return _probability_flow("heun", denoise, x, sigmas)


def _heun_step(denoise: Denoiser, x: torch.Tensor, s0: float, s1: float) -> torch.Tensor:
    d = _slope(denoise, x, s0)
    x_next = x + (s1 - s0) * d
    if s1 == 0.0:
        return x_next
    return x + 0.5 * (s1 - s0) * (d + _slope(denoise, x_next, s1))


def edm_midpoint(denoise: Denoiser, x: torch.Tensor,
                 sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """The explicit midpoint rule in sigma, second order (like Heun, a two-stage explicit
    Runge-Kutta method; Karras et al. chose Heun, sec. 3):

        x' = x_i + h/2 d(x_i, sigma_i),   x_{i+1} = x_i + h d(x', sigma_i + h/2),
        h = sigma_{i+1} - sigma_i,   d(x, sigma) = (x - D(x, sigma)) / sigma,

    with an Euler step to sigma = 0 on the last step (like ``edm_heun``). NFE = 2 N - 1 on a
    grid ending at 0 (2 N otherwise). Returns (x, nfe).
    """
    return _probability_flow("midpoint", denoise, x, sigmas)


def edm_rk4(denoise: Denoiser, x: torch.Tensor,
            sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """Classical fourth-order Runge-Kutta in sigma, h = sigma_{i+1} - sigma_i:

        k1 = d(x_i, sigma_i),                 k2 = d(x_i + h/2 k1, sigma_i + h/2),
        k3 = d(x_i + h/2 k2, sigma_i + h/2),  k4 = d(x_i + h k3, sigma_{i+1}),
        x_{i+1} = x_i + h/6 (k1 + 2 k2 + 2 k3 + k4),

    with an Euler step on a last step to sigma = 0 (k4 cannot be evaluated there).
    NFE = 4 N - 3 on a grid ending at 0 (4 N otherwise). Returns (x, nfe).
    """
    return _probability_flow("rk4", denoise, x, sigmas)


def heun_dp(denoise: Denoiser, x: torch.Tensor,
            sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """Heun's method on the data-prediction form dy/du = D(y / u, 1 / u), y = x / sigma,
    u = 1 / sigma (``_data_prediction_flow``): with r = sigma_{i+1} / sigma_i,

        x' = r x_i + (1 - r) D(x_i, sigma_i),
        x_{i+1} = r x_i + (1 - r) (D(x_i, sigma_i) + D(x', sigma_{i+1})) / 2,

    second order; the Euler step to sigma = 0 last. NFE = 2 N - 1 on a grid ending at 0.
    Returns (x, nfe)."""
    return _data_prediction_flow("heun", denoise, x, sigmas)


def midpoint_dp(denoise: Denoiser, x: torch.Tensor,
                sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """The explicit midpoint rule on the data-prediction form (``_data_prediction_flow``):
    the second evaluation at u = (1 / sigma_i + 1 / sigma_{i+1}) / 2. Second order; the Euler
    step to sigma = 0 last. NFE = 2 N - 1 on a grid ending at 0. Returns (x, nfe)."""
    return _data_prediction_flow("midpoint", denoise, x, sigmas)


def rk4_dp(denoise: Denoiser, x: torch.Tensor,
           sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """Classical fourth-order Runge-Kutta on the data-prediction form
    (``_data_prediction_flow``), h = 1 / sigma_{i+1} - 1 / sigma_i in u; the Euler step to
    sigma = 0 last. NFE = 4 N - 3 on a grid ending at 0. Returns (x, nfe)."""
    return _data_prediction_flow("rk4", denoise, x, sigmas)


def edm_stochastic(denoise: Denoiser, x: torch.Tensor, sigmas: torch.Tensor | Sequence[float],
                   generator: noise.Source = None, s_churn: float = 40.0, s_tmin: float = 0.0,
                   s_tmax: float = math.inf, s_noise: float = 1.0,
                   mask: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """The stochastic sampler of Karras et al. Algorithm 2: before each Heun step, "churn"
    the state up to a higher noise level,

        gamma_i = min(S_churn / N, sqrt(2) - 1) if S_tmin <= sigma_i <= S_tmax else 0,
        sigma_hat = (1 + gamma_i) sigma_i,
        x_hat = x_i + sqrt(sigma_hat^2 - sigma_i^2) eps,   eps ~ N(0, S_noise^2 1),

    then take the Heun step (``edm_heun``) from (x_hat, sigma_hat) to sigma_{i+1}, without
    the correction on a step to 0. Noise is drawn only where gamma_i > 0, times ``mask`` if
    given; S_churn = 0 is ``edm_heun`` exactly. The defaults are the paper's ImageNet
    S_churn = 40 with churn at every level and S_noise = 1 (Table 5 tunes S_tmin, S_tmax,
    S_noise per data set; S_noise > 1 inflates the variance). NFE = 2 N - 1 on a grid ending
    at 0 (2 N otherwise). Returns (x, nfe).
    """
    if s_churn < 0 or s_noise < 0:
        raise LhcgenError(f"s_churn and s_noise must be >= 0, got {s_churn} and {s_noise}")
    if not 0 <= s_tmin <= s_tmax:
        raise LhcgenError(f"need 0 <= s_tmin <= s_tmax, got s_tmin {s_tmin} and s_tmax {s_tmax}")
    grid, counted = _grid(sigmas), CountingDenoiser(denoise)
    steps = len(grid) - 1
    gamma_max = min(s_churn / steps, math.sqrt(2.0) - 1.0)
    for s0, s1 in zip(grid[:-1], grid[1:], strict=True):
        gamma = gamma_max if s_tmin <= s0 <= s_tmax else 0.0
        s_hat = s0 * (1.0 + gamma)
        if gamma > 0:
            x = x + s_noise * math.sqrt(s_hat**2 - s0**2) * _noise(x, generator, mask)
        x = _heun_step(counted, x, s_hat, s1)
    return x, counted.nfe


def euler_maruyama(denoise: Denoiser, x: torch.Tensor, sigmas: torch.Tensor | Sequence[float],
                   generator: noise.Source = None,
                   mask: torch.Tensor | None = None) -> tuple[torch.Tensor, int]:
    """Euler-Maruyama on the reverse-time SDE of the VE process (Song et al.,
    arXiv:2011.13456, eq. 6 with g^2 = d sigma^2 / dsigma = 2 sigma), integrated in sigma
    downwards,

        dx = -2 sigma score(x, sigma) dsigma + sqrt(2 sigma) dW,   score = (D - x) / sigma^2,

    i.e. with h_i = sigma_i - sigma_{i+1} > 0 and z ~ N(0, 1) (times ``mask`` if given):

        x_{i+1} = x_i + 2 h_i / sigma_i (D(x_i, sigma_i) - x_i) + sqrt(2 sigma_i h_i) z.

    A last step to sigma = 0 is deterministic: it draws no noise and returns the denoised
    value x = D(x, sigma_{N-1}), the posterior mean (Tweedie), as the other samplers do
    (the drift step over the whole interval [sigma_{N-1}, 0] would overshoot to 2 D - x).
    First order (weakly). NFE = N. Returns (x, nfe).
    """
    grid, counted = _grid(sigmas), CountingDenoiser(denoise)
    for s0, s1 in zip(grid[:-1], grid[1:], strict=True):
        x0_hat = counted(x, s0)
        if s1 == 0.0:
            x = x0_hat
            continue
        h = s0 - s1
        x = x + (2.0 * h / s0) * (x0_hat - x) + math.sqrt(2.0 * s0 * h) * _noise(
            x, generator, mask)
    return x, counted.nfe


def dpm_solver_pp_2m(denoise: Denoiser, x: torch.Tensor,
                     sigmas: torch.Tensor | Sequence[float]) -> tuple[torch.Tensor, int]:
    """DPM-Solver++(2M) (Lu et al., arXiv:2211.01095, Algorithm 2), multistep and second
    order, in the VE parametrisation lambda = -log sigma of k-diffusion's sample_dpmpp_2m.
    The exact solution of the ODE with the data prediction D is

        x_{i+1} = sigma_{i+1} / sigma_i x_i + sigma_{i+1} int_{lambda_i}^{lambda_{i+1}}
                  e^lambda D dlambda,

    and with h_i = lambda_{i+1} - lambda_i, r_i = h_{i-1} / h_i, D_i = D(x_i, sigma_i):

        x_{i+1} = sigma_{i+1} / sigma_i x_i - expm1(-h_i) D'_i,
        D'_i = (1 + 1 / (2 r_i)) D_i - 1 / (2 r_i) D_{i-1}   (D'_0 = D_0: first order),

    one evaluation per step, the previous one reused. A last step to sigma = 0 (lambda =
    inf) returns the denoised value x = D_{N-1}. NFE = N. Returns (x, nfe).
    """
    grid, counted = _grid(sigmas), CountingDenoiser(denoise)
    previous: torch.Tensor | None = None
    for i, (s0, s1) in enumerate(zip(grid[:-1], grid[1:], strict=True)):
        x0_hat = counted(x, s0)
        if s1 == 0.0:
            x = x0_hat
        else:
            h = math.log(s0 / s1)
            if previous is None:
                d = x0_hat
            else:
                r = math.log(grid[i - 1] / s0) / h
                d = (1.0 + 0.5 / r) * x0_hat - (0.5 / r) * previous
            x = (s1 / s0) * x - math.expm1(-h) * d
        previous = x0_hat
    return x, counted.nfe


EDM_SAMPLERS: dict[str, Callable[..., tuple[torch.Tensor, int]]] = {
    "euler": edm_euler,
    "ddim": ddim,
    "heun": edm_heun,
    "midpoint": edm_midpoint,
    "rk4": edm_rk4,
    "heun_dp": heun_dp,
    "midpoint_dp": midpoint_dp,
    "rk4_dp": rk4_dp,
    "dpmpp_2m": dpm_solver_pp_2m,
    "stochastic": edm_stochastic,
    "euler_maruyama": euler_maruyama,
}
"""Sampler name -> function; the stochastic ones (``EDM_STOCHASTIC``) take a generator."""

EDM_STOCHASTIC = frozenset({"stochastic", "euler_maruyama"})

EDM_STAGES: dict[str, tuple[int, int]] = {
    "euler": (1, 1), "ddim": (1, 1), "heun": (2, 1), "midpoint": (2, 1), "rk4": (4, 1),
    "heun_dp": (2, 1), "midpoint_dp": (2, 1), "rk4_dp": (4, 1),
    "dpmpp_2m": (1, 1), "stochastic": (2, 1), "euler_maruyama": (1, 1),
}
"""Sampler name -> (evaluations per step, evaluations on a last step to sigma = 0)."""


def check_edm_sampler(name: str, steps: int) -> None:
    """Raise LhcgenError for an unknown sampler or a non-positive number of steps."""
    if name not in EDM_SAMPLERS:
        raise LhcgenError(f"unknown EDM sampler '{name}' (available: {', '.join(EDM_SAMPLERS)})")
    if steps <= 0:
        raise LhcgenError(f"the number of sampler steps must be positive, got {steps}")


def edm_nfe(name: str, steps: int, ends_at_zero: bool = True) -> int:
    """Denoiser evaluations sampler ``name`` makes in ``steps`` steps, on a grid ending at
    sigma = 0 (``karras_sigmas``) or, with ``ends_at_zero=False``, above it:
    euler, ddim, dpmpp_2m, euler_maruyama: N; heun, midpoint, stochastic: 2 N - 1; rk4:
    4 N - 3 (ending above 0: N, 2 N, 4 N)."""
    check_edm_sampler(name, steps)
    per_step, last = EDM_STAGES[name]
    return per_step * steps if not ends_at_zero else per_step * (steps - 1) + last


def edm_sample(name: str, denoise: Denoiser, x: torch.Tensor,
               sigmas: torch.Tensor | Sequence[float], generator: noise.Source = None,
               mask: torch.Tensor | None = None, **options) -> tuple[torch.Tensor, int]:
    """Run sampler ``name`` from x at sigmas[0]; ``generator``, ``mask`` and ``options``
    (``s_churn``, ``s_tmin``, ``s_tmax``, ``s_noise``: "stochastic" only) go to the
    stochastic samplers only; an option given to another sampler is an error. Returns
    (x, nfe)."""
    check_edm_sampler(name, len(sigmas) - 1)
    sampler = EDM_SAMPLERS[name]
    if name == "stochastic":
        return sampler(denoise, x, sigmas, generator=generator, mask=mask, **options)
    if options:
        raise LhcgenError(f"EDM sampler '{name}' takes no options, got {', '.join(options)}")
    if name in EDM_STOCHASTIC:
        return sampler(denoise, x, sigmas, generator=generator, mask=mask)
    return sampler(denoise, x, sigmas)


__all__ = [
    "EDM_SAMPLERS", "EDM_STAGES", "EDM_STOCHASTIC", "CountingDenoiser", "Denoiser",
    "check_edm_sampler", "ddim", "dpm_solver_pp_2m", "edm_euler", "edm_heun", "edm_midpoint",
    "edm_nfe", "edm_rk4", "edm_sample", "edm_stochastic", "euler_maruyama", "heun_dp",
    "karras_sigmas", "midpoint_dp", "rk4_dp",
]
