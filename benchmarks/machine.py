"""Machine description shared by the benchmark scripts (CPU model, cores, versions), the
command line they record, and the parser that turns a script's docstring into its --help."""

from __future__ import annotations

import argparse
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


def machine_info(device=None) -> dict:
    """The machine; with a CUDA ``device`` (torch.device), also its GPU's name and memory."""
    import torch

    info = {
        "platform": platform.platform(), "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(), "python": platform.python_version(),
        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.is_available(),
    }
    if device is not None and device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(gpu=props.name, gpu_memory_gib=round(props.total_memory / 2**30, 1),
                    cuda_version=torch.version.cuda)
    return info


def synchronize(device) -> None:
    """Wait for the work queued on a CUDA ``device`` (a no-op on the CPU): timings read after
    it include the GPU's work."""
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def command_line() -> str:
    """The command that ran this script, quoted so that it can be pasted into a shell
    (``--samplers "midpoint:8 heun:32"`` stays one argument)."""
    return shlex.join(["python", *sys.argv])


def script_parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's parser: its docstring's first line as the description, the rest (usage
    examples, what it writes) as the epilog of --help, kept as written."""
    lines = doc.splitlines()
    return argparse.ArgumentParser(description=lines[0], epilog="\n".join(lines[1:]),
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
