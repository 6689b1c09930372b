"""Observables of events as functions of the momenta, computed in float64 (generic parts;
the Z+jets list: zjets_observables.py).

Each observable maps an Events to (values, defined): ``defined`` is a boolean array over
events telling where the observable exists (a third jet's pT exists only in events with
three jets), and
``values`` holds the observable for those events only.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from lhcgen.physics import fourvectors as fv
from lhcgen.physics.events import Events

Computed = tuple[np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Axis:
    """Where an observable's physics lives, for its histograms.

    Attributes:
        low, high: fixed ends in the observable's units; None takes the reference sample's
            0.1 % (99.9 %) quantile.
        width: fixed bin width (the number of bins then follows from the range); None uses
            the report's default number of bins.
    """

    low: float | None = None
    high: float | None = None
    width: float | None = None


@dataclass(frozen=True)
class Observable:
    """One histogrammable quantity: a name, an axis label, how to compute it, and its axis."""

    name: str
    label: str
    compute: Callable[[Events], Computed]
    discrete: bool = False
    periodic: bool = False
    axis: Axis = Axis()


FEATURES = {
    "pt": (fv.pt, r"p_{T,%s}", "GeV"),
    "eta": (fv.eta, r"\eta_{%s}", ""),
    "phi": (fv.phi, r"\phi_{%s}", ""),
    "m": (fv.mass, r"m_{%s}", "GeV"),
}


def axis_label(symbol: str, unit: str) -> str:
    return f"${symbol}$" + (f" [{unit}]" if unit else "")


def object_feature(slot: int, feature: str) -> Callable[[Events], Computed]:
    func = FEATURES[feature][0]

    def compute(sample: Events) -> Computed:
        defined = sample.mask[:, slot]
        return func(sample.momenta[defined, slot]), defined

    return compute


def object_pair(slot_a: int, slot_b: int, quantity: str) -> Callable[[Events], Computed]:
    func = {"delta_r": fv.delta_r, "delta_eta": fv.delta_eta, "delta_phi": fv.delta_phi}[quantity]

    def compute(sample: Events) -> Computed:
        defined = sample.mask[:, slot_a] & sample.mask[:, slot_b]
        return func(sample.momenta[defined, slot_a], sample.momenta[defined, slot_b]), defined

    return compute


def multiplicity(sample: Events) -> Computed:
    return sample.multiplicity.astype(np.float64), np.ones(len(sample), bool)
