"""Learning-rate schedules as multiplicative factors of the base rate per step."""

from __future__ import annotations

import math

import torch


def lr_factor(step: int, total: int, warmup: int, kind: str) -> float:
    """Linear warm-up over ``warmup`` steps, then: cosine decay to zero ("cosine"),
    linear decay to zero ("onecycle"), or flat ("constant")."""
    if warmup > 0 and step < warmup:
        return (step + 1) / warmup
    if kind == "constant":
        return 1.0
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    if kind == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * progress))
    if kind == "onecycle":
        return 1.0 - progress
    raise ValueError(f"unknown schedule {kind}")


def make_scheduler(optimizer: torch.optim.Optimizer, total: int, warmup: int,
                   kind: str) -> torch.optim.lr_scheduler.LambdaLR:
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, total, warmup, kind))
