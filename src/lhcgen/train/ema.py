"""Exponential moving average of a model's weights, used for validation and sampling."""

from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """theta_ema <- d theta_ema + (1 - d) theta, with d ramped up as min(decay, (1+n)/(10+n))
    so early averages are not dominated by the random initialisation."""

    def __init__(self, model: nn.Module, decay: float):
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        self.model.requires_grad_(False)
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        ours, theirs = list(self.model.parameters()), list(model.parameters())
        if len(ours) != len(theirs):
            raise ValueError(f"EMA of {len(ours)} parameters updated from {len(theirs)}")
        # one multi-tensor kernel on a GPU instead of one launch per parameter
        torch._foreach_lerp_(ours, [p.detach() for p in theirs], 1.0 - d)
        for ema_b, b in zip(self.model.buffers(), model.buffers(), strict=True):
            ema_b.copy_(b)

    def state_dict(self) -> dict:
        return {"model": self.model.state_dict(), "updates": self.updates}

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.updates = state["updates"]
