"""Electrons and muons: identified tracks, with their isolation.

An electron (muon) is a track of a |pid| 11 (13) particle kept with the card's
identification efficiency of the smeared track's (|eta|, pT), on top of the tracking
efficiency (Delphes' ElectronEfficiency, MuonEfficiency); its momentum is the smeared
track's and its signed pid follows the charge. Isolation (Delphes' Isolation module, without
pile-up corrections) sums the pT of the other energy-flow objects with pT > pt_min within
Delta R <= delta_r_max of the lepton, divided by the lepton pT. Unlike Delphes' EFlowFilter,
other leptons' tracks count in the sum; only the lepton's own track is left out.
"""

from __future__ import annotations

import numpy as np

from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector.binning import table_efficiency
from lhcgen.physics.detector.card import Isolation, LeptonId
from lhcgen.physics.detector.particles import EFLOW_TRACK, EnergyFlow, FinalState, Leptons


def _pairs_in_event(candidate_event: np.ndarray, object_event: np.ndarray):
    """(candidate, object) index pairs of every candidate with every object of its event;
    ``object_event`` is non-decreasing."""
    start = np.searchsorted(object_event, candidate_event, side="left")
    count = np.searchsorted(object_event, candidate_event, side="right") - start
    candidate = np.repeat(np.arange(len(candidate_event)), count)
    first_pair = np.cumsum(count) - count
    obj = np.arange(count.sum()) - np.repeat(first_pair - start, count)
    return candidate, obj


def isolation_ratio(eflow: EnergyFlow, candidates: np.ndarray, isolation: Isolation) -> np.ndarray:
    """(L,) sum of the pT of the energy-flow objects with pT > pt_min within Delta R <=
    delta_r_max of each candidate (given by its index in ``eflow``, itself left out),
    divided by the candidate's pT."""
    candidate, obj = _pairs_in_event(eflow.event[candidates], eflow.event)
    pt, eta, phi = fv.pt(eflow.p4), fv.eta(eflow.p4), fv.phi(eflow.p4)
    own = candidates[candidate]
    close = fv.angular_distance(eta[own] - eta[obj], phi[own] - phi[obj])
    counted = (close <= isolation.delta_r_max) & (pt[obj] > isolation.pt_min) & (obj != own)
    total = np.bincount(candidate, weights=np.where(counted, pt[obj], 0.0),
                        minlength=len(candidates))
    return total / pt[candidates]


def identify_leptons(final: FinalState, eflow: EnergyFlow, abs_pid: int, lepton: LeptonId,
                     rng: np.random.Generator) -> Leptons:
    """The electrons (``abs_pid`` 11) or muons (13) among the tracks of ``eflow``: one
    uniform number per track of that |pid|, in energy-flow order."""
    candidates = np.flatnonzero((eflow.kind == EFLOW_TRACK) & (np.abs(eflow.pid) == abs_pid))
    p4 = eflow.p4[candidates]
    efficiency = table_efficiency(lepton.efficiency, np.abs(fv.eta(p4)), fv.pt(p4))
    candidates = candidates[rng.random(len(candidates)) < efficiency]
    ratio = isolation_ratio(eflow, candidates, lepton.isolation)
    source = eflow.source[candidates]
    charge = final.charge[source]
    return Leptons(event=eflow.event[candidates], p4=eflow.p4[candidates],
                   pid=(-np.sign(charge) * abs_pid).astype(np.int64), isolation=ratio,
                   isolated=ratio <= lepton.isolation.pt_ratio_max,
                   eflow=candidates.astype(np.int64), source=source)
