"""Events in network coordinates, as a preprocessing returns them."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class Encoded:
    """Events in network coordinates.

    x: (N, D) float64 (particle clouds: (N, P, F)); mask: (N, P) object mask; dims_mask: the
    shape of x; multiplicity: (N,) the discrete condition; weights: (N,); context: (N, C)
    continuous conditions or None; logdet: (N,) log|det dx / d(momenta)| from (px, py, pz)
    of each muon and (E, px, py, pz) of each jet (train/likelihood.py removes the first step
    to quote densities per (pT, eta, phi, m)); counts: what the encoding had to move to stay
    finite, by name (for example constituents beyond a jet's catchment), reported by the
    caller.
    """

    x: torch.Tensor
    mask: torch.Tensor
    dims_mask: torch.Tensor
    multiplicity: torch.Tensor
    weights: torch.Tensor
    logdet: torch.Tensor
    context: torch.Tensor | None = None
    counts: dict[str, int] = field(default_factory=dict)
