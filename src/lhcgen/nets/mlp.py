"""Residual MLP: a vector in, a vector out, with a context vector injected in every block."""

from __future__ import annotations

import torch
from torch import nn


class ResidualBlock(nn.Module):
    """h + W2 SiLU(W1 LayerNorm(h) + U c): pre-norm residual block with additive context."""

    def __init__(self, hidden: int, context: int, dropout: float = 0.0):
        super().__init__()
        self.norm = nn.LayerNorm(hidden)
        self.inner = nn.Linear(hidden, hidden)
        self.context = nn.Linear(context, hidden)
        self.outer = nn.Linear(hidden, hidden)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        z = torch.nn.functional.silu(self.inner(self.norm(h)) + self.context(c))
        return h + self.outer(self.dropout(z))


class ResidualMLP(nn.Module):
    """(N, dim) x and (N, context) c -> (N, dim)."""

    def __init__(self, dim: int, context: int, hidden: int = 256, blocks: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.embed = nn.Linear(dim + context, hidden)
        self.blocks = nn.ModuleList(ResidualBlock(hidden, context, dropout)
                                    for _ in range(blocks))
        self.head = nn.Sequential(nn.LayerNorm(hidden), nn.SiLU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, c: torch.Tensor,
                dims_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.embed(torch.cat([x, c], dim=-1))
        for block in self.blocks:
            h = block(h, c)
        return self.head(h)
