"""Consistency distillation (Song et al., arXiv:2303.01469, "CD"; improved techniques:
Song & Dhariwal, arXiv:2310.14189) of a trained EDM run into a 1-, 2- or 3-step generator.

The consistency function maps any point of a probability-flow ODE trajectory
(dx/dsigma = (x - D(x, sigma)) / sigma, solvers/edm.py) to its end at sigma_min:
f(x_sigma, sigma) = x_{sigma_min}. It is parametrised (Song et al. sec. 3, appendix C) as

    f(x, sigma) = c_skip(sigma) x + c_out(sigma) F(c_in x, c_noise),
    c_skip = s_d^2 / ((sigma - sigma_min)^2 + s_d^2),
    c_out  = (sigma - sigma_min) s_d / sqrt(s_d^2 + sigma^2),

with the network call F, c_in and c_noise of EDM (models/edm.py), so f(x, sigma_min) = x
exactly (the boundary condition), and away from sigma_min f differs from EDM's denoiser D
with the same F by O(sigma_min / sigma): the student starts from the teacher's EMA weights.

Training (CD, Song et al. Algorithm 2) on the teacher's noise levels sigma_0 < ... < sigma_{N-1}
(``karras_sigmas(N, sigma_min, sigma_max, rho)`` without its final 0, ascending): per event
n ~ U{0..N-2}, z ~ N(0, 1) on the existing coordinates,

    x_{n+1} = x + sigma_{n+1} z,
    x_hat_n = one Heun (or Euler) step of the teacher's PF-ODE from sigma_{n+1} to sigma_n,
    L = lambda_n d(f_theta(x_{n+1}, sigma_{n+1}), stopgrad f_theta(x_hat_n, sigma_n)),
    lambda_n = 1 / (sigma_{n+1} - sigma_n),

with theta^- = stopgrad(theta) (Song & Dhariwal sec. 3.2: no target EMA) and d the
pseudo-Huber distance sqrt(|a - b|^2 + c^2) - c, c = 0.00054 sqrt(d) with d the coordinates
of the event that exist (Song & Dhariwal sec. 3.3), or the mean squared difference ("l2").
Events (N, D) and particle clouds (N, P, F) with continuous conditions alike.

The teacher is the EDM run ``model.consistency.teacher``; the student's ``model`` section
must equal the teacher's (train/config.py checks it when a config is loaded for training),
so the distilled run's own config rebuilds its network and sampling never needs the
teacher. The teacher's network is built lazily at the first ``loss`` call, frozen, and kept
out of the student's state_dict, optimiser and EMA. Sampling: solvers/consistency.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from lhcgen.errors import LhcgenError
from lhcgen.models import edm
from lhcgen.models.backbones import coordinate_net
from lhcgen.models.base import Batch
from lhcgen.models.config import ModelConfig
from lhcgen.models.registry import SamplerSpec
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.typed_config import read_yaml_mapping

SAMPLER = SamplerSpec(("consistency",), "consistency", 1,
                      "the multistep consistency sampler (solvers/consistency.py)")
"""One sampler; 1 to len(model.consistency.sampling_sigmas) steps (``resolve_sampler``)."""

PSEUDO_HUBER_C = 0.00054
"""c / sqrt(d) of the pseudo-Huber distance (Song & Dhariwal sec. 3.3)."""
TEACHER_CONFIG, TEACHER_CHECKPOINT = "config.yaml", "checkpoint.pt"
"""The files of a run directory (train/run.py, train/checkpoint.py) the teacher is read
from; the models layer reads them itself, as it may not import lhcgen.train."""


@dataclass(frozen=True)
class ConsistencyConfig:
    teacher: str = ""
    """The EDM run directory to distil (`lhcgen train` of a model named "edm"); needed for
    training only."""
    teacher_solver: Literal["heun", "euler"] = "heun"
    """The teacher's ODE step from sigma_{n+1} to sigma_n: Heun (2 evaluations, second
    order; Song et al.) or Euler (1 evaluation)."""
    discretization: int = 18
    """N: the noise levels karras_sigmas(N, sigma_min, sigma_max, rho) of the teacher's EDM
    section, without the final 0 (Song et al.: 18 for CIFAR-10 with Heun)."""
    loss: Literal["pseudo_huber", "l2"] = "pseudo_huber"
    """d(a, b): "pseudo_huber" sqrt(|a - b|^2 + c^2) - c over the existing coordinates,
    c = 0.00054 sqrt(d) (Song & Dhariwal); "l2" their mean squared difference."""
    sampling_sigmas: tuple[float, ...] = (80.0, 1.0, 0.3)
    """Noise levels of the k-step sampler, decreasing, in (sigma_min, sigma_max]: step 1
    evaluates f at sampling_sigmas[0] on pure noise (normally sigma_max), step i re-noises
    the estimate to sampling_sigmas[i - 1]; `--steps k` uses the first k. The default
    re-noises first to sigma = 1 ~ s_d, noise as large as the standardised data's spread,
    which keeps the coarse structure, then to 0.3 for the fine structure. A quick check (a
    small EDM distilled on a 2-D Gaussian mixture, sliced W1 to the truth): 3 steps on
    (80, 1, 0.3) came closest to the teacher's 35-evaluation Heun samples, ahead of
    (80, 2, 0.5) and (80, 0.8, 0.2); 2 steps did about as well with 1 or 0.3. With the
    exact consistency function any levels give the data distribution."""


class _TeacherSlot:
    """The frozen teacher, built on first use and shared by the student and its copies (the
    EMA's deepcopy shares it instead of copying it); not a submodule, so it stays out of
    state_dict, parameters and optimiser."""

    def __init__(self, directory: str, build: Callable[[], edm.EDMDiffusion]):
        self.directory, self.build = directory, build
        self.model: edm.EDMDiffusion | None = None

    def __deepcopy__(self, memo: dict) -> _TeacherSlot:
        return self

    def get(self, device: torch.device) -> edm.EDMDiffusion:
        if self.model is None:
            model = self.build()
            load_weights(model, teacher_weights(self.directory), self.directory)
            self.model = model.requires_grad_(False).eval()
        if next(self.model.parameters()).device != device:
            self.model.to(device)
        return self.model


def teacher_config(teacher: str) -> dict:
    """The teacher run's config.yaml as a mapping; one line if ``teacher`` is empty, not a
    run directory, or not an EDM run."""
    where = f"model.consistency.teacher '{teacher}'"
    if not teacher:
        raise LhcgenError("model.consistency.teacher is empty: name the EDM run directory to "
                          "distil")
    path = Path(teacher) / TEACHER_CONFIG
    if not path.is_file():
        raise LhcgenError(f"{where}: not a run directory (no {TEACHER_CONFIG}); train the EDM "
                          "teacher first with `lhcgen train CONFIG --out RUN_DIR`")
    data = read_yaml_mapping(path)
    model = data.get("model")
    name = model.get("name") if isinstance(model, dict) else None
    if name != "edm":
        raise LhcgenError(f"{where}: a '{name}' run, not an EDM run; consistency distillation "
                          "needs a teacher with model.name edm")
    return data


def teacher_weights(teacher: str) -> dict[str, torch.Tensor]:
    """The teacher run's EMA weights (its checkpoint, loaded with weights_only=True)."""
    teacher_config(teacher)
    path = Path(teacher) / TEACHER_CHECKPOINT
    if not path.is_file():
        raise LhcgenError(f"model.consistency.teacher '{teacher}': no {TEACHER_CHECKPOINT}; "
                          "its training has not written a checkpoint yet")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        return state["ema"]["model"]
    except Exception as exc:  # noqa: BLE001 - refused or corrupt: one line either way
        raise LhcgenError(f"{path}: cannot read the teacher's weights "
                          f"({exc.__class__.__name__})") from None


def load_weights(model: nn.Module, weights: dict[str, torch.Tensor], teacher: str) -> None:
    try:
        model.load_state_dict(weights)
    except RuntimeError:
        raise LhcgenError(f"model.consistency.teacher '{teacher}': its network does not fit "
                          "the student's model section (use the teacher's net, hidden, "
                          "blocks, context_frequencies, ...)") from None


class ConsistencyModel(edm.EDMDiffusion):
    """f(x, sigma | condition, context) with the network of EDM; its state_dict has the keys
    of the teacher's, so the teacher's weights load into it."""

    name = "consistency"
    sampling = "consistency"

    def __init__(self, net: nn.Module, dim: int, multiplicities: list[int],
                 cfg: edm.EDMConfig, consistency: ConsistencyConfig, time_embedding: int,
                 build_teacher: Callable[[], edm.EDMDiffusion],
                 context_embedding: nn.Module | None = None):
        super().__init__(net, dim, multiplicities, cfg, time_embedding, context_embedding)
        self.consistency = consistency
        self.teacher = _TeacherSlot(consistency.teacher, build_teacher)

    def levels(self) -> torch.Tensor:
        """sigma_0 < ... < sigma_{N-1}: the teacher's noise levels, float64, (N,), those of
        Karras et al. eq. 5 (solvers/edm.py ``karras_sigmas`` without its final 0, which the
        models layer may not import) in ascending order,

            sigma_n = (sigma_min^(1/rho) + n / (N - 1) (sigma_max^(1/rho)
                       - sigma_min^(1/rho)))^rho,   n = 0..N-1.
        """
        steps = self.consistency.discretization
        ramp = torch.arange(steps, dtype=torch.float64) / (steps - 1)
        lo, hi = self.sigma_min ** (1.0 / self.rho), self.sigma_max ** (1.0 / self.rho)
        levels = (lo + ramp * (hi - lo)) ** self.rho
        levels[0], levels[-1] = self.sigma_min, self.sigma_max
        return levels

    def resolve_sampler(self, solver: str | None,
                        steps: int | None) -> tuple[str | None, int | None]:
        solver, steps = super().resolve_sampler(solver, steps)
        most = len(self.consistency.sampling_sigmas)
        if steps is not None and steps > most:
            raise LhcgenError(f"model 'consistency' samples in 1 to {most} steps (one per noise "
                              f"level of model.consistency.sampling_sigmas), got {steps}")
        return solver, steps

    def preconditioning(self, sig: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """(c_skip, c_out, c_in) of the consistency function: c_skip = 1 and c_out = 0
        exactly at sigma_min, so ``denoise`` (f(x, sigma), sigma >= sigma_min) returns x
        there (x zero where ``dims_mask`` is false)."""
        s_d = self.cfg.sigma_data
        shifted = (sig - torch.tensor(self.sigma_min, dtype=sig.dtype)).clamp_min(0.0)
        c_skip = 1.0 / (1.0 + (shifted / s_d) ** 2)  # exactly 1 at sigma_min
        c_out = shifted * s_d / torch.sqrt(sig**2 + s_d**2)  # exactly 0 there
        c_in = 1 / torch.sqrt(sig**2 + s_d**2)
        return c_skip, c_out, c_in

    def teacher_step(self, teacher: edm.EDMDiffusion, x: torch.Tensor, high: torch.Tensor,
                     low: torch.Tensor, condition: torch.Tensor, dims_mask: torch.Tensor,
                     context: torch.Tensor | None) -> torch.Tensor:
        """One step of the teacher's PF-ODE dx/dsigma = (x - D(x, sigma)) / sigma from
        ``high`` to ``low`` (N,), per event: Euler x + h d(x, high), h = low - high, or Heun
        x + h (d(x, high) + d(x + h d(x, high), low)) / 2 (Karras et al. Algorithm 1)."""
        shape = (len(x), *([1] * (x.dim() - 1)))
        h = (low - high).to(x.dtype).view(shape)

        def slope(state: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
            denoised = teacher.denoise(state, sigma, condition, dims_mask, context)
            return (state - denoised) / sigma.to(x.dtype).view(shape)

        d = slope(x, high)
        euler = x + h * d
        if self.consistency.teacher_solver == "euler":
            return euler
        return x + 0.5 * h * (d + slope(euler, low))

    def distance(self, a: torch.Tensor, b: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """d(a, b) per event (N,) over the coordinates where ``mask`` (float) is 1."""
        squared = ((a - b) ** 2 * mask).flatten(1).sum(-1)
        count = mask.flatten(1).sum(-1).clamp_min(1.0)
        if self.consistency.loss == "l2":
            return squared / count
        c = PSEUDO_HUBER_C * torch.sqrt(count)
        return torch.sqrt(squared + c**2) - c

    def loss(self, batch: Batch, generator: torch.Generator | None = None) -> torch.Tensor:
        x, mask = batch.x, batch.dims_mask.to(batch.x.dtype)
        n, device = len(x), x.device
        teacher = self.teacher.get(device)
        levels = self.levels()
        index = torch.randint(0, len(levels) - 1, (n,), generator=generator)
        low, high = levels[index], levels[index + 1]
        weight = (1.0 / (high - low)).to(x.dtype).to(device)
        low, high = low.to(x.dtype).to(device), high.to(x.dtype).to(device)
        noise = torch.randn(x.shape, generator=generator, dtype=x.dtype).to(device)
        shape = (n, *([1] * (x.dim() - 1)))
        x_high = (x + high.view(shape) * noise) * mask
        condition = self.condition_index(batch.multiplicity)
        with torch.no_grad():
            x_low = self.teacher_step(teacher, x_high, high, low, condition, batch.dims_mask,
                                      batch.context)
            target = self.denoise(x_low, low, condition, batch.dims_mask, batch.context)
        online = self.denoise(x_high, high, condition, batch.dims_mask, batch.context)
        per_event = self.distance(online, target, mask)
        return (batch.weights * weight * per_event).sum() / batch.weights.sum()


def _teacher_builder(cfg: ModelConfig, coordinates: Coordinates,
                     multiplicities: list[int]) -> Callable[[], edm.EDMDiffusion]:
    teacher_cfg = dataclasses.replace(cfg, name="edm")
    return lambda: edm.build(teacher_cfg, coordinates, multiplicities)


def build(cfg: ModelConfig, coordinates: Coordinates,
          multiplicities: list[int]) -> ConsistencyModel:
    """The student, initialised from the teacher's EMA weights when the teacher run is there
    (training; train/config.py has checked it). Without it (sampling a distilled run whose
    teacher is gone) the weights stay random: the run's checkpoint replaces them."""
    embedding, width = edm.conditioning_width(cfg, coordinates, multiplicities)
    net = coordinate_net(cfg, coordinates, width)
    model = ConsistencyModel(net, coordinates.dim, multiplicities, cfg.edm, cfg.consistency,
                             cfg.time_embedding,
                             _teacher_builder(cfg, coordinates, multiplicities), embedding)
    teacher = cfg.consistency.teacher
    if teacher and (Path(teacher) / TEACHER_CHECKPOINT).is_file():
        try:
            load_weights(model, teacher_weights(teacher), teacher)
        except LhcgenError:
            pass  # not usable: the first loss call names the problem; sampling needs none
    return model

