"""The command a benchmark records can be pasted back into a shell: a sampler grid of
several settings stays one argument."""

from __future__ import annotations

import shlex
import sys

from benchmarks.machine import command_line


def test_recorded_command_splits_back_into_the_arguments(monkeypatch):
    argv = ["benchmarks/jets_time_fidelity.py", "--runs", "runs/a", "runs/b",
            "--truth", "data/jets/{type}150_b.h5", "--samplers", "midpoint:8 heun:32@rho=3"]
    monkeypatch.setattr(sys, "argv", argv)
    command = command_line()
    assert shlex.split(command) == ["python", *argv]
    assert "'midpoint:8 heun:32@rho=3'" in command
