"""HTML and terminal views of a classifier-test result (:func:`classifier_test`'s dict).

:func:`render_classifier_section` gives the HTML fragment that both ``lhcgen classify``'s
page (:func:`render_classifier_html`) and ``lhcgen evaluate --classifier``'s report embed:
AUC with its bootstrap error, accuracy, calibration before and after recalibration, the
weights (clip record, effective sample size, histograms on linear and log axes), the
reweighted three-panel histograms raw vs reweighted, and the extreme-weight events.
:func:`format_classifier_summary` is the same in a few lines of plain text.
"""

from __future__ import annotations

import base64
import html
import json
import os
from pathlib import Path

import numpy as np

from lhcgen.evaluate.report import CSS, SORT_JS, _fmt, _table

EXTREME_COLUMNS = ("n_jets", "m_mumu", "pt_z", "pt_mu1", "pt_mu2", "pt_j1", "eta_j1", "pt_j2",
                   "delta_r_j1j2")
"""Observables shown first in the extreme-event tables (the rest follow, when present)."""


def auc_pull(metrics: dict) -> float | None:
    """(AUC - 0.5) / bootstrap error: how many errors the AUC sits above chance."""
    auc = metrics["auc"]
    if auc["value"] is None or not auc["error"]:
        return None
    return (auc["value"] - 0.5) / auc["error"]


def _figure(out_dir: Path, path: str | None, caption: str) -> str:
    if not path or not (out_dir / path).is_file():
        return ""
    encoded = base64.b64encode((out_dir / path).read_bytes()).decode("ascii")
    return (f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{encoded}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def _summary_rows(metrics: dict) -> list[list[str]]:
    auc, weights = metrics["auc"], metrics["weights"]
    recal = metrics["calibration"]["recalibration"]
    samples, training = metrics["samples"], metrics["training"]
    pull = auc_pull(metrics)
    recal_text = (f"Platt scaling a = {_fmt(recal.get('a'))}, b = {_fmt(recal.get('b'))}: "
                  f"{'applied' if recal['applied'] else 'not applied'} (policy "
                  f"{recal['policy']}; deviance {_fmt(recal.get('deviance'))} vs threshold "
                  f"{_fmt(recal.get('threshold'))})" if "a" in recal
                  else f"none (policy {recal['policy']})")
    q = weights["quantiles"]
    return [
        ["AUC ± bootstrap error", f"{_fmt(auc['value'], 4)} ± {_fmt(auc['error'], 2)} "
         f"({auc['n_bootstrap']} replicas; {_fmt(pull, 2)} errors from 0.5)"],
        ["accuracy (class-balanced)", _fmt(metrics["accuracy"]["value"], 4)],
        ["recalibration", recal_text],
        ["effective sample size", f"{_fmt(weights['effective_sample_size'], 6)} of "
         f"{weights['n_events']} generated test events (without classifier weights "
         f"{_fmt(weights['effective_sample_size_unweighted'], 6)})"],
        ["mean weight", _fmt(weights["mean"], 4)],
        ["weight quantiles 1/16/50/84/99 %", " / ".join(_fmt(q[k]) for k in q)],
        ["weight clip", f"[{_fmt(weights['clip_min'])}, {_fmt(weights['clip_max'])}]: "
         f"{weights['n_clipped_low']} low, {weights['n_clipped_high']} high of the generated "
         f"test events ({_fmt(100 * weights['fraction_clipped'], 2)} %); all test events: "
         f"{weights['clip_all_test_events']['n_clipped_low']} low, "
         f"{weights['clip_all_test_events']['n_clipped_high']} high"],
        ["training", f"{training['epochs']} epochs, best {training['best_epoch']} (validation "
         f"loss {_fmt(training['best_val_loss'], 5)}), {_fmt(training['seconds'], 3)} s"],
        ["events train/val/test", f"generated {_split(samples['generated'])}, truth "
         f"{_split(samples['truth'])}"],
        ["sum of event weights", f"generated {_fmt(samples['sum_weights_generated'], 6)}, "
         f"truth {_fmt(samples['sum_weights_truth'], 6)}"],
        ["inputs", f"{len(metrics['features'])} features: {', '.join(metrics['features'])}"],
    ]


def _split(counts: dict) -> str:
    return f"{counts['train']}/{counts['val']}/{counts['test']}"


def _calibration_rows(calibration: dict) -> list[list[str]]:
    before, after = calibration["before"], calibration["after"]
    edges = before["edges"]
    rows = []
    for i in range(len(edges) - 1):
        rows.append([f"{edges[i]:.1f}-{edges[i + 1]:.1f}", str(before["n_events"][i]),
                     _fmt(before["mean_prediction"][i]), _fmt(before["observed_fraction"][i]),
                     str(after["n_events"][i]), _fmt(after["mean_prediction"][i]),
                     _fmt(after["observed_fraction"][i])])
    return rows


def _region_rows(shifts: list[dict]) -> list[list[str]]:
    return [[s["observable"], _fmt(s["median_tail"], 4), _fmt(s["median_all"], 4),
             f"{s['shift_in_std']:+.2f}", _fmt(s["fraction_defined_tail"], 3),
             _fmt(s["fraction_defined_all"], 3)] for s in shifts]


def _event_table(events: list[dict]) -> str:
    if not events:
        return "<p>(none)</p>"
    names = list(events[0]["observables"])
    columns = [c for c in EXTREME_COLUMNS if c in names] + [
        c for c in names if c not in EXTREME_COLUMNS]
    rows = [[str(e["index"]), _fmt(e["weight"], 4)]
            + [_fmt(e["observables"][c], 4) for c in columns] for e in events]
    return ("<div style='overflow-x:auto'>"
            + _table(rows, ["event (row)", "weight", *columns], sortable=True) + "</div>")


def render_classifier_section(metrics: dict, out_dir: str | os.PathLike,
                              heading: str = "h2") -> str:
    """HTML fragment of one classifier-test result; PNGs inlined from ``out_dir``."""
    out_dir = Path(out_dir)
    sub = "h3" if heading == "h2" else "h4"
    plots = metrics.get("plots", {})
    rew_rows, rew_figures = [], []
    for name, r in metrics["reweighted_histograms"].items():
        rew_rows.append([name, _fmt(r["chi2_ndf_raw"]), _fmt(r["chi2_ndf_reweighted"]),
                         _fmt(r["ndf"]), r["note"] or ""])
        rew_figures.append(_figure(out_dir, r["plot"], name))
    extreme = metrics["extreme_events"]
    region_header = ["observable", "median in tail", "median of all", "shift (std)",
                     "defined in tail", "defined in all"]
    settings = metrics["settings"]
    parts = [
        f"<{heading}>Classifier test</{heading}>",
        "<p>A classifier D(x) (MLP "
        f"{settings['layers']}×{settings['hidden']}, dropout {settings['dropout']}) learns to "
        "tell truth (1) from generated (0) events; every figure below comes from test events "
        "it never saw. AUC 0.5: indistinguishable. Weights w = D/(1 − D) = p<sub>truth</sub>/"
        "p<sub>gen</sub> reweight the generated events to truth; w ≫ 1 marks regions the "
        "generator under-populates, w ≪ 1 regions it over-populates.</p>",
        _table(_summary_rows(metrics), ["quantity", "value"]),
        f"<{sub}>Calibration and weights</{sub}><div class='grid'>",
        _figure(out_dir, plots.get("calibration"), "calibration (reliability) curve"),
        _figure(out_dir, plots.get("weights_linear"), "weights, linear axes"),
        _figure(out_dir, plots.get("weights_log"), "weights, log axes"),
        "</div>",
        "<p>Calibration per bin of D, before and after recalibration (class-balanced truth "
        "fraction; calibrated when it equals the mean prediction):</p>",
        _table(_calibration_rows(metrics["calibration"]),
               ["D bin", "N before", "mean D before", "truth fraction before", "N after",
                "mean D after", "truth fraction after"]),
        f"<{sub}>Reweighted histograms</{sub}><p>χ²/ndf of the generated test events "
        "against truth-test, raw and weighted by w (Monte Carlo weights included); click a "
        "header to sort.</p>",
        _table(rew_rows, ["observable", "χ²/ndf raw", "χ²/ndf reweighted", "ndf", "note"],
               sortable=True),
        "<div class='grid'>", "".join(rew_figures), "</div>",
        f"<{sub}>Extreme-weight events</{sub}>",
        f"<p>Under-populated by the generator: observables whose median moves most in the "
        f"{extreme['tail_events']} highest-weight events.</p>",
        _table(_region_rows(extreme["under_populated"]), region_header),
        f"<p>Over-populated by the generator: the same for the {extreme['tail_events']} "
        "lowest-weight events.</p>",
        _table(_region_rows(extreme["over_populated"]), region_header),
        "<p>Highest weights (row = event number in the generated file):</p>",
        _event_table(extreme["highest"]),
        "<p>Lowest weights:</p>", _event_table(extreme["lowest"]),
        "<p>Settings: <code>" + html.escape(json.dumps(settings)) + "</code></p>",
    ]
    return "\n".join(parts)


def render_classifier_html(metrics: dict, out_dir: str | os.PathLike) -> str:
    """Self-contained page of ``lhcgen classify``: files, then the classifier section."""
    files = metrics.get("files", {})
    file_rows = [[key, str(value)] for key, value in files.items()]
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>lhcgen classifier test"
        f"</title><style>{CSS}</style></head><body>",
        "<h1>lhcgen classifier test</h1>"
        f"<p>lhcgen {html.escape(str(metrics.get('lhcgen_version')))}</p>",
        _table(file_rows, ["", "file"]) if file_rows else "",
        render_classifier_section(metrics, out_dir),
        f"<script>{SORT_JS}</script></body></html>",
    ]
    return "\n".join(parts)


def _regions(shifts: list[dict], n: int) -> str:
    return "; ".join(f"{s['observable']} median {_fmt(s['median_tail'], 4)} vs "
                     f"{_fmt(s['median_all'], 4)} ({s['shift_in_std']:+.1f} std)"
                     for s in shifts[:n]) or "-"


def format_classifier_summary(metrics: dict, n_regions: int = 3) -> str:
    """A few lines for the terminal: AUC ± error, accuracy, ESS, clip, top regions, chi^2."""
    auc, weights = metrics["auc"], metrics["weights"]
    recal = metrics["calibration"]["recalibration"]
    pull = auc_pull(metrics)
    lines = [f"classifier AUC {_fmt(auc['value'], 4)} ± {_fmt(auc['error'], 2)} "
             f"({_fmt(pull, 2)} errors from 0.5; 0.5 = indistinguishable), accuracy "
             f"{_fmt(metrics['accuracy']['value'], 4)}, Platt recalibration "
             f"{'applied' if recal['applied'] else 'not applied'}",
             f"weights: effective sample size {_fmt(weights['effective_sample_size'], 6)} of "
             f"{weights['n_events']} generated test events, mean {_fmt(weights['mean'], 4)}, "
             f"{weights['n_clipped_low'] + weights['n_clipped_high']} clipped to "
             f"[{_fmt(weights['clip_min'])}, {_fmt(weights['clip_max'])}]"]
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
