"""What the parametric detector reads and writes: particles of many events as flat columns.

Every array is flat over all particles of all events, with ``event`` (non-decreasing) saying
which event each row belongs to; this keeps every detector step a vectorised array
operation (no per-particle Python), as in the Pythia selections of lhcgen.data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.errors import LhcgenError

# Codes of ``EnergyFlow.kind``.
EFLOW_TRACK = 0
"""A reconstructed track (charged particle), with its smeared momentum."""
EFLOW_PHOTON = 1
"""ECAL energy left after subtracting the tracks' ECAL deposits (a neutral, massless)."""
EFLOW_NEUTRAL_HADRON = 2
"""HCAL energy left after subtracting the tracks' HCAL deposits (a neutral, massless)."""


@dataclass(frozen=True)
class FinalState:
    """Stable generator-level particles of ``n_events`` events (neutrinos may be included;
    the detector ignores them).

    Attributes:
        n_events: number of events (events without particles are allowed).
        event: (M,) int64 event index of each particle, non-decreasing, in 0..n_events-1.
        p4: (M, 4) float64 (E, px, py, pz) in GeV.
        pid: (M,) int64 PDG id.
        charge: (M,) float64 electric charge in units of e.
    """

    n_events: int
    event: np.ndarray
    p4: np.ndarray
    pid: np.ndarray
    charge: np.ndarray

    def __post_init__(self) -> None:
        m = len(self.event)
        if self.p4.shape != (m, 4) or self.pid.shape != (m,) or self.charge.shape != (m,):
            raise LhcgenError(f"FinalState columns disagree: event {self.event.shape}, p4 "
                              f"{self.p4.shape}, pid {self.pid.shape}, charge "
                              f"{self.charge.shape}")
        if m and (np.any(np.diff(self.event) < 0) or self.event[0] < 0
                  or self.event[-1] >= self.n_events):
            raise LhcgenError("FinalState.event must be non-decreasing in 0..n_events-1")


@dataclass(frozen=True)
class FlavourHadrons:
    """B and C hadrons of the generator record, the ghosts that give jets their flavour.

    Attributes:
        event: (H,) int64 event index, non-decreasing.
        p4: (H, 4) float64 (E, px, py, pz) in GeV.
        flavour: (H,) int64, 5 (contains a b quark) or 4 (contains a c quark, no b).
    """

    event: np.ndarray
    p4: np.ndarray
    flavour: np.ndarray


@dataclass(frozen=True)
class EnergyFlow:
    """Particle-flow objects of the detector: tracks and the neutral calorimeter remainders.

    Attributes:
        event: (K,) int64 event index, non-decreasing.
        p4: (K, 4) float64 (E, px, py, pz) in GeV (towers massless, tracks with the
            particle's true mass).
        kind: (K,) int64, EFLOW_TRACK, EFLOW_PHOTON or EFLOW_NEUTRAL_HADRON.
        pid: (K,) int64 the true PDG id of a track's particle, 0 for towers.
        source: (K,) int64 index of a track's particle in the FinalState, -1 for towers.
    """

    event: np.ndarray
    p4: np.ndarray
    kind: np.ndarray
    pid: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class Leptons:
    """Reconstructed electrons or muons (after efficiency and resolution), isolated or not.

    Attributes:
        event: (L,) int64 event index, non-decreasing.
        p4: (L, 4) float64 smeared four-momenta in GeV.
        pid: (L,) int64 signed PDG id (11, -11, 13 or -13) from the reconstructed charge.
        isolation: (L,) float64 sum of the pT of the other energy-flow objects above the
            card's isolation pT threshold within its Delta R, divided by the lepton's pT.
        isolated: (L,) bool isolation below the card's maximum ratio.
        eflow: (L,) int64 index of the lepton's track in EnergyFlow (to leave it out of jets).
        source: (L,) int64 index of the generator particle in the FinalState.
    """

    event: np.ndarray
    p4: np.ndarray
    pid: np.ndarray
    isolation: np.ndarray
    isolated: np.ndarray
    eflow: np.ndarray
    source: np.ndarray


@dataclass(frozen=True)
class DetectorResponse:
    """Everything the parametric detector reconstructs for a set of events.

    Attributes:
        n_events: number of events.
        eflow: the particle-flow objects (inputs of detector-level jets and of MET).
        electrons, muons: reconstructed leptons (efficiency and smearing applied; the
            ``isolated`` flag says which pass the card's isolation).
        met: (n_events, 2) float64 missing transverse momentum (px, py) in GeV: minus the
            vector sum of the pT of all energy-flow objects.
    """

    n_events: int
    eflow: EnergyFlow
    electrons: Leptons
    muons: Leptons
    met: np.ndarray
