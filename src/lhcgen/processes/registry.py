"""The processes lhcgen knows, by name.

The built-in ones are imported when first asked for. Another package (or a test) adds its
own with ``register_process`` or through the ``lhcgen.processes`` entry-point group
(docs/adding-a-process.md).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from lhcgen.errors import LhcgenError
from lhcgen.processes.base import Process

BUILTIN = {"zjets": ("lhcgen.processes.zjets", "ZJetsProcess"),
           "jets": ("lhcgen.processes.jets", "JetsProcess")}
DEFAULT_PROCESS = "zjets"
"""The process of a run config that names none."""
"""Process name -> (module, class) of lhcgen's own processes."""

_REGISTERED: dict[str, Process] = {}
"""Processes added at run time (``register_process``): the one extension point."""


def register_process(process: Process) -> None:
    """Make ``process`` known under ``process.name`` (replacing one of the same name)."""
    if not process.name:
        raise LhcgenError("a process needs a name")
    _REGISTERED[process.name] = process


def _from_entry_points(name: str) -> Process | None:
    for entry in entry_points(group="lhcgen.processes"):
        if entry.name == name:
            return entry.load()()
    return None


def process_names() -> list[str]:
    plugins = [e.name for e in entry_points(group="lhcgen.processes")]
    return sorted({*BUILTIN, *_REGISTERED, *plugins})


def get_process(name: str | None, where: str = "") -> Process:
    """The process called ``name``; one line naming the known ones if there is none."""
    if name in _REGISTERED:
        return _REGISTERED[name]
    if name in BUILTIN:
        module, cls = BUILTIN[name]
        return getattr(importlib.import_module(module), cls)()
    plugin = _from_entry_points(name) if name else None
    if plugin is not None:
        return plugin
    raise LhcgenError(f"{where}process {name!r} is not one lhcgen knows "
                      f"({', '.join(process_names())})")
