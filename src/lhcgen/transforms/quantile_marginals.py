"""Each coordinate sent through its own empirical distribution onto a standard normal, per group.

A small flow learns sharp one-dimensional features badly: the W mass peak, whose rise at
80 GeV the conditions model of jets smoothed whatever its width, depth, epochs or sampler
steps, and the jet pT, which piles up just below the narrow pT-hat window and was 1.7-2.7x
its floor for every type at 50000 jets (docs/jets-generators.md). With

    z = Phi^-1(F_g(x)),   x = F_g^-1(Phi(z)),

F_g the empirical distribution of one coordinate in group g (a jet type) and Phi the
standard normal's, every coordinate has a standard normal marginal in every group: what the
flow must learn is how the coordinates depend on one another and on the group (their
copula) and a normal for each; where it gets those right, each marginal comes back as the
training data's, sharp features included.

F_g is piecewise linear between ``KNOTS`` knots, the empirical quantiles at probabilities
i / (K - 1), the smallest and largest training values among them. Its inverse therefore maps
every real z into [smallest, largest]: what is generated stays inside the training range by
construction (the pT window and |eta| cut of the training file, among others) and never goes
beyond it, as no constituent goes beyond R_max. Probabilities are kept within
[1 / (2 n_g), 1 - 1 / (2 n_g)], n_g the fitted values of the group, so the extreme training
values map to z of about +-4.3 at 50000 values, not to infinity. Ties (a value that several
training points share) give F_g a vertical step; ``forward`` then maps the tied value to the
middle of that step. All in float64.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from lhcgen.errors import LhcgenError

KNOTS = 1001
"""Quantiles per coordinate and group: about 50 training values between two knots at 50000."""


@dataclass(frozen=True)
class QuantileMarginals:
    """Fitted knots of every coordinate of every group."""

    groups: tuple[int, ...]
    """The group codes (jet types), in the order of ``knots``."""
    knots: np.ndarray
    """(G, D, K) quantiles of each group's D coordinates at probabilities i / (K - 1)."""
    counts: tuple[int, ...]
    """Values each group was fitted on."""

    @classmethod
    def fit(cls, values: np.ndarray, groups: np.ndarray, n_knots: int = KNOTS
            ) -> QuantileMarginals:
        """Knots of the (N, D) ``values`` per code in ``groups`` (N,); one line if a value
        is not finite or a group has fewer than two values."""
        values = np.asarray(values, dtype=np.float64)
        if values.ndim != 2 or len(values) != len(groups):
            raise LhcgenError(f"quantile marginals: expected (N, D) values and N groups, got "
                              f"{values.shape} and {len(groups)}")
        bad = int((~np.isfinite(values)).any(axis=1).sum())
        if bad:
            raise LhcgenError(f"quantile marginals: {bad} rows hold values that are not "
                              "finite")
        if n_knots < 2:
            raise LhcgenError(f"quantile marginals need at least 2 knots, got {n_knots}")
        codes = sorted(set(np.asarray(groups).tolist()))
        probabilities = np.linspace(0.0, 1.0, n_knots)
        knots, counts = [], []
        for code in codes:
            rows = values[np.asarray(groups) == code]
            if len(rows) < 2:
                raise LhcgenError(f"quantile marginals: group {code} has {len(rows)} value(s); "
                                  "need at least 2")
            knots.append(np.quantile(rows, probabilities, axis=0).T)  # (D, K)
            counts.append(len(rows))
        return cls(tuple(int(c) for c in codes), np.stack(knots), tuple(counts))

    @property
    def n_knots(self) -> int:
        return self.knots.shape[-1]

    def _index(self, groups: np.ndarray) -> np.ndarray:
        groups = np.asarray(groups)
        index = np.searchsorted(self.groups, groups)
        index = np.minimum(index, len(self.groups) - 1)
        unknown = sorted(set(groups[np.asarray(self.groups)[index] != groups].tolist()))
        if unknown:
            raise LhcgenError(f"quantile marginals were fitted on groups {list(self.groups)}, "
                              f"not {unknown}")
        return index

    def forward(self, values: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """(N, D) values -> (N, D) standard-normal coordinates; values beyond the fitted
        range map to its ends."""
        values = np.asarray(values, dtype=np.float64)
        index = self._index(groups)
        probabilities = np.linspace(0.0, 1.0, self.n_knots)
        out = np.empty_like(values)
        for g, count in enumerate(self.counts):
            rows = index == g
            lo, hi = 0.5 / count, 1.0 - 0.5 / count
            for d in range(values.shape[1]):
                xp = self.knots[g, d]
                x = values[rows, d]
                # the middle of a tie's step: interpolate from the left and from the right
                left = np.interp(x, xp, probabilities)
                right = 1.0 - np.interp(-x, -xp[::-1], probabilities)
                out[rows, d] = ndtri(np.clip(0.5 * (left + right), lo, hi))
        return out

    def inverse(self, z: np.ndarray, groups: np.ndarray) -> np.ndarray:
        """(N, D) standard-normal coordinates -> (N, D) values within each group's fitted
        range (any finite or infinite z; NaN stays NaN)."""
        z = np.asarray(z, dtype=np.float64)
        index = self._index(groups)
        probabilities = np.linspace(0.0, 1.0, self.n_knots)
        out = np.empty_like(z)
        for g in range(len(self.groups)):
            rows = index == g
            for d in range(z.shape[1]):
                out[rows, d] = np.interp(ndtr(z[rows, d]), probabilities, self.knots[g, d])
        out[np.isnan(z)] = np.nan
        return out

    def state_dict(self) -> dict:
        return {"groups": list(self.groups), "counts": list(self.counts),
                "knots": self.knots.tolist()}

    @classmethod
    def from_state(cls, state: dict) -> QuantileMarginals:
        knots = np.asarray(state["knots"], dtype=np.float64)
        if knots.ndim != 3 or knots.shape[0] != len(state["groups"]):
            raise LhcgenError(f"quantile marginals: knots of shape {knots.shape} for "
                              f"{len(state['groups'])} groups")
        return cls(tuple(int(g) for g in state["groups"]), knots,
                   tuple(int(c) for c in state["counts"]))
