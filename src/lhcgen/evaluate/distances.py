"""Two-sample distances between 1D distributions: chi^2/ndf of histograms and Wasserstein-1,
and their statistical floor.

All are pure functions. The same figures for truth vs truth (the statistical floor,
:func:`histogram_floor`) are what a generator's numbers should be compared with (see
DESIGN.md, "Evaluation protocol").
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.stats import wasserstein_distance

from lhcgen.errors import LhcgenError
from lhcgen.evaluate.histograms import histogram


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


@dataclass(frozen=True)
class HistogramFloor:
    """The statistical floor of one observable (see :func:`histogram_floor`).

    Attributes
    ----------
    chi2_ndf : float, chi^2/ndf of the floor pair; NaN when fewer than two bins are used.
    ndf : int, its degrees of freedom.
    w1 : float or None, W1 of the floor pair, scaled to ``compared_sizes`` when given
        (None when not asked for).
    sizes : (int, int), entries of the floor pair used (after the cut to the compared size).
    compared_sizes : (int, int) or None, the sizes of the comparison the floor is for.
    """

    chi2_ndf: float
    ndf: int
    w1: float | None
    sizes: tuple[int, int]
    compared_sizes: tuple[int, int] | None


def w1_size_factor(sizes: tuple[int, int], compared_sizes: tuple[int, int]) -> float:
    """sqrt(1/N1 + 1/N2) / sqrt(1/n1 + 1/n2): how W1 of two samples of one distribution,
    of sizes (n1, n2), scales to sizes (N1, N2) (its statistical spread goes as
    sqrt(1/n1 + 1/n2)); entry counts, not effective sizes, for weighted samples."""
    if min(*sizes, *compared_sizes) < 1:
        raise LhcgenError(f"sample sizes must be positive, got {sizes} and {compared_sizes}")
    return math.sqrt((1.0 / compared_sizes[0] + 1.0 / compared_sizes[1])
                     / (1.0 / sizes[0] + 1.0 / sizes[1]))


def histogram_floor(floor_a: tuple[np.ndarray, np.ndarray],
                    floor_b: tuple[np.ndarray, np.ndarray], edges: np.ndarray,
                    compared_sizes: tuple[int, int] | None = None, *,
                    w1: bool = True) -> HistogramFloor:
    """chi^2/ndf and W1 of two truth samples: what a generator's figures are compared with.

    The comparison the floor is for is generated (N1 entries) against a reference (N2
    entries, usually ``floor_b`` itself); ``floor_a`` is a second truth sample standing in
    for the generated one.

    * chi^2/ndf at equal sample sizes: when ``floor_a`` has more than N1 entries only its
      first N1 are used (the first, not a random draw: truth files are in generation
      order, so this is a fair subsample, and the same one for every call). For unit
      weights chi^2/ndf of one distribution is ~1 at any sizes; the cut keeps the floor at
      the compared sample's size, as the classifier's ``floor_sample`` does per event.
    * W1 of the same (cut) pair, scaled by sqrt(1/N1 + 1/N2) / sqrt(1/n1 + 1/n2)
      (:func:`w1_size_factor`) to the compared sizes: W1 of two samples of one distribution
      shrinks as sqrt(1/n1 + 1/n2), so a floor from smaller samples (a split reference, a
      smaller second truth file) is otherwise too high.

    With ``compared_sizes=None`` the pair is used as it is and W1 is not scaled (the floor
    of the pair's own sizes).

    Parameters
    ----------
    floor_a, floor_b : (values (M,), weights (M,)) float64 of the two truth samples.
    edges : (B + 1,) float64 bin edges (those of the compared histograms).
    compared_sizes : (N1, N2) entries of the compared samples, or None.
    w1 : also compute W1 (its sort costs O(M log M)); False gives ``w1=None``.

    Returns
    -------
    :class:`HistogramFloor`.
    """
    values_a, weights_a = (np.asarray(x, dtype=np.float64) for x in floor_a)
    values_b, weights_b = (np.asarray(x, dtype=np.float64) for x in floor_b)
    if compared_sizes is not None and len(values_a) > compared_sizes[0]:
        values_a, weights_a = values_a[:compared_sizes[0]], weights_a[:compared_sizes[0]]
    sizes = (len(values_a), len(values_b))
    chi2, ndf = chi2_ndf(*histogram(values_a, weights_a, edges),
                         *histogram(values_b, weights_b, edges))
    distance = None
    if w1:
        distance = wasserstein_1d(values_a, values_b, weights_a, weights_b)
        if compared_sizes is not None:
            distance *= w1_size_factor(sizes, compared_sizes)
    return HistogramFloor(chi2, ndf, distance, sizes,
                          None if compared_sizes is None else tuple(compared_sizes))
