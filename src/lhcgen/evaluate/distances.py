"""Two-sample distances between 1D distributions: chi^2/ndf of histograms and Wasserstein-1.

Both are pure functions. The same figure for truth vs truth (the statistical floor) is what
a generator's number should be compared with (see DESIGN.md, "Evaluation protocol").
"""

from __future__ import annotations

import numpy as np
from scipy.stats import wasserstein_distance

from lhcgen.errors import LhcgenError


def chi2_ndf(sumw_a: np.ndarray, sumw2_a: np.ndarray, sumw_b: np.ndarray,
             sumw2_b: np.ndarray) -> tuple[float, int]:
    """Two-sample chi^2 per degree of freedom of two normalised weighted histograms.

    With p = sumw / W and sigma^2 = sumw2 / W^2 for each histogram (W its total weight),

        chi^2 = sum_i (p_a,i - p_b,i)^2 / (sigma_a,i^2 + sigma_b,i^2),

    summed over bins that are not empty in both histograms; ndf = (used bins) - 1, one
    degree of freedom being taken by the normalisation. If both samples come from the same
    distribution, chi^2/ndf is close to 1 whatever the two sample sizes are.

    Parameters
    ----------
    sumw_a, sumw2_a : (B,) float64, sum of weights and of squared weights per bin, sample a.
    sumw_b, sumw2_b : (B,) float64, the same for sample b, with the same binning.

    Returns
    -------
    chi2_per_ndf : float, NaN when ndf < 1 (fewer than two used bins: nothing to compare).
    ndf : int, >= 0.
    """
    arrays = [np.asarray(a, dtype=np.float64) for a in (sumw_a, sumw2_a, sumw_b, sumw2_b)]
    if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
        raise LhcgenError("the two histograms must be 1D with the same number of bins")
    sumw_a, sumw2_a, sumw_b, sumw2_b = arrays
    total_a, total_b = sumw_a.sum(), sumw_b.sum()
    if not (total_a > 0 and total_b > 0):
        raise LhcgenError(f"histograms need a positive total weight, got {total_a} and "
                          f"{total_b}")
    variance = sumw2_a / total_a**2 + sumw2_b / total_b**2
    used = variance > 0
    ndf = int(used.sum()) - 1
    if ndf < 1:
        return float("nan"), max(ndf, 0)
    difference = sumw_a[used] / total_a - sumw_b[used] / total_b
    return float(np.sum(difference**2 / variance[used]) / ndf), ndf


def _signed_cdf_distance(u: np.ndarray, v: np.ndarray, u_weights: np.ndarray,
                         v_weights: np.ndarray) -> float:
    """Integral of |F_u - F_v| for weighted samples whose weights may be negative."""
    points = np.sort(np.concatenate([u, v]))
    steps = np.diff(points)

    def cdf(x: np.ndarray, w: np.ndarray) -> np.ndarray:
        order = np.argsort(x)
        cumulative = np.concatenate([[0.0], np.cumsum(w[order])])
        return cumulative[np.searchsorted(x[order], points[:-1], side="right")] / w.sum()

    return float(np.sum(np.abs(cdf(u, u_weights) - cdf(v, v_weights)) * steps))


def wasserstein_1d(u: np.ndarray, v: np.ndarray, u_weights: np.ndarray | None = None,
                   v_weights: np.ndarray | None = None) -> float:
    """Wasserstein-1 (earth mover's) distance between two weighted 1D samples.

    W1 = integral |F_u(x) - F_v(x)| dx with F the normalised weighted CDFs. For non-negative
    weights this is ``scipy.stats.wasserstein_distance``; Monte Carlo samples with negative
    weights use the same integral with signed CDFs. The value has the observable's unit.

    Parameters
    ----------
    u : (N,) float64, first sample.
    v : (M,) float64, second sample.
    u_weights : (N,) float64 or None (unit weights).
    v_weights : (M,) float64 or None (unit weights).

    Returns
    -------
    float, >= 0.
    """
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    u_weights = np.ones_like(u) if u_weights is None else np.asarray(u_weights, np.float64)
    v_weights = np.ones_like(v) if v_weights is None else np.asarray(v_weights, np.float64)
    if u.ndim != 1 or v.ndim != 1 or u_weights.shape != u.shape or v_weights.shape != v.shape:
        raise LhcgenError("wasserstein_1d needs 1D samples with weights of the same length")
    if len(u) == 0 or len(v) == 0:
        raise LhcgenError("wasserstein_1d needs two non-empty samples")
    for name, array in (("u", u), ("v", v), ("u_weights", u_weights), ("v_weights", v_weights)):
        if not np.isfinite(array).all():
            raise LhcgenError(f"wasserstein_1d: {name} contains NaN or inf")
    if not (u_weights.sum() > 0 and v_weights.sum() > 0):
        raise LhcgenError("wasserstein_1d needs a positive total weight in both samples")
    if (u_weights >= 0).all() and (v_weights >= 0).all():
        return float(wasserstein_distance(u, v, u_weights, v_weights))
    return _signed_cdf_distance(u, v, u_weights, v_weights)
