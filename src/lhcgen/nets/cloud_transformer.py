"""Transformer over a particle cloud: permutation equivariant, masked, no positions.

The backbone of PC-JeDi (Leigh et al., arXiv:2303.05376): every particle is a token; a
context token made from the per-jet context c joins the sequence, so each particle (and an
empty jet) always has a key to attend to, and FiLM of c modulates every block. With
``pair_coordinates`` the particles' pairwise distances in their first input features bias
every attention logit between two particles, as in ParT (nets/pair_bias.py); the context
token's logits are not biased.
"""

from __future__ import annotations

import torch
from torch import nn

from lhcgen.nets.cloud_attention import AttentionBlock
from lhcgen.nets.pair_bias import PairDistanceBias


class CloudTransformer(nn.Module):
    """x (N, P, in_features), mask (N, P) bool, context (N, context_dim) -> (N, P, out_features).

    ``mask`` is True at real particles. Padded particles are keys of no attention and the
    output is exactly zero there; cost O(P^2) per jet. ``pair_coordinates`` > 0: the first
    that many input features place a particle (for jets the angular coordinates), and a
    learned function of the distances between particles biases their attention (0: none).
    """

    def __init__(self, in_features: int, out_features: int, context_dim: int, dim: int = 128,
                 heads: int = 4, layers: int = 4, ff_mult: int = 2, pair_coordinates: int = 0):
        super().__init__()
        if not 0 <= pair_coordinates <= in_features:
            raise ValueError(f"pair_coordinates {pair_coordinates} is not among the "
                             f"{in_features} input features")
        self.pairs = (PairDistanceBias(pair_coordinates, context_dim, heads, layers)
                      if pair_coordinates else None)
        self.embed = nn.Linear(in_features, dim)
        self.context_token = nn.Linear(context_dim, dim)
        self.blocks = nn.ModuleList(AttentionBlock(dim, heads, ff_mult, context_dim)
                                    for _ in range(layers))
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, out_features))

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                context: torch.Tensor) -> torch.Tensor:
        padded = ~mask[..., None]
        x = x.masked_fill(padded, 0.0)
        h = self.embed(x)
        h = torch.cat([self.context_token(context)[:, None], h], dim=1)  # (N, 1 + P, dim)
        keys = torch.cat([mask.new_ones(mask.shape[0], 1), mask], dim=1)
        biases = [None] * len(self.blocks)
        if self.pairs is not None:  # (N, layers, heads, 1 + P, 1 + P), 0 at the context token
            biases = nn.functional.pad(self.pairs(x, context), (1, 0, 1, 0)).unbind(1)
        for block, bias in zip(self.blocks, biases, strict=True):
            h = block(h, context, key_mask=keys, bias=bias)
        return self.head(h[:, 1:]).masked_fill(padded, 0.0)
