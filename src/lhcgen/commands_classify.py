"""`lhcgen classify` and the classifier part of `lhcgen evaluate --classifier`.

``classify GENERATED --truth TRUTH --report DIR`` trains the truth-vs-generated classifier
(:func:`lhcgen.evaluate.classifier_test.classifier_test`) and writes DIR atomically:
``metrics.json``, ``plots/`` and a self-contained ``index.html``. ``--write-weights OUT``
adds cross-fitted per-event weights to a copy of the generated file
(:func:`generated_event_weights`, :func:`write_weighted_copy`). Every problem is one
:class:`LhcgenError` line and leaves neither DIR nor OUT behind.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_dir, write_text_atomic

if TYPE_CHECKING:
    from lhcgen.evaluate.classifier import ClassifierSettings

RECALIBRATION_CHOICES = ("auto", "always", "never")


def _number(kind, check, what):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"must be {what}, got {value}")
        return value
    return parse


positive_float = _number(float, lambda v: v > 0, "a positive number")
dropout_float = _number(float, lambda v: 0 <= v < 1, "a number in [0, 1)")
clip_float = _number(float, lambda v: v > 1, "a number larger than 1")
at_least_two = _number(int, lambda v: v >= 2, "an integer of at least 2")


def add_classifier_options(parser: argparse.ArgumentParser) -> None:
    """Options of the classifier (defaults: the reference 3 x 256, dropout 0.1)."""
    from lhcgen.cli import non_negative_int, positive_int
    from lhcgen.evaluate.classifier import ClassifierSettings

    d = ClassifierSettings()
    group = parser.add_argument_group("classifier")
    group.add_argument("--hidden", type=positive_int, default=d.hidden,
                       help=f"units per hidden layer (default {d.hidden})")
    group.add_argument("--layers", type=positive_int, default=d.layers,
                       help=f"hidden layers (default {d.layers})")
    group.add_argument("--dropout", type=dropout_float, default=d.dropout,
                       help=f"dropout (default {d.dropout})")
    group.add_argument("--lr", type=positive_float, default=d.lr,
                       help=f"Adam learning rate (default {d.lr})")
    group.add_argument("--batch-size", type=positive_int, default=d.batch_size,
                       help=f"minibatch size (default {d.batch_size})")
    group.add_argument("--epochs", type=positive_int, default=d.max_epochs,
                       help=f"most epochs; early stopping on the validation split usually "
                            f"ends sooner (default {d.max_epochs})")
    group.add_argument("--patience", type=positive_int, default=d.patience,
                       help=f"epochs without a better validation loss before stopping "
                            f"(default {d.patience})")
    group.add_argument("--clip", type=clip_float, default=d.weight_clip,
                       help=f"clip the weights to [1/CLIP, CLIP] (default {d.weight_clip:g})")
    group.add_argument("--recalibration", choices=RECALIBRATION_CHOICES,
                       default=d.recalibration,
                       help="Platt recalibration: auto (when the validation split shows "
                            "miscalibration), always or never (default auto)")
    group.add_argument("--bootstrap", type=at_least_two, default=d.n_bootstrap,
                       help=f"bootstrap replicas of the AUC error (default {d.n_bootstrap})")
    group.add_argument("--folds", type=at_least_two, default=d.folds,
                       help=f"cross-fitting folds of --write-weights (default {d.folds})")
    group.add_argument("--seed", type=non_negative_int, default=d.seed,
                       help="seed of splits, initialisation and bootstrap (default 0)")


def add_classify_parser(sub, runtime) -> None:
    """Register `lhcgen classify` on the subparsers ``sub``; ``runtime`` adds --device etc."""
    classify = sub.add_parser(
        "classify", help="classifier two-sample test and reweighting against the truth",
        description="Train a classifier to tell the truth from generated events: AUC with "
                    "a bootstrap error, calibration, weights w = D/(1-D) with their "
                    "effective sample size, reweighted histograms and the extreme-weight "
                    "events, in DIR/metrics.json and DIR/index.html.")
    classify.add_argument("generated", help="generated HDF5 file")
    classify.add_argument("--truth", required=True, help="held-out truth (test) HDF5 file")
    classify.add_argument("--report", required=True, help="report directory")
    classify.add_argument("--write-weights", default=None, metavar="OUT.h5",
                          help="write a copy of GENERATED with cross-fitted per-event "
                               "classifier weights (dataset classifier_weights)")
    add_classifier_options(classify)
    runtime(classify)


def classifier_settings(args) -> ClassifierSettings:
    """ClassifierSettings from parsed options (the device resolved: auto -> cuda or cpu)."""
    from lhcgen.evaluate.classifier import ClassifierSettings
    from lhcgen.train.run import resolve_device

    device = resolve_device(getattr(args, "device", None) or "cpu")
    return ClassifierSettings(hidden=args.hidden, layers=args.layers, dropout=args.dropout,
                              lr=args.lr, batch_size=args.batch_size, max_epochs=args.epochs,
                              patience=args.patience, weight_clip=args.clip,
                              recalibration=args.recalibration, n_bootstrap=args.bootstrap,
                              folds=args.folds, seed=args.seed, device=str(device))


def check_classifier_inputs(generated, truth, settings, cross_fit: bool = False,
                            where: str = "") -> None:
    """Fail fast, before any training or plotting: samples of different schema or process,
    NaN/inf in the classifier inputs, or too few events for the splits (and for
    cross-fitting when ``cross_fit``). Errors are prefixed with ``where``."""
    import numpy as np

    from lhcgen.evaluate.classifier import check_cross_fit_sizes, three_way_split
    from lhcgen.evaluate.classifier_features import classifier_features
    from lhcgen.evaluate.classifier_test import check_compatible

    try:
        check_compatible(generated, truth)
        for name, sample in (("generated", generated), ("truth", truth)):
            try:
                classifier_features(sample)
            except LhcgenError as exc:
                raise LhcgenError(f"{name} sample: {exc}") from None
        labels = np.r_[np.zeros(len(generated), np.int64), np.ones(len(truth), np.int64)]
        three_way_split(labels, settings)
        if cross_fit:
            check_cross_fit_sizes(labels, settings)
    except LhcgenError as exc:
        raise LhcgenError(f"{where}{exc}") from None


def _read_pair(generated_path, truth_path, settings, cross_fit: bool):
    from lhcgen.data.hdf5 import read_events

    generated, truth = read_events(generated_path), read_events(truth_path)
    check_classifier_inputs(generated, truth, settings, cross_fit,
                            f"{generated_path} vs {truth_path}: ")
    return generated, truth


def classify_files(generated_path, truth_path, report_dir, settings,
                   weights_path=None, progress: bool = True) -> dict:
    """Run the classifier test of two event files; write the report (and weights) atomically.

    Returns the content of ``report_dir/metrics.json``.
    """
    from lhcgen import __version__
    from lhcgen.evaluate.classifier_report import render_classifier_html
    from lhcgen.evaluate.classifier_test import classifier_test, generated_event_weights
    from lhcgen.evaluate.classifier_weights_file import write_weighted_copy

    generated, truth = _read_pair(generated_path, truth_path, settings, bool(weights_path))
    files = {"generated": str(generated_path), "truth": str(truth_path)}
    if weights_path:
        if Path(weights_path).resolve() == Path(report_dir).resolve():
            raise LhcgenError("--write-weights and --report name the same path")
        files["weights"] = str(weights_path)
    with atomic_dir(report_dir) as tmp:
        weights = info = None
        result = classifier_test(generated, truth, settings, tmp, progress)
        if weights_path:
            weights, info = generated_event_weights(generated, truth, settings, progress)
        metrics = {"lhcgen_version": __version__, "files": files, **result}
        if weights_path:
            metrics["written_weights"] = {"n_events": len(weights),
                                          **{k: v for k, v in info.items() if k != "settings"}}
        write_text_atomic(tmp / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False))
        write_text_atomic(tmp / "index.html", render_classifier_html(metrics, tmp))
        if weights_path:
            write_weighted_copy(generated_path, weights_path, weights, info)
    return metrics


def cmd_classify(args) -> int:
    from lhcgen.evaluate.classifier_report import format_classifier_summary

    metrics = classify_files(args.generated, args.truth, args.report, classifier_settings(args),
                             args.write_weights, not args.no_progress)
    print(format_classifier_summary(metrics))
    if args.write_weights:
        written = metrics["written_weights"]
        print(f"wrote {args.write_weights}: classifier_weights for all {written['n_events']} "
              f"generated events ({written['method']}; effective sample size "
              f"{written['effective_sample_size']:.6g}, mean {written['mean']:.4g})")
    print(f"report: {Path(args.report) / 'index.html'}")
    return 0


def evaluate_classifier_settings(args) -> ClassifierSettings | None:
    """The classifier settings of `lhcgen evaluate`, None without --classifier."""
    return classifier_settings(args) if getattr(args, "classifier", False) else None


def print_classifier(metrics: dict) -> None:
    """The terminal summary of an evaluate report's classifier section, if it has one."""
    if "classifier" in metrics:
        from lhcgen.evaluate.classifier_report import format_classifier_summary

        print(format_classifier_summary(metrics["classifier"]))


def add_classifier_section(metrics: dict, generated, truth, out_dir: Path, settings,
                           progress: bool = True) -> dict:
    """Run the classifier test into ``out_dir`` (an evaluate report being written) and add
    it to ``metrics["classifier"]``, metrics.json and index.html."""
    from lhcgen.evaluate.classifier_test import classifier_test
    from lhcgen.evaluate.report import render_html

    metrics["classifier"] = classifier_test(generated, truth, settings, out_dir, progress)
    write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False))
    write_text_atomic(out_dir / "index.html", render_html(metrics, out_dir))
    return metrics
