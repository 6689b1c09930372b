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

import numpy as np
import torch

from lhcgen import noise
from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.transforms.base import Chain, Transform
from lhcgen.transforms.bounded import ArcTanh
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.transforms.dimuon import DimuonSystem
from lhcgen.transforms.encoded import Encoded
from lhcgen.transforms.flatten import Flatten
from lhcgen.transforms.kinematics import RelativePhi, ToPtEtaPhiM
from lhcgen.transforms.log_scaling import PT as PT_FEATURE
from lhcgen.transforms.log_scaling import LogShift, log_mass, log_pt_shift
from lhcgen.transforms.standardize import Standardize

N_MUONS = 2
MAX_JETS = 3
PT, ETA, PHI, MASS = range(4)


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


def object_mask(multiplicity: torch.Tensor) -> torch.Tensor:
    """(N,) number of jets -> (N, 5) object mask (muons always present)."""
    slots = torch.arange(N_MUONS + MAX_JETS, device=multiplicity.device)
    return (slots[None, :] < N_MUONS) | (slots[None, :] - N_MUONS < multiplicity[:, None])


class ZJetsPreprocessing:
    """Fit on training events, encode events to network coordinates and decode back."""

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
        self.flatten = Flatten(zjets_layout(cfg.muon_coordinates), n_slots, fixed=fixed,
                               uniform_phi=[0])
        self.standardize = Standardize(self.flatten.dims_mask)
        self.chain = Chain(steps + [log_mass(jets, cfg.mass_epsilon), self.flatten,
                                    self.standardize])
        self.multiplicities: list[int] = []
        self.fractions: list[float] = []

    def dims_mask(self, multiplicity: torch.Tensor) -> torch.Tensor:
        """(N,) jet multiplicities -> (N, D) the network coordinates that exist."""
        return self.flatten.dims_mask(object_mask(multiplicity))

    @property
    def dim(self) -> int:
        return self.flatten.dim

    def coordinates(self) -> Coordinates:
        """The network coordinates: object slots, and the period of each azimuthal angle
        (2 pi over its standardisation scale; needs a fitted or loaded state)."""
        std = self.standardize.std
        if std is None:
            raise LhcgenError("the preprocessing is not fitted")
        periods = tuple(2 * math.pi / float(std[i]) if feature == PHI else None
                        for i, (_, feature) in enumerate(self.flatten.layout))
        return Coordinates(tuple(s for s, _ in self.flatten.layout), periods)

    def _check(self, sample: EventSample) -> None:
        if sample.momenta.shape[1] != N_MUONS + MAX_JETS:
            raise LhcgenError(f"expected {N_MUONS + MAX_JETS} object slots (2 muons + 3 jets), "
                              f"got {sample.momenta.shape[1]}")
        if sample.attrs.get("process", "zjets") != "zjets":
            raise LhcgenError(f"expected a Z+jets file, got process {sample.attrs['process']!r}")

    def fit(self, sample: EventSample) -> None:
        """Fit the standardisation and the multiplicity fractions on the training split."""
        self._check(sample)
        mask = torch.from_numpy(sample.mask)
        momenta = torch.from_numpy(sample.momenta)
        before_standardize = Chain(self.chain.transforms[:-1])
        x, _ = before_standardize.forward(momenta, mask)
        self.standardize.fit(x, mask, torch.from_numpy(sample.weights))
        values, counts = np.unique(sample.multiplicity, return_counts=True)
        weights = np.array([sample.weights[sample.multiplicity == v].sum() for v in values])
        self.multiplicities = [int(v) for v in values]
        self.fractions = (weights / weights.sum()).tolist()

    def encode(self, sample: EventSample) -> Encoded:
        self._check(sample)
        mask = torch.from_numpy(sample.mask)
        x, logdet = self.chain.forward(torch.from_numpy(sample.momenta), mask)
        bad = ~torch.isfinite(x).all(-1) | ~torch.isfinite(logdet)
        if bad.any():
            raise LhcgenError(
                f"{int(bad.sum())} of {len(sample)} events cannot be preprocessed (an object "
                f"below pT_min = {self.cfg.pt_min} GeV or an invalid momentum); apply the "
                "cuts of the training data or lower preprocessing.pt_min")
        return Encoded(x, mask, self.flatten.dims_mask(mask),
                       torch.from_numpy(sample.multiplicity), torch.from_numpy(sample.weights),
                       logdet)

    def decode(self, x: torch.Tensor, multiplicity: torch.Tensor,
               generator: torch.Generator | None = None) -> np.ndarray:
        """Network coordinates (N, D) -> momenta (N, 5, 4) float64 (E, px, py, pz)."""
        mask = object_mask(multiplicity)
        momenta = self.chain.inverse(x.to(torch.float64), mask, generator)
        return momenta.numpy()

    def sample_multiplicity(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw jet multiplicities with the fractions of the training data."""
        cdf = torch.cumsum(torch.tensor(self.fractions, dtype=torch.float64), 0)
        u = noise.rand((n,), generator, torch.float64) * cdf[-1]
        index = torch.searchsorted(cdf, u, right=True).clamp_max(len(cdf) - 1)
        return torch.tensor(self.multiplicities)[index]

    def state_dict(self) -> dict:
        return {"chain": self.chain.state_dict(), "multiplicities": self.multiplicities,
                "fractions": self.fractions}

    def load_state_dict(self, state: dict) -> None:
        self.chain.load_state_dict(state["chain"])
        self.multiplicities = list(state["multiplicities"])
        self.fractions = list(state["fractions"])
