"""Masked multi-head attention and the pre-norm block shared by the particle-cloud nets.

Particle clouds are padded to a common length P with a mask (N, P), True at real particles.
Attention masks the keys of padded particles; a query whose keys are all padding (an empty
jet) gets a zero update instead of the NaN of a softmax over nothing. Context (a per-jet
vector) modulates every block by FiLM (Perez et al., arXiv:1709.07871) of its normed input.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import scaled_dot_product_attention


class MaskedAttention(nn.Module):
    """Queries (N, Q, dim) attend to keys and values (N, K, dim) -> (N, Q, dim).

    ``key_mask`` (N, K) bool, True at keys that take part; None lets every key take part.
    ``bias`` (N, heads, Q, K) is added to the attention logits (nets/pair_bias.py).
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"attention width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.query = nn.Linear(dim, dim)
        self.key_value = nn.Linear(dim, 2 * dim)
        self.out = nn.Linear(dim, dim)

    def _split(self, h: torch.Tensor) -> torch.Tensor:
        """(N, L, dim) -> (N, heads, L, dim / heads)."""
        return h.unflatten(-1, (self.heads, -1)).transpose(1, 2)

    def forward(self, q: torch.Tensor, kv: torch.Tensor, key_mask: torch.Tensor | None = None,
                bias: torch.Tensor | None = None) -> torch.Tensor:
        query = self._split(self.query(q))
        key, value = (self._split(h) for h in self.key_value(kv).chunk(2, dim=-1))
        if key_mask is None:
            return self.out(scaled_dot_product_attention(query, key, value, attn_mask=bias)
                            .transpose(1, 2).flatten(2))
        present = key_mask.any(dim=-1)
        allowed = (key_mask | ~present[:, None])[:, None, None, :]  # empty rows: then zeroed
        attn_mask = allowed if bias is None else bias.masked_fill(~allowed, float("-inf"))
        out = scaled_dot_product_attention(query, key, value, attn_mask=attn_mask)
        out = out.masked_fill(~present[:, None, None, None], 0.0)
        return self.out(out.transpose(1, 2).flatten(2))


class AttentionBlock(nn.Module):
    """Pre-norm attention block with FiLM context: (N, Q, dim) queries -> (N, Q, dim).

    q <- q + Attn(FiLM(LN q), LN kv); q <- q + FF(FiLM(LN q)). Without ``kv`` (``cross`` off)
    it is self-attention of q on itself. Context c: (N, context_dim); ``bias`` (N, heads, Q, K)
    is added to the attention logits.
    """

    def __init__(self, dim: int, heads: int, ff_mult: int, context_dim: int,
                 cross: bool = False):
        super().__init__()
        self.norm_q = nn.LayerNorm(dim, elementwise_affine=False)
        self.norm_kv = nn.LayerNorm(dim) if cross else None
        self.attention = MaskedAttention(dim, heads)
        self.norm_ff = nn.LayerNorm(dim, elementwise_affine=False)
        self.ff = nn.Sequential(nn.Linear(dim, ff_mult * dim), nn.GELU(),
                                nn.Linear(ff_mult * dim, dim))
        self.film = nn.Linear(context_dim, 4 * dim)

    def forward(self, q: torch.Tensor, c: torch.Tensor, kv: torch.Tensor | None = None,
                key_mask: torch.Tensor | None = None,
                bias: torch.Tensor | None = None) -> torch.Tensor:
        scale_a, shift_a, scale_f, shift_f = self.film(c)[:, None].chunk(4, dim=-1)
        h = self.norm_q(q) * (1 + scale_a) + shift_a
        if self.norm_kv is None:
            if kv is not None:
                raise ValueError("a self-attention block takes no separate keys")
            keys = h
        else:
            if kv is None:
                raise ValueError("a cross-attention block needs keys")
            keys = self.norm_kv(kv)
        q = q + self.attention(h, keys, key_mask, bias)
        return q + self.ff(self.norm_ff(q) * (1 + scale_f) + shift_f)
