"""Anti-kT jets of many events in one FastJet call, with the flavour of ghost-associated
B and C hadrons.

Ghost association (Cacciari, Salam, Soyez, arXiv:0802.1188; as in ATLAS and CMS truth
labelling): every B or C hadron is added to the clustering inputs with its momentum scaled by
``GHOST_SCALE``, so it cannot change any jet, and a jet is a b jet when a B hadron ended up
among its constituents, else a c jet when a C hadron did, else light.
"""

from __future__ import annotations

from dataclasses import dataclass

import awkward as ak
import fastjet
import numpy as np

GHOST_SCALE = 1.0e-18
"""Factor applied to the four-momentum of a ghost hadron."""
LIGHT, CHARM, BOTTOM = 0, 4, 5


@dataclass(frozen=True)
class ClusteredJets:
    """Jets of many events, flat: ``event`` (non-decreasing), ``p4`` (E, px, py, pz) in GeV
    (ghosts contribute nothing measurable), ``flavour`` 5, 4 or 0 (LIGHT)."""

    event: np.ndarray
    p4: np.ndarray
    flavour: np.ndarray


def cluster_antikt(event: np.ndarray, p4: np.ndarray, n_events: int, radius: float,
                   pt_min: float, ghost_event: np.ndarray | None = None,
                   ghost_p4: np.ndarray | None = None,
                   ghost_flavour: np.ndarray | None = None) -> ClusteredJets:
    """Anti-kT jets with pT > ``pt_min`` of every event, with ghost-associated flavour.

    Args:
        event: (M,) event index of each input (non-decreasing), in 0..n_events-1.
        p4: (M, 4) float64 (E, px, py, pz) of the inputs.
        n_events: number of events (events without inputs give no jets).
        radius: anti-kT distance parameter R.
        pt_min: jet transverse momentum threshold in GeV.
        ghost_event, ghost_p4, ghost_flavour: the B (5) and C (4) hadrons; None: all light.

    Returns:
        The jets, ordered by event and, within an event, as FastJet returns them.
    """
    if ghost_event is None or ghost_p4 is None or ghost_flavour is None:
        ghost_event = np.zeros(0, np.int64)
        ghost_p4 = np.zeros((0, 4))
        ghost_flavour = np.zeros(0, np.int64)
    # Each event's inputs: its particles, then its ghosts.
    all_event = np.concatenate([event, ghost_event])
    all_p4 = np.concatenate([p4, ghost_p4 * GHOST_SCALE])
    all_flavour = np.concatenate([np.zeros(len(event), np.int64), ghost_flavour])
    order = np.argsort(all_event, kind="stable")
    all_event, all_p4, all_flavour = all_event[order], all_p4[order], all_flavour[order]
    counts = np.bincount(all_event, minlength=n_events)
    if len(all_event) == 0:
        return ClusteredJets(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, np.int64))
    inputs = ak.unflatten(ak.zip({"px": all_p4[:, 1], "py": all_p4[:, 2],
                                  "pz": all_p4[:, 3], "E": all_p4[:, 0]}), counts)
    sequence = fastjet.ClusterSequence(inputs, fastjet.JetDefinition(fastjet.antikt_algorithm,
                                                                     radius))
    jets = sequence.inclusive_jets(min_pt=pt_min)
    n_jets = ak.to_numpy(ak.num(jets, axis=1))
    flat = ak.flatten(jets, axis=1)
    jet_p4 = np.stack([ak.to_numpy(flat[c]).astype(np.float64)
                       for c in ("E", "px", "py", "pz")], axis=-1).reshape(-1, 4)
    jet_event = np.repeat(np.arange(n_events), n_jets)
    # Constituents: local index within the event -> flat input index -> flavour.
    constituents = sequence.constituent_index(min_pt=pt_min)
    per_jet = ak.to_numpy(ak.num(ak.flatten(constituents, axis=1), axis=1))
    local = ak.to_numpy(ak.flatten(constituents, axis=None)).astype(np.int64)
    starts = np.cumsum(counts) - counts
    owner = np.repeat(np.arange(len(jet_event)), per_jet)
    flavour_of_input = all_flavour[starts[jet_event[owner]] + local]
    flavour = np.zeros(len(jet_event), np.int64)
    has_c = np.zeros(len(jet_event), bool)
    has_b = np.zeros(len(jet_event), bool)
    has_c[owner[flavour_of_input == CHARM]] = True
    has_b[owner[flavour_of_input == BOTTOM]] = True
    flavour[has_c] = CHARM
    flavour[has_b] = BOTTOM
    return ClusteredJets(jet_event, jet_p4, flavour)
