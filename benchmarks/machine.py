"""Machine description shared by the benchmark scripts (CPU model, cores, versions) and the
command line they record."""

from __future__ import annotations

import os
import platform
import shlex
import sys


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_info() -> dict:
    import torch

    return {
        "platform": platform.platform(), "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(), "python": platform.python_version(),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }


def command_line() -> str:
    """The command that ran this script, quoted so that it can be pasted into a shell
    (``--samplers "midpoint:8 heun:32"`` stays one argument)."""
    return shlex.join(["python", *sys.argv])
