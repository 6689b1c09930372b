"""The PNGs of the detector report: binned curves with error bars, and the migration map.

Built as in lhcgen.evaluate.figures: ``matplotlib.figure.Figure`` directly (no pyplot), the
mplhep CMS style in a local style context, atomic writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import matplotlib.style
import mplhep
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

from lhcgen.evaluate.figures import MODEL_COLOURS, TEXT_SIZES
from lhcgen.io import atomic_path

DPI = 80
MARKERS = ("o", "s", "^", "v", "D")
NICE_TICKS = (5, 10, 20, 30, 50, 100, 200, 300, 500, 1000, 2000, 5000)


@dataclass
class Series:
    """One curve: a value per bin with its lower and upper error (NaN: no point)."""

    label: str
    values: np.ndarray
    low: np.ndarray
    high: np.ndarray
    open_marker: bool = False


@dataclass
class Panel:
    """One axis of a profile figure."""

    edges: np.ndarray
    xlabel: str
    ylabel: str
    series: list[Series] = field(default_factory=list)
    hline: float | None = None
    ylim: tuple[float | None, float | None] = (None, None)
    logy: bool = False
    curves: list[tuple[str, np.ndarray, np.ndarray]] = field(default_factory=list)
    """Lines drawn under the points: (label, x, y), e.g. the detector card's formulas."""


def _nan(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], np.float64)


def float_array(values) -> np.ndarray:
    """A (nested) list with None (JSON null) as a float array with NaN."""
    return np.array(values, dtype=object).astype(float) if values is not None else np.array([])


def series_from_bins(label: str, bins: list[dict], key: str, error: str | None = None,
                     interval: tuple[str, str] | None = None,
                     open_marker: bool = False) -> Series:
    """A Series from the JSON bins: symmetric ``error`` or an ``interval`` (low, high)."""
    values = _nan(b[key] for b in bins)
    if interval is not None:
        low = values - _nan(b[interval[0]] for b in bins)
        high = _nan(b[interval[1]] for b in bins) - values
    elif error is not None:
        low = high = _nan(b[error] for b in bins)
    else:
        low = high = np.zeros_like(values)
    return Series(label, values, low, high, open_marker)


def profile_figure(panels: list[Panel], title: str, path: str | os.PathLike) -> None:
    """Side-by-side panels of binned values against the bin centres (x error = bin half
    width); a log x axis where the edges span more than a factor 8."""
    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(5.6 * len(panels), 4.8))
        fig.subplots_adjust(left=0.1 if len(panels) > 1 else 0.17, right=0.97, top=0.88,
                            bottom=0.16, wspace=0.28)
        for k, panel in enumerate(panels):
            ax = fig.add_subplot(1, len(panels), k + 1)
            edges = np.asarray(panel.edges, np.float64)
            log_x = edges[0] > 0 and edges[-1] / edges[0] > 8
            centres = np.sqrt(edges[1:] * edges[:-1]) if log_x else 0.5 * (edges[1:]
                                                                            + edges[:-1])
            xerr = np.stack([centres - edges[:-1], edges[1:] - centres])
            for i, s in enumerate(panel.series):
                ok = np.isfinite(s.values) & ((s.values > 0) if panel.logy else True)
                colour = MODEL_COLOURS[i % len(MODEL_COLOURS)]
                ax.errorbar(centres[ok], s.values[ok], xerr=xerr[:, ok],
                            yerr=np.stack([np.nan_to_num(s.low[ok]),
                                           np.nan_to_num(s.high[ok])]),
                            ls="none", marker=MARKERS[i % len(MARKERS)], ms=5, color=colour,
                            mfc="white" if s.open_marker else colour, label=s.label)
            for j, (text, x, y) in enumerate(panel.curves):
                ax.plot(x, y, color=MODEL_COLOURS[j % len(MODEL_COLOURS)], lw=1.2, ls=":",
                        label=text)
            if panel.hline is not None:
                ax.axhline(panel.hline, color="black", lw=1.0, ls="--")
            if log_x:
                ax.set_xscale("log")
                ticks = [t for t in NICE_TICKS if edges[0] <= t <= edges[-1]]
                ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
                ax.xaxis.set_minor_formatter(NullFormatter())
            if panel.logy:
                ax.set_yscale("log")
            ax.set_xlim(edges[0], edges[-1])
            ax.set_ylim(*panel.ylim)
            ax.set_xlabel(panel.xlabel)
            ax.set_ylabel(panel.ylabel)
            if panel.series or panel.curves:
                ax.legend(loc="best")
        fig.suptitle(title, fontsize="medium", x=0.02, ha="left")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)


def migration_figure(normalised: np.ndarray, labels: list[str], title: str,
                     path: str | os.PathLike) -> None:
    """Heat map of ``normalised[particle][detector]`` (particle level on the x axis, each
    column summing to 100 %), with the percentage in every cell."""
    values = 100.0 * float_array(normalised).T  # rows: detector, cols: particle
    n = len(labels)
    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(2.5 + 0.85 * max(n, 5), 1.5 + 0.75 * max(n, 5)))
        ax = fig.add_subplot(1, 1, 1)
        image = ax.imshow(np.nan_to_num(values), origin="lower", cmap="Blues", vmin=0.0,
                          vmax=100.0, aspect="auto")
        fig.colorbar(image, ax=ax, label="fraction of particle-level column [%]")
        size = 11 if n <= 7 else 8
        for i in range(n):
            for j in range(n):
                v = values[i, j]
                if np.isfinite(v) and v >= 0.05:
                    ax.text(j, i, f"{v:.1f}" if v < 99.95 else "100", ha="center",
                            va="center", fontsize=size,
                            color="white" if v > 60 else "black")
        ticks = [label.replace(">=", "\u2265") for label in labels]
        ax.set_xticks(range(n), ticks)
        ax.set_yticks(range(n), ticks)
        ax.minorticks_off()
        ax.set_xlabel("particle-level jets (n_jets_all)")
        ax.set_ylabel("detector-level jets (n_jets_all)")
        ax.set_title(title, fontsize="medium", loc="left")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=DPI)
