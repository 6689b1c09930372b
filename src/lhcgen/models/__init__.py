"""Generative models: each combines a network with a loss and a sampling rule.

One file per generator; each exposes ``build(cfg, coordinates, multiplicities)``.
With ``model.bayesian.enabled`` the linear layers of the built network become variational
Bayesian layers (nets/bayesian.py).
"""

from __future__ import annotations

import importlib

from lhcgen.config import ModelConfig
from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Coordinates, Generator
from lhcgen.models.registry import MODEL_NAMES

MODELS = MODEL_NAMES


def build_generator(cfg: ModelConfig, coordinates: Coordinates,
                    multiplicities: list[int]) -> Generator:
    """Build the generator named in the config for the network's ``coordinates``."""
    if cfg.name not in MODELS:
        raise LhcgenError(f"unknown model '{cfg.name}' (available: {', '.join(MODELS)})")
    module = importlib.import_module(f"lhcgen.models.{cfg.name}")
    model = module.build(cfg, coordinates, multiplicities)
    if cfg.bayesian.enabled:
        from lhcgen.nets.bayesian import bayesianize

        bayesianize(model, cfg.bayesian.prior_std, cfg.bayesian.init_log_variance)
    return model


__all__ = ["Batch", "Coordinates", "Generator", "build_generator", "MODELS"]
