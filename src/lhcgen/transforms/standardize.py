"""Per-coordinate standardisation, fitted on the training split (weighted, masked)."""

from __future__ import annotations

import torch

from lhcgen.transforms.base import Transform


class Standardize(Transform):
    """y = (x - mean) / std per flat coordinate; padded coordinates stay 0.

    ``dims_mask`` maps the object mask to the flat coordinates that exist.
    log|det| = -sum over existing coordinates of log std.
    """

    def __init__(self, dims_mask):
        self.dims_mask = dims_mask
        self.mean: torch.Tensor | None = None
        self.std: torch.Tensor | None = None

    def fit(self, x: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor) -> None:
        m = self.dims_mask(mask).to(x.dtype)
        w = weights[:, None] * m
        total = w.sum(0).clamp_min(1e-300)
        self.mean = (w * x).sum(0) / total
        var = (w * (x - self.mean) ** 2).sum(0) / total
        self.std = torch.sqrt(var).clamp_min(1e-12)

    def forward(self, x, mask):
        m = self.dims_mask(mask)
        y = torch.where(m, (x - self.mean) / self.std, 0.0)
        return y, -(torch.log(self.std) * m).sum(-1)

    def inverse(self, y, mask, generator=None):
        m = self.dims_mask(mask)
        return torch.where(m, y * self.std + self.mean, 0.0)

    def state_dict(self) -> dict:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def load_state_dict(self, state: dict) -> None:
        self.mean = torch.tensor(state["mean"], dtype=torch.float64)
        self.std = torch.tensor(state["std"], dtype=torch.float64)
