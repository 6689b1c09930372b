"""The generator interface every model implements, and the batch it trains on."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from lhcgen.errors import LhcgenError


@dataclass
class Batch:
    """Events in network coordinates.

    x: (N, D) float32 for events, (N, P, F) for particle clouds; dims_mask: the shape of x,
    bool, coordinates that exist (padded jets and particles do not); multiplicity: (N,) long,
    the discrete condition (the jet multiplicity of an event, the type of a jet); weights:
    (N,) float32 MC event weights; context: (N, C) float32 continuous conditions (a jet's
    kinematics) or None.
    """

    x: torch.Tensor
    dims_mask: torch.Tensor
    multiplicity: torch.Tensor
    weights: torch.Tensor
    context: torch.Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        return Batch(self.x.to(device), self.dims_mask.to(device),
                     self.multiplicity.to(device), self.weights.to(device),
                     None if self.context is None else self.context.to(device))

    def rows(self, index) -> Batch:
        """The events ``index`` (a slice or an index tensor)."""
        return Batch(self.x[index], self.dims_mask[index], self.multiplicity[index],
                     self.weights[index], None if self.context is None else self.context[index])


class Generator(nn.Module):
    """A conditional generative model of (N, D) vectors given the jet multiplicity.

    ``loss(batch)`` is the training objective (a scalar). How it is sampled, ``sampling``:
    "ode" (the model has ``velocity``), "diffusion" (``predict_noise`` and ``alpha_bar``) or
    "direct" (``sample_direct``); ``lhcgen.solvers.sample(model, ...)`` samples any of them
    and returns (x, info) with info["nfe"] the network evaluations. Models with a tractable
    density set ``has_density``; ``lhcgen.solvers.log_prob(model, batch)`` gives
    log p(x | multiplicity) over the coordinates that exist (``dims_mask``), in network
    coordinates, per event, float64.
    """

    has_density = False
    sampling = "direct"
    name = ""
    """The registry name (models/registry.py); its file holds the sampler spec."""

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

    def sample_direct(self, multiplicity: torch.Tensor, dims_mask: torch.Tensor,
                      generator: torch.Generator | None = None,
                      **options) -> tuple[torch.Tensor, dict]:
        """One-pass sampling of a "direct" model (call ``lhcgen.solvers.sample``)."""
        raise NotImplementedError

    def log_prob(self, batch: Batch, generator: torch.Generator | None = None,
                 **options) -> torch.Tensor:
        """The density of a "direct" model (call ``lhcgen.solvers.log_prob``)."""
        raise LhcgenError(f"{type(self).__name__} has no tractable density")
