"""Monotonic rational-quadratic splines (Durkan et al., "Neural Spline Flows",
arXiv:1906.04032, section 3.1 and appendix A; after Gregory & Delbourgo, IMA J. Numer. Anal.
2 (1982) 123).

On [-B, B] the map is built from K bins with knots (x^k, y^k), k = 0..K, and positive
derivatives delta^k at the knots. In bin k, with s_k = (y^{k+1} - y^k) / (x^{k+1} - x^k) and
xi = (x - x^k) / (x^{k+1} - x^k) in [0, 1],

    y = y^k + (y^{k+1} - y^k) [s_k xi^2 + delta^k xi (1 - xi)] / [s_k + sigma_k xi (1 - xi)],
    sigma_k = delta^{k+1} + delta^k - 2 s_k,
    dy/dx = s_k^2 [delta^{k+1} xi^2 + 2 s_k xi (1 - xi) + delta^k (1 - xi)^2]
            / [s_k + sigma_k xi (1 - xi)]^2.

The inverse solves a xi^2 + b xi + c = 0 for the root in [0, 1], with
    a = (y^{k+1} - y^k)(s_k - delta^k) + (y - y^k) sigma_k,
    b = (y^{k+1} - y^k) delta^k - (y - y^k) sigma_k,
    c = -s_k (y - y^k),
written as xi = 2c / (-b - sqrt(b^2 - 4ac)) to avoid cancellation.

The boundary derivatives are 1 so that the map continues as the identity outside [-B, B],
where the log-determinant is 0. The unnormalised parameters are mapped to widths and heights
by a softmax (with a minimum bin size) and to derivatives by a shifted softplus chosen so
that all-zero parameters give the identity (uniform bins, unit derivatives).
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional

MIN_BIN_WIDTH = 1e-3
MIN_BIN_HEIGHT = 1e-3
MIN_DERIVATIVE = 1e-3


def _knots(unnormalized: torch.Tensor, tail_bound: float, min_size: float) -> torch.Tensor:
    """(..., K) unnormalised bin sizes -> (..., K + 1) knot positions from -B to B."""
    bins = unnormalized.shape[-1]
    if min_size * bins >= 1.0:
        raise ValueError(f"minimum bin size {min_size} is too large for {bins} bins")
    sizes = min_size + (1.0 - min_size * bins) * torch.softmax(unnormalized, dim=-1)
    knots = functional.pad(torch.cumsum(sizes, dim=-1), (1, 0))
    knots = 2.0 * tail_bound * knots - tail_bound
    # pin the ends exactly (the cumulative sum is 1 only up to rounding)
    knots[..., 0] = -tail_bound
    knots[..., -1] = tail_bound
    return knots


def _derivatives(unnormalized: torch.Tensor, min_derivative: float) -> torch.Tensor:
    """(..., K - 1) interior parameters -> (..., K + 1) knot derivatives, 1 at both ends.

    delta = min + softplus(u + shift) with softplus(shift) = 1 - min, so u = 0 gives 1.
    """
    shift = math.log(math.expm1(1.0 - min_derivative))
    inner = min_derivative + functional.softplus(unnormalized + shift)
    return functional.pad(inner, (1, 1), value=1.0)


def _gather(values: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    return values.gather(-1, index[..., None])[..., 0]


def _bin_index(knots: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Bin k with knots[k] <= value < knots[k + 1] (values inside [knots[0], knots[-1]])."""
    bins = knots.shape[-1] - 1
    index = (values[..., None] >= knots[..., 1:-1]).sum(dim=-1)
    return index.clamp(0, bins - 1)


def rational_quadratic_spline(inputs: torch.Tensor, unnormalized_widths: torch.Tensor,
                              unnormalized_heights: torch.Tensor,
                              unnormalized_derivatives: torch.Tensor, inverse: bool = False,
                              tail_bound: float = 4.0, min_bin_width: float = MIN_BIN_WIDTH,
                              min_bin_height: float = MIN_BIN_HEIGHT,
                              min_derivative: float = MIN_DERIVATIVE,
                              ) -> tuple[torch.Tensor, torch.Tensor]:
    """Elementwise spline on [-B, B], identity outside.

    inputs: (...,); widths and heights: (..., K); derivatives: (..., K - 1) (interior knots).
    Returns (outputs, log|d outputs / d inputs|), both shaped like ``inputs``: for
    ``inverse=False`` y(x) and log|dy/dx|, for ``inverse=True`` x(y) and log|dx/dy|.
    """
    bins = unnormalized_widths.shape[-1]
    if unnormalized_heights.shape[-1] != bins or unnormalized_derivatives.shape[-1] != bins - 1:
        raise ValueError("need K widths, K heights and K - 1 derivatives, got "
                         f"{unnormalized_widths.shape[-1]}, {unnormalized_heights.shape[-1]}, "
                         f"{unnormalized_derivatives.shape[-1]}")
    inside = (inputs >= -tail_bound) & (inputs <= tail_bound)
    # evaluate everywhere on clamped inputs (no NaN in either branch), then select
    clamped = inputs.clamp(-tail_bound, tail_bound)

    xs = _knots(unnormalized_widths, tail_bound, min_bin_width)
    ys = _knots(unnormalized_heights, tail_bound, min_bin_height)
    deltas = _derivatives(unnormalized_derivatives, min_derivative)

    k = _bin_index(ys if inverse else xs, clamped)
    x_lo, x_hi = _gather(xs, k), _gather(xs, k + 1)
    y_lo, y_hi = _gather(ys, k), _gather(ys, k + 1)
    d_lo, d_hi = _gather(deltas, k), _gather(deltas, k + 1)
    width, height = x_hi - x_lo, y_hi - y_lo
    slope = height / width
    sigma = d_hi + d_lo - 2.0 * slope

    if inverse:
        dy = clamped - y_lo
        a = height * (slope - d_lo) + dy * sigma
        b = height * d_lo - dy * sigma
        c = -slope * dy
        discriminant = (b * b - 4.0 * a * c).clamp_min(0.0)
        xi = (2.0 * c / (-b - torch.sqrt(discriminant))).clamp(0.0, 1.0)
        outputs = x_lo + xi * width
    else:
        xi = ((clamped - x_lo) / width).clamp(0.0, 1.0)
        xi1 = xi * (1.0 - xi)
        outputs = y_lo + height * (slope * xi * xi + d_lo * xi1) / (slope + sigma * xi1)

    xi1 = xi * (1.0 - xi)
    denominator = slope + sigma * xi1
    numerator = slope**2 * (d_hi * xi * xi + 2.0 * slope * xi1 + d_lo * (1.0 - xi) ** 2)
    logdet = torch.log(numerator) - 2.0 * torch.log(denominator)
    if inverse:
        logdet = -logdet

    outputs = torch.where(inside, outputs, inputs)
    logdet = torch.where(inside, logdet, torch.zeros_like(logdet))
    return outputs, logdet
