"""`lhcgen classify`, and the classifier options it shares with `lhcgen evaluate`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from lhcgen.cli.args import (
    add_runtime,
    at_least_two,
    clip_float,
    dropout_float,
    non_negative_int,
    positive_float,
    positive_int,
    progress,
)
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.settings import (
    JUDGES,
    RECALIBRATIONS,
    ClassifierSettings,
)

JUDGE_CHOICES = (*JUDGES, "both")


def add_classifier_options(parser: argparse.ArgumentParser, truth_2_help: str) -> None:
    """Options of the classifier test; every default is ClassifierSettings'."""
    from lhcgen.evaluate.classifier.input_scaling import INPUT_SCALINGS

    d = ClassifierSettings()
    t = d.trees
    group = parser.add_argument_group("classifier test")
    group.add_argument("--judge", choices=JUDGE_CHOICES, default="both",
                       help="mlp (the reference 3x256 network), trees (gradient-boosted "
                            "trees, scikit-learn) or both; the report shows every judge asked "
                            "for (default both)")
    group.add_argument("--weights-from", choices=JUDGES, default=None,
                       help="the judge whose weights w = D/(1-D) are reported and written "
                            "(default: the MLP when it runs, else the trees)")
    group.add_argument("--truth-2", default=None, metavar="FILE", help=truth_2_help)
    group.add_argument("--folds", type=at_least_two, default=d.folds,
                       help=f"cross-fitting folds: every event is scored by a judge trained "
                            f"on the other folds (default {d.folds})")
    group.add_argument("--repeats", type=positive_int, default=d.repeats,
                       help="repeat the cross-fitting with new folds and seeds; the spread "
                            f"enters the AUC error (default {d.repeats})")
    group.add_argument("--bootstrap", type=at_least_two, default=d.n_bootstrap,
                       help=f"bootstrap replicas of the AUC's event error "
                            f"(default {d.n_bootstrap})")
    group.add_argument("--clip", type=clip_float, default=d.weight_clip,
                       help=f"clip the weights to [1/CLIP, CLIP] (default {d.weight_clip:g})")
    group.add_argument("--recalibration", choices=RECALIBRATIONS, default=d.recalibration,
                       help="Platt recalibration: auto (when the validation split shows "
                            f"miscalibration), always or never (default {d.recalibration})")
    group.add_argument("--seed", type=non_negative_int, default=d.seed,
                       help=f"seed of folds, initialisation and bootstrap (default {d.seed})")
    mlp = parser.add_argument_group("MLP judge")
    mlp.add_argument("--hidden", type=positive_int, default=d.hidden,
                     help=f"units per hidden layer (default {d.hidden})")
    mlp.add_argument("--layers", type=positive_int, default=d.layers,
                     help=f"hidden layers (default {d.layers})")
    mlp.add_argument("--dropout", type=dropout_float, default=d.dropout,
                     help=f"dropout (default {d.dropout})")
    mlp.add_argument("--input-scaling", choices=INPUT_SCALINGS, default=d.input_scaling,
                     help="quantile: each feature through its training CDF to N(0, 1), which "
                          "resolves narrow peaks such as the Z in m_mumu; standard: "
                          f"standardised (default {d.input_scaling})")
    mlp.add_argument("--lr", type=positive_float, default=d.lr,
                     help=f"Adam learning rate (default {d.lr})")
    mlp.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                     help=f"minibatch size (default {d.batch_size})")
    mlp.add_argument("--epochs", type=positive_int, default=d.max_epochs,
                     help=f"most epochs; early stopping on the validation split usually "
                          f"ends sooner (default {d.max_epochs})")
    mlp.add_argument("--patience", type=positive_int, default=d.patience,
                     help=f"epochs without a better validation loss before stopping "
                          f"(default {d.patience})")
    trees = parser.add_argument_group("trees judge")
    trees.add_argument("--trees-max-iter", type=positive_int, default=t.max_iter,
                       help=f"most boosting iterations; early stopping on the validation "
                            f"split usually ends sooner (default {t.max_iter})")
    trees.add_argument("--trees-lr", type=positive_float, default=t.learning_rate,
                       help=f"learning rate of the boosting (default {t.learning_rate})")
    trees.add_argument("--trees-leaves", type=at_least_two, default=t.max_leaf_nodes,
                       help=f"leaves per tree (default {t.max_leaf_nodes})")


def add_parsers(sub: Any) -> None:
    classify = sub.add_parser(
        "classify", help="classifier two-sample test and reweighting against the truth",
        description="Tell the truth from generated events with two judges (an MLP and "
                    "gradient-boosted trees), each cross-fitted over all events of both "
                    "files: AUC over all events and per jet multiplicity with an error from "
                    "the bootstrap and the retrainings, beside the floor of two truth "
                    "samples (--truth-2); calibration; weights w = D/(1-D) with their "
                    "effective sample size; reweighted histograms and the extreme-weight "
                    "events, in DIR/metrics.json and DIR/index.html (verdict first).")
    classify.add_argument("generated", help="generated HDF5 file")
    classify.add_argument("--truth", required=True, help="held-out truth (test) HDF5 file")
    classify.add_argument("--report", required=True, help="report directory")
    classify.add_argument("--write-weights", default=None, metavar="OUT.h5",
                          help="write a copy of GENERATED with the cross-fitted per-event "
                               "classifier weights (dataset classifier_weights)")
    add_classifier_options(classify, "a second, independent truth file of the same process "
                                     "(e.g. the training data): each judge on it against "
                                     "--truth gives the floor of its AUC")
    add_runtime(classify)
    classify.set_defaults(handler=run_classify)


def classifier_settings(args: argparse.Namespace) -> ClassifierSettings:
    """ClassifierSettings from parsed options (the device resolved: auto -> cuda or cpu)."""
    from lhcgen.evaluate.classifier.trees import TreesSettings
    from lhcgen.train.run import resolve_device

    device = resolve_device(getattr(args, "device", None) or "cpu")
    judges = JUDGES if args.judge == "both" else (args.judge,)
    if args.weights_from and args.weights_from not in judges:
        raise LhcgenError(f"--weights-from {args.weights_from} needs that judge: use --judge "
                          f"{args.weights_from} or --judge both")
    trees = TreesSettings(max_iter=args.trees_max_iter, learning_rate=args.trees_lr,
                          max_leaf_nodes=args.trees_leaves)
    return ClassifierSettings(hidden=args.hidden, layers=args.layers, dropout=args.dropout,
                              input_scaling=args.input_scaling, lr=args.lr,
                              batch_size=args.batch_size, max_epochs=args.epochs,
                              patience=args.patience, weight_clip=args.clip,
                              recalibration=args.recalibration, n_bootstrap=args.bootstrap,
                              folds=args.folds, repeats=args.repeats, seed=args.seed,
                              device=str(device), judges=judges,
                              weights_from=args.weights_from, trees=trees,
                              threads=getattr(args, "threads", None))


def evaluate_classifier_settings(args: argparse.Namespace) -> ClassifierSettings | None:
    """The classifier settings of `lhcgen evaluate`, None without --classifier."""
    return classifier_settings(args) if getattr(args, "classifier", False) else None


def run_classify(args: argparse.Namespace) -> int:
    from lhcgen.evaluate.classifier.files import classify_files
    from lhcgen.evaluate.classifier.report import format_classifier_summary

    metrics = classify_files(args.generated, args.truth, args.report, classifier_settings(args),
                             args.write_weights, progress(args), args.truth_2)
    print(format_classifier_summary(metrics))
    if args.write_weights:
        written = metrics["written_weights"]
        print(f"wrote {args.write_weights}: classifier_weights for all {written['n_events']} "
              f"generated events ({written['judge']}, {written['method']}; effective sample "
              f"size {written['effective_sample_size']:.6g}, mean {written['mean']:.4g})")
    print(f"report: {Path(args.report) / 'index.html'}")
    return 0


def print_classifier(metrics: dict) -> None:
    """The terminal summary of an evaluate report's classifier section (its verdict is in
    the evaluate summary already), if it has one."""
    if "classifier" in metrics:
        from lhcgen.evaluate.classifier.report import format_classifier_summary

        print(format_classifier_summary(metrics["classifier"], with_verdict=False))
