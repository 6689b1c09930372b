"""Embeddings of scalars (diffusion time) into feature vectors."""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierTimeEmbedding(nn.Module):
    """t in [0, 1] -> [sin(2 pi f_k t), cos(2 pi f_k t)] with log-spaced frequencies f_k.

    Frequencies run from 1/2 to ``max_frequency`` so the network resolves both the slow
    and the fast changes of the velocity field along t. Output: (N, dim).
    """

    def __init__(self, dim: int, max_frequency: float = 64.0):
        super().__init__()
        if dim % 2:
            raise ValueError("time embedding dimension must be even")
        freqs = torch.exp(torch.linspace(math.log(0.5), math.log(max_frequency), dim // 2))
        self.register_buffer("freqs", 2 * math.pi * freqs)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        arg = t[:, None] * self.freqs[None, :]
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)
