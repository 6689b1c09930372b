"""Bounded coordinates mapped onto the real line, so generated values respect the bound."""

from __future__ import annotations

import math

import torch

from lhcgen.transforms.base import Transform


class ArcTanh(Transform):
    """One feature of one slot in (-bound, bound) -> arctanh(x / bound).

    A generated value can then never leave the interval (e.g. muons with |eta| < 2.5, or
    cos theta* in (-1, 1)). log|det| = -log(bound) - log(1 - c^2) with c = x / bound, per
    event; objects absent in ``mask`` are left unchanged and contribute 0.
    """

    def __init__(self, slot: int, feature: int, bound: float = 1.0, margin: float = 1e-12):
        if bound <= 0:
            raise ValueError(f"bound must be positive, got {bound}")
        self.slot, self.feature, self.bound, self.margin = slot, feature, bound, margin

    def forward(self, x, mask):
        present = mask[:, self.slot]
        c = (x[:, self.slot, self.feature] / self.bound).clamp(-1 + self.margin,
                                                               1 - self.margin)
        y = x.clone()
        y[:, self.slot, self.feature] = torch.where(present, torch.atanh(c),
                                                    x[:, self.slot, self.feature])
        logdet = -math.log(self.bound) - torch.log1p(-(c**2))
        return y, torch.where(present, logdet, torch.zeros_like(logdet))

    def inverse(self, y, mask, generator=None):
        x = y.clone()
        value = self.bound * torch.tanh(y[:, self.slot, self.feature])
        x[:, self.slot, self.feature] = torch.where(mask[:, self.slot], value,
                                                    y[:, self.slot, self.feature])
        return x
