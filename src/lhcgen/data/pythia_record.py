"""A ``Pythia.nextBatch`` array as flat numpy columns, with the facts the paired processes
need: stable particles with charges, prompt leptons and neutrinos, and the B and C hadrons.

"Prompt" follows the usual particle-level convention (e.g. Rivet's): a final-state lepton,
neutrino or photon is prompt when no hadron made in hadronisation or decays (|status| >= 81)
and no tau lies in its ancestry (followed through ``mother1``); leptons from W, Z and
photon splitting in the hard process and the shower are prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import awkward as ak
import numpy as np
import pythia8mc

from lhcgen.data.paired_cuts import FLAVOUR_HADRON_PT_MIN
from lhcgen.data.pythia import NEUTRINO_IDS
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.detector.particles import FinalState, FlavourHadrons
from lhcgen.physics.generator_record import heavy_flavour, is_hadron, no_ancestor_among


@dataclass(frozen=True)
class EventRecord:
    """Every particle of every event of a batch, flat.

    Attributes:
        n_events: events in the batch.
        event: (M,) event index (non-decreasing).
        status, pid: (M,) Pythia status code and PDG id.
        p4: (M, 4) float64 (E, px, py, pz) in GeV.
        mother1: (M,) flat index of the first mother, -1 for none (the event's system row).
    """

    n_events: int
    event: np.ndarray
    status: np.ndarray
    pid: np.ndarray
    p4: np.ndarray
    mother1: np.ndarray

    @staticmethod
    def from_batch(batch: ak.Array) -> EventRecord:
        counts = ak.to_numpy(ak.num(batch.prt, axis=1))
        event = np.repeat(np.arange(len(batch)), counts)
        flat = ak.flatten(batch.prt, axis=1)
        p = flat.p
        p4 = np.stack([ak.to_numpy(p[c]) for c in ("e", "px", "py", "pz")],
                      axis=-1).astype(np.float64).reshape(-1, 4)
        starts = np.cumsum(counts) - counts
        mother = ak.to_numpy(flat.mother1).astype(np.int64)
        mother1 = np.where(mother > 0, starts[event] + mother, -1)
        return EventRecord(len(batch), event, ak.to_numpy(flat.status).astype(np.int64),
                           ak.to_numpy(flat.id).astype(np.int64), p4, mother1)

    @property
    def final(self) -> np.ndarray:
        return self.status > 0


def prompt(record: EventRecord, index: np.ndarray) -> np.ndarray:
    """For particles ``index`` of the record: no hadron made in hadronisation or decays
    (|status| >= 81) and no tau among their ancestors (through ``mother1``)."""
    marker = ((is_hadron(record.pid) & (np.abs(record.status) >= 81))
              | (np.abs(record.pid) == 15))
    return no_ancestor_among(marker, record.mother1, index)


def charge_lookup(pythia: pythia8mc.Pythia) -> Callable[[np.ndarray], np.ndarray]:
    """Electric charges of PDG ids from Pythia's particle data (cached per id)."""
    cache: dict[int, float] = {}

    def charges(pid: np.ndarray) -> np.ndarray:
        unique, inverse = np.unique(pid, return_inverse=True)
        values = np.empty(len(unique))
        for k, code in enumerate(unique.tolist()):
            if code not in cache:
                cache[code] = float(pythia.particleData.charge(int(code)))
            values[k] = cache[code]
        return values[inverse]

    return charges


def final_state(record: EventRecord, charges: Callable[[np.ndarray], np.ndarray],
                keep: np.ndarray | None = None) -> tuple[FinalState, np.ndarray]:
    """The stable particles (neutrinos included) of the events where ``keep`` is true, with
    event indices renumbered 0..K-1; also the record index of every row."""
    index = np.flatnonzero(record.final if keep is None else record.final & keep[record.event])
    events = np.arange(record.n_events) if keep is None else np.flatnonzero(keep)
    renumber = np.full(record.n_events, -1)
    renumber[events] = np.arange(len(events))
    pid = record.pid[index]
    return FinalState(len(events), renumber[record.event[index]], record.p4[index], pid,
                      charges(pid)), index


def flavour_hadrons(record: EventRecord, keep: np.ndarray | None = None,
                    pt_min: float = FLAVOUR_HADRON_PT_MIN) -> FlavourHadrons:
    """B and C hadrons above ``pt_min`` (any status) of the kept events, renumbered like
    :func:`final_state`."""
    flavour = heavy_flavour(record.pid)
    chosen = (flavour > 0) & (fv.pt(record.p4) > pt_min)
    if keep is not None:
        chosen &= keep[record.event]
    index = np.flatnonzero(chosen)
    events = np.arange(record.n_events) if keep is None else np.flatnonzero(keep)
    renumber = np.full(record.n_events, -1)
    renumber[events] = np.arange(len(events))
    return FlavourHadrons(renumber[record.event[index]], record.p4[index], flavour[index])


def is_neutrino(pid: np.ndarray) -> np.ndarray:
    return np.isin(np.abs(pid), NEUTRINO_IDS)
