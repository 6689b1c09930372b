"""Throughput of Z(->mumu)+jets generation: bare Pythia next() against the lhcgen pipeline.

Measures on this machine, for 1 and 2 worker processes (2 = two processes doing the same
measurement at the same time, synchronised by a barrier):

    (a) bare ``Pythia.next()`` events/s per worker (Pythia initialisation not timed);
    (b) the lhcgen shard pipeline (``generate_shard``: Pythia init, ``nextBatch``, selection,
        FastJet clustering), generated and accepted events/s per worker, and the ratio
        pipeline/bare of generated events/s (target >= 0.8);
    (c) ``generate_zjets`` end to end (spawn pool, progress queue, concatenation), accepted
        events/s in total.

Usage:
    python benchmarks/pythia_throughput.py [--events 2000] [--out-dir benchmarks/results]

Writes pythia_throughput.json and pythia_throughput.md into --out-dir.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

from lhcgen import __version__
from lhcgen.data.pythia import versions
from lhcgen.data.shards import generate_zjets
from lhcgen.data.zjets import ZJetsSettings, generate_shard, make_pythia
from lhcgen.io import write_text_atomic

EXPECTED_ACCEPTANCE = 0.125  # inclusive Z: about 1 event in 8 passes
"""About the Z+jets acceptance at pTHatMin = 10 GeV; used only to size the pipeline run so
that it generates about --events events."""


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _worker(index: int, n_events: int, barrier, results) -> None:
    """One worker: bare next() timing, then the shard pipeline, each phase in lockstep."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # FastJet's banner
    settings = ZJetsSettings()

    pythia = make_pythia(settings, seed=1000 + index)
    barrier.wait()
    start = time.perf_counter()
    failed = sum(not pythia.next() for _ in range(n_events))
    bare_s = time.perf_counter() - start

    n_accepted = max(1, round(EXPECTED_ACCEPTANCE * n_events))
    barrier.wait()
    start = time.perf_counter()
    _, stats = generate_shard(settings, n_accepted, seed=2000 + index)
    pipeline_s = time.perf_counter() - start
    results.put({
        "worker": index,
        "bare_events": n_events,
        "bare_failed": failed,
        "bare_seconds": bare_s,
        "bare_events_per_s": n_events / bare_s,
        "pipeline_generated": stats["n_generated"],
        "pipeline_accepted": stats["n_accepted"],
        "pipeline_seconds": pipeline_s,
        "pipeline_generated_per_s": stats["n_generated"] / pipeline_s,
        "pipeline_accepted_per_s": stats["n_accepted"] / pipeline_s,
        "ratio_pipeline_to_bare": (stats["n_generated"] / pipeline_s) / (n_events / bare_s),
    })


def measure_workers(n_workers: int, n_events: int) -> dict:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(n_workers)
    results = context.Queue()
    processes = [context.Process(target=_worker, args=(i, n_events, barrier, results))
                 for i in range(n_workers)]
    for p in processes:
        p.start()
    rows = sorted((results.get() for _ in processes), key=lambda r: r["worker"])
    for p in processes:
        p.join()
    total = {key: sum(r[key] for r in rows)
             for key in ("bare_events_per_s", "pipeline_generated_per_s",
                         "pipeline_accepted_per_s")}
    mean_ratio = sum(r["ratio_pipeline_to_bare"] for r in rows) / len(rows)
    return {"workers": n_workers, "per_worker": rows, "total": total,
            "mean_ratio_pipeline_to_bare": mean_ratio}


def measure_end_to_end(n_workers: int, n_events: int) -> dict:
    n_accepted = max(1, round(EXPECTED_ACCEPTANCE * n_events)) * n_workers
    shard_size = max(1, n_accepted // (4 * n_workers))
    start = time.perf_counter()
    sample = generate_zjets(n_accepted, seed=3000, workers=n_workers, shard_size=shard_size,
                            progress=False)
    seconds = time.perf_counter() - start
    return {"workers": n_workers, "n_accepted": len(sample), "shard_size": shard_size,
            "n_generated": sample.attrs["n_generated"], "seconds": seconds,
            "accepted_per_s": len(sample) / seconds,
            "generated_per_s": sample.attrs["n_generated"] / seconds,
            "acceptance": sample.attrs["acceptance"]}


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
        else os.cpu_count(),
        "threads_per_worker": 1,
        "python": platform.python_version(),
        "versions": {**versions(), "numpy": version("numpy"), "awkward": version("awkward"),
                     "lhcgen": __version__},
    }


def markdown(report: dict) -> str:
    m = report["machine"]
    v = m["versions"]
    lines = [
        "# Z(->mumu)+jets generation throughput",
        "",
        f"Machine: {m['platform']}, {m['cpu_model']}, {m['logical_cpus']} logical CPUs "
        f"({m['usable_cpus']} usable), {m['threads_per_worker']} thread per worker. "
        f"Python {m['python']}, pythia8mc {v['pythia8mc']}, FastJet {v['fastjet']} "
        f"(python package {v['fastjet_python']}), awkward {v['awkward']}, numpy {v['numpy']}, "
        f"lhcgen {v['lhcgen']}.",
        "",
        f"Events per worker: {report['events_per_worker']} bare `next()` calls; the pipeline "
        f"keeps {report['pipeline_accepted_per_worker']} accepted events per worker "
        "(`generate_shard`, Pythia initialisation included). Rates in events/s.",
        "",
        "| workers | worker | bare next() gen/s | pipeline gen/s | pipeline accepted/s "
        "| pipeline/bare |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for run in report["runs"]:
        for r in run["per_worker"]:
            lines.append(f"| {run['workers']} | {r['worker']} | {r['bare_events_per_s']:.1f} | "
                         f"{r['pipeline_generated_per_s']:.1f} | "
                         f"{r['pipeline_accepted_per_s']:.1f} | "
                         f"{r['ratio_pipeline_to_bare']:.2f} |")
        t = run["total"]
        lines.append(f"| {run['workers']} | total | {t['bare_events_per_s']:.1f} | "
                     f"{t['pipeline_generated_per_s']:.1f} | "
                     f"{t['pipeline_accepted_per_s']:.1f} | "
                     f"{run['mean_ratio_pipeline_to_bare']:.2f} (mean) |")
    lines += [
        "",
        "End to end, `generate_zjets` (spawn pool, shards, progress queue, concatenation):",
        "",
        "| workers | accepted events | shard size | generated events | seconds "
        "| accepted/s | generated/s | acceptance |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for e in report["end_to_end"]:
        lines.append(f"| {e['workers']} | {e['n_accepted']} | {e['shard_size']} | "
                     f"{e['n_generated']} | {e['seconds']:.1f} | {e['accepted_per_s']:.1f} | "
                     f"{e['generated_per_s']:.1f} | {e['acceptance']:.3f} |")
    lines.append("")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000,
                        help="bare next() events per worker (default 2000)")
    parser.add_argument("--out-dir", type=Path, default=Path("benchmarks/results"))
    args = parser.parse_args(argv)
    if args.events <= 0:
        parser.error("--events must be positive")

    report = {
        "benchmark": "pythia_throughput",
        "machine": machine(),
        "events_per_worker": args.events,
        "pipeline_accepted_per_worker": max(1, round(EXPECTED_ACCEPTANCE * args.events)),
        "settings": ZJetsSettings().as_dict(),
        "runs": [],
        "end_to_end": [],
    }
    for n_workers in (1, 2):
        print(f"measuring {n_workers} worker(s) ...", file=sys.stderr, flush=True)
        report["runs"].append(measure_workers(n_workers, args.events))
    for n_workers in (1, 2):
        print(f"measuring generate_zjets with {n_workers} worker(s) ...", file=sys.stderr,
              flush=True)
        report["end_to_end"].append(measure_end_to_end(n_workers, args.events))

    args.out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(args.out_dir / "pythia_throughput.json", json.dumps(report, indent=2) + "\n")
    text = markdown(report)
    write_text_atomic(args.out_dir / "pythia_throughput.md", text)
    print(text)


if __name__ == "__main__":
    main()
