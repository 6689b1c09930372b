"""Object features (N, P, 4) -> the network's flat vector (N, D), dropping what is fixed."""

from __future__ import annotations

import math

import torch

from lhcgen import noise
from lhcgen.transforms.base import Transform

FEATURE_NAMES = ("pt", "eta", "phi", "m")


class Flatten(Transform):
    """Keep the (slot, feature) pairs of ``layout`` in that order; refill the rest on inverse.

    Dropped features are either fixed (a muon's mass, refilled with ``fixed[(slot, f)]``) or
    symmetric (the reference phi, drawn uniformly in [-pi, pi) from ``generator``). The map
    is a projection onto the kept coordinates, so log|det| = 0 and the density is defined on
    them (a uniform phi adds -log(2 pi) to a full likelihood).
    """

    def __init__(self, layout: list[tuple[int, int]], n_slots: int,
                 fixed: dict[tuple[int, int], float], uniform_phi: list[int]):
        self.layout = list(layout)
        self.n_slots = n_slots
        self.fixed = dict(fixed)
        self.uniform_phi = list(uniform_phi)
        self.slot_index = torch.tensor([s for s, _ in self.layout])
        self.feature_index = torch.tensor([f for _, f in self.layout])

    @property
    def dim(self) -> int:
        return len(self.layout)

    def dims_mask(self, mask: torch.Tensor) -> torch.Tensor:
        """(N, P) object mask -> (N, D) mask of the flat coordinates that exist."""
        return mask[:, self.slot_index.to(mask.device)]

    def forward(self, x, mask):
        y = x[:, self.slot_index.to(x.device), self.feature_index.to(x.device)]
        y = y * self.dims_mask(mask)
        return y, torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)

    def inverse(self, y, mask, generator=None):
        n = y.shape[0]
        x = torch.zeros(n, self.n_slots, 4, dtype=y.dtype, device=y.device)
        x[:, self.slot_index.to(y.device), self.feature_index.to(y.device)] = y
        for (slot, feature), value in self.fixed.items():
            x[:, slot, feature] = value
        for slot in self.uniform_phi:
            u = noise.rand((n,), generator, y.dtype).to(y.device)
            x[:, slot, 2] = (2 * u - 1) * math.pi
        return x * mask[..., None]
