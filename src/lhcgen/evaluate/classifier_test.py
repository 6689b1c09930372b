"""The classifier two-sample test and reweighting of a generated sample against truth.

A classifier D learns to tell truth (label 1) from generated events (label 0) on the
derived features of :mod:`lhcgen.evaluate.classifier_features`. Its AUC on held-out events
says how well the generator imitates truth (0.5: not at all distinguishable), and by the
likelihood-ratio trick w = D / (1 - D) = p_truth / p_gen (arXiv:1506.02169; as a metric for
generative networks arXiv:2305.16774) reweights the generated events towards truth; weights
far from 1 mark the regions the generator over- or under-populates.

Two entry points for the CLI:

- :func:`classifier_test`: one classifier on per-class train / validation / test splits;
  every reported figure (AUC, accuracy, calibration, weights, reweighted histograms) comes
  from the test split, which the classifier never saw.
- :func:`generated_event_weights`: cross-fitted weights for every generated event (for
  ``--write-weights``, see :mod:`lhcgen.evaluate.classifier_weights_file`).

Monte Carlo event weights of either sample enter the training loss (times the class-balance
factor), the AUC, the calibration curves and every histogram.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
from scipy.special import expit

from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier import (
    ClassifierSettings,
    cross_fitted_logits,
    fit_classifier,
    three_way_split,
)
from lhcgen.evaluate.classifier_features import (
    ClassifierFeatures,
    classifier_features,
    network_inputs,
)
from lhcgen.evaluate.classifier_plots import calibration_plot, weight_histogram_plot
from lhcgen.evaluate.histograms import binning, histogram, normalised
from lhcgen.evaluate.metrics import chi2_ndf
from lhcgen.evaluate.plots import three_panel
from lhcgen.evaluate.two_sample import (
    accuracy,
    apply_platt,
    calibration_curve,
    effective_sample_size,
    extreme_weight_events,
    likelihood_ratio_weights,
    linear_max_for,
    roc_auc_with_error,
    weight_histograms,
)
from lhcgen.io import json_safe
from lhcgen.physics.observables import Observable, zjets_observables

N_BINS = 40
MIN_HISTOGRAM_EVENTS = 10
CALIBRATION_BINS = 10
COMPARED_ATTRS = ("process", "object_names", "n_fixed_objects", "schema_version")
"""File attributes that must agree between the generated and the truth sample."""


def check_compatible(generated: EventSample, truth: EventSample) -> None:
    """Raise a one-line LhcgenError when the two samples differ in schema or process.

    Compared: the number of object slots, and the attributes in :data:`COMPARED_ATTRS` where
    both samples have them (a file without a ``process`` attribute is not refused for it).
    """
    for name, sample in (("generated", generated), ("truth", truth)):
        if len(sample) == 0:
            raise LhcgenError(f"the {name} sample contains no events")
    if generated.momenta.shape[1] != truth.momenta.shape[1]:
        raise LhcgenError(f"generated and truth samples differ in schema: "
                          f"{generated.momenta.shape[1]} vs {truth.momenta.shape[1]} object "
                          "slots")
    for key in COMPARED_ATTRS:
        a, b = generated.attrs.get(key), truth.attrs.get(key)
        if a is not None and b is not None and _plain(a) != _plain(b):
            what = "process" if key == "process" else f"schema ({key})"
            raise LhcgenError(f"generated and truth samples differ in {what}: {a!r} vs {b!r}")


def _plain(value):
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def _features(sample: EventSample, name: str) -> ClassifierFeatures:
    try:
        return classifier_features(sample)
    except LhcgenError as exc:
        raise LhcgenError(f"{name} sample: {exc}") from None


def _design(generated: EventSample, truth: EventSample
            ) -> tuple[ClassifierFeatures, np.ndarray, np.ndarray, np.ndarray]:
    """Features of both samples stacked (generated first), labels and Monte Carlo weights."""
    check_compatible(generated, truth)
    gen, tru = _features(generated, "generated"), _features(truth, "truth")
    for name, sample in (("generated", generated), ("truth", truth)):
        if not sample.weights.sum() > 0:
            raise LhcgenError(f"the {name} sample's event weights sum to "
                              f"{sample.weights.sum():.4g}; need a positive total")
    stacked = ClassifierFeatures(np.concatenate([gen.values, tru.values]), gen.names,
                                 np.concatenate([gen.defined, tru.defined]))
    labels = np.concatenate([np.zeros(len(generated), np.int64), np.ones(len(truth), np.int64)])
    weights = np.concatenate([generated.weights, truth.weights])
    return stacked, labels, weights, np.r_[np.arange(len(generated)), np.arange(len(truth))]


def _observables(truth: EventSample) -> list[Observable]:
    names = truth.attrs.get("object_names")
    return zjets_observables(tuple(names)) if names else zjets_observables()


def _reweighted_histograms(truth_test: EventSample, gen_test: EventSample,
                           weights: np.ndarray, plot_dir: Path | None) -> dict[str, dict]:
    """Per observable: chi^2/ndf of raw and reweighted generated vs truth-test, and a plot."""
    out = {}
    for observable in _observables(truth_test):
        samples = {}
        for key, sample, w in (("truth-test", truth_test, np.ones(len(truth_test))),
                               ("generated", gen_test, np.ones(len(gen_test))),
                               ("generated reweighted", gen_test, weights)):
            values, defined = observable.compute(sample)
            samples[key] = (np.asarray(values, np.float64), sample.weights[defined] * w[defined])
        entry = {"label": observable.label, "chi2_ndf_raw": None, "chi2_ndf_reweighted": None,
                 "ndf": None, "plot": None, "note": None}
        out[observable.name] = entry
        few = [k for k, (v, _) in samples.items() if len(v) < MIN_HISTOGRAM_EVENTS]
        if few:
            entry["note"] = f"fewer than {MIN_HISTOGRAM_EVENTS} events in {', '.join(few)}"
            continue
        try:
            edges = binning(*samples["truth-test"], n_bins=N_BINS, discrete=observable.discrete,
                            periodic=observable.periodic)
            hists = {k: histogram(v, w, edges) for k, (v, w) in samples.items()}
            raw, ndf = chi2_ndf(*hists["generated"], *hists["truth-test"])
            reweighted, _ = chi2_ndf(*hists["generated reweighted"], *hists["truth-test"])
            curves = {k: normalised(*h, edges) for k, h in hists.items()}
        except LhcgenError as exc:
            entry["note"] = str(exc)
            continue
        entry.update(chi2_ndf_raw=raw, chi2_ndf_reweighted=reweighted, ndf=ndf)
        if plot_dir is not None:
            file_name = "reweighted_" + re.sub(r"[^A-Za-z0-9_.-]", "_", observable.name) + ".png"
            title = rf"$\chi^2$/ndf: generated {raw:.2f}, reweighted {reweighted:.2f}"
            three_panel(edges, curves, observable.label, plot_dir / file_name, title=title)
            entry["plot"] = f"plots/{file_name}"
    return out


def classifier_test(generated: EventSample, truth: EventSample,
                    settings: ClassifierSettings | None = None,
                    out_dir: str | os.PathLike | None = None, progress: bool = False) -> dict:
    """Train the truth-vs-generated classifier and evaluate it on held-out events.

    Parameters
    ----------
    generated : N_gen generated events (label 0), Monte Carlo weights honoured.
    truth : N_truth truth events (label 1), of the same schema and process.
    settings : network, training, splits, clip, recalibration and seed (default: the
        reference :class:`ClassifierSettings`).
    out_dir : if given, PNGs are written (atomically) to ``out_dir/plots/``:
        ``classifier_weights_linear.png``, ``classifier_weights_log.png``,
        ``classifier_calibration.png`` and ``reweighted_<observable>.png``; the returned dict
        names them relative to ``out_dir``. metrics.json and the HTML page are the caller's.
    progress : show a progress bar over the training epochs.

    Returns
    -------
    JSON-safe dict (NaN as None) with keys ``settings``, ``features``, ``samples`` (events
    per split and class), ``training`` (epochs, losses, time), ``auc`` {value, error},
    ``accuracy``, ``calibration`` {before, after, recalibration}, ``weights`` {clip record,
    effective sample size, mean, quantiles}, ``weight_histograms`` {generated, truth} x
    {linear, log}, ``extreme_events``, ``reweighted_histograms`` per observable and ``plots``.
    Everything is computed on the test split: AUC and calibration on both classes, weights,
    ESS and extreme events on the generated test events (``index`` = row in ``generated``),
    and the reweighted histograms compare truth-test with the generated test events, raw and
    weighted by (Monte Carlo weight) x w, with chi^2/ndf of each against truth-test.

    Raises
    ------
    LhcgenError for samples of different schema or process, too small to split, or with
    NaN/inf inputs (one line each).
    """
    settings = ClassifierSettings() if settings is None else settings
    features, labels, mc_weights, rows = _design(generated, truth)
    train, val, test = three_way_split(labels, settings)
    start = time.perf_counter()
    inputs = network_inputs(features)
    trained = fit_classifier(inputs, labels, mc_weights, train, val, settings, progress)
    seconds = time.perf_counter() - start

    raw = trained.raw_logits(inputs[test])
    calibrated = apply_platt(raw, trained.platt)
    y, w_mc = labels[test], mc_weights[test]
    auc, auc_error = roc_auc_with_error(y, raw, w_mc, settings.n_bootstrap, settings.seed)
    d_raw, d = expit(raw), expit(calibrated)
    weights, clip_record = likelihood_ratio_weights(d, settings.weight_clip)

    is_gen = y == 0
    gen_rows, truth_rows = rows[test][is_gen], rows[test][~is_gen]
    gen_test, truth_test = generated.subset(gen_rows), truth.subset(truth_rows)
    gen_weights = weights[is_gen]
    reweighted = gen_test.weights * gen_weights
    applied = bool(trained.platt is not None and trained.platt["apply"])
    gen_clip = likelihood_ratio_weights(d[is_gen], settings.weight_clip)[1]
    linear_max = linear_max_for(weights, settings.weight_clip)
    histograms = {"generated": weight_histograms(gen_weights, gen_test.weights,
                                                 settings.weight_clip, linear_max=linear_max),
                  "truth": weight_histograms(weights[~is_gen], truth_test.weights,
                                             settings.weight_clip, linear_max=linear_max)}
    gen_features = features.subset(test[is_gen])

    plot_dir = None if out_dir is None else Path(out_dir) / "plots"
    plots = {}
    if plot_dir is not None:
        for axis in ("linear", "log"):
            name = f"classifier_weights_{axis}.png"
            weight_histogram_plot({k: h[axis] for k, h in histograms.items()}, plot_dir / name,
                                  log_axis=axis == "log", clip=settings.weight_clip)
            plots[f"weights_{axis}"] = f"plots/{name}"
    calibration = {"before": calibration_curve(y, d_raw, w_mc, CALIBRATION_BINS),
                   "after": calibration_curve(y, d, w_mc, CALIBRATION_BINS),
                   "recalibration": {"method": "platt", "policy": settings.recalibration,
                                     "applied": applied, **(trained.platt or {})}}
    if plot_dir is not None:
        curves = {"raw": calibration["before"]}
        if applied:
            curves["recalibrated"] = calibration["after"]
        calibration_plot(curves, plot_dir / "classifier_calibration.png")
        plots["calibration"] = "plots/classifier_calibration.png"

    result = {
        "settings": asdict(settings),
        "features": list(features.names),
        "samples": {"generated": _split_counts(labels == 0, train, val, test),
                    "truth": _split_counts(labels == 1, train, val, test),
                    "sum_weights_generated": float(generated.weights.sum()),
                    "sum_weights_truth": float(truth.weights.sum())},
        "training": {"epochs": len(trained.history), "best_epoch": trained.best_epoch,
                     "best_val_loss": trained.history[trained.best_epoch - 1]["val_loss"],
                     "seconds": seconds, "history": trained.history},
        "auc": {"value": auc, "error": auc_error, "n_bootstrap": settings.n_bootstrap},
        "accuracy": {"value": accuracy(y, d, w_mc), "balanced": True},
        "calibration": calibration,
        "weights": {**gen_clip, "clip_all_test_events": clip_record,
                    "effective_sample_size": effective_sample_size(reweighted),
                    "effective_sample_size_unweighted": effective_sample_size(gen_test.weights),
                    "n_events": len(gen_test),
                    "mean": float(np.sum(reweighted) / np.sum(gen_test.weights)),
                    "quantiles": dict(zip(("q01", "q16", "q50", "q84", "q99"),
                                          np.quantile(gen_weights, [0.01, 0.16, 0.5, 0.84,
                                                                    0.99]).tolist(),
                                          strict=True))},
        "weight_histograms": histograms,
        "extreme_events": extreme_weight_events(
            gen_features.values, features.names, gen_features.defined, gen_weights,
            k=settings.n_extreme, index=gen_rows),
        "reweighted_histograms": _reweighted_histograms(truth_test, gen_test, gen_weights,
                                                        plot_dir),
        "plots": plots,
    }
    return json_safe(result)


def _split_counts(cls: np.ndarray, train: np.ndarray, val: np.ndarray,
                  test: np.ndarray) -> dict[str, int]:
    return {"train": int(cls[train].sum()), "val": int(cls[val].sum()),
            "test": int(cls[test].sum())}


def generated_event_weights(generated: EventSample, truth: EventSample,
                            settings: ClassifierSettings | None = None,
                            progress: bool = False) -> tuple[np.ndarray, dict]:
    """Cross-fitted classifier weights w = D / (1 - D) for every generated event.

    Uses ``settings.folds``-fold cross-fitting (:func:`cross_fitted_logits`): each event's
    weight comes from a classifier that was not trained on it. Weights are clipped to
    [1 / weight_clip, weight_clip] and not renormalised (their mean is recorded).

    Parameters
    ----------
    generated : N_gen events; truth : truth events of the same schema and process.
    settings : as for :func:`classifier_test`.
    progress : a progress bar over each fold's training epochs.

    Returns
    -------
    weights : (N_gen,) float64, in the generated sample's event order.
    info : JSON-safe dict with the clip record, effective sample size, mean weight (with the
        Monte Carlo weights), ``folds`` (per-fold training facts) and ``settings``.
    """
    settings = ClassifierSettings() if settings is None else settings
    features, labels, mc_weights, _ = _design(generated, truth)
    logits, folds = cross_fitted_logits(network_inputs(features), labels, mc_weights, settings,
                                        progress=progress)
    weights, record = likelihood_ratio_weights(expit(logits[labels == 0]), settings.weight_clip)
    reweighted = generated.weights * weights
    info = {**record, "method": f"{settings.folds}-fold cross-fitting",
            "effective_sample_size": effective_sample_size(reweighted),
            "mean": float(reweighted.sum() / generated.weights.sum()),
            "folds": folds, "settings": asdict(settings)}
    return weights, json_safe(info)
