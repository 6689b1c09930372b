"""JetNet-style jet samples of any size: independent shards, run in parallel, joined in order.

Same seed scheme as Z+jets (lhcgen.data.shards): shard k of a run with master seed ``seed``
uses Pythia seed ``pythia_seed(seed, k)`` and keeps the first ``shard_size`` accepted jets
of its stream, so the jets depend on (n_jets, seed, shard_size, settings) and never on the
number of worker processes.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lhcgen.data.jets import (
    JET_FEATURES,
    JET_TYPES,
    PARTICLE_FEATURES,
    JetCloudSample,
    JetSettings,
    generate_jet_shard,
)
from lhcgen.data.pythia import pythia_seed, run_attributes_common
from lhcgen.data.shard_task import ShardTask
from lhcgen.data.shards import (
    _check_positive_int,
    accepted_rate,
    resumed_attributes,
    run_shards,
    shard_sizes,
)
from lhcgen.errors import LhcgenError


def generate_jets(n_jets: int, seed: int, settings: JetSettings, workers: int = 1,
                  shard_size: int = 500, progress: bool = True,
                  parts: str | os.PathLike | None = None, scheduler: str | None = None
                  ) -> JetCloudSample:
    """Generate ``n_jets`` accepted jets of ``settings.jet_type`` with Pythia 8 + FastJet.

    Args:
        n_jets: number of accepted jets to return.
        seed: master seed (non-negative integer); shard k uses ``pythia_seed(seed, k)``.
        settings: jet type, particle count, process and cuts.
        workers: number of processes (1 runs in this process; more use a spawn pool).
        shard_size: accepted jets per shard; with ``seed`` it defines the jets.
        progress: show a tqdm bar over accepted jets on stderr.
        parts: folder that keeps finished shards (a rerun makes only the missing ones).
        scheduler: None (multiprocessing), "local" or a dask scheduler address.

    Returns:
        JetCloudSample with the run's attributes, including ``generation_seconds`` and
        ``accepted_jets_per_second`` (docs/data-format.md).
    """
    _check_positive_int("n_jets", n_jets)
    _check_positive_int("workers", workers)
    _check_positive_int("shard_size", shard_size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LhcgenError(f"seed must be a non-negative integer, got {seed!r}")
    sizes = shard_sizes(int(n_jets), int(shard_size))
    seeds = [pythia_seed(int(seed), k) for k in range(len(sizes))]
    tasks: list[ShardTask] = [(generate_jet_shard, settings, n, s)
                              for n, s in zip(sizes, seeds, strict=True)]
    store = None
    if parts is not None:
        from lhcgen.data.shard_store import ShardStore

        store = ShardStore(parts, {"process": "jets", "settings": settings.as_dict(),
                                   "seed": int(seed), "shard_size": int(shard_size)})
    started = time.perf_counter()
    with tqdm(total=int(n_jets), unit="jet", desc=f"{settings.jet_type} jets",
              disable=not progress, dynamic_ncols=True) as bar:
        results = run_shards(tasks, int(workers), bar, store, scheduler)
    seconds = time.perf_counter() - started
    stats = [s for _, s in results]
    attrs = jet_run_attributes(settings, int(seed), int(shard_size), seeds, stats)
    attrs.update(resumed_attributes(results, store))
    attrs.update(generation_seconds=round(seconds, 3), workers=int(workers),
                 accepted_jets_per_second=accepted_rate(n_jets, attrs, seconds))
    return JetCloudSample.concatenate([sample for sample, _ in results], attrs)


def jet_run_attributes(settings: JetSettings, seed: int, shard_size: int,
                       shard_seeds: list[int], stats: list[dict]) -> dict[str, Any]:
    """File attributes of a jet run from its settings and the shards' statistics."""
    def total(key: str) -> Any:
        return sum(s[key] for s in stats)

    n = np.array([s["pythia_next_calls"] for s in stats], dtype=np.float64)
    sigma = float((n * np.array([s["sigma_gen_pb"] for s in stats])).sum() / n.sum())
    return {
        "process": "jets",
        "type": settings.jet_type,
        "particles": settings.n_particles,
        "jet_type_names": list(JET_TYPES),
        "particle_features": list(PARTICLE_FEATURES),
        "jet_features": list(JET_FEATURES),
        "jet_settings": settings.as_dict(),
        **run_attributes_common(settings, stats, seed, shard_size, shard_seeds),
        "n_generated": int(total("n_generated")),
        "n_accepted": int(total("n_accepted")),
        "cut_flow": {"generated_events": int(total("n_generated")),
                     "leading_jets": int(total("n_candidate_jets")),
                     "rejected_jet_pt": int(total("rejected_jet_pt")),
                     "rejected_jet_eta": int(total("rejected_jet_eta")),
                     "accepted_jets": int(total("n_accepted"))},
        "pythia_errors": int(total("pythia_errors")),
        "cross_section_pb": sigma,
    }
