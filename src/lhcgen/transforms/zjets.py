"""The Z(->mumu)+jets preprocessing chains, fitted and saved with a run.

muon_coordinates = "muons" (arXiv:2305.10475):
momenta (N, 5, 4) --ToPtEtaPhiM--> (pT, eta, phi, m) --RelativePhi--> phi relative to mu1
(mu2 measured from the back-to-back direction) --log pT shift--> log(pT - pT_min + eps)
--arctanh(eta / eta_max)--> muon eta unbounded (muon_eta_max > 0) --log mass--> jets'
log(m + eps) --Flatten--> 17 coordinates (muon masses and phi_mu1
dropped; padded jets zero) --Standardize--> the network's coordinates.

muon_coordinates = "dimuon": after ToPtEtaPhiM the muons become the pair's (pT, eta, phi,
m) and the decay angles (cos theta*, phi*) (transforms/dimuon.py); phi is then measured from
the pair's phi, which is dropped; log(pT_pair + 1 GeV); arctanh(cos theta*). Also 17
coordinates.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from lhcgen.errors import LhcgenError
from lhcgen.transforms.base import Transform
from lhcgen.transforms.bounded import ArcTanh
from lhcgen.transforms.dimuon import DimuonSystem
from lhcgen.transforms.flatten import Flatten
from lhcgen.transforms.kinematics import RelativePhi, ToPtEtaPhiM
from lhcgen.transforms.log_scaling import PT as PT_FEATURE
from lhcgen.transforms.log_scaling import LogShift, log_mass, log_pt_shift
from lhcgen.transforms.objects import ETA, MASS, PHI, PT, ObjectPreprocessing

N_MUONS = 2
MAX_JETS = 3


@dataclass(frozen=True)
class PreprocessingConfig:
    muon_coordinates: Literal["muons", "dimuon"] = "muons"
    """"muons": each muon's (pT, eta, phi); "dimuon": the pair's (pT, eta, m) plus the decay
    angles in its rest frame, which keeps the Z peak sharp (transforms/dimuon.py)."""
    pt_min: float = 20.0
    """The pT cut of every object in GeV: pT -> log(pT - pt_min + pt_epsilon)."""
    pt_epsilon: float = 0.1
    muon_eta_max: float = 0.0
    """With "muons": muon eta -> arctanh(eta / muon_eta_max), so generated muons stay inside
    the acceptance |eta| < muon_eta_max (the data's cut is 2.5); 0 leaves eta as it is."""
    mass_epsilon: float = 0.1
    """Jet mass -> log(m + mass_epsilon) in GeV."""
    muon_mass: float = 0.1056583755
    """Mass given to generated muons (their masses are dropped from the network's inputs)."""

    def __post_init__(self) -> None:
        if self.muon_eta_max < 0:
            raise LhcgenError("config: 'preprocessing.muon_eta_max' must not be negative")


def zjets_layout(muon_coordinates: str = "muons") -> list[tuple[int, int]]:
    """Flat coordinates: mu1 (pT, eta), mu2 (pT, eta, phi) -- or the pair (pT, eta, m) and
    (cos theta*, phi*) -- then each jet (pT, eta, phi, m)."""
    if muon_coordinates == "dimuon":
        layout = [(0, PT), (0, ETA), (0, MASS), (1, ETA), (1, PHI)]
    else:
        layout = [(0, PT), (0, ETA), (1, PT), (1, ETA), (1, PHI)]
    for slot in range(N_MUONS, N_MUONS + MAX_JETS):
        layout += [(slot, PT), (slot, ETA), (slot, PHI), (slot, MASS)]
    return layout


class ZJetsPreprocessing(ObjectPreprocessing):
    """The chains of the module docstring on the generic machinery (transforms/objects.py)."""

    def __init__(self, cfg: PreprocessingConfig):
        self.cfg = cfg
        n_slots = N_MUONS + MAX_JETS
        jets = list(range(N_MUONS, n_slots))
        steps: list[Transform] = [ToPtEtaPhiM(n_massless=N_MUONS)]
        if cfg.muon_coordinates == "dimuon":
            fixed = {(1, PT): 0.0, (1, MASS): 0.0}
            steps += [DimuonSystem(cfg.muon_mass),
                      RelativePhi([0.0] * n_slots),
                      LogShift(PT_FEATURE, [0], 0.0, 1.0),
                      log_pt_shift(jets, cfg.pt_min, cfg.pt_epsilon),
                      ArcTanh(1, ETA)]
        else:
            fixed = {(0, MASS): cfg.muon_mass, (1, MASS): cfg.muon_mass}
            steps += [RelativePhi([0.0, math.pi] + [0.0] * MAX_JETS),
                      log_pt_shift(list(range(n_slots)), cfg.pt_min, cfg.pt_epsilon)]
            if cfg.muon_eta_max:
                steps += [ArcTanh(muon, ETA, cfg.muon_eta_max) for muon in range(N_MUONS)]
        steps.append(log_mass(jets, cfg.mass_epsilon))
        flatten = Flatten(zjets_layout(cfg.muon_coordinates), n_slots, fixed=fixed,
                          uniform_phi=[0])
        super().__init__(steps, flatten, N_MUONS, n_slots, cfg.pt_min)
