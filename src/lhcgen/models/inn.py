"""Coupling-block normalizing flow (INN) conditioned on the jet multiplicity.

A stack of coupling transforms (Dinh et al., RealNVP, arXiv:1605.08803) maps the data x to
a standard normal z with a triangular Jacobian, so that
    log p(x | m) = log N(z; 0, 1) + log |det dz/dx|
is exact and sampling is one pass through the inverse. Each coupling splits the coordinates
into a conditioning half and a transformed half; the transformed half goes through an
elementwise, invertible map whose parameters a subnetwork computes from the conditioning
half, the coordinate mask and the one-hot multiplicity. The maps are affine with
soft-clamped log-scales (Ardizzone et al., arXiv:1808.04730; Kingma & Dhariwal, Glow,
arXiv:1807.03039) or monotonic rational-quadratic splines (Durkan et al., arXiv:1906.04032,
nets/splines.py). Coupling 2i draws a fixed random split (a seeded permutation, stored as a
buffer); coupling 2i + 1 transforms the coordinates coupling 2i conditioned on, so every
coordinate is transformed in every pair, as in a Glow coupling block.

Variable dimension (as in Butter et al., arXiv:2110.13632, conditioned on the multiplicity):
coordinates that do not exist (``dims_mask`` False, padded jets) pass through unchanged with
zero log-determinant and never enter a subnetwork, so ``log_prob`` is the exact density of
the existing coordinates given the multiplicity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn

from lhcgen import noise
from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.registry import SamplerSpec
from lhcgen.nets.splines import rational_quadratic_spline
from lhcgen.transforms.coordinates import Coordinates

COUPLINGS = ("affine", "spline")

SAMPLER = SamplerSpec((), None, None, "one pass through the inverse flow")


@dataclass(frozen=True)
class INNConfig:
    coupling: Literal["affine", "spline"] = "spline"
    """Coupling transform: affine (RealNVP/Glow with soft-clamped scales) or monotonic
    rational-quadratic splines (Durkan et al., arXiv:1906.04032)."""
    couplings: int = 12
    """Coupling blocks; the coordinates are permuted (fixed random) between blocks."""
    subnet_layers: int = 2
    """Hidden layers of each coupling's subnetwork (width model.hidden)."""
    bins: int = 10
    """Spline bins (spline coupling)."""
    tail_bound: float = 4.0
    """Splines act on [-B, B] and are the identity outside (spline coupling)."""
    clamp: float = 2.0
    """Soft clamp of the affine log-scales: s -> clamp * tanh(s / clamp) (affine coupling)."""


class Subnet(nn.Module):
    """MLP (N, inputs) -> (N, outputs) with ``layers`` hidden layers of width ``hidden``.

    Built from nn.Linear modules only (so they can be swapped for Bayesian layers); the last
    layer starts at zero so that the coupling starts as the identity.
    """

    def __init__(self, inputs: int, outputs: int, hidden: int, layers: int,
                 dropout: float = 0.0):
        super().__init__()
        modules: list[nn.Module] = []
        width = inputs
        for _ in range(max(layers, 1)):
            modules += [nn.Linear(width, hidden), nn.SiLU()]
            if dropout > 0:
                modules.append(nn.Dropout(dropout))
            width = hidden
        self.hidden = nn.Sequential(*modules)
        self.last = nn.Linear(width, outputs)
        nn.init.zeros_(self.last.weight)
        nn.init.zeros_(self.last.bias)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return self.last(self.hidden(h))


class Coupling(nn.Module):
    """One coupling: x[:, perm[split:]] is transformed given x[:, perm[:split]].

    The subnet sees the masked conditioning half, the permuted mask and the condition.
    Subclasses implement ``_transform(b, params, inverse) -> (b', log|db'/db|)``.
    """

    def __init__(self, perm: torch.Tensor, split: int, condition_dim: int, hidden: int,
                 layers: int, dropout: float = 0.0, params_per_coordinate: int = 2):
        super().__init__()
        self.register_buffer("perm", perm.clone().long())
        self.split = split
        self.transformed = len(perm) - split
        self.params_per_coordinate = params_per_coordinate
        inputs = split + len(perm) + condition_dim
        self.subnet = Subnet(inputs, self.transformed * params_per_coordinate, hidden, layers,
                             dropout)

    def _params(self, x: torch.Tensor, mask: torch.Tensor,
                condition: torch.Tensor) -> torch.Tensor:
        mp = mask[:, self.perm]
        cond = x[:, self.perm[:self.split]] * mp[:, :self.split]
        out = self.subnet(torch.cat([cond, mp, condition], dim=-1))
        return out.reshape(len(x), self.transformed, self.params_per_coordinate)

    def forward(self, x: torch.Tensor, mask: torch.Tensor, condition: torch.Tensor,
                inverse: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (N, D); mask: (N, D) in x's dtype; condition: (N, C). Returns (y, logdet (N,))."""
        if self.transformed == 0:
            return x, x.new_zeros(len(x))
        index = self.perm[self.split:]
        b, mb = x[:, index], mask[:, index]
        new_b, logdet = self._transform(b, self._params(x, mask, condition), inverse)
        new_b = torch.where(mb > 0, new_b, b)
        return x.index_copy(1, index, new_b), (logdet * mb).sum(-1)

    def _transform(self, b: torch.Tensor, params: torch.Tensor,
                   inverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError


class AffineCoupling(Coupling):
    """y = x exp(s) + t, s = clamp tanh(s_raw / clamp)."""

    def __init__(self, *args, clamp: float = 2.0, **kwargs):
        super().__init__(*args, params_per_coordinate=2, **kwargs)
        self.clamp = clamp

    def _transform(self, b: torch.Tensor, params: torch.Tensor,
                   inverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        s = self.clamp * torch.tanh(params[..., 0] / self.clamp)
        t = params[..., 1]
        if inverse:
            return (b - t) * torch.exp(-s), -s
        return b * torch.exp(s) + t, s


class SplineCoupling(Coupling):
    """Rational-quadratic spline on [-B, B] with K bins: 3K - 1 parameters per coordinate."""

    def __init__(self, *args, bins: int = 10, tail_bound: float = 4.0, **kwargs):
        super().__init__(*args, params_per_coordinate=3 * bins - 1, **kwargs)
        self.bins, self.tail_bound = bins, tail_bound

    def _transform(self, b: torch.Tensor, params: torch.Tensor,
                   inverse: bool) -> tuple[torch.Tensor, torch.Tensor]:
        k = self.bins
        return rational_quadratic_spline(b, params[..., :k], params[..., k:2 * k],
                                         params[..., 2 * k:], inverse=inverse,
                                         tail_bound=self.tail_bound)


def coupling_splits(dim: int, couplings: int, seed: int = 0) -> list[tuple[torch.Tensor, int]]:
    """(perm, split) per coupling: even couplings draw a random split, odd ones swap it."""
    g = torch.Generator().manual_seed(seed)
    splits: list[tuple[torch.Tensor, int]] = []
    for i in range(couplings):
        if dim == 1:
            splits.append((torch.zeros(1, dtype=torch.long), 0))
        elif i % 2 == 0:
            splits.append((torch.randperm(dim, generator=g), dim // 2))
        else:
            perm, split = splits[-1]
            splits.append((torch.cat([perm[split:], perm[:split]]), dim - split))
    return splits


class CouplingFlow(Generator):
    """x -> z through ``blocks`` (Coupling modules); standard-normal base density."""

    has_density = True
    name = "inn"

    def __init__(self, blocks: list[Coupling], dim: int, multiplicities: list[int]):
        super().__init__(multiplicities)
        self.blocks = nn.ModuleList(blocks)
        self.dim = dim

    def _onehot(self, multiplicity: torch.Tensor, dtype: torch.dtype,
                device: torch.device) -> torch.Tensor:
        index = self.condition_index(multiplicity.to(self._lookup.device))
        onehot = nn.functional.one_hot(index, len(self.multiplicities))
        return onehot.to(device=device, dtype=dtype)

    def _param(self) -> torch.Tensor:
        return next(self.parameters())

    def forward_transform(self, x: torch.Tensor, condition_onehot: torch.Tensor,
                          dims_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Data -> latent. Returns (z (N, D), log|det dz/dx| (N,) over existing coordinates)."""
        mask = dims_mask.to(x.dtype)
        logdet = x.new_zeros(len(x))
        for block in self.blocks:
            x, ld = block(x, mask, condition_onehot)
            logdet = logdet + ld
        return x, logdet

    def inverse_transform(self, z: torch.Tensor, condition_onehot: torch.Tensor,
                          dims_mask: torch.Tensor) -> torch.Tensor:
        """Latent -> data; absent coordinates pass through."""
        mask = dims_mask.to(z.dtype)
        for block in reversed(self.blocks):
            z, _ = block(z, mask, condition_onehot, inverse=True)
        return z

    def _log_prob(self, batch: Batch) -> torch.Tensor:
        """log p(x | multiplicity) (N,) in the model's dtype, with gradients."""
        param = self._param()
        x = batch.x.to(device=param.device, dtype=param.dtype)
        dims_mask = batch.dims_mask.to(param.device)
        onehot = self._onehot(batch.multiplicity, param.dtype, param.device)
        z, logdet = self.forward_transform(x, onehot, dims_mask)
        m = dims_mask.to(z.dtype)
        base = (-0.5 * z**2 * m).sum(-1) - 0.5 * math.log(2 * math.pi) * m.sum(-1)
        return base + logdet

    def log_prob(self, batch: Batch, generator: torch.Generator | None = None,
                 **options) -> torch.Tensor:
        """Exact log p(x | multiplicity) over the existing coordinates, (N,) float64."""
        return self._log_prob(batch).double()

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        """Weighted mean negative log-likelihood per existing coordinate."""
        logp = self._log_prob(batch)
        weights = batch.weights.to(logp)
        coords = batch.dims_mask.to(logp).sum(-1).mean().clamp_min(1.0)
        return -(weights * logp).sum() / weights.sum() / coords

    @torch.no_grad()
    def sample_direct(self, multiplicity: torch.Tensor, dims_mask: torch.Tensor,
                      generator: torch.Generator | None = None,
                      **options) -> tuple[torch.Tensor, dict]:
        """One pass through the inverse flow (``lhcgen.solvers.sample`` calls it). Returns
        (x, info) with zeros at the absent coordinates."""
        if options:
            raise LhcgenError(f"unknown inn sampling option(s): {', '.join(sorted(options))}")
        param = self._param()
        onehot = self._onehot(multiplicity, param.dtype, param.device)
        dims_mask = dims_mask.to(param.device)
        mask = dims_mask.to(param.dtype)
        z = noise.randn((len(multiplicity), self.dim), generator, param.dtype)
        x = self.inverse_transform(z.to(param.device) * mask, onehot, dims_mask)
        return x * mask, {"nfe": 1}


def build(cfg: ModelConfig, coordinates: Coordinates,
          multiplicities: list[int]) -> CouplingFlow:
    inn = cfg.inn
    if inn.coupling not in COUPLINGS:
        raise LhcgenError(f"unknown INN coupling '{inn.coupling}' "
                          f"(available: {', '.join(COUPLINGS)})")
    dim = coordinates.dim
    blocks: list[Coupling] = []
    for perm, split in coupling_splits(dim, inn.couplings):
        args = (perm, split, len(multiplicities), cfg.hidden, inn.subnet_layers, cfg.dropout)
        if inn.coupling == "affine":
            blocks.append(AffineCoupling(*args, clamp=inn.clamp))
        else:
            blocks.append(SplineCoupling(*args, bins=inn.bins, tail_bound=inn.tail_bound))
    return CouplingFlow(blocks, dim, multiplicities)
