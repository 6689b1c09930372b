"""Training steps per second of `lhcgen train configs/demo.yaml` on one process and on two
DistributedDataParallel processes (torchrun, gloo, CPU), in the same run.

Both commands train the demo's network (CFM, residual MLP 4 x 256) with the demo's global
batch (training.batch_size 1024; 512 per process under torchrun) for a few epochs on the
same events, one torch thread per process (--threads 1, OMP_NUM_THREADS=1), alternating
one process and two for --repeats rounds. steps/s is the run's own figure (metrics.json:
optimiser steps / seconds in the training loop, validation and checkpoints included,
start-up and data loading not); a step is one global batch on both, so the ratio is the
speed-up. The wall time of each command, start-up included, is recorded too. The events
are a synthetic sample with the Z+jets layout (tests/toys.py; the speed does not depend on
the physics), or --data FILE.

    python benchmarks/ddp_steps.py [--events 20000] [--epochs 3] [--repeats 3]
        [--data FILE] [--out benchmarks/results/ddp_steps]

Writes ddp_steps.json and ddp_steps.md (--out is their stem); --render-only rewrites the
markdown from the JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(ROOT))
from machine import command_line, machine_info  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

LHCGEN = [sys.executable, "-m", "lhcgen", "--no-progress"]
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node"]


def make_data(path: Path, events: int, seed: int) -> None:
    from tests.toys import toy_zjets

    from lhcgen.data.hdf5 import write_events

    write_events(path, toy_zjets(events, seed=seed))


def make_config(work: Path, data: Path, epochs: int) -> Path:
    cfg = yaml.safe_load((ROOT / "configs" / "demo.yaml").read_text())
    cfg["data"]["train"] = str(data)
    cfg["training"]["epochs"] = epochs
    path = work / "demo.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def train(config: Path, out: Path, processes: int) -> dict:
    """One `lhcgen train` (under torchrun when ``processes`` > 1); its metrics and wall
    time."""
    argv = ["train", str(config), "--out", str(out), "--threads", "1", "--device", "cpu"]
    command = [*LHCGEN, *argv] if processes == 1 else [
        *TORCHRUN, str(processes), "-m", "lhcgen", "--no-progress", *argv]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(name, None)
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    metrics = json.loads((out / "metrics.json").read_text())
    return {"steps_per_second": metrics["steps_per_second"], "steps": metrics["steps"],
            "training_seconds": metrics["training_seconds"], "wall_seconds": round(wall, 2),
            "final_val_loss": metrics["final_val_loss"]}


def render(result: dict) -> str:
    m, s = result["machine"], result["settings"]
    lines = ["# Training steps/s: one process vs two DDP processes (gloo, CPU)", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, torch {m['torch']}. "
             f"`lhcgen train configs/demo.yaml` ({s['model']}), epochs: {s['epochs']}, "
             f"{s['train_events']} training events ({s['data']}), global batch "
             f"{s['global_batch']} ({s['global_batch'] // 2} per process under torchrun), "
             f"{s['threads_per_process']} thread per process, {s['repeats']} alternating "
             "rounds; steps/s from each run's metrics.json (the training loop, validation "
             "and checkpoints included, start-up not).", "",
             "| processes | steps/s (median) | steps/s per round | events/s (steps/s x batch) "
             "| speed-up | wall time per run [s] | final val loss |",
             "| ---: | ---: | --- | ---: | ---: | --- | --- |"]
    base = result["runs"]["1"]["median_steps_per_second"]
    for key, row in result["runs"].items():
        rate = row["median_steps_per_second"]
        rounds = ", ".join(f"{r['steps_per_second']:.2f}" for r in row["rounds"])
        walls = ", ".join(str(r["wall_seconds"]) for r in row["rounds"])
        losses = ", ".join(f"{r['final_val_loss']:.4f}" for r in row["rounds"])
        lines.append(f"| {key} | {rate:.2f} | {rounds} | {rate * s['global_batch']:.0f} | "
                     f"{rate / base:.2f} | {walls} | {losses} |")
    lines += ["", "A step is one global batch in both rows, so steps/s compare directly. The "
              "two runs draw their noise in one shard and in two (docs/distributed.md), so "
              "their losses agree statistically, not digit for digit.", "",
              f"Command: `{result['command']}`", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000,
                        help="synthetic events to make (ignored with --data)")
    parser.add_argument("--data", default=None, help="an existing Z+jets event file instead")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--out", default="benchmarks/results/ddp_steps")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if args.render_only:
        rerender(Path(args.out).with_suffix(".json"), render)
        return
    work = Path(tempfile.mkdtemp(prefix="ddp_steps_"))
    try:
        data = Path(args.data) if args.data else work / "events.h5"
        if not args.data:
            make_data(data, args.events, args.seed)
        config = make_config(work, data, args.epochs)
        runs = {"1": [], "2": []}
        for k in range(args.repeats):
            for processes in (1, 2):
                row = train(config, work / f"run_{processes}_{k}", processes)
                runs[str(processes)].append(row)
                print(f"round {k}: {processes} process(es): {row['steps_per_second']} steps/s, "
                      f"wall {row['wall_seconds']} s", flush=True)
        cfg = yaml.safe_load(config.read_text())
        metrics = json.loads((work / "run_1_0" / "metrics.json").read_text())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {
        "machine": machine_info(), "command": command_line(),
        "settings": {"model": f"{cfg['model']['name']}, {cfg['model']['net']} "
                              f"{cfg['model']['blocks']} x {cfg['model']['hidden']}",
                     "epochs": args.epochs, "repeats": args.repeats,
                     "data": args.data or f"{args.events} synthetic events",
                     "train_events": metrics["train_events"],
                     "global_batch": cfg["training"]["batch_size"],
                     "threads_per_process": 1, "backend": "gloo", "device": "cpu"},
        "runs": {key: {"median_steps_per_second": statistics.median(
                           r["steps_per_second"] for r in rows),
                       "rounds": rows} for key, rows in runs.items()},
    }
    write_results(Path(args.out), result, render)


if __name__ == "__main__":
    main()
