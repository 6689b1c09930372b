"""The generators by name, and which samplers each accepts, without building a network.

Each model file (models/<name>.py) holds its config dataclass, its ``SAMPLER`` spec and
``build``; this registry only knows the names and imports a model's file when asked, so
configs and the CLI can check a sampler without importing every network. Adding a model:
docs/adding-a-model.md.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType

from lhcgen.errors import LhcgenError

MODEL_NAMES = ("cfm", "consistency", "ddpm", "edm", "inn", "jetgpt")
"""Every generator; its file is lhcgen/models/<name>.py."""
CLOUD_MODELS = ("cfm", "consistency", "edm")
"""The generators of particle clouds (the others generate events)."""


@dataclass(frozen=True)
class SamplerSpec:
    solvers: tuple[str, ...]
    """Names accepted by ``lhcgen.solvers.sample``; empty: the model samples in one pass."""
    default_solver: str | None
    default_steps: int | None
    description: str


def model_module(name: str, where: str = "") -> ModuleType:
    """The file of model ``name`` (imported on first use); one line if there is none."""
    if name not in MODEL_NAMES:
        raise LhcgenError(f"{where}unknown model '{name}' (available: {', '.join(MODEL_NAMES)})")
    return importlib.import_module(f"lhcgen.models.{name}")


def sampler_spec(name: str, where: str = "") -> SamplerSpec:
    return model_module(name, where).SAMPLER


def check_sampler(model: str, solver: str | None, steps: int | None, where: str = "") -> None:
    """Raise one clear line if ``solver`` or ``steps`` does not apply to ``model``."""
    spec = sampler_spec(model, where)
    if not spec.solvers:
        if solver is not None or steps is not None:
            given = "a solver" if solver is not None else "a step count"
            raise LhcgenError(f"{where}model '{model}' samples in {spec.description} and takes "
                              f"no solver or steps (got {given})")
        return
    if solver is not None and solver not in spec.solvers:
        raise LhcgenError(f"{where}unknown solver '{solver}' for model '{model}' "
                          f"(available: {', '.join(spec.solvers)})")
    if steps is not None and steps <= 0:
        raise LhcgenError(f"{where}the number of solver steps must be positive, got {steps}")


def resolve_sampler(model: str, solver: str | None,
                    steps: int | None) -> tuple[str | None, int | None]:
    """The solver and steps to use: the given ones, else the model's defaults (checked)."""
    check_sampler(model, solver, steps)
    spec = sampler_spec(model)
    if not spec.solvers:
        return None, None
    return solver or spec.default_solver, steps or spec.default_steps
