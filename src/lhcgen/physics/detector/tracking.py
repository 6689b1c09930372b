"""Tracking: which charged particles leave a track, and the track's smeared momentum.

Every charged particle (|charge| > 0) is a tracking candidate, classed as electron
(|pid| 11), muon (|pid| 13) or charged hadron (any other). It is tracked with the card's
efficiency of its true (|eta|, pT); a track keeps the particle's eta, phi and mass, and its
pT is drawn from a log-normal of mean pT and width sigma(pT) (Delphes' MomentumSmearing),
with the relative resolution capped at 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector.binning import region_index, table_efficiency
from lhcgen.physics.detector.card import DetectorCard, TrackClass, Tracking
from lhcgen.physics.detector.particles import FinalState
from lhcgen.physics.detector.smearing import log_normal

CHARGED_HADRON, ELECTRON, MUON = 0, 1, 2
"""Track classes of ``track_class``."""

_CLASS_NAMES = ("charged_hadron", "electron", "muon")


@dataclass(frozen=True)
class Tracks:
    """Reconstructed tracks, in FinalState order.

    Attributes:
        source: (T,) int64 index of each track's particle in the FinalState.
        p4: (T, 4) float64 smeared (E, px, py, pz) in GeV.
        resolution: (T,) float64 relative pT resolution sigma(pT)/pT used for the smearing.
    """

    source: np.ndarray
    p4: np.ndarray
    resolution: np.ndarray


def track_class(pid: np.ndarray) -> np.ndarray:
    """CHARGED_HADRON, ELECTRON (|pid| 11) or MUON (|pid| 13) for each PDG id."""
    abs_pid = np.abs(pid)
    return np.where(abs_pid == 11, ELECTRON, np.where(abs_pid == 13, MUON, CHARGED_HADRON))


def _per_class(pid: np.ndarray, tracking: Tracking, quantity) -> np.ndarray:
    """``quantity(track_class_card, mask)`` filled in for each class of ``pid``."""
    classes = track_class(pid)
    out = np.zeros(len(classes), dtype=np.float64)
    for code, name in enumerate(_CLASS_NAMES):
        mask = classes == code
        if mask.any():
            out[mask] = quantity(getattr(tracking, name), mask)
    return out


def track_efficiency(pid: np.ndarray, pt: np.ndarray, eta: np.ndarray,
                     tracking: Tracking) -> np.ndarray:
    """Probability that a charged particle of PDG id ``pid``, true pT (GeV) and eta is
    tracked (the card's table of its class; 0 beyond the tracker)."""
    abs_eta = np.abs(eta)
    return _per_class(pid, tracking, lambda card, mask: table_efficiency(
        card.efficiency, abs_eta[mask], pt[mask]))


def _class_resolution(card: TrackClass, pt: np.ndarray, abs_eta: np.ndarray) -> np.ndarray:
    region = region_index([r.abs_eta_max for r in card.resolution], abs_eta)
    constant = np.array([r.constant for r in card.resolution] + [0.0])[region]
    slope = np.array([r.slope for r in card.resolution] + [0.0])[region]
    return np.minimum(np.hypot(constant, slope * pt), 1.0)


def relative_pt_resolution(pid: np.ndarray, pt: np.ndarray, eta: np.ndarray,
                           tracking: Tracking) -> np.ndarray:
    """sigma(pT)/pT = sqrt(constant^2 + (slope pT)^2) of the particle's class and |eta|
    region, capped at 1 (as Delphes); 0 beyond the last region. pT in GeV."""
    abs_eta = np.abs(eta)
    return _per_class(pid, tracking, lambda card, mask: _class_resolution(
        card, pt[mask], abs_eta[mask]))


def reconstruct_tracks(final: FinalState, card: DetectorCard,
                       rng: np.random.Generator) -> Tracks:
    """The tracks of ``final``: charged particles kept with their tracking efficiency (one
    uniform number per charged particle), then pT-smeared (one normal number per track)."""
    candidates = np.flatnonzero(final.charge != 0)
    p4 = final.p4[candidates]
    pid = final.pid[candidates]
    pt, eta = fv.pt(p4), fv.eta(p4)
    efficiency = track_efficiency(pid, pt, eta, card.tracking)
    kept = rng.random(len(candidates)) < efficiency
    source = candidates[kept]
    p4, pid, pt, eta = p4[kept], pid[kept], pt[kept], eta[kept]
    resolution = relative_pt_resolution(pid, pt, eta, card.tracking)
    smeared_pt = log_normal(pt, resolution * pt, rng)
    smeared = fv.from_pt_eta_phi_m(smeared_pt, eta, fv.phi(p4), fv.mass(p4))
    return Tracks(source=source.astype(np.int64), p4=smeared, resolution=resolution)
