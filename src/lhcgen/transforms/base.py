"""The invertible-transform interface and a chain of transforms.

A transform maps a batch ``x`` to ``y`` and returns log|det dy/dx| per event, so that
log p_x(x) = log p_y(y) + log|det dy/dx|. Object masks (N, P) travel alongside: padded
objects contribute nothing to either direction or to the Jacobian. Tensors are float64.
"""

from __future__ import annotations

import torch


class Transform:
    """Base class: ``forward`` returns (y, logdet), ``inverse`` returns x."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def inverse(self, y: torch.Tensor, mask: torch.Tensor,
                generator: torch.Generator | None = None) -> torch.Tensor:
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Fitted state as plain lists and floats (JSON-serialisable); empty if none."""
        return {}

    def load_state_dict(self, state: dict) -> None:  # noqa: B027 - optional hook
        pass


class Chain(Transform):
    """Transforms applied in order; inverse runs them backwards; log-determinants add."""

    def __init__(self, transforms: list[Transform]):
        self.transforms = list(transforms)

    def forward(self, x, mask):
        logdet = torch.zeros(x.shape[0], dtype=torch.float64, device=x.device)
        for transform in self.transforms:
            x, ld = transform.forward(x, mask)
            logdet = logdet + ld
        return x, logdet

    def inverse(self, y, mask, generator=None):
        for transform in reversed(self.transforms):
            y = transform.inverse(y, mask, generator)
        return y

    def state_dict(self) -> dict:
        return {f"{i}:{type(t).__name__}": t.state_dict() for i, t in enumerate(self.transforms)}

    def load_state_dict(self, state: dict) -> None:
        for i, t in enumerate(self.transforms):
            t.load_state_dict(state.get(f"{i}:{type(t).__name__}", {}))
