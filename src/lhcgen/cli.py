"""`lhcgen`: make data, train a surrogate, sample it, and judge it against the truth.

Every user mistake (a missing file, a bad config key, an impossible number) ends in one
line on stderr and a non-zero exit; nothing half-written is left behind.
"""

from __future__ import annotations

import argparse
import os
import sys

from lhcgen import __version__, commands_classify, commands_jets
from lhcgen.errors import LhcgenError

EPILOG = """typical session:
  lhcgen data zjets --events 20000 --seed 1 --workers 2 --out data/train.h5
  lhcgen data zjets --events 10000 --seed 2 --workers 2 --out data/test.h5
  lhcgen train configs/demo.yaml --out runs/demo
  lhcgen sample runs/demo -n 100000 --out runs/demo/generated.h5
  lhcgen evaluate runs/demo/generated.h5 --truth data/test.h5 --report runs/demo/report
  lhcgen classify runs/demo/generated.h5 --truth data/test.h5 --report runs/demo/classifier
"""


class Parser(argparse.ArgumentParser):
    """argparse that reports a usage mistake in one line."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


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


def add_scheduler_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scheduler", default=None, metavar="local|ADDRESS",
                        help="run the shards as dask.distributed tasks: 'local' (a local "
                             "cluster of --workers processes) or the address of a running "
                             "scheduler, e.g. tcp://10.0.0.1:8786 (see docs/cluster.md); "
                             "default: a multiprocessing pool")


def _no_progress(parser: argparse.ArgumentParser) -> None:
    """--no-progress after the subcommand too (before it, it is the global option)."""
    parser.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS,
                        help="hide progress bars")


def _runtime(parser: argparse.ArgumentParser) -> None:
    _no_progress(parser)
    parser.add_argument("--device", default="auto",
                        help="auto (CUDA if present, else CPU), cpu or cuda[:N]")
    parser.add_argument("--threads", type=positive_int, default=None,
                        help="CPU threads for torch (and the trees judge of classify; "
                             "default: all cores)")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="lhcgen", description=__doc__.splitlines()[0], epilog=EPILOG,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"lhcgen {__version__}")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    data = sub.add_parser("data", help="generate events with Pythia 8 + FastJet")
    data_sub = data.add_subparsers(dest="process", required=True, parser_class=Parser)
    zjets = data_sub.add_parser(
        "zjets", help="pp -> Z(->mumu)+jets at 13 TeV",
        description="Generate Z(->mumu)+jets events at 13 TeV with Pythia 8 (dressed muons, "
                    "anti-kT R=0.4 jets with FastJet, overlap removal), or shower a "
                    "MadGraph/LHEF file with --lhe; see docs/data-format.md for the event "
                    "definition and schema. The same --events, --seed and --shard-size give "
                    "the same events for any --workers and --scheduler. Finished shards are "
                    "kept in OUT.parts/ until the file is written: rerun the same command "
                    "after a crash to make only the missing ones.")
    zjets.add_argument("--events", type=positive_int, default=None,
                       help="accepted events to write (with --lhe: LHE events to shower, "
                            "default all)")
    zjets.add_argument("--lhe", default=None, metavar="FILE",
                       help="shower this LHE file (.lhe or .lhe.gz, e.g. from MadGraph) "
                            "instead of Pythia's own Z+jet process")
    zjets.add_argument("--seed", type=non_negative_int, default=1, help="master seed")
    zjets.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1,
                       help="parallel Pythia processes (default: all cores)")
    zjets.add_argument("--shard-size", type=positive_int, default=None,
                       help="accepted events per shard, part of the seed scheme (default "
                            "1000; with --lhe: LHE events per shard, default 2000)")
    zjets.add_argument("--hard-process", choices=("z", "zjet"), default=None,
                       help="z (default): inclusive Z production, the jets from the parton "
                            "shower with its Z+jet matrix-element correction and from "
                            "multiparton interactions, no generator cut; zjet: Pythia's Z + "
                            "parton 2 -> 2 matrix elements above --pthat-min, faster but the "
                            "events depend on the cut (docs/data-format.md)")
    zjets.add_argument("--pthat-min", type=float, default=None, metavar="GEV",
                       help="Pythia PhaseSpace:pTHatMin of --hard-process zjet (default 10 "
                            "GeV; see benchmarks/results/pthat_stability.md)")
    zjets.add_argument("--out", required=True, help="output HDF5 file")
    add_scheduler_option(zjets)
    _no_progress(zjets)
    commands_jets.add_jet_data_parsers(data_sub, positive_int, non_negative_int,
                                       _no_progress, add_scheduler_option)

    train = sub.add_parser("train", help="train a generator from a YAML config",
                           description="Train the generator of CONFIG; the run directory "
                                       "receives the resolved config, preprocessing, "
                                       "checkpoints, the training log and metrics.json.")
    train.add_argument("config", help="YAML experiment config (see configs/)")
    train.add_argument("--out", required=True, help="run directory")
    train.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its last checkpoint")
    _runtime(train)

    sample = sub.add_parser("sample", help="sample events from a trained run",
                            description="Write generated events in the same schema as the "
                                        "training data.")
    sample.add_argument("run_dir", help="run directory made by `lhcgen train`")
    sample.add_argument("-n", "--events", type=positive_int, required=True, dest="n",
                        help="events to generate")
    sample.add_argument("--out", required=True, help="output HDF5 file")
    sample.add_argument("--solver", default=None,
                        help="CFM: euler, midpoint, heun, rk4 or dopri5; DDPM: ancestral or "
                             "ddim; the INN and JetGPT take none (default: the config's, "
                             "else the model's)")
    sample.add_argument("--steps", type=positive_int, default=None,
                        help="solver steps (fixed-step ODE solvers, DDPM; default: the "
                             "config's, else the model's: CFM 8, DDIM 50, ancestral T)")
    sample.add_argument("--weight-draws", type=positive_int, default=0, metavar="K",
                        help="Bayesian generators: draw K networks from the weight posterior "
                             "and write N events of each (K x N in all, with a weight_draw "
                             "column); `lhcgen evaluate` shows the band they span")
    sample.add_argument("--no-kv-cache", action="store_true",
                        help="JetGPT: recompute the whole prefix at every step instead of "
                             "using the key/value cache (for timing; same samples)")
    sample.add_argument("--batch-size", type=positive_int, default=None)
    sample.add_argument("--multiplicity", type=positive_int, default=None,
                        help="generate only this jet multiplicity (default: as in training)")
    sample.add_argument("--seed", type=non_negative_int, default=0)
    _runtime(sample)

    evaluate = sub.add_parser("evaluate", help="histograms, chi2/ndf and W1 against the truth",
                              description="Compare generated events with a held-out truth "
                                          "sample and write an HTML report, PNGs and "
                                          "metrics.json.")
    evaluate.add_argument("generated", help="generated HDF5 file")
    evaluate.add_argument("--truth", required=True, help="held-out truth (test) HDF5 file")
    evaluate.add_argument("--train", default=None,
                          help="truth-train file for the statistical floor (default: the "
                               "training file recorded in the generated file)")
    evaluate.add_argument("--report", required=True, help="report directory")
    evaluate.add_argument("--classifier", action="store_true",
                          help="add the classifier test (see `lhcgen classify`; its options "
                               "below apply)")
    _no_progress(evaluate)
    commands_classify.add_classifier_options(
        evaluate, "second truth file for the classifier's floor (default: the truth-train "
                  "file of the histogram floor, at most as many events as generated)")
    evaluate.add_argument("--run", default=None, metavar="RUN_DIR",
                          help="run whose model scores the truth events for the test NLL "
                               "(default: the run recorded in the generated file)")
    evaluate.add_argument("--no-nll", action="store_true",
                          help="skip the test-set negative log-likelihood (computed by "
                               "default where the model has a density: CFM, INN, JetGPT)")
    evaluate.add_argument("--nll-events", type=positive_int, default=10000,
                          help="truth events scored for the NLL (the first N; default 10000)")
    evaluate.add_argument("--nll-trace", choices=("exact", "hutchinson"), default="exact",
                          help="CFM: divergence along the ODE exactly or by Hutchinson's "
                               "estimator (default exact)")
    evaluate.add_argument("--nll-steps", type=positive_int, default=16,
                          help="CFM: RK4 steps of the likelihood ODE (default 16)")
    evaluate.add_argument("--device", default="cpu",
                          help="torch device of the classifier and the NLL: auto, cpu or "
                               "cuda[:N]")
    evaluate.add_argument("--threads", type=positive_int, default=None,
                          help="CPU threads for torch and the trees judge (default: all cores)")
    commands_classify.add_classify_parser(sub, _runtime)
    commands_jets.add_metrics_parser(sub, positive_int, non_negative_int)

    demo = sub.add_parser("demo", help="data, training, sampling and report in one go",
                          description="The README's first command: generate (or reuse) "
                                      "the demo data, train configs/demo.yaml, sample, "
                                      "evaluate and print a summary.")
    demo.add_argument("--config", default="configs/demo.yaml")
    demo.add_argument("--workdir", default="demo_output")
    demo.add_argument("--train-events", type=positive_int, default=15000)
    demo.add_argument("--test-events", type=positive_int, default=6000)
    demo.add_argument("--sample-events", type=positive_int, default=50000)
    demo.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1)
    _runtime(demo)
    return parser


def _set_threads(args) -> None:
    import torch

    if getattr(args, "threads", None):
        torch.set_num_threads(args.threads)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from lhcgen import commands

    try:
        _set_threads(args)
        return commands.run(args)
    except LhcgenError as exc:
        print(f"lhcgen: error: {exc}", file=sys.stderr)
        from lhcgen.train.loop import Interrupted

        return 130 if isinstance(exc, Interrupted) else 1
    except KeyboardInterrupt:
        print("lhcgen: interrupted; no output was written", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())


