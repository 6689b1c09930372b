"""`lhcgen data jets | merge-jets | import-hepmc | import-jetnet` as library functions: jets
(or Z+jets events) written atomically."""

from __future__ import annotations

from pathlib import Path

from lhcgen.data.jet_hdf5 import write_jets
from lhcgen.data.jets import JetSettings
from lhcgen.data.shard_store import keep_parts_only_if_useful, parts_folder, remove_parts
from lhcgen.errors import LhcgenError

SHARD_SIZE = 500
"""Accepted jets per shard (part of the seed scheme)."""


def make_jets_file(n_jets: int, seed: int, settings: JetSettings, workers: int,
                   out: str | Path, shard_size: int = SHARD_SIZE, progress: bool = True,
                   scheduler: str | None = None) -> dict:
    """Generate JetNet-style jets into ``out``; returns the file attributes. Finished
    shards are kept in ``OUT.parts`` until the file is written."""
    from lhcgen.data.jet_run import generate_jets

    parts = parts_folder(out)
    with keep_parts_only_if_useful(parts):
        sample = generate_jets(n_jets, seed, settings, workers=workers, shard_size=shard_size,
                               progress=progress, parts=parts, scheduler=scheduler)
    write_jets(out, sample)
    remove_parts(parts)
    return {**sample.attrs, "n_jets": len(sample)}


def import_hepmc_file(path: str | Path, process: str, out: str | Path,
                      jet_settings: JetSettings | None = None, max_events: int | None = None,
                      progress: bool = True) -> dict:
    """Select and cluster the particle-level events of a HepMC3 file into ``out``:
    ``process`` "zjets" (lhcgen's event definition) or "jets" (``jet_settings``). Returns
    {"written", "what", "n_generated"}."""
    from lhcgen.data import hepmc

    if process == "zjets":
        from lhcgen.data.hdf5 import write_events

        sample = hepmc.import_zjets(path, max_events=max_events, progress=progress)
        write_events(out, sample)
        what = "Z(->mumu)+jets events"
    elif process == "jets":
        if jet_settings is None:
            raise LhcgenError("--process jets needs --type g|q|t|w|z (the jets the file holds)")
        sample = hepmc.import_jets(path, jet_settings, max_events=max_events,
                                   progress=progress)
        write_jets(out, sample)
        what = f"{jet_settings.jet_type} jets"
    else:
        raise LhcgenError(f"unknown HepMC selection {process!r} (zjets or jets)")
    return {"written": len(sample), "what": what, "n_generated": sample.attrs["n_generated"]}


def import_jetnet_file(path: str | Path, out: str | Path, jet_type: str | None = None) -> dict:
    """Convert a JetNet HDF5 file to lhcgen's jet schema in ``out``."""
    from lhcgen.data.jetnet_import import read_jetnet

    sample = read_jetnet(path, jet_type)
    write_jets(out, sample)
    return {"written": len(sample), "type": sample.attrs["type"],
            "particles": sample.n_particles}


MERGE_MUST_AGREE = ("jet_radius", "jet_pt_min_gev", "jet_pt_max_gev", "jet_abs_eta_max",
                    "constituents_kept", "jets_per_event")
"""Selection settings that jet files merged into one training file must share."""


def merge_jet_files(paths: list[str | Path], out: str | Path) -> dict:
    """Concatenate jet files (for example one per type) into ``out``, for a generator of
    several jet types. The files must share the particle count and the jet selection; the
    merged file records each source's path, type, jets and generator. Returns
    {"written", "types"}."""
    from lhcgen.data.jet_hdf5 import read_jets
    from lhcgen.data.jets import JET_TYPES, JetCloudSample

    if len(paths) < 2:
        raise LhcgenError("merge-jets needs at least two jet files")
    samples = [read_jets(p) for p in paths]
    first = samples[0]
    for path, sample in zip(paths[1:], samples[1:], strict=True):
        if sample.n_particles != first.n_particles:
            raise LhcgenError(f"{path} has {sample.n_particles} particles per jet but "
                              f"{paths[0]} has {first.n_particles}")
        cuts, first_cuts = sample.attrs.get("cuts") or {}, first.attrs.get("cuts") or {}
        for key in MERGE_MUST_AGREE:
            if cuts.get(key) != first_cuts.get(key):
                raise LhcgenError(f"{path}: {key} = {cuts.get(key)!r} differs from "
                                  f"{paths[0]} ({first_cuts.get(key)!r}); merge jets of one "
                                  "selection")
    sources = [{"path": str(Path(p).resolve()), "jets": len(s),
                "types": "".join(JET_TYPES[t] for t in sorted(set(s.jet_type.tolist()))),
                "generator": s.attrs.get("generator", ""), "seed": s.attrs.get("seed")}
               for p, s in zip(paths, samples, strict=True)]
    cuts = {k: v for k, v in (first.attrs.get("cuts") or {}).items()
            if k in MERGE_MUST_AGREE or k in ("jet_algorithm", "jet_inputs",
                                               "constituent_order")}
    merged = JetCloudSample.concatenate(samples, {"kind": "merged", "sources": sources,
                                                  "cuts": cuts})
    write_jets(out, merged)
    types = "".join(JET_TYPES[t] for t in sorted(set(merged.jet_type.tolist())))
    return {"written": len(merged), "types": types}
