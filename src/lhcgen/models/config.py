"""The model section of a run config: the network shared by the generators, each
generator's own section (defined in its file), and the Bayesian option."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from lhcgen.models.registry import model_module

MODEL_SECTIONS = {"inn": "INNConfig", "ddpm": "DDPMConfig", "edm": "EDMConfig",
                  "jetgpt": "JetGPTConfig", "consistency": "ConsistencyConfig"}
"""The generators with a section of their own: model name -> its config dataclass, defined
in models/<name>.py and imported only when a config is built."""


def _section(name: str) -> Any:
    return getattr(model_module(name), MODEL_SECTIONS[name])


def _default(name: str):
    return field(default_factory=lambda: _section(name)())


@dataclass(frozen=True)
class BayesianConfig:
    enabled: bool = False
    """Replace the network's linear layers by variational Bayesian ones (nets/bayesian.py);
    the loss gains KL(q || prior) / N_train and sampling can draw network weights."""
    prior_std: float = 1.0
    """Standard deviation of the Gaussian prior on every weight and bias."""
    init_log_variance: float = -9.0
    """Initial log-variance of the weight posteriors."""


@dataclass(frozen=True)
class ModelConfig:
    name: str = "cfm"
    """Generator (models/registry.py lists them): "cfm" conditional flow matching, "inn" a
    coupling-block INN, "ddpm" a DDPM, "edm" EDM diffusion, "consistency" an EDM run
    distilled into a few-step consistency model, "jetgpt" the autoregressive
    transformer JetGPT. Particle clouds: "cfm", "edm" or "consistency"."""
    net: Literal["mlp", "transformer", "cae", "epic"] = "mlp"
    """Network of CFM, DDPM, EDM and consistency models (the INN uses MLP subnetworks,
    JetGPT its own transformer). Events: "mlp" or "transformer" (one token per object).
    Particle clouds: "transformer" (masked self-attention between particles), "cae" (a
    cross-attention encoder: ``global_tokens`` learned tokens attend to the particles and
    back, O(P M)) or "epic" (an EPiC deep set); all permutation-equivariant, without
    positional encoding."""
    hidden: int = 256
    """Width of the MLP, or the token dimension of the transformer, CAE and EPiC."""
    blocks: int = 4
    """Residual blocks (MLP) or layers (transformer, CAE, EPiC)."""
    heads: int = 4
    global_tokens: int = 16
    """Learned global tokens of the cross-attention encoder ("cae"); the global vector's
    width of EPiC."""
    time_embedding: int = 32
    context_frequencies: int = 0
    """Continuous conditions (jets as particle clouds: pT, eta, m, N) enter the network as
    they are (0), or each with sin and cos at this many octave-spaced frequencies as well
    (nets/embeddings.py ``ContextFourierFeatures``), so that it resolves a condition that
    matters on a small scale, such as the jet mass across a resonance peak. CFM, EDM and
    consistency models; processes without continuous conditions take 0."""
    pair_bias: bool = False
    """Particle clouds, "transformer" only: bias every attention logit between two particles
    by a learned function of their distance in the angular coordinates (the interaction
    features of ParT, nets/pair_bias.py), so that the network sees which particles are
    neighbours, the geometry of a jet's prongs. Costs O(P^2) pair features per layer."""
    dropout: float = 0.0
    # the section classes live in their model files (resolved by type_namespace)
    inn: INNConfig = _default("inn")  # noqa: F821
    ddpm: DDPMConfig = _default("ddpm")  # noqa: F821
    edm: EDMConfig = _default("edm")  # noqa: F821
    jetgpt: JetGPTConfig = _default("jetgpt")  # noqa: F821
    consistency: ConsistencyConfig = _default("consistency")  # noqa: F821
    bayesian: BayesianConfig = field(default_factory=BayesianConfig)

    @staticmethod
    def type_namespace() -> dict[str, type]:
        """The section classes by name, for resolving the annotations above (typed_config)."""
        return {cls: _section(name) for name, cls in MODEL_SECTIONS.items()}
