"""Energy flow, as Delphes' SimpleCalorimeter makes it: tracks plus neutral tower remainders.

Every reconstructed track is an EFLOW_TRACK with its smeared momentum. In each tower of a
calorimeter the tracks' share is the sum, over the tracks whose particle deposited there, of
the track energy times the particle's energy fraction in that calorimeter; the neutral
remainder max(measured tower energy - track share, 0) becomes an EFLOW_PHOTON (ECAL) or an
EFLOW_NEUTRAL_HADRON (HCAL) when it exceeds energy_min and energy_significance_min times
sqrt(sigma_tower^2 + sum of (track resolution * track share)^2). Its direction is drawn
uniformly in the tower (or is the tower centre), massless. Charged particles that were not
tracked (inefficiency, |eta| beyond the tracker) thus show up in the neutral remainder.
Unlike Delphes, tracks are not rescaled to a combined track-calorimeter estimate when the
remainder is not significant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector.calorimeter import (
    NO_TOWER,
    deposit_keys,
    energy_fractions,
    measure_towers,
    tower_grid,
)
from lhcgen.physics.detector.card import Calorimeter, DetectorCard
from lhcgen.physics.detector.particles import (
    EFLOW_NEUTRAL_HADRON,
    EFLOW_PHOTON,
    EFLOW_TRACK,
    EnergyFlow,
    FinalState,
)
from lhcgen.physics.detector.tracking import Tracks


@dataclass(frozen=True)
class NeutralTowers:
    """Neutral remainders of one calorimeter kept as energy-flow objects.

    Attributes:
        event: (N,) int64 event index, non-decreasing.
        p4: (N, 4) float64 massless (E, px, py, pz) in GeV.
    """

    event: np.ndarray
    p4: np.ndarray


def neutral_towers(final: FinalState, tracks: Tracks, fraction: np.ndarray, cal: Calorimeter,
                   rng: np.random.Generator) -> NeutralTowers:
    """The significant neutral remainders of calorimeter ``cal``, given each FinalState
    particle's energy ``fraction`` in it. Draws one normal number per tower with energy,
    then two uniform numbers (eta, phi) per kept remainder when smear_tower_center."""
    grid = tower_grid(cal)
    keys = deposit_keys(final.event, final.p4, fraction, grid)
    towers = measure_towers(keys, final.p4[:, 0] * fraction, cal, rng)
    track_keys = keys[tracks.source]
    track_share = tracks.p4[:, 0] * fraction[tracks.source]
    in_tower = track_keys != NO_TOWER
    position = np.searchsorted(towers.key, track_keys[in_tower])
    n = len(towers.key)
    share = np.bincount(position, weights=track_share[in_tower], minlength=n)
    share_variance = np.bincount(
        position, weights=(tracks.resolution[in_tower] * track_share[in_tower]) ** 2,
        minlength=n)
    neutral = np.maximum(towers.energy - share, 0.0)
    width = np.sqrt(share_variance + towers.sigma**2)
    significant = neutral > cal.energy_significance_min * width
    kept = np.flatnonzero((neutral > cal.energy_min) & significant)
    tower = towers.tower[kept]
    if cal.smear_tower_center:
        u = rng.random((2, len(kept)))
        eta = grid.eta_low[tower] + u[0] * (grid.eta_high[tower] - grid.eta_low[tower])
        phi = grid.phi_low[tower] + u[1] * (grid.phi_high[tower] - grid.phi_low[tower])
    else:
        eta = 0.5 * (grid.eta_low[tower] + grid.eta_high[tower])
        phi = 0.5 * (grid.phi_low[tower] + grid.phi_high[tower])
    energy = neutral[kept]
    p4 = fv.from_pt_eta_phi_massless(energy / np.cosh(eta), eta, phi)
    return NeutralTowers(event=towers.event[kept], p4=p4)


def energy_flow(final: FinalState, tracks: Tracks, card: DetectorCard,
                rng: np.random.Generator) -> tuple[EnergyFlow, np.ndarray]:
    """The energy-flow objects of all events (per event: tracks, then ECAL photons, then
    HCAL neutral hadrons) and (T,) int64 the index of each track in them."""
    ecal_fraction, hcal_fraction = energy_fractions(final.pid, card.energy_fractions)
    photons = neutral_towers(final, tracks, ecal_fraction, card.ecal, rng)
    hadrons = neutral_towers(final, tracks, hcal_fraction, card.hcal, rng)
    n_tracks, n_photons = len(tracks.source), len(photons.event)
    event = np.concatenate([final.event[tracks.source], photons.event, hadrons.event])
    order = np.argsort(event, kind="stable")
    kind = np.concatenate([np.full(n_tracks, EFLOW_TRACK), np.full(n_photons, EFLOW_PHOTON),
                           np.full(len(hadrons.event), EFLOW_NEUTRAL_HADRON)])
    n_towers = n_photons + len(hadrons.event)
    pid = np.concatenate([final.pid[tracks.source], np.zeros(n_towers, dtype=np.int64)])
    source = np.concatenate([tracks.source, np.full(n_towers, -1, dtype=np.int64)])
    p4 = np.concatenate([tracks.p4, photons.p4, hadrons.p4]).reshape(-1, 4)
    eflow = EnergyFlow(event=event[order].astype(np.int64), p4=p4[order],
                       kind=kind[order].astype(np.int64), pid=pid[order].astype(np.int64),
                       source=source[order])
    position = np.empty(len(order), dtype=np.int64)
    position[order] = np.arange(len(order))
    return eflow, position[:n_tracks]
