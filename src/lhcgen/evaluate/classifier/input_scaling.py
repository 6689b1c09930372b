"""How the MLP judge sees its inputs: standardised, or mapped through their quantiles.

A narrow peak on a wide range (m_mumu: the Z, about 2.5 GeV wide, among events from 40 to
180 GeV) or a steep spectrum occupies a small part of a standardised axis, and a ReLU MLP
needs many sharp units to resolve a change of its width; boosted trees, which cut at
quantile bins, see it at once (benchmarks/results/judge_power.md). The Gaussian-quantile
map sends each feature through its empirical distribution function on the training split
and then through the inverse normal CDF, so every feature is spread as N(0, 1) and the
peak fills the axis. It is monotonic (the density ratio, hence the weights, are the same
function of the event), ties (a padded slot's 0, the integer multiplicity) keep one value
each, and it is fitted on the training events only.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtri

from lhcgen.errors import LhcgenError

INPUT_SCALINGS = ("quantile", "standard")
N_QUANTILES = 1000
CDF_EDGE = 1e-4
"""The CDF is kept within [CDF_EDGE, 1 - CDF_EDGE] (|z| < 3.7) before the normal quantile."""


@dataclass(frozen=True)
class Standardise:
    """x -> (x - mean) / std per feature (std 1 for a constant feature)."""

    mean: np.ndarray
    scale: np.ndarray

    @staticmethod
    def fit(x: np.ndarray) -> Standardise:
        mean = x.mean(axis=0)
        scale = x.std(axis=0)
        return Standardise(mean, np.where(scale > 1e-12 * np.maximum(1.0, np.abs(mean)),
                                          scale, 1.0))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, dtype=np.float64) - self.mean) / self.scale


@dataclass(frozen=True)
class GaussianQuantiles:
    """x -> Phi^-1(F(x)) per feature, F the training split's piecewise-linear CDF.

    Attributes:
        knots: per feature, the distinct quantile values (increasing).
        levels: per feature, the CDF at each knot (the mean level of tied quantiles).
    """

    knots: tuple[np.ndarray, ...]
    levels: tuple[np.ndarray, ...]

    @staticmethod
    def fit(x: np.ndarray, n_quantiles: int = N_QUANTILES) -> GaussianQuantiles:
        grid = np.linspace(0.0, 1.0, n_quantiles)
        knots, levels = [], []
        for column in np.asarray(x, dtype=np.float64).T:
            values = np.quantile(column, grid)
            unique, inverse = np.unique(values, return_inverse=True)
            knots.append(unique)
            levels.append(np.bincount(inverse, weights=grid) / np.bincount(inverse))
        return GaussianQuantiles(tuple(knots), tuple(levels))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        out = np.empty_like(x)
        for f, (knots, levels) in enumerate(zip(self.knots, self.levels, strict=True)):
            if len(knots) == 1:
                out[:, f] = 0.0
                continue
            cdf = np.interp(x[:, f], knots, levels)
            out[:, f] = ndtri(np.clip(cdf, CDF_EDGE, 1.0 - CDF_EDGE))
        return out


def fit_input_scaling(x: np.ndarray, kind: str) -> Standardise | GaussianQuantiles:
    """The input map of the MLP judge, fitted on its training events ``x``."""
    if kind == "quantile":
        return GaussianQuantiles.fit(x)
    if kind == "standard":
        return Standardise.fit(x)
    raise LhcgenError(f"unknown input scaling {kind!r}; choose from {INPUT_SCALINGS}")
