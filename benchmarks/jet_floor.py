"""JetNet-style benchmark samples, the truth-vs-truth floor of every JetNet metric, and what
known distortions do to each metric.

For each jet type the script makes (or reuses) two independent Pythia 8 + FastJet samples,
``<type><particles>_a.h5`` (seed ``--seed``) and ``<type><particles>_b.h5`` (seed
``--seed + 1``), exactly as ``lhcgen data jets`` does, and records their generation rate.
Then, with jetnet v0.2.5's defaults (or the size options given):

* floor: sample a against sample b;
* each distortion applied to sample b, against sample a:
    - ``wider``: every jet 5 % wider, Delta eta and Delta phi x 1.05;
    - ``pt_smear``: per-particle Gaussian noise of 5 % on pT_rel;
    - ``drop_softest``: the softest kept constituent of every jet with >= 2 removed.

    python benchmarks/jet_floor.py --jets 50000 --types gqtwz --particles 30 \
        --data-dir data/jets

Writes <out-dir>/<name>.json and .md after every jet type.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.jet_file import make_jets_file  # noqa: E402
from lhcgen.data.jet_hdf5 import read_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES, JetSettings  # noqa: E402
from lhcgen.evaluate.jets.metrics import JetMetricSettings, JetSample, jet_metrics  # noqa: E402
from lhcgen.io import write_text_atomic  # noqa: E402
from machine import command_line, machine_info  # noqa: E402
from rerender import rerender  # noqa: E402

METRICS = ("w1m", "w1p", "w1efp", "fpd", "kpd")


def wider(particles: np.ndarray, mask: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    out = particles.copy()
    out[..., :2] *= 1.05
    return out, mask


def pt_smear(particles: np.ndarray, mask: np.ndarray, rng) -> tuple[np.ndarray, np.ndarray]:
    out = particles.copy()
    noise = 1.0 + 0.05 * rng.standard_normal(out.shape[:2])
    out[..., 2] = np.where(mask, np.clip(out[..., 2] * noise, 1e-12, None), 0.0)
    return out, mask


def drop_softest(particles: np.ndarray, mask: np.ndarray, rng
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Remove the last (softest: constituents are pT-ordered) real constituent."""
    n = mask.sum(axis=1)
    rows = np.flatnonzero(n >= 2)
    new_mask = mask.copy()
    new_mask[rows, n[rows] - 1] = False
    out = np.where(new_mask[..., None], particles, 0.0)
    return out, new_mask


DISTORTIONS = {"wider": ("Δη, Δφ × 1.05", wider),
               "pt_smear": ("pT_rel × (1 + 0.05 N(0,1)) per particle", pt_smear),
               "drop_softest": ("softest constituent removed", drop_softest)}


def sample_file(path: Path, jet_type: str, particles: int, n_jets: int, seed: int,
                workers: int):
    """Read ``path`` if it holds at least ``n_jets`` jets of the right kind, else generate."""
    if path.is_file():
        sample = read_jets(path)
        if (len(sample) >= n_jets and sample.attrs.get("type") == jet_type
                and sample.n_particles == particles and int(sample.attrs["seed"]) == seed):
            return sample.subset(slice(0, n_jets)), sample.attrs, True
    settings = JetSettings(jet_type=jet_type, n_particles=particles)
    make_jets_file(n_jets, seed, settings, workers, path)  # finished shards kept: resumable
    sample = read_jets(path)
    return sample, sample.attrs, False


def metric_row(result: dict) -> dict:
    return {k: {"value": v.value, "error": v.error} for k, v in result.items()}


def run_type(jet_type: str, args, settings: JetMetricSettings) -> dict:
    data = Path(args.data_dir)
    data.mkdir(parents=True, exist_ok=True)
    a, attrs_a, reused_a = sample_file(data / f"{jet_type}{args.particles}_a.h5", jet_type,
                                       args.particles, args.jets, args.seed, args.workers)
    b, attrs_b, reused_b = sample_file(data / f"{jet_type}{args.particles}_b.h5", jet_type,
                                       args.particles, args.jets, args.seed + 1, args.workers)
    generation = [{"file": f"{jet_type}{args.particles}_{tag}.h5", "seed": int(at["seed"]),
                   "jets": len(s),
                   "seconds": float(at["generation_seconds"]),
                   "jets_per_second": float(at["accepted_jets_per_second"]),
                   "workers": int(at["workers"]), "reused": reused,
                   "resumed_shards": int(at.get("resumed_shards", 0))}
                  for tag, s, at, reused in (("a", a, attrs_a, reused_a),
                                             ("b", b, attrs_b, reused_b))]
    started = time.perf_counter()
    truth = JetSample.from_particles(a.particles, a.mask)
    other = JetSample.from_particles(b.particles, b.mask)
    rows = {"floor": metric_row(jet_metrics(truth, other, seed=args.metric_seed,
                                            settings=settings))}
    rng = np.random.default_rng(args.metric_seed)
    for name, (_, distort) in DISTORTIONS.items():
        particles, mask = distort(b.particles, b.mask, rng)
        rows[name] = metric_row(jet_metrics(truth, JetSample.from_particles(particles, mask),
                                            seed=args.metric_seed, settings=settings))
    seconds = time.perf_counter() - started
    summary = {"mass_median_gev": float(np.median(a.jets[:, 2])),
               "mean_constituents": float(a.n_constituents.mean()),
               "mean_kept": float(a.mask.sum(axis=1).mean())}
    print(f"[{jet_type}] metrics in {seconds:.0f} s", flush=True)
    return {"type": jet_type, "generation": generation, "summary": summary,
            "metrics": rows, "metric_seconds": round(seconds, 1)}


def _pm(entry: dict) -> str:
    return f"{entry['value']:.3g} ± {entry['error']:.2g}"


def _pull(entry: dict, floor: dict) -> float:
    """(value - floor) in units of both errors added in quadrature."""
    error = math.hypot(entry["error"], floor["error"])
    return (entry["value"] - floor["value"]) / error if error > 0 else float("nan")


def render(result: dict) -> str:
    m = result["machine"]
    lines = [f"# JetNet-style jets ({result['particles']} particles): samples, the "
             "truth-vs-truth floor and known distortions", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, Python {m['python']}. "
             f"Command: `{result['command']}`. Metrics: jetnet v0.2.5 definitions and "
             f"settings {json.dumps(result['settings'])}, seed {result['metric_seed']}.", "",
             "## Generation (Pythia 8 + FastJet, `lhcgen data jets`)", "",
             "| type | file | jets | s | jets/s | workers | median mass [GeV] "
             "| mean constituents (kept) |", "| --- | --- | ---: | ---: | ---: | ---: | ---: "
             "| ---: |"]
    total = 0.0
    for r in result["types"]:
        for g in r["generation"]:
            total += g["seconds"]
            s = r["summary"]
            lines.append(f"| {r['type']} | {g['file']} | {g['jets']} | {g['seconds']:.0f} | "
                         f"{g['jets_per_second']:.0f}"
                         f"{' (resumed)' if g.get('resumed_shards') else ''} | {g['workers']} | "
                         f"{s['mass_median_gev']:.0f} | {s['mean_constituents']:.1f} "
                         f"({s['mean_kept']:.1f}) |")
    lines += ["", f"Time to generate all files above: {total / 60:.1f} minutes (a file marked "
              "resumed was finished from shards kept by an interrupted run: its seconds are "
              "the last run's, its jets/s counts the jets made in that run).", "",
              "## Floor and distortions", "",
              "Floor: sample a against the independent sample b. Each distortion is applied "
              "to sample b and compared with sample a, so it includes the floor's "
              "statistical noise. ×floor = value / floor value ('-' where the floor is not "
              "positive: KPD is an unbiased estimate and FPD an extrapolation, both can be "
              "below 0), and in brackets (value − floor) / (their errors in quadrature).", ""]
    header = "| type | metric | floor | " + " | ".join(
        f"{name} ({DISTORTIONS[name][0]}) | ×floor" for name in DISTORTIONS) + " |"
    lines += [header, "| --- | --- | ---: |" + " ---: | ---: |" * len(DISTORTIONS)]
    for r in result["types"]:
        for metric in METRICS:
            floor = r["metrics"]["floor"][metric]
            cells = [f"| {r['type']} | {metric} | {_pm(floor)} |"]
            for name in DISTORTIONS:
                d = r["metrics"][name][metric]
                ratio = f"{d['value'] / floor['value']:.1f}" if floor["value"] > 0 else "-"
                cells.append(f" {_pm(d)} | {ratio} ({_pull(d, floor):.1f}σ) |")
            lines.append("".join(cells))
    lines += ["", "Metric time per type (5 samples' EFPs, 4 comparisons): " + ", ".join(
        f"{r['type']} {r['metric_seconds']:.0f} s" for r in result["types"]) + "."]
    return "\n".join(lines) + "\n"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jets", type=int, default=50_000, help="jets per sample (two per type)")
    p.add_argument("--types", default="gqtwz")
    p.add_argument("--particles", type=int, default=30, choices=(30, 150))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--metric-seed", type=int, default=42)
    p.add_argument("--w1-samples", type=int, default=50_000)
    p.add_argument("--fpd-min-samples", type=int, default=20_000)
    p.add_argument("--fpd-max-samples", type=int, default=50_000)
    p.add_argument("--kpd-batch-size", type=int, default=5_000)
    p.add_argument("--data-dir", default="data/jets")
    p.add_argument("--out-dir", default="benchmarks/results")
    p.add_argument("--name", default=None, help="default: jet_floor_<particles>")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite the markdown from the JSON, compute nothing")
    args = p.parse_args()
    unknown = sorted(set(args.types) - set(JET_TYPES))
    if unknown:
        p.error(f"unknown jet type(s) {', '.join(unknown)} in --types; choose from "
                f"{''.join(JET_TYPES)}")
    settings = JetMetricSettings(w1_num_eval_samples=args.w1_samples,
                                 fpd_min_samples=args.fpd_min_samples,
                                 fpd_max_samples=args.fpd_max_samples,
                                 kpd_batch_size=args.kpd_batch_size)
    name = args.name or f"jet_floor_{args.particles}"
    out = Path(args.out_dir) / f"{name}.json"
    if args.render_only:
        rerender(out, render)
        return
    result = {"machine": machine_info(), "command": command_line(),
              "particles": args.particles, "settings": settings.as_dict(),
              "metric_seed": args.metric_seed,
              "distortions": {k: v[0] for k, v in DISTORTIONS.items()}, "types": []}
    for jet_type in args.types:
        result["types"].append(run_type(jet_type, args, settings))
        write_text_atomic(out, json.dumps(result, indent=1) + "\n")
        write_text_atomic(out.with_suffix(".md"), render(result))
    print(render(result))


if __name__ == "__main__":
    main()
