"""Missing transverse momentum from the energy flow."""

from __future__ import annotations

import numpy as np

from lhcgen.physics.detector.particles import EnergyFlow


def missing_transverse_momentum(eflow: EnergyFlow, n_events: int) -> np.ndarray:
    """(n_events, 2) float64 (px, py) in GeV: minus the vector sum of the transverse
    momenta of all energy-flow objects of each event (0 for an empty event)."""
    px = np.bincount(eflow.event, weights=eflow.p4[:, 1], minlength=n_events)
    py = np.bincount(eflow.event, weights=eflow.p4[:, 2], minlength=n_events)
    return -np.stack([px, py], axis=-1)
