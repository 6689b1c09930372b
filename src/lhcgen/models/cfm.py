"""Conditional flow matching (Lipman et al., arXiv:2210.02747) with the straight-line path.

x_t = (1 - t) x_data + t eps, target velocity v = eps - x_data, MSE loss over the
coordinates that exist. This is the optimal-transport path of Lipman et al. with
sigma_min = 0, the path of EPiC-FM (arXiv:2310.00049) for particle clouds; the same model
generates events (N, D) and particle clouds (N, P, F), whose network is a cloud backbone
(models/backbones.py) conditioned on the jet type and kinematics. Sampling integrates
dx/dt = v(x, t) from t = 1 (noise) to t = 0; the log-density integrates the divergence of v
from t = 0 to 1 (both in solvers/sampling.py).
"""

from __future__ import annotations

import torch
from torch import nn

from lhcgen.models.backbones import context_features, coordinate_net
from lhcgen.models.base import Batch, Generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.registry import SamplerSpec
from lhcgen.nets.embeddings import FourierTimeEmbedding
from lhcgen.transforms.coordinates import Coordinates

SAMPLER = SamplerSpec(("euler", "midpoint", "heun", "rk4", "dopri5"), "midpoint", 8,
                      "an ODE solver")
"""The ODE solvers of solvers/ode.py (a test keeps the two lists equal)."""


class ConditionalFlowMatching(Generator):
    """Velocity network v(x_t, t, multiplicity) trained by flow matching.

    ``net`` maps (x, context (N, C), dims_mask) -> the shape of x, with C = time_embedding +
    number of discrete conditions (one-hot) + continuous conditions (``Batch.context``).
    """

    has_density = True
    name = "cfm"
    sampling = "ode"

    def __init__(self, net: nn.Module, dim: int, multiplicities: list[int],
                 time_embedding: int = 32, context_embedding: nn.Module | None = None):
        super().__init__(multiplicities)
        self.net, self.dim = net, dim
        self.context_embedding = context_embedding or nn.Identity()
        self.time_embedding = FourierTimeEmbedding(time_embedding)

    @staticmethod
    def context_dim(time_embedding: int, n_multiplicities: int, n_context: int = 0) -> int:
        return time_embedding + n_multiplicities + n_context

    def velocity(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor,
                 dims_mask: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """condition: (N,) indices 0..K-1 (see condition_index); t: (N,) in [0, 1];
        context: (N, C) continuous conditions or None."""
        onehot = nn.functional.one_hot(condition, len(self.multiplicities)).to(x.dtype)
        parts = [self.time_embedding(t), onehot]
        if context is not None:
            parts.append(self.context_embedding(context.to(x.dtype)))
        mask = dims_mask.to(x.dtype)
        return self.net(x * mask, torch.cat(parts, dim=-1), dims_mask) * mask

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        x, mask = batch.x, batch.dims_mask.to(batch.x.dtype)
        n = x.shape[0]
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        t = torch.rand(n, generator=generator, dtype=x.dtype).to(x.device)
        t_ = t.view(n, *([1] * (x.dim() - 1)))
        x_t = (1 - t_) * x + t_ * noise
        target = (noise - x) * mask
        pred = self.velocity(x_t, t, self.condition_index(batch.multiplicity), batch.dims_mask,
                             batch.context)
        per_event = (((pred - target) ** 2 * mask).flatten(1).sum(-1)
                     / mask.flatten(1).sum(-1).clamp_min(1.0))
        return (batch.weights * per_event).sum() / batch.weights.sum()


def build(cfg: ModelConfig, coordinates: Coordinates,
          multiplicities: list[int]) -> ConditionalFlowMatching:
    dim = coordinates.dim
    embedding, width = context_features(cfg, coordinates)
    context = ConditionalFlowMatching.context_dim(cfg.time_embedding, len(multiplicities),
                                                  width)
    net = coordinate_net(cfg, coordinates, context)
    return ConditionalFlowMatching(net, dim, multiplicities, cfg.time_embedding, embedding)
