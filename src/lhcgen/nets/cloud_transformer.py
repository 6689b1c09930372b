"""Transformer over a particle cloud: permutation equivariant, masked, no positions.

The backbone of PC-JeDi (Leigh et al., arXiv:2303.05376): every particle is a token; a
context token made from the per-jet context c joins the sequence, so each particle (and an
empty jet) always has a key to attend to, and FiLM of c modulates every block.
"""

from __future__ import annotations

import torch
from torch import nn

from lhcgen.nets.cloud_attention import AttentionBlock


class CloudTransformer(nn.Module):
    """x (N, P, in_features), mask (N, P) bool, context (N, context_dim) -> (N, P, out_features).

    ``mask`` is True at real particles. Padded particles are keys of no attention and the
    output is exactly zero there; cost O(P^2) per jet.
    """

    def __init__(self, in_features: int, out_features: int, context_dim: int, dim: int = 128,
                 heads: int = 4, layers: int = 4, ff_mult: int = 2):
        super().__init__()
        self.embed = nn.Linear(in_features, dim)
        self.context_token = nn.Linear(context_dim, dim)
        self.blocks = nn.ModuleList(AttentionBlock(dim, heads, ff_mult, context_dim)
                                    for _ in range(layers))
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, out_features))

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                context: torch.Tensor) -> torch.Tensor:
        padded = ~mask[..., None]
        h = self.embed(x.masked_fill(padded, 0.0))
        h = torch.cat([self.context_token(context)[:, None], h], dim=1)  # (N, 1 + P, dim)
        keys = torch.cat([mask.new_ones(mask.shape[0], 1), mask], dim=1)
        for block in self.blocks:
            h = block(h, context, key_mask=keys)
        return self.head(h[:, 1:]).masked_fill(padded, 0.0)
