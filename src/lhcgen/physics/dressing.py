"""Dressed leptons: final-state photons added to the nearest lepton within a cone, the
particle-level lepton definition of lhcgen's processes (and of Rivet's DressedLeptons)."""

from __future__ import annotations

import numpy as np

from lhcgen.physics import fourvectors as fv


def dress_leptons(event: np.ndarray, lepton: np.ndarray, photon: np.ndarray,
                  p4: np.ndarray, radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Each photon within ``radius`` of a lepton of its event joins the nearest one.

    Args:
        event: (M,) event index of every particle (non-decreasing).
        lepton, photon: flat indices of the final-state leptons and photons.
        p4: (M, 4) (E, px, py, pz) of every particle.
        radius: dressing cone in (eta, phi); 0 leaves the leptons bare.

    Returns:
        The dressed four-momenta (len(lepton), 4), and for every photon the position in
        ``lepton`` of the lepton it dresses (-1: none).
    """
    dressed = p4[lepton].copy()
    owner = np.full(len(photon), -1, dtype=np.int64)
    if radius <= 0 or len(lepton) == 0 or len(photon) == 0:
        return dressed, owner
    lepton_event = event[lepton]
    first = np.searchsorted(lepton_event, event[photon], side="left")
    count = np.searchsorted(lepton_event, event[photon], side="right") - first
    pair_photon = np.repeat(np.arange(len(photon)), count)
    pair_lepton = np.repeat(first, count) + (np.arange(count.sum())
                                           - np.repeat(np.cumsum(count) - count, count))
    distance = fv.delta_r(p4[photon[pair_photon]], p4[lepton[pair_lepton]])
    # Nearest lepton of each photon: sort the pairs by (photon, distance), keep the first.
    order = np.lexsort((distance, pair_photon))
    first_pair = order[np.r_[True, pair_photon[order][1:] != pair_photon[order][:-1]]]
    close = distance[first_pair] < radius
    owner[pair_photon[first_pair[close]]] = pair_lepton[first_pair[close]]
    dressing = np.flatnonzero(owner >= 0)
    np.add.at(dressed, owner[dressing], p4[photon[dressing]])
    return dressed, owner
