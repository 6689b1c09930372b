"""EDM diffusion (Karras et al., arXiv:2206.00364), the generator of PC-Droid
(arXiv:2307.06836), for events (N, D) and particle clouds (N, P, F).

The data are noised as x + sigma n (variance exploding). The denoiser is preconditioned
(Karras et al., table 1):

    D(x, sigma) = c_skip x + c_out F(c_in x, c_noise),
    c_skip = s_d^2 / (sigma^2 + s_d^2),  c_out = sigma s_d / sqrt(sigma^2 + s_d^2),
    c_in = 1 / sqrt(sigma^2 + s_d^2),    c_noise = log(sigma) / 4,

with s_d = ``sigma_data`` the data's standard deviation (1 for standardised coordinates).
Training draws log sigma ~ N(p_mean, p_std^2) and minimises
lambda(sigma) |D(x + sigma n, sigma) - x|^2 with lambda = (sigma^2 + s_d^2) / (sigma s_d)^2,
over the coordinates that exist. Sampling walks the sigma schedule of eq. 5
(sigma_max -> sigma_min with exponent rho, then 0) with the samplers of solvers/edm.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lhcgen.models.backbones import context_features, coordinate_net
from lhcgen.models.base import Batch, Generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.registry import SamplerSpec
from lhcgen.nets.embeddings import FourierTimeEmbedding
from lhcgen.transforms.coordinates import Coordinates

SAMPLER = SamplerSpec(("heun", "euler", "ddim", "midpoint", "rk4", "heun_dp", "midpoint_dp",
                       "rk4_dp", "stochastic", "euler_maruyama", "dpmpp_2m"), "heun", 16,
                      "an EDM sampler (solvers/edm.py)")
"""The samplers of solvers/edm.py (a test keeps the two lists equal)."""


@dataclass(frozen=True)
class EDMConfig:
    sigma_data: float = 1.0
    """Standard deviation of the (standardised) training coordinates."""
    p_mean: float = -1.2
    """Mean of log sigma during training (Karras et al.: -1.2)."""
    p_std: float = 1.2
    """Standard deviation of log sigma during training (Karras et al.: 1.2)."""
    sigma_min: float = 0.002
    """Smallest noise level of the sampling schedule."""
    sigma_max: float = 80.0
    """Largest noise level of the sampling schedule (the prior is N(0, sigma_max^2))."""
    rho: float = 7.0
    """Exponent of the sampling schedule (Karras et al. eq. 5)."""
    s_churn: float = 0.0
    """Stochasticity of the "stochastic" sampler (Karras et al. algorithm 2; 0: none)."""


class EDMDiffusion(Generator):
    """A preconditioned denoiser D(x, sigma | condition, context)."""

    name = "edm"
    sampling = "edm"

    def __init__(self, net: nn.Module, dim: int, multiplicities: list[int], cfg: EDMConfig,
                 time_embedding: int = 32, context_embedding: nn.Module | None = None):
        super().__init__(multiplicities)
        self.net, self.dim, self.cfg = net, dim, cfg
        self.context_embedding = context_embedding or nn.Identity()
        self.sigma_min, self.sigma_max, self.rho = cfg.sigma_min, cfg.sigma_max, cfg.rho
        self.sigma_embedding = FourierTimeEmbedding(time_embedding)

    def _noise_level(self, sigma: torch.Tensor) -> torch.Tensor:
        """c_noise = log(sigma) / 4, mapped so that [sigma_min, sigma_max] is ~[0, 1]."""
        low, high = math.log(self.sigma_min) / 4, math.log(self.sigma_max) / 4
        return (torch.log(sigma) / 4 - low) / (high - low)

    def preconditioning(self, sig: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(c_skip, c_out, c_in) at noise levels ``sig`` (broadcastable to x)."""
        s_d = self.cfg.sigma_data
        c_skip = s_d**2 / (sig**2 + s_d**2)
        c_out = sig * s_d / torch.sqrt(sig**2 + s_d**2)
        c_in = 1 / torch.sqrt(sig**2 + s_d**2)
        return c_skip, c_out, c_in

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, condition: torch.Tensor,
                dims_mask: torch.Tensor, context: torch.Tensor | None = None) -> torch.Tensor:
        """D(x, sigma) = c_skip x + c_out F(c_in x, c_noise): the denoised estimate of x;
        sigma (N,) > 0."""
        sig = sigma.to(x.dtype).view(len(x), *([1] * (x.dim() - 1)))
        c_skip, c_out, c_in = self.preconditioning(sig)
        onehot = nn.functional.one_hot(condition, len(self.multiplicities)).to(x.dtype)
        parts = [self.sigma_embedding(self._noise_level(sigma.to(x.dtype))), onehot]
        if context is not None:
            parts.append(self.context_embedding(context.to(x.dtype)))
        mask = dims_mask.to(x.dtype)
        out = self.net(c_in * x * mask, torch.cat(parts, dim=-1), dims_mask)
        return (c_skip * x + c_out * out) * mask

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        x, mask = batch.x, batch.dims_mask.to(batch.x.dtype)
        n = x.shape[0]
        normal = torch.randn(n, generator=generator, dtype=x.dtype).to(x.device)
        sigma = torch.exp(self.cfg.p_mean + self.cfg.p_std * normal)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device)
        sig = sigma.view(n, *([1] * (x.dim() - 1)))
        denoised = self.denoise((x + sig * noise) * mask, sigma,
                                self.condition_index(batch.multiplicity), batch.dims_mask,
                                batch.context)
        s_d = self.cfg.sigma_data
        weight = (sigma**2 + s_d**2) / (sigma * s_d) ** 2
        per_event = (((denoised - x) ** 2 * mask).flatten(1).sum(-1)
                     / mask.flatten(1).sum(-1).clamp_min(1.0))
        return (batch.weights * weight * per_event).sum() / batch.weights.sum()


def build(cfg: ModelConfig, coordinates: Coordinates, multiplicities: list[int]) -> EDMDiffusion:
    embedding, width = context_features(cfg, coordinates)
    net = coordinate_net(cfg, coordinates, cfg.time_embedding + len(multiplicities) + width)
    return EDMDiffusion(net, coordinates.dim, multiplicities, cfg.edm, cfg.time_embedding,
                        embedding)
