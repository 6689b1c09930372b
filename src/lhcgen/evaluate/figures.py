"""The three-panel histogram of precision event generation (as in arXiv:2305.10475).

Top: unit-area histograms with their statistical bands; middle: ratio to the reference
(truth-test); bottom: delta[%] = 100 |curve - truth| / truth per bin, where the truth-train
markers show the statistical floor a generator can at best reach.

Figures are built with ``matplotlib.figure.Figure`` directly (no pyplot): they never enter
pyplot's figure registry, need no interactive backend, and are freed when the function
returns. The mplhep CMS style is applied in a local style context, never globally.
"""

from __future__ import annotations

import os

import matplotlib.style
import mplhep
import numpy as np
from matplotlib.figure import Figure

from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_path

REFERENCE = "truth-test"
FIXED_COLOURS = (("truth-test", "black"), ("truth-train", "#7f7f7f"), ("truth-2", "#7f7f7f"))
MODEL_COLOURS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e")
RATIO_RANGE = (0.8, 1.2)
TEXT_SIZES = {"font.size": 13.0, "axes.labelsize": 15.0, "xtick.labelsize": 12.0,
              "ytick.labelsize": 12.0, "legend.fontsize": 12.0}
"""Smaller text than the CMS style's poster sizes, so labels fit a 6 x 7 inch figure."""
LOG_SCALE_DYNAMIC_RANGE = 100.0
"""Use a log y axis in the top panel when the reference spans more than this factor."""


def _colours(names: list[str]) -> dict[str, str]:
    fixed = dict(FIXED_COLOURS)
    others = [n for n in names if n not in fixed]
    out = {n: MODEL_COLOURS[i % len(MODEL_COLOURS)] for i, n in enumerate(others)}
    out.update({n: fixed[n] for n in names if n in fixed})
    return out


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, NaN (drawn as a gap) where the denominator is not positive."""
    out = np.full(np.shape(numerator), np.nan)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def three_panel(edges: np.ndarray, curves: dict[str, tuple[np.ndarray, np.ndarray]],
                label: str, path: str | os.PathLike, title: str | None = None,
                reference: str = REFERENCE, dpi: int = 90) -> None:
    """Draw the standard three-panel plot of one observable and write it as a PNG.

    Parameters
    ----------
    edges : (B + 1,) float64 bin edges.
    curves : ordered mapping legend name -> (density, error), each (B,) float64, as from
        :func:`lhcgen.evaluate.histograms.normalised`. Must contain ``reference``; typical
        names are "truth-train", "truth-test" and "generated". Every curve other than the
        reference gets a ratio and a delta[%] series.
    label : x-axis label (matplotlib mathtext allowed).
    path : output PNG, written atomically.
    title : optional text above the top panel (e.g. chi^2/ndf values).
    reference : the name of the curve everything is compared to.
    dpi : resolution of the PNG.
    """
    if reference not in curves:
        raise LhcgenError(f"three_panel needs a '{reference}' curve, got {list(curves)}")
    edges = np.asarray(edges, dtype=np.float64)
    centres = 0.5 * (edges[1:] + edges[:-1])
    colours = _colours(list(curves))
    ref_density, ref_error = (np.asarray(a, dtype=np.float64) for a in curves[reference])

    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(6.0, 7.0))
        grid = fig.add_gridspec(3, 1, height_ratios=(3.0, 1.0, 1.0), hspace=0.07,
                                left=0.16, right=0.96, top=0.95, bottom=0.09)
        top = fig.add_subplot(grid[0])
        middle = fig.add_subplot(grid[1], sharex=top)
        bottom = fig.add_subplot(grid[2], sharex=top)

        ref_relative = np.nan_to_num(_safe_divide(ref_error, ref_density), nan=0.0)
        middle.stairs(1 + ref_relative, edges, baseline=1 - ref_relative, fill=True,
                      color=colours[reference], alpha=0.15, lw=0)
        middle.axhline(1.0, color=colours[reference], lw=1.0)
        delta_max = 0.0
        for name, (density, error) in curves.items():
            density = np.asarray(density, dtype=np.float64)
            error = np.asarray(error, dtype=np.float64)
            colour = colours[name]
            top.stairs(density, edges, color=colour, lw=1.5, label=name)
            top.stairs(density + error, edges, baseline=density - error, fill=True,
                       color=colour, alpha=0.25, lw=0)
            if name == reference:
                continue
            ratio = _safe_divide(density, ref_density)
            ratio_error = _safe_divide(error, ref_density)
            middle.stairs(ratio, edges, color=colour, lw=1.5)
            middle.stairs(ratio + ratio_error, edges, baseline=ratio - ratio_error, fill=True,
                          color=colour, alpha=0.25, lw=0)
            delta = 100.0 * _safe_divide(np.abs(density - ref_density), ref_density)
            bottom.plot(centres, delta, ls="none", marker="o", ms=3.5, color=colour)
            if np.isfinite(delta).any():
                delta_max = max(delta_max, float(np.nanmax(delta)))

        positive = ref_density[ref_density > 0]
        if len(positive) and positive.max() > LOG_SCALE_DYNAMIC_RANGE * positive.min():
            top.set_yscale("log")
        else:
            top.set_ylim(bottom=0.0)
        top.set_ylabel("normalised")
        top.legend(loc="best")
        if title:
            top.set_title(title, fontsize="small", loc="left")
        middle.set_ylim(*RATIO_RANGE)
        middle.set_ylabel("Model/Truth")
        bottom.set_ylim(0.0, 1.15 * delta_max if delta_max > 0 else 1.0)
        bottom.set_ylabel(r"$\delta$ [%]")
        bottom.set_xlabel(label)
        bottom.set_xlim(edges[0], edges[-1])
        for axis in (top, middle):
            axis.tick_params(labelbottom=False)
            axis.set_xlabel("")
        for axis in (top, middle, bottom):
            axis.yaxis.set_label_coords(-0.12, 0.5)

        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
