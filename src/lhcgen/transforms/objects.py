"""Preprocessing of events made of objects: ``n_fixed`` always present, then up to
``n_slots - n_fixed`` counted by the multiplicity (the model's condition).

``ObjectPreprocessing`` is fitted on training events and saved with a run; it maps momenta
(N, P, 4) through a chain of transforms ending in Flatten and Standardize to the network's
coordinates and back, and draws multiplicities with the training fractions. A process
supplies the chain (transforms/zjets.py), or uses the generic one of
``generic_objects_preprocessing``: (pT, eta, phi, m) per object, phi relative to the first
object (whose phi is uniform and dropped), log(pT - pT_min + eps), log(m + eps) of the
objects whose mass is not fixed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lhcgen import noise
from lhcgen.errors import LhcgenError
from lhcgen.transforms.base import Chain, Transform
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.transforms.encoded import Encoded
from lhcgen.transforms.flatten import Flatten
from lhcgen.transforms.kinematics import RelativePhi, ToPtEtaPhiM
from lhcgen.transforms.log_scaling import log_mass, log_pt_shift
from lhcgen.transforms.standardize import Standardize

PT, ETA, PHI, MASS = range(4)


def object_mask(multiplicity: torch.Tensor, n_fixed: int, n_slots: int) -> torch.Tensor:
    """(N,) counted objects -> (N, n_slots) object mask (fixed objects always present)."""
    slots = torch.arange(n_slots, device=multiplicity.device)
    return (slots[None, :] < n_fixed) | (slots[None, :] - n_fixed < multiplicity[:, None])


class ObjectPreprocessing:
    """Fit on training events, encode events to network coordinates and decode back.

    ``steps`` map (N, P, 4) momenta to per-object features; ``flatten`` picks the network's
    coordinates; a Standardize fitted on the training split follows. ``pt_min`` only names
    the cut in the error for events that cannot be encoded.
    """

    def __init__(self, steps: list[Transform], flatten: Flatten, n_fixed: int, n_slots: int,
                 pt_min: float):
        self.n_fixed, self.n_slots, self.pt_min = n_fixed, n_slots, pt_min
        self.flatten = flatten
        self.standardize = Standardize(self.flatten.dims_mask)
        self.chain = Chain([*steps, self.flatten, self.standardize])
        self.multiplicities: list[int] = []
        self.fractions: list[float] = []

    def object_mask(self, multiplicity: torch.Tensor) -> torch.Tensor:
        return object_mask(multiplicity, self.n_fixed, self.n_slots)

    def dims_mask(self, multiplicity: torch.Tensor) -> torch.Tensor:
        """(N,) multiplicities -> (N, D) the network coordinates that exist."""
        return self.flatten.dims_mask(self.object_mask(multiplicity))

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

    def _check(self, sample) -> None:
        if sample.momenta.shape[1] != self.n_slots:
            raise LhcgenError(f"expected {self.n_slots} object slots, got "
                              f"{sample.momenta.shape[1]}")

    def fit(self, sample) -> None:
        """Fit the standardisation and the multiplicity fractions on the training split."""
        self._check(sample)
        mask = torch.from_numpy(sample.mask)
        momenta = torch.from_numpy(sample.momenta)
        before_standardize = Chain(self.chain.transforms[:-1])
        x, _ = before_standardize.forward(momenta, mask)
        self.standardize.fit(x, mask, torch.from_numpy(sample.weights))
        values = np.unique(sample.multiplicity)
        weights = np.array([sample.weights[sample.multiplicity == v].sum() for v in values])
        self.multiplicities = [int(v) for v in values]
        self.fractions = (weights / weights.sum()).tolist()

    def encode(self, sample) -> Encoded:
        self._check(sample)
        mask = torch.from_numpy(sample.mask)
        x, logdet = self.chain.forward(torch.from_numpy(sample.momenta), mask)
        bad = ~torch.isfinite(x).all(-1) | ~torch.isfinite(logdet)
        if bad.any():
            raise LhcgenError(
                f"{int(bad.sum())} of {len(sample)} events cannot be preprocessed (an object "
                f"below pT_min = {self.pt_min} GeV or an invalid momentum); apply the "
                "cuts of the training data or lower preprocessing.pt_min")
        return Encoded(x, mask, self.flatten.dims_mask(mask),
                       torch.from_numpy(sample.multiplicity), torch.from_numpy(sample.weights),
                       logdet)

    def decode(self, x: torch.Tensor, multiplicity: torch.Tensor,
               generator: torch.Generator | None = None) -> np.ndarray:
        """Network coordinates (N, D) -> momenta (N, P, 4) float64 (E, px, py, pz)."""
        momenta = self.chain.inverse(x.to(torch.float64), self.object_mask(multiplicity),
                                     generator)
        return momenta.numpy()

    def sample_multiplicity(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw multiplicities with the fractions of the training data."""
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


@dataclass(frozen=True)
class ObjectsPreprocessingConfig:
    """The run config's ``preprocessing`` section of a process on the generic chain."""

    pt_min: float = 20.0
    """The pT cut of every object in GeV: pT -> log(pT - pt_min + pt_epsilon)."""
    pt_epsilon: float = 0.1
    mass_epsilon: float = 0.1
    """Masses -> log(m + mass_epsilon) in GeV."""


def generic_objects_preprocessing(cfg: ObjectsPreprocessingConfig, n_fixed: int, n_slots: int,
                                  fixed_masses: dict[int, float]) -> ObjectPreprocessing:
    """The generic chain: (pT, eta) of slot 0 (its phi uniform, dropped), (pT, eta, phi) of
    every other slot relative to slot 0, and m of the slots not in ``fixed_masses`` (slot ->
    mass, refilled on decoding). Fixed-mass slots must be the first ones."""
    massless = len(fixed_masses)
    if sorted(fixed_masses) != list(range(massless)):
        raise LhcgenError("fixed-mass objects must be the first slots")
    massive = [s for s in range(n_slots) if s not in fixed_masses]
    layout = [(0, PT), (0, ETA)]
    for slot in range(n_slots):
        if slot:
            layout += [(slot, PT), (slot, ETA), (slot, PHI)]
        if slot in massive:
            layout.append((slot, MASS))
    steps: list[Transform] = [ToPtEtaPhiM(n_massless=massless),
                              RelativePhi([0.0] * n_slots),
                              log_pt_shift(list(range(n_slots)), cfg.pt_min, cfg.pt_epsilon),
                              log_mass(massive, cfg.mass_epsilon)]
    flatten = Flatten(layout, n_slots, fixed={(s, MASS): m for s, m in fixed_masses.items()},
                      uniform_phi=[0])
    return ObjectPreprocessing(steps, flatten, n_fixed, n_slots, cfg.pt_min)
