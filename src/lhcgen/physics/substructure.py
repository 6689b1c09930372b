"""Jet substructure from the particle-cloud representation (Delta eta, Delta phi, pT_rel).

Particles are massless; angles are (Delta eta, Delta phi) relative to the jet axis, so
Delta R_ij = sqrt((eta_i - eta_j)^2 + wrap(phi_i - phi_j)^2).

* N-subjettiness (Thaler, Van Tilburg, arXiv:1011.2268), beta = 1:
  tau_N = sum_i z_i min_k Delta R(i, axis_k), z_i = pT_i / sum_j pT_j (normalised by the
  summed pT, not by pT R0: the ratios tau21 = tau2/tau1 and tau32 = tau3/tau2 do not
  depend on it). Axes: exclusive kT subjets of the constituents (FastJet, E-scheme,
  R = 1000 so that nothing merges with the beam), distances to an axis in (rapidity, phi)
  as in fastjet-contrib's Nsubjettiness. A jet with at most N particles has tau_N = 0.
* Energy correlation functions (Larkoski, Salam, Thaler, arXiv:1305.0007), beta = 1:
  e2 = sum_{i<j} z_i z_j R_ij, e3 = sum_{i<j<k} z_i z_j z_k R_ij R_ik R_jk, and
  D2 = e3 / e2^3 (Larkoski, Moult, Neill, arXiv:1409.6298).
Ratios with a zero denominator are 0.
"""

from __future__ import annotations

import warnings

import awkward as ak
import fastjet
import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv

EXCLUSIVE_KT_R = 1000.0


def checked_cloud(particles: np.ndarray, mask: np.ndarray | None
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(particles[..., :3] as float64, mask as bool; all True where None), shapes checked."""
    particles = np.asarray(particles, dtype=np.float64)
    if particles.ndim != 3 or particles.shape[-1] < 3:
        raise LhcgenError(f"particles must have shape (N, P, 3), got {particles.shape}")
    mask = (np.ones(particles.shape[:2], dtype=bool) if mask is None
            else np.asarray(mask, dtype=bool))
    if mask.shape != particles.shape[:2]:
        raise LhcgenError(f"mask shape {mask.shape} does not match particles "
                          f"{particles.shape[:2]}")
    return particles[..., :3], mask


def _safe_ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros_like(numerator)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def momentum_fractions(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(N, P) z_i = pT_i / sum_j pT_j of each jet (0 for masked particles)."""
    particles, mask = checked_cloud(particles, mask)
    pt = np.where(mask, particles[..., 2], 0.0)
    return _safe_ratio(pt, np.broadcast_to(pt.sum(axis=1, keepdims=True), pt.shape))


def pairwise_delta_r(particles: np.ndarray) -> np.ndarray:
    """(N, P, P) Delta R between the particles of each jet (Delta phi wrapped)."""
    particles = np.asarray(particles, dtype=np.float64)
    return fv.angular_distance(particles[:, :, None, 0] - particles[:, None, :, 0],
                               particles[:, :, None, 1] - particles[:, None, :, 1])


def energy_correlations(particles: np.ndarray, mask: np.ndarray | None = None,
                        chunk: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """(e2, e3), each (N,), with beta = 1, computed in chunks of jets.

    e3 = (1/6) sum_ij z_i z_j R_ij (R diag(z) R)_ij: all i, j, k with R_ii = 0, so the
    terms with repeated indices vanish.
    """
    particles, mask = checked_cloud(particles, mask)
    z = momentum_fractions(particles, mask)
    e2 = np.empty(len(particles))
    e3 = np.empty(len(particles))
    for start in range(0, len(particles), chunk):
        part = slice(start, start + chunk)
        r = pairwise_delta_r(particles[part])
        zz = z[part]
        zr = zz[:, :, None] * zz[:, None, :] * r
        e2[part] = 0.5 * zr.sum(axis=(1, 2))
        rzr = (r * zz[:, None, :]) @ r  # (R diag(z) R), R symmetric
        e3[part] = (zr * rzr).sum(axis=(1, 2)) / 6.0
    return e2, e3


def d2(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(N,) D2 = e3 / e2^3 (beta = 1)."""
    e2, e3 = energy_correlations(particles, mask)
    return _safe_ratio(e3, e2 ** 3)


def massless_four_vectors(particles: np.ndarray, mask: np.ndarray) -> ak.Array:
    """Awkward (px, py, pz, E) records of the filled slots, one list per jet (FastJet's input)."""
    eta, phi, pt = (particles[..., k][mask] for k in range(3))
    e, px, py, pz = np.moveaxis(fv.from_pt_eta_phi_massless(pt, eta, phi), -1, 0)
    return ak.unflatten(ak.zip({"px": px, "py": py, "pz": pz, "E": e}), mask.sum(axis=1))


def nsubjettiness(particles: np.ndarray, mask: np.ndarray | None = None,
                  n_max: int = 3) -> np.ndarray:
    """(N, n_max) tau_1 .. tau_n_max (beta = 1, exclusive-kT axes; see the module doc)."""
    particles, mask = checked_cloud(particles, mask)
    from lhcgen.physics.fastjet_setup import silence_fastjet_banner

    silence_fastjet_banner()
    n_jets, n_slots = mask.shape
    z = momentum_fractions(particles, mask)
    vectors = massless_four_vectors(particles, mask)
    jet_def = fastjet.JetDefinition(fastjet.kt_algorithm, EXCLUSIVE_KT_R)
    taus = np.zeros((n_jets, n_max))
    eta = particles[..., 0]
    phi = particles[..., 1]
    for n in range(1, n_max + 1):
        sequence = fastjet.ClusterSequence(vectors, jet_def)
        with warnings.catch_warnings():  # fastjet 3.5.2.0 warns for kt too (its check
            warnings.simplefilter("ignore", UserWarning)  # compares a JetDefinition to enums)
            axes = sequence.exclusive_jets_up_to(n)
        axes = ak.pad_none(axes, n, axis=1, clip=True)
        axis_p4 = np.stack([ak.to_numpy(ak.fill_none(axes[c], np.nan))
                            for c in ("E", "px", "py", "pz")], axis=-1)
        with np.errstate(invalid="ignore", divide="ignore"):
            axis_rapidity = fv.rapidity(axis_p4)
        distance = np.nan_to_num(
            fv.angular_distance(eta[:, :, None] - axis_rapidity[:, None, :],
                                phi[:, :, None] - fv.phi(axis_p4)[:, None, :]), nan=np.inf)
        nearest = distance.min(axis=2)
        nearest = np.where(mask & np.isfinite(nearest), nearest, 0.0)
        taus[:, n - 1] = (z * nearest).sum(axis=1)
        taus[mask.sum(axis=1) <= n, n - 1] = 0.0
    return taus


def tau_ratios(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """(N, 2) tau21 = tau2/tau1 and tau32 = tau3/tau2 of each jet (0 where the denominator
    is): small tau32 for three prongs (top jets), small tau21 for two (W, Z)."""
    taus = nsubjettiness(particles, mask, n_max=3)
    return np.stack([_safe_ratio(taus[:, 1], taus[:, 0]),
                     _safe_ratio(taus[:, 2], taus[:, 1])], axis=1)


def substructure(particles: np.ndarray, mask: np.ndarray | None = None
                 ) -> dict[str, np.ndarray]:
    """tau21, tau32, D2, relative jet mass and constituent multiplicity, each (N,)."""
    from lhcgen.physics.particle_cloud import relative_jet_mass

    particles, mask = checked_cloud(particles, mask)
    ratios = tau_ratios(particles, mask)
    return {"tau21": ratios[:, 0],
            "tau32": ratios[:, 1],
            "d2": d2(particles, mask),
            "relative_mass": relative_jet_mass(particles, mask),
            "multiplicity": mask.sum(axis=1).astype(np.int64)}
