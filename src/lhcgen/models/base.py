"""The generator interface every model implements, and the batch it trains on."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lhcgen.errors import LhcgenError


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


@dataclass
class Batch:
    """Events in network coordinates.

    x: (N, D) float32; dims_mask: (N, D) bool, coordinates that exist (padded jets do not);
    multiplicity: (N,) long, the condition; weights: (N,) float32 MC event weights.
    """

    x: torch.Tensor
    dims_mask: torch.Tensor
    multiplicity: torch.Tensor
    weights: torch.Tensor

    def to(self, device: torch.device) -> Batch:
        return Batch(self.x.to(device), self.dims_mask.to(device),
                     self.multiplicity.to(device), self.weights.to(device))


class Generator(nn.Module):
    """A conditional generative model of (N, D) vectors given the jet multiplicity.

    ``loss(batch)`` is the training objective (a scalar); ``sample(multiplicity, dims_mask,
    ...)`` returns (x, info) with info holding at least "nfe", the number of network
    evaluations. Models with a tractable density set ``has_density`` and implement
    ``log_prob(batch)``: log p(x | multiplicity) over the coordinates that exist (those of
    ``dims_mask``), in network coordinates, per event, float64.
    """

    has_density = False
    name = ""
    """The registry name (models/registry.py) of the model's sampler table."""

    def __init__(self, multiplicities: list[int]):
        super().__init__()
        self.multiplicities = list(multiplicities)
        self.register_buffer("_lookup", self._make_lookup(self.multiplicities))

    def resolve_sampler(self, solver: str | None,
                        steps: int | None) -> tuple[str | None, int | None]:
        """The solver and steps ``sample`` will use, defaults filled in; one clear error if
        they do not apply. Models whose limits depend on their own settings override this."""
        from lhcgen.models.registry import resolve_sampler

        return resolve_sampler(self.name, solver, steps)

    @staticmethod
    def _make_lookup(values: list[int]) -> torch.Tensor:
        lookup = torch.full((max(values) + 1,), -1, dtype=torch.long)
        lookup[torch.tensor(values)] = torch.arange(len(values))
        return lookup

    def condition_index(self, multiplicity: torch.Tensor) -> torch.Tensor:
        """Multiplicity values -> 0..K-1; a value the model was not trained on is an error."""
        m = multiplicity.long().to(self._lookup.device)
        known = (m >= 0) & (m < len(self._lookup))
        index = torch.where(known, self._lookup[m.clamp(0, len(self._lookup) - 1)], -1)
        if (index < 0).any():
            bad = sorted(set(multiplicity[index < 0].tolist()))
            raise LhcgenError(f"multiplicity {bad} was not in the training data "
                              f"(trained on {self.multiplicities})")
        return index

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def sample(self, multiplicity: torch.Tensor, dims_mask: torch.Tensor,
               generator: torch.Generator | None = None, **options) -> tuple[torch.Tensor, dict]:
        raise NotImplementedError

    def log_prob(self, batch: Batch, generator: torch.Generator | None = None,
                 **options) -> torch.Tensor:
        raise LhcgenError(f"{type(self).__name__} has no tractable density")
