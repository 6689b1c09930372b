"""Known distortions of Z+jets events: the defects a generator might have, of a chosen size.

Each function returns a copy of an :class:`EventSample` with one physical quantity changed
by a known amount and everything else kept (masks, multiplicities, weights, the other
objects), in float64. They measure how small a defect a judge can see
(``benchmarks/judge_power.py``) and give tests a distortion a judge must find:

- :func:`jet_pt_scale`: a smooth jet-energy scale, 1 + s min(1, (pT - 50 GeV) / 50 GeV)
  above 50 GeV (continuous and monotonic: jets stay pT-ordered, the density ratio is
  finite);
- :func:`mumu_mass_smearing`: m_mumu -> m_mumu (1 + r g), g ~ N(0, 1), at fixed dimuon
  three-momentum (a worse resolution of the Z peak, nothing else of the Z changed);
- :func:`delta_r_jj_shift`: the second jet moved away from the leading jet in (eta, phi)
  so that Delta R_j1j2 grows by a fixed amount, its pT and mass kept;
- :func:`muon_eta_distortion`: eta -> eta + s (2.5 / pi) sin(pi eta / 2.5) for both muons,
  at fixed pT, phi and mass (muons pushed outwards; the acceptance |eta| < 2.5 and eta = 0
  stay where they are).
"""

from __future__ import annotations

import numpy as np

from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv

MUON_ETA_MAX = 2.5


def _copy(sample: EventSample, momenta: np.ndarray, how: str) -> EventSample:
    attrs = dict(sample.attrs, distortion=how)
    return EventSample(momenta, sample.mask.copy(), sample.multiplicity.copy(),
                       sample.weights.copy(), attrs,
                       None if sample.weight_draw is None else sample.weight_draw.copy())


def _slots(sample: EventSample, prefix: str) -> list[int]:
    slots = [i for i, name in enumerate(sample.object_names) if name.startswith(prefix)]
    if not slots:
        raise LhcgenError(f"the sample names no '{prefix}*' objects "
                          f"({', '.join(sample.object_names)})")
    return slots


def jet_pt_scale(sample: EventSample, scale: float, pt_min: float = 50.0) -> EventSample:
    """Jets above ``pt_min`` scaled (E and p) by 1 + scale min(1, (pT - pt_min) / pt_min).

    Parameters
    ----------
    sample : Z+jets events (jets are the objects named ``j*``).
    scale : the relative shift reached at 2 pt_min and above (0.02: 2 %).
    pt_min : where the ramp starts (GeV).
    """
    jets = np.zeros(sample.mask.shape, bool)
    jets[:, _slots(sample, "j")] = True
    jet_pt = fv.pt(sample.momenta)
    ramp = np.clip((jet_pt - pt_min) / pt_min, 0.0, 1.0)
    factor = np.where(jets & sample.mask, 1.0 + scale * ramp, 1.0)
    how = (f"jets above {pt_min:g} GeV scaled by 1 + {scale:g} min(1, (pT - {pt_min:g}) / "
           f"{pt_min:g})")
    return _copy(sample, factor[..., None] * sample.momenta, how)


def mumu_mass_smearing(sample: EventSample, resolution: float, seed: int = 0) -> EventSample:
    """The dimuon mass smeared by a relative Gaussian ``resolution`` at fixed dimuon momentum.

    In the dimuon rest frame the muons stay back to back along their axis, with momentum
    sqrt(m'^2 / 4 - m_mu^2) for the new mass m' = m (1 + resolution g), g ~ N(0, 1) from
    ``np.random.default_rng(seed)``; the pair is boosted back with its original
    three-momentum, and the muons re-ordered by pT. m' is kept above 2 m_mu + 1 GeV.
    """
    p = sample.momenta.copy()
    mu = _slots(sample, "mu")[:2]
    if len(mu) != 2:
        raise LhcgenError("m_mumu smearing needs two muon slots")
    m_mu = np.sqrt(np.clip(fv.mass(p[:, mu[0]]) * fv.mass(p[:, mu[1]]), 0.0, None))
    pair = p[:, mu[0]] + p[:, mu[1]]
    mass = fv.mass(pair)
    rng = np.random.default_rng(seed)
    new_mass = np.maximum(mass * (1.0 + resolution * rng.standard_normal(len(p))),
                          2.0 * m_mu + 1.0)
    rest = fv.boost(p[:, mu[0]], -pair[:, 1:] / pair[:, :1])
    direction = rest[:, 1:] / np.linalg.norm(rest[:, 1:], axis=1, keepdims=True)
    momentum = np.sqrt(new_mass**2 / 4.0 - m_mu**2)
    first = np.concatenate([(new_mass / 2.0)[:, None], momentum[:, None] * direction], axis=1)
    second = np.concatenate([(new_mass / 2.0)[:, None], -momentum[:, None] * direction],
                            axis=1)
    new_energy = np.sqrt(np.sum(pair[:, 1:] ** 2, axis=1) + new_mass**2)
    beta = pair[:, 1:] / new_energy[:, None]
    a, b = fv.boost(first, beta), fv.boost(second, beta)
    swap = fv.pt(b) > fv.pt(a)
    p[:, mu[0]] = np.where(swap[:, None], b, a)
    p[:, mu[1]] = np.where(swap[:, None], a, b)
    return _copy(sample, p, f"m_mumu smeared by a relative resolution of {resolution:g} at "
                            "fixed dimuon momentum")


def delta_r_jj_shift(sample: EventSample, shift: float) -> EventSample:
    """The second jet moved radially away from the leading jet in (eta, phi) by ``shift``.

    With (d_eta, d_phi) of j2 relative to j1 and Delta R their length, j2 moves to
    (d_eta, d_phi) (Delta R + shift) / Delta R (where |d_phi| would pass pi, d_phi stops at
    pi and d_eta takes the rest, so Delta R grows by exactly ``shift``); its pT and mass are
    kept. Events with fewer than two jets are unchanged.
    """
    p = sample.momenta.copy()
    jets = _slots(sample, "j")
    if len(jets) < 2:
        raise LhcgenError("a Delta R_jj shift needs two jet slots")
    j1, j2 = jets[:2]
    both = sample.mask[:, j1] & sample.mask[:, j2]
    first, second = p[both, j1], p[both, j2]
    d_eta = fv.delta_eta(second, first)
    d_phi = fv.delta_phi(second, first)
    distance = fv.delta_r(second, first)
    target = distance + shift
    stretch = target / np.where(distance > 0, distance, 1.0)
    # |delta phi| cannot pass pi: there the rest of the stretch goes into delta eta
    new_phi = np.sign(d_phi) * np.minimum(np.abs(d_phi) * stretch, np.pi)
    new_eta = np.where(d_eta >= 0, 1.0, -1.0) * np.sqrt(np.clip(target**2 - new_phi**2, 0,
                                                                 None))
    eta = fv.eta(first) + new_eta
    phi = fv.wrap_phi(fv.phi(first) + new_phi)
    p[both, j2] = fv.from_pt_eta_phi_m(fv.pt(second), eta, phi, fv.mass(second))
    return _copy(sample, p, f"Delta R_j1j2 increased by {shift:g} (j2 moved away from j1)")


def muon_eta_distortion(sample: EventSample, strength: float) -> EventSample:
    """Both muons' eta -> eta + strength (2.5 / pi) sin(pi eta / 2.5), pT, phi, m kept.

    Monotonic for |strength| < 1, so muons keep their order in eta and stay inside the
    acceptance |eta| < 2.5; the largest shift, ``strength`` 2.5 / pi, is at |eta| = 1.25.
    """
    if not abs(strength) < 1:
        raise LhcgenError(f"the muon eta distortion needs |strength| < 1, got {strength}")
    p = sample.momenta.copy()
    for slot in _slots(sample, "mu"):
        filled = sample.mask[:, slot]
        q = p[filled, slot]
        eta = fv.eta(q)
        eta = eta + strength * MUON_ETA_MAX / np.pi * np.sin(np.pi * eta / MUON_ETA_MAX)
        p[filled, slot] = fv.from_pt_eta_phi_m(fv.pt(q), eta, fv.phi(q), fv.mass(q))
    return _copy(sample, p, f"muon eta + {strength:g} (2.5/pi) sin(pi eta / 2.5)")


DISTORTIONS = {
    "jet_pt_scale": (jet_pt_scale, "smooth jet-pT scale s (jets above 50 GeV, full at 100 GeV)"),
    "mumu_mass_smearing": (mumu_mass_smearing, "m_μμ smeared by a relative resolution r"),
    "delta_r_jj_shift": (delta_r_jj_shift, "ΔR_j1j2 shifted by d"),
    "muon_eta": (muon_eta_distortion, "muon η + s (2.5/π) sin(π η / 2.5)"),
}
"""Name -> (function(sample, size), what the size means)."""
