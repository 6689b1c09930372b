"""`lhcgen evaluate`: options and what it prints."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lhcgen.cli.args import add_no_progress, positive_int, progress
from lhcgen.cli.classify import (
    add_classifier_options,
    evaluate_classifier_settings,
    print_classifier,
)
from lhcgen.train.likelihood import NLLSettings


def add_parsers(sub: Any) -> None:
    d = NLLSettings()
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
    add_no_progress(evaluate)
    add_classifier_options(
        evaluate, "second truth file for the classifier's floor (default: the truth-train "
                  "file of the histogram floor, at most as many events as generated)")
    evaluate.add_argument("--run", default=None, metavar="RUN_DIR",
                          help="run whose model scores the truth events for the test NLL "
                               "(default: the run recorded in the generated file)")
    evaluate.add_argument("--no-nll", action="store_true",
                          help="skip the test-set negative log-likelihood (computed by "
                               "default where the model has a density: CFM, INN, JetGPT)")
    evaluate.add_argument("--nll-events", type=positive_int, default=d.events,
                          help=f"truth events scored for the NLL (the first N; default "
                               f"{d.events})")
    evaluate.add_argument("--nll-trace", choices=("exact", "hutchinson"), default=d.trace,
                          help="ODE models: divergence along the ODE exactly or by "
                               f"Hutchinson's estimator (default {d.trace})")
    evaluate.add_argument("--nll-steps", type=positive_int, default=d.steps,
                          help=f"ODE models: RK4 steps of the likelihood ODE (default "
                               f"{d.steps})")
    evaluate.add_argument("--device", default=d.device,
                          help="torch device of the classifier and the NLL: auto, cpu or "
                               f"cuda[:N] (default {d.device})")
    evaluate.add_argument("--threads", type=positive_int, default=None,
                          help="CPU threads for torch and the trees judge (default: all cores)")
    evaluate.set_defaults(handler=run_evaluate)


def run_evaluate(args: argparse.Namespace) -> int:
    from lhcgen.evaluate.events.report import format_summary
    from lhcgen.evaluate.files import evaluate_files

    nll = None
    if not args.no_nll:
        nll = NLLSettings(args.run, args.nll_events, args.nll_trace, args.nll_steps,
                          args.device, required=args.run is not None)
    metrics = evaluate_files(args.generated, args.truth, args.report, args.train,
                             evaluate_classifier_settings(args), progress(args), nll,
                             args.truth_2)
    sampling = metrics.get("sampling", {})
    print(format_summary(metrics, sampling.get("simulator_events_per_second")))
    print_classifier(metrics)
    print(f"report: {Path(args.report) / 'index.html'}")
    return 0
