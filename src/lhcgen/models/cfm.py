"""Conditional flow matching (Lipman et al., arXiv:2210.02747) with the straight-line path.

x_t = (1 - t) x_data + t eps, target velocity v = eps - x_data, MSE loss over the
coordinates that exist. Sampling integrates dx/dt = v(x, t) from t = 1 (noise) to t = 0;
the log-density integrates the divergence of v from t = 0 to 1 (solvers/likelihood.py).
"""

from __future__ import annotations

import torch
from torch import nn

from lhcgen import noise
from lhcgen.config import ModelConfig
from lhcgen.models.base import Batch, Coordinates, Generator
from lhcgen.nets.embeddings import FourierTimeEmbedding
from lhcgen.nets.mlp import ResidualMLP
from lhcgen.nets.transformer import ObjectTransformer
from lhcgen.solvers import integrate
from lhcgen.solvers.likelihood import ode_log_prob


class ConditionalFlowMatching(Generator):
    """Velocity network v(x_t, t, multiplicity) trained by flow matching.

    ``net`` maps (x (N, D), context (N, C), dims_mask) -> (N, D), with C = time_embedding +
    number of multiplicities (one-hot).
    """

    has_density = True
    name = "cfm"

    def __init__(self, net: nn.Module, dim: int, multiplicities: list[int],
                 time_embedding: int = 32):
        super().__init__(multiplicities)
        self.net, self.dim = net, dim
        self.time_embedding = FourierTimeEmbedding(time_embedding)

    @staticmethod
    def context_dim(time_embedding: int, n_multiplicities: int) -> int:
        return time_embedding + n_multiplicities

    def velocity(self, x: torch.Tensor, t: torch.Tensor, condition: torch.Tensor,
                 dims_mask: torch.Tensor) -> torch.Tensor:
        """condition: (N,) indices 0..K-1 (see condition_index); t: (N,) in [0, 1]."""
        onehot = nn.functional.one_hot(condition, len(self.multiplicities)).to(x.dtype)
        context = torch.cat([self.time_embedding(t), onehot], dim=-1)
        return self.net(x * dims_mask, context, dims_mask) * dims_mask

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        x, mask = batch.x, batch.dims_mask.to(batch.x.dtype)
        n = x.shape[0]
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        t = torch.rand(n, generator=generator, dtype=x.dtype).to(x.device)
        x_t = (1 - t[:, None]) * x + t[:, None] * noise
        target = (noise - x) * mask
        pred = self.velocity(x_t, t, self.condition_index(batch.multiplicity), batch.dims_mask)
        per_event = ((pred - target) ** 2 * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)
        return (batch.weights * per_event).sum() / batch.weights.sum()

    @torch.no_grad()
    def sample(self, multiplicity: torch.Tensor, dims_mask: torch.Tensor,
               generator: torch.Generator | None = None, solver: str = "midpoint",
               steps: int = 8, **options) -> tuple[torch.Tensor, dict]:
        """Integrate from Gaussian noise at t = 1 to the data at t = 0. Returns (x, info)."""
        condition = self.condition_index(multiplicity)
        device = next(self.parameters()).device
        dims_mask = dims_mask.to(device)
        n = len(multiplicity)
        x1 = noise.randn((n, self.dim), generator).to(device) * dims_mask

        def field(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return self.velocity(x, t.to(x.dtype).expand(n), condition.to(device), dims_mask)

        x0, nfe = integrate(solver, field, x1, steps, **options)
        return x0, {"solver": solver, "steps": steps, "nfe": nfe}

    def log_prob(self, batch: Batch, generator: torch.Generator | None = None,
                 solver: str = "rk4", steps: int = 16, trace: str = "exact",
                 **options) -> torch.Tensor:
        """log p(x | multiplicity) through the ODE (solvers/likelihood.py), float64."""
        device = batch.x.device
        condition = self.condition_index(batch.multiplicity).to(device)
        dims_mask = batch.dims_mask.to(device)
        n = len(batch.x)

        def field(t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
            return self.velocity(x, t.to(x.dtype).expand(n), condition, dims_mask)

        logp, _ = ode_log_prob(field, batch.x, dims_mask, solver, steps, trace, generator)
        return logp.double()


def build(cfg: ModelConfig, coordinates: Coordinates,
          multiplicities: list[int]) -> ConditionalFlowMatching:
    dim, layout_slots = coordinates.dim, list(coordinates.slots)
    context = ConditionalFlowMatching.context_dim(cfg.time_embedding, len(multiplicities))
    if cfg.net == "mlp":
        net = ResidualMLP(dim, context, cfg.hidden, cfg.blocks, cfg.dropout)
    else:
        net = ObjectTransformer(layout_slots, context, cfg.hidden, cfg.blocks, cfg.heads,
                                cfg.dropout)
    return ConditionalFlowMatching(net, dim, multiplicities, cfg.time_embedding)
