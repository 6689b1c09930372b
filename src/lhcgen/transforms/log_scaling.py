"""Logarithmic maps of positive quantities: pT above its cut and the jet mass.

Both turn a steeply falling spectrum into a near-Gaussian one (arXiv:2305.10475).
"""

from __future__ import annotations

import torch

from lhcgen.transforms.base import Transform

PT, MASS = 0, 3


class LogShift(Transform):
    """One feature of selected object slots: v -> log(v - shift + epsilon).

    ``slots`` are the object slots the map applies to; ``feature`` the index in the last
    axis. For pT, ``shift`` is the cut, so the generated pT = exp(y) + shift - epsilon stays
    above the cut up to epsilon. log|det| = -sum log(v - shift + epsilon).
    """

    def __init__(self, feature: int, slots: list[int], shift: float, epsilon: float):
        self.feature, self.slots = feature, list(slots)
        self.shift, self.epsilon = shift, epsilon

    def forward(self, x, mask):
        y = x.clone()
        sel = mask[:, self.slots]
        arg = x[:, self.slots, self.feature] - self.shift + self.epsilon
        safe = torch.where(sel, arg, torch.ones_like(arg))
        value = torch.log(safe)  # NaN where arg <= 0 on a real object: caught by the caller
        y[:, self.slots, self.feature] = torch.where(sel, value, 0.0)
        return y, -(torch.where(sel, value, 0.0)).sum(-1)

    def inverse(self, y, mask, generator=None):
        x = y.clone()
        sel = mask[:, self.slots]
        value = torch.exp(y[:, self.slots, self.feature]) + self.shift - self.epsilon
        x[:, self.slots, self.feature] = torch.where(sel, value, 0.0)
        return x


def log_pt_shift(slots: list[int], pt_min: float, epsilon: float) -> LogShift:
    """pT -> log(pT - pT_min + epsilon)."""
    return LogShift(PT, slots, pt_min, epsilon)


def log_mass(slots: list[int], epsilon: float) -> LogShift:
    """m -> log(m + epsilon); generated masses below zero are clamped to zero."""
    return _LogMass(MASS, slots, 0.0, epsilon)


class _LogMass(LogShift):
    def inverse(self, y, mask, generator=None):
        x = super().inverse(y, mask, generator)
        x[..., MASS] = torch.clamp(x[..., MASS], min=0.0)
        return x
