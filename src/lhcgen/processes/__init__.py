"""The Process seam: one object per kind of event (processes/base.py)."""

from __future__ import annotations

from lhcgen.processes.base import Process
from lhcgen.processes.reader import read_process_sample
from lhcgen.processes.registry import get_process, process_names, register_process

__all__ = ["Process", "get_process", "process_names", "read_process_sample",
           "register_process"]
