"""Generation rate of paired particle/detector events, and the cost of the detector.

For each paired process (Z+jets, semi-leptonic ttbar), on one worker in this process and in
one run:

    (a) Pythia alone: ``nextBatch`` generated events/s with the process's settings (Pythia
        initialisation not timed);
    (b) the paired shard (``generate_paired_shard``: Pythia, the particle level for every
        generated event, the parametric detector for the events that can pass it, both
        selections), kept (paired) events/s and generated events/s, with the seconds spent
        in Pythia, in the particle level and in the detector.

The cost of the detector is its time against Pythia's time for the same events.

    python benchmarks/paired_rates.py --events 1000

Writes <out-dir>/paired_rates.json and .md.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.paired_events import STAGE_KEYS, PairedSettings, generate_paired_shard  # noqa: E402
from lhcgen.data.pythia import start_pythia  # noqa: E402
from lhcgen.io import write_text_atomic  # noqa: E402
from lhcgen.physics.detector import load_card  # noqa: E402
from lhcgen.physics.fastjet_setup import silence_fastjet_banner  # noqa: E402
from machine import machine_info  # noqa: E402

PROCESSES = ("zjets", "ttbar")


def pythia_alone(settings: PairedSettings, n_generated: int, seed: int) -> dict:
    pythia = start_pythia(settings.pythia_settings(), seed, settings.process)
    started = time.perf_counter()
    done = 0
    while done < n_generated:
        done += len(pythia.nextBatch(min(settings.batch_size, n_generated - done), "skip"))
    seconds = time.perf_counter() - started
    return {"generated": done, "seconds": seconds, "generated_per_second": done / seconds}


def paired(settings: PairedSettings, n_events: int, seed: int) -> dict:
    started = time.perf_counter()
    _, stats = generate_paired_shard(settings, n_events, seed)
    seconds = time.perf_counter() - started
    parts = stats["seconds"]
    return {"kept": stats["n_accepted"], "generated": stats["n_generated"],
            "seconds": seconds, "kept_per_second": stats["n_accepted"] / seconds,
            "generated_per_second": stats["n_generated"] / seconds,
            "seconds_pythia": parts["pythia"], "seconds_particle_level": parts["particle_level"],
            "seconds_detector": parts["detector"],
            "stages": {key: stats[key] for key in STAGE_KEYS}}


def render(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Paired particle/detector events: generation rate and the cost of the detector",
        "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs; one worker (this process), "
        f"measured in one run. Command: `{result['command']}`. Detector card: the default "
        "(ATLAS-like, `src/lhcgen/physics/detector/cards/atlas_like.yaml`).",
        "",
        "| process | Pythia alone [generated/s] | paired pipeline [generated/s] | ratio | "
        "kept paired events/s | kept / generated | time in Pythia | particle level | "
        "detector | detector / Pythia |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for process, r in result["processes"].items():
        a, b = r["pythia_alone"], r["paired"]
        total = b["seconds"]
        lines.append(
            f"| {process} | {a['generated_per_second']:.1f} | {b['generated_per_second']:.1f} "
            f"| {b['generated_per_second'] / a['generated_per_second']:.2f} | "
            f"{b['kept_per_second']:.1f} | {b['kept'] / b['generated']:.3f} | "
            f"{100 * b['seconds_pythia'] / total:.0f} % | "
            f"{100 * b['seconds_particle_level'] / total:.0f} % | "
            f"{100 * b['seconds_detector'] / total:.0f} % | "
            f"{b['seconds_detector'] / b['seconds_pythia']:.3f} |")
    lines += ["", "Stages of the generated events (the detector runs for the events that "
              "pass the particle level or could pass the detector level):", "",
              "| process | " + " | ".join(STAGE_KEYS) + " |",
              "| --- | " + " | ".join("---:" for _ in STAGE_KEYS) + " |"]
    for process, r in result["processes"].items():
        stages = r["paired"]["stages"]
        lines.append(f"| {process} | " + " | ".join(str(stages[k]) for k in STAGE_KEYS) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=1000, help="paired events per process")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--out-dir", default="benchmarks/results")
    args = p.parse_args()
    silence_fastjet_banner()
    card = load_card(None)
    result = {"machine": machine_info(), "command": "python benchmarks/paired_rates.py "
              f"--events {args.events} --seed {args.seed}", "processes": {}}
    for process in PROCESSES:
        settings = PairedSettings(process, card)
        pipeline = paired(settings, args.events, args.seed)
        bare = pythia_alone(settings, pipeline["generated"], args.seed)
        result["processes"][process] = {"pythia_alone": bare, "paired": pipeline}
        print(f"{process}: {pipeline['kept_per_second']:.1f} paired events/s, Pythia alone "
              f"{bare['generated_per_second']:.1f} generated/s", flush=True)
    out = Path(args.out_dir)
    write_text_atomic(out / "paired_rates.json", json.dumps(result, indent=2) + "\n")
    write_text_atomic(out / "paired_rates.md", render(result))


if __name__ == "__main__":
    main()
