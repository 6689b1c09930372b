"""Argument types and option groups shared by the `lhcgen` subcommands."""

from __future__ import annotations

import argparse
from collections.abc import Callable


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def number(kind: Callable, check: Callable, what: str) -> Callable[[str], object]:
    """An argparse type: ``kind(text)`` that must pass ``check``, described as ``what``."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value
    return parse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {value}")
    return value


positive_float = number(float, lambda v: v > 0, "a positive number")
non_negative_float = number(float, lambda v: v >= 0 and v != float("inf"),
                            "a finite number >= 0")
dropout_float = number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
clip_float = number(float, lambda v: v > 1, "a number larger than 1")
at_least_two = number(int, lambda v: v >= 2, "an integer of at least 2")


def renoise_sigmas(text: str) -> tuple[float, ...]:
    """'0.5' or '1.0,0.3': one or two finite positive noise levels, decreasing."""
    try:
        values = tuple(float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected one or two numbers separated by a comma, "
                                         f"got {text!r}") from None
    if not 1 <= len(values) <= 2 or not all(0 < v < float("inf") for v in values):
        raise argparse.ArgumentTypeError(f"expected one or two finite positive numbers, got "
                                         f"{text!r}")
    if len(values) == 2 and values[1] >= values[0]:
        raise argparse.ArgumentTypeError(f"the noise levels must decrease, got {text!r}")
    return values


def sigma_interval(text: str) -> tuple[float, float]:
    """'0.3,5' -> (0.3, 5.0): the noise levels low < sigma <= high, 0 <= low < high (high may
    be 'inf')."""
    parts = text.split(",")
    try:
        low, high = (float(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected two numbers LOW,HIGH, got {text!r}") from None
    if not 0 <= low < high:  # also refuses LOW = inf: no HIGH lies above it
        raise argparse.ArgumentTypeError(f"expected 0 <= LOW < HIGH, got {text!r}")
    return low, high


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", default=None, metavar="local|ADDRESS",
                        help="run the shards as dask.distributed tasks: 'local' (a local "
                             "cluster of --workers processes) or the address of a running "
                             "scheduler, e.g. tcp://10.0.0.1:8786 (see docs/cluster.md); "
                             "default: a multiprocessing pool")


def add_no_progress(parser: argparse.ArgumentParser) -> None:
    """--no-progress after the subcommand too (before it, it is the global option)."""
    parser.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS,
                        help="hide progress bars")


def add_runtime(parser: argparse.ArgumentParser) -> None:
    add_no_progress(parser)
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA if present, else CPU), cpu or cuda[:N]")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch (and the trees judge of classify; "
                             "default: all cores)")


def progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "no_progress", False)


OUTPUT_FILES = ("out", "json_out", "write_weights")
OUTPUT_DIRS = ("report", "workdir")


def check_outputs(args: argparse.Namespace) -> None:
    """Every output path is checked before a command starts working: a file target must
    not be a directory, a folder target not a file, and both must be writable."""
    from lhcgen.io import check_output_dir, check_output_file

    run_dir_out = args.command == "train"
    for name in OUTPUT_FILES:
        value = getattr(args, name, None)
        if value and not run_dir_out:
            check_output_file(value, "--" + name.replace("_out", "").replace("_", "-"))
    for name in (*OUTPUT_DIRS, *(("out",) if run_dir_out else ())):
        value = getattr(args, name, None)
        if value:
            check_output_dir(value, f"--{name}")
