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


def _resolution(floor: dict[str, float | None]) -> float:
    """What one truth sample resolves of the floor: its ``resolution`` where given (a floor
    averaged over several truth samples: one sample's error, while its ``error`` is the
    mean's), else its ``error``."""
    resolution = floor.get("resolution")
    return (floor["error"] if resolution is None else resolution) or 0.0


def ratio_to_floor(value: float | None, floor: dict[str, float | None]) -> float | None:
    """``value`` / max(floor value, floor error): the floor's error is the scale where the
    floor is at or below it (KPD and FPD are often ≤ 0 between two truth samples); None where
    the value is missing, that scale is not positive, or the ratio is not finite. A floor
    averaged over several truth samples gives its ``resolution`` (one sample's error) beside
    the mean's ``error``: the scale is then max(mean, resolution), the same convention for a
    mean as for one sample (``mean_of_draws``)."""
    scale = max(floor["value"] or 0.0, _resolution(floor))
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
    floor_value, resolution = floor["value"] or 0.0, _resolution(floor)
    if floor_value > resolution:
        sigma = np.hypot(error, ratio * (floor["error"] or 0.0)) / floor_value
    else:
        sigma = error / resolution
    return float(sigma) if np.isfinite(sigma) else None


def mean_of_draws(samples: list[dict[str, float | None]]) -> dict[str, float] | None:
    """The mean of one metric over independent draws ({"value", "error"} each), as
    {"value": the mean, "error": its standard error, "resolution": one draw's error, "n"}.
    Draws of the truth judged against the same truth (the floor and more samples) give a
    floor for ``ratio_to_floor`` and ``ratio_to_floor_error``; draws of a generator (its
    sampling seeds) give the value to divide. One floor is a draw known to its own error
    (25-60 % at 5000-10000 jets of 150 particles); the mean of n is known √n times better,
    so a ratio to it can tell 3x from 2.5x. The standard error is the larger of the draws'
    scatter (standard deviation) and the root mean square of their own errors, over √n: with
    a few draws the scatter alone can come out small by chance. One draw gives back its value
    and error. Draws without a value or error are left out; None where none is left."""
    kept = [s for s in samples if s.get("value") is not None and s.get("error") is not None]
    if not kept:
        return None
    values = np.array([s["value"] for s in kept], dtype=np.float64)
    errors = np.array([s["error"] for s in kept], dtype=np.float64)
    resolution = float(np.sqrt(np.mean(errors ** 2)))
    n = len(kept)
    spread = float(values.std(ddof=1)) if n > 1 else 0.0
    error = max(spread, resolution) / np.sqrt(n)
    return {"value": float(values.mean()), "error": float(error), "resolution": resolution,
            "n": n}
