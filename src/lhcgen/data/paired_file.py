"""`lhcgen data zjets --detector` and `lhcgen data ttbar`: paired particle/detector events of
any size, made in independent shards (in parallel), written atomically.

As for every Pythia run of lhcgen, shard k has its own seed derived from (seed, k), holds the
first events of its stream that pass either level, and finished shards are kept in
``OUT.parts/`` until the file exists, so a rerun after a crash makes only the missing ones.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lhcgen.data.paired import PairedSample, write_paired
from lhcgen.data.paired_events import STAGE_KEYS, PairedSettings, generate_paired_shard
from lhcgen.data.pythia import generator_attributes, pythia_seed
from lhcgen.data.shard_store import (
    ShardStore,
    keep_parts_only_if_useful,
    parts_folder,
    remove_parts,
)
from lhcgen.data.shard_task import ShardTask
from lhcgen.data.shards import accepted_rate, resumed_attributes, run_shards, shard_sizes
from lhcgen.errors import LhcgenError
from lhcgen.physics.detector import card_as_dict, load_card

SHARD_SIZE = 500
"""Kept (paired) events per shard: part of the seed scheme."""


def make_paired_file(process: str, n_events: int, seed: int, workers: int, out: str | Path,
                     card: str | Path | None = None, lepton: str = "emu",
                     shard_size: int = SHARD_SIZE, progress: bool = True,
                     scheduler: str | None = None) -> dict[str, Any]:
    """Generate ``n_events`` paired events of ``process`` ("zjets" or "ttbar") through the
    detector ``card`` (None: the default ATLAS-like card) into ``out``; returns the file
    attributes."""
    for name, value in (("events", n_events), ("workers", workers),
                        ("shard size", shard_size)):
        if value <= 0:
            raise LhcgenError(f"{name} must be positive, got {value}")
    settings = PairedSettings(process=process, card=load_card(card), lepton=lepton)
    parts = parts_folder(out)
    with keep_parts_only_if_useful(parts):
        started = time.perf_counter()
        sizes = shard_sizes(int(n_events), int(shard_size))
        seeds = [pythia_seed(int(seed), k) for k in range(len(sizes))]
        tasks: list[ShardTask] = [(generate_paired_shard, settings, n, s)
                                  for n, s in zip(sizes, seeds, strict=True)]
        store = ShardStore(parts, {"process": f"{process}_paired",
                                   "settings": settings.as_dict(), "seed": int(seed),
                                   "shard_size": int(shard_size)})
        label = {"zjets": "Z(mumu)+jets paired", "ttbar": "ttbar paired"}[process]
        with tqdm(total=int(n_events), unit="ev", desc=label, disable=not progress,
                  dynamic_ncols=True) as bar:
            results = run_shards(tasks, int(workers), bar, store, scheduler)
        seconds = time.perf_counter() - started
        stats = [s for _, s in results]
        attrs = paired_attributes(settings, int(seed), int(shard_size), seeds, stats,
                                  card)
        attrs.update(resumed_attributes(results, store))
        attrs.update(generation_seconds=round(seconds, 3), workers=int(workers),
                     scheduler=scheduler or "multiprocessing",
                     accepted_events_per_second=accepted_rate(n_events, attrs, seconds))
        sample = PairedSample.concatenate([s for s, _ in results], attrs)
        write_paired(out, sample)
        remove_parts(parts)
    return attrs


def paired_attributes(settings: PairedSettings, seed: int, shard_size: int,
                      shard_seeds: list[int], stats: list[dict],
                      card_path: str | Path | None) -> dict[str, Any]:
    """What a paired file records: process, both selections, the detector card, the cut
    flow, the cross section, the time per step, generator versions and the seed scheme."""
    def total(key: str) -> float:
        return sum(s[key] for s in stats)

    n = np.array([s["pythia_next_calls"] for s in stats], dtype=np.float64)
    sigma = float((n * [s["sigma_gen_pb"] for s in stats]).sum() / n.sum())
    sigma_error = float(np.sqrt(((n * [s["sigma_err_pb"] for s in stats]) ** 2).sum())
                        / n.sum())
    n_generated = int(total("n_generated"))
    seconds = {key: round(sum(s["seconds"][key] for s in stats), 3)
               for key in stats[0]["seconds"]}
    selection = settings.selection()
    return {
        "process": f"{settings.process}_paired",
        "paired_settings": {k: v for k, v in settings.as_dict().items() if k != "card"},
        "detector": "lhcgen parametric detector (no pile-up)",
        "detector_card": card_as_dict(settings.card),
        "detector_card_file": "default (atlas_like.yaml)" if card_path is None
        else str(card_path),
        "cuts_particle": selection.pop("particle"),
        "cuts_detector": selection.pop("detector"),
        "selection": selection,
        "sqrt_s": settings.sqrt_s,
        **generator_attributes(settings.pythia_settings(), stats, seed, shard_size,
                               shard_seeds),
        "n_generated": n_generated,
        "cut_flow": {"generated": n_generated,
                     **{key: int(total(key)) for key in STAGE_KEYS}},
        "pythia_errors": int(total("pythia_errors")),
        "cross_section_pb": sigma,
        "cross_section_error_pb": sigma_error,
        "sum_weights_generated": float(total("sum_weights_generated")),
        "sum_weights_kept": float(total("sum_weights_accepted")),
        "worker_seconds": seconds,
        "momentum_units": "GeV",
        "momentum_components": ["E", "px", "py", "pz"],
    }
