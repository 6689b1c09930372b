"""The Z+jets selection as checks on generated events: which cuts each event violates.

Generated events are never dropped for failing a cut; they are counted here and reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np

from lhcgen.physics import fourvectors as fv
from lhcgen.physics.events import Events


@dataclass(frozen=True)
class ZJetsCuts:
    """The selection a generated event is checked against; ``from_file`` reads it from a
    file's ``cuts`` attribute (the values live in data/zjets.py's ZJetsSettings only)."""

    muon_pt_min: float
    muon_abs_eta_max: float
    jet_pt_min: float
    jet_abs_eta_max: float
    jet_delta_r_min: float
    jet_muon_delta_r_min: float

    @classmethod
    def from_file(cls, cuts: dict) -> ZJetsCuts:
        """The cuts a file was made with (its ``cuts`` attribute). A cut the file does not
        name was not applied (files of an older definition): it is not checked either."""
        return cls(muon_pt_min=float(cuts.get("muon_pt_min_gev", 0.0)),
                   muon_abs_eta_max=float(cuts.get("muon_abs_eta_max", math.inf)),
                   jet_pt_min=float(cuts.get("jet_pt_min_gev", 0.0)),
                   jet_abs_eta_max=float(cuts.get("jet_abs_eta_max", math.inf)),
                   jet_delta_r_min=float(cuts.get("jet_radius", 0.0)),
                   jet_muon_delta_r_min=float(cuts.get("jet_muon_overlap_radius", 0.0)))


def cut_violations(sample: Events, cuts: ZJetsCuts) -> dict[str, int]:
    """Count events failing each cut (an event may fail several) and in total."""
    p, mask = sample.momenta, sample.mask
    muons, jets = p[:, :2], p[:, 2:]
    jet_mask = mask[:, 2:]
    fails = {
        "muon_pt": (fv.pt(muons) < cuts.muon_pt_min).any(1),
        "muon_eta": (np.abs(fv.eta(muons)) > cuts.muon_abs_eta_max).any(1),
        "jet_pt": ((fv.pt(jets) < cuts.jet_pt_min) & jet_mask).any(1),
        "jet_eta": ((np.abs(fv.eta(jets)) > cuts.jet_abs_eta_max) & jet_mask).any(1),
        "jet_muon_delta_r": np.zeros(len(sample), bool),
        "jet_delta_r": np.zeros(len(sample), bool),
        "muon_pt_order": fv.pt(muons[:, 0]) < fv.pt(muons[:, 1]),
        "jet_pt_order": np.zeros(len(sample), bool),
    }
    for j in range(jets.shape[1]):
        for m in range(2):
            fails["jet_muon_delta_r"] |= jet_mask[:, j] & (
                fv.delta_r(jets[:, j], muons[:, m]) < cuts.jet_muon_delta_r_min)
    for a, b in combinations(range(jets.shape[1]), 2):
        both = jet_mask[:, a] & jet_mask[:, b]
        fails["jet_delta_r"] |= both & (fv.delta_r(jets[:, a], jets[:, b])
                                        < cuts.jet_delta_r_min)
        if b == a + 1:
            fails["jet_pt_order"] |= both & (fv.pt(jets[:, a]) < fv.pt(jets[:, b]))
    counts = {name: int(v.sum()) for name, v in fails.items()}
    selection = ("muon_pt", "muon_eta", "jet_pt", "jet_eta", "jet_muon_delta_r",
                 "jet_delta_r")
    counts["any_selection_cut"] = int(np.any([fails[k] for k in selection], axis=0).sum())
    return counts
