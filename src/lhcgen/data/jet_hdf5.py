"""Read and write jet files (jets as particle clouds, docs/data-format.md), validated.

Every reader error is a one-line LhcgenError that names the file and the problem.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np

from lhcgen import __version__
from lhcgen.data.hdf5 import SCHEMA_VERSION, _decode_attr, _encode_attr, open_hdf5
from lhcgen.data.jets import JET_TYPES, JetCloudSample
from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_path

REQUIRED = ("particles", "mask", "jets", "jet_type")


def write_jets(path: str | os.PathLike, sample: JetCloudSample) -> None:
    """Write ``sample`` atomically (temporary name in the same folder, then rename)."""
    validate_jets(sample, str(path))
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("particles", data=sample.particles, compression="gzip",
                             compression_opts=4, shuffle=True)
            f.create_dataset("mask", data=sample.mask, compression="gzip")
            f.create_dataset("jets", data=sample.jets)
            f.create_dataset("jet_type", data=sample.jet_type.astype(np.int32))
            f.create_dataset("weights", data=sample.weights)
            f.create_dataset("n_constituents", data=sample.n_constituents.astype(np.int32))
            attrs = dict(sample.attrs)
            attrs.update(process="jets", particles=sample.n_particles, n_jets=len(sample),
                         lhcgen_version=__version__, schema_version=SCHEMA_VERSION)
            for key, value in attrs.items():
                f.attrs[key] = _encode_attr(value)


def read_jets(path: str | os.PathLike) -> JetCloudSample:
    """Read and validate a jet file; raise LhcgenError naming any problem."""
    path = Path(path)
    with open_hdf5(path) as f:
        missing = [k for k in REQUIRED if k not in f]
        if missing:
            hint = " (a JetNet file? use `lhcgen data import-jetnet`)" \
                if "particle_features" in f else ""
            raise LhcgenError(f"{path}: wrong schema for a jet file, missing dataset(s) "
                              f"{', '.join(missing)}{hint}")
        try:
            particles = f["particles"][()]
            mask = f["mask"][()]
            jets = f["jets"][()]
            jet_type = f["jet_type"][()]
            weights = f["weights"][()] if "weights" in f else np.ones(len(particles))
            n_constituents = (f["n_constituents"][()] if "n_constituents" in f
                              else np.asarray(mask).sum(axis=-1) if np.ndim(mask) == 2
                              else np.zeros(len(particles)))
            attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
        except (OSError, ValueError, KeyError) as exc:
            raise LhcgenError(f"{path}: corrupt HDF5 data ({exc})") from None
    try:
        sample = JetCloudSample(particles, mask, jets, jet_type, weights, n_constituents,
                                attrs)
    except LhcgenError as exc:
        raise LhcgenError(f"{path}: wrong schema, {exc}") from None
    validate_jets(sample, str(path))
    return sample


def validate_jets(sample: JetCloudSample, where: str) -> None:
    """Finite values, zero padding, masks filled from the front, counts that match."""
    if len(sample) == 0:
        raise LhcgenError(f"{where}: contains no jets")
    for name in ("particles", "jets", "weights"):
        bad = ~np.isfinite(getattr(sample, name))
        if bad.any():
            n_jets = int(bad.reshape(len(sample), -1).any(axis=1).sum())
            raise LhcgenError(f"{where}: {name} contain {int(bad.sum())} NaN or inf values in "
                              f"{n_jets} jet(s); regenerate the file or remove those jets")
    if np.any(sample.particles[~sample.mask] != 0.0):
        raise LhcgenError(f"{where}: particles must be zero where mask is false")
    if np.any(sample.mask[:, 1:] & ~sample.mask[:, :-1]):
        raise LhcgenError(f"{where}: mask must fill particle slots from the front "
                          "(padding only at the end)")
    if np.any(sample.jets[:, 3] != sample.mask.sum(axis=1)):
        raise LhcgenError(f"{where}: jets[:, 3] (stored constituents) does not match the "
                          "mask")
    if not np.all((sample.jet_type >= 0) & (sample.jet_type < len(JET_TYPES))):
        raise LhcgenError(f"{where}: jet_type codes must be 0..{len(JET_TYPES) - 1} "
                          f"({', '.join(JET_TYPES)})")
