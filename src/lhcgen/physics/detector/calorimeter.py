"""Calorimeter towers: where particles deposit energy, the summed deposits per tower and
event, and the measured (smeared, thresholded) tower energies.

A calorimeter is a grid of towers, uniform within each |eta| region of the card and
mirrored at negative eta; particles reach it along their momentum direction (no magnetic
field) and deposit the card's energy fraction of their energy E there. Towers are numbered
0..n_towers-1 per calorimeter; a deposit's key is event * n_towers + tower, so that all
deposits of all events are summed at once (np.unique + np.bincount).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector.binning import region_index
from lhcgen.physics.detector.card import Calorimeter, EnergyFractions
from lhcgen.physics.detector.smearing import log_normal

NO_TOWER = -1
"""Key or tower index of a particle that deposits nothing (no fraction, or outside)."""


@dataclass(frozen=True)
class TowerGrid:
    """The towers of one calorimeter (arrays read-only).

    Attributes:
        n_towers: number of towers.
        region_upper, region_lower: (R,) |eta| edges of the card's tower regions.
        n_eta, n_phi, offset: (R,) int64 towers per side in eta, towers in phi, and the
            number of the region's first tower; tower = offset + (side * n_eta + ieta) *
            n_phi + iphi with side 0 for eta < 0, ieta counted outwards from region_lower.
        eta_low, eta_high, phi_low, phi_high: (n_towers,) tower edges (phi in [-pi, pi]).
        stochastic, noise, constant: (n_towers,) resolution terms at the tower centre |eta|.
    """

    n_towers: int
    region_upper: np.ndarray
    region_lower: np.ndarray
    n_eta: np.ndarray
    n_phi: np.ndarray
    offset: np.ndarray
    eta_low: np.ndarray
    eta_high: np.ndarray
    phi_low: np.ndarray
    phi_high: np.ndarray
    stochastic: np.ndarray
    noise: np.ndarray
    constant: np.ndarray


def _resolution_terms(cal: Calorimeter, abs_eta: np.ndarray):
    """(stochastic, noise, constant) of each |eta| (zeros beyond the last region)."""
    region = region_index([r.abs_eta_max for r in cal.resolution], abs_eta)
    return tuple(np.array([getattr(r, term) for r in cal.resolution] + [0.0])[region]
                 for term in ("stochastic", "noise", "constant"))


def _sigma(energy, stochastic, noise, constant) -> np.ndarray:
    energy = np.maximum(energy, 0.0)
    return np.sqrt((constant * energy) ** 2 + stochastic**2 * energy + noise**2)


def energy_resolution(energy: np.ndarray, abs_eta: np.ndarray, cal: Calorimeter) -> np.ndarray:
    """sigma(E) in GeV = sqrt((c E)^2 + a^2 E + b^2) of the card's |eta| region (0 beyond
    the last); E in GeV."""
    return _sigma(energy, *_resolution_terms(cal, np.asarray(abs_eta, dtype=np.float64)))


def _read_only(*arrays):
    for a in arrays:
        a.flags.writeable = False
    return arrays


@lru_cache(maxsize=16)
def tower_grid(cal: Calorimeter) -> TowerGrid:
    """The tower grid of calorimeter card ``cal`` (cached per card)."""
    upper = np.array([r.abs_eta_max for r in cal.towers], dtype=np.float64)
    lower = np.concatenate([[0.0], upper[:-1]])
    d_eta = np.array([r.d_eta for r in cal.towers], dtype=np.float64)
    n_eta = np.rint((upper - lower) / d_eta).astype(np.int64)
    n_phi = np.array([r.n_phi for r in cal.towers], dtype=np.int64)
    sizes = 2 * n_eta * n_phi
    offset = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
    eta_low, eta_high, phi_low, phi_high = [], [], [], []
    for lo, up, ne, nphi in zip(lower, upper, n_eta, n_phi, strict=True):
        width = (up - lo) / ne
        side = np.repeat([0, 1], ne * nphi)
        ieta = np.tile(np.repeat(np.arange(ne), nphi), 2)
        iphi = np.tile(np.arange(nphi), 2 * ne)
        abs_low, abs_high = lo + ieta * width, lo + (ieta + 1) * width
        eta_low.append(np.where(side == 1, abs_low, -abs_high))
        eta_high.append(np.where(side == 1, abs_high, -abs_low))
        phi_low.append(-np.pi + iphi * (2 * np.pi / nphi))
        phi_high.append(-np.pi + (iphi + 1) * (2 * np.pi / nphi))
    eta_low, eta_high = np.concatenate(eta_low), np.concatenate(eta_high)
    phi_low, phi_high = np.concatenate(phi_low), np.concatenate(phi_high)
    terms = _resolution_terms(cal, np.abs(0.5 * (eta_low + eta_high)))
    arrays = _read_only(upper, lower, n_eta, n_phi, offset, eta_low, eta_high, phi_low,
                        phi_high, *terms)
    return TowerGrid(int(sizes.sum()), *arrays)


def tower_index(eta: np.ndarray, phi: np.ndarray, grid: TowerGrid) -> np.ndarray:
    """(N,) int64 tower of each direction (eta, phi in radians), NO_TOWER beyond the last
    region."""
    eta = np.asarray(eta, dtype=np.float64)
    abs_eta = np.abs(eta)
    region = region_index(grid.region_upper, abs_eta)
    inside = region < len(grid.region_upper)
    r = np.where(inside, region, 0)
    n_eta, n_phi = grid.n_eta[r], grid.n_phi[r]
    width = (grid.region_upper[r] - grid.region_lower[r]) / n_eta
    ieta = np.clip(np.floor((abs_eta - grid.region_lower[r]) / width), 0, n_eta - 1)
    iphi = np.clip(np.floor((fv.wrap_phi(phi) + np.pi) * n_phi / (2 * np.pi)), 0, n_phi - 1)
    side = (eta >= 0).astype(np.int64)
    tower = grid.offset[r] + (side * n_eta + ieta.astype(np.int64)) * n_phi + iphi.astype(
        np.int64)
    return np.where(inside, tower, NO_TOWER)


def energy_fractions(pid: np.ndarray, fractions: EnergyFractions):
    """(ecal, hcal): (N,) float64 fractions of each particle's energy deposited in the ECAL
    and the HCAL, by |pid| (the card's defaults for unlisted ones)."""
    abs_pid = np.abs(pid)
    ecal = np.full(len(abs_pid), fractions.default_ecal)
    hcal = np.full(len(abs_pid), fractions.default_hcal)
    for entry in fractions.special:
        listed = np.isin(abs_pid, entry.abs_pid)
        ecal[listed] = entry.ecal
        hcal[listed] = entry.hcal
    return ecal, hcal


def deposit_keys(event: np.ndarray, p4: np.ndarray, fraction: np.ndarray,
                 grid: TowerGrid) -> np.ndarray:
    """(N,) int64 key event * n_towers + tower of each particle's deposit, NO_TOWER where
    it deposits nothing (zero fraction or energy, outside the calorimeter, or pT = 0: along
    the beam)."""
    tower = tower_index(fv.eta(p4), fv.phi(p4), grid)
    deposits = (tower != NO_TOWER) & (fraction > 0) & (p4[:, 0] > 0) & (fv.pt(p4) > 0)
    return np.where(deposits, event.astype(np.int64) * grid.n_towers + tower, NO_TOWER)


@dataclass(frozen=True)
class Towers:
    """The towers of one calorimeter that received energy, over all events.

    Attributes:
        key: (K,) int64 increasing event * n_towers + tower.
        event, tower: (K,) int64 the key's two parts.
        deposited: (K,) float64 true energy deposited, GeV.
        energy: (K,) float64 measured energy (log-normal of mean ``deposited``), set to 0
            below energy_min or energy_significance_min sigma; GeV.
        sigma: (K,) float64 the resolution at the measured energy (before the threshold).
    """

    key: np.ndarray
    event: np.ndarray
    tower: np.ndarray
    deposited: np.ndarray
    energy: np.ndarray
    sigma: np.ndarray


def sum_per_key(keys: np.ndarray, values: np.ndarray):
    """(unique keys, sum of ``values`` per key), ignoring entries with key NO_TOWER."""
    valid = keys != NO_TOWER
    unique, inverse = np.unique(keys[valid], return_inverse=True)
    return unique, np.bincount(inverse, weights=values[valid], minlength=len(unique))


def measure_towers(keys: np.ndarray, energy: np.ndarray, cal: Calorimeter,
                   rng: np.random.Generator) -> Towers:
    """Sum the deposits ``energy`` (GeV) at ``keys`` (from ``deposit_keys``) per tower and
    event, smear each tower (one normal number per tower, in key order) and apply the
    card's thresholds, as Delphes' SimpleCalorimeter."""
    grid = tower_grid(cal)
    key, deposited = sum_per_key(keys, energy)
    tower = key % grid.n_towers
    terms = (grid.stochastic[tower], grid.noise[tower], grid.constant[tower])
    measured = log_normal(deposited, _sigma(deposited, *terms), rng)
    sigma = _sigma(measured, *terms)
    below = (measured < cal.energy_min) | (measured < cal.energy_significance_min * sigma)
    return Towers(key=key, event=key // grid.n_towers, tower=tower, deposited=deposited,
                  energy=np.where(below, 0.0, measured), sigma=sigma)
