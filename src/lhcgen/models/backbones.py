"""The network of a generator: maps (x, context, dims_mask) to the shape of x.

Events (flat coordinates): the residual MLP or the object transformer. Particle clouds
(``coordinates.is_cloud``): a permutation-equivariant cloud backbone (nets/cloud_backbones.py)
chosen by ``model.net``.
"""

from __future__ import annotations

import torch
from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.models.config import ModelConfig
from lhcgen.nets.embeddings import ContextFourierFeatures
from lhcgen.nets.mlp import ResidualMLP
from lhcgen.nets.transformer import ObjectTransformer
from lhcgen.transforms.coordinates import Coordinates

EVENT_NETS = ("mlp", "transformer")
CLOUD_NETS = ("transformer", "cae", "epic")


class CloudNet(nn.Module):
    """A cloud backbone ``net(x (N, P, F), mask (N, P), context)`` behind the generators'
    call ``(x, context, dims_mask (N, P, F))``."""

    def __init__(self, backbone: nn.Module):
        super().__init__()
        self.backbone = backbone

    def forward(self, x: torch.Tensor, context: torch.Tensor,
                dims_mask: torch.Tensor) -> torch.Tensor:
        return self.backbone(x, dims_mask[..., 0].bool(), context)


def context_features(cfg: ModelConfig, coordinates: Coordinates) -> tuple[nn.Module, int]:
    """The embedding of the continuous conditions (``model.context_frequencies``) and its
    width: the identity (the conditions as they are) or ``ContextFourierFeatures``."""
    if not cfg.context_frequencies:
        return nn.Identity(), coordinates.context
    if cfg.context_frequencies < 0 or not coordinates.context:
        raise LhcgenError("model.context_frequencies applies to continuous conditions "
                          f"(jets as particle clouds); got {cfg.context_frequencies} for "
                          f"coordinates with {coordinates.context} conditions")
    return (ContextFourierFeatures(cfg.context_frequencies),
            ContextFourierFeatures.width(coordinates.context, cfg.context_frequencies))


def coordinate_net(cfg: ModelConfig, coordinates: Coordinates, context: int) -> nn.Module:
    """A network over ``coordinates`` conditioned on a context vector of width ``context``:
    for events a ResidualMLP over the flat coordinates or an ObjectTransformer with one
    token per object slot; for particle clouds a cloud backbone."""
    if coordinates.is_cloud:
        if cfg.net not in CLOUD_NETS:
            raise LhcgenError(f"model.net '{cfg.net}' is a network of events; particle clouds "
                              f"take one of {', '.join(CLOUD_NETS)}")
        from lhcgen.nets.cloud_backbones import cloud_backbone

        options = {"dim": cfg.hidden, "layers": cfg.blocks}
        if cfg.pair_bias:
            if cfg.net != "transformer" or not coordinates.angular:
                raise LhcgenError("model.pair_bias needs model.net: transformer (particles "
                                  "attending to each other) and a process whose particles have "
                                  f"angular coordinates; got net '{cfg.net}' and "
                                  f"{coordinates.angular} angular coordinates")
            options["pair_coordinates"] = coordinates.angular
        if cfg.net in ("transformer", "cae"):
            options["heads"] = cfg.heads
        if cfg.net == "cae":
            options["global_tokens"] = cfg.global_tokens
        if cfg.net == "epic":
            options["global_dim"] = cfg.global_tokens
        return CloudNet(cloud_backbone(cfg.net, coordinates.dim, coordinates.dim, context,
                                       **options))
    if cfg.pair_bias:
        raise LhcgenError("model.pair_bias applies to particle clouds (jets) with model.net: "
                          "transformer; events have no pairwise particle distances")
    if cfg.net not in EVENT_NETS:
        raise LhcgenError(f"model.net '{cfg.net}' is a network of particle clouds; events take "
                          f"one of {', '.join(EVENT_NETS)}")
    if cfg.net == "mlp":
        return ResidualMLP(coordinates.dim, context, cfg.hidden, cfg.blocks, cfg.dropout)
    return ObjectTransformer(list(coordinates.slots), context, cfg.hidden, cfg.blocks,
                             cfg.heads, cfg.dropout)
