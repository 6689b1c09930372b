"""Plots of the classifier test: judges' scores, weight histograms (linear and log axes),
calibration curve.

Like :mod:`lhcgen.evaluate.figures`, figures are ``matplotlib.figure.Figure`` objects (no
pyplot registry, no interactive backend) drawn in a local mplhep style context and written
atomically. The reweighted three-panel histograms use :func:`lhcgen.evaluate.figures.three_panel`.
"""

from __future__ import annotations

import os

import matplotlib.style
import mplhep
import numpy as np
from matplotlib.figure import Figure

from lhcgen.evaluate.figures import TEXT_SIZES
from lhcgen.io import atomic_path

COLOURS = {"generated": "#d62728", "truth": "black", "raw": "#1f77b4",
           "recalibrated": "#d62728"}


def _save(fig: Figure, path: str | os.PathLike, dpi: int) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)


def weight_histogram_plot(histograms: dict[str, dict], path: str | os.PathLike,
                          log_axis: bool, clip: float | None = None, dpi: int = 90) -> None:
    """Histograms of classifier weights w = D / (1 - D), one step line per sample.

    Parameters
    ----------
    histograms : sample name -> {"edges": (B + 1,), "counts": (B,)} (one axis of
        :func:`two_sample.weight_histograms`), normalised here to unit sum.
    path : output PNG, written atomically.
    log_axis : logarithmic x axis (and y axis) when True, linear axes when False.
    clip : the weight clip, drawn as dashed lines when given.
    """
    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(6.0, 4.5))
        fig.subplots_adjust(left=0.16, right=0.96, top=0.93, bottom=0.16)
        axis = fig.add_subplot()
        for name, hist in histograms.items():
            counts = np.asarray(hist["counts"], dtype=np.float64)
            total = counts.sum()
            axis.stairs(counts / total if total > 0 else counts, hist["edges"], lw=1.5,
                        label=name, color=COLOURS.get(name))
        axis.axvline(1.0, color="grey", lw=1.0, ls=":")
        if clip is not None:
            for value in (1.0 / clip, clip):
                axis.axvline(value, color="grey", lw=1.0, ls="--")
        if log_axis:
            axis.set_xscale("log")
            axis.set_yscale("log")
        first = next(iter(histograms.values()))["edges"]
        axis.set_xlim(first[0], first[-1])
        axis.set_xlabel(r"weight $w = D/(1-D)$")
        axis.set_ylabel("fraction of events")
        axis.legend(loc="best")
        _save(fig, path, dpi)


def calibration_plot(curves: dict[str, dict], path: str | os.PathLike, dpi: int = 90) -> None:
    """Reliability diagram: observed truth fraction against mean prediction, per bin.

    Parameters
    ----------
    curves : legend name -> output of :func:`two_sample.calibration_curve`
        (``mean_prediction``, ``observed_fraction``, ``error``; NaN bins are skipped).
    path : output PNG, written atomically.
    """
    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(5.5, 5.0))
        fig.subplots_adjust(left=0.17, right=0.96, top=0.95, bottom=0.15)
        axis = fig.add_subplot()
        axis.plot([0, 1], [0, 1], color="grey", lw=1.0, ls=":", label="calibrated")
        for name, curve in curves.items():
            x = np.asarray(curve["mean_prediction"], dtype=np.float64)
            y = np.asarray(curve["observed_fraction"], dtype=np.float64)
            err = np.asarray(curve["error"], dtype=np.float64)
            ok = np.isfinite(x) & np.isfinite(y)
            axis.errorbar(x[ok], y[ok], yerr=np.nan_to_num(err[ok]), marker="o", ms=4,
                          lw=1.2, capsize=2, label=name, color=COLOURS.get(name))
        axis.set_xlim(0.0, 1.0)
        axis.set_ylim(0.0, 1.0)
        axis.set_xlabel("mean classifier output $D$")
        axis.set_ylabel("truth fraction (class-balanced)")
        axis.legend(loc="upper left")
        _save(fig, path, dpi)


def score_plot(judges: dict[str, tuple[np.ndarray, np.ndarray, float | None]],
               path: str | os.PathLike, n_bins: int = 60, dpi: int = 90) -> None:
    """Out-of-fold logits of D for truth and generated events, one panel per judge.

    Parameters
    ----------
    judges : judge title -> (logits of generated events, logits of truth events, AUC).
        Identical distributions (AUC 0.5) give two curves on top of each other; a
        generator's defect shows as a shoulder of one class at large |logit|.
    path : output PNG, written atomically.
    """
    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(5.0 * len(judges) + 0.5, 4.5))
        fig.subplots_adjust(left=0.12, right=0.97, top=0.9, bottom=0.16, wspace=0.3)
        for i, (title, (gen, truth, auc)) in enumerate(judges.items()):
            axis = fig.add_subplot(1, len(judges), i + 1)
            both = np.concatenate([gen, truth])
            low, high = np.quantile(both, [0.001, 0.999]) if len(both) else (-1.0, 1.0)
            if not high > low:
                low, high = low - 0.5, high + 0.5
            edges = np.linspace(low, high, n_bins + 1)
            for name, values in (("truth", truth), ("generated", gen)):
                counts, _ = np.histogram(np.clip(values, low, high), edges)
                total = counts.sum()
                axis.stairs(counts / total if total else counts, edges, lw=1.5, label=name,
                            color=COLOURS[name])
            axis.set_yscale("log")
            axis.set_xlabel(r"out-of-fold logit of $D$")
            axis.set_ylabel("fraction of events")
            axis.set_title(title + ("" if auc is None else f", AUC {auc:.4f}"),
                           fontsize="small", loc="left")
            axis.legend(loc="upper right")
        _save(fig, path, dpi)
