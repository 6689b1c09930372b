"""kill -9 at random moments of `lhcgen data zjets` and `lhcgen train`, then rerun / --resume.

For each trial the command runs in its own process group, and at a moment drawn uniformly
between 5 % and 100 % of the uninterrupted run's wall time the whole group gets SIGKILL
(what a batch system does to a job). Then:
  * every file with a final name is checked: the event file (absent, or complete and equal
    to the uninterrupted one), the kept shards (each readable), the run directory's
    checkpoint, config, preprocessing, metrics and log (each loads; the log's lines parse);
  * the same command is run again (`lhcgen train ... --resume` for training) to the end:
    the event file must equal the uninterrupted one exactly, the run must finish with one
    log record per epoch.
Counts of runs, interruptions, corrupt files and completed reruns go into
benchmarks/results/kill_resume.{json,md}.

    python benchmarks/kill_resume.py --trials 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import command_line, machine_info  # noqa: E402
from rerender import write_results  # noqa: E402

LHCGEN = [sys.executable, "-m", "lhcgen.cli"]


def run_to_end(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run([*LHCGEN, *argv], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def run_and_kill(argv: list[str], after: float) -> bool:
    """Start ``argv`` in a new process group, SIGKILL the group after ``after`` seconds;
    True if it was still running (an interruption), False if it had already finished."""
    process = subprocess.Popen([*LHCGEN, *argv], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process.wait(timeout=after)
        return False
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        return True


def events_equal(a: Path, b: Path) -> bool:
    from lhcgen.data.hdf5 import read_events

    x, y = read_events(a), read_events(b)
    return (np.array_equal(x.momenta, y.momenta) and np.array_equal(x.mask, y.mask)
            and np.array_equal(x.weights, y.weights)
            and x.attrs["n_generated"] == y.attrs["n_generated"])


def check_data_state(out: Path, reference: Path) -> list[str]:
    """Problems with the files a killed `lhcgen data` left behind ([] if none)."""
    from lhcgen.data.shard_store import _read_sample, parts_folder

    problems = []
    if out.exists():
        try:
            if not events_equal(out, reference):
                problems.append(f"{out.name}: differs from the uninterrupted file")
        except Exception as exc:  # noqa: BLE001 - anything unreadable is corrupt
            problems.append(f"{out.name}: {exc}")
    parts = parts_folder(out)
    for shard in sorted(parts.glob("shard-*.h5")):
        try:
            _read_sample(shard)
        except Exception as exc:  # noqa: BLE001
            problems.append(f"{shard.name}: {exc}")
    return problems


def check_run_state(run: Path) -> list[str]:
    """Problems with the files of a killed training run ([] if none)."""
    import torch

    problems = []
    loaders = {
        "checkpoint.pt": lambda p: torch.load(p, weights_only=True),
        "config.yaml": lambda p: yaml.safe_load(p.read_text()),
        "preprocessing.json": lambda p: json.loads(p.read_text()),
        "metrics.json": lambda p: json.loads(p.read_text()),
        "train_log.jsonl": lambda p: [json.loads(line) for line in p.read_text().splitlines()],
    }
    for name, load in loaders.items():
        path = run / name
        if path.exists():
            try:
                load(path)
            except Exception as exc:  # noqa: BLE001
                problems.append(f"{name}: {exc.__class__.__name__}")
    return problems


def same_weights(run: Path, reference: Path) -> bool:
    """The resumed run's final network (and EMA) equals the uninterrupted run's, bit for bit."""
    import torch

    a = torch.load(run / "checkpoint.pt", weights_only=True)
    b = torch.load(reference / "checkpoint.pt", weights_only=True)
    return all(torch.equal(a["model"][k], b["model"][k]) for k in b["model"]) and all(
        torch.equal(a["ema"]["model"][k], b["ema"]["model"][k]) for k in b["ema"]["model"])


def leftover_parts(folder: Path) -> int:
    return len(list(folder.glob(".*.part")))


def data_trials(work: Path, args, rng) -> dict:
    argv = ["data", "zjets", "--events", str(args.events), "--seed", "7", "--workers",
            str(args.workers), "--shard-size", str(args.shard_size), "--no-progress"]
    reference = work / "reference.h5"
    seconds = run_to_end([*argv, "--out", str(reference)])
    trials = []
    for k in range(args.trials):
        out = work / f"data_{k}.h5"
        after = float(rng.uniform(0.05, 1.0)) * seconds
        interrupted = run_and_kill([*argv, "--out", str(out)], after)
        problems = check_data_state(out, reference)
        kept = len(list((work / f"data_{k}.h5.parts").glob("shard-*.h5")))
        rerun = run_to_end([*argv, "--out", str(out)])
        equal = events_equal(out, reference)
        trials.append({"kill_after_s": round(after, 2), "interrupted": interrupted,
                       "file_existed": out.exists(), "shards_kept": kept,
                       "corrupt": problems, "rerun_s": round(rerun, 2),
                       "completed": out.exists(), "identical": equal,
                       "temporary_files_left": leftover_parts(work)})
        print(f"data {k}: killed after {after:.1f} s, {kept} shards kept, rerun {rerun:.1f} s, "
              f"identical {equal}, corrupt {problems}", flush=True)
    return {"command": " ".join(["lhcgen", *argv]), "uninterrupted_s": round(seconds, 2),
            "trials": trials}


def train_trials(work: Path, args, rng) -> dict:
    events = work / "reference.h5"
    config = work / "tiny.yaml"
    config.write_text(yaml.safe_dump({
        "data": {"train": str(events), "val_fraction": 0.1},
        "model": {"name": "cfm", "hidden": 64, "blocks": 2, "time_embedding": 8},
        "training": {"batch_size": 64, "epochs": args.epochs, "checkpoint_every": 4}}))
    argv = ["train", str(config), "--threads", "1", "--no-progress"]
    seconds = run_to_end([*argv, "--out", str(work / "run_reference")])
    trials = []
    for k in range(args.trials):
        run = work / f"run_{k}"
        after = float(rng.uniform(0.05, 1.0)) * seconds
        interrupted = run_and_kill([*argv, "--out", str(run)], after)
        problems = check_run_state(run)
        rerun = run_to_end([*argv, "--out", str(run), "--resume"])
        log = [json.loads(line) for line in (run / "train_log.jsonl").read_text().splitlines()]
        epochs = [r["epoch"] for r in log]
        completed = ((run / "metrics.json").is_file()
                     and epochs == list(range(1, args.epochs + 1)))
        equal = same_weights(run, work / "run_reference")
        trials.append({"kill_after_s": round(after, 2), "interrupted": interrupted,
                       "corrupt": problems, "rerun_s": round(rerun, 2),
                       "completed": completed, "log_epochs": epochs, "identical": equal,
                       "temporary_files_left": leftover_parts(run)})
        print(f"train {k}: killed after {after:.1f} s, rerun {rerun:.1f} s, completed "
              f"{completed}, identical {equal}, corrupt {problems}", flush=True)
    return {"command": " ".join(["lhcgen", *argv]), "uninterrupted_s": round(seconds, 2),
            "epochs": args.epochs, "trials": trials}


def summary(part: dict) -> dict:
    trials = part["trials"]
    return {"runs": len(trials), "interruptions": sum(t["interrupted"] for t in trials),
            "corrupt_files": sum(len(t["corrupt"]) for t in trials),
            "completed": sum(bool(t["completed"]) for t in trials),
            "identical_to_uninterrupted": sum(bool(t.get("identical", False)) for t in trials),
            "temporary_files_left": sum(t["temporary_files_left"] for t in trials)}


def render(result: dict) -> str:
    m = result["machine"]
    lines = ["# kill -9 at random moments, then rerun or --resume", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, Python {m['python']}. "
             f"Command: `{result['command']}`. Each trial SIGKILLs the command's whole process "
             "group at a moment drawn uniformly in [5 %, 100 %] of the uninterrupted wall "
             "time, checks every file with a final name, then reruns the same command "
             "(training: with `--resume`) to the end.", "",
             "| command | uninterrupted [s] | runs | interrupted | corrupt files | completed | "
             "identical to uninterrupted | temporary files left |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for name in ("data", "train"):
        part = result[name]
        s = summary(part)
        identical = str(s["identical_to_uninterrupted"])
        lines.append(f"| `{part['command']} --out ...` | {part['uninterrupted_s']} | "
                     f"{s['runs']} | {s['interruptions']} | {s['corrupt_files']} | "
                     f"{s['completed']} | {identical} | {s['temporary_files_left']} |")
    lines += ["", "A trial whose kill came after the command had finished counts as a run "
              "without interruption. `identical`: the rerun's event file equals the "
              "uninterrupted one (momenta, mask, weights, generated-event count); for "
              "training, the resumed run's final network and EMA weights equal the "
              "uninterrupted run's bit for bit (1 thread). "
              "Temporary files of killed writers (`.NAME.PID.*.part`) are removed by the "
              "next writer of the same file.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--events", type=int, default=600)
    parser.add_argument("--shard-size", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/kill_resume")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kill_resume_"))
    try:
        data = data_trials(work, args, rng)
        train = train_trials(work, args, rng)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"machine": machine_info(), "command": command_line(), "data": data,
              "train": train, "summary": {"data": summary(data), "train": summary(train)}}
    write_results(Path(args.out), result, render)


if __name__ == "__main__":
    main()
