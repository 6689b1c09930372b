"""A silent, seeded Pythia 8 instance, and the batch loop of every Pythia shard."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

import awkward as ak
import fastjet
import numpy as np
import pythia8mc

from lhcgen.errors import LhcgenError

PYTHIA_SEED_MAX = 900_000_000
"""Pythia accepts Random:seed in 1..900000000."""

NEUTRINO_IDS = (12, 14, 16)
"""Neutrinos (|id|): invisible, never clustered."""

MONASH_TUNE = "Tune:pp = 14"
"""Monash 2013 (Pythia's default tune) with its PDF, NNPDF2.3 QCD+QED LO: set explicitly."""

RUN_SETTINGS = ("Random:setSeed = on", "Random:seed = <shard seed>", "Next:numberCount = 0",
                "Print:quiet = on")
"""The setting strings lhcgen adds to every process's own (the seed differs per shard)."""


def start_pythia(settings: list[str], seed: int, what: str) -> pythia8mc.Pythia:
    """An initialised Pythia for the process ``what`` with ``seed`` in 1..900000000.

    Every rejected setting and a failed initialisation are one-line LhcgenErrors.
    """
    if not 1 <= seed <= PYTHIA_SEED_MAX:
        raise LhcgenError(f"Pythia seed must be in 1..{PYTHIA_SEED_MAX}, got {seed}")
    pythia = pythia8mc.Pythia("", False)
    run = [line.replace("<shard seed>", str(seed)) for line in RUN_SETTINGS]
    lines = [*settings, *run]
    for line in lines:
        if not pythia.readString(line):
            raise LhcgenError(f"Pythia rejected the setting '{line}'")
    if not pythia.init():
        raise LhcgenError(f"Pythia initialisation failed for the {what} settings")
    return pythia


MB_TO_PB = 1.0e9
"""Pythia quotes cross sections in mb; the event files use pb."""


def run_facts(pythia: pythia8mc.Pythia) -> dict:
    """What a finished Pythia run reports: failed and all next() calls, the generated cross
    section in pb with its error, and the tune and PDF set actually used."""
    info = pythia.infoPython()
    return {"pythia_errors": int(info.getCounter(3) - info.getCounter(4)),
            "pythia_next_calls": int(info.getCounter(3)),
            "sigma_gen_pb": float(info.sigmaGen()) * MB_TO_PB,
            "sigma_err_pb": float(info.sigmaErr()) * MB_TO_PB,
            "tune_pp": int(pythia.settings.mode("Tune:pp")),
            "pdf_pset": str(pythia.settings.word("PDF:pSet"))}


class ProgressSink(Protocol):
    """Anything with ``put`` (a multiprocessing queue, or a local callback wrapper)."""

    def put(self, item: Any) -> None: ...


class BatchSelection(Protocol):
    """What a process's selection of one ``nextBatch`` array tells the shard loop."""

    @property
    def n_accepted(self) -> int:
        """Accepted events (or jets) of the batch."""
        ...

    def keep_first(self, n: int) -> int:
        """Keep only the first ``n`` accepted; return the generated events up to and
        including the one that gave the last kept (those after it count for nothing)."""
        ...


Selection = TypeVar("Selection", bound=BatchSelection)


@dataclass(frozen=True)
class BatchSizing:
    """How many events to ask ``nextBatch`` for when ``missing`` accepted ones are wanted.

    The accepted-per-generated rate r is ``prior`` before anything was generated, then the
    rate seen so far but at least ``min_rate``; a batch is ceil(1.2 missing / r) + ``spare``
    events, at most ``batch_size``. The size only sets how far ahead Pythia runs: the kept
    events are the first accepted ones of the seed's stream, whatever the batches were.
    """

    prior: float
    min_rate: float
    spare: int

    def size(self, batch_size: int, missing: int, n_generated: int, n_accepted: int) -> int:
        rate = max(n_accepted / n_generated, self.min_rate) if n_generated else self.prior
        return min(batch_size, math.ceil(1.2 * missing / rate) + self.spare)


def accepted_batches(pythia: pythia8mc.Pythia, n_wanted: int,
                     select: Callable[[ak.Array], Selection], *, batch_size: int,
                     sizing: BatchSizing, seed: int, give_up_after: int, passed: str,
                     cuts: str, progress_queue: ProgressSink | None = None
                     ) -> Iterator[tuple[ak.Array, Selection, int]]:
    """The batch loop of a Pythia shard: ``nextBatch`` until ``n_wanted`` are accepted.

    Every batch goes through ``select``; the batch that completes the shard keeps only the
    first accepted it needs (``keep_first``), so the shard holds the first ``n_wanted``
    accepted of the seed's event stream, whatever the batch sizes.

    Parameters
    ----------
    pythia : an initialised Pythia (``start_pythia``).
    n_wanted : accepted events (or jets) the shard needs, > 0.
    select : the process's selection of one ``nextBatch`` array.
    batch_size, sizing : the largest batch, and how a batch is sized (:class:`BatchSizing`).
    seed : the Pythia seed, for the error messages.
    give_up_after : generated events without a single accepted one after which the shard
        stops with an LhcgenError: "none of N generated events ``passed``", naming
        ``cuts`` (the settings class to check).
    progress_queue : receives the number of newly accepted after every batch with some.

    Yields
    ------
    (batch, selected, n_used) per batch: the ``nextBatch`` array, its selection (already cut
    by ``keep_first`` for the last batch) and the generated events of the batch that count
    (all of them but for the last batch), for the caller's bookkeeping.
    """
    n_done = n_seen = 0
    while n_done < n_wanted:
        missing = n_wanted - n_done
        size = sizing.size(batch_size, missing, n_seen, n_done)
        batch = pythia.nextBatch(size, "skip")
        if len(batch) == 0:
            raise LhcgenError(f"Pythia failed to generate any of {size} events "
                              f"(seed {seed}); check the Pythia settings")
        selected = select(batch)
        n_pass = selected.n_accepted
        n_used = len(batch)
        if n_pass >= missing:  # keep the first `missing`; ignore events generated after them
            n_used = selected.keep_first(missing)
            n_pass = missing
        yield batch, selected, n_used
        n_done += n_pass
        n_seen += n_used
        if n_done == 0 and n_seen >= give_up_after:
            raise LhcgenError(f"none of {n_seen} generated events {passed} "
                              f"(seed {seed}); check the cuts in {cuts}")
        if progress_queue is not None and n_pass:
            progress_queue.put(n_pass)


def pythia_seed(seed: int, shard: int) -> int:
    """Pythia seed in 1..900000000 of shard ``shard`` of a run with master seed ``seed``.

    Uses numpy's SeedSequence with spawn key (shard,), i.e. the shard-th child of
    ``SeedSequence(seed).spawn``, so shard seeds do not depend on the number of shards.
    """
    sequence = np.random.SeedSequence(seed, spawn_key=(shard,))
    state = int(sequence.generate_state(1, dtype=np.uint64)[0])
    return state % PYTHIA_SEED_MAX + 1


def versions() -> dict[str, str]:
    """Versions of the generator packages, read from the packages themselves."""
    from importlib.metadata import version

    fastjet_words = fastjet.fastjet_version_string().split()
    return {"pythia8mc": version("pythia8mc"), "fastjet_python": version("fastjet"),
            "fastjet": fastjet_words[-1]}


def generator_string() -> str:
    """For example "Pythia 8.317 + FastJet 3.5.2"."""
    v = versions()
    pythia_short = ".".join(v["pythia8mc"].split(".")[:2])
    return f"Pythia {pythia_short} + FastJet {v['fastjet']}"


def run_attributes_common(settings: Any, stats: list[dict], seed: int, shard_size: int,
                          shard_seeds: list[int]) -> dict:
    """The file attributes every Pythia run records: energy, cuts, generator and versions,
    every setting string, tune and PDF read back from Pythia, and the seed scheme.
    ``settings`` is the process's settings dataclass (``sqrt_s``, ``cuts()``,
    ``pythia_settings()``); ``stats`` the shards' statistics."""
    return {"sqrt_s": settings.sqrt_s, "cuts": settings.cuts(),
            **generator_attributes(settings.pythia_settings(), stats, seed, shard_size,
                                   shard_seeds)}


def generator_attributes(pythia_settings: list[str], stats: list[dict], seed: int,
                         shard_size: int, shard_seeds: list[int]) -> dict:
    """The generator, its versions and settings, the tune and PDF read back from Pythia
    (``stats`` of the shards), and the seed scheme of a run."""
    return {
        "generator": generator_string(),
        "generator_versions": versions(),
        "settings": list(pythia_settings),
        "pythia_run_settings": list(RUN_SETTINGS),
        "pythia_tune": stats[0]["tune_pp"],
        "pdf_set": stats[0]["pdf_pset"],
        "seed": seed,
        "shard_size": shard_size,
        "shard_seeds": list(shard_seeds),
    }
