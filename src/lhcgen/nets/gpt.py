"""A small pre-norm causal transformer (GPT) with a key/value cache.

Blocks as in GPT-2 (Radford et al. 2019): h += Attention(LN(h)); h += MLP(LN(h)), a final
LayerNorm, causal multi-head self-attention (Vaswani et al., arXiv:1706.03762). Used by
JetGPT (Butter et al., arXiv:2305.10475; models/jetgpt.py).

Built only from nn.Linear, nn.LayerNorm and nn.Dropout, and every linear map is called as a
module (no nn.MultiheadAttention or functional linear), so that swapping each nn.Linear for a
Bayesian layer (nets/bayesian.py) covers the whole network. The tokens carry their own
position information (the caller adds it), so the transformer has no positional embedding.

``forward(tokens, cache=None)``: without a cache, one causal pass over the whole sequence.
With a ``KVCache`` the tokens are the next positions after those already cached: they attend
to the cached keys and values and to each other causally, and their keys and values are
appended to the cache. Feeding a sequence in pieces through one cache gives the outputs of
the full pass.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import nn


@dataclass
class KVCache:
    """Keys and values of every layer for the positions seen so far, each
    (N, heads, length, head_dim). Start with ``KVCache()``; ``CausalTransformer`` fills it."""

    keys: list[torch.Tensor] = field(default_factory=list)
    values: list[torch.Tensor] = field(default_factory=list)

    @property
    def length(self) -> int:
        """Number of cached positions."""
        return self.keys[0].shape[-2] if self.keys else 0


def causal_mask(length: int, past: int, device: torch.device | None = None) -> torch.Tensor:
    """(length, past + length) bool: query t (absolute position past + t) sees key s <= past + t.
    """
    query = torch.arange(length, device=device)[:, None] + past
    key = torch.arange(past + length, device=device)[None, :]
    return key <= query


class CausalSelfAttention(nn.Module):
    def __init__(self, hidden: int, heads: int, dropout: float = 0.0):
        super().__init__()
        if hidden % heads:
            raise ValueError(f"the token width {hidden} is not divisible by {heads} heads")
        self.heads, self.dropout = heads, dropout
        self.qkv = nn.Linear(hidden, 3 * hidden)
        self.out = nn.Linear(hidden, hidden)

    def forward(self, h: torch.Tensor, mask: torch.Tensor,
                past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """h (N, T, H); mask (T, past + T); past: cached (keys, values) or None.
        Returns the output (N, T, H) and the keys and values of all positions so far."""
        n, t, width = h.shape
        q, k, v = (part.reshape(n, t, self.heads, width // self.heads).transpose(1, 2)
                   for part in self.qkv(h).split(width, dim=-1))
        if past is not None:
            k, v = torch.cat([past[0], k], dim=2), torch.cat([past[1], v], dim=2)
        a = nn.functional.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0)
        return self.out(a.transpose(1, 2).reshape(n, t, width)), (k, v)


class Block(nn.Module):
    """Pre-norm transformer block: attention and a GELU MLP (4x wider), both residual."""

    def __init__(self, hidden: int, heads: int, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(hidden)
        self.attention = CausalSelfAttention(hidden, heads, dropout)
        self.norm2 = nn.LayerNorm(hidden)
        self.mlp_in = nn.Linear(hidden, 4 * hidden)
        self.mlp_out = nn.Linear(4 * hidden, hidden)
        self.drop = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor, mask: torch.Tensor,
                past: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        a, kv = self.attention(self.norm1(h), mask, past)
        h = h + self.drop(a)
        h = h + self.drop(self.mlp_out(nn.functional.gelu(self.mlp_in(self.norm2(h)))))
        return h, kv


class CausalTransformer(nn.Module):
    """(N, T, hidden) tokens -> (N, T, hidden) final-normalised hidden states; the output at
    position t depends only on the tokens at positions <= t."""

    def __init__(self, hidden: int = 128, layers: int = 4, heads: int = 4,
                 dropout: float = 0.0):
        super().__init__()
        self.blocks = nn.ModuleList(Block(hidden, heads, dropout) for _ in range(layers))
        self.norm = nn.LayerNorm(hidden)

    def forward(self, tokens: torch.Tensor, cache: KVCache | None = None) -> torch.Tensor:
        past = cache.length if cache is not None else 0
        mask = causal_mask(tokens.shape[1], past, tokens.device)
        h = tokens
        keys, values = [], []
        for i, block in enumerate(self.blocks):
            previous = (cache.keys[i], cache.values[i]) if past else None
            h, (k, v) = block(h, mask, previous)
            keys.append(k)
            values.append(v)
        if cache is not None:
            cache.keys, cache.values = keys, values
        return self.norm(h)
