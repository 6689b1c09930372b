"""`lhcgen demo` as a library function: generate (or reuse) the demo data, train the
config, sample it and evaluate against the held-out truth."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lhcgen.data.zjets_file import SHARD_SIZE, is_default_zjets_file, make_zjets_file
from lhcgen.evaluate.files import evaluate_files
from lhcgen.train.config import load_config
from lhcgen.train.run import resolve_device, train_run
from lhcgen.train.surrogate import sample_to_file


@dataclass(frozen=True)
class DemoSettings:
    config: str = "configs/demo.yaml"
    workdir: str = "demo_output"
    train_events: int = 15000
    test_events: int = 6000
    sample_events: int = 50000
    workers: int = os.cpu_count() or 1
    device: str = "auto"


def run_demo(settings: DemoSettings, progress: bool = True,
             log: Callable[[str], None] = print) -> dict:
    """Run the demo in ``settings.workdir``; ``log`` receives one line per stage. Returns
    {"train": training metrics, "sampling": sampling facts, "report": report metrics}."""
    work = Path(settings.workdir)
    device = resolve_device(settings.device)
    cfg = load_config(settings.config)
    files = {"train": (work / "data" / "zjets_train.h5", settings.train_events, 1),
             "test": (work / "data" / "zjets_test.h5", settings.test_events, 2)}
    for role, (path, events, seed) in files.items():
        if is_default_zjets_file(path, events, seed):
            log(f"[demo] reusing {role} data {path}")
        else:
            log(f"[demo] generating {events} {role} events with Pythia 8 + FastJet "
                f"({settings.workers} workers)")
            make_zjets_file(events, seed, settings.workers, path, SHARD_SIZE, progress)
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data,
                                                            train=str(files["train"][0])))
    run_dir = work / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    log(f"[demo] training {cfg.model.name} ({cfg.model.net}) for {cfg.training.epochs} epochs")
    train_metrics = train_run(cfg, run_dir, device, progress=progress)
    generated = run_dir / "generated.h5"
    log(f"[demo] sampling {settings.sample_events} events")
    info = sample_to_file(run_dir, settings.sample_events, generated, device,
                          progress=progress)
    log("[demo] evaluating against the held-out truth")
    metrics = evaluate_files(generated, files["test"][0], work / "report")
    return {"train": train_metrics, "sampling": info, "report": metrics,
            "generated": str(generated), "report_dir": str(work / "report")}
