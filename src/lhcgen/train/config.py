"""Typed run configuration (data, preprocessing, model, training, sampling), validated on
load from YAML.

Every section is a frozen dataclass (the machinery: typed_config.py). The resolved
configuration (every default filled in) is saved with each run.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

from lhcgen.errors import LhcgenError
from lhcgen.models.config import ModelConfig
from lhcgen.processes.registry import DEFAULT_PROCESS, get_process
from lhcgen.typed_config import build_section, read_yaml_mapping


@dataclass(frozen=True)
class DataConfig:
    process: str = DEFAULT_PROCESS
    """The process of the events (processes/registry.py); it also fixes what the
    ``preprocessing`` section holds."""
    train: str = "data/zjets_train.h5"
    """Event file (lhcgen schema) to train on; relative paths are taken from the working dir."""
    val_fraction: float = 0.1
    """Fraction of the training file held out for the validation loss."""
    max_events: int = 0
    """Use at most this many events of the file (0: all)."""


@dataclass(frozen=True)
class TrainingConfig:
    batch_size: int = 1024
    epochs: int = 20
    """Passes over the training events. 0 (only with ``init_from``): the network is taken
    as it is from ``init_from`` and only the conditions model trains (jets: a conditions
    model retrained with more epochs, for the network of a finished run)."""
    lr: float = 1e-3
    weight_decay: float = 0.0
    schedule: Literal["cosine", "onecycle", "constant"] = "cosine"
    warmup_steps: int = 100
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    """Steps between checkpoints (a checkpoint is also written at each epoch end)."""
    grad_clip: float = 1.0
    seed: int = 1
    precision: Literal["fp32", "bf16"] = "fp32"
    """With "bf16" the training forward pass runs under torch.autocast in bfloat16 (on CUDA,
    or on the CPU to try it out); weights, optimiser, EMA, validation and sampling stay
    float32."""
    init_from: str = ""
    """A finished run directory to start from ("": random weights): its network and EMA
    weights, its fitted preprocessing and, where the conditions model has the same shape,
    its conditions model, then trained with a fresh optimiser and learning-rate schedule
    (warmup and cosine over this run's epochs): fine-tuning, or a warm restart that trains
    a run longer than one session allows. The model and preprocessing sections must equal
    the run's (train/init_run.py). A consistency model starts from its teacher without it,
    or carries on the distillation of a consistency run of the same teacher with it."""
    rare_boost: float = 1.0
    """Draw training events whose conditions are rare up to this many times as often as the
    others (1: every event once per epoch). Jets: the bins of m/pT of each type that hold
    fewer jets than the median bin (``Process.rare_condition``, train/rare_draws.py). A
    network conditioned on the jet (type, pT, eta, m, N) still learns p(constituents |
    conditions) unbiased, as only the conditions' distribution changes; the conditions
    model always trains on the jets as they are. The epoch keeps its length: the draws are
    with replacement."""
    micro_batches: int = 1
    """Cut each batch into this many parts, each with its own noise and backward pass
    (gradient accumulation: less memory, the same global batch). With torchrun, the batch
    is cut into WORLD_SIZE x micro_batches shards, which must divide batch_size
    (docs/distributed.md)."""


@dataclass(frozen=True)
class SamplingConfig:
    solver: str = ""
    """Sampler of the model ("": its default; CFM: an ODE solver, DDPM: ancestral or ddim;
    the INN and JetGPT sample in one pass and take none)."""
    steps: int = 0
    """Solver steps (0: the model's default)."""
    batch_size: int = 20000
    conserve_pt_sum: bool = True
    """Jets as particle clouds: rescale the pT_rel of every jet that keeps all its
    constituents so that they sum to the jet pT (physics/particle_cloud.py
    ``conserve_cloud_pt``), and of every truncated jet whose stored constituents sum farther
    from the jet pT than its cut ones (each softer than the softest stored) can make up, by
    the factor nearest 1 that brings it within (``bound_truncated_cloud_pt``); false writes
    them as the network made them. Other processes have no constituents and ignore it."""
    bound_jet_mass: bool = False
    """Jets as particle clouds: the stored constituents of a jet, taken massless, cannot be
    heavier than the jet (physics/particle_cloud.py ``bound_cloud_mass``); true brings every
    generated jet that is to the bound by one factor on its angles (towards the jet axis), its
    summed pT kept, after ``conserve_pt_sum``. Counted either way. Off by default: at 150
    particles it costs the octaves run W1m and W1p (docs/jets-generators.md, "The jet mass
    bound at 150 particles")."""


CONDITION_MARGINALS = ("standardised", "quantile")
"""The coordinates a conditions model can learn in (``ConditionsConfig.marginals``)."""


@dataclass(frozen=True)
class ConditionsConfig:
    """The generator of a process's continuous conditions, for processes that have them
    (jets as particle clouds: pT, eta, m and the constituent count given the jet type). It is
    a small conditional flow-matching model, trained after the main generator into
    RUN/conditions/, and sampled first when `lhcgen sample` generates the conditions too
    (the "fully generated" protocol)."""

    hidden: int = 128
    """Width of its residual MLP."""
    blocks: int = 3
    """Residual blocks of its MLP."""
    epochs: int = 100
    """Passes over the training jets. 0 (only with ``warm_start``, from a run that has one
    of this shape): the conditions model of the run this one starts from, as it is."""
    batch_size: int = 1024
    lr: float = 1e-3
    warm_start: bool = True
    """Start from the conditions model of the run this one starts from, where it has the
    same shape (true): ``training.init_from``'s, or a consistency model's teacher's
    (``model.consistency.teacher``, trained on the same jets and split); or from random
    weights (false: a conditions model trained afresh, as a run from scratch trains it)."""
    marginals: str = "standardised"
    """Its coordinates. "standardised": log pT, atanh(eta / eta_max), log m and
    log(N - 1 + U), each standardised over the training jets (every run before this
    option). "quantile": each of these sent through its empirical distribution, per jet
    type, onto a standard normal (transforms/quantile_marginals.py): every marginal the
    model learns is a standard normal, whatever its shape in GeV (the W mass peak, the pT
    piled up below the pT-hat window), and every generated value lies within the training
    jets' range of its type. Measured (docs/jets-generators.md, "Quantile marginals"): as
    close with 100 epochs as the standardised model with 400; no closer with 400."""
    solver: str = "midpoint"
    """ODE solver that samples it (solvers/ode.py)."""
    steps: int = 16
    """Solver steps."""

    def model_config(self) -> ModelConfig:
        return ModelConfig(name="cfm", net="mlp", hidden=self.hidden, blocks=self.blocks)

    def training_config(self, main: TrainingConfig) -> TrainingConfig:
        """The main run's training settings with this model's epochs, batch size and rate."""
        return dataclasses.replace(main, epochs=self.epochs, batch_size=self.batch_size,
                                   lr=self.lr, micro_batches=1, precision="fp32",
                                   warmup_steps=min(main.warmup_steps, 100))


@dataclass(frozen=True)
class RunConfig:
    data: DataConfig = field(default_factory=DataConfig)
    preprocessing: Any = field(
        default_factory=lambda: get_process(DEFAULT_PROCESS).preprocessing_config())
    """The section of ``data.process`` (for Z+jets: transforms/zjets.py)."""
    model: ModelConfig = field(default_factory=ModelConfig)
    training: TrainingConfig = field(default_factory=TrainingConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    conditions: ConditionsConfig = field(default_factory=ConditionsConfig)
    """Used only by processes with continuous conditions (jets)."""

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


POSITIVE = {
    "training.batch_size", "training.lr", "training.checkpoint_every",
    "training.micro_batches",
    "model.hidden", "model.blocks", "model.heads", "model.time_embedding",
    "model.global_tokens",
    "sampling.batch_size", "preprocessing.pt_epsilon", "model.inn.couplings",
    "model.inn.subnet_layers", "model.inn.bins", "model.inn.tail_bound", "model.inn.clamp",
    "model.ddpm.timesteps", "model.ddpm.beta_start", "model.ddpm.beta_end",
    "model.jetgpt.components", "model.bayesian.prior_std", "model.edm.sigma_data",
    "model.edm.p_std", "model.edm.sigma_min", "model.edm.sigma_max", "model.edm.rho",
    "model.consistency.discretization",
    "preprocessing.mass_epsilon", "conditions.hidden", "conditions.blocks",
    "conditions.batch_size", "conditions.lr", "conditions.steps",
}


def config_from_dict(data: dict) -> RunConfig:
    """Validate a plain mapping into a RunConfig (unknown keys and wrong types are errors)."""
    if not isinstance(data, dict):
        raise LhcgenError("config: the top level must be a mapping of sections")
    data = dict(data)
    preprocessing = data.pop("preprocessing", None) or {}
    cfg = build_section(RunConfig, data, positive=POSITIVE)
    process = get_process(cfg.data.process, where="config: 'data.process': ")
    if not isinstance(preprocessing, dict):
        raise LhcgenError(f"config: 'preprocessing' must be a section (mapping), got "
                          f"{type(preprocessing).__name__}")
    cfg = dataclasses.replace(cfg, preprocessing=build_section(
        process.preprocessing_config, preprocessing, "preprocessing.", POSITIVE))
    if not process.has_conditions_model and cfg.conditions != ConditionsConfig():
        raise LhcgenError(f"config: 'conditions': process {process.name!r} has no conditions "
                          "model (the section sets the generator of the jet kinematics of "
                          "jets as particle clouds); remove the section")
    if cfg.training.epochs < 0 or (cfg.training.epochs == 0 and not cfg.training.init_from):
        raise LhcgenError(f"config: 'training.epochs' must be positive, got "
                          f"{cfg.training.epochs} (0 only with 'training.init_from': the "
                          "network of that run as it is, and only the conditions model "
                          "trained)")
    _check_condition_epochs(cfg)
    if not 0.0 <= cfg.data.val_fraction < 1.0:
        raise LhcgenError("config: 'data.val_fraction' must be in [0, 1)")
    if not 0.0 <= cfg.training.ema_decay < 1.0:
        raise LhcgenError("config: 'training.ema_decay' must be in [0, 1)")
    if not 1.0 <= cfg.training.rare_boost <= 1000.0:
        raise LhcgenError("config: 'training.rare_boost' must be in [1, 1000] (1: no boost)")
    if cfg.training.rare_boost != 1.0 and not process.rare_condition_name:
        raise LhcgenError(f"config: 'training.rare_boost': process {process.name!r} has no "
                          "rare condition to draw more often; leave it at 1")
    if cfg.training.batch_size % cfg.training.micro_batches:
        raise LhcgenError("config: 'training.micro_batches' must divide 'training.batch_size'")
    if cfg.model.net in ("transformer", "cae") and cfg.model.hidden % cfg.model.heads:
        raise LhcgenError("config: 'model.hidden' must be divisible by 'model.heads'")
    if cfg.model.context_frequencies < 0:
        raise LhcgenError("config: 'model.context_frequencies' must not be negative (0: the "
                          "conditions as they are)")
    if cfg.model.context_frequencies and not process.has_conditions_model:
        raise LhcgenError(f"config: 'model.context_frequencies': process {process.name!r} has "
                          "no continuous conditions to embed (jets as particle clouds have: "
                          "pT, eta, m, N); leave it at 0")
    if cfg.sampling.steps < 0:
        raise LhcgenError("config: 'sampling.steps' must not be negative (0: the model's "
                          "default)")
    if not cfg.model.edm.sigma_min < cfg.model.edm.sigma_max:
        raise LhcgenError("config: need 'model.edm.sigma_min' < 'model.edm.sigma_max'")
    if cfg.model.edm.s_churn < 0:
        raise LhcgenError("config: 'model.edm.s_churn' must not be negative")
    if not 0.0 <= cfg.model.edm.condition_dropout < 1.0:
        raise LhcgenError("config: 'model.edm.condition_dropout' must be in [0, 1) (the share "
                          "of training examples shown without their kinematics)")
    if not 0.0 <= cfg.model.edm.guidance < float("inf"):
        raise LhcgenError("config: 'model.edm.guidance' must be a finite number >= 0 (1: no "
                          "guidance)")
    if cfg.model.edm.guidance != 1.0 and not cfg.model.edm.condition_dropout > 0:
        raise LhcgenError("config: 'model.edm.guidance' other than 1 needs "
                          "'model.edm.condition_dropout' > 0 (guidance extrapolates from the "
                          "denoiser without the kinematics, which training must teach)")
    if not 0.0 <= cfg.model.edm.mass_loss < float("inf"):
        raise LhcgenError("config: 'model.edm.mass_loss' must be a finite number >= 0 (0: no "
                          "loss on the constituents' mass)")
    if not cfg.model.edm.mass_loss_sigma_max > 0:
        raise LhcgenError("config: 'model.edm.mass_loss_sigma_max' must be > 0 (inf: the mass "
                          "loss at every noise level)")
    if cfg.model.edm.mass_loss and process.kind != "clouds":
        raise LhcgenError(f"config: 'model.edm.mass_loss': process {process.name!r} has no "
                          "constituents to take the mass of (jets as particle clouds have); "
                          "leave it at 0")
    if not cfg.model.ddpm.beta_start < cfg.model.ddpm.beta_end < 1:
        raise LhcgenError("config: need 0 < 'model.ddpm.beta_start' < 'model.ddpm.beta_end' < 1")
    from lhcgen.models.registry import MODEL_NAMES, check_sampler

    if cfg.model.name not in MODEL_NAMES:
        raise LhcgenError(f"config: 'model.name' must be one of {', '.join(MODEL_NAMES)}, got "
                          f"{cfg.model.name!r}")
    if cfg.model.name == "consistency":
        _check_consistency(cfg)
    check_sampler(cfg.model.name, cfg.sampling.solver or None, cfg.sampling.steps or None,
                  where="config: 'sampling.solver': ")
    if cfg.conditions.marginals not in CONDITION_MARGINALS:
        raise LhcgenError(f"config: 'conditions.marginals' must be one of "
                          f"{', '.join(CONDITION_MARGINALS)}, got {cfg.conditions.marginals!r}")
    check_sampler("cfm", cfg.conditions.solver, cfg.conditions.steps,
                  where="config: 'conditions.solver': ")
    return cfg


def conditions_source(cfg: RunConfig) -> str:
    """The run whose conditions model this run's starts from ("": none, random weights):
    ``training.init_from``'s, or a consistency model's teacher's, with
    ``conditions.warm_start``."""
    if not cfg.conditions.warm_start:
        return ""
    if cfg.training.init_from:
        return cfg.training.init_from
    return cfg.model.consistency.teacher if cfg.model.name == "consistency" else ""


def _check_condition_epochs(cfg: RunConfig) -> None:
    epochs = cfg.conditions.epochs
    if epochs < 0 or (epochs == 0 and not conditions_source(cfg)):
        raise LhcgenError(f"config: 'conditions.epochs' must be positive, got {epochs} (0 "
                          "only with 'conditions.warm_start' true and a run to start from, "
                          "'training.init_from' or a consistency model's teacher: its "
                          "conditions model as it is)")
    if epochs == 0 and cfg.training.epochs == 0:
        raise LhcgenError("config: 'training.epochs' and 'conditions.epochs' are both 0: "
                          "nothing would train; give one of them epochs")


def _check_consistency(cfg: RunConfig) -> None:
    """The settings of a consistency model that do not need its teacher run."""
    section, edm = cfg.model.consistency, cfg.model.edm
    if not section.teacher:
        raise LhcgenError("config: 'model.consistency.teacher' is required for model "
                          "'consistency': the EDM run directory to distil")
    if section.discretization < 2:
        raise LhcgenError("config: 'model.consistency.discretization' must be at least 2")
    sigmas = section.sampling_sigmas
    if (any(b >= a for a, b in zip(sigmas[:-1], sigmas[1:], strict=False))
            or not edm.sigma_min < sigmas[-1] or sigmas[0] > edm.sigma_max):
        raise LhcgenError(f"config: 'model.consistency.sampling_sigmas' must decrease within "
                          f"(sigma_min, sigma_max] = ({edm.sigma_min}, {edm.sigma_max}], got "
                          f"{list(sigmas)}")
    if cfg.sampling.steps > len(sigmas):
        raise LhcgenError(f"config: 'sampling.steps' {cfg.sampling.steps} is more than the "
                          f"{len(sigmas)} noise levels of 'model.consistency.sampling_sigmas'")
    if cfg.model.bayesian.enabled:
        raise LhcgenError("config: model 'consistency' distils a plain EDM run; "
                          "'model.bayesian.enabled' must be false")


def _flat(section: dict, prefix: str = "") -> dict:
    out = {}
    for key, value in section.items():
        out.update(_flat(value, f"{prefix}{key}.") if isinstance(value, dict)
                   else {prefix + key: value})
    return out


def differences(ours: dict, theirs: dict, prefix: str, there: str = "in the teacher"
                ) -> list[str]:
    """'key value here, value {there}' for every (nested) key whose values differ."""
    a, b = _flat(ours, prefix), _flat(theirs, prefix)
    return [f"{key} {a.get(key)!r} here, {b.get(key)!r} {there}"
            for key in sorted(set(a) | set(b)) if a.get(key) != b.get(key)]


def check_teacher(cfg: RunConfig) -> None:
    """A consistency model's teacher run (``model.consistency.teacher``): an EDM run with a
    checkpoint, trained on the same data, preprocessing and training split
    (``training.seed``), whose network the student's ``model`` section repeats (so the
    distilled run samples from its own config, without the teacher). One line otherwise."""
    from lhcgen.models.consistency import TEACHER_CHECKPOINT, teacher_config

    teacher = cfg.model.consistency.teacher
    where = f"model.consistency.teacher '{teacher}'"
    try:
        theirs = config_from_dict(teacher_config(teacher))
    except LhcgenError as exc:
        raise LhcgenError(f"{where}: {exc}" if str(exc).startswith("config:")
                          else str(exc)) from None
    if not (Path(teacher) / TEACHER_CHECKPOINT).is_file():
        raise LhcgenError(f"{where}: no {TEACHER_CHECKPOINT}; its training has not written a "
                          "checkpoint yet")
    ours_data = dataclasses.asdict(cfg.data) | {"train": str(Path(cfg.data.train).resolve())}
    theirs_data = (dataclasses.asdict(theirs.data)
                   | {"train": str(Path(theirs.data.train).resolve())})
    skip = ("name", "consistency")
    model = {k: v for k, v in dataclasses.asdict(cfg.model).items() if k not in skip}
    their_model = {k: v for k, v in dataclasses.asdict(theirs.model).items() if k not in skip}
    for what, found in (
            ("data", differences(ours_data, theirs_data, "data.")),
            ("preprocessing", differences(dataclasses.asdict(cfg.preprocessing),
                                           dataclasses.asdict(theirs.preprocessing),
                                           "preprocessing.")),
            ("training split", differences({"seed": cfg.training.seed},
                                            {"seed": theirs.training.seed}, "training.")),
            ("network", differences(model, their_model, "model."))):
        if found:
            raise LhcgenError(f"{where} differs in its {what}: {'; '.join(found)} (the "
                              "student repeats the teacher's data, preprocessing, "
                              "training.seed and model section)")


def load_config(path: str | Path, seed: int | None = None) -> RunConfig:
    """The run config at ``path``, validated, for training: a consistency model's teacher
    run is checked too (``check_teacher``). ``seed`` replaces its ``training.seed`` before
    the checks (``lhcgen train --seed``: a replica of the same run)."""
    data = read_yaml_mapping(path)
    training = data.get("training") if isinstance(data, dict) else None
    if seed is not None and isinstance(data, dict) and isinstance(training, dict | None):
        data = {**data, "training": {**(training or {}), "seed": seed}}
    try:
        cfg = config_from_dict(data)
        if cfg.model.name == "consistency":
            check_teacher(cfg)
        return cfg
    except LhcgenError as exc:
        raise LhcgenError(f"{path}: {exc}") from None


def dump_config(cfg: RunConfig) -> str:
    return yaml.safe_dump(cfg.to_dict(), sort_keys=False)
