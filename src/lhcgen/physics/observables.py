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
from itertools import combinations

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


def object_observables(object_names: tuple[str, ...],
                       constant_mass_objects: tuple[str, ...] = (),
                       axis_of: Callable[[str], Axis] = lambda name: Axis()) -> list[Observable]:
    """The generic report of any process: pT, eta, phi and m of every object (no mass for
    ``constant_mass_objects``), Delta R of every object pair, and the multiplicity;
    ``axis_of`` gives each observable's axis by name."""
    out: list[Observable] = []
    for slot, name in enumerate(object_names):
        for feature, (_, symbol, unit) in FEATURES.items():
            if feature == "m" and name in constant_mass_objects:
                continue
            full = f"{feature}_{name}"
            out.append(Observable(full, axis_label(symbol % name, unit),
                                  object_feature(slot, feature), periodic=feature == "phi",
                                  axis=axis_of(full)))
    for (sa, na), (sb, nb) in combinations(list(enumerate(object_names)), 2):
        full = f"delta_r_{na}{nb}"
        out.append(Observable(full, axis_label(rf"\Delta R_{{{na}{nb}}}", ""),
                              object_pair(sa, sb, "delta_r"), axis=axis_of(full)))
    out.append(Observable("multiplicity", "multiplicity", multiplicity, discrete=True))
    return out
