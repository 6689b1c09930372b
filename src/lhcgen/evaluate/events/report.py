"""The event-generation report: per-observable histograms, chi^2/ndf and W1 against the floor.

For every observable the generated sample is compared with a held-out truth sample
(truth-test), and the same numbers for truth vs truth give the statistical floor
(DESIGN.md, "Evaluation protocol"). A generator is as precise as the data allow where
ratio = chi2/ndf(generated) / chi2/ndf(floor) is close to 1.

Outputs in ``out_dir``: ``plots/<observable>.png``, ``metrics.json`` (no NaN: undefined
figures are null) and a self-contained ``index.html``.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from pathlib import Path

import numpy as np

from lhcgen import __version__
from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.evaluate.compatible import check_compatible
from lhcgen.evaluate.distances import chi2_ndf, histogram_floor, wasserstein_1d
from lhcgen.evaluate.events.bayesian_band import band_coverage, draw_band, summarise_coverage
from lhcgen.evaluate.figures import three_panel
from lhcgen.evaluate.histograms import histogram, normalised, observable_edges, outside_fraction
from lhcgen.evaluate.html import anchor, figure, fmt, link, page, relative_path, table
from lhcgen.evaluate.verdict import verdict_html, verdict_text, worst_observables
from lhcgen.io import json_safe, write_text_atomic
from lhcgen.physics.observables import Observable
from lhcgen.processes import get_process

MIN_EVENTS = 10
N_BINS = 40
RATIO_ALERT = 2.0
FLOOR_TRAIN = "truth-train vs truth-test"
FLOOR_HALVES = "truth-test split in halves"
RATE_KEY = "events_per_second"
"""Key of the sampling rate in the ``info`` dict, read by :func:`format_summary`."""
PLOT_NAMES = {"truth_train": "truth-train", "truth_test": "truth-test",
              "generated": "generated"}
BAND_NAME = "weight draws (mean ± std)"
"""Curve of a Bayesian generator's band (``lhcgen sample --weight-draws``)."""


def _finite_or_none(value: float) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _sample_summary(sample: EventSample) -> dict:
    """Event count, total weight and events with NaN/inf momenta or weights of one sample."""
    nonfinite = ~np.isfinite(sample.momenta).all(axis=(1, 2)) | ~np.isfinite(sample.weights)
    out = {"n_events": len(sample), "sum_weights": float(np.nansum(sample.weights)),
           "n_nonfinite_events": int(nonfinite.sum())}
    for key in ("path", "file", "process", "generator"):
        if key in sample.attrs:
            out[key] = sample.attrs[key]
    return out


def _observable_values(observable: Observable, sample: EventSample
                       ) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Finite values and weights of one observable, and the count of non-finite ones left out.

    Returns
    -------
    values : (M,) float64, weights : (M,) float64, n_nonfinite : int,
    events : (M,) int, the index in ``sample`` of each value's event.
    """
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        values, defined = observable.compute(sample)
    values = np.asarray(values, dtype=np.float64)
    weights = sample.weights[defined]
    events = np.arange(len(sample))[defined]
    finite = np.isfinite(values) & np.isfinite(weights)
    return values[finite], weights[finite], int((~finite).sum()), events[finite]


def _floor_samples(truth_test: EventSample, truth_train: EventSample | None,
                   seed: int) -> tuple[dict[str, EventSample], tuple[str, str], str]:
    """The truth samples whose comparison gives the statistical floor, and its description."""
    if truth_train is not None:
        return {"truth_train": truth_train}, ("truth_train", "truth_test"), FLOOR_TRAIN
    order = np.random.default_rng(seed).permutation(len(truth_test))
    half = len(order) // 2
    halves = {"truth_test_half_a": truth_test.subset(np.sort(order[:half])),
              "truth_test_half_b": truth_test.subset(np.sort(order[half:]))}
    return halves, ("truth_test_half_a", "truth_test_half_b"), FLOOR_HALVES


def _compare(a: tuple, b: tuple, edges: np.ndarray) -> tuple[float, int, float]:
    """chi^2/ndf, ndf and W1 of two (values, weights) pairs on common bin edges."""
    chi2, ndf = chi2_ndf(*histogram(a[0], a[1], edges), *histogram(b[0], b[1], edges))
    return chi2, ndf, wasserstein_1d(a[0], b[0], a[1], b[1])


def _evaluate_observable(observable: Observable, samples: dict[str, EventSample],
                         floor_pair: tuple[str, str], plot_dir: Path | None) -> dict:
    """All figures of one observable, and its plot written to ``plot_dir`` (None: no plot)."""
    data, nonfinite = {}, {}
    for key, sample in samples.items():
        values, weights, n_bad, events = _observable_values(observable, sample)
        data[key] = (values, weights)
        nonfinite[key] = n_bad
        if key == "generated" and sample.weight_draw is not None:
            generated_draws = sample.weight_draw[events]
    result = {"label": observable.label, "chi2_ndf": None, "ndf": None, "chi2_ndf_floor": None,
              "ndf_floor": None, "ratio": None, "w1": None, "w1_floor": None,
              "n_events": {k: len(v[0]) for k, v in data.items()}, "n_nonfinite": nonfinite,
              "plot": None, "note": None}
    notes = [f"{n} {key} value(s) NaN/inf, left out" for key, n in nonfinite.items() if n]
    few = [f"{key} ({len(v[0])})" for key, v in data.items() if len(v[0]) < MIN_EVENTS]
    if few:
        result["note"] = "; ".join(notes + [f"fewer than {MIN_EVENTS} events in "
                                            + ", ".join(few)])
        return result
    try:
        edges = observable_edges(observable, *data["truth_test"], n_bins=N_BINS)
        result["binning"] = {"low": float(edges[0]), "high": float(edges[-1]),
                             "n_bins": len(edges) - 1}
        below, above = outside_fraction(*data["truth_test"], edges)
        if below > 0.001 or above > 0.001:
            notes.append(f"truth-test outside {edges[0]:.4g}-{edges[-1]:.4g}: "
                         f"{100 * below:.1f} % below, {100 * above:.1f} % above, folded into "
                         "the edge bins")
        chi2, ndf, w1 = _compare(data["generated"], data["truth_test"], edges)
        floor = histogram_floor(data[floor_pair[0]], data[floor_pair[1]], edges,
                                compared_sizes=(len(data["generated"][0]),
                                                len(data["truth_test"][0])))
        chi2_floor, ndf_floor, w1_floor = floor.chi2_ndf, floor.ndf, floor.w1
        curves = {PLOT_NAMES[k]: normalised(*histogram(*data[k], edges), edges)
                  for k in ("truth_train", "truth_test", "generated") if k in data}
        if samples["generated"].weight_draw is not None:
            n_draws = int(samples["generated"].attrs.get("weight_draws")
                          or samples["generated"].weight_draw.max() + 1)
            band = draw_band(*data["generated"], generated_draws, n_draws, edges)
            curves[BAND_NAME] = (band["mean"], band["std"])
            result["bayesian_band"] = band_coverage(band, *curves["truth-test"])
    except LhcgenError as exc:
        result["note"] = "; ".join(notes + [str(exc)])
        return result
    ratio = chi2 / chi2_floor if chi2_floor > 0 else float("nan")
    result.update(chi2_ndf=_finite_or_none(chi2), ndf=ndf,
                  chi2_ndf_floor=_finite_or_none(chi2_floor), ndf_floor=ndf_floor,
                  ratio=_finite_or_none(ratio), w1=w1, w1_floor=w1_floor)
    if result["ratio"] is None:
        notes.append("chi2/ndf undefined (fewer than two filled bins) or zero floor")
    if plot_dir is not None:
        file_name = re.sub(r"[^A-Za-z0-9_.-]", "_", observable.name) + ".png"
        title = (rf"$\chi^2$/ndf: generated {chi2:.2f}, floor {chi2_floor:.2f}, "
                 f"ratio {ratio:.2f}")
        three_panel(edges, curves, observable.label, plot_dir / file_name, title=title)
        result["plot"] = f"plots/{file_name}"
    result["note"] = "; ".join(notes) or None
    return result


def _summary(per_observable: dict[str, dict], n_nonfinite_generated: int) -> dict:
    ratios = {name: r["ratio"] for name, r in per_observable.items() if r["ratio"] is not None}
    worst = max(ratios, key=ratios.get) if ratios else None
    chi2 = [r["chi2_ndf"] for r in per_observable.values() if r["chi2_ndf"] is not None]
    floor = [r["chi2_ndf_floor"] for r in per_observable.values()
             if r["chi2_ndf_floor"] is not None]
    return {"n_observables": len(per_observable), "n_evaluated": len(ratios),
            "median_ratio": float(np.median(list(ratios.values()))) if ratios else None,
            "worst_ratio": ratios[worst] if worst else None, "worst_observable": worst,
            "n_ratio_above_alert": sum(r > RATIO_ALERT for r in ratios.values()),
            "ratio_alert": RATIO_ALERT,
            "median_chi2_ndf": float(np.median(chi2)) if chi2 else None,
            "median_chi2_ndf_floor": float(np.median(floor)) if floor else None,
            "n_nonfinite_generated_events": n_nonfinite_generated}


def evaluate_events(generated: EventSample, truth_test: EventSample,
                    out_dir: str | os.PathLike | None, truth_train: EventSample | None = None,
                    observables: list[Observable] | None = None, info: dict | None = None,
                    seed: int = 0, likelihood: dict | None = None) -> dict:
    """Compare generated events with held-out truth, observable by observable; write a report.

    Parameters
    ----------
    generated : the sample to judge (N_gen events).
    truth_test : held-out truth (N_test events); it fixes every binning.
    out_dir : folder for ``plots/``, ``metrics.json`` and ``index.html``; None computes the
        metrics without writing anything (for benchmarks and sweeps).
    truth_train : the training truth; truth-train vs truth-test is the statistical floor.
        If None, the floor compares two random halves of truth_test (split with
        ``np.random.default_rng(seed)``). Every floor is brought to the compared sizes
        (evaluate/distances.py, ``histogram_floor``).
    observables : what to histogram; default: the observables of truth_test's process for its
        object names.
    info : sampling facts to record under "sampling" (e.g. ``events_per_second``, number of
        function evaluations, batch size, device, invalid-event counts).
    seed : seed of the half split.
    likelihood : the test-set NLL (train/likelihood.py) to record under "likelihood".

    Returns
    -------
    dict : the content of ``metrics.json``.
    """
    samples = {"generated": generated, "truth_test": truth_test}
    if truth_train is not None:
        samples["truth_train"] = truth_train
    for key, sample in samples.items():
        if key != "truth_test":
            check_compatible(sample, truth_test, (key.replace("_", "-"), "truth-test"))
    if observables is None:
        process = get_process(truth_test.attrs.get("process"), where="truth-test: ")
        observables = process.observables(tuple(truth_test.object_names))
    floor_samples, floor_pair, floor = _floor_samples(truth_test, truth_train, seed)
    histogrammed = {"generated": generated, "truth_test": truth_test, **floor_samples}

    plot_dir = None if out_dir is None else Path(out_dir) / "plots"
    per_observable = {obs.name: _evaluate_observable(obs, histogrammed, floor_pair, plot_dir)
                      for obs in observables}
    sample_summaries = {key: _sample_summary(sample) for key, sample in samples.items()}
    metrics = json_safe({
        "lhcgen_version": __version__, "floor": floor, "seed": seed, "n_bins": N_BINS,
        "min_events": MIN_EVENTS, "samples": sample_summaries, "sampling": dict(info or {}),
        "summary": _summary(per_observable,
                            sample_summaries["generated"]["n_nonfinite_events"]),
        "observables": per_observable,
    })
    if likelihood:
        metrics["likelihood"] = json_safe(likelihood)
    bands = {name: r["bayesian_band"] for name, r in per_observable.items()
             if r.get("bayesian_band")}
    if bands:
        metrics["bayesian_band"] = json_safe(summarise_coverage(bands))
    if out_dir is not None:
        out_dir = Path(out_dir)
        write_text_atomic(out_dir / "metrics.json",
                          json.dumps(metrics, indent=2, allow_nan=False))
        write_text_atomic(out_dir / "index.html", render_html(metrics, out_dir))
    return metrics


def _sampling_rows(sampling: dict, out_dir: Path) -> list[list[str]]:
    """The sampling facts as readable rows: files relative to the report, cut violations
    spelt out, no Python dicts in cells."""
    rows = []
    for key, value in sampling.items():
        if value is None:
            continue
        if key.endswith("_file"):
            rows.append([key.replace("_", " "), relative_path(value, out_dir)])
        elif isinstance(value, dict):
            filled = [f"{k.replace('_', ' ')}: {fmt(v)}" for k, v in value.items() if v]
            rows.append([key.replace("_", " "), "; ".join(filled) or "none"])
        elif isinstance(value, (list, tuple)):
            rows.append([key.replace("_", " "), ", ".join(fmt(v) for v in value)])
        else:
            rows.append([key.replace("_", " "), fmt(value, 4)])
    return rows


SUMMARY_LABELS = {
    "n_observables": "observables", "n_evaluated": "observables with a floor",
    "median_ratio": "median χ² ratio to the floor", "worst_ratio": "worst χ² ratio",
    "worst_observable": "worst observable", "n_ratio_above_alert": "ratios above the alert",
    "ratio_alert": "alert ratio", "median_chi2_ndf": "median χ²/ndf generated",
    "median_chi2_ndf_floor": "median χ²/ndf floor",
    "n_nonfinite_generated_events": "generated events with NaN/inf",
}


def render_html(metrics: dict, out_dir: str | os.PathLike) -> str:
    """A self-contained HTML page (inline CSS, PNGs as base64 data URIs) of ``metrics``:
    the verdict first, then samples, sampling, the per-observable table, likelihood, band,
    the plots and the classifier test (when run)."""
    out_dir = Path(out_dir)
    samples = metrics["samples"]
    sample_rows = [[key.replace("_", "-"),
                    relative_path(s.get("path") or s["file"], out_dir)
                    if s.get("path") or s.get("file") else "(in memory)",
                    str(s["n_events"]), fmt(s["sum_weights"], 6), str(s["n_nonfinite_events"])]
                   for key, s in samples.items()]
    info_rows = _sampling_rows(metrics["sampling"], out_dir)
    summary_rows = [[SUMMARY_LABELS.get(key, key), fmt(value)]
                    for key, value in metrics["summary"].items()]
    rows, classes, figures = [], [], []
    for name, r in metrics["observables"].items():
        rows.append([link("obs", name), fmt(r["chi2_ndf"]), fmt(r["chi2_ndf_floor"]),
                     fmt(r["ratio"]), fmt(r["w1"]), fmt(r["w1_floor"]), fmt(r["ndf"]),
                     str(r["n_events"].get("generated")), str(r["n_events"].get("truth_test")),
                     html.escape(r["note"] or "")])
        alert = r["ratio"] is not None and r["ratio"] > metrics["summary"]["ratio_alert"]
        classes.append("alert" if alert else "")
        figures.append(figure(out_dir, r["plot"], name, anchor("obs", name)))
    header = ["observable", "χ²/ndf gen", "χ²/ndf floor", "ratio", "W1 gen", "W1 floor",
              "ndf", "N gen", "N truth-test", "note"]
    body = [
        f"<h1>lhcgen evaluation</h1><p>lhcgen {html.escape(str(metrics['lhcgen_version']))};"
        f" floor: {html.escape(metrics['floor'])}; binning per observable from truth-test "
        "(fixed ranges where the physics lives, e.g. m<sub>μμ</sub> in 1 GeV bins over "
        "70–110 GeV; under- and overflow folded into the edge bins).</p>",
        verdict_html(worst_observables(metrics["observables"]), metrics.get("classifier"),
                     metrics["sampling"]),
        "<h2>Samples</h2>",
        table(sample_rows, ["sample", "file (relative to this report)", "events",
                            "sum of weights", "NaN/inf events"]),
        "<h2>Sampling</h2>",
        table(info_rows, ["quantity", "value"]) if info_rows else "<p>(none given)</p>",
        "<h2>Summary</h2>", table(summary_rows, ["quantity", "value"]),
        f"<h2>Observables</h2><p>Rows with ratio &gt; {metrics['summary']['ratio_alert']} are "
        "highlighted; click a column header to sort, a name to see its plot.</p>",
        table(rows, header, classes, sortable=True, raw_html=True),
        _likelihood_section(metrics), _band_section(metrics),
        "<h2>Plots</h2><div class='grid'>", "".join(figures), "</div>",
        _classifier_section(metrics, out_dir),
    ]
    return page("lhcgen evaluation", body)


def _likelihood_section(metrics: dict) -> str:
    """Test-set NLL in physical coordinates (train/likelihood.py), if computed."""
    nll = metrics.get("likelihood")
    if not nll:
        return ""
    if "nll" not in nll:
        return f"<h2>Test-set likelihood</h2><p>Not computed: {html.escape(nll['note'])}.</p>"
    options = ", ".join(f"{k} {fmt(v)}" for k, v in nll["options"].items()) or "none"
    rows = [["all", fmt(nll["nll"], 5), fmt(nll["error"], 2), str(nll["events"]), "-"]]
    rows += [[key, fmt(r["nll_given_n"], 5), fmt(r["error"], 2), str(r["events"]),
              str(r["dimension"])] for key, r in nll["per_multiplicity"].items()]
    return ("<h2>Test-set likelihood</h2>"
            f"<p>{html.escape(nll['units'])}. Per multiplicity: -log p(event | n jets). "
            f"Options: {html.escape(options)}; {fmt(float(nll['seconds']), 3)} s.</p>"
            + table(rows, ["events", "NLL", "± (stat)", "N", "dimension"]))


def _band_section(metrics: dict) -> str:
    """Coverage of a Bayesian generator's band (evaluate/events/bayesian_band.py), if present."""
    band = metrics.get("bayesian_band")
    if not band:
        return ""
    rows = [[name, str(r["bayesian_band"]["bins_considered"]),
             fmt(r["bayesian_band"]["within_1sigma"]), fmt(r["bayesian_band"]["within_2sigma"]),
             fmt(r["bayesian_band"]["within_1sigma_combined"]),
             fmt(r["bayesian_band"]["median_band_over_stat"])]
            for name, r in metrics["observables"].items() if r.get("bayesian_band")]
    rows.append(["all (bin-weighted)", str(band["bins_considered"]),
                 fmt(band["within_1sigma"]), fmt(band["within_2sigma"]),
                 fmt(band["within_1sigma_combined"]), fmt(band["median_band_over_stat"])])
    return ("<h2>Bayesian uncertainty band</h2><p>Per bin, mean ± std of the unit-area "
            "densities of the network-weight draws (the plots' band). Coverage: the fraction "
            "of bins where |band mean − truth| is within 1σ (2σ) of the band, over bins where "
            "the truth's statistical error is below half the band (statistics allow; a "
            "calibrated band gives about 0.68 and 0.95); 'combined' adds the truth error in "
            "quadrature, over all filled bins. 'band / stat' compares the band with one draw's "
            "statistical error.</p>"
            + table(rows, ["observable", "bins", "within 1σ", "within 2σ",
                            "within 1σ combined", "band / stat"]))


def _classifier_section(metrics: dict, out_dir: Path) -> str:
    """The classifier test's section (``lhcgen evaluate --classifier``), or nothing."""
    if "classifier" not in metrics:
        return ""
    from lhcgen.evaluate.classifier.report import render_classifier_section

    return render_classifier_section(metrics["classifier"], out_dir)


def format_summary(metrics: dict, simulator_rate: float | None = None) -> str:
    """Plain-text table for the terminal: chi^2/ndf generated vs floor and their ratio.

    The last lines give the sampling rate (``metrics["sampling"]["events_per_second"]``)
    beside ``simulator_rate`` (events/s) and their ratio, when given.
    """
    per_observable = metrics["observables"]
    width = max([len("observable")] + [len(name) for name in per_observable])
    lines = [f"{'observable':<{width}}  {'chi2/ndf gen':>12}  {'floor':>8}  {'ratio':>7}"]
    for name, r in per_observable.items():
        flag = "  <--" if r["ratio"] is not None and r["ratio"] > RATIO_ALERT else ""
        note = f"  ({r['note']})" if r["note"] else ""
        lines.append(f"{name:<{width}}  {fmt(r['chi2_ndf']):>12}  "
                     f"{fmt(r['chi2_ndf_floor']):>8}  {fmt(r['ratio']):>7}{flag}{note}")
    summary = metrics["summary"]
    lines.append(f"floor: {metrics['floor']}; median ratio {fmt(summary['median_ratio'])}, "
                 f"worst {fmt(summary['worst_ratio'])} ({summary['worst_observable'] or '-'})")
    if summary.get("n_nonfinite_generated_events"):
        lines.append(f"generated events with NaN/inf: {summary['n_nonfinite_generated_events']}")
    nll = metrics.get("likelihood")
    if nll and "note" in nll:
        lines.append(f"test NLL: not computed ({nll['note']})")
    elif nll:
        lines.append(f"test NLL: {nll['nll']:.4f} ± {nll['error']:.4f} nats/event "
                     f"({nll['events']} events)")
    band = metrics.get("bayesian_band")
    if band:
        lines.append(f"Bayesian band ({band['bins_considered']} bins where statistics allow):"
                     f" covers the deviation from truth in {fmt(band['within_1sigma'])} of "
                     f"bins at 1 sigma, {fmt(band['within_2sigma'])} at 2 sigma")
    lines.append(verdict_text(worst_observables(per_observable), metrics.get("classifier"),
                              metrics.get("sampling", {})))
    rate = metrics.get("sampling", {}).get(RATE_KEY)
    if rate is not None:
        lines.append(f"sampling rate: {rate:.4g} events/s")
    if simulator_rate is not None:
        line = f"simulator rate: {simulator_rate:.4g} events/s"
        if rate is not None and simulator_rate > 0:
            line += f"; generator/simulator = {rate / simulator_rate:.3g}x"
        lines.append(line)
    return "\n".join(lines)
