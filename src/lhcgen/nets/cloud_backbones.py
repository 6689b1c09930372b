"""Registry of the particle-cloud backbones, all called as net(x, mask, context).

x (N, P, F_in), mask (N, P) bool (True at real particles), context (N, C) -> (N, P, F_out).
"""

from __future__ import annotations

import inspect

from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.nets.cloud_transformer import CloudTransformer
from lhcgen.nets.cross_attention import CrossAttentionEncoder
from lhcgen.nets.epic import EPiC

CLOUD_BACKBONES: dict[str, type[nn.Module]] = {
    "transformer": CloudTransformer,
    "cae": CrossAttentionEncoder,
    "epic": EPiC,
}
"""Backbone name -> class; every class takes (in_features, out_features, context_dim, ...)."""

_SHAPE_ARGUMENTS = ("in_features", "out_features", "context_dim")


def cloud_backbone(name: str, in_features: int, out_features: int, context_dim: int,
                   **options) -> nn.Module:
    """Build the backbone ``name`` with keyword ``options`` (e.g. dim=64, layers=2)."""
    if name not in CLOUD_BACKBONES:
        raise LhcgenError(f"unknown particle-cloud backbone {name!r}; "
                          f"known: {', '.join(CLOUD_BACKBONES)}")
    cls = CLOUD_BACKBONES[name]
    known = [p for p in inspect.signature(cls).parameters if p not in _SHAPE_ARGUMENTS]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise LhcgenError(f"unknown option(s) {', '.join(unknown)} for backbone {name!r}; "
                          f"known: {', '.join(known)}")
    return cls(in_features, out_features, context_dim, **options)
