"""`lhcgen classify` and the classifier part of `lhcgen evaluate --classifier`.

``classify GENERATED --truth TRUTH [--truth-2 TRUTH2] --report DIR`` cross-fits the judges
(:func:`lhcgen.evaluate.classifier.test.run_classifier_test`) and writes DIR atomically:
``metrics.json``, ``plots/`` and a self-contained ``index.html``. ``--write-weights OUT``
adds the same out-of-fold per-event weights to a copy of the generated file
(:func:`write_weighted_copy`). Every problem is one :class:`LhcgenError` line and leaves
neither DIR nor OUT behind.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_dir, write_text_atomic

if TYPE_CHECKING:
    from lhcgen.evaluate.classifier.settings import ClassifierSettings

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


JUDGE_CHOICES = ("mlp", "trees", "both")


def add_classifier_options(parser: argparse.ArgumentParser, truth_2_help: str) -> None:
    """Options of the classifier test (defaults: the reference MLP 3 x 256, dropout 0.1,
    beside boosted trees, 3-fold cross-fitted)."""
    from lhcgen.cli import non_negative_int, positive_int
    from lhcgen.evaluate.classifier.settings import ClassifierSettings

    d = ClassifierSettings()
    t = d.trees
    group = parser.add_argument_group("classifier test")
    group.add_argument("--judge", choices=JUDGE_CHOICES, default="both",
                       help="mlp (the reference 3x256 network), trees (gradient-boosted "
                            "trees, scikit-learn) or both; the report shows every judge asked "
                            "for (default both)")
    group.add_argument("--weights-from", choices=("mlp", "trees"), default=None,
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
    group.add_argument("--recalibration", choices=RECALIBRATION_CHOICES,
                       default=d.recalibration,
                       help="Platt recalibration: auto (when the validation split shows "
                            "miscalibration), always or never (default auto)")
    group.add_argument("--seed", type=non_negative_int, default=d.seed,
                       help="seed of folds, initialisation and bootstrap (default 0)")
    mlp = parser.add_argument_group("MLP judge")
    mlp.add_argument("--hidden", type=positive_int, default=d.hidden,
                     help=f"units per hidden layer (default {d.hidden})")
    mlp.add_argument("--layers", type=positive_int, default=d.layers,
                     help=f"hidden layers (default {d.layers})")
    mlp.add_argument("--dropout", type=dropout_float, default=d.dropout,
                     help=f"dropout (default {d.dropout})")
    mlp.add_argument("--input-scaling", choices=("quantile", "standard"),
                     default=d.input_scaling,
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


def add_classify_parser(sub, runtime) -> None:
    """Register `lhcgen classify` on the subparsers ``sub``; ``runtime`` adds --device etc."""
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
    runtime(classify)


def classifier_settings(args) -> ClassifierSettings:
    """ClassifierSettings from parsed options (the device resolved: auto -> cuda or cpu)."""
    from lhcgen.evaluate.classifier.settings import JUDGES, ClassifierSettings
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


def check_classifier_inputs(generated, truth, settings, truth_2=None, where: str = "") -> None:
    """Fail fast, before any training or plotting: samples of different schema or process,
    NaN/inf in the classifier inputs, or too few events per jet multiplicity for the folds
    (for the truth-2 floor too). Errors are prefixed with ``where``."""
    from lhcgen.evaluate.classifier.test import design, floor_sample

    try:
        design(generated, truth, ("generated", "truth"), settings)
        if truth_2 is not None:
            design(floor_sample(truth_2, len(generated)), truth, ("truth-2", "truth"),
                   settings)
    except LhcgenError as exc:
        raise LhcgenError(f"{where}{exc}") from None


def _read(path, role: str):
    from lhcgen.data.hdf5 import read_events

    try:
        return read_events(path)
    except LhcgenError as exc:
        raise LhcgenError(f"{role}: {exc}") from None


def classify_files(generated_path, truth_path, report_dir, settings,
                   weights_path=None, progress: bool = True, truth_2_path=None) -> dict:
    """Run the classifier test of two event files (and the floor with a third); write the
    report (and the weights) atomically.

    Returns the content of ``report_dir/metrics.json``.
    """
    from lhcgen import __version__
    from lhcgen.evaluate.classifier.report import render_classifier_html
    from lhcgen.evaluate.classifier.test import run_classifier_test
    from lhcgen.evaluate.classifier.weights_file import write_weighted_copy
    from lhcgen.evaluate.verdict import speed_facts

    generated = _read(generated_path, "generated")
    truth = _read(truth_path, "truth")
    truth_2 = _read(truth_2_path, "--truth-2") if truth_2_path else None
    check_classifier_inputs(generated, truth, settings, truth_2,
                            f"{generated_path} vs {truth_path}: ")
    files = {"generated": str(generated_path), "truth": str(truth_path)}
    if truth_2_path:
        files["truth-2"] = str(truth_2_path)
    if weights_path:
        if Path(weights_path).resolve() == Path(report_dir).resolve():
            raise LhcgenError("--write-weights and --report name the same path")
        files["weights"] = str(weights_path)
    with atomic_dir(report_dir) as tmp:
        outcome = run_classifier_test(generated, truth, settings, tmp, progress, truth_2)
        metrics = {"lhcgen_version": __version__, "files": files,
                   "speed": speed_facts(generated.attrs, truth.attrs), **outcome.metrics}
        if weights_path:
            metrics["written_weights"] = {"n_events": len(outcome.generated_weights),
                                          **outcome.weights_info}
        write_text_atomic(tmp / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False))
        write_text_atomic(tmp / "index.html", render_classifier_html(metrics, tmp))
        if weights_path:
            write_weighted_copy(generated_path, weights_path, outcome.generated_weights,
                                {**outcome.weights_info, "settings": outcome.metrics["settings"]})
    return metrics


def cmd_classify(args) -> int:
    from lhcgen.evaluate.classifier.report import format_classifier_summary

    metrics = classify_files(args.generated, args.truth, args.report, classifier_settings(args),
                             args.write_weights, not args.no_progress, args.truth_2)
    print(format_classifier_summary(metrics))
    if args.write_weights:
        written = metrics["written_weights"]
        print(f"wrote {args.write_weights}: classifier_weights for all {written['n_events']} "
              f"generated events ({written['judge']}, {written['method']}; effective sample "
              f"size {written['effective_sample_size']:.6g}, mean {written['mean']:.4g})")
    print(f"report: {Path(args.report) / 'index.html'}")
    return 0


def evaluate_classifier_settings(args) -> ClassifierSettings | None:
    """The classifier settings of `lhcgen evaluate`, None without --classifier."""
    return classifier_settings(args) if getattr(args, "classifier", False) else None


def print_classifier(metrics: dict) -> None:
    """The terminal summary of an evaluate report's classifier section (its verdict is in
    the evaluate summary already), if it has one."""
    if "classifier" in metrics:
        from lhcgen.evaluate.classifier.report import format_classifier_summary

        print(format_classifier_summary(metrics["classifier"], with_verdict=False))


def add_classifier_section(metrics: dict, generated, truth, out_dir: Path, settings,
                           progress: bool = True, truth_2=None) -> dict:
    """Run the classifier test into ``out_dir`` (an evaluate report being written) and add
    it to ``metrics["classifier"]``, metrics.json and index.html."""
    from lhcgen.evaluate.classifier.test import classifier_test
    from lhcgen.evaluate.events.report import render_html

    metrics["classifier"] = classifier_test(generated, truth, settings, out_dir, progress,
                                            truth_2)
    write_text_atomic(out_dir / "metrics.json", json.dumps(metrics, indent=2, allow_nan=False))
    write_text_atomic(out_dir / "index.html", render_html(metrics, out_dir))
    return metrics
