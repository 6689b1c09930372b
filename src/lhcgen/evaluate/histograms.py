"""Weighted 1D histograms for the event-generation report: binning, filling, normalising.

The binning is chosen once from the reference (truth-test) sample and then used for every
sample, so the histograms of truth and generated events can be compared bin by bin.
Under- and overflow are folded into the first and last bin so that every event counts.
"""

from __future__ import annotations

import numpy as np

from lhcgen.errors import LhcgenError

QUANTILE_RANGE = (0.001, 0.999)
"""Weighted quantiles of the reference sample that bound a continuous observable's axis."""


def _check_values_weights(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    values = np.asarray(values, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    if values.ndim != 1 or weights.shape != values.shape:
        raise LhcgenError(f"values and weights must be 1D of the same length, got shapes "
                          f"{values.shape} and {weights.shape}")
    bad = ~(np.isfinite(values) & np.isfinite(weights))
    if bad.any():
        raise LhcgenError(f"{int(bad.sum())} of {len(values)} values or weights are NaN or "
                          "inf; remove (and report) them before histogramming")
    return values, weights


def weighted_quantile(values: np.ndarray, weights: np.ndarray,
                      quantiles: np.ndarray) -> np.ndarray:
    """Quantiles of a weighted sample (linear interpolation between weighted midpoints).

    Parameters
    ----------
    values : (N,) float64
    weights : (N,) float64; their absolute values are used, since a quantile of a signed
        (negative-weight) sample is not defined.
    quantiles : (Q,) float64 in [0, 1].

    Returns
    -------
    (Q,) float64
    """
    values, weights = _check_values_weights(values, weights)
    carries_weight = weights != 0  # zero-weight events must not pull the interpolation
    order = np.argsort(values[carries_weight], kind="stable")
    sorted_values = values[carries_weight][order]
    abs_weights = np.abs(weights[carries_weight][order])
    cumulative = np.cumsum(abs_weights)
    total = cumulative[-1] if len(cumulative) else 0.0
    if not total > 0:
        raise LhcgenError("cannot take quantiles of a sample with no events or zero weights")
    midpoints = (cumulative - 0.5 * abs_weights) / total
    return np.interp(np.asarray(quantiles, dtype=np.float64), midpoints, sorted_values)


def binning(values: np.ndarray, weights: np.ndarray, n_bins: int = 40, discrete: bool = False,
            periodic: bool = False, low: float | None = None, high: float | None = None,
            width: float | None = None) -> np.ndarray:
    """Bin edges for one observable, chosen from the reference (truth-test) sample.

    Continuous observables span the weighted 0.1%-99.9% quantile range in ``n_bins`` equal
    bins, unless the observable fixes an end (``low``, ``high``: e.g. a selection cut, or the
    Z peak's 70-110 GeV) or the bin width (``width``: then the number of bins follows from
    the range, the upper end rounded up to a whole bin); periodic (phi-like) observables span
    [-pi, pi]; discrete (integer) observables get bins centred on the integers from the
    smallest to the largest value (merged into wider integer-aligned bins if there would be
    more than ``n_bins``).

    Parameters
    ----------
    values : (N,) float64 reference values, finite.
    weights : (N,) float64 reference event weights.
    n_bins : number of bins (an upper bound for discrete observables).
    discrete, periodic : the observable's kind.
    low, high, width : fixed lower end, upper end and bin width, or None (see above).

    Returns
    -------
    edges : (B + 1,) float64, strictly increasing.
    """
    if n_bins < 1:
        raise LhcgenError(f"n_bins must be at least 1, got {n_bins}")
    if width is not None and not width > 0:
        raise LhcgenError(f"a fixed bin width must be positive, got {width}")
    if periodic:
        return np.linspace(-np.pi, np.pi, n_bins + 1)
    values, weights = _check_values_weights(values, weights)
    if len(values) == 0:
        raise LhcgenError("cannot choose a binning from an empty sample")
    if discrete:
        first, last = np.rint(values.min()), np.rint(values.max())
        n_integers = int(last - first) + 1
        step = int(np.ceil(n_integers / n_bins))
        n_used = int(np.ceil(n_integers / step))
        return first - 0.5 + step * np.arange(n_used + 1, dtype=np.float64)
    if low is None or high is None:
        q_low, q_high = weighted_quantile(values, weights, np.array(QUANTILE_RANGE))
        low = q_low if low is None else float(low)
        high = q_high if high is None else float(high)
    if not high > low:
        half_width = max(0.5, 1e-3 * abs(low))
        low, high = low - half_width, low + half_width
    if width is not None:
        n_used = max(1, int(np.ceil((high - low) / width - 1e-9)))
        return low + width * np.arange(n_used + 1, dtype=np.float64)
    return np.linspace(low, high, n_bins + 1)


def outside_fraction(values: np.ndarray, weights: np.ndarray,
                     edges: np.ndarray) -> tuple[float, float]:
    """Weighted fractions of ``values`` below the first and above the last edge (which
    :func:`histogram` folds into the first and last bin)."""
    values, weights = _check_values_weights(values, weights)
    total = weights.sum()
    if not total > 0:
        return 0.0, 0.0
    return (float(weights[values < edges[0]].sum() / total),
            float(weights[values > edges[-1]].sum() / total))


def observable_edges(observable, values: np.ndarray, weights: np.ndarray,
                     n_bins: int = 40) -> np.ndarray:
    """:func:`binning` of an :class:`~lhcgen.physics.observables.Observable`, honouring its
    kind (discrete, periodic) and its :class:`~lhcgen.physics.observables.Axis`."""
    axis = observable.axis
    return binning(values, weights, n_bins=n_bins, discrete=observable.discrete,
                   periodic=observable.periodic, low=axis.low, high=axis.high,
                   width=axis.width)


def histogram(values: np.ndarray, weights: np.ndarray,
              edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted histogram with under- and overflow folded into the first and last bin.

    Parameters
    ----------
    values : (N,) float64, finite (non-finite values raise: count and report them first).
    weights : (N,) float64 event weights.
    edges : (B + 1,) float64, strictly increasing.

    Returns
    -------
    sumw : (B,) float64, sum of weights per bin; ``sumw.sum() == weights.sum()``.
    sumw2 : (B,) float64, sum of squared weights per bin (the variance of ``sumw``).
    """
    values, weights = _check_values_weights(values, weights)
    edges = np.asarray(edges, dtype=np.float64)
    if edges.ndim != 1 or len(edges) < 2 or not np.all(np.diff(edges) > 0):
        raise LhcgenError("bin edges must be a 1D strictly increasing array of length >= 2")
    n_bins = len(edges) - 1
    index = np.clip(np.searchsorted(edges, values, side="right") - 1, 0, n_bins - 1)
    sumw = np.bincount(index, weights=weights, minlength=n_bins).astype(np.float64)
    sumw2 = np.bincount(index, weights=weights**2, minlength=n_bins).astype(np.float64)
    return sumw, sumw2


def normalised(sumw: np.ndarray, sumw2: np.ndarray,
               edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit-area density of a weighted histogram and its statistical error.

    Parameters
    ----------
    sumw, sumw2 : (B,) float64 from :func:`histogram`.
    edges : (B + 1,) float64.

    Returns
    -------
    density : (B,) float64, ``sumw / W / width`` with W the total weight, so that
        ``sum(density * width) == 1``.
    error : (B,) float64, ``sqrt(sumw2) / W / width`` (the sqrt(N) error for unit weights).
    """
    sumw = np.asarray(sumw, dtype=np.float64)
    sumw2 = np.asarray(sumw2, dtype=np.float64)
    widths = np.diff(np.asarray(edges, dtype=np.float64))
    if sumw.shape != widths.shape or sumw2.shape != widths.shape:
        raise LhcgenError(f"histogram of {sumw.shape} bins does not match {len(widths)} edges")
    total = sumw.sum()
    if not total > 0:
        raise LhcgenError(f"cannot normalise a histogram with total weight {total}")
    return sumw / total / widths, np.sqrt(sumw2) / total / widths
