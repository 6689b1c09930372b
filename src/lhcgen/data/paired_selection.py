"""One level (particle or detector) of a paired event: objects into slots, and its selection.

The same function fills both levels of lhcgen's own paired events and of imported Delphes
files, so that a cut means the same thing wherever the objects came from. Inputs are flat
columns over many events (``event`` non-decreasing), as everywhere in lhcgen.data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from lhcgen.data.paired import B_JET, LIGHT_JET, LevelObjects
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv


@dataclass(frozen=True)
class LevelCuts:
    """The selection of one level and how many objects of each kind it stores.

    Attributes:
        n_leptons: leptons (e or mu) in the acceptance an event must have, exactly.
        lepton_flavours: |PDG id| of the leptons that count (13 for Z->mumu; 11 and 13 for
            semi-leptonic ttbar).
        opposite_charge: with two leptons, they must have opposite charge.
        lepton_pt_min, lepton_abs_eta_max: lepton acceptance (GeV; |eta| <).
        lepton_slots: leptons stored, leading by pT (the selected ones when it passes).
        jet_pt_min, jet_abs_eta_max: jet acceptance.
        overlap_radius: jets within this Delta R of a lepton in the acceptance are removed.
        n_jets_min: jets (after overlap removal) an event needs.
        n_bjets_min: b jets among them an event needs.
        max_jets: jets stored, leading by pT (the untruncated count is ``n_jets_all``).
    """

    n_leptons: int
    lepton_flavours: tuple[int, ...]
    opposite_charge: bool
    lepton_pt_min: float
    lepton_abs_eta_max: float
    lepton_slots: int
    jet_pt_min: float
    jet_abs_eta_max: float
    overlap_radius: float
    n_jets_min: int
    n_bjets_min: int
    max_jets: int

    def __post_init__(self) -> None:
        for name in ("n_leptons", "n_jets_min", "n_bjets_min"):
            if getattr(self, name) < 0:
                raise LhcgenError(f"{name} must be zero or positive, got {getattr(self, name)}")
        for name in ("lepton_pt_min", "lepton_abs_eta_max", "jet_pt_min", "jet_abs_eta_max",
                     "lepton_slots", "max_jets"):
            if not getattr(self, name) > 0:
                raise LhcgenError(f"{name} must be positive, got {getattr(self, name)}")
        if self.overlap_radius < 0:
            raise LhcgenError(f"overlap_radius must be zero or positive, got "
                              f"{self.overlap_radius}")
        if self.lepton_slots < self.n_leptons:
            raise LhcgenError("lepton_slots must hold the selected leptons")
        if not set(self.lepton_flavours) <= {11, 13} or not self.lepton_flavours:
            raise LhcgenError(f"lepton flavours must be e (11) or mu (13), got "
                              f"{list(self.lepton_flavours)}")

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "lepton_flavours": list(self.lepton_flavours),
                "jet_algorithm": "anti-kt, radius of the process",
                "lepton_count": "exactly n_leptons in the acceptance"}


@dataclass(frozen=True)
class FlatObjects:
    """Objects of one kind over many events: event index (non-decreasing), (E, px, py, pz),
    and a label (signed PDG id for leptons; True for b jets, False for light jets)."""

    event: np.ndarray
    p4: np.ndarray
    label: np.ndarray

    @staticmethod
    def empty(label_dtype: type = np.int64) -> FlatObjects:
        return FlatObjects(np.zeros(0, np.int64), np.zeros((0, 4)), np.zeros(0, label_dtype))

    def take(self, index: np.ndarray) -> FlatObjects:
        return FlatObjects(self.event[index], self.p4[index], self.label[index])


def _rank_by_pt(event: np.ndarray, pt: np.ndarray, n_events: int) -> tuple[np.ndarray,
                                                                          np.ndarray]:
    """Order of the objects by (event, pT descending), and each one's rank in its event."""
    order = np.lexsort((-pt, event))
    counts = np.bincount(event, minlength=n_events)
    starts = np.cumsum(counts) - counts
    rank = np.empty(len(event), np.int64)
    rank[order] = np.arange(len(event)) - starts[event[order]]
    return order, rank


def assemble_level(n_events: int, leptons: FlatObjects, jets: FlatObjects, cuts: LevelCuts,
                   missing: np.ndarray | None, missing_type: int,
                   lepton_names: tuple[str, ...], missing_name: str) -> LevelObjects:
    """Fill the slots of one level and apply its selection.

    Args:
        n_events: events (rows of the output).
        leptons: candidate e and mu with signed PDG ids as labels (any pT and eta).
        jets: jets with b-tag (bool) labels, any pT and eta (the acceptance is applied here).
        cuts: the level's selection.
        missing: (n_events, 4) the neutrino sum or missing pT of each event, or None for a
            level without that slot; a zero four-vector leaves the slot empty.
        missing_type: object_type code of that slot (NEUTRINO or MET).
        lepton_names, missing_name: slot names.

    Returns:
        LevelObjects with slots (leptons, [missing], jets), the pass flag of every event and
        the untruncated jet count after acceptance and overlap removal.
    """
    lepton_pt = fv.pt(leptons.p4)
    lepton_ok = (np.isin(np.abs(leptons.label), cuts.lepton_flavours)
                 & (lepton_pt > cuts.lepton_pt_min)
                 & (np.abs(fv.eta(leptons.p4)) < cuts.lepton_abs_eta_max))
    good = leptons.take(np.flatnonzero(lepton_ok))
    n_good = np.bincount(good.event, minlength=n_events)
    charge_sum = np.bincount(good.event, weights=-np.sign(good.label), minlength=n_events)
    lepton_pass = n_good == cuts.n_leptons
    if cuts.opposite_charge and cuts.n_leptons == 2:
        lepton_pass &= charge_sum == 0

    jet_pt = fv.pt(jets.p4)
    jet_ok = (jet_pt > cuts.jet_pt_min) & (np.abs(fv.eta(jets.p4)) < cuts.jet_abs_eta_max)
    if cuts.overlap_radius > 0 and len(good.event) and len(jets.event):
        near = near_any(jets, good, cuts.overlap_radius, n_events)
        jet_ok &= ~near
    kept = jets.take(np.flatnonzero(jet_ok))
    n_jets_all = np.bincount(kept.event, minlength=n_events)
    n_b = np.bincount(kept.event, weights=kept.label.astype(np.float64), minlength=n_events)
    passed = lepton_pass & (n_jets_all >= cuts.n_jets_min) & (n_b >= cuts.n_bjets_min)

    n_missing = 0 if missing is None else 1
    slots = cuts.lepton_slots + n_missing + cuts.max_jets
    momenta = np.zeros((n_events, slots, 4))
    object_type = np.zeros((n_events, slots), np.int64)

    order, rank = _rank_by_pt(good.event, fv.pt(good.p4), n_events)
    stored = order[rank[order] < cuts.lepton_slots]
    momenta[good.event[stored], rank[stored]] = good.p4[stored]
    object_type[good.event[stored], rank[stored]] = good.label[stored]

    if missing is not None:
        has = np.any(missing != 0.0, axis=1)
        momenta[has, cuts.lepton_slots] = missing[has]
        object_type[has, cuts.lepton_slots] = missing_type

    first_jet = cuts.lepton_slots + n_missing
    order, rank = _rank_by_pt(kept.event, fv.pt(kept.p4), n_events)
    stored = order[rank[order] < cuts.max_jets]
    momenta[kept.event[stored], first_jet + rank[stored]] = kept.p4[stored]
    object_type[kept.event[stored], first_jet + rank[stored]] = np.where(
        kept.label[stored], B_JET, LIGHT_JET)

    names = (*lepton_names[:cuts.lepton_slots], *((missing_name,) if n_missing else ()),
             *(f"j{k + 1}" for k in range(cuts.max_jets)))
    return LevelObjects(momenta, object_type != 0, object_type,
                        np.minimum(n_jets_all, cuts.max_jets), n_jets_all, passed, names)


def near_any(jets: FlatObjects, leptons: FlatObjects, radius: float, n_events: int
              ) -> np.ndarray:
    """For every jet: is any lepton of its event within ``radius``?"""
    counts = np.bincount(leptons.event, minlength=n_events)
    starts = np.cumsum(counts) - counts
    per_jet = counts[jets.event]
    jet_index = np.repeat(np.arange(len(jets.event)), per_jet)
    offset = np.arange(per_jet.sum()) - np.repeat(np.cumsum(per_jet) - per_jet, per_jet)
    lepton_index = np.repeat(starts[jets.event], per_jet) + offset
    close = fv.delta_r(jets.p4[jet_index], leptons.p4[lepton_index]) < radius
    near = np.zeros(len(jets.event), bool)
    near[jet_index[close]] = True
    return near
