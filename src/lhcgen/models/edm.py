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

Classifier-free guidance (Ho & Salimans, arXiv:2207.12598) for continuous conditions (a
jet's pT, eta, m, N): with ``condition_dropout`` p > 0, training hides them from the network
for a fraction p of the examples (zeros, and a flag input that says so; the jet type stays),
so that the one network learns both D(x, sigma | type, kinematics) and D(x, sigma | type).
Sampling with guidance w follows D_w = D(. | type) + w [D(. | type, kinematics) - D(. | type)]
(solvers/sampling.py): w = 1 the conditional denoiser, w > 1 a denoiser that leans further
towards what the kinematics change, two network passes per evaluation.

The constituents' mass (jets as particle clouds, ``mass_loss`` > 0). The squared error
weighs every coordinate alike, but the mass of the stored constituents given the jet's
kinematics depends on how they are arranged, most on the few hardest and on the distance
between the prongs; the networks measured make it about 1-2 % light. In training mode the
loss then adds, per jet,

    mass_loss lambda(sigma) c_skip(sigma) [log m(D) - log m(x)]^2
        = mass_loss [log m(D) - log m(x)]^2 / sigma^2    (for sigma_data = 1),

with m the mass of the decoded constituents (``CloudDecoding``, the pair sum of
physics/particle_cloud_torch.py) in units of the jet pT (``mass_loss_units: pt_sum``: of the
constituents' own summed pT, so that the term cannot raise the mass by raising the sum; at
150 particles, where nearly every jet keeps all its constituents and sampling brings their
sum to the jet pT, that is the mass left after sampling): the squared error's weight
lambda(sigma), damped by c_skip(sigma) where the denoised jet is a blurred mean whose mass
is not the jet's, and only at sigma <= ``mass_loss_sigma_max``. Where the blur is small the
term reweighs the squared error towards the directions that move the mass (the hardest
constituents, the distance between the prongs); where it is not, it pulls the denoised jet
past the mean of the jets it may come from, towards the mass of a single jet. The
validation loss (eval mode) is the squared error alone, comparable with runs made without
the term.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.models.backbones import context_features, coordinate_net
from lhcgen.models.base import Batch, Generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.registry import SamplerSpec
from lhcgen.nets.embeddings import FourierTimeEmbedding
from lhcgen.physics.particle_cloud_torch import relative_cloud_mass_squared
from lhcgen.transforms.cloud_decoding import CloudDecoding
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
    condition_dropout: float = 0.0
    """Probability, per training example, that the network is not shown the continuous
    conditions (jets: pT, eta, m, N; the jet type is always shown): they enter as zeros
    beside a flag input of 0 (1 when shown). Like nn.Dropout, in training mode only: the
    validation loss is that of the conditional denoiser. In [0, 1); 0: no flag input, the
    network of every run made before the option. > 0 lets sampling apply classifier-free
    guidance (``guidance``)."""
    guidance: float = 1.0
    """Default sampling guidance w >= 0 (``lhcgen sample --guidance``): the denoiser
    D(.|type) + w [D(.|type, kinematics) - D(.|type)]; 1 the conditional denoiser alone (one
    pass), anything else needs ``condition_dropout`` > 0 and costs two passes per evaluation."""
    mass_loss: float = 0.0
    """Weight of the loss on the mass of the denoised jet's constituents (jets as particle
    clouds; module docstring), >= 0; training mode only. 0: the squared error alone, the
    loss of every run made before the option."""
    mass_loss_sigma_max: float = float("inf")
    """The mass loss applies at training noise levels sigma <= this only (inf: at all);
    above, the denoised jet is a blurred mean, lighter than any jet (measured on a trained
    top-jet network, log m(D) - log m(x): -0.008 at sigma 0.1, -0.056 at 0.3, -0.50 at 1)."""
    mass_loss_units: Literal["jet_pt", "pt_sum"] = "jet_pt"
    """What the mass loss divides the constituents' mass by: ``jet_pt`` the jet's pT (m / pT:
    raising the constituents' summed pT raises it), ``pt_sum`` their own summed pT
    (m / sum pT_rel: blind to the sum, the mass that ``lhcgen sample`` leaves a jet once it
    has brought its constituents' summed pT to the jet's)."""


MASS_SQUARED_FLOOR = 1e-8
"""Added to (m / pT)^2 in the log of the mass loss (a jet of m / pT = 1e-4 or less)."""
PT_SUM_FLOOR = 1e-6
"""The least summed pT_rel the mass loss divides by (``mass_loss_units: pt_sum``)."""


class EDMDiffusion(Generator):
    """A preconditioned denoiser D(x, sigma | condition, context)."""

    name = "edm"
    sampling = "edm"

    def __init__(self, net: nn.Module, dim: int, multiplicities: list[int], cfg: EDMConfig,
                 time_embedding: int = 32, context_embedding: nn.Module | None = None,
                 decoding: CloudDecoding | None = None):
        super().__init__(multiplicities)
        self.net, self.dim, self.cfg = net, dim, cfg
        if cfg.mass_loss > 0 and decoding is None:
            raise LhcgenError("config: 'model.edm.mass_loss' needs constituents to take the "
                              "mass of (jets as particle clouds); leave it at 0")
        self.decoding = decoding
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

    @property
    def guidable(self) -> bool:
        """Whether the network was trained to do without the continuous conditions too."""
        return self.cfg.condition_dropout > 0

    def denoise(self, x: torch.Tensor, sigma: torch.Tensor, condition: torch.Tensor,
                dims_mask: torch.Tensor, context: torch.Tensor | None = None,
                shown: torch.Tensor | None = None) -> torch.Tensor:
        """D(x, sigma) = c_skip x + c_out F(c_in x, c_noise): the denoised estimate of x;
        sigma (N,) > 0. ``shown`` (N,) of 0 and 1 (a guidable model only; default all 1):
        whether each example's continuous conditions ``context`` are shown to the network."""
        sig = sigma.to(x.dtype).view(len(x), *([1] * (x.dim() - 1)))
        c_skip, c_out, c_in = self.preconditioning(sig)
        onehot = nn.functional.one_hot(condition, len(self.multiplicities)).to(x.dtype)
        parts = [self.sigma_embedding(self._noise_level(sigma.to(x.dtype))), onehot]
        if shown is not None and not self.guidable:
            raise LhcgenError("this model was trained with its conditions always shown "
                              "(model.edm.condition_dropout 0); it cannot hide them")
        if context is not None:
            embedded = self.context_embedding(context.to(x.dtype))
            if self.guidable:
                flag = (torch.ones(len(x), dtype=x.dtype, device=x.device) if shown is None
                        else shown.to(device=x.device, dtype=x.dtype)).view(-1, 1)
                parts += [embedded * flag, flag]
            else:
                parts.append(embedded)
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
        shown = None
        if self.guidable and self.training and batch.context is not None:
            # drawn last, so p = 0 draws as before; in eval mode (the validation loss of the
            # EMA weights) every example is shown its conditions, as nn.Dropout does
            hidden = torch.rand(n, generator=generator, dtype=x.dtype) < self.cfg.condition_dropout
            shown = (~hidden).to(x.device)
        denoised = self.denoise((x + sig * noise) * mask, sigma,
                                self.condition_index(batch.multiplicity), batch.dims_mask,
                                batch.context, shown)
        s_d = self.cfg.sigma_data
        weight = (sigma**2 + s_d**2) / (sigma * s_d) ** 2
        per_event = (((denoised - x) ** 2 * mask).flatten(1).sum(-1)
                     / mask.flatten(1).sum(-1).clamp_min(1.0))
        if not (self.cfg.mass_loss > 0 and self.training):
            return (batch.weights * weight * per_event).sum() / batch.weights.sum()
        c_skip = s_d**2 / (sigma**2 + s_d**2) * (sigma <= self.cfg.mass_loss_sigma_max)
        mass = self.cfg.mass_loss * c_skip * self.mass_error(denoised, x, batch.dims_mask) ** 2
        return (batch.weights * weight * (per_event + mass)).sum() / batch.weights.sum()

    def mass_error(self, denoised: torch.Tensor, x: torch.Tensor, dims_mask: torch.Tensor,
                   units: Literal["jet_pt", "pt_sum"] | None = None) -> torch.Tensor:
        """(N,) log m(denoised) - log m(x): the masses of the decoded constituents (each in
        units of the jet pT, or of their summed pT: ``units``, by default the run's
        ``mass_loss_units``), the gradient through the denoised ones only. In float32 at
        least, also inside a bfloat16 autocast (``training.precision``), whose 8-bit
        mantissa would leave the mass of a jet about 0.4 % uncertain."""
        assert self.decoding is not None
        units = units or self.cfg.mass_loss_units
        if units not in ("jet_pt", "pt_sum"):
            raise ValueError(f"mass units must be 'jet_pt' or 'pt_sum', got {units!r}")
        particles = dims_mask[..., 0]
        dtype = torch.promote_types(denoised.dtype, torch.float32)

        def log_mass(cloud: torch.Tensor) -> torch.Tensor:
            decoded = self.decoding.decode(cloud.to(dtype))
            squared = relative_cloud_mass_squared(decoded, particles)
            if units == "pt_sum":
                pt_sum = (decoded[..., 2] * particles.to(dtype)).sum(-1)
                squared = squared / pt_sum.clamp_min(PT_SUM_FLOOR) ** 2
            return torch.log(squared + MASS_SQUARED_FLOOR) / 2

        with torch.autocast(device_type=denoised.device.type, enabled=False):
            with torch.no_grad():
                target = log_mass(x)
            return log_mass(denoised) - target


def conditioning_width(cfg: ModelConfig, coordinates: Coordinates,
                       multiplicities: list[int]) -> tuple[nn.Module, int]:
    """(the embedding of the continuous conditions, the width of the vector the network is
    conditioned on): noise level, one-hot condition, the embedded conditions and, where
    ``model.edm.condition_dropout`` > 0, the flag that says whether they are shown."""
    embedding, width = context_features(cfg, coordinates)
    if cfg.edm.condition_dropout > 0 and not coordinates.context:
        raise LhcgenError("config: 'model.edm.condition_dropout' hides continuous conditions "
                          "(jets as particle clouds: pT, eta, m, N); this process has none, "
                          "leave it at 0")
    flag = 1 if cfg.edm.condition_dropout > 0 else 0
    return embedding, cfg.time_embedding + len(multiplicities) + width + flag


def build(cfg: ModelConfig, coordinates: Coordinates, multiplicities: list[int]) -> EDMDiffusion:
    embedding, width = conditioning_width(cfg, coordinates, multiplicities)
    net = coordinate_net(cfg, coordinates, width)
    return EDMDiffusion(net, coordinates.dim, multiplicities, cfg.edm, cfg.time_embedding,
                        embedding, coordinates.decoding)
