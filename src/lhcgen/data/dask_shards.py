"""Shards as ``dask.distributed`` tasks: a local cluster, or a scheduler already running on a
cluster (for example one that ``dask-jobqueue`` started on SLURM or PBS; docs/cluster.md).

A shard is the same pure function of (settings, size, Pythia seed) as in the
multiprocessing path, so the same ``--seed`` gives the same events on any scheduler.
Progress comes from finished shards (dask workers cannot reach the local progress bar).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

from lhcgen.data.shard_task import shard_progress
from lhcgen.errors import LhcgenError

CONNECT_TIMEOUT = "10s"
WORKER_DEATH_TIMEOUT = "20s"
"""A local worker whose scheduler vanished (the parent killed) stops after this long."""


class _Quiet:
    """The progress sink inside a dask worker: progress is counted per finished shard."""

    def put(self, n: int) -> None:
        pass


def run_dask_shard(task: tuple) -> tuple[Any, dict]:
    """One shard on a dask worker (module-level, so dask pickles it by name)."""
    from lhcgen.io import stdout_to_devnull

    shard_fn, settings, size, seed = task
    with stdout_to_devnull():  # FastJet's banner and any Pythia chatter
        return shard_fn(settings, size, seed, _Quiet())


@contextlib.contextmanager
def dask_client(scheduler: str, workers: int) -> Iterator[Any]:
    """A client for a fresh local cluster ("local") or for a running scheduler's address."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        raise LhcgenError(f"--scheduler needs dask.distributed ({exc})") from None
    for name in ("distributed", "distributed.core", "distributed.worker",
                 "distributed.nanny", "distributed.scheduler", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    if scheduler == "local":
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                               dashboard_address=None, silence_logs=logging.ERROR,
                               death_timeout=WORKER_DEATH_TIMEOUT)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise LhcgenError(f"cannot reach the dask scheduler at {scheduler!r} "
                          f"({exc.__class__.__name__}); start one (dask scheduler, or "
                          "dask-jobqueue) or use --scheduler local") from None
    try:
        yield client
    finally:
        client.close()


def run_on_dask(tasks: list[tuple], index: list[int], workers: int, bar: Any,
                scheduler: str, done: Callable[[int, tuple[Any, dict]], None]) -> None:
    """Submit every task, and hand each result to ``done(k, result)`` as it finishes."""
    from dask.distributed import as_completed

    with dask_client(scheduler, workers) as client:
        futures = {client.submit(run_dask_shard, task, pure=False, key=f"lhcgen-shard-{k}"): k
                   for k, task in zip(index, tasks, strict=True)}
        for future in as_completed(futures):
            k = futures[future]
            try:
                result = future.result()
            except LhcgenError as exc:
                raise LhcgenError(f"shard {k} (Pythia seed {tasks[index.index(k)][-1]}) "
                                  f"failed: {exc}") from None
            except Exception as exc:  # noqa: BLE001 - a worker's error, reported in one line
                raise LhcgenError(f"shard {k} failed on the dask cluster: "
                                  f"{exc.__class__.__name__}: {exc}") from None
            done(k, result)
            bar.update(shard_progress(result))
