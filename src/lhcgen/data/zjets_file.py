"""`lhcgen data zjets` as a library function: Z+jets events (Pythia's own, or a user's LHE
file showered) written atomically, with the finished shards kept until the file exists."""

from __future__ import annotations

import time
from pathlib import Path

from lhcgen.data.hdf5 import read_events, write_events
from lhcgen.data.shard_store import keep_parts_only_if_useful, parts_folder, remove_parts
from lhcgen.data.shards import accepted_rate, generate_zjets
from lhcgen.data.zjets import ZJetsSettings
from lhcgen.errors import LhcgenError

SHARD_SIZE = 1000
"""Accepted events per shard of Pythia's own process (part of the seed scheme)."""
LHE_SHARD_SIZE = 2000
"""LHE events per shard when showering a file."""


def make_zjets_file(n_events: int | None, seed: int, workers: int, out: str | Path,
                    shard_size: int | None = None, progress: bool = True,
                    scheduler: str | None = None, lhe: str | Path | None = None,
                    pthat_min: float | None = None, hard_process: str | None = None) -> dict:
    """Generate Z+jets events (or shower a user's LHE file) into ``out``; returns the file
    attributes. Finished shards are kept in ``OUT.parts`` until the file is written, so a
    rerun after a crash makes only the missing ones."""
    parts = parts_folder(out)
    with keep_parts_only_if_useful(parts):
        return _make(n_events, seed, workers, shard_size, out, progress, scheduler, lhe,
                     parts, pthat_min, hard_process)


def _make(n_events, seed, workers, shard_size, out, progress, scheduler, lhe, parts,
          pthat_min, hard_process):
    if (pthat_min is not None or hard_process is not None) and lhe is not None:
        raise LhcgenError("--pthat-min and --hard-process set Pythia's own process; with "
                          "--lhe the LHE file's generator chose it")
    if pthat_min is not None and hard_process != "zjet":
        raise LhcgenError("--pthat-min applies to --hard-process zjet only; the default, "
                          "inclusive Z, has no p-hat cut")
    options = {k: v for k, v in (("pthat_min", pthat_min), ("hard_process", hard_process))
               if v is not None}
    settings = ZJetsSettings(**options)

    started = time.perf_counter()
    if lhe is not None:
        from lhcgen.data.lhe import shower_lhe

        sample = shower_lhe(lhe, seed, workers=workers, shard_size=shard_size or LHE_SHARD_SIZE,
                            max_events=n_events, progress=progress, scratch=parts.parent,
                            parts=parts, scheduler=scheduler)
    else:
        if n_events is None:
            raise LhcgenError("--events is required (accepted events to write), unless "
                              "--lhe gives the events to shower")
        sample = generate_zjets(n_events, seed, workers=workers,
                                shard_size=shard_size or SHARD_SIZE, settings=settings,
                                progress=progress, parts=parts, scheduler=scheduler)
    seconds = time.perf_counter() - started
    sample.attrs.update(generation_seconds=round(seconds, 3), workers=workers,
                        scheduler=scheduler or "multiprocessing",
                        accepted_events_per_second=accepted_rate(len(sample), sample.attrs,
                                                                 seconds))
    write_events(out, sample)
    remove_parts(parts)
    return sample.attrs


def is_default_zjets_file(path: str | Path, events: int, seed: int) -> bool:
    """``path`` holds ``events`` events of seed ``seed`` made with the current default
    settings (a file of an older event definition is not)."""
    if not Path(path).is_file():
        return False
    try:
        attrs = read_events(path).attrs
    except LhcgenError:
        return False
    return (attrs.get("n_events") == events and attrs.get("seed") == seed
            and attrs.get("zjets_settings") == ZJetsSettings().as_dict())
