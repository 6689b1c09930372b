"""One-dimensional mixture densities parameterised by raw network outputs.

Every function takes the K component parameters in the last axis: ``logits`` (unnormalised
log-weights), ``locs`` (means, or circular means) and ``log_scales`` (log standard deviations),
all (..., K), and one value per leading index, x (...).

* Gaussian mixture: p(x) = sum_k w_k N(x; mu_k, sigma_k^2).
* von Mises mixture for a periodic coordinate of period P (in network units): the angle is
  theta = 2 pi x / P, each component is a von Mises density VM(theta; 2 pi mu_k / P, kappa_k)
  with concentration kappa_k = (P / (2 pi sigma_k))^2, so sigma_k is the component's width in
  x for large kappa (where the von Mises approaches N(x; mu_k, sigma_k^2)). The density in x
  includes the Jacobian 2 pi / P and integrates to 1 over any one period:
  log p(x) = kappa cos(theta - theta_k) - log(2 pi I_0(kappa)) + log(2 pi / P)
           = -2 kappa sin^2((theta - theta_k) / 2) - log i0e(kappa) - log P.

Samples are drawn with an explicit ``torch.Generator`` (on the CPU, as everywhere in lhcgen;
the draws are moved to the parameters' device). von Mises variates use the rejection sampler
of Best & Fisher, "Efficient simulation of the von Mises distribution", Appl. Statist. 28
(1979) 152, vectorised over all pending draws; above ``LARGE_CONCENTRATION`` a wrapped normal
is used, as in NumPy. The mixture uses the Gaussian-mixture model of the JetGPT conditionals
(Butter et al., "Jet Diffusion versus JetGPT", arXiv:2305.10475).
"""

from __future__ import annotations

import math

import torch

from lhcgen import noise

VON_MISES_ROUNDS = 16
"""Candidate rounds of the von Mises rejection sampler drawn at once for every entry."""
LARGE_CONCENTRATION = 1e6
"""Above this concentration the von Mises sampler draws a wrapped normal N(mu, 1 / kappa)."""
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _uniform(shape: tuple[int, ...], generator: torch.Generator | None,
             like: torch.Tensor) -> torch.Tensor:
    """U(0, 1) in float64 drawn on the CPU with ``generator``, moved to ``like``'s device."""
    return noise.rand(shape, generator, torch.float64).to(like.device)


def _normal(shape: tuple[int, ...], generator: torch.Generator | None,
            like: torch.Tensor) -> torch.Tensor:
    return noise.randn(shape, generator, torch.float64).to(like.device)


def choose_components(logits: torch.Tensor,
                      generator: torch.Generator | None = None) -> torch.Tensor:
    """(..., K) logits -> (...) component indices drawn with probabilities softmax(logits)
    (inverse CDF of one uniform per draw)."""
    probs = torch.softmax(logits.to(torch.float64), dim=-1)
    cdf = probs.cumsum(-1)
    u = _uniform(tuple(logits.shape[:-1]), generator, logits) * cdf[..., -1]
    index = (cdf < u[..., None]).sum(-1)
    return index.clamp_max(logits.shape[-1] - 1)


def _pick(params: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return params.gather(-1, index[..., None]).squeeze(-1)


# ---------------------------------------------------------------------------------------------
# Gaussian mixture


def gaussian_mixture_log_prob(x: torch.Tensor, logits: torch.Tensor, locs: torch.Tensor,
                              log_scales: torch.Tensor) -> torch.Tensor:
    """log p(x) of a Gaussian mixture: x (...), parameters (..., K) -> (...)."""
    z = (x[..., None] - locs) * torch.exp(-log_scales)
    component = -0.5 * z**2 - log_scales - _LOG_SQRT_2PI
    return torch.logsumexp(torch.log_softmax(logits, dim=-1) + component, dim=-1)


def gaussian_mixture_sample(logits: torch.Tensor, locs: torch.Tensor, log_scales: torch.Tensor,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw per leading index: parameters (..., K) -> (...) in the parameters' dtype.

    Uses one uniform (the component) and then one normal per draw from ``generator``.
    """
    index = choose_components(logits, generator)
    eps = _normal(tuple(logits.shape[:-1]), generator, logits)
    mu = _pick(locs, index).to(torch.float64)
    sigma = torch.exp(_pick(log_scales, index).to(torch.float64))
    return (mu + sigma * eps).to(locs.dtype)


# ---------------------------------------------------------------------------------------------
# von Mises mixture


def _period_tensor(period: float | torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return torch.as_tensor(period, dtype=like.dtype, device=like.device)


def von_mises_concentration(log_scales: torch.Tensor,
                            period: float | torch.Tensor) -> torch.Tensor:
    """kappa = (P / (2 pi sigma))^2: the concentration whose small-angle width is sigma
    (``period`` a number or a tensor broadcastable to ``log_scales``)."""
    p = _period_tensor(period, log_scales)
    return torch.exp(2 * (torch.log(p / (2 * math.pi)) - log_scales))


def von_mises_mixture_log_prob(x: torch.Tensor, logits: torch.Tensor, locs: torch.Tensor,
                               log_scales: torch.Tensor,
                               period: float | torch.Tensor) -> torch.Tensor:
    """log p(x) of a von Mises mixture in x with period P (density per unit of x, so that it
    integrates to 1 over one period): x (...), parameters (..., K) -> (...); ``period`` a
    number or a tensor broadcastable to x (one period per value)."""
    p = _period_tensor(period, locs)[..., None]
    kappa = von_mises_concentration(log_scales, p)
    half_angle = (math.pi / p) * (x[..., None] - locs)
    # kappa (cos(d) - 1) = -2 kappa sin^2(d / 2): no cancellation at large kappa
    component = (-2 * kappa * torch.sin(half_angle) ** 2 - torch.log(torch.special.i0e(kappa))
                 - torch.log(p))
    return torch.logsumexp(torch.log_softmax(logits, dim=-1) + component, dim=-1)


def von_mises_sample_angles(kappa: torch.Tensor,
                            generator: torch.Generator | None = None) -> torch.Tensor:
    """Angles in (-pi, pi] from VM(0, kappa), one per entry of ``kappa`` (float64).

    Best & Fisher (1979): wrapped-Cauchy envelope, acceptance by the squeeze
    c (2 - c) > u2 or by log(c / u2) + 1 - c >= 0. Every entry draws VON_MISES_ROUNDS
    candidates (u1, u2) and keeps the first accepted, then one u3 fixes the sign. Entries with
    kappa > LARGE_CONCENTRATION are drawn first, as wrapped normals N(0, 1 / kappa).
    """
    kappa = kappa.to(torch.float64).clamp_min(1e-12)
    flat = kappa.reshape(-1)
    n = flat.numel()
    large = flat > LARGE_CONCENTRATION
    # Every entry makes the same draws whatever the other entries are (per-event noise,
    # lhcgen.noise): one normal, VON_MISES_ROUNDS candidate pairs (u1, u2), one sign.
    shape = tuple(kappa.shape)
    normal = _normal(shape, generator, flat).reshape(-1) / torch.sqrt(flat)
    # rho = (tau - sqrt(2 tau)) / (2 kappa) with tau = 1 + sqrt(1 + 4 kappa^2), written
    # without the cancellation at small kappa
    tau = 1 + torch.sqrt(1 + 4 * flat**2)
    rho = 2 * flat / (tau + torch.sqrt(2 * tau))
    r = (1 + rho**2) / (2 * rho)
    # The first accepted candidate wins. Each accepts with probability > 0.65, so all
    # VON_MISES_ROUNDS fail with p < 1e-7; such an entry takes the wrapped normal.
    rounds = VON_MISES_ROUNDS
    u1 = _uniform((*shape, rounds), generator, flat).reshape(n, rounds)
    u2 = _uniform((*shape, rounds), generator, flat).reshape(n, rounds)
    k, rk = flat[:, None], r[:, None]
    z = torch.cos(math.pi * u1)
    fk = (1 + rk * z) / (rk + z)
    c = k * (rk - fk)
    accept = (c * (2 - c) - u2 > 0) | (torch.log(c / u2) + 1 - c >= 0)
    first = torch.argmax(accept.to(torch.int8), dim=1)
    f = fk.gather(1, first[:, None]).squeeze(1)
    large = large | ~accept.any(dim=1)
    u3 = _uniform(shape, generator, flat).reshape(-1)
    sign = torch.where(u3 < 0.5, -1.0, 1.0).to(flat)
    small = sign * torch.arccos(f.clamp(-1.0, 1.0))
    angle = torch.where(large, normal, small)
    return wrap(angle, 0.0, 2 * math.pi).reshape(kappa.shape)


def wrap(x: torch.Tensor, centre: float | torch.Tensor,
         period: float | torch.Tensor) -> torch.Tensor:
    """Map x into the period window [centre - P/2, centre + P/2) (in x's dtype; centre and
    period numbers or tensors broadcastable to x)."""
    period = _period_tensor(period, x)
    low = torch.as_tensor(centre, dtype=x.dtype, device=x.device) - period / 2
    high = low + period
    out = low + torch.remainder(x - low, period)
    return torch.minimum(out, torch.nextafter(high, low))  # rounding can land on high


def von_mises_mixture_sample(logits: torch.Tensor, locs: torch.Tensor,
                             log_scales: torch.Tensor, period: float | torch.Tensor,
                             centre: float | torch.Tensor = 0.0,
                             generator: torch.Generator | None = None) -> torch.Tensor:
    """One draw per leading index in the window [centre - P/2, centre + P/2), where the data
    live: parameters (..., K) -> (...) in the parameters' dtype.

    Uses one uniform (the component), then the von Mises draws (von_mises_sample_angles).
    """
    index = choose_components(logits, generator)
    mu = _pick(locs, index).to(torch.float64)
    kappa = von_mises_concentration(_pick(log_scales, index).to(torch.float64), period)
    angle = von_mises_sample_angles(kappa, generator)
    x = wrap(mu + angle * (period / (2 * math.pi)), centre, period)
    return wrap(x.to(locs.dtype), centre, period)  # again: the cast can round onto the edge
