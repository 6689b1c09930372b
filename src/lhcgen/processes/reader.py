"""Reading a sample file for a command: the schema checks of data/hdf5.py (events) or
data/jet_hdf5.py (particle clouds), then those of the file's process, in one place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lhcgen.data.hdf5 import _decode_attr, open_hdf5, read_events
from lhcgen.errors import LhcgenError
from lhcgen.processes.base import Process
from lhcgen.processes.registry import get_process


def file_process(path: str | Path) -> str | None:
    """The ``process`` attribute of an HDF5 file (None if it has none)."""
    with open_hdf5(Path(path)) as f:
        value = f.attrs.get("process")
    return None if value is None else _decode_attr(value)


def _known_process(name: str | None) -> Process | None:
    try:
        return get_process(name) if isinstance(name, str) else None
    except LhcgenError:
        return None


def read_process_sample(path: str | Path, role: str = "", expected: str | None = None,
                        kind: str | None = None) -> tuple[Any, Process]:
    """The sample of ``path`` and its process. ``role`` (for example "--truth-2")
    prefixes every error; ``expected`` is the process the caller needs, ``kind`` the kind
    of sample ("events": `lhcgen evaluate` and `classify` judge events only)."""
    prefix = f"{role}: " if role else ""
    try:
        process = _known_process(file_process(path))
        if process is not None and process.kind != "events":
            sample = process.read_sample(path)
        else:  # event files, and files without a usable process (read_events names why)
            sample = read_events(path)
            process = get_process(sample.attrs["process"], where=f"{path}: ")
        if kind is not None and process.kind != kind:
            raise LhcgenError(f"{path} holds {process.title}, which `lhcgen metrics jets` "
                              "judges; this command judges events" if process.kind == "clouds"
                              else f"{path} holds {process.title}, not {kind}")
        if expected is not None and process.name != expected:
            raise LhcgenError(f"{path}: holds process {process.name!r}, expected {expected!r}")
        process.check_sample(sample, str(path))
    except LhcgenError as exc:
        raise LhcgenError(f"{prefix}{exc}") from None
    return sample, process
