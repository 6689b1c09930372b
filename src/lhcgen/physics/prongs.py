"""The prongs of a jet: where its mass sits, between its hard subjets or inside them.

A jet's constituents are clustered into exactly n exclusive-kT subjets, its prongs (FastJet,
E-scheme, R = 1000 as in ``physics.substructure``; n is the caller's: three for the decay
t -> bqq', two for W, Z -> qq'). Per jet:

* ``separation_min``, ``separation_max``: the smallest and largest Delta R between the
  prongs, each prong placed at its hardest constituent (a winner-take-all axis: the hard
  decay products, not moved by the radiation around them);
* ``softest_share``: the softest prong's pT over the sum of the prongs' pT, each the
  transverse momentum of the prong's four-momentum (the balance of the decay);
* ``width``: sum_i z_i Delta R(i, axis of i's prong), z_i = pT_i / sum_j pT_j, the axis the
  prong's E-scheme four-momentum in (rapidity, phi) (how far the constituents spread around
  their prong; N-subjettiness tau_n of these axes would take each constituent's nearest axis
  instead of its own prong's);
* ``within``, ``between``: the jet's squared mass split exactly into its prongs' own masses
  and what their relative motion adds, m^2 = sum_k m_k^2 + sum_{k<l} 2 p_k.p_l, in the units
  of pT_rel (over the jet pT squared), so that ``within + between`` is ``relative_jet_mass``
  squared.

A generator that places its prongs too close together makes ``between`` too small; one that
smears its constituents away from the prong cores makes ``width`` and ``within`` too large.
Jets with fewer than n constituents have no n prongs: NaN in every column (counted by the
caller, never dropped silently).
"""

from __future__ import annotations

import warnings

import awkward as ak
import fastjet
import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.substructure import EXCLUSIVE_KT_R, checked_cloud, massless_four_vectors

PRONG_OBSERVABLES = ("separation_min", "separation_max", "softest_share", "width", "within",
                     "between")


def prong_labels(particles: np.ndarray, mask: np.ndarray | None, n: int) -> np.ndarray:
    """(N, P) int: the exclusive-kT subjet (0 .. n-1) of each constituent, -1 for empty
    slots and for every slot of a jet with fewer than n constituents."""
    if n < 1:
        raise LhcgenError(f"the number of prongs must be at least 1, got {n}")
    particles, mask = checked_cloud(particles, mask)
    from lhcgen.physics.fastjet_setup import silence_fastjet_banner

    silence_fastjet_banner()
    counts = mask.sum(axis=1)
    labels = np.full(mask.shape, -1, dtype=np.int64)
    enough = counts >= n
    if not enough.any():
        return labels
    sub_particles, sub_mask = particles[enough], mask[enough]
    sequence = fastjet.ClusterSequence(massless_four_vectors(sub_particles, sub_mask),
                                       fastjet.JetDefinition(fastjet.kt_algorithm,
                                                             EXCLUSIVE_KT_R))
    with warnings.catch_warnings():  # fastjet 3.5.2.0 warns for kt too (see substructure)
        warnings.simplefilter("ignore", UserWarning)
        index = sequence.exclusive_jets_constituent_index(n)
    # The indices count the jet's filled slots; map them back to slot positions.
    prong = ak.flatten(ak.local_index(index, axis=1) * ak.ones_like(index), axis=None)
    jet = ak.flatten(ak.local_index(index, axis=0) * ak.ones_like(index), axis=None)
    within_jet = ak.to_numpy(ak.flatten(index, axis=None)).astype(np.int64)
    cols = np.nonzero(sub_mask)[1]
    offsets = np.concatenate([[0], np.cumsum(sub_mask.sum(axis=1))[:-1]])
    jet = ak.to_numpy(jet).astype(np.int64)
    sub_labels = np.full(sub_mask.shape, -1, dtype=np.int64)
    sub_labels[jet, cols[offsets[jet] + within_jet]] = ak.to_numpy(prong)
    labels[enough] = sub_labels
    return labels


def prong_observables(particles: np.ndarray, mask: np.ndarray | None = None, n: int = 3
                      ) -> dict[str, np.ndarray]:
    """(N,) arrays of ``PRONG_OBSERVABLES`` (see the module doc) for n exclusive-kT prongs;
    NaN for jets with fewer than n constituents."""
    particles, mask = checked_cloud(particles, mask)
    labels = prong_labels(particles, mask, n)
    n_jets = len(particles)
    valid = labels.max(axis=1, initial=-1) >= 0
    pt = np.where(mask, particles[..., 2], 0.0)
    eta, phi = particles[..., 0], particles[..., 1]
    total_pt = pt.sum(axis=1)
    one_hot = (labels[..., None] == np.arange(n)).astype(np.float64)       # (N, P, n)
    p4 = fv.from_pt_eta_phi_massless(pt, eta, phi)                          # (N, P, 4)
    prong_p4 = np.einsum("jpk,jpc->jkc", one_hot, p4)                        # (N, n, 4)
    prong_pt = np.hypot(prong_p4[..., 1], prong_p4[..., 2])
    out = {name: np.full(n_jets, np.nan) for name in PRONG_OBSERVABLES}
    if not valid.any():
        return out
    v = valid  # the jets with n prongs
    hardest = np.argmax(one_hot[v] * pt[v][..., None], axis=1)             # (V, n) slots
    rows = np.arange(v.sum())[:, None]
    lead_eta, lead_phi = eta[v][rows, hardest], phi[v][rows, hardest]
    if n > 1:
        k, l = np.triu_indices(n, 1)
        separation = fv.angular_distance(lead_eta[:, k] - lead_eta[:, l],
                                         lead_phi[:, k] - lead_phi[:, l])
        out["separation_min"][v] = separation.min(axis=1)
        out["separation_max"][v] = separation.max(axis=1)
    out["softest_share"][v] = prong_pt[v].min(axis=1) / prong_pt[v].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        axis_rapidity = fv.rapidity(prong_p4[v])
    axis_phi = fv.phi(prong_p4[v])
    own = np.clip(labels[v], 0, None)
    distance = fv.angular_distance(eta[v] - np.take_along_axis(axis_rapidity, own, axis=1),
                                   phi[v] - np.take_along_axis(axis_phi, own, axis=1))
    z = pt[v] / total_pt[v][:, None]
    out["width"][v] = np.where(labels[v] >= 0, z * distance, 0.0).sum(axis=1)
    prong_m2 = prong_p4[v][..., 0] ** 2 - (prong_p4[v][..., 1:] ** 2).sum(axis=-1)
    jet_p4 = prong_p4[v].sum(axis=1)
    jet_m2 = jet_p4[:, 0] ** 2 - (jet_p4[:, 1:] ** 2).sum(axis=-1)
    out["within"][v] = prong_m2.sum(axis=1)
    out["between"][v] = jet_m2 - prong_m2.sum(axis=1)
    return out
