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
class ModelConfig:
    name: Literal["cfm"] = "cfm"
    net: Literal["mlp", "transformer"] = "mlp"
    hidden: int = 256
    """Width of the MLP, or the token dimension of the transformer."""
    blocks: int = 4
    """Residual blocks (MLP) or transformer layers."""
    heads: int = 4
    time_embedding: int = 32
    dropout: float = 0.0


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
    solver: str = "midpoint"
    steps: int = 8
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
    "sampling.steps", "sampling.batch_size", "preprocessing.pt_epsilon",
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
    from lhcgen.solvers import SOLVERS

    if cfg.sampling.solver not in SOLVERS:
        raise LhcgenError(f"config: 'sampling.solver' must be one of {', '.join(SOLVERS)}, "
                          f"got {cfg.sampling.solver!r}")
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
