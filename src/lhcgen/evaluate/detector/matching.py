"""Particle-level objects matched to detector-level objects of the same event.

Leptons match a detector lepton of the same flavour (|PDG id| 11 or 13, either charge)
within Delta R < 0.1; jets (light or b, either way round) a detector jet within Delta R <
0.2. Matching is greedy: the closest allowed pair of an event is taken first, then the
closest among the remaining objects, and so on, so that each object is used at most once.
Everything is vectorised over events; the loop runs over at most min(slots) rounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.data.paired import JET_TYPES, LevelObjects
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv

LEPTON_MAX_DR = 0.1
JET_MAX_DR = 0.2
LEPTON_FLAVOURS = (11, 13)
CHUNK_EVENTS = 100_000
"""Events matched at once (bounds the (events, slots, slots) Delta R array)."""


@dataclass(frozen=True)
class Matches:
    """For every particle-level slot: the detector-level slot it matches, or -1.

    Attributes:
        index: (N, P_particle) int64 detector slot, -1 where unmatched or empty.
        delta_r: (N, P_particle) float64 Delta R of the match, NaN where unmatched.
    """

    index: np.ndarray
    delta_r: np.ndarray

    @property
    def matched(self) -> np.ndarray:
        return self.index >= 0


def allowed_pairs(truth_type: np.ndarray, reco_type: np.ndarray,
                  lepton_max_dr: float = LEPTON_MAX_DR, jet_max_dr: float = JET_MAX_DR
                  ) -> np.ndarray:
    """(N, Pt, Pr) float64: the largest Delta R a pair may have (0 where never allowed)."""
    t = truth_type[:, :, None]
    r = reco_type[:, None, :]
    same_lepton = np.isin(np.abs(t), LEPTON_FLAVOURS) & (np.abs(t) == np.abs(r))
    both_jets = np.isin(t, JET_TYPES) & np.isin(r, JET_TYPES)
    return np.where(same_lepton, lepton_max_dr, np.where(both_jets, jet_max_dr, 0.0))


def greedy_match(distance: np.ndarray, max_distance: np.ndarray) -> tuple[np.ndarray,
                                                                           np.ndarray]:
    """Greedy one-to-one matching of rows to columns in every event.

    Args:
        distance: (N, A, B) distances.
        max_distance: (N, A, B) a pair is allowed where distance < max_distance.

    Returns:
        (index, best): (N, A) column of each row's match or -1, and its distance (NaN).
    """
    n, a, b = distance.shape
    d = np.where(distance < max_distance, distance, np.inf)
    index = np.full((n, a), -1, np.int64)
    best = np.full((n, a), np.nan)
    rows = np.arange(n)
    for _ in range(min(a, b)):
        if a == 0 or b == 0:
            break
        i, j = np.divmod(d.reshape(n, a * b).argmin(axis=1), b)
        value = d[rows, i, j]
        ok = np.isfinite(value)
        if not ok.any():
            break
        ev, i, j = rows[ok], i[ok], j[ok]
        index[ev, i] = j
        best[ev, i] = value[ok]
        d[ev, i, :] = np.inf
        d[ev, :, j] = np.inf
    return index, best


def match_levels(particle: LevelObjects, detector: LevelObjects,
                 lepton_max_dr: float = LEPTON_MAX_DR, jet_max_dr: float = JET_MAX_DR,
                 chunk: int = CHUNK_EVENTS) -> Matches:
    """Match every particle-level lepton and jet to a detector-level partner (see module)."""
    if len(particle) != len(detector):
        raise LhcgenError(f"particle level has {len(particle)} events, detector level "
                          f"{len(detector)}")
    n = len(particle)
    index = np.full(particle.mask.shape, -1, np.int64)
    best = np.full(particle.mask.shape, np.nan)
    for start in range(0, n, chunk):
        part = slice(start, min(n, start + chunk))
        t_p4, r_p4 = particle.momenta[part], detector.momenta[part]
        limit = allowed_pairs(particle.object_type[part], detector.object_type[part],
                              lepton_max_dr, jet_max_dr)
        limit = limit * (particle.mask[part][:, :, None] & detector.mask[part][:, None, :])
        distance = fv.delta_r(t_p4[:, :, None, :], r_p4[:, None, :, :])
        index[part], best[part] = greedy_match(distance, limit)
    return Matches(index, best)
