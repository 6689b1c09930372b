"""Jet kinematics from a particle cloud in relative coordinates (the JetNet convention).

Particles are (Delta eta, Delta phi, pT_rel) relative to the jet, treated as massless, as
``jetnet.utils.jet_features`` (v0.2.5) does; the jet is the sum of their four-vectors, so
its mass is in units of the jet pT (the "relative jet mass" of JetNet's W1m,
Kansal et al., arXiv:2106.11535).
"""

from __future__ import annotations

import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv


def cloud_four_momentum(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Sum of the massless four-vectors of each jet's particles.

    Parameters
    ----------
    particles : (N, P, 3) float, (Delta eta, Delta phi, pT_rel).
    mask : (N, P) bool or None; masked-out particles do not count (None: all count).

    Returns
    -------
    (N, 4) float64, (E, px, py, pz) with E_i = pT_i cosh(eta_i), pz_i = pT_i sinh(eta_i).
    """
    particles = np.asarray(particles, dtype=np.float64)
    if particles.ndim != 3 or particles.shape[-1] < 3:
        raise LhcgenError(f"particles must have shape (N, P, 3), got {particles.shape}")
    eta, phi, pt = particles[..., 0], particles[..., 1], particles[..., 2]
    if mask is not None:
        if np.shape(mask) != pt.shape:
            raise LhcgenError(f"mask shape {np.shape(mask)} does not match particles "
                              f"{pt.shape}")
        pt = pt * np.asarray(mask, dtype=bool)
    particle_p4 = fv.from_pt_eta_phi_massless(pt, eta, phi)
    # summed component by component (numpy's pairwise sum over the particles, as jetnet)
    return np.stack([component.sum(axis=1) for component in np.moveaxis(particle_p4, -1, 0)],
                    axis=-1)


def relative_jet_mass(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Invariant mass of the summed massless particles, sqrt(max(E^2 - |p|^2, 0)).

    Parameters
    ----------
    particles : (N, P, 3) float, (Delta eta, Delta phi, pT_rel).
    mask : (N, P) bool or None.

    Returns
    -------
    (N,) float64, >= 0 (rounding can make E^2 - |p|^2 slightly negative for one-particle
    jets: such jets get 0, as jetnet's ``nan_to_num`` of the square root gave).
    """
    return fv.mass(cloud_four_momentum(particles, mask))


def cloud_mass_share(particles: np.ndarray, mask: np.ndarray | None, jet_pt: np.ndarray,
                     jet_mass: np.ndarray) -> np.ndarray:
    """m_P / m_jet: the mass of the summed massless particles over the jet mass (at most 1 for
    a real jet, ``bound_cloud_mass``); (N,) float64, NaN or inf where the jet mass or pT is
    not positive."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return relative_jet_mass(particles, mask) * np.asarray(jet_pt) / np.asarray(jet_mass)


def relative_cloud_pt(particles: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Transverse momentum of the summed massless particles, in units of the jet pT.

    A jet that keeps every constituent is their sum, so this is 1 for it (to rounding); a jet
    truncated to its hardest P constituents falls a little short. ``particles`` and
    ``mask`` as for ``cloud_four_momentum``; returns (N,) float64, >= 0.
    """
    p4 = cloud_four_momentum(particles, mask)
    return np.hypot(p4[:, 1], p4[:, 2])


def conserve_cloud_pt(particles: np.ndarray, mask: np.ndarray,
                      complete: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rescale the pT_rel of every ``complete`` jet so that its particles sum to the jet pT.

    A jet that keeps all its constituents is their sum: the transverse momentum of the
    summed particles is the jet pT, ``relative_cloud_pt == 1``. A generator that places
    every particle well can still miss this sum by several per cent (the errors of many
    particles add up). Multiplying all pT_rel of the jet by one factor, 1 / relative_cloud_pt,
    restores it and leaves every angle, the pT ordering and the ratio m / pT of the summed
    particles unchanged (their mass in units of the jet pT, JetNet's relative mass, becomes
    that ratio). Jets truncated to P constituents (``complete`` False) do
    not know their sum and are left as they are, as is a jet whose sum is not positive and
    finite.

    Parameters
    ----------
    particles : (N, P, 3) float, (Delta eta, Delta phi, pT_rel).
    mask : (N, P) bool.
    complete : (N,) bool, the jets whose every constituent is stored.

    Returns
    -------
    (particles (N, P, 3) float64, a new array; relative_cloud_pt before rescaling (N,),
    float64, NaN where a jet was left as it is).
    """
    particles = np.array(particles, dtype=np.float64)
    complete = np.asarray(complete, dtype=bool)
    if complete.shape != particles.shape[:1]:
        raise LhcgenError(f"complete must have shape ({len(particles)},), got "
                          f"{complete.shape}")
    pt_sum = relative_cloud_pt(particles, mask)
    scaled = complete & np.isfinite(pt_sum) & (pt_sum > 0)
    particles[scaled, :, 2] /= pt_sum[scaled, None]
    return particles, np.where(scaled, pt_sum, np.nan)


def bound_truncated_cloud_pt(particles: np.ndarray, mask: np.ndarray,
                             missing: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rescale the pT_rel of every truncated jet whose stored particles cannot sum to its pT.

    A jet truncated to its P hardest constituents lost ``missing`` = N - P of them, each
    softer than its softest stored one (pT_min), so the lost ones carry at most
    delta = missing * pT_min of transverse momentum and the stored ones sum to
    C = ``relative_cloud_pt`` with |C - 1| <= delta (the triangle inequality; every Pythia
    jet obeys it). A generated jet outside this band is rescaled by the one factor s nearest
    1 that brings it inside: C and delta both scale with s, so s must lie in
    [1 / (C + delta), 1 / (C - delta)] (no upper end where C <= delta). As for
    ``conserve_cloud_pt``, one factor per jet keeps every angle, the pT ordering and m / pT of
    the summed particles. Complete jets (``missing`` <= 0), empty ones and those whose sum is
    not positive and finite are left as they are.

    Parameters
    ----------
    particles : (N, P, 3) float, (Delta eta, Delta phi, pT_rel).
    mask : (N, P) bool.
    missing : (N,) int, constituents of each jet that were not stored (N - P; 0 if none).

    Returns
    -------
    (particles (N, P, 3) float64, a new array; the factor applied to each jet (N,) float64,
    1 where a jet was left as it is).
    """
    particles = np.array(particles, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    missing = np.asarray(missing)
    if missing.shape != particles.shape[:1]:
        raise LhcgenError(f"missing must have shape ({len(particles)},), got {missing.shape}")
    pt_sum = relative_cloud_pt(particles, mask)
    softest = np.where(mask, particles[..., 2], np.inf).min(axis=1, initial=np.inf)
    candidates = (missing > 0) & mask.any(axis=1) & np.isfinite(pt_sum) & (pt_sum > 0) \
        & np.isfinite(softest)
    delta = np.zeros(len(particles))
    delta[candidates] = missing[candidates] * softest[candidates]
    low = np.ones(len(particles))
    high = np.full(len(particles), np.inf)
    low[candidates] = 1.0 / (pt_sum[candidates] + delta[candidates])
    upper = candidates & (pt_sum > delta)
    high[upper] = 1.0 / (pt_sum[upper] - delta[upper])
    factor = np.where(candidates, np.clip(1.0, low, high), 1.0)
    particles[..., 2] *= factor[:, None]
    return particles, factor


MASS_BOUND_BISECTIONS = 60
"""Halvings of the angular factor in ``bound_cloud_mass``: 2^-60 leaves it exact to float64."""


def bound_cloud_mass(particles: np.ndarray, mask: np.ndarray,
                     jet_relative_mass: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shrink every jet whose stored particles, taken massless, are heavier than the jet.

    The stored constituents of a jet cannot be heavier than the jet, truncated or not. Taken
    massless, a hadron keeps its three-momentum (pT, pseudorapidity, phi) and loses energy,
    so the massless sum of all constituents has the jet's three-momentum and less energy: a
    smaller mass. Dropping constituents lowers it further, since the sum of future-pointing
    four-vectors is at least as heavy as any part of it (the reverse triangle inequality).
    So m(stored, massless) <= m_jet, in units of the jet pT: ``relative_jet_mass`` <=
    ``jet_relative_mass`` = m_jet / pT_jet (every Pythia jet obeys it).

    A generated jet above that bound is brought to it by the factor s in (0, 1) on every
    (Delta eta, Delta phi) that makes its mass equal to the jet's, with its pT_rel rescaled by
    one factor so that the transverse momentum of its summed particles stays as it was (a
    complete jet conserved to the jet pT stays at it). The mass over the summed pT grows with
    the opening angles and is 0 at s = 0, so s is found by bisection. Shrinking towards the
    jet axis keeps every particle inside the jet, the pT ordering, pT_rel > 0 and the
    shape of the jet up to its angular scale, which for a boosted decay is what sets its
    mass (Delta R ~ 2 m / pT). Jets within the bound, with fewer than two particles, or with
    a ``jet_relative_mass`` or summed pT that is not positive and finite are left as they are.

    Parameters
    ----------
    particles : (N, P, 3) float, (Delta eta, Delta phi, pT_rel).
    mask : (N, P) bool.
    jet_relative_mass : (N,) float, the jet mass over the jet pT.

    Returns
    -------
    (particles (N, P, 3) float64, a new array; the angular factor s of each jet (N,)
    float64, 1 where a jet was left as it is).
    """
    particles = np.array(particles, dtype=np.float64)
    mask = np.asarray(mask, dtype=bool)
    target = np.asarray(jet_relative_mass, dtype=np.float64)
    if target.shape != particles.shape[:1]:
        raise LhcgenError(f"jet_relative_mass must have shape ({len(particles)},), got "
                          f"{target.shape}")
    mass = relative_jet_mass(particles, mask)
    pt_sum = relative_cloud_pt(particles, mask)
    with np.errstate(invalid="ignore"):
        over = np.isfinite(target) & (target > 0) & np.isfinite(pt_sum) & (pt_sum > 0) \
            & (mass > target) & (mask.sum(axis=1) >= 2)
    scale = np.ones(len(particles))
    if not over.any():
        return particles, scale
    jets, jet_mask = particles[over], mask[over]
    wanted = target[over] / pt_sum[over]  # mass over the summed pT, kept by the pT rescale
    low, high = np.zeros(len(jets)), np.ones(len(jets))
    for _ in range(MASS_BOUND_BISECTIONS):
        middle = 0.5 * (low + high)
        shrunk = jets.copy()
        shrunk[..., :2] *= middle[:, None, None]
        heavy = relative_jet_mass(shrunk, jet_mask) > wanted * relative_cloud_pt(shrunk, jet_mask)
        high = np.where(heavy, middle, high)
        low = np.where(heavy, low, middle)  # the mass at `low` never exceeds the bound
    jets[..., :2] *= low[:, None, None]
    jets[..., 2] *= (pt_sum[over] / relative_cloud_pt(jets, jet_mask))[:, None]
    particles[over] = jets
    scale[over] = low
    return particles, scale
