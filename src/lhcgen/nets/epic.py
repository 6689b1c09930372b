"""EPiC: equivariant point-cloud layers, a deep set with a global vector per jet.

Buhmann, Kasieczka, Thaler, "EPiC-GAN", arXiv:2301.08128, as conditioned for flow matching
in EPiC-FM (Buhmann et al., arXiv:2310.00049). Each layer updates a global vector g from the
masked mean and the scaled masked sum of the particle features, g itself and the context c,
then every particle from its own features, g and c; both with residual connections:

    g <- LeakyReLU(g + W2 LeakyReLU(W1 [mean_p h, s sum_p h, g, c]))
    h <- LeakyReLU(h + V2 LeakyReLU(V1 [h, g, c]))
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import leaky_relu


def masked_pool(h: torch.Tensor, mask: torch.Tensor,
                sum_scale: float) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, P, D) features, (N, P) mask -> mean and ``sum_scale`` * sum over real particles,
    each (N, D); an empty jet has mean and sum zero."""
    total = h.masked_fill(~mask[..., None], 0.0).sum(dim=1)
    count = mask.sum(dim=1, keepdim=True).to(h.dtype).clamp(min=1.0)
    return total / count, total * sum_scale


class EPiCLayer(nn.Module):
    """(N, P, dim) particles and (N, global_dim) global -> both updated, under context."""

    def __init__(self, dim: int, global_dim: int, context_dim: int, sum_scale: float):
        super().__init__()
        self.sum_scale = sum_scale
        self.global_inner = nn.Linear(2 * dim + global_dim + context_dim, dim)
        self.global_outer = nn.Linear(dim, global_dim)
        self.local_inner = nn.Linear(dim + global_dim + context_dim, dim)
        self.local_outer = nn.Linear(dim, dim)

    def forward(self, h: torch.Tensor, g: torch.Tensor, mask: torch.Tensor,
                c: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, total = masked_pool(h, mask, self.sum_scale)
        z = leaky_relu(self.global_inner(torch.cat([mean, total, g, c], dim=-1)))
        g = leaky_relu(g + self.global_outer(z))
        broadcast = torch.cat([g, c], dim=-1)[:, None].expand(-1, h.shape[1], -1)
        z = leaky_relu(self.local_inner(torch.cat([h, broadcast], dim=-1)))
        return leaky_relu(h + self.local_outer(z)), g


class EPiC(nn.Module):
    """x (N, P, in_features), mask (N, P) bool, context (N, context_dim) -> (N, P, out_features).

    ``mask`` is True at real particles; pooling runs over real particles only and the output
    is exactly zero at padded slots. ``sum_scale`` multiplies the pooled sum (EPiC-GAN uses
    0.01, about one over the particle multiplicity). Cost O(P) per jet.
    """

    def __init__(self, in_features: int, out_features: int, context_dim: int, dim: int = 128,
                 global_dim: int = 16, layers: int = 4, sum_scale: float = 0.01):
        super().__init__()
        self.sum_scale = sum_scale
        self.embed = nn.Linear(in_features + context_dim, dim)
        self.embed_global = nn.Linear(2 * dim + context_dim, global_dim)
        self.layers = nn.ModuleList(EPiCLayer(dim, global_dim, context_dim, sum_scale)
                                    for _ in range(layers))
        self.head = nn.Linear(dim, out_features)

    def forward(self, x: torch.Tensor, mask: torch.Tensor,
                context: torch.Tensor) -> torch.Tensor:
        padded = ~mask[..., None]
        c = context[:, None].expand(-1, x.shape[1], -1)
        h = leaky_relu(self.embed(torch.cat([x.masked_fill(padded, 0.0), c], dim=-1)))
        mean, total = masked_pool(h, mask, self.sum_scale)
        g = leaky_relu(self.embed_global(torch.cat([mean, total, context], dim=-1)))
        for layer in self.layers:
            h, g = layer(h, g, mask, context)
        return self.head(h).masked_fill(padded, 0.0)
