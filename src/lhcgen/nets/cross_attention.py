"""Cross-attention encoder (CAE) of PC-Droid: particles talk through M global tokens.

Leigh et al., "PC-Droid", arXiv:2307.06836 (after the induced-set attention of the Set
Transformer, Lee et al., arXiv:1810.00825). In each layer M learned global tokens, shifted by
the per-jet context, attend to the real particles; then every particle attends to the M
tokens. Both steps cost O(P M) per jet instead of the O(P^2) of self-attention.
"""

from __future__ import annotations

import torch
from torch import nn

from lhcgen.nets.cloud_attention import AttentionBlock


class CrossAttentionEncoder(nn.Module):
    """x (N, P, in_features), mask (N, P) bool, context (N, context_dim) -> (N, P, out_features).

    ``mask`` is True at real particles. Padded particles are keys of no attention and the
    output is exactly zero there; an empty jet leaves the global tokens unchanged.
    """

    def __init__(self, in_features: int, out_features: int, context_dim: int, dim: int = 128,
                 heads: int = 4, layers: int = 3, global_tokens: int = 16, ff_mult: int = 2):
        super().__init__()
        self.embed = nn.Linear(in_features, dim)
        self.tokens = nn.Parameter(torch.randn(global_tokens, dim) * 0.02)
        self.token_context = nn.Linear(context_dim, dim)
        self.gather = nn.ModuleList(AttentionBlock(dim, heads, ff_mult, context_dim, cross=True)
                                    for _ in range(layers))
        self.scatter = nn.ModuleList(AttentionBlock(dim, heads, ff_mult, context_dim,
                                                    cross=True) for _ in range(layers))
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, out_features))

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                context: torch.Tensor) -> torch.Tensor:
        padded = ~mask[..., None]
        h = self.embed(x.masked_fill(padded, 0.0))  # (N, P, dim)
        g = self.tokens[None] + self.token_context(context)[:, None]  # (N, M, dim)
        for gather, scatter in zip(self.gather, self.scatter, strict=True):
            g = gather(g, context, kv=h, key_mask=mask)
            h = scatter(h, context, kv=g)
        return self.head(h).masked_fill(padded, 0.0)
