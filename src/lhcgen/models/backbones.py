"""The network of a generator that maps (x, context, dims_mask) to (N, D): the residual MLP
or the object transformer, chosen by ``model.net``."""

from __future__ import annotations

from torch import nn

from lhcgen.models.config import ModelConfig
from lhcgen.nets.mlp import ResidualMLP
from lhcgen.nets.transformer import ObjectTransformer
from lhcgen.transforms.coordinates import Coordinates


def coordinate_net(cfg: ModelConfig, coordinates: Coordinates, context: int) -> nn.Module:
    """A ResidualMLP over the flat coordinates, or an ObjectTransformer with one token per
    object slot, conditioned on a context vector of width ``context``."""
    if cfg.net == "mlp":
        return ResidualMLP(coordinates.dim, context, cfg.hidden, cfg.blocks, cfg.dropout)
    return ObjectTransformer(list(coordinates.slots), context, cfg.hidden, cfg.blocks,
                             cfg.heads, cfg.dropout)
