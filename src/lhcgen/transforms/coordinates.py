"""What a network's coordinates are: made by a preprocessing, read by the generators."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Coordinates:
    """What the network's D coordinates are.

    slots: the object slot of each coordinate (coordinates of absent objects are masked);
    periods: the period of each periodic coordinate (an azimuthal angle) in network units,
    None where the coordinate is not periodic.
    """

    slots: tuple[int, ...]
    periods: tuple[float | None, ...]

    def __post_init__(self) -> None:
        if len(self.slots) != len(self.periods):
            raise ValueError("slots and periods must have one entry per coordinate")

    @property
    def dim(self) -> int:
        return len(self.slots)

    @classmethod
    def plain(cls, slots: list[int]) -> Coordinates:
        """Coordinates without periodic ones."""
        return cls(tuple(slots), (None,) * len(slots))
