"""The value every JetNet metric returns: value, uncertainty, and the settings that made it."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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


def require_samples(metric: str, needed: int, sizes: dict[str, int], option: str) -> None:
    """Raise a one-line ``LhcgenError`` if any sample has fewer than ``needed`` entries."""
    if needed < 1:
        raise LhcgenError(f"{metric}: {option} must be at least 1, got {needed}")
    for which, size in sizes.items():
        if size < needed:
            raise LhcgenError(f"{metric} needs at least {needed} jets in each sample "
                              f"({option}), the {which} sample has {size}: give more jets "
                              f"or a smaller {option}")
