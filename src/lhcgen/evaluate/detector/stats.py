"""Binning and the robust numbers of the detector report.

Response and resolution are quantiles of r = reco / truth: the response is the median and
the resolution half the 16-84 % interquantile range (equal to sigma for a Gaussian, but
insensitive to the tails of mismatched or badly measured objects). Their errors are the
large-sample errors of those quantiles for a Gaussian: 1.2533 s / sqrt(N_eff) for the median
and 0.9618 s / sqrt(N_eff) for the half range (s = the resolution; N_eff = (sum w)^2 /
sum w^2), so no bootstrap is needed. The mean and standard deviation are given for
reference. Efficiencies carry a Clopper-Pearson interval at 68.27 % confidence, computed
with the effective counts of weighted events (exact for unit weights).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats as sps

QUANTILES = (0.158655, 0.5, 0.841345)
"""The 16th, 50th and 84th percentiles (+-1 sigma of a Gaussian)."""
MEDIAN_ERROR = math.sqrt(math.pi / 2.0)
HALF_RANGE_ERROR = 0.9618
"""sqrt(Var(x84 - x16) / 4) * sqrt(N) / sigma for a Gaussian (asymptotic quantile errors)."""
CONFIDENCE = 0.6827
MIN_ENTRIES = 10
"""Bins with fewer objects get no response or resolution (null in the JSON)."""


def data_edges(candidates: tuple[float, ...], values: np.ndarray) -> np.ndarray | None:
    """The part of ``candidates`` that covers ``values`` (None without values).

    Starts at the last edge <= min(values) and ends at the first edge > max(values); values
    outside ``candidates`` stay outside (counted as overflow by the callers).
    """
    values = np.asarray(values, np.float64)
    edges = np.asarray(candidates, np.float64)
    if values.size == 0:
        return None
    lo = max(0, int(np.searchsorted(edges, values.min(), side="right")) - 1)
    hi = min(len(edges) - 1, int(np.searchsorted(edges, values.max(), side="right")))
    hi = max(hi, lo + 1)
    return edges[lo:hi + 1] if hi < len(edges) else None


def bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of every value, -1 outside [edges[0], edges[-1])."""
    index = np.searchsorted(edges, values, side="right") - 1
    return np.where((index >= 0) & (index < len(edges) - 1), index, -1)


def weighted_quantiles(x: np.ndarray, w: np.ndarray, qs: tuple[float, ...]) -> np.ndarray:
    """Quantiles of weighted values (midpoint rule; Hazen's quantiles for unit weights).
    Negative weights are taken by magnitude."""
    order = np.argsort(x)
    x, w = x[order], np.abs(w[order])
    total = w.sum()
    if total <= 0:
        return np.full(len(qs), np.nan)
    cumulative = (np.cumsum(w) - 0.5 * w) / total
    return np.interp(qs, cumulative, x)


def effective_n(w: np.ndarray) -> float:
    s2 = float(np.sum(w * w))
    return float(np.sum(w)) ** 2 / s2 if s2 > 0 else 0.0


def ratio_summary(ratio: np.ndarray, weight: np.ndarray) -> dict:
    """Response, resolution (with errors), mean and std of ``ratio`` in one bin."""
    ratio = np.asarray(ratio, np.float64)
    weight = np.asarray(weight, np.float64)
    n = int(ratio.size)
    out = {"n": n, "n_eff": effective_n(weight) if n else 0.0, "response": None,
           "response_error": None, "resolution": None, "resolution_error": None,
           "mean": None, "std": None}
    if n < MIN_ENTRIES or not np.sum(np.abs(weight)) > 0:
        return out
    q16, q50, q84 = weighted_quantiles(ratio, weight, QUANTILES)
    half = 0.5 * (q84 - q16)
    root_n = math.sqrt(max(out["n_eff"], 1.0))
    mean = float(np.average(ratio, weights=np.abs(weight)))
    std = math.sqrt(float(np.average((ratio - mean) ** 2, weights=np.abs(weight))))
    out.update(response=float(q50), response_error=MEDIAN_ERROR * half / root_n,
               resolution=float(half), resolution_error=HALF_RANGE_ERROR * half / root_n,
               mean=mean, std=std)
    return out


def spread_summary(delta: np.ndarray, weight: np.ndarray) -> dict:
    """Robust width (half 16-84 % range) and std of differences (angular resolution)."""
    delta = np.asarray(delta, np.float64)
    weight = np.asarray(weight, np.float64)
    n = int(delta.size)
    out = {"n": n, "width": None, "width_error": None, "std": None, "mean": None}
    if n < MIN_ENTRIES or not np.sum(np.abs(weight)) > 0:
        return out
    q16, _, q84 = weighted_quantiles(delta, weight, QUANTILES)
    half = 0.5 * (q84 - q16)
    mean = float(np.average(delta, weights=np.abs(weight)))
    std = math.sqrt(float(np.average((delta - mean) ** 2, weights=np.abs(weight))))
    out.update(width=float(half), width_error=HALF_RANGE_ERROR * half
               / math.sqrt(max(effective_n(weight), 1.0)), std=std, mean=mean)
    return out


def efficiency(passed: np.ndarray, weight: np.ndarray) -> dict:
    """Weighted fraction of ``passed`` with its Clopper-Pearson interval (68.27 %)."""
    passed = np.asarray(passed, bool)
    weight = np.asarray(weight, np.float64)
    n = int(passed.size)
    total = float(weight.sum())
    out = {"n": n, "n_passed": int(passed.sum()), "efficiency": None, "low": None,
           "high": None}
    if n == 0 or not total > 0:
        return out
    value = float(weight[passed].sum()) / total
    n_eff = effective_n(weight)
    k_eff = value * n_eff
    alpha = 1.0 - CONFIDENCE
    low = 0.0 if k_eff <= 0 else float(sps.beta.ppf(alpha / 2, k_eff, n_eff - k_eff + 1))
    high = 1.0 if k_eff >= n_eff else float(sps.beta.ppf(1 - alpha / 2, k_eff + 1,
                                                         n_eff - k_eff))
    out.update(efficiency=value, low=min(low, value), high=max(high, value))
    return out


def binned(x: np.ndarray, edges: np.ndarray, summary, *columns: np.ndarray) -> list[dict]:
    """``summary(*columns[in bin])`` for every bin of ``x``, with the bin's edges."""
    index = bin_index(np.asarray(x, np.float64), edges)
    rows = []
    for b in range(len(edges) - 1):
        inside = index == b
        rows.append({"low_edge": float(edges[b]), "high_edge": float(edges[b + 1]),
                     **summary(*(c[inside] for c in columns))})
    return rows
