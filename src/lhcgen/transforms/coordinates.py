"""What a network's coordinates are: made by a preprocessing, read by the generators."""

from __future__ import annotations

from dataclasses import dataclass

from lhcgen.transforms.cloud_decoding import CloudDecoding


@dataclass(frozen=True)
class Coordinates:
    """What the network's D coordinates are.

    slots: the object slot of each coordinate (coordinates of absent objects are masked);
    periods: the period of each periodic coordinate (an azimuthal angle) in network units,
    None where the coordinate is not periodic.
    particles: 0 for events, a flat vector of D coordinates; P > 0 for particle clouds,
    (P, D) with one row per particle slot (``slots`` then are all 0: D features per particle).
    context: the number of continuous conditions (``Batch.context``) the network receives.
    angular: clouds: the first ``angular`` coordinates of a particle place it in the
    (eta, phi) plane, so that their Euclidean distance between two particles grows with the
    particles' Delta R (the pair biases of ``model.pair_bias``); 0: no such coordinates.
    decoding: jets as particle clouds: how a particle's coordinates decode into its
    (Delta eta, Delta phi, pT_rel), in torch (the constituents' mass in
    ``model.edm.mass_loss``); None: no such decoding.
    """

    slots: tuple[int, ...]
    periods: tuple[float | None, ...]
    particles: int = 0
    context: int = 0
    angular: int = 0
    decoding: CloudDecoding | None = None

    def __post_init__(self) -> None:
        if len(self.slots) != len(self.periods):
            raise ValueError("slots and periods must have one entry per coordinate")

    @property
    def dim(self) -> int:
        """Coordinates per event (events) or per particle (clouds)."""
        return len(self.slots)

    @property
    def is_cloud(self) -> bool:
        return self.particles > 0

    @classmethod
    def cloud(cls, particles: int, features: int, context: int, angular: int = 0,
              decoding: CloudDecoding | None = None) -> Coordinates:
        """A particle cloud of ``particles`` slots with ``features`` coordinates each, the
        first ``angular`` of them the particle's place in the (eta, phi) plane, decoded into
        constituents by ``decoding`` (if given)."""
        if not 0 <= angular <= features:
            raise ValueError(f"{angular} angular coordinates among {features}")
        return cls((0,) * features, (None,) * features, particles, context, angular,
                   decoding)

    @classmethod
    def plain(cls, slots: list[int]) -> Coordinates:
        """Coordinates without periodic ones."""
        return cls(tuple(slots), (None,) * len(slots))
