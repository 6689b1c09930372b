"""Generative models: each combines a network with a loss and a sampling rule.

One file per generator; each exposes ``build(cfg, coordinates, multiplicities)``.
With ``model.bayesian.enabled`` the linear layers of the built network become variational
Bayesian layers (nets/bayesian.py).
"""

from __future__ import annotations

from lhcgen.errors import LhcgenError
from lhcgen.models.base import Batch, Generator
from lhcgen.models.config import ModelConfig
from lhcgen.models.registry import CLOUD_MODELS, MODEL_NAMES, model_module
from lhcgen.transforms.coordinates import Coordinates


def build_generator(cfg: ModelConfig, coordinates: Coordinates,
                    multiplicities: list[int]) -> Generator:
    """Build the generator named in the config for the network's ``coordinates``."""
    if coordinates.is_cloud and cfg.name not in CLOUD_MODELS:
        raise LhcgenError(f"model '{cfg.name}' generates events; particle clouds take one of "
                          f"{', '.join(CLOUD_MODELS)}")
    model = model_module(cfg.name).build(cfg, coordinates, multiplicities)
    if cfg.bayesian.enabled:
        from lhcgen.nets.bayesian import bayesianize

        bayesianize(model, cfg.bayesian.prior_std, cfg.bayesian.init_log_variance)
    return model


__all__ = ["Batch", "Coordinates", "Generator", "build_generator", "MODEL_NAMES"]
