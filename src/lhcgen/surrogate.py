"""A trained surrogate: a run directory loaded for sampling events in physical units."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from lhcgen import __version__
from lhcgen.config import RunConfig
from lhcgen.data.events import ZJETS_OBJECTS, EventSample
from lhcgen.errors import LhcgenError
from lhcgen.models import Generator, build_generator
from lhcgen.physics.cuts import cut_violations
from lhcgen.solvers import check_solver
from lhcgen.train.checkpoint import load_checkpoint
from lhcgen.train.run import METRICS_FILE, PREPROCESSING_FILE, load_run_config
from lhcgen.transforms.zjets import ZJetsPreprocessing, object_mask


@dataclass
class Surrogate:
    run_dir: Path
    cfg: RunConfig
    preprocessing: ZJetsPreprocessing
    model: Generator
    device: torch.device

    @classmethod
    def load(cls, run_dir: str | Path, device: torch.device) -> Surrogate:
        """Load config, preprocessing and the EMA weights of a run directory."""
        run_dir = Path(run_dir)
        if not run_dir.is_dir():
            raise LhcgenError(f"{run_dir}: no such run directory")
        cfg = load_run_config(run_dir)
        state = load_checkpoint(run_dir, device)
        preprocessing = ZJetsPreprocessing(cfg.preprocessing)
        preprocessing.load_state_dict(json.loads((run_dir / PREPROCESSING_FILE).read_text()))
        model = build_generator(cfg.model, preprocessing.coordinates(),
                                preprocessing.multiplicities)
        model.load_state_dict(state["ema"]["model"])
        model.to(device).eval()
        return cls(run_dir, cfg, preprocessing, model, device)

    def generate(self, n: int, solver: str | None = None, steps: int | None = None,
                 batch_size: int | None = None, seed: int = 0,
                 multiplicity: int | None = None,
                 progress: bool = True) -> tuple[EventSample, dict]:
        """Sample ``n`` events. Non-finite events are removed and counted; events that fail
        a cut are kept and counted. Returns (events, info)."""
        if n <= 0:
            raise LhcgenError(f"the number of events must be positive, got {n}")
        solver = solver or self.cfg.sampling.solver
        steps = steps or self.cfg.sampling.steps
        batch_size = batch_size or self.cfg.sampling.batch_size
        check_solver(solver, steps)
        gen = torch.Generator().manual_seed(seed)
        momenta, mults, nfe = [], [], 0
        n_nonfinite, network_seconds = 0, 0.0
        started = time.perf_counter()
        with tqdm(total=n, desc=f"sampling ({solver}, {steps} steps)", unit="ev",
                  disable=not progress, dynamic_ncols=True) as bar:
            for start in range(0, n, batch_size):
                size = min(batch_size, n - start)
                if multiplicity is None:
                    mult = self.preprocessing.sample_multiplicity(size, gen)
                else:
                    mult = torch.full((size,), multiplicity, dtype=torch.long)
                dims_mask = self.preprocessing.flatten.dims_mask(object_mask(mult))
                t0 = time.perf_counter()
                x, info = self.model.sample(mult, dims_mask, generator=gen, solver=solver,
                                            steps=steps)
                network_seconds += time.perf_counter() - t0
                nfe = max(nfe, info["nfe"])
                p = self.preprocessing.decode(x.cpu(), mult, gen)
                finite = np.isfinite(p).all(axis=(1, 2))
                n_nonfinite += int((~finite).sum())
                momenta.append(p[finite])
                mults.append(mult.numpy()[finite])
                bar.update(size)
        seconds = time.perf_counter() - started
        mult_all = np.concatenate(mults)
        p_all = np.concatenate(momenta)
        mask = object_mask(torch.from_numpy(mult_all)).numpy()
        if len(p_all) == 0:
            raise LhcgenError("every generated event was non-finite; the model is broken")
        info = {
            "solver": solver, "steps": steps, "nfe": nfe, "batch_size": batch_size,
            "n_requested": n, "n_written": int(len(p_all)), "n_nonfinite": n_nonfinite,
            "seconds": round(seconds, 4), "events_per_second": n / seconds,
            "network_seconds": round(network_seconds, 4), "device": str(self.device),
            "threads": torch.get_num_threads(), "seed": seed,
        }
        attrs = {
            "process": "zjets", "kind": "generated", "object_names": list(ZJETS_OBJECTS),
            "n_fixed_objects": 2, "generator": f"lhcgen {__version__} {self.cfg.model.name}",
            "run_dir": str(self.run_dir.resolve()), "train_file": self.train_file(),
            "train_max_events": self.cfg.data.max_events,
            **{f"sampling_{k}": v for k, v in info.items()},
        }
        sample = EventSample(p_all, mask, mult_all, np.ones(len(p_all)), attrs)
        violations = cut_violations(sample)
        info["cut_violations"] = violations
        sample.attrs["cut_violations"] = violations
        return sample, info

    def train_file(self) -> str:
        """The truth file the run was trained on (its truth-train for the floor)."""
        metrics = self.run_dir / METRICS_FILE
        if metrics.is_file():
            return json.loads(metrics.read_text()).get("train_file", "")
        return str(Path(self.cfg.data.train).resolve())
