"""The classifier two-sample test and reweighting of a generated sample against truth.

Judges (:mod:`lhcgen.evaluate.classifier.judges`: the reference MLP and boosted trees) learn to tell
truth (label 1) from generated events (label 0) on the derived features of
:mod:`lhcgen.evaluate.classifier.features`. Each judge is cross-fitted over all events of
both samples (:mod:`lhcgen.evaluate.classifier.cross_fit`), so every event is scored by a classifier
that never saw it. Its AUC (0.5: indistinguishable) is reported over all events and per jet
multiplicity, with an error from the bootstrap and the spread over folds and retrainings
(:mod:`judge_auc`), and beside the floor: the same judge on two independent
truth samples, when a second one is given. By the likelihood-ratio trick w = D / (1 - D) =
p_truth / p_gen (arXiv:1506.02169; as a metric arXiv:2305.16774) the out-of-fold scores of
one judge (``settings.weights_judge``) reweight every generated event towards truth; weights
far from 1 mark the regions the generator over- or under-populates.

Monte Carlo event weights of either sample enter the training loss (times the class-balance
factor), the AUC, the calibration curves and every histogram.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.special import expit

from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.classifier.cross_fit import CrossFit, check_strata, cross_fit
from lhcgen.evaluate.classifier.features import (
    ClassifierFeatures,
    classifier_features,
    network_inputs,
)
from lhcgen.evaluate.classifier.judge_auc import cross_fitted_auc, distance_from_floor
from lhcgen.evaluate.classifier.judges import judge_title
from lhcgen.evaluate.classifier.plots import (
    calibration_plot,
    score_plot,
    weight_histogram_plot,
)
from lhcgen.evaluate.classifier.settings import ClassifierSettings
from lhcgen.evaluate.classifier.two_sample import (
    accuracy,
    calibration_curve,
    effective_sample_size,
    extreme_weight_events,
    likelihood_ratio_weights,
    linear_max_for,
    weight_histograms,
)
from lhcgen.evaluate.compatible import check_compatible
from lhcgen.evaluate.distances import chi2_ndf, histogram_floor
from lhcgen.evaluate.figures import three_panel
from lhcgen.evaluate.histograms import histogram, normalised, observable_edges
from lhcgen.io import json_safe
from lhcgen.physics.observables import Observable
from lhcgen.processes import get_process

N_BINS = 40
QUANTILES = (("q01", 0.01), ("q16", 0.16), ("q50", 0.5), ("q84", 0.84), ("q99", 0.99))
MIN_HISTOGRAM_EVENTS = 10
CALIBRATION_BINS = 10


@dataclass
class Design:
    """Both samples stacked (label-0 sample first): features, labels, weights, strata."""

    features: ClassifierFeatures
    inputs: np.ndarray
    labels: np.ndarray
    weights: np.ndarray
    multiplicity: np.ndarray


def design(sample_0: EventSample, sample_1: EventSample,
           names: tuple[str, str] = ("generated", "truth"),
           settings: ClassifierSettings | None = None) -> Design:
    """Check two samples and stack their judge inputs; label 0 for ``sample_0``.

    With ``settings`` the multiplicities are also checked against the folds (one line
    naming the multiplicity and the number of events needed).
    """
    check_compatible(sample_0, sample_1, names)
    process = get_process(sample_1.attrs.get("process"), where=f"{names[1]}: ")
    features = []
    for name, sample in zip(names, (sample_0, sample_1), strict=True):
        if not sample.weights.sum() > 0:
            raise LhcgenError(f"the {name} sample's event weights sum to "
                              f"{sample.weights.sum():.4g}; need a positive total")
        try:
            features.append(classifier_features(sample, process))
        except LhcgenError as exc:
            raise LhcgenError(f"{name} sample: {exc}") from None
    stacked = ClassifierFeatures(np.concatenate([f.values for f in features]),
                                 features[0].names,
                                 np.concatenate([f.defined for f in features]))
    labels = np.r_[np.zeros(len(sample_0), np.int64), np.ones(len(sample_1), np.int64)]
    multiplicity = np.r_[sample_0.multiplicity, sample_1.multiplicity]
    if settings is not None:
        check_strata(labels, multiplicity, settings, names)
    return Design(stacked, network_inputs(stacked), labels,
                  np.r_[sample_0.weights, sample_1.weights], multiplicity)


def judge_aucs(fit: CrossFit, d: Design, settings: ClassifierSettings) -> dict:
    """AUC ± error over all events and per multiplicity ("all", "1", "2", ...)."""
    out = {"all": cross_fitted_auc(fit, d.labels, d.weights, None, settings.n_bootstrap,
                                   settings.seed)}
    for value in np.unique(d.multiplicity):
        out[str(int(value))] = cross_fitted_auc(fit, d.labels, d.weights,
                                                d.multiplicity == value, settings.n_bootstrap,
                                                settings.seed)
    return out


def run_judges(d: Design, settings: ClassifierSettings, progress: bool = False,
               desc: str = "") -> dict[str, tuple[CrossFit, dict, float]]:
    """Cross-fit every judge of ``settings``: judge -> (fit, AUCs, seconds)."""
    out = {}
    for judge in settings.judges:
        start = time.perf_counter()
        fit = cross_fit(d.inputs, d.labels, d.weights, d.multiplicity, judge, settings,
                        progress, desc)
        out[judge] = (fit, judge_aucs(fit, d, settings), time.perf_counter() - start)
    return out


def _training_summary(fit: CrossFit, seconds: float) -> dict:
    stops = [f["stopped_at"] for f in fit.folds]
    applied = sum(bool(f["platt"] and f["platt"]["apply"]) for f in fit.folds)
    return {"trainings": len(fit.folds), "seconds": seconds, "stopped_at": stops,
            "platt_applied": applied, "folds": fit.folds}


def _weight_summary(weights: np.ndarray, mc: np.ndarray, clip: dict) -> dict:
    reweighted = mc * weights
    return {**clip, "n_events": len(weights),
            "effective_sample_size": effective_sample_size(reweighted),
            "effective_sample_size_unweighted": effective_sample_size(mc),
            "mean": float(reweighted.sum() / mc.sum()),
            "quantiles": {k: float(v) for (k, _), v in
                          zip(QUANTILES, np.quantile(weights, [q for _, q in QUANTILES]),
                              strict=True)}}


def _observables(truth: EventSample) -> list[Observable]:
    process = get_process(truth.attrs.get("process"), where="truth: ")
    return process.observables(tuple(truth.object_names))


def _reweighted_histograms(truth: EventSample, generated: EventSample, weights: np.ndarray,
                           truth_2: EventSample | None, plot_dir: Path | None) -> dict:
    """Per observable: chi^2/ndf of all generated events, raw and reweighted by the
    out-of-fold weights, against all truth events; the floor truth-2 vs truth if given."""
    out = {}
    for observable in _observables(truth):
        samples = {}
        rows = [("truth", truth, None), ("generated", generated, None),
                ("generated reweighted", generated, weights)]
        if truth_2 is not None:
            rows.append(("truth-2", truth_2, None))
        for key, sample, w in rows:
            values, defined = observable.compute(sample)
            event_weights = sample.weights[defined] * (1.0 if w is None else w[defined])
            samples[key] = (np.asarray(values, np.float64), event_weights)
        entry = {"label": observable.label, "chi2_ndf_raw": None, "chi2_ndf_reweighted": None,
                 "chi2_ndf_floor": None, "ndf": None, "plot": None, "note": None}
        out[observable.name] = entry
        few = [k for k, (v, _) in samples.items() if len(v) < MIN_HISTOGRAM_EVENTS]
        if few:
            entry["note"] = f"fewer than {MIN_HISTOGRAM_EVENTS} events in {', '.join(few)}"
            continue
        try:
            edges = observable_edges(observable, *samples["truth"], n_bins=N_BINS)
            hists = {k: histogram(v, w, edges) for k, (v, w) in samples.items()}
            raw, ndf = chi2_ndf(*hists["generated"], *hists["truth"])
            reweighted, _ = chi2_ndf(*hists["generated reweighted"], *hists["truth"])
            # truth-2 is already cut to the generated size, per event (floor_sample)
            floor = (histogram_floor(samples["truth-2"], samples["truth"], edges,
                                     w1=False).chi2_ndf if truth_2 is not None else None)
            curves = {("truth-test" if k == "truth" else k): normalised(*h, edges)
                      for k, h in hists.items()}
        except LhcgenError as exc:
            entry["note"] = str(exc)
            continue
        entry.update(chi2_ndf_raw=raw, chi2_ndf_reweighted=reweighted, chi2_ndf_floor=floor,
                     ndf=ndf)
        if plot_dir is not None:
            file_name = "reweighted_" + re.sub(r"[^A-Za-z0-9_.-]", "_", observable.name) + ".png"
            title = rf"$\chi^2$/ndf: generated {raw:.2f}, reweighted {reweighted:.2f}"
            if floor is not None:
                title += f", floor {floor:.2f}"
            three_panel(edges, curves, observable.label, plot_dir / file_name, title=title)
            entry["plot"] = f"plots/{file_name}"
    return out


def floor_sample(truth_2: EventSample, n_generated: int) -> EventSample:
    """The events of the second truth sample that the floor uses: at most as many as the
    generated sample has (its first ``n_generated``), so the floor is measured at the
    compared sample's size or below."""
    return truth_2.subset(slice(0, n_generated)) if len(truth_2) > n_generated else truth_2


@dataclass
class ClassifierOutcome:
    """The result of :func:`run_classifier_test`: the report's dict and the weights."""

    metrics: dict
    generated_weights: np.ndarray
    weights_info: dict


def run_classifier_test(generated: EventSample, truth: EventSample,
                        settings: ClassifierSettings | None = None,
                        out_dir: str | os.PathLike | None = None, progress: bool = False,
                        truth_2: EventSample | None = None) -> ClassifierOutcome:
    """Cross-fit the judges on all events; AUCs with floors, weights, histograms, plots.

    Parameters
    ----------
    generated : N_gen generated events (label 0), Monte Carlo weights honoured.
    truth : N_truth truth events (label 1), of the same schema and process.
    settings : judges, folds, repeats, networks, clip, recalibration and seed (default: the
        reference :class:`ClassifierSettings`: MLP and trees, 3 folds).
    out_dir : if given, PNGs are written (atomically) to ``out_dir/plots/``:
        ``classifier_scores.png``, ``classifier_weights_linear.png``,
        ``classifier_weights_log.png``, ``classifier_calibration.png`` and
        ``reweighted_<observable>.png``; the returned dict names them relative to
        ``out_dir``. metrics.json and the HTML page are the caller's.
    progress : progress bars over the trainings.
    truth_2 : a second, independent truth sample: each judge is also cross-fitted on
        truth-2 (label 0) against truth, the floor of its AUC (overall and per
        multiplicity); at most N_gen of its events are used, so the floor is measured at the
        generated sample's size or below.

    Returns
    -------
    ClassifierOutcome: ``metrics`` (JSON-safe) with keys ``settings``, ``features``,
    ``samples``, ``judges`` (per judge: title, AUC per multiplicity, floor, distance from
    the floor in standard errors, training record), ``weights_judge``, ``accuracy``,
    ``calibration``, ``weights`` (overall and per multiplicity), ``weight_histograms``,
    ``extreme_events``, ``reweighted_histograms`` and ``plots``; ``generated_weights``
    (N_gen,) the clipped out-of-fold weights in the generated sample's order.

    Raises
    ------
    LhcgenError for samples of different schema or process, too few events per multiplicity
    for the folds, or NaN/inf inputs (one line each).
    """
    settings = ClassifierSettings() if settings is None else settings
    d = design(generated, truth, ("generated", "truth"), settings)
    floor_design = None
    if truth_2 is not None:
        truth_2 = floor_sample(truth_2, len(generated))
        floor_design = design(truth_2, truth, ("truth-2", "truth"), settings)
    judged = run_judges(d, settings, progress)
    floors = run_judges(floor_design, settings, progress, "floor ") if floor_design else {}

    judges = {}
    for judge, (fit, aucs, seconds) in judged.items():
        floor = floors[judge][1] if judge in floors else None
        judges[judge] = {
            "title": judge_title(judge, settings), "auc": aucs, "floor": floor,
            "distance": {key: distance_from_floor(auc, floor[key] if floor and key in floor
                                                  else None)
                         for key, auc in aucs.items()},
            "training": _training_summary(fit, seconds),
            "floor_training": (_training_summary(floors[judge][0], floors[judge][2])
                               if judge in floors else None)}

    weights_judge = settings.weights_judge
    fit = judged[weights_judge][0]
    logits = fit.mean_logits
    is_gen = d.labels == 0
    d_all = expit(logits)
    weights_all, clip_all = likelihood_ratio_weights(d_all, settings.weight_clip)
    gen_weights, gen_clip = likelihood_ratio_weights(d_all[is_gen], settings.weight_clip)
    by_multiplicity = {}
    for value in np.unique(generated.multiplicity):
        select = generated.multiplicity == value
        _, clip = likelihood_ratio_weights(d_all[is_gen][select], settings.weight_clip)
        by_multiplicity[str(int(value))] = _weight_summary(gen_weights[select],
                                                           generated.weights[select], clip)
    linear_max = linear_max_for(weights_all, settings.weight_clip)
    histograms = {"generated": weight_histograms(gen_weights, generated.weights,
                                                 settings.weight_clip, linear_max=linear_max),
                  "truth": weight_histograms(weights_all[~is_gen], truth.weights,
                                             settings.weight_clip, linear_max=linear_max)}
    y, w_mc = d.labels, d.weights
    calibration = {"before": calibration_curve(y, expit(fit.raw_logits.mean(axis=0)), w_mc,
                                               CALIBRATION_BINS),
                   "after": calibration_curve(y, d_all, w_mc, CALIBRATION_BINS),
                   "recalibration": {"method": "platt", "policy": settings.recalibration,
                                     "applied_in_folds": sum(
                                         bool(f["platt"] and f["platt"]["apply"])
                                         for f in fit.folds),
                                     "trainings": len(fit.folds)}}

    plot_dir = None if out_dir is None else Path(out_dir) / "plots"
    plots = {}
    if plot_dir is not None:
        scores = {judges[j]["title"]: (f.mean_logits[~is_gen], f.mean_logits[is_gen],
                                       aucs["all"]["value"])
                  for j, (f, aucs, _) in judged.items()}
        score_plot(scores, plot_dir / "classifier_scores.png")
        plots["scores"] = "plots/classifier_scores.png"
        for axis in ("linear", "log"):
            name = f"classifier_weights_{axis}.png"
            weight_histogram_plot({k: h[axis] for k, h in histograms.items()}, plot_dir / name,
                                  log_axis=axis == "log", clip=settings.weight_clip)
            plots[f"weights_{axis}"] = f"plots/{name}"
        curves = {"raw": calibration["before"], "recalibrated": calibration["after"]}
        calibration_plot(curves, plot_dir / "classifier_calibration.png")
        plots["calibration"] = "plots/classifier_calibration.png"

    gen_features = d.features.subset(np.flatnonzero(is_gen))
    weights_info = {**gen_clip, "judge": weights_judge,
                    "method": f"{settings.folds}-fold cross-fitting"
                              + (f", mean logit of {settings.repeats} repetitions"
                                 if settings.repeats > 1 else ""),
                    "effective_sample_size": effective_sample_size(generated.weights
                                                                   * gen_weights),
                    "mean": float(np.sum(generated.weights * gen_weights)
                                  / generated.weights.sum())}
    metrics = {
        "settings": asdict(settings),
        "features": list(d.features.names),
        "samples": {"generated": _sample_counts(generated), "truth": _sample_counts(truth),
                    "truth_2": None if truth_2 is None else _sample_counts(truth_2)},
        "judges": judges,
        "weights_judge": weights_judge,
        "accuracy": {"value": accuracy(y, d_all, w_mc), "balanced": True,
                     "judge": weights_judge},
        "calibration": calibration,
        "weights": {**_weight_summary(gen_weights, generated.weights, gen_clip),
                    "judge": weights_judge, "clip_all_events": clip_all,
                    "by_multiplicity": by_multiplicity},
        "weight_histograms": histograms,
        "extreme_events": extreme_weight_events(
            gen_features.values, d.features.names, gen_features.defined, gen_weights,
            k=settings.n_extreme),
        "reweighted_histograms": _reweighted_histograms(truth, generated, gen_weights,
                                                        truth_2, plot_dir),
        "plots": plots,
    }
    return ClassifierOutcome(json_safe(metrics), gen_weights, json_safe(weights_info))


def _sample_counts(sample: EventSample) -> dict:
    values, counts = np.unique(sample.multiplicity, return_counts=True)
    return {"n_events": len(sample), "sum_weights": float(sample.weights.sum()),
            "by_multiplicity": {str(int(v)): int(c) for v, c in zip(values, counts,
                                                                    strict=True)}}


def classifier_test(generated: EventSample, truth: EventSample,
                    settings: ClassifierSettings | None = None,
                    out_dir: str | os.PathLike | None = None, progress: bool = False,
                    truth_2: EventSample | None = None) -> dict:
    """The metrics of :func:`run_classifier_test` (see there)."""
    return run_classifier_test(generated, truth, settings, out_dir, progress, truth_2).metrics


def generated_event_weights(generated: EventSample, truth: EventSample,
                            settings: ClassifierSettings | None = None,
                            progress: bool = False) -> tuple[np.ndarray, dict]:
    """Cross-fitted weights w = D / (1 - D) of every generated event, from the weights judge
    only (``settings.weights_judge``), without the rest of the test.

    Returns
    -------
    weights : (N_gen,) float64 clipped to [1 / weight_clip, weight_clip], not renormalised.
    info : JSON-safe dict: clip record, judge, method, effective sample size, mean weight
        (with the Monte Carlo weights), per-fold training facts and the settings.
    """
    settings = ClassifierSettings() if settings is None else settings
    d = design(generated, truth, ("generated", "truth"), settings)
    fit = cross_fit(d.inputs, d.labels, d.weights, d.multiplicity, settings.weights_judge,
                    settings, progress)
    weights, record = likelihood_ratio_weights(expit(fit.mean_logits[d.labels == 0]),
                                               settings.weight_clip)
    reweighted = generated.weights * weights
    info = {**record, "judge": settings.weights_judge,
            "method": f"{settings.folds}-fold cross-fitting",
            "effective_sample_size": effective_sample_size(reweighted),
            "mean": float(reweighted.sum() / generated.weights.sum()),
            "folds": fit.folds, "settings": asdict(settings)}
    return weights, json_safe(info)
