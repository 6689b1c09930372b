"""Reading an event file for a command: the schema checks of data/hdf5.py, then those of the
file's process, in one place."""

from __future__ import annotations

from pathlib import Path

from lhcgen.data.events import EventSample
from lhcgen.data.hdf5 import read_events
from lhcgen.errors import LhcgenError
from lhcgen.processes.base import Process
from lhcgen.processes.registry import get_process


def read_process_sample(path: str | Path, role: str = "",
                        expected: str | None = None) -> tuple[EventSample, Process]:
    """The events of ``path`` and their process. ``role`` (for example "--truth-2")
    prefixes every error; ``expected`` is the process the caller needs."""
    prefix = f"{role}: " if role else ""
    try:
        sample = read_events(path)
        process = get_process(sample.attrs["process"], where=f"{path}: ")
        if expected is not None and process.name != expected:
            raise LhcgenError(f"{path}: holds process {process.name!r}, expected {expected!r}")
        process.check_sample(sample, str(path))
    except LhcgenError as exc:
        raise LhcgenError(f"{prefix}{exc}") from None
    return sample, process
