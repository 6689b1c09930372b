"""Four-vector kinematics in float64, one formula per function.

Arrays hold four-vectors in the last axis as (E, px, py, pz) in GeV, the data contract's
order. Functions work on numpy arrays of any leading shape. ``fourvectors_torch`` holds the
same functions, with the same names and formulas, for torch tensors.
"""

from __future__ import annotations

import numpy as np

TWO_PI = 2.0 * np.pi


def pt(p: np.ndarray) -> np.ndarray:
    """Transverse momentum sqrt(px^2 + py^2)."""
    return np.hypot(p[..., 1], p[..., 2])


def eta(p: np.ndarray) -> np.ndarray:
    """Pseudorapidity asinh(pz / pT); 0 for a vector with pT = 0."""
    transverse = pt(p)
    safe = np.where(transverse > 0, transverse, 1.0)
    return np.where(transverse > 0, np.arcsinh(p[..., 3] / safe), 0.0)


def rapidity(p: np.ndarray) -> np.ndarray:
    """Rapidity 0.5 log((E + pz) / (E - pz)) (inf or NaN where E = |pz|)."""
    return 0.5 * np.log((p[..., 0] + p[..., 3]) / (p[..., 0] - p[..., 3]))


def phi(p: np.ndarray) -> np.ndarray:
    """Azimuthal angle in (-pi, pi]."""
    return np.arctan2(p[..., 2], p[..., 1])


def mass(p: np.ndarray) -> np.ndarray:
    """Invariant mass sqrt(E^2 - |p|^2), with small negative m^2 (rounding) set to 0."""
    m2 = p[..., 0] ** 2 - p[..., 1] ** 2 - p[..., 2] ** 2 - p[..., 3] ** 2
    return np.sqrt(np.clip(m2, 0.0, None))


def from_pt_eta_phi_m(pt_: np.ndarray, eta_: np.ndarray, phi_: np.ndarray,
                      m: np.ndarray) -> np.ndarray:
    """Build (E, px, py, pz) from (pT, eta, phi, m)."""
    px = pt_ * np.cos(phi_)
    py = pt_ * np.sin(phi_)
    pz = pt_ * np.sinh(eta_)
    e = np.sqrt(m**2 + pt_**2 + pz**2)
    return np.stack([e, px, py, pz], axis=-1)


def from_pt_eta_phi_massless(pt_: np.ndarray, eta_: np.ndarray, phi_: np.ndarray) -> np.ndarray:
    """(E, px, py, pz) of massless particles with E = pT cosh(eta), pz = pT sinh(eta) (the
    convention of ``jetnet.utils.jet_features``; ``from_pt_eta_phi_m`` with m = 0 agrees
    to rounding)."""
    return np.stack([pt_ * np.cosh(eta_), pt_ * np.cos(phi_), pt_ * np.sin(phi_),
                     pt_ * np.sinh(eta_)], axis=-1)


def to_pt_eta_phi_m(p: np.ndarray) -> np.ndarray:
    """(E, px, py, pz) -> (pT, eta, phi, m) in the last axis."""
    return np.stack([pt(p), eta(p), phi(p), mass(p)], axis=-1)


def wrap_phi(angle: np.ndarray) -> np.ndarray:
    """Map an angle into [-pi, pi)."""
    return np.mod(angle + np.pi, TWO_PI) - np.pi


def delta_phi(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Azimuthal difference phi1 - phi2 wrapped into [-pi, pi)."""
    return wrap_phi(phi(p1) - phi(p2))


def delta_eta(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Pseudorapidity difference eta1 - eta2."""
    return eta(p1) - eta(p2)


def angular_distance(d_eta: np.ndarray, d_phi: np.ndarray) -> np.ndarray:
    """sqrt(d_eta^2 + wrap_phi(d_phi)^2) from differences of (pseudo)rapidity and azimuth;
    ``d_phi`` may lie outside [-pi, pi)."""
    return np.hypot(d_eta, wrap_phi(d_phi))


def delta_r(p1: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Angular distance sqrt(delta_eta^2 + delta_phi^2)."""
    return angular_distance(delta_eta(p1, p2), phi(p1) - phi(p2))


def boost(p: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Lorentz boost of four-vectors ``p`` (..., 4) by velocity ``beta`` (..., 3).

    E' = gamma (E + beta.p), p' = p + [(gamma - 1) beta.p / beta^2 + gamma E] beta, with
    gamma = 1 / sqrt(1 - beta^2); the (gamma - 1) / beta^2 term is 0 for beta = 0. beta^2
    is held below 1 - 1e-15, so that a vector at the edge of phase space (or a network's
    output there) gives a finite gamma.
    """
    b2 = np.minimum(np.sum(beta**2, axis=-1), 1 - 1e-15)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p[..., 1:], axis=-1)
    safe_b2 = np.where(b2 > 0, b2, 1.0)
    coefficient = np.where(b2 > 0, (gamma - 1.0) * bp / safe_b2, 0.0) + gamma * p[..., 0]
    energy = gamma * (p[..., 0] + bp)
    return np.concatenate([energy[..., None], p[..., 1:] + coefficient[..., None] * beta],
                          axis=-1)
