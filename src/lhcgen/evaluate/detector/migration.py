"""The jet-multiplicity migration matrix and the table of passed selections.

The matrix counts all events of the file (passing either selection, weighted) by their
particle-level and detector-level ``n_jets_all``, the last bin holding ">= k". ``counts``
is indexed [particle bin][detector bin]; ``normalised`` divides each particle bin by its
total (the figure draws particle level on the x axis, so these are its columns).
Stability of a bin: the fraction of its particle-level events that stay in it at detector
level; purity: the fraction of its detector-level events that come from it.
"""

from __future__ import annotations

import numpy as np

from lhcgen.data.paired import PairedSample

TAIL_FRACTION = 0.02
"""The last bin starts where at most this fraction of events (either level) has as many
or more jets."""


def choose_last_bin(particle: np.ndarray, detector: np.ndarray, weights: np.ndarray,
                    tail: float = TAIL_FRACTION) -> int:
    """The smallest k >= 1 where the weighted fraction of events with >= k jets is at most
    ``tail`` at both levels (at most the largest count seen)."""
    w = np.abs(weights)
    largest = int(max(particle.max(initial=0), detector.max(initial=0)))
    total = w.sum()
    if total <= 0 or largest <= 1:
        return max(1, largest)
    for k in range(1, largest + 1):
        if (w[particle >= k].sum() <= tail * total
                and w[detector >= k].sum() <= tail * total):
            return k
    return largest


def _safe_ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.full(np.shape(a), np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out


def migration_matrix(sample: PairedSample, last: int | None = None) -> dict:
    """Weighted migration of ``n_jets_all`` from particle to detector level (see module)."""
    p = sample.particle.n_jets_all
    d = sample.detector.n_jets_all
    w = sample.weights
    k = choose_last_bin(p, d, w) if last is None else int(last)
    edges = np.arange(k + 2) - 0.5
    counts = np.histogram2d(np.minimum(p, k), np.minimum(d, k), bins=edges, weights=w)[0]
    raw = np.histogram2d(np.minimum(p, k), np.minimum(d, k), bins=edges)[0]
    diagonal = np.diag(counts)
    return {
        "labels": [str(i) for i in range(k)] + [f">={k}"],
        "last_bin": k,
        "counts": counts, "raw_counts": raw.astype(np.int64),
        "normalised": _safe_ratio(counts, counts.sum(axis=1, keepdims=True)),
        "stability": _safe_ratio(diagonal, counts.sum(axis=1)),
        "purity": _safe_ratio(diagonal, counts.sum(axis=0)),
        "diagonal_fraction": float(diagonal.sum() / counts.sum()) if counts.sum() else None,
        "index": "counts[particle bin][detector bin]; normalised: each particle bin sums to 1",
    }


def pass_table(sample: PairedSample) -> dict:
    """Events (and weights) by passed particle / passed detector selection."""
    p, d, w = sample.particle.passed, sample.detector.passed, sample.weights
    cells = {"both": p & d, "particle_only": p & ~d, "detector_only": ~p & d,
             "neither": ~p & ~d}
    out = {name: {"events": int(m.sum()), "weight": float(w[m].sum())}
           for name, m in cells.items()}
    wp, wd = float(w[p].sum()), float(w[d].sum())
    out["selection_efficiency"] = out["both"]["weight"] / wp if wp else None
    out["fake_fraction"] = out["detector_only"]["weight"] / wd if wd else None
    out["definitions"] = ("selection_efficiency: weight passing both / passing the "
                          "particle-level selection; fake_fraction: weight passing only the "
                          "detector-level selection / passing the detector-level selection")
    return out
