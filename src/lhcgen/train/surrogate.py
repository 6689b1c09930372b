"""A trained surrogate: a run directory loaded for sampling events in physical units."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from lhcgen import __version__
from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.models import Generator
from lhcgen.models.registry import check_sampler
from lhcgen.nets.bayesian import is_bayesian, weight_draw
from lhcgen.noise import EventNoise, aligned_batch_size
from lhcgen.processes import Process
from lhcgen.processes.base import Preprocessing
from lhcgen.solvers import sample
from lhcgen.train.config import RunConfig
from lhcgen.train.distributed import Ranks, shard_bounds
from lhcgen.train.run import load_trained_run, run_metrics


def _batch_starts(n: int, batch_size: int, part: tuple[int, int]) -> range:
    """First events of the batches of part (r, R): the r-th of R contiguous runs."""
    starts = range(0, n, batch_size)
    return starts[slice(*shard_bounds(len(starts), part[1], part[0]))]


@dataclass
class Surrogate:
    run_dir: Path
    cfg: RunConfig
    process: Process
    preprocessing: Preprocessing
    model: Generator
    device: torch.device

    @classmethod
    def load(cls, run_dir: str | Path, device: torch.device) -> Surrogate:
        """Load config, preprocessing and the EMA weights of a run directory."""
        cfg, process, preprocessing, model = load_trained_run(run_dir, device, "events")
        return cls(Path(run_dir), cfg, process, preprocessing, model, device)

    def sampler(self, solver: str | None = None,
                steps: int | None = None) -> tuple[str | None, int | None]:
        """The solver and steps to use: the given ones, else the config's, else the model's
        defaults; one clear error if they do not apply to this model."""
        check_sampler(self.cfg.model.name, solver, steps)
        return self.model.resolve_sampler(solver or self.cfg.sampling.solver or None,
                                          steps or self.cfg.sampling.steps or None)

    def _draw(self, n: int, solver, steps, batch_size: int, seed: int, stream: int,
              multiplicity: int | None, options: dict, bar,
              part: tuple[int, int] = (0, 1)) -> tuple[list, list, dict]:
        """``n`` events from the current network, in batches; returns finite momenta,
        multiplicities and counts. Every batch draws its noise per event (EventNoise of
        ``seed`` and ``stream``), so the events do not depend on ``batch_size``.
        ``part`` = (r, R) draws only the r-th of R contiguous runs of whole batches."""
        momenta, mults = [], []
        counts = {"nfe": 0, "n_nonfinite": 0, "network_seconds": 0.0}
        for start in _batch_starts(n, batch_size, part):
            size = min(batch_size, n - start)
            gen = EventNoise(seed, start, size, stream)
            if multiplicity is None:
                mult = self.preprocessing.sample_multiplicity(size, gen)
            else:
                mult = torch.full((size,), multiplicity, dtype=torch.long)
            dims_mask = self.preprocessing.dims_mask(mult)
            t0 = time.perf_counter()
            x, info = sample(self.model, mult, dims_mask, generator=gen, solver=solver,
                             steps=steps, **options)
            counts["network_seconds"] += time.perf_counter() - t0
            counts["nfe"] = max(counts["nfe"], info["nfe"])
            p = self.preprocessing.decode(x.cpu(), mult, gen)
            finite = np.isfinite(p).all(axis=(1, 2))
            counts["n_nonfinite"] += int((~finite).sum())
            momenta.append(p[finite])
            mults.append(mult.numpy()[finite])
            bar.update(size)
        return momenta, mults, counts

    def check_request(self, n: int, solver: str | None, steps: int | None,
                      multiplicity: int | None, weight_draws: int
                      ) -> tuple[str | None, int | None]:
        """One error if the request does not fit this run; returns (solver, steps)."""
        if n <= 0:
            raise LhcgenError(f"the number of events must be positive, got {n}")
        if weight_draws < 0:
            raise LhcgenError(f"--weight-draws must be positive, got {weight_draws}")
        if weight_draws and not is_bayesian(self.model):
            raise LhcgenError(f"--weight-draws needs a Bayesian generator, but {self.run_dir} "
                              "was trained without one (set model.bayesian.enabled: true)")
        solver, steps = self.sampler(solver, steps)
        if multiplicity is not None:
            self.model.condition_index(torch.tensor([multiplicity]))
        return solver, steps

    def draw(self, n: int, solver: str | None = None, steps: int | None = None,
             batch_size: int | None = None, seed: int = 0, multiplicity: int | None = None,
             progress: bool = True, weight_draws: int = 0, part: tuple[int, int] = (0, 1),
             **options) -> dict:
        """Part ``part`` = (r, R) of the events of ``generate``: the r-th of R contiguous
        runs of its whole batches (how `lhcgen sample` splits the work under torchrun).
        Parts r = 0..R-1 joined by ``assemble`` are the events of one ``generate``, number
        for number: each event has the same noise and is computed in the same batch.
        Returns the arrays, counts and settings, for ``assemble``."""
        solver, steps = self.check_request(n, solver, steps, multiplicity, weight_draws)
        batch_size = aligned_batch_size(batch_size or self.cfg.sampling.batch_size)
        label = f"{solver}, {steps} steps" if solver else self.cfg.model.name
        draws = max(weight_draws, 1)
        own = sum(min(batch_size, n - start) for start in _batch_starts(n, batch_size, part))
        momenta, mults, draw_index = [], [], []
        counts = {"nfe": 0, "n_nonfinite": 0, "network_seconds": 0.0}
        started = time.perf_counter()
        with tqdm(total=own * draws, desc=f"sampling ({label})", unit="ev",
                  disable=not progress, dynamic_ncols=True) as bar:
            for k in range(draws):
                if weight_draws:
                    draw_gen = torch.Generator().manual_seed(seed * 1_000_003 + k)
                    context = weight_draw(self.model, draw_gen)
                else:
                    context = contextlib.nullcontext()
                with context:
                    p, m, c = self._draw(n, solver, steps, batch_size, seed, k, multiplicity,
                                         options, bar, part)
                momenta.append(p)
                mults.append(m)
                draw_index.append([np.full(len(x), k) for x in m])
                counts["nfe"] = max(counts["nfe"], c["nfe"])
                counts["n_nonfinite"] += c["n_nonfinite"]
                counts["network_seconds"] += c["network_seconds"]
        return {"momenta": momenta, "mults": mults, "draw_index": draw_index,
                "counts": counts, "seconds": time.perf_counter() - started,
                "solver": solver, "steps": steps, "batch_size": batch_size}

    def assemble(self, parts: list[dict], n: int, seed: int = 0, weight_draws: int = 0,
                 seconds: float | None = None, **options) -> tuple[EventSample, dict]:
        """One sample from the ``draw`` results of parts 0..R-1 (in order): per weight draw,
        the events of every part. ``seconds``: the wall time to quote (default: the
        slowest part's). Returns (events, info) as ``generate``."""
        draws = max(weight_draws, 1)
        momenta, mults, draw_index = [], [], []
        for k in range(draws):
            for drawn in parts:
                momenta += drawn["momenta"][k]
                mults += drawn["mults"][k]
                draw_index += drawn["draw_index"][k]
        counts = {"nfe": max(d["counts"]["nfe"] for d in parts),
                  "n_nonfinite": sum(d["counts"]["n_nonfinite"] for d in parts),
                  "network_seconds": max(d["counts"]["network_seconds"] for d in parts)}
        if seconds is None:
            seconds = max(d["seconds"] for d in parts)
        solver, steps, batch_size = (parts[0][key] for key in ("solver", "steps", "batch_size"))
        if not sum(len(m) for m in mults):
            raise LhcgenError("every generated event was non-finite; the model is broken")
        mult_all = np.concatenate(mults)
        p_all = np.concatenate(momenta)
        mask = self.process.object_mask(torch.from_numpy(mult_all)).numpy()
        info = {
            "model": self.cfg.model.name, "solver": solver, "steps": steps,
            "nfe": counts["nfe"], "batch_size": batch_size, "n_requested": n * draws,
            "n_written": int(len(p_all)), "n_nonfinite": counts["n_nonfinite"],
            "seconds": round(seconds, 4), "events_per_second": n * draws / seconds,
            "network_seconds": round(counts["network_seconds"], 4),
            "device": str(self.device), "threads": torch.get_num_threads(), "seed": seed,
            **{k: v for k, v in options.items() if isinstance(v, (bool, int, float, str))},
        }
        if len(parts) > 1:
            info["processes"] = len(parts)
        attrs = {
            **self.process.sample_attrs(), "kind": "generated",
            "generator": f"lhcgen {__version__} {self.cfg.model.name}",
            "run_dir": str(self.run_dir.resolve()), "train_file": self.train_file(),
            "train_max_events": self.cfg.data.max_events,
            **{f"sampling_{k}": v for k, v in info.items()},
        }
        if weight_draws:
            attrs["weight_draws"] = weight_draws
            info["weight_draws"] = weight_draws
        sample = EventSample(p_all, mask, mult_all, np.ones(len(p_all)), attrs,
                             np.concatenate(draw_index) if weight_draws else None)
        cuts = self.run_facts().get("train_cuts")
        if cuts:
            sample.attrs["cuts"] = cuts  # the selection of the training data
        violations = self.process.cut_violations(sample, cuts)
        info["cut_violations"] = violations
        sample.attrs["cut_violations"] = violations
        return sample, info

    def generate(self, n: int, solver: str | None = None, steps: int | None = None,
                 batch_size: int | None = None, seed: int = 0,
                 multiplicity: int | None = None, progress: bool = True,
                 weight_draws: int = 0, **options) -> tuple[EventSample, dict]:
        """Sample ``n`` events. Non-finite events are removed and counted; events that fail
        a cut are kept and counted. Returns (events, info).

        ``weight_draws`` = K > 0 (Bayesian generators only) draws K networks from the weight
        posterior and samples ``n`` events from each; ``weight_draw`` records which.
        ``options`` go to the model's sampler (JetGPT: ``kv_cache``).
        """
        drawn = self.draw(n, solver, steps, batch_size, seed, multiplicity, progress,
                          weight_draws, **options)
        return self.assemble([drawn], n, seed, weight_draws, **options)

    def run_facts(self) -> dict:
        """metrics.json of the run ({} while it has not finished)."""
        return run_metrics(self.run_dir)

    def train_file(self) -> str:
        """The truth file the run was trained on (its truth-train for the floor)."""
        facts = self.run_facts()
        if facts:
            return facts.get("train_file", "")
        return str(Path(self.cfg.data.train).resolve())


def _sampler_options(surrogate: Surrogate, kv_cache: bool) -> dict:
    if kv_cache:
        return {}
    if surrogate.cfg.model.name != "jetgpt":
        raise LhcgenError(f"--no-kv-cache applies to JetGPT only; {surrogate.run_dir} holds "
                          f"model '{surrogate.cfg.model.name}'")
    return {"kv_cache": False}


def sample_to_file(run_dir: str | Path, n: int, out: str | Path, device: torch.device,
                   solver: str | None = None, steps: int | None = None,
                   batch_size: int | None = None, seed: int = 0,
                   multiplicity: int | None = None, progress: bool = True,
                   weight_draws: int = 0, kv_cache: bool = True,
                   ranks: Ranks | None = None) -> dict:
    """`lhcgen sample`: ``n`` events of the run written atomically to ``out``; returns the
    sampling facts (events/s, NFE, non-finite events, cut violations, ...).

    With ``ranks`` of several processes each rank draws a contiguous run of whole batches
    (``Surrogate.draw``), rank 0 gathers them and writes the one file, and every rank
    returns rank 0's facts. The events equal those of a single process."""
    from lhcgen.data.hdf5 import write_events

    ranks = ranks or Ranks(device=device)
    surrogate = ranks.main_first(Surrogate.load, run_dir, device, broadcast=False)
    options = ranks.main_first(_sampler_options, surrogate, kv_cache, broadcast=False)
    ranks.main_first(surrogate.check_request, n, solver, steps, multiplicity, weight_draws,
                     broadcast=False)
    started = time.perf_counter()
    drawn = surrogate.draw(n, solver, steps, batch_size, seed, multiplicity,
                           progress and ranks.is_main, weight_draws,
                           (ranks.rank, ranks.world_size), **options)
    parts = ranks.gather(drawn)

    def write() -> dict:
        seconds = time.perf_counter() - started if ranks.distributed else None
        sample, info = surrogate.assemble(parts, n, seed, weight_draws, seconds, **options)
        write_events(out, sample)
        return info

    return ranks.main_first(write)
