"""A user's Les Houches Event file (MadGraph or any LHEF) showered with Pythia 8 into Z+jets.

The usual way physicists make Z+jets: the hard process at (N)LO from a matrix-element
generator, written as LHE, then showered and hadronised by Pythia. lhcgen reads the file's
header, cross section and event count with ``pylhe``, lets Pythia read the events
(``Beams:frameType = 4``), and applies exactly the selection of the built-in sample
(``select_batch``). Event weights, negative ones included, go into ``weights``.

Shard k showers LHE events k*S .. (k+1)*S - 1 (``Beams:nSkipLHEFatInit``), so the output
depends on the file, the seed and the shard size, not on the number of workers.
"""

from __future__ import annotations

import gzip
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pylhe

from lhcgen.data.events import EventSample
from lhcgen.data.pythia import ProgressSink, run_facts, start_pythia
from lhcgen.data.zjets import (
    SelectedBatch,
    ZJetsSettings,
    assemble,
    select_batch,
)
from lhcgen.errors import LhcgenError
from lhcgen.physics.fastjet_setup import silence_fastjet_banner

CHECKED_EVENTS = 20
"""Events read with pylhe to check the process before any showering."""


@dataclass(frozen=True)
class LheFacts:
    """What pylhe reads from the file before showering."""

    path: str
    n_events: int
    cross_section_pb: float
    cross_section_error_pb: float
    weighting_strategy: int
    generators: list[str]
    has_negative_weights: bool


def read_lhe_facts(path: str | Path) -> LheFacts:
    """Event count, cross section and a process check, or one LhcgenError naming the problem.

    Refused: a missing file, a file pylhe cannot parse or that ends before
    ``</LesHouchesEvents>`` (truncated), no events, and events that hold neither a Z boson
    nor a muon pair (not Z(->mumu)+jets).
    """
    path = Path(path)
    if not path.is_file():
        raise LhcgenError(f"{path}: no such LHE file")
    try:
        with warnings.catch_warnings():  # pylhe warns, then stops, at a parse error
            warnings.simplefilter("ignore")
            lhe = pylhe.LHEFile.fromfile(str(path))
            init = lhe.init
            first = []
            events = iter(lhe.events)
            try:
                for event in events:
                    first.append(event)
                    if len(first) == CHECKED_EVENTS:
                        break
            finally:
                close = getattr(events, "close", None)
                if close is not None:
                    close()  # a generator holds the open file
            n_events = pylhe.LHEFile.count_events(str(path))
    except Exception as exc:  # noqa: BLE001 - pylhe raises XML, OS and value errors
        raise LhcgenError(f"{path}: not a readable LHE file ({exc.__class__.__name__}: "
                          f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    if n_events < 0:
        raise LhcgenError(f"{path}: truncated or malformed LHE file (no closing "
                          "</LesHouchesEvents>); regenerate or re-copy it")
    if n_events == 0 or not first:
        raise LhcgenError(f"{path}: the LHE file holds no events")
    for k, event in enumerate(first):
        ids = [int(p.id) for p in event.particles]
        muon_pair = 13 in ids and -13 in ids
        undecayed_z = 23 in ids and not {11, 15} & {abs(i) for i in ids}
        if not (muon_pair or undecayed_z):
            raise LhcgenError(f"{path}: event {k} holds neither a mu+ mu- pair nor an "
                              "undecayed Z boson; `lhcgen data zjets --lhe` needs "
                              "Z(->mumu)+jets events")
    processes = init.procInfo
    sigma = float(sum(p.xSection for p in processes))
    error = float(np.sqrt(sum(p.error**2 for p in processes)))
    weights = [float(e.eventinfo.weight) for e in first]
    return LheFacts(str(path), int(n_events), sigma, error,
                    int(init.initInfo.weightingStrategy),
                    [f"{g.name} {g.version}".strip() for g in init.generators],
                    any(w < 0 for w in weights))


def plain_lhe(path: Path, scratch: Path) -> Path:
    """The file Pythia reads: ``path`` itself, or a decompressed copy of a .gz in ``scratch``."""
    if path.suffix != ".gz":
        return path
    target = scratch / path.with_suffix("").name
    try:
        with gzip.open(path, "rb") as source, open(target, "wb") as out:
            shutil.copyfileobj(source, out)
    except (OSError, EOFError) as exc:
        raise LhcgenError(f"{path}: cannot decompress ({exc})") from None
    return target


def lhe_pythia_settings(settings: ZJetsSettings, lhe_path: Path, skip: int) -> list[str]:
    """Shower settings for events read from an LHE file (no hard process of Pythia's own)."""
    return [settings.tune, "Beams:frameType = 4", f"Beams:LHEF = {lhe_path}",
            f"Beams:nSkipLHEFatInit = {skip}", "23:onMode = off", "23:onIfAny = 13"]


@dataclass(frozen=True)
class LheShard:
    """LHE events ``first .. first + count - 1`` of the (plain) file ``path``."""

    path: str
    first: int
    count: int


def shower_lhe_shard(settings: ZJetsSettings, shard: LheShard, seed: int,
                     progress_queue: ProgressSink | None = None
                     ) -> tuple[EventSample, dict[str, Any]]:
    """Shower and select one range of LHE events. The shard task signature of shards.py:
    the second argument is the shard (not a number of accepted events)."""
    silence_fastjet_banner()
    pythia = start_pythia(lhe_pythia_settings(settings, Path(shard.path), shard.first), seed,
                          "LHE showering")
    parts: list[SelectedBatch] = []
    stages = []
    done = 0
    while done < shard.count:
        size = min(settings.batch_size, shard.count - done)
        batch = pythia.nextBatch(size, "skip")
        if len(batch) == 0:
            break  # end of file
        selected = select_batch(batch, settings)
        parts.append(selected)
        stages.append(selected.stage)
        done += len(batch)
        if progress_queue is not None:
            progress_queue.put(len(batch))
        if len(batch) < size:
            break
    stage = np.concatenate(stages) if stages else np.zeros(0, np.int64)
    sample, stats = assemble(parts, stage, settings)
    del sample.event_info["pthat_gev"]  # the LHE file's generator made the hard process
    gen_weights = (np.concatenate([s.generated_weights for s in parts]) if parts
                   else np.zeros(0))
    stats.update(seed=seed, progress_units=int(len(stage)),
                 sum_weights_generated=float(gen_weights.sum()), **run_facts(pythia))
    return sample, stats


def lhe_shards(path: Path, n_events: int, shard_size: int) -> list[LheShard]:
    """Consecutive ranges of ``shard_size`` LHE events covering the first ``n_events``."""
    return [LheShard(str(path), first, min(shard_size, n_events - first))
            for first in range(0, n_events, shard_size)]


def shower_lhe(path: str | Path, seed: int, workers: int = 1, shard_size: int = 2000,
               max_events: int | None = None, settings: ZJetsSettings | None = None,
               progress: bool = True, scratch: str | Path | None = None,
               parts: str | Path | None = None, scheduler: str | None = None
               ) -> EventSample:
    """Shower the events of an LHE file with Pythia and keep those passing the Z+jets
    selection; returns them with the run's attributes (the LHE facts included).

    Args:
        path: .lhe or .lhe.gz file.
        seed: master seed; shard k uses ``pythia_seed(seed, k)``.
        shard_size: LHE events per shard.
        max_events: shower only the first this-many LHE events (default: all).
        scratch: folder for the decompressed copy of a .gz file (default: next to ``path``).
    """
    import tempfile

    from tqdm.auto import tqdm

    from lhcgen.data.pythia import pythia_seed
    from lhcgen.data.shards import resumed_attributes, run_attributes, run_shards

    path = Path(path)
    facts = read_lhe_facts(path)
    settings = settings or ZJetsSettings()  # the selection; hard-process fields unused
    n_events = facts.n_events if max_events is None else min(max_events, facts.n_events)
    with tempfile.TemporaryDirectory(dir=scratch or path.parent) as tmp:
        plain = plain_lhe(path, Path(tmp)).resolve()
        shards = lhe_shards(plain, n_events, shard_size)
        seeds = [pythia_seed(int(seed), k) for k in range(len(shards))]
        tasks = [(shower_lhe_shard, settings, shard, s)
                 for shard, s in zip(shards, seeds, strict=True)]
        store = None
        if parts is not None:
            from lhcgen.data.shard_store import ShardStore

            store = ShardStore(parts, {"process": "zjets", "lhe_file": str(path.resolve()),
                                       "settings": settings.as_dict(), "seed": int(seed),
                                       "shard_size": int(shard_size)})
        with tqdm(total=n_events, unit="LHE ev", desc="showering LHE", disable=not progress,
                  dynamic_ncols=True) as bar:
            results = run_shards(tasks, workers, bar, store, scheduler)
    stats = [s for _, s in results]
    n_accepted = sum(s["n_accepted"] for s in stats)
    if n_accepted == 0:
        raise LhcgenError(f"{path}: none of the {n_events} showered events passed the "
                          "Z(->mumu)+jets selection; is it a Z(->mumu)+jets LHE file?")
    attrs = run_attributes(settings, int(seed), int(shard_size), seeds, stats)
    attrs["settings"] = lhe_pythia_settings(settings, Path("<LHE file>"), 0)
    attrs["zjets_settings"] = {k: v for k, v in settings.as_dict().items()
                               if k not in ("hard_process", "pthat_min")}  # the LHE's own
    attrs.update(
        generator=f"{facts.generators[0] if facts.generators else 'LHE'} + "
                  f"{attrs['generator']}",
        lhe_file=str(path), lhe_events_in_file=facts.n_events, lhe_events_showered=n_events,
        lhe_cross_section_pb=facts.cross_section_pb,
        lhe_cross_section_error_pb=facts.cross_section_error_pb,
        lhe_weighting_strategy=facts.weighting_strategy, lhe_generators=facts.generators,
        negative_weights_accepted=int(sum(s["negative_weights_accepted"] for s in stats)),
        **resumed_attributes(results, store),
    )
    samples = [sample for sample, _ in results if len(sample)]
    return EventSample.concatenate(samples, attrs)
