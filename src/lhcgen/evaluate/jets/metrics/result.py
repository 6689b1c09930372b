"""The value every JetNet metric returns: value, uncertainty, and the settings that made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from lhcgen.errors import LhcgenError


@dataclass(frozen=True)
class MetricResult:
    """One metric: ``value`` +- ``error`` (meaning of the error in ``error_kind``).

    ``settings`` records what is needed to reproduce the number: sample sizes, batch sizes
    and counts, the seed. ``parts`` holds per-feature (or per-EFP) (label, value, error)
    where the metric is a mean over features.
    """

    name: str
    value: float
    error: float
    error_kind: str
    settings: dict[str, Any] = field(default_factory=dict)
    parts: tuple[tuple[str, float, float], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        out: dict[str, Any] = {"value": self.value, "error": self.error,
                               "error_kind": self.error_kind, "settings": dict(self.settings)}
        if self.parts:
            out["parts"] = {label: {"value": v, "error": e} for label, v, e in self.parts}
        return out


def draw_jets(rng: np.random.Generator, n: int, size: int,
              weights: np.ndarray | None = None) -> np.ndarray:
    """``size`` jet indices in 0..n-1 drawn with replacement: uniformly, as jetnet, or, for
    unequal positive event weights, with probability proportional to the weight (so a
    weighted sample is judged as the distribution it stands for)."""
    if weights is None or np.ptp(weights) == 0:
        return rng.choice(n, size=size)
    if np.any(weights < 0):
        raise LhcgenError("the JetNet metrics resample jets by weight and cannot take "
                          "negative weights; unweight the sample first")
    return rng.choice(n, size=size, p=weights / weights.sum())


def require_samples(metric: str, needed: int, sizes: dict[str, int], option: str) -> None:
    """Raise a one-line ``LhcgenError`` if any sample has fewer than ``needed`` entries."""
    if needed < 1:
        raise LhcgenError(f"{metric}: {option} must be at least 1, got {needed}")
    for which, size in sizes.items():
        if size < needed:
            raise LhcgenError(f"{metric} needs at least {needed} jets in each sample "
                              f"({option}), the {which} sample has {size}: give more jets "
                              f"or a smaller {option}")


def ratio_to_floor(value: float | None, floor: dict[str, float | None]) -> float | None:
    """``value`` / max(floor value, floor error): the floor's error is the scale where the
    floor is at or below it (KPD and FPD are often ≤ 0 between two truth samples); None where
    the value is missing, that scale is not positive, or the ratio is not finite."""
    scale = max(floor["value"] or 0.0, floor["error"] or 0.0)
    if value is None or not scale > 0:
        return None
    ratio = value / scale
    return float(ratio) if np.isfinite(ratio) else None


def ratio_to_floor_error(value: float | None, error: float | None,
                         floor: dict[str, float | None]) -> float | None:
    """The standard error of ``ratio_to_floor(value, floor)``, to first order: where the
    floor's value is the scale, the value's and the floor's errors both propagate,

        sigma_r = sqrt(error^2 + r^2 floor_error^2) / floor_value,   r = value / floor_value,

    (the two samples' errors taken as independent, though both use the truth jets); where
    the floor's error is the scale (a floor at or below its error), it is a convention, not a
    measurement, and only the value's error counts, error / floor_error. None where the ratio
    or the value's error is undefined. A floor known to 50 % leaves the ratio's distribution
    skewed: read sigma_r as a scale, not a Gaussian width."""
    ratio = ratio_to_floor(value, floor)
    if ratio is None or error is None or not np.isfinite(error):
        return None
    floor_value, floor_error = floor["value"] or 0.0, floor["error"] or 0.0
    if floor_value > floor_error:
        sigma = np.hypot(error, ratio * floor_error) / floor_value
    else:
        sigma = error / floor_error
    return float(sigma) if np.isfinite(sigma) else None
