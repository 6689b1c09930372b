"""Typed experiment configuration, validated on load from YAML.

Every section is a frozen dataclass. Loading rejects unknown keys and wrong types with one
line that names the key, so a typo never silently falls back to a default. The resolved
configuration (every default filled in) is saved with each run.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import yaml

from lhcgen.errors import LhcgenError


@dataclass(frozen=True)
class DataConfig:
    train: str = "data/zjets_train.h5"
    """Event file (lhcgen schema) to train on; relative paths are taken from the working dir."""
    val_fraction: float = 0.1
    """Fraction of the training file held out for the validation loss."""
    max_events: int = 0
    """Use at most this many events of the file (0: all)."""


@dataclass(frozen=True)
class PreprocessingConfig:
    muon_coordinates: Literal["muons", "dimuon"] = "muons"
    """"muons": each muon's (pT, eta, phi); "dimuon": the pair's (pT, eta, m) plus the decay
    angles in its rest frame, which keeps the Z peak sharp (transforms/dimuon.py)."""
    pt_min: float = 20.0
    """The pT cut of every object in GeV: pT -> log(pT - pt_min + pt_epsilon)."""
    pt_epsilon: float = 0.1
    muon_eta_max: float = 0.0
    """With "muons": muon eta -> arctanh(eta / muon_eta_max), so generated muons stay inside
    the acceptance |eta| < muon_eta_max (the data's cut is 2.5); 0 leaves eta as it is."""
    mass_epsilon: float = 0.1
    """Jet mass -> log(m + mass_epsilon) in GeV."""
    muon_mass: float = 0.1056583755
    """Mass given to generated muons (their masses are dropped from the network's inputs)."""


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


@dataclass(frozen=True)
class DDPMConfig:
    timesteps: int = 1000
    """Diffusion steps T of the training chain."""
    schedule: Literal["linear", "cosine"] = "cosine"
    """Variance schedule: linear betas (Ho et al.) or the cosine alpha-bar (Nichol & Dhariwal)."""
    beta_start: float = 1e-4
    """First beta of the linear schedule."""
    beta_end: float = 0.02
    """Last beta of the linear schedule."""
    parameterization: Literal["v", "eps"] = "v"
    """How the network output makes eps (the loss is the eps-MSE either way): "eps" is the
    plain output (Ho et al.); "v" adds the skip connection that keeps x_0 bounded at high
    noise (models/ddpm.py explains why it is the default)."""


@dataclass(frozen=True)
class JetGPTConfig:
    components: int = 16
    """Mixture components of every one-dimensional conditional."""


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
    name: Literal["cfm", "inn", "ddpm", "jetgpt"] = "cfm"
    """Generator (models/): conditional flow matching, a coupling-block INN, a DDPM or the
    autoregressive transformer JetGPT."""
    net: Literal["mlp", "transformer"] = "mlp"
    """Network of CFM and DDPM (the INN uses MLP subnetworks, JetGPT its own transformer)."""
    hidden: int = 256
    """Width of the MLP, or the token dimension of the transformer."""
    blocks: int = 4
    """Residual blocks (MLP) or transformer layers."""
    heads: int = 4
    time_embedding: int = 32
    dropout: float = 0.0
    inn: INNConfig = field(default_factory=INNConfig)
    ddpm: DDPMConfig = field(default_factory=DDPMConfig)
    jetgpt: JetGPTConfig = field(default_factory=JetGPTConfig)
    bayesian: BayesianConfig = field(default_factory=BayesianConfig)


@dataclass(frozen=True)
class TrainingConfig:
    batch_size: int = 1024
    epochs: int = 20
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_steps: int = 100
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    """Steps between checkpoints (a checkpoint is also written at each epoch end)."""
    grad_clip: float = 1.0
    seed: int = 1


@dataclass(frozen=True)
class SamplingConfig:
    solver: str = ""
    """Sampler of the model ("": its default; CFM: an ODE solver, DDPM: ancestral or ddim;
    the INN and JetGPT sample in one pass and take none)."""
    steps: int = 0
    """Solver steps (0: the model's default)."""
    batch_size: int = 20000


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    preprocessing: PreprocessingConfig = field(default_factory=PreprocessingConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


POSITIVE = {
    "training.batch_size", "training.epochs", "training.lr", "training.checkpoint_every",
    "model.hidden", "model.blocks", "model.heads", "model.time_embedding",
    "sampling.batch_size", "preprocessing.pt_epsilon", "model.inn.couplings",
    "model.inn.subnet_layers", "model.inn.bins", "model.inn.tail_bound", "model.inn.clamp",
    "model.ddpm.timesteps", "model.ddpm.beta_start", "model.ddpm.beta_end",
    "model.jetgpt.components", "model.bayesian.prior_std",
    "preprocessing.mass_epsilon",
}


def _type_name(tp) -> str:
    if typing.get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _convert(value, tp, key: str):
    origin = typing.get_origin(tp)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise LhcgenError(f"config: '{key}' must be a section (mapping), "
                              f"got {type(value).__name__}")
        return _build(tp, value, key + ".")
    if origin is Literal:
        if value not in typing.get_args(tp):
            raise LhcgenError(f"config: '{key}' must be {_type_name(tp)}, got {value!r}")
        return value
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None:
            return None
        return _convert(value, args[0], key)
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LhcgenError(f"config: '{key}' must be a number, got {value!r}")
        return float(value)
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise LhcgenError(f"config: '{key}' must be an integer, got {value!r}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise LhcgenError(f"config: '{key}' must be true or false, got {value!r}")
        return value
    if tp is str:
        if not isinstance(value, str):
            raise LhcgenError(f"config: '{key}' must be a string, got {value!r}")
        return value
    raise TypeError(f"unsupported config type {tp} for {key}")


def _build(cls, data: dict, prefix: str = ""):
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = [k for k in data if k not in names]
    if unknown:
        raise LhcgenError(f"config: unknown key '{prefix}{unknown[0]}' "
                          f"(allowed in this section: {', '.join(names)})")
    kwargs = {}
    for name, value in data.items():
        key = prefix + name
        kwargs[name] = _convert(value, hints[name], key)
        if key in POSITIVE and kwargs[name] <= 0:
            raise LhcgenError(f"config: '{key}' must be positive, got {value!r}")
    return cls(**kwargs)


def config_from_dict(data: dict) -> RunConfig:
    """Validate a plain mapping into a RunConfig (unknown keys and wrong types are errors)."""
    if not isinstance(data, dict):
        raise LhcgenError("config: the top level must be a mapping of sections")
    cfg = _build(RunConfig, data)
    if not 0.0 <= cfg.data.val_fraction < 1.0:
        raise LhcgenError("config: 'data.val_fraction' must be in [0, 1)")
    if cfg.preprocessing.muon_eta_max < 0:
        raise LhcgenError("config: 'preprocessing.muon_eta_max' must not be negative")
    if not 0.0 <= cfg.training.ema_decay < 1.0:
        raise LhcgenError("config: 'training.ema_decay' must be in [0, 1)")
    if cfg.model.net == "transformer" and cfg.model.hidden % cfg.model.heads:
        raise LhcgenError("config: 'model.hidden' must be divisible by 'model.heads'")
    if cfg.sampling.steps < 0:
        raise LhcgenError("config: 'sampling.steps' must not be negative (0: the model's "
                          "default)")
    if not cfg.model.ddpm.beta_start < cfg.model.ddpm.beta_end < 1:
        raise LhcgenError("config: need 0 < 'model.ddpm.beta_start' < 'model.ddpm.beta_end' < 1")
    from lhcgen.models.registry import check_sampler

    check_sampler(cfg.model.name, cfg.sampling.solver or None, cfg.sampling.steps or None,
                  where="config: 'sampling.solver': ")
    return cfg


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    if not path.is_file():
        raise LhcgenError(f"{path}: no such config file")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise LhcgenError(f"{path}: not valid YAML{where}") from None
    try:
        return config_from_dict(data or {})
    except LhcgenError as exc:
        raise LhcgenError(f"{path}: {exc}") from None


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
