"""Which samplers each generator accepts, and its defaults, as plain data.

Kept apart from the model classes so that configs and the CLI can check a sampler without
building a network.
"""

from __future__ import annotations

from dataclasses import dataclass

from lhcgen.errors import LhcgenError
from lhcgen.solvers.ode import SOLVERS as ODE_SOLVERS


@dataclass(frozen=True)
class SamplerSpec:
    solvers: tuple[str, ...]
    """Names accepted by the model's ``sample``; empty: the model samples in one pass."""
    default_solver: str | None
    default_steps: int | None
    description: str


SAMPLERS = {
    "cfm": SamplerSpec(ODE_SOLVERS, "midpoint", 8, "an ODE solver"),
    "ddpm": SamplerSpec(("ancestral", "ddim"), "ddim", 50,
                        "ancestral sampling or DDIM"),
    "inn": SamplerSpec((), None, None, "one pass through the inverse flow"),
    "jetgpt": SamplerSpec((), None, None, "one autoregressive pass over the components"),
}
MODEL_NAMES = tuple(SAMPLERS)


def check_sampler(model: str, solver: str | None, steps: int | None, where: str = "") -> None:
    """Raise one clear line if ``solver`` or ``steps`` does not apply to ``model``."""
    if model not in SAMPLERS:
        raise LhcgenError(f"{where}unknown model '{model}' (available: {', '.join(SAMPLERS)})")
    spec = SAMPLERS[model]
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
    spec = SAMPLERS[model]
    if not spec.solvers:
        return None, None
    return solver or spec.default_solver, steps or spec.default_steps
