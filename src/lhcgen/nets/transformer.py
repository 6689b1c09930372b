"""Transformer over objects: one token per object, built from that object's coordinates."""

from __future__ import annotations

import torch
from torch import nn


class ObjectTransformer(nn.Module):
    """(N, D) flat coordinates -> (N, D), attending between objects.

    ``layout`` gives the object slot of each of the D coordinates. Each object's coordinates
    (zero-padded to the longest object) plus a learned slot embedding and the context make
    its token; missing objects are masked out of the attention. A final linear map per slot
    reads the token back into that object's coordinates.
    """

    def __init__(self, layout_slots: list[int], context: int, hidden: int = 128,
                 layers: int = 4, heads: int = 4, dropout: float = 0.0):
        super().__init__()
        slots = torch.tensor(layout_slots)
        self.n_slots = int(slots.max()) + 1
        position = torch.zeros_like(slots)
        for s in range(self.n_slots):
            position[slots == s] = torch.arange(int((slots == s).sum()))
        self.width = int(position.max()) + 1
        self.register_buffer("slots", slots)
        self.register_buffer("position", position)
        self.embed = nn.Linear(self.width, hidden)
        self.slot_embedding = nn.Parameter(torch.randn(self.n_slots, hidden) * 0.02)
        self.context = nn.Linear(context, hidden)
        layer = nn.TransformerEncoderLayer(hidden, heads, dim_feedforward=2 * hidden,
                                           dropout=dropout, activation="gelu",
                                           batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(hidden)
        self.read = nn.Linear(hidden, self.width)

    def tokens(self, x: torch.Tensor) -> torch.Tensor:
        """(N, D) -> (N, n_slots, width), zero where a slot has fewer coordinates."""
        out = x.new_zeros(x.shape[0], self.n_slots, self.width)
        out[:, self.slots, self.position] = x
        return out

    def forward(self, x: torch.Tensor, c: torch.Tensor,
                dims_mask: torch.Tensor | None = None) -> torch.Tensor:
        h = self.embed(self.tokens(x)) + self.slot_embedding[None] + self.context(c)[:, None]
        padding = None
        if dims_mask is not None:
            present = torch.zeros(x.shape[0], self.n_slots, dtype=torch.bool, device=x.device)
            present[:, self.slots] = dims_mask
            padding = ~present
        h = self.encoder(h, src_key_padding_mask=padding)
        out = self.read(self.norm(h))
        return out[:, self.slots, self.position]
