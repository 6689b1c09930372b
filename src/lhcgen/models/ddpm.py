"""Denoising diffusion probabilistic model (Ho et al., arXiv:2006.11239), epsilon-prediction.

Training: t uniform in 1..T, x_t = sqrt(alpha_bar_t) x + sqrt(1 - alpha_bar_t) eps, MSE
between eps and the network's prediction eps(x_t, t / T, multiplicity) over the coordinates
that exist (the "simple" loss, Ho et al. eq. 14). The variance schedule is linear (Ho et al.)
or cosine (Nichol & Dhariwal, arXiv:2102.09672). Sampling runs ancestral sampling with the
posterior variance beta-tilde (on the full chain, or a respaced one for fewer steps) or DDIM
(Song et al., arXiv:2010.02502) on a respaced chain; see solvers/diffusion.py (the
schedules: models/noise_schedules.py; the sampling loop: solvers/sampling.py).
Coordinates that do not exist are zero in the network's input, its output and every state
of the sampling chain.

Parameterization. The model predicts eps and is trained on the eps-MSE, but by default the
network's raw output F enters as eps = sqrt(1 - alpha_bar) x_t + sqrt(alpha_bar) F, i.e. F
predicts v = sqrt(alpha_bar) eps - sqrt(1 - alpha_bar) x_0 (Salimans & Ho,
arXiv:2202.00512), and the eps-MSE is alpha_bar |F - v|^2. Reason: with the plain
parameterization (``parameterization="eps"``, F = eps, Ho et al.) the prediction of x_0,
(x_t - sqrt(1 - alpha_bar) eps) / sqrt(alpha_bar), multiplies any network error at the
first sampling step by 1 / sqrt(alpha_bar_T): about 2000 for the cosine schedule at T = 100,
2e4 at T = 1000 (its last beta is clipped at 0.999). A small trained network then
sends the chain far out of the training distribution. With the skip connection the error
of eps is sqrt(alpha_bar) |F - v| and x_0 = sqrt(alpha_bar) x_t - sqrt(1 - alpha_bar) F
stays bounded at every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.models.backbones import coordinate_net
from lhcgen.models.base import Batch, Generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.noise_schedules import make_alpha_bar
from lhcgen.models.registry import SamplerSpec
from lhcgen.nets.embeddings import FourierTimeEmbedding
from lhcgen.transforms.coordinates import Coordinates

SAMPLER = SamplerSpec(("ancestral", "ddim"), "ddim", 50, "ancestral sampling or DDIM")
PARAMETERIZATIONS = ("v", "eps")


@dataclass(frozen=True)
class DDPMConfig:
    timesteps: int = 1000
    """Diffusion steps T of the training chain."""
    schedule: Literal["linear", "cosine"] = "cosine"
    """Variance schedule: linear betas (Ho et al.) or the cosine alpha-bar (Nichol & Dhariwal)."""
    beta_start: float = 1e-4
    """First beta of the linear schedule."""
    beta_end: float = 0.02
    """Last beta of the linear schedule."""
    parameterization: Literal["v", "eps"] = "v"
    """How the network output makes eps (the loss is the eps-MSE either way): "eps" is the
    plain output (Ho et al.); "v" adds the skip connection that keeps x_0 bounded at high
    noise (models/ddpm.py explains why it is the default)."""


class DenoisingDiffusion(Generator):
    """Noise prediction eps(x_t, t / T, multiplicity) on a T-step diffusion chain.

    ``net`` maps (x (N, D), context (N, C), dims_mask) -> (N, D), with C = time_embedding +
    number of multiplicities (one-hot). ``alpha_bar`` (T,) float64, entry t - 1 for the
    timestep t = 1..T, is a buffer (it travels with the model and its checkpoints).
    ``parameterization``: "v" (default) or "eps", how the network's output makes eps (see
    the module docstring).
    """

    has_density = False
    name = "ddpm"
    sampling = "diffusion"

    def __init__(self, net: nn.Module, dim: int, multiplicities: list[int],
                 alpha_bar: torch.Tensor, time_embedding: int = 32,
                 parameterization: str = "v"):
        super().__init__(multiplicities)
        if parameterization not in PARAMETERIZATIONS:
            raise LhcgenError(f"unknown ddpm parameterization '{parameterization}' "
                              f"(available: {', '.join(PARAMETERIZATIONS)})")
        self.parameterization = parameterization
        self.net, self.dim = net, dim
        self.time_embedding = FourierTimeEmbedding(time_embedding)
        alpha_bar = alpha_bar.to(torch.float64)
        if alpha_bar.ndim != 1 or not ((alpha_bar > 0) & (alpha_bar < 1)).all():
            raise LhcgenError("the diffusion schedule alpha_bar must lie in (0, 1)")
        self.register_buffer("alpha_bar", alpha_bar)

    @property
    def timesteps(self) -> int:
        """T, the number of steps of the training chain."""
        return len(self.alpha_bar)

    @staticmethod
    def context_dim(time_embedding: int, n_multiplicities: int) -> int:
        return time_embedding + n_multiplicities

    def predict_noise(self, x: torch.Tensor, timestep: torch.Tensor, condition: torch.Tensor,
                      dims_mask: torch.Tensor) -> torch.Tensor:
        """eps (N, D) at x_t (N, D); timestep: (N,) integers 1..T (the network sees t / T);
        condition: (N,) indices 0..K-1 (see condition_index). Zero where dims_mask is not."""
        onehot = nn.functional.one_hot(condition, len(self.multiplicities)).to(x.dtype)
        time = (timestep.to(torch.float64) / self.timesteps).to(x.dtype)
        context = torch.cat([self.time_embedding(time), onehot], dim=-1)
        x = x * dims_mask
        out = self.net(x, context, dims_mask)
        if self.parameterization == "v":
            ab = self.alpha_bar[timestep - 1]
            out = (1 - ab).sqrt().to(x.dtype)[:, None] * x + ab.sqrt().to(x.dtype)[:, None] * out
        return out * dims_mask

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        x, mask = batch.x, batch.dims_mask.to(batch.x.dtype)
        n = x.shape[0]
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(x.device) * mask
        t = torch.randint(1, self.timesteps + 1, (n,), generator=generator).to(x.device)
        ab = self.alpha_bar[t - 1]
        x_t = ab.sqrt().to(x.dtype)[:, None] * x + (1 - ab).sqrt().to(x.dtype)[:, None] * noise
        pred = self.predict_noise(x_t * mask, t, self.condition_index(batch.multiplicity),
                                  batch.dims_mask)
        per_event = ((pred - noise) ** 2 * mask).sum(-1) / mask.sum(-1).clamp_min(1.0)
        return (batch.weights * per_event).sum() / batch.weights.sum()

    def resolve_sampler(self, solver: str | None, steps: int | None) -> tuple[str, int]:
        """The solver and steps to use, defaults filled in; one clear line if they do not
        apply. Defaults: DDIM with min(50, T) steps; ancestral on the full chain (T steps)."""
        solver = solver or SAMPLER.default_solver
        if solver not in SAMPLER.solvers:
            raise LhcgenError(f"unknown solver '{solver}' for model 'ddpm' "
                              f"(available: {', '.join(SAMPLER.solvers)})")
        T = self.timesteps
        if steps is None:
            steps = T if solver == "ancestral" else min(SAMPLER.default_steps, T)
        if not 1 <= steps <= T:
            raise LhcgenError(f"ddpm sampling needs between 1 and T = {T} steps (the training "
                              f"chain), got {steps}")
        return solver, int(steps)


def build(cfg: ModelConfig, coordinates: Coordinates,
          multiplicities: list[int]) -> DenoisingDiffusion:
    dim = coordinates.dim
    context = DenoisingDiffusion.context_dim(cfg.time_embedding, len(multiplicities))
    net = coordinate_net(cfg, coordinates, context)
    d = cfg.ddpm
    alpha_bar = make_alpha_bar(d.schedule, d.timesteps, d.beta_start, d.beta_end)
    return DenoisingDiffusion(net, dim, multiplicities, alpha_bar, cfg.time_embedding,
                              parameterization=d.parameterization)
