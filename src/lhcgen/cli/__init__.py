"""`lhcgen`: make data, train a surrogate, sample it, and judge it against the truth.

Argument parsing and printing only: every subcommand calls one library function (named in
its module) that the tests and benchmarks call too. Every user mistake (a missing file, a
bad config key, an impossible number) ends in one line on stderr and a non-zero exit;
nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import sys

from lhcgen import __version__
from lhcgen.cli import classify, data, demo, detector, evaluate, metrics, train
from lhcgen.cli.args import Parser, check_outputs
from lhcgen.errors import LhcgenError

EPILOG = """typical session:
  lhcgen data zjets --events 20000 --seed 1 --workers 2 --out data/train.h5
  lhcgen data zjets --events 10000 --seed 2 --workers 2 --out data/test.h5
  lhcgen train configs/demo.yaml --out runs/demo
  lhcgen sample runs/demo -n 100000 --out runs/demo/generated.h5
  lhcgen evaluate runs/demo/generated.h5 --truth data/test.h5 --report runs/demo/report
  lhcgen classify runs/demo/generated.h5 --truth data/test.h5 --report runs/demo/classifier
"""

SUBCOMMANDS = (data, train, evaluate, classify, metrics, detector, demo)
"""Modules that add their subcommands (``add_parsers``), in the order of --help."""


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lhcgen", description=__doc__.splitlines()[0], epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lhcgen {__version__}")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in SUBCOMMANDS:
        module.add_parsers(sub)
    return parser


def _set_threads(args: argparse.Namespace) -> None:
    import torch

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _set_threads(args)
        check_outputs(args)
        return args.handler(args)
    except LhcgenError as exc:
        print(f"lhcgen: error: {exc}", file=sys.stderr)
        from lhcgen.train.loop import Interrupted

        return 130 if isinstance(exc, Interrupted) else 1
    except KeyboardInterrupt:
        print("lhcgen: interrupted; no output was written", file=sys.stderr)
        return 130
