"""Draw weights that let rare conditions come up more often in training (``training.rare_boost``).

Within each group (a jet type), the values of one condition (m/pT for jets) are binned in
``bins`` equal-width bins between the group's smallest and largest value. A bin holding
fewer events than the median of the group's occupied bins has its events drawn
median/count times as often, up to ``boost``; every other event keeps weight 1. So the bulk
of the distribution is drawn as before and only its thin tails are lifted, at most
``boost``-fold. For a conditional generator this changes how often the network sees each
condition, not the distribution it learns at a given condition.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.errors import LhcgenError

BINS = 50


@dataclass(frozen=True)
class RareDraws:
    """Per-event draw weights (mean 1 over the sample) and what they do."""

    weights: np.ndarray
    boosted: int
    """Events drawn more often than once per epoch on average."""
    boosted_share: float
    """The share of all draws that go to those events."""
    bins: int = BINS
    """The bins each group's values were cut into."""

    def facts(self, boost: float, condition: str) -> dict:
        return {"boost": boost, "condition": condition, "bins": self.bins,
                "boosted_events": self.boosted, "events": len(self.weights),
                "boosted_share_of_draws": round(self.boosted_share, 5)}


def rare_draw_weights(values: np.ndarray, groups: np.ndarray, boost: float,
                      bins: int = BINS) -> RareDraws:
    """Draw weights of ``values`` (N,) binned within each of ``groups`` (N,); see the module."""
    values = np.asarray(values, dtype=np.float64)
    if values.shape != np.shape(groups) or values.ndim != 1:
        raise LhcgenError("rare draws: values and groups must be two arrays of one length")
    if not np.all(np.isfinite(values)):
        raise LhcgenError(f"rare draws: {int((~np.isfinite(values)).sum())} value(s) are NaN "
                          "or infinite")
    if boost < 1:
        raise LhcgenError(f"rare draws: the boost must be at least 1, got {boost}")
    raw = np.ones(len(values))
    for group in np.unique(groups):
        rows = np.flatnonzero(groups == group)
        lo, hi = values[rows].min(), values[rows].max()
        if hi <= lo:
            continue
        index = np.minimum(((values[rows] - lo) / (hi - lo) * bins).astype(int), bins - 1)
        counts = np.bincount(index, minlength=bins)
        typical = np.median(counts[counts > 0])
        raw[rows] = np.clip(typical / counts[index], 1.0, boost)
    boosted = raw > 1.0
    return RareDraws(raw / raw.mean(), int(boosted.sum()),
                     float(raw[boosted].sum() / raw.sum()), bins)
