"""Read and write event files (HDF5) in the lhcgen data contract, atomically and validated.

See docs/data-format.md for the schema. Every reader error is a one-line LhcgenError that
names the file and the problem.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import h5py
import numpy as np

from lhcgen import __version__
from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_path

SCHEMA_VERSION = 1
REQUIRED = ("momenta", "mask", "multiplicity")
REQUIRED_ATTRIBUTES = ("process", "object_names", "n_fixed_objects")
"""What a reader needs to know which slot holds which object; without them two files would
be compared on different features, so a file that lacks one is refused."""


def _encode_attr(value):
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value)
    if value is None:
        return "null"
    return value


def _decode_attr(value):
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str) and value[:1] in "[{" or value == "null":
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def write_events(path: str | os.PathLike, sample: EventSample) -> None:
    """Write ``sample`` to ``path`` atomically (temporary name in the same folder, then rename)."""
    validate_events(sample, str(path))
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as f:
            f.create_dataset("momenta", data=sample.momenta, compression="gzip",
                             compression_opts=4, shuffle=True)
            f.create_dataset("mask", data=sample.mask, compression="gzip")
            f.create_dataset("multiplicity", data=sample.multiplicity.astype(np.int32))
            f.create_dataset("weights", data=sample.weights)
            if sample.weight_draw is not None:
                f.create_dataset("weight_draw", data=sample.weight_draw.astype(np.int32))
            for key, value in sample.event_info.items():
                f.create_dataset(f"event_info/{key}", data=value)
            attrs = dict(sample.attrs)
            attrs.update(n_events=len(sample), lhcgen_version=__version__,
                         schema_version=SCHEMA_VERSION)
            for key, value in attrs.items():
                f.attrs[key] = _encode_attr(value)


def open_hdf5(path: Path) -> h5py.File:
    """Open an HDF5 file for reading; a missing or unreadable file is a one-line error."""
    if not path.exists():
        raise LhcgenError(f"{path}: no such file")
    try:
        return h5py.File(path, "r")
    except OSError as exc:
        raise LhcgenError(f"{path}: not a readable HDF5 file ({exc.__class__.__name__})") from None


def read_events(path: str | os.PathLike) -> EventSample:
    """Read and validate an event file; raise LhcgenError naming any problem."""
    path = Path(path)
    with open_hdf5(path) as f:
        missing = [k for k in REQUIRED if k not in f]
        if missing:
            raise LhcgenError(f"{path}: wrong schema, missing dataset(s) {', '.join(missing)} "
                              "(see docs/data-format.md)")
        try:
            momenta = f["momenta"][()]
            mask = f["mask"][()]
            multiplicity = f["multiplicity"][()]
            weights = f["weights"][()] if "weights" in f else np.ones(len(momenta))
            weight_draw = f["weight_draw"][()] if "weight_draw" in f else None
            info = f.get("event_info")
            event_info = {} if info is None else {k: info[k][()] for k in info}
            attrs = {k: _decode_attr(v) for k, v in f.attrs.items()}
        except (OSError, ValueError, KeyError) as exc:
            raise LhcgenError(f"{path}: corrupt HDF5 data ({exc})") from None
    try:
        sample = EventSample(momenta, mask, multiplicity, weights, attrs, weight_draw,
                             event_info)
    except LhcgenError as exc:
        raise LhcgenError(f"{path}: wrong schema, {exc}") from None
    validate_events(sample, str(path))
    check_contract(sample, str(path))
    return sample


def check_contract(sample: EventSample, where: str) -> None:
    """The attributes that say what each slot is are present (their values are checked
    by the file's process: processes/reader.py)."""
    for key in REQUIRED_ATTRIBUTES:
        if key not in sample.attrs:
            raise LhcgenError(
                f"{where}: attribute '{key}' is missing; lhcgen needs process, object_names "
                "and n_fixed_objects to know what each slot holds (each process's values: "
                "docs/data-format.md)")


def validate_events(sample: EventSample, where: str) -> None:
    """Check the physics content: finite values, zero padding, consistent multiplicity."""
    if len(sample) == 0:
        raise LhcgenError(f"{where}: contains no events")
    bad = ~np.isfinite(sample.momenta)
    if bad.any():
        n_events = int(bad.any(axis=(1, 2)).sum())
        raise LhcgenError(f"{where}: momenta contain {int(bad.sum())} NaN or inf values in "
                          f"{n_events} event(s); regenerate the file or remove those events")
    if not np.isfinite(sample.weights).all():
        raise LhcgenError(f"{where}: weights contain NaN or inf")
    if sample.weight_draw is not None and np.any(sample.weight_draw < 0):
        raise LhcgenError(f"{where}: weight_draw must be non-negative draw indices")
    if np.any(sample.momenta[~sample.mask] != 0.0):
        raise LhcgenError(f"{where}: momenta must be zero where mask is false")
    n_fixed = sample.attrs.get("n_fixed_objects")
    counted = sample.mask.sum(axis=1) - int(n_fixed or 0)
    if n_fixed is not None and np.any(counted != sample.multiplicity):
        raise LhcgenError(f"{where}: multiplicity does not match the mask "
                          f"({int(n_fixed)} fixed objects plus one per counted object)")
    names = sample.attrs.get("object_names")
    if names is not None and len(names) != sample.momenta.shape[1]:
        raise LhcgenError(f"{where}: attribute object_names has {len(names)} entries for "
                          f"{sample.momenta.shape[1]} object slots")
