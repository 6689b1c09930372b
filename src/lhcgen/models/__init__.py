"""Generative models: each combines a network with a loss and a sampling rule."""

from __future__ import annotations

from lhcgen.config import ModelConfig
from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Generator
from lhcgen.models.cfm import ConditionalFlowMatching
from lhcgen.nets.mlp import ResidualMLP
from lhcgen.nets.transformer import ObjectTransformer

MODELS = ("cfm",)


def build_generator(cfg: ModelConfig, dim: int, layout_slots: list[int],
                    multiplicities: list[int]) -> Generator:
    """Build the generator named in the config for D = ``dim`` coordinates."""
    if cfg.name != "cfm":
        raise LhcgenError(f"unknown model '{cfg.name}' (available: {', '.join(MODELS)})")
    context = ConditionalFlowMatching.context_dim(cfg.time_embedding, len(multiplicities))
    if cfg.net == "mlp":
        net = ResidualMLP(dim, context, cfg.hidden, cfg.blocks, cfg.dropout)
    else:
        net = ObjectTransformer(layout_slots, context, cfg.hidden, cfg.blocks, cfg.heads,
                                cfg.dropout)
    return ConditionalFlowMatching(net, dim, multiplicities, cfg.time_embedding)


__all__ = ["Batch", "Generator", "ConditionalFlowMatching", "build_generator", "MODELS"]
