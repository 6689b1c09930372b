"""Paired particle/detector events from a Delphes ROOT file (`lhcgen data import-delphes`).

A Delphes tree holds the generator record (``Particle``, ``GenJet``) and the reconstructed
objects (``Electron``, ``Muon``, ``Jet``, ``MissingET``) of the same events, so one file
gives both levels of lhcgen's paired schema (lhcgen.data.paired). Both levels go through
``paired_selection.assemble_level`` with the cuts of ``paired_cuts``, as lhcgen's own
paired events do; an event is kept when it passes either level.

Branches are read with uproot in chunks. Delphes writes its TClonesArrays split
(``Muon/Muon.PT``); uproot finds them as ``Muon.PT``. Files whose branches are spelt
``Muon_PT`` (as some converters and uproot's own writer of awkward records do) are read too.

Particle level (what a Delphes file allows; the approximations are stated):

* prompt particles: status 1 whose ancestry, followed through ``M1`` (first mother), holds
  no hadron (a meson or baryon PDG id; the status-4 beam protons excepted) and no tau;
* leptons: e and mu dressed with the status-1 photons within Delta R < 0.1 (each photon
  joins the nearest lepton); for ttbar only prompt leptons and photons, for Z+jets every
  muon, as in lhcgen's own events (PairedCuts.prompt_leptons);
* neutrino slot (ttbar): the sum of the prompt neutrinos (nu_e, nu_mu, nu_tau);
* jets: the file's ``GenJet`` collection. Delphes' default card clusters all stable
  non-neutrino particles, so a GenJet also contains the leptons; GenJets within Delta R <
  0.4 of a lepton in the acceptance are removed by the cuts' overlap removal
  (``assemble_level``), as at detector level;
* b jets: a GenJet is a b jet when a B hadron (any status, pT > 5 GeV, a hadron with a b
  quark) lies within Delta R < 0.4 of its axis. This stands in for ghost association,
  which needs the jet constituents that a Delphes file does not keep.

Detector level: the ``Electron`` and ``Muon`` collections (signed PDG id from ``Charge``,
PDG masses), ``Jet`` (b-tagged when bit 0 of ``BTag`` is set) and the missing transverse
momentum slot (E = MET, px, py, pz = 0) from ``MissingET``.

Event weights come from ``Event.Weight`` (1 without that branch). Events whose weight is
NaN or infinite cannot be stored; they are counted (``cut_flow['nonfinite_weight']``) and
left out, and the CLI says how many.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
from tqdm.auto import tqdm

from lhcgen.data.paired import PairedSample, write_paired
from lhcgen.data.paired_cuts import (
    DRESSING_RADIUS,
    FLAVOUR_HADRON_PT_MIN,
    PairedCuts,
    ttbar_cuts,
    zjets_cuts,
)
from lhcgen.data.paired_selection import FlatObjects, assemble_level, near_any
from lhcgen.data.pythia import NEUTRINO_IDS
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.dressing import dress_leptons
from lhcgen.physics.generator_record import heavy_flavour, is_hadron, no_ancestor_among

PROCESSES = ("zjets", "ttbar")
STEP_SIZE = 2000
"""Events per chunk read from the tree (a generator record is ~30 kB per event)."""
BHADRON_RADIUS = 0.4
ELECTRON_MASS = 0.000511
MUON_MASS = 0.10566
BEAM_STATUS = 4
DETECTOR = "Delphes file (card not recorded in the tree)"
CUT_FLOW_KEYS = ("events_read", "passed_particle", "passed_detector", "passed_both", "kept",
                 "nonfinite_weight")

PARTICLE_BRANCHES = ("Particle.PID", "Particle.Status", "Particle.M1", "Particle.PT",
                     "Particle.Eta", "Particle.Phi", "Particle.Mass")
GENJET_BRANCHES = ("GenJet.PT", "GenJet.Eta", "GenJet.Phi", "GenJet.Mass")
JET_BRANCHES = ("Jet.PT", "Jet.Eta", "Jet.Phi", "Jet.Mass", "Jet.BTag")
LEPTON_BRANCHES = {11: ("Electron.PT", "Electron.Eta", "Electron.Phi", "Electron.Charge"),
                   13: ("Muon.PT", "Muon.Eta", "Muon.Phi", "Muon.Charge")}
MET_BRANCHES = ("MissingET.MET", "MissingET.Phi")
WEIGHT_BRANCH = "Event.Weight"
NEEDED_FOR = {"Particle": "prompt leptons and neutrinos (particle level)",
              "GenJet": "particle-level jets", "Jet.BTag": "b-tagged jets",
              "Jet": "detector-level jets", "Electron": "detector-level electrons",
              "Muon": "detector-level muons", "MissingET": "the missing transverse momentum"}

DEFINITIONS = {
    "prompt": "status 1, no hadron (meson or baryon PDG id, status-4 beams excepted) and "
              "no tau among the ancestors followed through Particle.M1",
    "particle_leptons": f"e and mu (for ttbar prompt ones only; for Z+jets every status-1 "
                        f"muon, as `lhcgen data zjets`) dressed with the status-1 photons "
                        f"(prompt ones for ttbar) within Delta R < {DRESSING_RADIUS} "
                        f"(nearest lepton)",
    "particle_neutrino": "sum of the prompt neutrinos",
    "particle_jets": "the file's GenJet collection; GenJets near a lepton in the acceptance "
                     "removed by the overlap removal (Delphes GenJets contain the leptons)",
    "particle_bjets": f"a B hadron (any status, pT > {FLAVOUR_HADRON_PT_MIN:g} GeV) within "
                      f"Delta R < {BHADRON_RADIUS} of the GenJet axis: the approximation of "
                      "ghost association available from a Delphes file",
    "detector_leptons": "Electron and Muon collections, PDG id from Charge, PDG masses",
    "detector_jets": "Jet collection, b-tagged when bit 0 of Jet.BTag is set",
    "detector_met": "MissingET: E = MET, px, py from MET and Phi, pz = 0",
    "weights": "Event.Weight (1 without that branch)",
}


def paired_cuts(process: str, lepton: str = "emu") -> PairedCuts:
    if process == "zjets":
        return zjets_cuts()
    if process == "ttbar":
        return ttbar_cuts(lepton)
    raise LhcgenError(f"unknown process {process!r}; use one of {', '.join(PROCESSES)}")


def import_delphes(path: str | os.PathLike, out: str | os.PathLike, process: str = "zjets",
                   lepton: str = "emu", max_events: int | None = None,
                   tree: str = "Delphes", progress: bool = True,
                   step_size: int = STEP_SIZE) -> dict[str, Any]:
    """Read a Delphes tree into a paired particle/detector file.

    Args:
        path: the Delphes ROOT file.
        out: the paired HDF5 file to write (atomically; nothing is written on an error).
        process: "zjets" (Z->mumu + jets) or "ttbar" (semi-leptonic, ``lepton`` e, mu or
            emu), the selections of lhcgen.data.paired_cuts.
        max_events: read only the first N entries (default all).
        tree: name of the tree.
        progress: tqdm bar over the events read.
        step_size: entries per chunk.

    Returns:
        The cut flow (events_read, passed_particle, passed_detector, passed_both, kept,
        nonfinite_weight) with ``written`` (= kept) and ``process``.
    """
    cuts = paired_cuts(process, lepton)
    path = Path(path)
    root_file, ttree = _open_tree(path, tree)
    flow = dict.fromkeys(CUT_FLOW_KEYS, 0)
    parts: list[PairedSample] = []
    with root_file:
        names = _branch_names(ttree, path, tree, cuts)
        n_entries = int(ttree.num_entries)
        stop = n_entries if max_events is None else min(int(max_events), n_entries)
        if stop == 0:
            raise LhcgenError(f"{path}: tree '{tree}' holds no events")
        with tqdm(total=stop, desc="reading Delphes", unit="ev", disable=not progress,
                  dynamic_ncols=True) as bar:
            for start, arrays in _chunks(ttree, path, names, stop, step_size):
                sample, counts = _chunk_sample(arrays, names, cuts, start)
                for key, value in counts.items():
                    flow[key] += value
                if len(sample):
                    parts.append(sample)
                bar.update(counts["events_read"])

    attrs = {"process": cuts.process, "source": "delphes", "input_file": os.fspath(path),
             "tree": tree, "detector": DETECTOR, "detector_card": None,
             "cuts_particle": cuts.particle.as_dict(), "cuts_detector": cuts.detector.as_dict(),
             "cut_flow": flow, "definitions": DEFINITIONS,
             "weights_from": WEIGHT_BRANCH if names["weight"] else "none (all 1)"}
    if not parts:
        raise LhcgenError(f"{path}: none of the {flow['events_read']} events passes the "
                          f"{process} selection at either level; nothing written")
    sample = PairedSample.concatenate(parts, attrs)
    write_paired(out, sample)
    return {**flow, "written": flow["kept"], "process": cuts.process}


# --- reading --------------------------------------------------------------------------------

def _open_tree(path: Path, tree: str) -> tuple[Any, Any]:
    """(the open file, the tree); closes the file when the tree is missing or wrong."""
    import uproot

    if not path.exists():
        raise LhcgenError(f"{path}: no such file")
    if path.is_dir():
        raise LhcgenError(f"{path}: is a directory, not a ROOT file")
    try:
        f = uproot.open(path)
    except (OSError, ValueError, uproot.deserialization.DeserializationError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise LhcgenError(f"{path}: not a readable ROOT file ({first})") from None
    try:
        obj = f[tree]
    except KeyError:
        keys = sorted({k.split(";")[0] for k in f.keys(recursive=False)})
        f.close()
        raise LhcgenError(f"{path}: no tree '{tree}' in the file (it holds: "
                          f"{', '.join(keys) or 'nothing'})") from None
    except Exception as exc:  # noqa: BLE001 - uproot's errors on a damaged file vary
        f.close()
        raise LhcgenError(f"{path}: cannot read '{tree}' ({type(exc).__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if not isinstance(obj, uproot.behaviors.TTree.TTree):
        f.close()
        raise LhcgenError(f"{path}: '{tree}' is a {type(obj).__name__}, not a TTree")
    return f, obj


def _find(ttree: Any, name: str) -> str | None:
    """The branch's name as found in the tree: ``Muon.PT`` (uproot finds the split
    ``Muon/Muon.PT`` by it) or the spelling ``Muon_PT``; None if neither exists."""
    for candidate in (name, name.replace(".", "_")):
        try:
            ttree[candidate]
        except KeyError:
            continue
        return candidate
    return None


def _branch_names(ttree: Any, path: Path, tree: str, cuts: PairedCuts) -> dict[str, Any]:
    """Map every branch the process needs to its name in the tree; a missing one is an
    LhcgenError naming it and what it is needed for."""
    wanted = [*PARTICLE_BRANCHES, *GENJET_BRANCHES, *JET_BRANCHES, *MET_BRANCHES]
    for flavour in sorted(set(cuts.detector.lepton_flavours)):
        wanted.extend(LEPTON_BRANCHES[flavour])
    names: dict[str, Any] = {}
    for name in wanted:
        found = _find(ttree, name)
        if found is None:
            need = NEEDED_FOR.get(name, NEEDED_FOR[name.split(".")[0]])
            raise LhcgenError(f"{path}: tree '{tree}' has no branch '{name}' (needed for "
                              f"{need})")
        names[name] = found
    names["weight"] = _find(ttree, WEIGHT_BRANCH)
    return names


def _chunks(ttree: Any, path: Path, names: dict[str, Any], stop: int, step_size: int
            ) -> Iterator[tuple[int, ak.Array]]:
    expressions = sorted({v for v in names.values() if v})
    start = 0
    try:
        for arrays in ttree.iterate(expressions, entry_stop=stop, step_size=step_size,
                                    library="ak"):
            yield start, arrays
            start += len(arrays)
    except LhcgenError:
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged basket surfaces as many types
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise LhcgenError(f"{path}: cannot read entries from entry {start} on "
                          f"({type(exc).__name__}: {text})") from None


def _column(arrays: ak.Array, names: dict[str, Any], name: str, dtype: type
            ) -> tuple[np.ndarray, np.ndarray]:
    """Flat values of a branch and the (local) event index of each; a branch with one
    value per event (not a collection) counts as a collection of one."""
    array = arrays[names[name]]
    n = len(array)
    if array.ndim == 1:
        return np.arange(n, dtype=np.int64), ak.to_numpy(array).astype(dtype)
    if array.ndim != 2:
        raise LhcgenError(f"branch '{names[name]}' has {array.ndim - 1} levels of nesting; "
                          "expected one value per object")
    counts = ak.to_numpy(ak.num(array, axis=1)).astype(np.int64)
    values = ak.to_numpy(ak.flatten(array, axis=1)).astype(dtype)
    return np.repeat(np.arange(n, dtype=np.int64), counts), values


def _collection(arrays: ak.Array, names: dict[str, Any], branches: tuple[str, ...]
                ) -> tuple[np.ndarray, list[np.ndarray]]:
    event, first = _column(arrays, names, branches[0], np.float64)
    columns = [first]
    for name in branches[1:]:
        other_event, values = _column(arrays, names, name, np.float64)
        if not np.array_equal(other_event, event):
            raise LhcgenError(f"branches '{names[branches[0]]}' and '{names[name]}' have "
                              "different numbers of objects per event")
        columns.append(values)
    return event, columns


# --- one chunk --------------------------------------------------------------------------------

def _chunk_sample(arrays: ak.Array, names: dict[str, Any], cuts: PairedCuts, start: int
                  ) -> tuple[PairedSample, dict[str, int]]:
    n = len(arrays)
    record = generator_record(arrays, names, n)
    leptons, neutrinos = particle_leptons(record, n, cuts.prompt_leptons)
    genjets = particle_jets(arrays, names, record, n)
    has_nu, nu_type, nu_name = cuts.missing("particle")
    particle = assemble_level(n, leptons, genjets, cuts.particle,
                              neutrinos if has_nu else None, nu_type, cuts.lepton_names,
                              nu_name)

    det_leptons, jets, met = detector_objects(arrays, names, n, cuts)
    _, met_type, met_name = cuts.missing("detector")
    detector = assemble_level(n, det_leptons, jets, cuts.detector, met, met_type,
                              cuts.lepton_names, met_name)

    weights = np.ones(n)
    if names["weight"]:
        w_event, w = _column(arrays, names, "weight", np.float64)
        first = np.r_[True, w_event[1:] != w_event[:-1]] if len(w_event) else w_event
        weights[w_event[first]] = w[first]
    finite = np.isfinite(weights)
    kept = (particle.passed | detector.passed) & finite
    counts = {"events_read": n, "passed_particle": int(particle.passed.sum()),
              "passed_detector": int(detector.passed.sum()),
              "passed_both": int((particle.passed & detector.passed).sum()),
              "kept": int(kept.sum()),
              "nonfinite_weight": int((~finite).sum())}
    index = np.flatnonzero(kept)
    entry = start + np.arange(n, dtype=np.int64)
    sample = PairedSample(particle, detector, weights, {}, {"entry": entry}).subset(index)
    return sample, counts


ETA_LIMIT = 30.0
"""|eta| is clipped here: Delphes writes eta = +-999.9 for pT = 0, whose sinh overflows."""


def _p4(pt: np.ndarray, eta: np.ndarray, phi: np.ndarray, mass: np.ndarray) -> np.ndarray:
    return fv.from_pt_eta_phi_m(pt, np.clip(eta, -ETA_LIMIT, ETA_LIMIT), phi, mass)


def generator_record(arrays: ak.Array, names: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """The ``Particle`` branches flat over the chunk, with ``mother`` as a flat index."""
    event, (pid, status, m1, pt, eta, phi, mass) = _collection(arrays, names,
                                                              PARTICLE_BRANCHES)
    counts = np.bincount(event, minlength=n)
    local = m1.astype(np.int64)
    valid = (local >= 0) & (local < counts[event])
    mother = np.where(valid, (np.cumsum(counts) - counts)[event] + local, -1)
    return {"event": event, "pid": pid.astype(np.int64), "status": status.astype(np.int64),
            "mother": mother, "pt": pt, "eta": eta, "phi": phi, "mass": mass}


def _record_p4(record: dict[str, np.ndarray], index: np.ndarray) -> np.ndarray:
    return _p4(record["pt"][index], record["eta"][index], record["phi"][index],
               record["mass"][index])


def particle_leptons(record: dict[str, np.ndarray], n: int, prompt_only: bool
                     ) -> tuple[FlatObjects, np.ndarray]:
    """Dressed e and mu (signed PDG ids; only prompt ones and prompt photons when
    ``prompt_only``) and the (n, 4) sum of the prompt neutrinos."""
    event, pid = record["event"], record["pid"]
    apid = np.abs(pid)
    final = record["status"] == 1
    candidates = np.flatnonzero(final & np.isin(apid, (11, 13, 22, *NEUTRINO_IDS)))
    hadronic = (is_hadron(pid) & (record["status"] != BEAM_STATUS)) | (apid == 15)
    prompt = np.zeros(len(pid), bool)
    prompt[candidates] = no_ancestor_among(hadronic, record["mother"], candidates)
    chosen = prompt if prompt_only else final

    lepton = np.flatnonzero(chosen & np.isin(apid, (11, 13)))
    photon = np.flatnonzero(chosen & (apid == 22))
    p4 = np.zeros((len(pid), 4))
    both = np.concatenate([lepton, photon])
    p4[both] = _record_p4(record, both)
    dressed, _ = dress_leptons(event, lepton, photon, p4, DRESSING_RADIUS)
    leptons = FlatObjects(event[lepton], dressed, pid[lepton])

    nu = np.flatnonzero(prompt & np.isin(apid, NEUTRINO_IDS))
    neutrinos = np.zeros((n, 4))
    np.add.at(neutrinos, event[nu], _record_p4(record, nu))
    return leptons, neutrinos


def is_b_hadron(pid: np.ndarray) -> np.ndarray:
    """Hadrons containing a b quark (mesons, baryons, onia)."""
    return heavy_flavour(pid) == 5


def particle_jets(arrays: ak.Array, names: dict[str, Any], record: dict[str, np.ndarray],
                  n: int) -> FlatObjects:
    """GenJets, labelled b when a B hadron with pT > 5 GeV is within Delta R < 0.4."""
    event, (pt, eta, phi, mass) = _collection(arrays, names, GENJET_BRANCHES)
    jets = FlatObjects(event, _p4(pt, eta, phi, mass), np.zeros(len(event), bool))
    b = np.flatnonzero(is_b_hadron(record["pid"]) & (record["pt"] > FLAVOUR_HADRON_PT_MIN))
    if len(b) and len(event):
        hadrons = FlatObjects(record["event"][b], _record_p4(record, b),
                              np.zeros(len(b), np.int64))
        jets = FlatObjects(event, jets.p4, near_any(jets, hadrons, BHADRON_RADIUS, n))
    return jets


def detector_objects(arrays: ak.Array, names: dict[str, Any], n: int, cuts: PairedCuts
                     ) -> tuple[FlatObjects, FlatObjects, np.ndarray]:
    """Reconstructed leptons (signed PDG ids), jets (b-tag labels) and the (n, 4) MET."""
    events, p4s, labels = [], [], []
    for flavour in sorted(set(cuts.detector.lepton_flavours)):
        event, (pt, eta, phi, charge) = _collection(arrays, names, LEPTON_BRANCHES[flavour])
        mass = ELECTRON_MASS if flavour == 11 else MUON_MASS
        events.append(event)
        p4s.append(_p4(pt, eta, phi, np.full(len(pt), mass)))
        labels.append(-np.sign(charge).astype(np.int64) * flavour)
    event = np.concatenate(events)
    order = np.argsort(event, kind="stable")
    leptons = FlatObjects(event[order], np.concatenate(p4s)[order],
                          np.concatenate(labels)[order])

    j_event, (pt, eta, phi, mass, btag) = _collection(arrays, names, JET_BRANCHES)
    jets = FlatObjects(j_event, _p4(pt, eta, phi, mass),
                       (btag.astype(np.int64) & 1).astype(bool))

    m_event, (met, met_phi) = _collection(arrays, names, MET_BRANCHES)
    first = np.r_[True, m_event[1:] != m_event[:-1]] if len(m_event) else m_event.astype(bool)
    missing = np.zeros((n, 4))
    e = m_event[first]
    missing[e] = np.stack([met[first], met[first] * np.cos(met_phi[first]),
                           met[first] * np.sin(met_phi[first]), np.zeros(len(e))], axis=-1)
    return leptons, jets, missing
