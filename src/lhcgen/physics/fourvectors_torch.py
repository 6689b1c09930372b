"""Four-vector kinematics for torch tensors: the twin of :mod:`lhcgen.physics.fourvectors`.

Same function names, conventions and formulas as the numpy module (the tests hold the two
to the same numbers): tensors hold four-vectors in the last axis as (E, px, py, pz) in GeV,
any leading shape, any floating dtype (float64 for the transforms). No function changes the
dtype or the device, and every one is differentiable (``torch.func.jacrev`` included).
"""

from __future__ import annotations

import math

import torch

TWO_PI = 2.0 * math.pi


def pt(p: torch.Tensor) -> torch.Tensor:
    """Transverse momentum sqrt(px^2 + py^2)."""
    return torch.hypot(p[..., 1], p[..., 2])


def eta(p: torch.Tensor) -> torch.Tensor:
    """Pseudorapidity asinh(pz / pT); 0 for a vector with pT = 0."""
    transverse = pt(p)
    safe = torch.where(transverse > 0, transverse, torch.ones_like(transverse))
    return torch.where(transverse > 0, torch.asinh(p[..., 3] / safe),
                       torch.zeros_like(transverse))


def rapidity(p: torch.Tensor) -> torch.Tensor:
    """Rapidity 0.5 log((E + pz) / (E - pz)) (inf or NaN where E = |pz|)."""
    return 0.5 * torch.log((p[..., 0] + p[..., 3]) / (p[..., 0] - p[..., 3]))


def phi(p: torch.Tensor) -> torch.Tensor:
    """Azimuthal angle in (-pi, pi]."""
    return torch.atan2(p[..., 2], p[..., 1])


def mass(p: torch.Tensor) -> torch.Tensor:
    """Invariant mass sqrt(E^2 - |p|^2), with small negative m^2 (rounding) set to 0."""
    m2 = p[..., 0] ** 2 - p[..., 1] ** 2 - p[..., 2] ** 2 - p[..., 3] ** 2
    return torch.sqrt(torch.clamp(m2, min=0.0))


def from_pt_eta_phi_m(pt_: torch.Tensor, eta_: torch.Tensor, phi_: torch.Tensor,
                      m: torch.Tensor) -> torch.Tensor:
    """Build (E, px, py, pz) from (pT, eta, phi, m)."""
    px = pt_ * torch.cos(phi_)
    py = pt_ * torch.sin(phi_)
    pz = pt_ * torch.sinh(eta_)
    e = torch.sqrt(m**2 + pt_**2 + pz**2)
    return torch.stack([e, px, py, pz], dim=-1)


def from_pt_eta_phi_massless(pt_: torch.Tensor, eta_: torch.Tensor,
                             phi_: torch.Tensor) -> torch.Tensor:
    """(E, px, py, pz) of massless particles with E = pT cosh(eta), pz = pT sinh(eta) (the
    convention of ``jetnet.utils.jet_features``; ``from_pt_eta_phi_m`` with m = 0 agrees
    to rounding)."""
    return torch.stack([pt_ * torch.cosh(eta_), pt_ * torch.cos(phi_), pt_ * torch.sin(phi_),
                        pt_ * torch.sinh(eta_)], dim=-1)


def to_pt_eta_phi_m(p: torch.Tensor) -> torch.Tensor:
    """(E, px, py, pz) -> (pT, eta, phi, m) in the last axis."""
    return torch.stack([pt(p), eta(p), phi(p), mass(p)], dim=-1)


def wrap_phi(angle: torch.Tensor) -> torch.Tensor:
    """Map an angle into [-pi, pi)."""
    return torch.remainder(angle + math.pi, TWO_PI) - math.pi


def delta_phi(p1: torch.Tensor, p2: torch.Tensor) -> torch.Tensor:
    """Azimuthal difference phi1 - phi2 wrapped into [-pi, pi)."""
    return wrap_phi(phi(p1) - phi(p2))


def delta_eta(p1: torch.Tensor, p2: torch.Tensor) -> torch.Tensor:
    """Pseudorapidity difference eta1 - eta2."""
    return eta(p1) - eta(p2)


def angular_distance(d_eta: torch.Tensor, d_phi: torch.Tensor) -> torch.Tensor:
    """sqrt(d_eta^2 + wrap_phi(d_phi)^2) from differences of (pseudo)rapidity and azimuth;
    ``d_phi`` may lie outside [-pi, pi)."""
    return torch.hypot(d_eta, wrap_phi(d_phi))


def delta_r(p1: torch.Tensor, p2: torch.Tensor) -> torch.Tensor:
    """Angular distance sqrt(delta_eta^2 + delta_phi^2)."""
    return angular_distance(delta_eta(p1, p2), phi(p1) - phi(p2))


def boost(p: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Lorentz boost of four-vectors ``p`` (..., 4) by velocity ``beta`` (..., 3).

    E' = gamma (E + beta.p), p' = p + [(gamma - 1) beta.p / beta^2 + gamma E] beta, with
    gamma = 1 / sqrt(1 - beta^2); the (gamma - 1) / beta^2 term is 0 for beta = 0. beta^2
    is held below 1 - 1e-15, so that a network's output at the edge of phase space gives a
    finite gamma.
    """
    b2 = (beta**2).sum(-1).clamp(max=1 - 1e-15)
    gamma = 1.0 / torch.sqrt(1.0 - b2)
    bp = (beta * p[..., 1:]).sum(-1)
    safe_b2 = torch.where(b2 > 0, b2, torch.ones_like(b2))
    coefficient = (torch.where(b2 > 0, (gamma - 1.0) * bp / safe_b2, torch.zeros_like(b2))
                   + gamma * p[..., 0])
    energy = gamma * (p[..., 0] + bp)
    return torch.cat([energy[..., None], p[..., 1:] + coefficient[..., None] * beta], dim=-1)
