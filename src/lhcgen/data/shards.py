"""Z(->mumu)+jets samples of any size: independent shards, run in parallel, joined in order.

A run of ``n_events`` with master seed ``seed`` is cut into shards of ``shard_size``
accepted events (the last one may be smaller). Shard k has its own Pythia seed, derived
from (seed, k) alone, and always holds the first events that pass the selection in its
Pythia stream. Shards are concatenated in shard order, so the events depend on
(n_events, seed, shard_size, settings) and never on the number of worker processes.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from lhcgen.data.events import ZJETS_OBJECTS, EventSample
from lhcgen.data.pythia import pythia_seed, run_attributes_common
from lhcgen.data.shard_task import Done, Result, ShardTask, shard_progress, task_id
from lhcgen.data.zjets import CUT_FLOW_KEYS, ZJetsSettings, generate_shard
from lhcgen.errors import LhcgenError

_POLL_SECONDS = 0.1


class _WorkerSink:
    """A worker's progress sink: forwards to the parent's queue; stops if the parent died."""

    def __init__(self, progress_queue: Any) -> None:
        self.queue = progress_queue
        self.parent = os.getppid()

    def put(self, n: int) -> None:
        if os.getppid() != self.parent:  # parent killed without terminating the pool
            raise SystemExit(1)
        self.queue.put(n)


# The progress sink of a worker process, set once by the pool's initializer (a queue can
# only reach a pool worker by inheritance, not as a task argument).
_worker_sink: _WorkerSink | None = None


def shard_sizes(n_events: int, shard_size: int) -> list[int]:
    """Accepted events per shard: full shards, then the remainder."""
    full, rest = divmod(n_events, shard_size)
    return [shard_size] * full + ([rest] if rest else [])


def resumed_attributes(results: list[Result], store: Any) -> dict[str, int]:
    """``resumed_shards`` and ``resumed_accepted``: the shards of a rerun that ``run_shards``
    loaded from ``store`` instead of making them, and the accepted events (or jets) they
    hold. A rate of this run counts only the rest (``accepted_rate``)."""
    reused = store.reused if store is not None else []
    return {"resumed_shards": len(reused),
            "resumed_accepted": int(sum(len(results[k][0]) for k in reused))}


def accepted_rate(n_accepted: int, attrs: dict[str, Any], seconds: float) -> float:
    """Accepted events (or jets) per second made in this run: the ``n_accepted`` of the file
    less the ``resumed_accepted`` of ``attrs`` loaded from an interrupted run's shards,
    over ``seconds``; 0 when this run made none."""
    made = int(n_accepted) - int(attrs.get("resumed_accepted", 0))
    return round(made / seconds, 3) if made > 0 and seconds > 0 else 0.0


def _check_positive_int(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise LhcgenError(f"{name} must be a positive integer, got {value!r}")


def _init_worker(progress_queue: Any) -> None:
    """Pool initializer: Ctrl-C is the parent's job; keep C/C++ output off the terminal."""
    global _worker_sink
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # FastJet's banner and any Pythia chatter
    os.close(devnull)
    _worker_sink = _WorkerSink(progress_queue)


def _run_shard(task: ShardTask) -> tuple[Any, dict]:
    shard_fn, settings, n_accepted, seed = task
    return shard_fn(settings, n_accepted, seed, _worker_sink)


class _BarSink:
    """In-process stand-in for the progress queue: updates the bar directly."""

    def __init__(self, bar: tqdm) -> None:
        self.bar = bar

    def put(self, n: int) -> None:
        self.bar.update(n)


def run_shards(tasks: list[ShardTask], workers: int, bar: tqdm, store: Any = None,
               scheduler: str | None = None) -> list[Result]:
    """Run shard tasks and return their results in task order.

    Args:
        tasks: (shard function, settings, size, Pythia seed); the function must be a
            module-level function (spawn and dask pickle it by name).
        workers: processes (1 with no scheduler: this process).
        bar: progress bar; the shard function reports progress through a sink.
        store: a ShardStore: finished shards are loaded from it instead of being made
            again, and every shard is saved to it as soon as it is finished.
        scheduler: None for a multiprocessing pool; "local" for a dask.distributed local
            cluster of ``workers`` processes; otherwise the address of a running dask
            scheduler (e.g. one started by dask-jobqueue on SLURM or PBS).
    """
    results: list[Result | None] = [None] * len(tasks)
    if store is not None:
        for k, task in enumerate(tasks):
            results[k] = store.load(k, task_id(task))
            if results[k] is not None:
                bar.update(shard_progress(results[k]))
    pending = [k for k, result in enumerate(results) if result is None]

    def done(k: int, result: Result) -> None:
        if store is not None:
            store.save(k, result, task_id(tasks[k]))
        results[k] = result

    if pending and scheduler is not None:
        from lhcgen.data.dask_shards import run_on_dask

        run_on_dask([tasks[k] for k in pending], pending, workers, bar, scheduler, done)
    elif workers == 1 or len(pending) <= 1:
        sink = _BarSink(bar)
        for k in pending:
            shard_fn, settings, n, seed = tasks[k]
            done(k, shard_fn(settings, n, seed, sink))
    elif pending:
        _run_in_pool([tasks[k] for k in pending], pending, int(workers), bar, done)
    return results  # type: ignore[return-value]


def _run_in_pool(tasks: list[ShardTask], index: list[int], workers: int, bar: tqdm,
                 done: Done) -> None:
    context = multiprocessing.get_context("spawn")
    progress_queue = context.Queue()
    pool = context.Pool(min(workers, len(tasks)), initializer=_init_worker,
                        initargs=(progress_queue,))
    try:
        workers_at_start = _worker_pids(pool)
        pending = {k: pool.apply_async(_run_shard, (task,))
                   for k, task in zip(index, tasks, strict=True)}
        task_of = dict(zip(index, tasks, strict=True))
        while pending:
            try:
                bar.update(progress_queue.get(timeout=_POLL_SECONDS))
            except queue.Empty:
                pass
            for k, result in list(pending.items()):
                if not result.ready():
                    continue
                if not result.successful():
                    _raise_shard_error(k, task_of[k], result)
                done(k, result.get())
                del pending[k]
            if pending and _worker_pids(pool) != workers_at_start:
                raise LhcgenError("a worker process died (killed, out of memory or crashed); "
                                  "the finished shards are kept, rerun to make the rest")
        while True:  # progress messages still in flight
            try:
                bar.update(progress_queue.get_nowait())
            except queue.Empty:
                break
        pool.close()
    except BaseException:
        pool.terminate()
        raise
    finally:
        pool.join()
        progress_queue.close()
        progress_queue.join_thread()


def _worker_pids(pool: Any) -> set[int]:
    """Process ids of the pool's workers. The pool silently replaces a worker that dies
    (its task is then lost and would be waited for forever), so a changed set means a crash.
    Reads the private ``Pool._pool`` list; an empty set disables the check."""
    return {process.pid for process in getattr(pool, "_pool", [])}


def _raise_shard_error(k: int, task: ShardTask, result: Any) -> None:
    try:
        result.get()
    except LhcgenError as exc:
        raise LhcgenError(f"shard {k} (Pythia seed {task[-1]}) failed: {exc}") from exc
    except Exception as exc:
        raise LhcgenError(f"shard {k} (Pythia seed {task[-1]}) failed: "
                          f"{type(exc).__name__}: {exc}") from exc


def generate_zjets(n_events: int, seed: int, workers: int = 1, shard_size: int = 1000,
                   settings: ZJetsSettings | None = None, progress: bool = True,
                   parts: str | os.PathLike | None = None, scheduler: str | None = None
                   ) -> EventSample:
    """Generate ``n_events`` selected Z(->mumu)+jets events with Pythia 8 + FastJet.

    Args:
        n_events: number of accepted events to return.
        seed: master seed (non-negative integer); shard k uses ``pythia_seed(seed, k)``.
        workers: number of processes (1 runs in this process; more use a spawn pool).
        shard_size: accepted events per shard; with ``seed`` it defines the events.
        settings: physics settings (default ``ZJetsSettings()``).
        progress: show a tqdm bar over accepted events on stderr.
        parts: folder that keeps finished shards (``shard_store``); a rerun with the same
            options makes only the missing ones. None keeps nothing.
        scheduler: None (multiprocessing), "local" or a dask scheduler address.

    Returns:
        EventSample with momenta (n_events, 5, 4) in the order (mu1, mu2, j1, j2, j3),
        mask, multiplicity (number of jets, 1..3), weights and the run's attributes
        (docs/data-format.md).

    Raises:
        LhcgenError: for invalid arguments or when a shard fails.
        KeyboardInterrupt: after stopping all workers.
    """
    _check_positive_int("n_events", n_events)
    _check_positive_int("workers", workers)
    _check_positive_int("shard_size", shard_size)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise LhcgenError(f"seed must be a non-negative integer, got {seed!r}")
    settings = ZJetsSettings() if settings is None else settings

    sizes = shard_sizes(int(n_events), int(shard_size))
    seeds = [pythia_seed(int(seed), k) for k in range(len(sizes))]
    tasks: list[ShardTask] = [(generate_shard, settings, n, s)
                              for n, s in zip(sizes, seeds, strict=True)]
    store = None
    if parts is not None:
        from lhcgen.data.shard_store import ShardStore

        store = ShardStore(parts, {"process": "zjets", "settings": settings.as_dict(),
                                   "seed": int(seed), "shard_size": int(shard_size)})
    with tqdm(total=int(n_events), unit="ev", desc="Z(mumu)+jets", disable=not progress,
              dynamic_ncols=True) as bar:
        results = run_shards(tasks, int(workers), bar, store, scheduler)

    samples = [sample for sample, _ in results]
    stats = [shard_stats for _, shard_stats in results]
    attrs = run_attributes(settings, int(seed), int(shard_size), seeds, stats)
    attrs.update(resumed_attributes(results, store))
    return EventSample.concatenate(samples, attrs)


def _combine_cross_sections(stats: list[dict]) -> tuple[float, float]:
    """Mean of the shards' Pythia cross sections weighted by their generated events."""
    n = np.array([s["pythia_next_calls"] for s in stats], dtype=np.float64)
    sigma = np.array([s["sigma_gen_pb"] for s in stats])
    error = np.array([s["sigma_err_pb"] for s in stats])
    total = n.sum()
    return float((n * sigma).sum() / total), float(np.sqrt(((n * error) ** 2).sum()) / total)


def run_attributes(settings: ZJetsSettings, seed: int, shard_size: int, shard_seeds: list[int],
                   stats: list[dict]) -> dict[str, Any]:
    """File attributes of a Z+jets run from its settings and the shards' statistics."""
    def total(key: str) -> int | float:
        return sum(s[key] for s in stats)

    n_generated = int(total("n_generated"))
    n_accepted = int(total("n_accepted"))
    sigma, sigma_error = _combine_cross_sections(stats)
    generated_weight = total("sum_weights_generated")
    weighted_acceptance = (total("sum_weights_accepted") / generated_weight if generated_weight
                           else float("nan"))  # NaN: weights that cancel, no acceptance
    acceptance = n_accepted / n_generated
    acceptance_error = float(np.sqrt(acceptance * (1.0 - acceptance) / n_generated))
    return {
        "process": "zjets",
        "zjets_settings": settings.as_dict(),
        **run_attributes_common(settings, stats, seed, shard_size, shard_seeds),
        "n_generated": n_generated,
        "n_accepted": n_accepted,
        "acceptance": acceptance,
        "acceptance_error": acceptance_error,
        "cut_flow": {
            "generated": n_generated,
            **{key: int(total(key)) for key in CUT_FLOW_KEYS},
            "accepted": n_accepted,
            "accepted_with_more_jets_than_stored": int(
                total("accepted_with_more_jets_than_stored")),
            "jets_removed_by_overlap": int(total("jets_removed_by_overlap")),
            "dressing_photons": int(total("dressing_photons")),
        },
        "pythia_errors": int(total("pythia_errors")),
        "cross_section_pb": sigma,
        "cross_section_error_pb": sigma_error,
        "accepted_cross_section_pb": sigma * weighted_acceptance,
        "accepted_cross_section_error_pb": float(np.hypot(sigma_error * weighted_acceptance,
                                                          sigma * acceptance_error)),
        "momentum_units": "GeV",
        "momentum_components": ["E", "px", "py", "pz"],
        "object_names": list(ZJETS_OBJECTS),
        "n_fixed_objects": 2,
    }
