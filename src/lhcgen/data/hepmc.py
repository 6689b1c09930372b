"""Particle-level events from any generator (Herwig, Sherpa, Pythia, ...) in HepMC3 files,
through exactly the selection and clustering of lhcgen's own samples.

Events are read with ``pyhepmc`` in batches and laid out as the awkward record that
``Pythia.nextBatch`` returns (``prt``: id, status, p; ``info``: weights), so
``zjets.select_batch`` and ``jets.select_jets`` run unchanged on them. Momenta in MeV are
converted to GeV. Final-state particles are those with HepMC status 1. The first event
weight is the event's weight (negative ones kept).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import awkward as ak
import numpy as np
import pyhepmc
from tqdm.auto import tqdm

from lhcgen.data.events import EventSample
from lhcgen.data.jets import JetCloudSample, JetSettings, select_jets
from lhcgen.data.pythia import generator_string, versions
from lhcgen.data.zjets import CUT_FLOW_KEYS, ZJetsSettings, assemble, select_batch
from lhcgen.errors import LhcgenError
from lhcgen.physics.fastjet_setup import silence_fastjet_banner

BATCH = 200
END_MARK = b"HepMC::Asciiv3-END_EVENT_LISTING"


def check_hepmc_file(path: Path) -> None:
    """A missing, empty, non-HepMC3 or truncated file is one LhcgenError."""
    if not path.is_file():
        raise LhcgenError(f"{path}: no such HepMC file")
    with open(path, "rb") as f:
        head = f.read(200)
        f.seek(max(path.stat().st_size - 200, 0))
        tail = f.read()
    if b"HepMC::Version" not in head or b"HepMC::Asciiv3" not in head:
        raise LhcgenError(f"{path}: not a HepMC3 ASCII file (no 'HepMC::Asciiv3' header)")
    if END_MARK not in tail:
        raise LhcgenError(f"{path}: truncated HepMC3 file (no '{END_MARK.decode()}' at the "
                          "end); regenerate or re-copy it")


def _event_record(event: pyhepmc.GenEvent) -> dict[str, Any]:
    particles = event.numpy.particles
    scale = 1e-3 if event.momentum_unit == pyhepmc.Units.MEV else 1.0
    p = {c: np.asarray(getattr(particles, c), dtype=np.float64) * scale
         for c in ("px", "py", "pz", "e")}
    weights = list(event.weights) or [1.0]
    status = np.asarray(particles.status, dtype=np.int64)
    # HepMC: status 1 is a final-state particle; Pythia's record (which the selection
    # reads) marks final-state particles by a positive status, all others negative.
    return {"id": np.asarray(particles.pid, dtype=np.int64),
            "status": np.where(status == 1, 1, -np.maximum(np.abs(status), 2)),
            "p": p, "weight": float(weights[0])}


def read_batches(path: Path, max_events: int | None, progress: bool):
    """Yield awkward batches of at most BATCH events in the layout of ``nextBatch``."""
    records: list[dict[str, Any]] = []
    n = 0
    with pyhepmc.open(str(path)) as f, tqdm(desc="reading HepMC", unit="ev",
                                              disable=not progress, dynamic_ncols=True) as bar:
        for event in f:
            records.append(_event_record(event))
            n += 1
            bar.update(1)
            if len(records) == BATCH:
                yield _to_awkward(records)
                records = []
            if max_events is not None and n >= max_events:
                break
    if records:
        yield _to_awkward(records)
    if n == 0:
        raise LhcgenError(f"{path}: the HepMC file holds no events")


def _to_awkward(records: list[dict[str, Any]]) -> ak.Array:
    counts = np.array([len(r["id"]) for r in records])
    flat = {c: np.concatenate([r["p"][c] for r in records]) for c in ("px", "py", "pz", "e")}
    prt = ak.unflatten(ak.zip({
        "id": np.concatenate([r["id"] for r in records]),
        "status": np.concatenate([r["status"] for r in records]),
        "p": ak.zip(flat)}, depth_limit=1), counts)
    info = ak.zip({"weights": ak.unflatten(np.array([r["weight"] for r in records]), 1),
                   "pT2Hat": np.full(len(records), np.nan)}, depth_limit=1)
    return ak.zip({"prt": prt, "info": info}, depth_limit=1)


def import_zjets(path: str | Path, settings: ZJetsSettings | None = None,
                 max_events: int | None = None, progress: bool = True) -> EventSample:
    """The Z(->mumu)+jets selection on the events of a HepMC3 file."""
    path = Path(path)
    check_hepmc_file(path)
    settings = settings or ZJetsSettings()
    silence_fastjet_banner()
    parts = [select_batch(batch, settings)
             for batch in read_batches(path, max_events, progress)]
    stage = np.concatenate([s.stage for s in parts])
    sample, stats = assemble(parts, stage, settings)
    del sample.event_info["pthat_gev"]  # the file's generator made the hard process
    if stats["n_accepted"] == 0:
        raise LhcgenError(f"{path}: none of the {len(stage)} events passed the Z(->mumu)+jets "
                          "selection; is it a Z(->mumu)+jets file? (try --process jets)")
    sample.attrs.update({
        "process": "zjets", "sqrt_s": settings.sqrt_s, "cuts": settings.cuts(),
        "generator": f"HepMC3 file + {generator_string().split(' + ')[1]}",
        "generator_versions": {**versions(), "pyhepmc": pyhepmc.__version__},
        "hepmc_file": str(path), "n_generated": stats["n_generated"],
        "n_accepted": stats["n_accepted"],
        "acceptance": stats["n_accepted"] / stats["n_generated"],
        "cut_flow": {"generated": stats["n_generated"],
                     **{key: stats[key] for key in CUT_FLOW_KEYS},
                     "accepted": stats["n_accepted"],
                     **{key: stats[key] for key in ("accepted_with_more_jets_than_stored",
                                                    "jets_removed_by_overlap",
                                                    "dressing_photons")}},
        "sum_weights_generated": float(np.concatenate(
            [s.generated_weights for s in parts]).sum()),
        "negative_weights_accepted": stats["negative_weights_accepted"],
        "momentum_units": "GeV", "momentum_components": ["E", "px", "py", "pz"],
    })
    return sample


def import_jets(path: str | Path, settings: JetSettings, max_events: int | None = None,
                progress: bool = True) -> JetCloudSample:
    """JetNet-style jets (``settings``: type label, particles, jet window) from a HepMC3 file;
    the p-hat window does not apply (the file's generator chose its own)."""
    path = Path(path)
    check_hepmc_file(path)
    silence_fastjet_banner()
    parts = []
    n_events = 0
    for batch in read_batches(path, max_events, progress):
        parts.append(select_jets(batch, settings))
        n_events += len(batch)
    n = sum(len(s.event) for s in parts)
    if n == 0:
        raise LhcgenError(f"{path}: none of the {n_events} events has a jet in the window "
                          f"{settings.jet_pt_min}-{settings.jet_pt_max} GeV, |eta| < "
                          f"{settings.jet_abs_eta_max}; is it a jets file?")
    cuts = {k: v for k, v in settings.cuts().items() if not k.startswith("pthat")}
    from lhcgen.data.jets import JET_FEATURES, JET_TYPES, PARTICLE_FEATURES

    attrs = {"process": "jets", "type": settings.jet_type, "particles": settings.n_particles,
             "jet_type_names": list(JET_TYPES), "particle_features": list(PARTICLE_FEATURES),
             "jet_features": list(JET_FEATURES), "sqrt_s": settings.sqrt_s, "cuts": cuts,
             "generator": f"HepMC3 file + {generator_string().split(' + ')[1]}",
             "generator_versions": {**versions(), "pyhepmc": pyhepmc.__version__},
             "hepmc_file": str(path), "n_generated": n_events, "n_accepted": n}
    return JetCloudSample(
        np.concatenate([s.particles for s in parts]), np.concatenate([s.mask for s in parts]),
        np.concatenate([s.jets for s in parts]),
        np.full(n, settings.type_code, dtype=np.int64),
        np.concatenate([s.weights for s in parts]),
        np.concatenate([s.n_constituents for s in parts]), attrs)
