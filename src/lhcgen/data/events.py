"""The event sample: the in-memory form of the HDF5 data contract (docs/data-format.md)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lhcgen.errors import LhcgenError

ZJETS_OBJECTS = ("mu1", "mu2", "j1", "j2", "j3")
"""Object order for Z(->mumu)+jets: the two muons by pT, then up to three jets by pT."""


@dataclass
class EventSample:
    """A set of collider events in the lhcgen data contract.

    Attributes:
        momenta: (N, P, 4) float64, (E, px, py, pz) in GeV, zero rows where ``mask`` is false.
        mask: (N, P) bool, which object slots are filled.
        multiplicity: (N,) int, the number of jets (Z+jets) or objects in the event.
        weights: (N,) float64 Monte Carlo event weights.
        attrs: file attributes (process, sqrt_s, cuts, generator, seeds, ...).
        weight_draw: (N,) int or None; for samples of a Bayesian generator, the index of the
            network-weight draw that made each event (0..K-1).
        event_info: per-event facts that are not model inputs, each an (N,) array stored in
            the file's ``event_info`` group: for Z+jets ``n_jets_all`` (jets before keeping
            the leading three) and ``pthat_gev`` (the hard process's pT).
    """

    momenta: np.ndarray
    mask: np.ndarray
    multiplicity: np.ndarray
    weights: np.ndarray
    attrs: dict = field(default_factory=dict)
    weight_draw: np.ndarray | None = None
    event_info: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.momenta = np.asarray(self.momenta, dtype=np.float64)
        self.mask = np.asarray(self.mask, dtype=bool)
        self.multiplicity = np.asarray(self.multiplicity, dtype=np.int64)
        self.weights = np.asarray(self.weights, dtype=np.float64)
        n = len(self.momenta)
        if self.momenta.ndim != 3 or self.momenta.shape[2] != 4:
            raise LhcgenError(f"momenta must have shape (N, P, 4), got {self.momenta.shape}")
        if self.mask.shape != self.momenta.shape[:2]:
            raise LhcgenError(f"mask shape {self.mask.shape} does not match momenta "
                              f"{self.momenta.shape[:2]}")
        if self.weight_draw is not None:
            self.weight_draw = np.asarray(self.weight_draw, dtype=np.int64)
        for name in ("multiplicity", "weights", "weight_draw"):
            if getattr(self, name) is not None and getattr(self, name).shape != (n,):
                raise LhcgenError(f"{name} must have shape ({n},), "
                                  f"got {getattr(self, name).shape}")
        self.event_info = {key: np.asarray(value) for key, value in self.event_info.items()}
        for key, value in self.event_info.items():
            if value.shape != (n,):
                raise LhcgenError(f"event_info/{key} must have shape ({n},), got {value.shape}")

    def __len__(self) -> int:
        return len(self.momenta)

    @property
    def object_names(self) -> tuple[str, ...]:
        names = self.attrs.get("object_names")
        if names is None:
            return tuple(f"o{i}" for i in range(self.momenta.shape[1]))
        return tuple(names)

    def subset(self, index: np.ndarray) -> EventSample:
        """Events selected by an index or boolean array; attributes are shared."""
        draw = None if self.weight_draw is None else self.weight_draw[index]
        info = {key: value[index] for key, value in self.event_info.items()}
        return EventSample(self.momenta[index], self.mask[index], self.multiplicity[index],
                           self.weights[index], dict(self.attrs), draw, info)

    @staticmethod
    def concatenate(samples: list[EventSample], attrs: dict | None = None) -> EventSample:
        if not samples:
            raise LhcgenError("no events to concatenate")
        return EventSample(
            np.concatenate([s.momenta for s in samples]),
            np.concatenate([s.mask for s in samples]),
            np.concatenate([s.multiplicity for s in samples]),
            np.concatenate([s.weights for s in samples]),
            dict(samples[0].attrs if attrs is None else attrs),
            None if any(s.weight_draw is None for s in samples)
            else np.concatenate([s.weight_draw for s in samples]),
            {key: np.concatenate([s.event_info[key] for s in samples])
             for key in samples[0].event_info
             if all(key in s.event_info for s in samples)},
        )
