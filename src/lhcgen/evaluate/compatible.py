"""Two samples that can be compared: events in both, the same schema and process."""

from __future__ import annotations

import numpy as np

from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError

COMPARED_ATTRS = ("process", "object_names", "n_fixed_objects", "schema_version")
"""File attributes that must agree between the compared samples."""


def check_compatible(a: EventSample, b: EventSample,
                     names: tuple[str, str] = ("generated", "truth")) -> None:
    """Raise a one-line LhcgenError when the two samples differ in schema or process.

    Compared: the number of object slots, and the attributes in :data:`COMPARED_ATTRS` where
    both samples have them (a file without a ``process`` attribute is not refused for it).
    """
    for name, sample in zip(names, (a, b), strict=True):
        if len(sample) == 0:
            raise LhcgenError(f"the {name} sample contains no events")
    if a.momenta.shape[1] != b.momenta.shape[1]:
        raise LhcgenError(f"{names[0]} and {names[1]} samples differ in schema: "
                          f"{a.momenta.shape[1]} vs {b.momenta.shape[1]} object slots")
    for key in COMPARED_ATTRS:
        value_a, value_b = a.attrs.get(key), b.attrs.get(key)
        if value_a is not None and value_b is not None and _plain(value_a) != _plain(value_b):
            what = "process" if key == "process" else f"schema ({key})"
            raise LhcgenError(f"{names[0]} and {names[1]} samples differ in {what}: "
                              f"{value_a!r} vs {value_b!r}")


def _plain(value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value
