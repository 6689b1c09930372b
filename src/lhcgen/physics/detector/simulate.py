"""The whole parametric detector: generator-level particles in, DetectorResponse out."""

from __future__ import annotations

import numpy as np

from lhcgen.physics.detector.card import DetectorCard
from lhcgen.physics.detector.leptons import identify_leptons
from lhcgen.physics.detector.met import missing_transverse_momentum
from lhcgen.physics.detector.particle_flow import energy_flow
from lhcgen.physics.detector.particles import DetectorResponse, FinalState
from lhcgen.physics.detector.tracking import reconstruct_tracks


def simulate_detector(final: FinalState, card: DetectorCard,
                      rng: np.random.Generator) -> DetectorResponse:
    """Tracks, calorimeter towers and energy flow, electrons, muons and missing pT of the
    events of ``final``. Random numbers are drawn in a fixed order (tracking, ECAL, HCAL,
    electrons, muons), so the same inputs and generator state give the same response."""
    tracks = reconstruct_tracks(final, card, rng)
    eflow, _ = energy_flow(final, tracks, card, rng)
    electrons = identify_leptons(final, eflow, 11, card.electron, rng)
    muons = identify_leptons(final, eflow, 13, card.muon, rng)
    return DetectorResponse(n_events=final.n_events, eflow=eflow, electrons=electrons,
                            muons=muons,
                            met=missing_transverse_momentum(eflow, final.n_events))
