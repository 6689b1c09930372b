"""A shard task: a pure function of (settings, size, Pythia seed), what it returns, and how
it is named and counted; shared by the process pool (shards.py) and dask (dask_shards.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

ShardTask = tuple[Callable[..., tuple[Any, dict]], Any, int, int]
"""(shard function, settings, number to accept, Pythia seed); the function is called as
``fn(settings, n_accepted, seed, progress_sink)`` and returns (sample, stats)."""
Result = tuple[Any, dict]
Done = Callable[[int, Result], None]


def task_id(task: ShardTask) -> str:
    """What makes a shard: its function, size (or input range) and Pythia seed."""
    shard_fn, _, size, seed = task
    return f"{shard_fn.__module__}.{shard_fn.__name__}:{size!r}:{seed}"


def shard_progress(result: Result) -> int:
    """What a shard reported to the bar: generated events for LHE and HepMC shards (which
    count showered events), else accepted ones."""
    sample, stats = result
    return int(stats.get("progress_units", len(sample)))
