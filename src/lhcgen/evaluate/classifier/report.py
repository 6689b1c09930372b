"""HTML and terminal views of a classifier-test result (:func:`run_classifier_test`'s dict).

:func:`render_classifier_section` gives the HTML fragment that both ``lhcgen classify``'s
page (:func:`render_classifier_html`) and ``lhcgen evaluate --classifier``'s report embed:
each judge's AUC over all events and per jet multiplicity beside its floor, the judges'
score distributions, the calibration and the weights of the weights judge (overall and per
multiplicity, with histograms on linear and log axes), the reweighted three-panel
histograms and the extreme-weight events. :func:`format_classifier_summary` is the same in a
few lines of plain text.
"""

from __future__ import annotations

import html
import os
from pathlib import Path

import numpy as np

from lhcgen.evaluate.html import (
    anchor,
    figure,
    fmt,
    link,
    page,
    relative_path,
    sigma,
    table,
    with_error,
)
from lhcgen.evaluate.verdict import (
    multiplicity_label,
    verdict_html,
    verdict_text,
    worst_reweighted,
)

EXTREME_COLUMNS = ("n_jets", "m_mumu", "pt_z", "pt_mu1", "pt_mu2", "pt_j1", "eta_j1", "pt_j2",
                   "delta_r_j1j2")
"""Observables shown first in the extreme-event tables (the rest follow, when present)."""


def _auc_detail_rows(judge: dict) -> list[list[str]]:
    floor = judge.get("floor") or {}
    rows = []
    for key, auc in judge["auc"].items():
        f = floor.get(key)
        rows.append([multiplicity_label(key), f"{auc['n_generated']} / {auc['n_truth']}",
                     with_error(auc["value"], auc["error"]), fmt(auc["error_events"], 2),
                     fmt(auc["error_training"], 2), fmt(auc["null_error"], 2),
                     with_error(f["value"], f["error"]) if f else "0.5 (no truth-2)",
                     sigma(judge["distance"].get(key)),
                     " / ".join(f"{a:.4f}" for a in auc["per_fold"][0])])
    return rows


def _training_text(judge: dict) -> str:
    t = judge["training"]
    unit = "best epochs" if judge["title"].startswith("MLP") else "trees kept"
    text = (f"{t['trainings']} trainings in {t['seconds']:.0f} s; {unit} "
            f"{', '.join(str(s) for s in t['stopped_at'])}; Platt recalibration applied in "
            f"{t['platt_applied']} of {t['trainings']}")
    if judge.get("floor_training"):
        text += f"; floor: {judge['floor_training']['trainings']} more trainings in " \
                f"{judge['floor_training']['seconds']:.0f} s"
    return text


def _weights_rows(weights: dict) -> list[list[str]]:
    rows = []
    for key, w in [("all", weights), *weights["by_multiplicity"].items()]:
        q = w["quantiles"]
        rows.append([multiplicity_label(key), str(w["n_events"]),
                     f"{w['effective_sample_size']:.0f}", fmt(w["mean"], 4),
                     " / ".join(fmt(q[k], 3) for k in q),
                     f"{w['n_clipped_low']} / {w['n_clipped_high']}"])
    return rows


def _calibration_rows(calibration: dict) -> list[list[str]]:
    before, after = calibration["before"], calibration["after"]
    edges = before["edges"]
    return [[f"{edges[i]:.1f}-{edges[i + 1]:.1f}", str(before["n_events"][i]),
             fmt(before["mean_prediction"][i]), fmt(before["observed_fraction"][i]),
             str(after["n_events"][i]), fmt(after["mean_prediction"][i]),
             fmt(after["observed_fraction"][i])] for i in range(len(edges) - 1)]


def _region_rows(shifts: list[dict]) -> list[list[str]]:
    return [[s["observable"], fmt(s["median_tail"], 4), fmt(s["median_all"], 4),
             f"{s['shift_in_std']:+.2f}", fmt(s["fraction_defined_tail"], 3),
             fmt(s["fraction_defined_all"], 3)] for s in shifts]


def _event_table(events: list[dict]) -> str:
    if not events:
        return "<p>(none)</p>"
    names = list(events[0]["observables"])
    columns = [c for c in EXTREME_COLUMNS if c in names] + [
        c for c in names if c not in EXTREME_COLUMNS]
    rows = [[str(e["index"]), fmt(e["weight"], 4)]
            + [fmt(e["observables"][c], 4) for c in columns] for e in events]
    return ("<div style='overflow-x:auto'>"
            + table(rows, ["event (row)", "weight", *columns], sortable=True) + "</div>")


def _flatten(settings: dict, prefix: str = "") -> list[list[str]]:
    rows = []
    for key, value in settings.items():
        if isinstance(value, dict):
            rows += _flatten(value, f"{prefix}{key}.")
        elif isinstance(value, (list, tuple)):
            rows.append([prefix + key, ", ".join(str(v) for v in value)])
        else:
            rows.append([prefix + key, fmt(value, 4)])
    return rows


def render_classifier_section(metrics: dict, out_dir: str | os.PathLike,
                              heading: str = "h2") -> str:
    """HTML fragment of one classifier-test result; PNGs inlined from ``out_dir``."""
    out_dir = Path(out_dir)
    sub = "h3" if heading == "h2" else "h4"
    plots = metrics.get("plots", {})
    settings = metrics["settings"]
    weights_judge = metrics["judges"][metrics["weights_judge"]]["title"]
    parts = [
        f"<{heading} id='{anchor('classifier', 'section')}'>Classifier test</{heading}>",
        "<p>Each judge learns to tell truth (1) from generated (0) events on the same "
        f"{len(metrics['features'])} features. It is cross-fitted: the events are dealt into "
        f"{settings['folds']} folds per class and jet multiplicity, each fold is scored by a "
        "judge trained on the others, so every event of both samples gets a score from a "
        "judge that never saw it"
        + (f", and this is repeated {settings['repeats']} times with new folds and seeds"
           if settings["repeats"] > 1 else "")
        + ". The AUC (0.5: indistinguishable) is that of all out-of-fold scores; its error "
        "adds in quadrature the bootstrap error of the events (scores fixed) and the spread "
        "over retrainings ("
        + ("the standard deviation of the repetitions' AUCs over √repeats" if
           settings["repeats"] > 1 else
           "the per-fold AUCs' spread beyond what the events explain")
        + "). The floor is the same judge on a second truth sample against the truth; the "
        "last column is (AUC − floor) / combined error. For unit weights, two samples of one "
        "distribution give an AUC error of √((n₀ + n₁ + 1)/(12 n₀ n₁)) ('null error').</p>",
    ]
    for judge in metrics["judges"].values():
        parts += [f"<{sub}>{html.escape(judge['title'])}</{sub}>",
                  table(_auc_detail_rows(judge),
                        ["events", "N gen / truth", "AUC", "± events", "± training",
                         "null error", "floor", "AUC − floor", "AUC per fold (first run)"]),
                  f"<p>{html.escape(_training_text(judge))}.</p>"]
    parts += [
        "<div class='grid'>",
        figure(out_dir, plots.get("scores"), "out-of-fold scores of each judge",
               anchor("classifier", "scores")),
        figure(out_dir, plots.get("calibration"),
               f"calibration of the {weights_judge} (reliability curve)"),
        figure(out_dir, plots.get("weights_linear"), "weights, linear axes"),
        figure(out_dir, plots.get("weights_log"), "weights, log axes"),
        "</div>",
        f"<{sub}>Weights w = D/(1 − D) of the {html.escape(weights_judge)}</{sub}>",
        "<p>w = p<sub>truth</sub>/p<sub>gen</sub> reweights the generated events to truth; "
        "w ≫ 1 marks regions the generator under-populates, w ≪ 1 regions it "
        f"over-populates. Out of fold for every generated event, clipped to "
        f"[{fmt(metrics['weights']['clip_min'])}, {fmt(metrics['weights']['clip_max'])}]; "
        "the effective sample size includes the Monte Carlo weights. Class-balanced "
        f"accuracy {fmt(metrics['accuracy']['value'], 4)}.</p>",
        table(_weights_rows(metrics["weights"]),
              ["events", "N generated", "effective sample size", "mean weight",
               "weight quantiles 1/16/50/84/99 %", "clipped low / high"]),
        "<p>Calibration per bin of D, before and after the per-fold Platt recalibration "
        "(class-balanced truth fraction; calibrated when it equals the mean prediction):</p>",
        table(_calibration_rows(metrics["calibration"]),
              ["D bin", "N before", "mean D before", "truth fraction before", "N after",
               "mean D after", "truth fraction after"]),
    ]
    rew_rows, rew_figures = [], []
    for name, r in metrics["reweighted_histograms"].items():
        rew_rows.append([link("rew", name), fmt(r["chi2_ndf_raw"]),
                         fmt(r["chi2_ndf_reweighted"]), fmt(r.get("chi2_ndf_floor")),
                         fmt(r["ndf"]), html.escape(r["note"] or "")])
        rew_figures.append(figure(out_dir, r["plot"], name, anchor("rew", name)))
    extreme = metrics["extreme_events"]
    region_header = ["observable", "median in tail", "median of all", "shift (std)",
                     "defined in tail", "defined in all"]
    parts += [
        f"<{sub}>Generated vs truth, raw and reweighted</{sub}><p>χ²/ndf of all generated "
        "events against all truth events, raw and weighted by w (Monte Carlo weights "
        "included), and the floor (second truth sample against truth, when given); click a "
        "header to sort, a name to see its plot.</p>",
        table(rew_rows, ["observable", "χ²/ndf raw", "χ²/ndf reweighted", "χ²/ndf floor",
                         "ndf", "note"], sortable=True, raw_html=True),
        "<div class='grid'>", "".join(rew_figures), "</div>",
        f"<{sub}>Extreme-weight events</{sub}>",
        f"<p>Under-populated by the generator: observables whose median moves most in the "
        f"{extreme['tail_events']} highest-weight events.</p>",
        table(_region_rows(extreme["under_populated"]), region_header),
        f"<p>Over-populated by the generator: the same for the {extreme['tail_events']} "
        "lowest-weight events.</p>",
        table(_region_rows(extreme["over_populated"]), region_header),
        "<p>Highest weights (row = event number in the generated file):</p>",
        _event_table(extreme["highest"]),
        "<p>Lowest weights:</p>", _event_table(extreme["lowest"]),
        f"<{sub}>Settings</{sub}>", table(_flatten(settings), ["setting", "value"]),
    ]
    return "\n".join(parts)


def render_classifier_html(metrics: dict, out_dir: str | os.PathLike) -> str:
    """Self-contained page of ``lhcgen classify``: verdict, files, the classifier section."""
    files = metrics.get("files", {})
    file_rows = [[key, relative_path(value, out_dir)] for key, value in files.items()]
    samples = metrics["samples"]
    sample_rows = [[name.replace("_", "-"), str(s["n_events"]), fmt(s["sum_weights"], 6),
                    ", ".join(f"{multiplicity_label(k)}: {v}"
                              for k, v in s["by_multiplicity"].items())]
                   for name, s in samples.items() if s]
    body = [
        "<h1>lhcgen classifier test</h1>"
        f"<p>lhcgen {html.escape(str(metrics.get('lhcgen_version')))}</p>",
        verdict_html(worst_reweighted(metrics["reweighted_histograms"]), metrics,
                     metrics.get("speed", {}), plot_kind="rew"),
        "<h2>Files</h2>",
        table(file_rows, ["", "file (relative to this report)"]) if file_rows else "",
        table(sample_rows, ["sample", "events", "sum of weights", "per multiplicity"]),
        render_classifier_section(metrics, out_dir),
    ]
    return page("lhcgen classifier test", body)


def _regions(shifts: list[dict], n: int) -> str:
    return "; ".join(f"{s['observable']} median {fmt(s['median_tail'], 4)} vs "
                     f"{fmt(s['median_all'], 4)} ({s['shift_in_std']:+.1f} std)"
                     for s in shifts[:n]) or "-"


def format_classifier_summary(metrics: dict, n_regions: int = 3,
                              with_verdict: bool = True) -> str:
    """A few lines for the terminal: AUCs per judge and multiplicity with floors, the
    weights, the most displaced regions and the reweighted chi^2."""
    weights = metrics["weights"]
    lines = []
    if with_verdict:
        lines.append(verdict_text(worst_reweighted(metrics["reweighted_histograms"]),
                                  metrics, metrics.get("speed", {})))
    title = metrics["judges"][metrics["weights_judge"]]["title"]
    lines.append(f"weights of the {title}: effective sample size "
                 f"{weights['effective_sample_size']:.0f} of {weights['n_events']} generated "
                 f"events, mean {fmt(weights['mean'], 4)}, "
                 f"{weights['n_clipped_low'] + weights['n_clipped_high']} clipped to "
                 f"[{fmt(weights['clip_min'])}, {fmt(weights['clip_max'])}]")
    extreme = metrics["extreme_events"]
    lines.append("under-populated by the generator (highest weights): "
                 + _regions(extreme["under_populated"], n_regions))
    lines.append("over-populated by the generator (lowest weights): "
                 + _regions(extreme["over_populated"], n_regions))
    hists = metrics["reweighted_histograms"].values()
    raw = [h["chi2_ndf_raw"] for h in hists if h["chi2_ndf_raw"] is not None]
    rew = [h["chi2_ndf_reweighted"] for h in hists if h["chi2_ndf_reweighted"] is not None]
    if raw and rew:
        lines.append(f"median chi2/ndf over {len(raw)} observables: raw {np.median(raw):.3g}, "
                     f"reweighted {np.median(rew):.3g}")
    return "\n".join(lines)
