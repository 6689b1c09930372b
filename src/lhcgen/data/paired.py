"""Paired particle-level / detector-level events: the in-memory form and the HDF5 schema.

One file holds both levels of the same events (docs/data-format.md, "Paired events"):

    particle/{momenta, mask, object_type, n_jets, n_jets_all, passed}
    detector/{momenta, mask, object_type, n_jets, n_jets_all, passed}
    weights, event_info/...

An event is kept when it passes the particle-level or the detector-level selection (or
both), so fakes (detector only) and inefficiencies (particle only) stay in the file; the
``passed`` flags say which. Within each level the slots hold the leptons by pT, then the
neutrino (particle level) or the missing transverse momentum (detector level), then the jets
by pT; absent objects are zero rows with ``mask`` false and ``object_type`` 0.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

from lhcgen import __version__
from lhcgen.data.hdf5 import _decode_attr, _encode_attr, open_hdf5
from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_path

PAIRED_SCHEMA_VERSION = 1
LEVELS = ("particle", "detector")

EMPTY = 0
LIGHT_JET = 1
B_JET = 5
NEUTRINO = 12
MET = 20
OBJECT_TYPES = {EMPTY: "empty slot", LIGHT_JET: "light jet (not b-tagged)",
                B_JET: "b jet (b-tagged)", 11: "electron", -11: "positron", 13: "muon (mu-)",
                -13: "antimuon (mu+)", NEUTRINO: "neutrino (sum of the prompt neutrinos)",
                MET: "missing transverse momentum (E = |pT|, pz = 0)"}
"""Codes of ``object_type``: leptons carry their signed PDG id; jets 1 or 5."""
JET_TYPES = (LIGHT_JET, B_JET)
LEPTON_TYPES = (11, -11, 13, -13)
LEVEL_DATASETS = ("momenta", "mask", "object_type", "n_jets", "n_jets_all", "passed")


@dataclass
class LevelObjects:
    """The objects of one level (particle or detector) of N events.

    Attributes:
        momenta: (N, P, 4) float64 (E, px, py, pz) in GeV, zero where ``mask`` is false.
        mask: (N, P) bool.
        object_type: (N, P) int64 codes of OBJECT_TYPES, 0 where ``mask`` is false.
        n_jets: (N,) int64 jets stored (slots of type 1 or 5).
        n_jets_all: (N,) int64 jets of the level's definition before keeping the leading
            ones (>= n_jets).
        passed: (N,) bool the event passes this level's selection.
        object_names: slot names, e.g. ("lepton", "neutrino", "j1", ...).
    """

    momenta: np.ndarray
    mask: np.ndarray
    object_type: np.ndarray
    n_jets: np.ndarray
    n_jets_all: np.ndarray
    passed: np.ndarray
    object_names: tuple[str, ...]

    def __post_init__(self) -> None:
        self.momenta = np.asarray(self.momenta, dtype=np.float64)
        self.mask = np.asarray(self.mask, dtype=bool)
        self.object_type = np.asarray(self.object_type, dtype=np.int64)
        self.n_jets = np.asarray(self.n_jets, dtype=np.int64)
        self.n_jets_all = np.asarray(self.n_jets_all, dtype=np.int64)
        self.passed = np.asarray(self.passed, dtype=bool)
        self.object_names = tuple(self.object_names)

    def __len__(self) -> int:
        return len(self.momenta)

    def subset(self, index: np.ndarray) -> LevelObjects:
        return LevelObjects(self.momenta[index], self.mask[index], self.object_type[index],
                            self.n_jets[index], self.n_jets_all[index], self.passed[index],
                            self.object_names)

    def check(self, where: str) -> None:
        """The level's arrays agree with each other and with the schema."""
        n, p = self.mask.shape if self.mask.ndim == 2 else (-1, -1)
        if self.momenta.shape != (n, p, 4):
            raise LhcgenError(f"{where}: momenta {self.momenta.shape} and mask "
                              f"{self.mask.shape} do not fit (N, P, 4) and (N, P)")
        if self.object_type.shape != (n, p):
            raise LhcgenError(f"{where}: object_type must have shape {(n, p)}")
        for name in ("n_jets", "n_jets_all", "passed"):
            if getattr(self, name).shape != (n,):
                raise LhcgenError(f"{where}: {name} must have shape ({n},)")
        if len(self.object_names) != p:
            raise LhcgenError(f"{where}: {len(self.object_names)} object names for {p} slots")
        if not np.isfinite(self.momenta).all():
            bad = int((~np.isfinite(self.momenta)).any(axis=(1, 2)).sum())
            raise LhcgenError(f"{where}: momenta contain NaN or inf in {bad} event(s)")
        if np.any(self.momenta[~self.mask] != 0.0) or np.any(self.object_type[~self.mask]):
            raise LhcgenError(f"{where}: momenta and object_type must be zero where mask is "
                              "false")
        unknown = np.setdiff1d(np.unique(self.object_type), list(OBJECT_TYPES))
        if len(unknown):
            raise LhcgenError(f"{where}: unknown object_type code {int(unknown[0])} (known: "
                              f"{sorted(OBJECT_TYPES)})")
        if np.any(self.object_type[self.mask] == EMPTY):
            raise LhcgenError(f"{where}: a filled slot has object_type 0")
        jets = np.isin(self.object_type, JET_TYPES).sum(axis=1)
        if np.any(jets != self.n_jets):
            raise LhcgenError(f"{where}: n_jets does not match the jet slots")
        if np.any(self.n_jets_all < self.n_jets):
            raise LhcgenError(f"{where}: n_jets_all is below n_jets")


@dataclass
class PairedSample:
    """Both levels of the same N events, with weights and per-event facts.

    ``attrs`` holds at least ``process``, and for the parametric detector ``detector_card``
    (the card as a mapping), ``cuts_particle``, ``cuts_detector`` and ``cut_flow``.
    """

    particle: LevelObjects
    detector: LevelObjects
    weights: np.ndarray
    attrs: dict = field(default_factory=dict)
    event_info: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.weights = np.asarray(self.weights, dtype=np.float64)
        self.event_info = {k: np.asarray(v) for k, v in self.event_info.items()}

    def __len__(self) -> int:
        return len(self.weights)

    def level(self, name: str) -> LevelObjects:
        if name not in LEVELS:
            raise LhcgenError(f"unknown level {name!r}; use one of {', '.join(LEVELS)}")
        return getattr(self, name)

    def subset(self, index: np.ndarray) -> PairedSample:
        return PairedSample(self.particle.subset(index), self.detector.subset(index),
                            self.weights[index], dict(self.attrs),
                            {k: v[index] for k, v in self.event_info.items()})

    def check(self, where: str) -> None:
        n = len(self.weights)
        for name in LEVELS:
            level = self.level(name)
            level.check(f"{where}: {name}")
            if len(level) != n:
                raise LhcgenError(f"{where}: {name} has {len(level)} events, weights {n}")
        if not np.isfinite(self.weights).all():
            raise LhcgenError(f"{where}: weights contain NaN or inf")
        for key, value in self.event_info.items():
            if value.shape[:1] != (n,):
                raise LhcgenError(f"{where}: event_info/{key} must have {n} rows")

    @staticmethod
    def concatenate(samples: list[PairedSample], attrs: dict | None = None) -> PairedSample:
        if not samples:
            raise LhcgenError("no paired events to concatenate")

        def level(name: str) -> LevelObjects:
            parts = [s.level(name) for s in samples]
            return LevelObjects(*(np.concatenate([getattr(p, k) for p in parts])
                                  for k in LEVEL_DATASETS), parts[0].object_names)

        keys = [k for k in samples[0].event_info if all(k in s.event_info for s in samples)]
        return PairedSample(level("particle"), level("detector"),
                            np.concatenate([s.weights for s in samples]),
                            dict(samples[0].attrs if attrs is None else attrs),
                            {k: np.concatenate([s.event_info[k] for s in samples])
                             for k in keys})


def write_paired(path: str | os.PathLike, sample: PairedSample) -> None:
    """Write ``sample`` atomically (temporary name, then rename), after checking it."""
    sample.check(str(path))
    if len(sample) == 0:
        raise LhcgenError(f"{path}: no events pass either selection; nothing to write")
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name in LEVELS:
            level = sample.level(name)
            group = f.create_group(name)
            group.create_dataset("momenta", data=level.momenta, compression="gzip",
                                 compression_opts=4, shuffle=True)
            group.create_dataset("mask", data=level.mask, compression="gzip")
            group.create_dataset("object_type", data=level.object_type.astype(np.int8),
                                 compression="gzip")
            for key in ("n_jets", "n_jets_all"):
                group.create_dataset(key, data=getattr(level, key).astype(np.int32))
            group.create_dataset("passed", data=level.passed)
            group.attrs["object_names"] = _encode_attr(list(level.object_names))
        f.create_dataset("weights", data=sample.weights)
        for key, value in sample.event_info.items():
            f.create_dataset(f"event_info/{key}", data=value)
        attrs = dict(sample.attrs)
        attrs.update(n_events=len(sample), lhcgen_version=__version__,
                     paired_schema_version=PAIRED_SCHEMA_VERSION,
                     object_type_codes={str(k): v for k, v in OBJECT_TYPES.items()})
        for key, value in attrs.items():
            f.attrs[key] = _encode_attr(value)


def read_paired(path: str | os.PathLike) -> PairedSample:
    """Read and check a paired file; every problem is one LhcgenError naming the file."""
    path = Path(path)
    with open_hdf5(path) as f:
        if "paired_schema_version" not in f.attrs:
            raise LhcgenError(f"{path}: not a paired particle/detector file (no "
                              "paired_schema_version attribute; see docs/data-format.md)")
        try:
            levels = {}
            for name in LEVELS:
                if name not in f:
                    raise LhcgenError(f"{path}: wrong schema, missing group '{name}'")
                group = f[name]
                missing = [k for k in LEVEL_DATASETS if k not in group]
                if missing:
                    raise LhcgenError(f"{path}: wrong schema, missing dataset "
                                      f"'{name}/{missing[0]}'")
                levels[name] = LevelObjects(
                    *(group[k][()] for k in LEVEL_DATASETS),
                    _decode_attr(group.attrs.get("object_names", "[]")))
            if "weights" not in f:
                raise LhcgenError(f"{path}: wrong schema, missing dataset 'weights'")
            weights = f["weights"][()]
            info = f.get("event_info")
            event_info = {} if info is None else {k: info[k][()] for k in info}
            attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
        except (OSError, ValueError, KeyError) as exc:
            raise LhcgenError(f"{path}: corrupt HDF5 data ({exc})") from None
    sample = PairedSample(levels["particle"], levels["detector"], weights, attrs, event_info)
    sample.check(str(path))
    return sample
