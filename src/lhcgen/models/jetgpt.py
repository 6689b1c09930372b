"""JetGPT: an autoregressive transformer density over the network coordinates.

Butter, Huetsch, Palacios Schweitzer, Plehn, Sorrenson, Spinner, "Jet Diffusion versus
JetGPT -- Modern Networks for the LHC", arXiv:2305.10475 (section 2.4); the transformer is
nets/gpt.py, the one-dimensional conditionals nets/mixtures.py.

p(x | n) = prod_i p(x_i | x_0, ..., x_{i-1}, n) over the coordinates that exist. In the Z+jets
layout (transforms/zjets.py) absent jets are always the last coordinates, so for every event
the existing coordinates are a prefix of the network-coordinate order; JetGPT requires this.

Sequence (one model for all multiplicities, trained jointly):

    position   0                       1                  ...  i
    token      condition(n)            value(x_0) + e_0   ...  value(x_{i-1}) + e_{i-1}
    predicts   p(x_0 | n)              p(x_1 | x_0, n)    ...  p(x_i | x_<i, n)

condition(n) is a learned embedding of ``condition_index(n)``; value(x_i) a linear map of
(x_i, 0, 0) for an ordinary coordinate and of (0, cos theta_i, sin theta_i), theta_i =
2 pi x_i / P_i, for a periodic one (so that the seam of an angle is invisible); e_i a learned
embedding of the coordinate index. The hidden state at position i is mapped by one linear
head to the parameters of a K-component mixture: von Mises for a periodic coordinate
(``coordinates.periods[i]`` not None), Gaussian otherwise. ``log_prob`` is one causal pass;
``sample`` runs up to the longest existing prefix in a batch, one coordinate per transformer
pass, with a key/value cache by default (each pass feeds only the new token).

Periodic windows: the von Mises density is periodic, but a sample must lie in the period
window where the data live (a standardised angle lies in [(-pi - m) / s, (pi - m) / s), not
necessarily centred at 0). JetGPT records the lowest and highest value of every coordinate
seen by ``loss`` in training mode (buffers ``range_low``, ``range_high``, saved with the
weights and copied by the EMA) and draws each angle in [c - P/2, c + P/2) with c the midpoint
of the training range: every window containing the data contains [low, high], and the
midpoint is the centre of the admissible range of windows, exact when the data reach both
edges. ``observe_ranges(x, dims_mask)`` records ranges explicitly; before any data, c = 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.registry import SamplerSpec
from lhcgen.nets.gpt import CausalTransformer, KVCache
from lhcgen.nets.mixtures import (
    gaussian_mixture_log_prob,
    gaussian_mixture_sample,
    von_mises_mixture_log_prob,
    von_mises_mixture_sample,
)
from lhcgen.transforms.coordinates import Coordinates

LOG_SCALE_MIN, LOG_SCALE_MAX = -8.0, 3.0
"""Bounds of every mixture component's log-width in network units (standardised data)."""

SAMPLER = SamplerSpec((), None, None, "one autoregressive pass over the components")


@dataclass(frozen=True)
class JetGPTConfig:
    components: int = 16
    """Mixture components of every one-dimensional conditional."""


class JetGPT(Generator):
    """Autoregressive transformer with mixture-density conditionals (see the module doc)."""

    has_density = True
    name = "jetgpt"

    def __init__(self, net: CausalTransformer, coordinates: Coordinates,
                 multiplicities: list[int], hidden: int, components: int = 16):
        super().__init__(multiplicities)
        if components < 1:
            raise LhcgenError(f"JetGPT needs at least one mixture component, got {components}")
        self.net, self.dim, self.components = net, coordinates.dim, components
        self.periods = tuple(coordinates.periods)
        if any(p is not None and not p > 0 for p in self.periods):
            raise LhcgenError(f"periods must be positive, got {self.periods}")
        self.register_buffer("periodic", torch.tensor([p is not None for p in self.periods]))
        self.register_buffer("period", torch.tensor([p or 1.0 for p in self.periods]))
        self.register_buffer("range_low", torch.full((self.dim,), math.inf))
        self.register_buffer("range_high", torch.full((self.dim,), -math.inf))
        self.condition = nn.Embedding(len(self.multiplicities), hidden)
        self.position = nn.Embedding(self.dim, hidden)
        self.value = nn.Linear(3, hidden)
        self.head = nn.Linear(hidden, 3 * components)

    # ---- pieces of the sequence ---------------------------------------------------------

    @property
    def device(self) -> torch.device:
        return self.condition.weight.device

    def condition_tokens(self, multiplicity: torch.Tensor) -> torch.Tensor:
        """(N,) multiplicities -> (N, 1, hidden), the token at position 0."""
        return self.condition(self.condition_index(multiplicity.to(self.device)))[:, None]

    def value_tokens(self, x: torch.Tensor, start: int = 0) -> torch.Tensor:
        """(N, T) values of coordinates start..start+T-1 -> (N, T, hidden)."""
        index = torch.arange(start, start + x.shape[1], device=self.device)
        x = x.to(device=self.device, dtype=self.condition.weight.dtype)
        periodic = self.periodic[index]
        theta = (2 * math.pi) * x / self.period[index].to(x.dtype)
        zero = torch.zeros_like(x)
        features = torch.stack([torch.where(periodic, zero, x),
                                torch.where(periodic, torch.cos(theta), zero),
                                torch.where(periodic, torch.sin(theta), zero)], dim=-1)
        return self.value(features) + self.position(index)[None]

    def mixture_parameters(self, h: torch.Tensor
                           ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Hidden states (..., hidden) -> (logits, locs, log_scales), each (..., K)."""
        logits, locs, log_scales = self.head(h).split(self.components, dim=-1)
        return logits, locs, log_scales.clamp(LOG_SCALE_MIN, LOG_SCALE_MAX)

    def conditional_log_prob(self, h: torch.Tensor, x: torch.Tensor, start: int = 0,
                             dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """log p(x_i | x_<i, n) for i = start..start+T-1: h (N, T, hidden) the hidden states
        at positions start..start+T-1, x (N, T) the values -> (N, T) in ``dtype``."""
        index = torch.arange(start, start + x.shape[1], device=self.device)
        logits, locs, log_scales = (p.to(dtype) for p in self.mixture_parameters(h))
        x = x.to(device=self.device, dtype=dtype)
        periodic = self.periodic[index]
        gauss = gaussian_mixture_log_prob(x, logits, locs, log_scales)
        if not bool(periodic.any()):
            return gauss
        circular = von_mises_mixture_log_prob(x, logits, locs, log_scales,
                                              self.period[index].to(dtype))
        return torch.where(periodic, circular, gauss)

    def sample_conditional(self, h: torch.Tensor, i: int,
                           generator: torch.Generator | None = None) -> torch.Tensor:
        """One draw of coordinate i per event from the hidden states h (N, hidden) at
        position i -> (N,) in h's dtype (an angle lies in its data window, see centres)."""
        logits, locs, log_scales = self.mixture_parameters(h)
        period = self.periods[i]
        if period is None:
            return gaussian_mixture_sample(logits, locs, log_scales, generator)
        return von_mises_mixture_sample(logits, locs, log_scales, period, self.centres[i],
                                        generator)

    # ---- periodic windows ---------------------------------------------------------------

    @property
    def centres(self) -> torch.Tensor:
        """(D,) centre of each periodic coordinate's window (midpoint of the training range;
        0 before any data and for ordinary coordinates)."""
        seen = torch.isfinite(self.range_low) & torch.isfinite(self.range_high)
        mid = torch.where(seen, (self.range_low + self.range_high) / 2, 0.0)
        return torch.where(self.periodic, mid, 0.0)

    @torch.no_grad()
    def observe_ranges(self, x: torch.Tensor, dims_mask: torch.Tensor) -> None:
        """Widen the recorded range of every coordinate to the existing values of x."""
        x = x.to(device=self.device, dtype=self.range_low.dtype)
        dims_mask = dims_mask.to(self.device)
        if not len(x):
            return
        low = torch.where(dims_mask, x, math.inf).amin(0)
        high = torch.where(dims_mask, x, -math.inf).amax(0)
        self.range_low.copy_(torch.minimum(self.range_low, low))
        self.range_high.copy_(torch.maximum(self.range_high, high))

    # ---- density and training ------------------------------------------------------------

    @staticmethod
    def _prefix_length(dims_mask: torch.Tensor) -> int:
        """Longest existing prefix; an error unless every event's coordinates are a prefix."""
        if (dims_mask[:, 1:] & ~dims_mask[:, :-1]).any():
            raise LhcgenError("JetGPT needs the existing coordinates of every event to be a "
                              "prefix of the coordinate order (absent objects last)")
        return int(dims_mask.sum(-1).max()) if len(dims_mask) else 0

    def _log_prob(self, x: torch.Tensor, dims_mask: torch.Tensor, multiplicity: torch.Tensor,
                  dtype: torch.dtype) -> torch.Tensor:
        dims_mask = dims_mask.to(self.device)
        length = self._prefix_length(dims_mask)
        tokens = self.condition_tokens(multiplicity)
        if length == 0:
            return torch.zeros(len(x), dtype=dtype, device=self.device)
        x = x.to(self.device)[:, :length]
        tokens = torch.cat([tokens, self.value_tokens(x[:, :-1])], dim=1)
        conditionals = self.conditional_log_prob(self.net(tokens), x, 0, dtype)
        return torch.where(dims_mask[:, :length], conditionals, 0.0).sum(-1)

    def log_prob(self, batch: Batch, generator: torch.Generator | None = None,
                 **options) -> torch.Tensor:
        """log p(x | multiplicity) over the existing coordinates in one causal pass, (N,)
        float64."""
        return self._log_prob(batch.x, batch.dims_mask, batch.multiplicity, torch.float64)

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        """Weighted mean negative log-likelihood over events, divided by the mean number of
        existing coordinates (a per-coordinate NLL). In training mode it also records the
        coordinate ranges (see ``centres``)."""
        if self.training:
            self.observe_ranges(batch.x, batch.dims_mask)
        logp = self._log_prob(batch.x, batch.dims_mask, batch.multiplicity, batch.x.dtype)
        weights = batch.weights.to(logp)
        coords = batch.dims_mask.to(logp).sum(-1).mean().clamp_min(1.0)
        return -(weights * logp).sum() / weights.sum() / coords

    # ---- sampling -------------------------------------------------------------------------

    @torch.no_grad()
    def sample_direct(self, multiplicity: torch.Tensor, dims_mask: torch.Tensor,
                      generator: torch.Generator | None = None, kv_cache: bool = True,
                      **options) -> tuple[torch.Tensor, dict]:
        """Autoregressive sampling of all events at once, one coordinate per transformer pass
        up to the longest existing prefix. ``kv_cache``: feed only the new token each pass
        and reuse the cached keys and values (False: recompute the whole prefix; the same
        samples up to float rounding). Returns (x (N, D), info) with zeros at the absent
        coordinates; info: {"nfe": transformer passes, "kv_cache": kv_cache}."""
        if options:
            raise LhcgenError(f"unknown jetgpt sampling option(s): {', '.join(sorted(options))}")
        dims_mask = dims_mask.to(self.device)
        length = self._prefix_length(dims_mask)
        tokens = self.condition_tokens(multiplicity)
        x = torch.zeros(len(multiplicity), self.dim, dtype=tokens.dtype, device=self.device)
        cache = KVCache() if kv_cache else None
        new = tokens
        for i in range(length):
            h = self.net(new, cache) if kv_cache else self.net(tokens)
            x[:, i] = self.sample_conditional(h[:, -1], i, generator)
            if i + 1 < length:
                new = self.value_tokens(x[:, i: i + 1], i)
                if not kv_cache:
                    tokens = torch.cat([tokens, new], dim=1)
        return torch.where(dims_mask, x, 0.0), {"nfe": length, "kv_cache": kv_cache}


def build(cfg: ModelConfig, coordinates: Coordinates, multiplicities: list[int]) -> JetGPT:
    if cfg.hidden % cfg.heads:
        raise LhcgenError(f"model.hidden = {cfg.hidden} must be divisible by model.heads = "
                          f"{cfg.heads}")
    net = CausalTransformer(cfg.hidden, cfg.blocks, cfg.heads, cfg.dropout)
    return JetGPT(net, coordinates, multiplicities, cfg.hidden, cfg.jetgpt.components)
