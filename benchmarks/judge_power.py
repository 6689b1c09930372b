"""How small a defect each judge of the classifier test sees: AUC against known distortions.

    python benchmarks/judge_power.py [--size 40000] [--sizes 10000,20000,60000]

Both truth files of ``make data`` (80k + 40k Z+jets events) are pooled and shuffled; for a
sample size n, events [0, n) are the "generated" sample A and events [n, 2n) the truth B.
The floor is each judge on A against B (two truth samples); each point distorts A by a
known amount (:mod:`lhcgen.data.distortions`: a smooth jet-pT scale, m_mumu smearing, a
Delta R_jj shift, a muon eta distortion) and judges it against B. The distance from the
floor is (AUC - AUC_floor) / sqrt(error^2 + error_floor^2), pooled over all events and per
jet multiplicity, for the MLP and the boosted trees with the settings of ``lhcgen
classify`` (ClassifierSettings() defaults: 3 folds, 1 repetition). A and B are the same
events at every point, so the sizes are comparable along a row.

Every point is appended to the JSON as it finishes, and a rerun skips the points already
there (``--fresh`` starts over). Writes benchmarks/results/judge_power.{json,md,png}.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import matplotlib.style
import mplhep
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.ticker import NullFormatter

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.distortions import DISTORTIONS  # noqa: E402
from lhcgen.data.events import EventSample  # noqa: E402
from lhcgen.data.hdf5 import read_events  # noqa: E402
from lhcgen.evaluate.classifier.judge_auc import distance_from_floor  # noqa: E402
from lhcgen.evaluate.classifier.judges import judge_title  # noqa: E402
from lhcgen.evaluate.classifier.settings import ClassifierSettings  # noqa: E402
from lhcgen.evaluate.classifier.test import design, run_judges  # noqa: E402
from lhcgen.evaluate.figures import TEXT_SIZES  # noqa: E402
from lhcgen.io import atomic_path, write_text_atomic  # noqa: E402
from machine import machine_info  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GRID = {"jet_pt_scale": (0.02, 0.05, 0.1, 0.2),
        "mumu_mass_smearing": (0.0025, 0.005, 0.01, 0.02),
        "delta_r_jj_shift": (0.01, 0.02, 0.05, 0.1, 0.2, 0.4),
        "muon_eta": (0.01, 0.02, 0.05, 0.1)}
"""Sizes of each distortion judged at the main sample size."""
SCAN = {"jet_pt_scale": 0.1, "mumu_mass_smearing": 0.01, "delta_r_jj_shift": 0.2,
        "muon_eta": 0.02}
"""The size of each distortion judged at every sample size of --sizes."""
THRESHOLD = 3.0
SEED = 7


def pooled_truth(paths: list[str], seed: int) -> EventSample:
    samples = [read_events(p) for p in paths]
    pool = EventSample.concatenate(samples)
    order = np.random.default_rng(seed).permutation(len(pool))
    return pool.subset(order)


def judge_point(a: EventSample, b: EventSample, settings: ClassifierSettings) -> dict:
    """Every judge on A (label 0) vs B (label 1): AUC per multiplicity and seconds."""
    d = design(a, b, ("A", "B"), settings)
    out = {}
    for judge, (_, aucs, seconds) in run_judges(d, settings).items():
        out[judge] = {"auc": {k: {key: v[key] for key in ("value", "error", "error_events",
                                                          "error_training", "null_error",
                                                          "n_generated", "n_truth")}
                              for k, v in aucs.items()},
                      "seconds": seconds}
    return out


def key_of(distortion: str, size: float, n: int) -> str:
    return f"{distortion}|{size:g}|{n}"


def with_distances(point: dict, floor: dict) -> dict:
    for judge, r in point.items():
        r["distance"] = {k: distance_from_floor(auc, floor[judge]["auc"].get(k))
                         for k, auc in r["auc"].items()}
    return point


def crossing(sizes: list[float], distances: list[float | None]) -> str:
    """The grid sizes between which the distance first reaches THRESHOLD, with the linear
    interpolation between them; or a bound."""
    pairs = [(s, z) for s, z in zip(sizes, distances, strict=True) if z is not None]
    for (s0, z0), (s1, z1) in zip(pairs, pairs[1:], strict=False):
        if z0 < THRESHOLD <= z1:
            interpolated = s0 + (THRESHOLD - z0) * (s1 - s0) / (z1 - z0)
            return f"{s0:g}–{s1:g} (≈ {interpolated:.2g})"
    if pairs and pairs[0][1] >= THRESHOLD:
        return f"≤ {pairs[0][0]:g}"
    return f"> {pairs[-1][0]:g}" if pairs else "-"


def fmt_z(z: float | None) -> str:
    return "-" if z is None else f"{z:+.1f}"


def _auc(auc: dict) -> str:
    return f"{auc['value']:.4f} ± {auc['error']:.4f}"


def _cells(r: dict) -> str:
    """'AUC all | distance all | 1j | 2j | 3j' of one judge at one point."""
    d = r["distance"]
    return " | ".join([_auc(r["auc"]["all"])] + [fmt_z(d.get(k)) for k in ("all", "1", "2", "3")])


def markdown(result: dict) -> str:
    settings = result["settings"]
    n = result["size"]
    judges = settings["judges"]
    titles = result["titles"]
    m = result["machine"]
    lines = [
        "# Power of the classifier test's judges", "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs; torch {m['torch']} with "
        f"{m['torch_threads']} thread(s). Command: `{result['command']}`. Truth: "
        f"{', '.join(result['files'])} pooled ({result['pool']} events), shuffled with seed "
        f"{SEED}; A = first n events (distorted), B = next n (truth). Judges as `lhcgen "
        f"classify` runs them: {settings['folds']}-fold cross-fitting over all events, "
        f"{settings['repeats']} repetition(s), MLP {settings['layers']}×{settings['hidden']} "
        f"(inputs {settings['input_scaling']}-scaled, batch {settings['batch_size']}, early "
        "stopping), boosted trees "
        f"({settings['trees']['max_leaf_nodes']} leaves, lr {settings['trees']['learning_rate']}"
        "); time per point is the cross-fitting of one judge.", "",
        "Distance from the floor in standard errors, (AUC − AUC_floor) / √(σ² + σ_floor²), "
        "over all events (all) and per jet multiplicity (1j/2j/3j); the floor is the same "
        "judge on the undistorted A against B.", "",
        f"## Smallest distortion seen at {THRESHOLD:g}σ with {n} events per sample", "",
        "The grid points between which the distance from the floor first reaches "
        f"{THRESHOLD:g}σ, and the linear interpolation between them.", "",
        "| distortion | " + " | ".join(titles[j] for j in judges) + " |",
        "| --- |" + " --- |" * len(judges)]
    for name, sizes in GRID.items():
        cells = []
        for judge in judges:
            z = [result["points"].get(key_of(name, s, n), {}).get(judge, {})
                 .get("distance", {}).get("all") for s in sizes]
            cells.append(crossing(list(sizes), z))
        lines.append(f"| {DISTORTIONS[name][1]} | " + " | ".join(cells) + " |")
    floor = result["points"].get(key_of("none", 0, n), {})
    lines += ["", f"## Floor (two truth samples of {n} events)", "",
              "| judge | AUC all | 1j | 2j | 3j | seconds |",
              "| --- | --- | --- | --- | --- | --- |"]
    for judge in judges:
        r = floor.get(judge)
        if r:
            cells = [f"{a['value']:.4f} ± {a['error']:.4f}" for a in r["auc"].values()]
            lines.append(f"| {titles[judge]} | " + " | ".join(cells) + f" | {r['seconds']:.0f} |")
    lines += ["", f"## Distance from the floor against the size of each distortion ({n} events "
              "per sample)", "",
              "| distortion | size | judge | AUC all | all | 1j | 2j | 3j | seconds |",
              "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, sizes in GRID.items():
        for size in sizes:
            point = result["points"].get(key_of(name, size, n))
            if not point:
                continue
            lines += [f"| {name} | {size:g} | {titles[judge]} | {_cells(point[judge])} | "
                      f"{point[judge]['seconds']:.0f} |" for judge in judges if judge in point]
    lines += ["", "## Distance from the floor against the sample size", "",
              "| distortion (size) | events per sample | judge | floor all | AUC all | all | "
              "1j | 2j | 3j |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, size in SCAN.items():
        for n_events in result["sizes"]:
            point = result["points"].get(key_of(name, size, n_events))
            floor_n = result["points"].get(key_of("none", 0, n_events))
            if not point or not floor_n:
                continue
            lines += [f"| {name} ({size:g}) | {n_events} | {titles[judge]} | "
                      f"{_auc(floor_n[judge]['auc']['all'])} | {_cells(point[judge])} |"
                      for judge in judges if judge in point]
    lines += ["", f"Total {result.get('seconds', 0):.0f} s. 100k events per sample would need "
              "200k truth events (the pooled `make data` files hold 120k); pass more files "
              "with --truth to go further.", "", "![power](judge_power.png)"]
    return "\n".join(lines) + "\n"


def plot(result: dict, path: Path) -> None:
    judges, n = result["settings"]["judges"], result["size"]
    styles = {"mlp": ("#1f77b4", "o"), "trees": ("#d62728", "s")}
    with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
        fig = Figure(figsize=(18.0, 8.5))
        fig.subplots_adjust(left=0.06, right=0.98, top=0.94, bottom=0.09, hspace=0.38,
                            wspace=0.25)
        for col, (name, sizes) in enumerate(GRID.items()):
            top = fig.add_subplot(2, len(GRID), col + 1)
            bottom = fig.add_subplot(2, len(GRID), len(GRID) + col + 1)
            for judge in judges:
                colour, marker = styles.get(judge, ("k", "x"))
                z = [result["points"].get(key_of(name, s, n), {}).get(judge, {})
                     .get("distance", {}).get("all") for s in sizes]
                xs = [s for s, v in zip(sizes, z, strict=True) if v is not None]
                top.plot(xs, [v for v in z if v is not None], marker=marker, color=colour,
                         label=result["titles"][judge])
                scan = [(m, result["points"].get(key_of(name, SCAN[name], m), {}).get(judge))
                        for m in result["sizes"]]
                scan = [(m, r["distance"]["all"]) for m, r in scan if r]
                if scan:
                    bottom.plot(*zip(*scan, strict=True), marker=marker, color=colour,
                                label=result["titles"][judge])
            for axis in (top, bottom):
                axis.axhline(THRESHOLD, color="grey", ls="--", lw=1)
                axis.axhline(0.0, color="grey", ls=":", lw=1)
                axis.set_ylabel(r"(AUC $-$ floor) / $\sigma$")
            top.set_xscale("log")
            top.set_xlabel(f"size ({n // 1000}k events per sample)")
            top.set_title(DISTORTIONS[name][1], fontsize="small", loc="left")
            bottom.set_xscale("log")
            bottom.set_xlabel(f"events per sample (size {SCAN[name]:g})")
            for axis in (top, bottom):
                axis.xaxis.set_minor_formatter(NullFormatter())
            top.legend(loc="upper left", fontsize="x-small")
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=80)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--truth", nargs="+", default=[str(ROOT / "data" / "zjets_train.h5"),
                                                        str(ROOT / "data" / "zjets_test.h5")])
    parser.add_argument("--size", type=int, default=40000,
                        help="events per sample of the distortion grid (default 40000)")
    parser.add_argument("--sizes", default="10000,20000,60000",
                        help="further sample sizes for the size scan (the grid size is "
                             "always included)")
    parser.add_argument("--judges", default="mlp,trees")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--input-scaling", default="quantile", choices=("quantile", "standard"),
                        help="how the MLP judge sees its inputs (default quantile)")
    parser.add_argument("--only", default=None, help="comma-separated distortions to run")
    parser.add_argument("--fresh", action="store_true", help="ignore earlier results")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite the table and plot from the JSON")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "judge_power"))
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = Path(args.out)
    settings = ClassifierSettings(judges=tuple(args.judges.split(",")), threads=args.threads,
                                  input_scaling=args.input_scaling)
    sizes = sorted({args.size, *(int(s) for s in args.sizes.split(",") if s)})
    result = {"points": {}}
    if out.with_suffix(".json").is_file() and not args.fresh:
        result = json.loads(out.with_suffix(".json").read_text())
    if not args.render_only:
        result.update(machine=machine_info(), command=" ".join(["python", *sys.argv]),
                      settings=dataclasses.asdict(settings), size=args.size, sizes=sizes,
                      files=[Path(p).name for p in args.truth],
                      titles={j: judge_title(j, settings) for j in settings.judges})
        pool = pooled_truth(args.truth, SEED)
        result["pool"] = len(pool)
        if 2 * max(sizes) > len(pool):
            parser.error(f"--sizes up to {max(sizes)} need {2 * max(sizes)} truth events; "
                         f"the files hold {len(pool)}")
        started = time.perf_counter()
        only = set(args.only.split(",")) if args.only else set(GRID)
        plan = [("none", 0.0, n) for n in sizes]
        plan += [(name, s, args.size) for name in GRID if name in only for s in GRID[name]]
        plan += [(name, SCAN[name], n) for name in SCAN if name in only for n in sizes
                 if n != args.size]

        base = result.get("seconds", 0.0)

        def save() -> None:
            result["seconds"] = base + time.perf_counter() - started
            write_text_atomic(out.with_suffix(".json"),
                              json.dumps(result, indent=2, allow_nan=False))

        for name, size, n in plan:
            key = key_of(name, size, n)
            if key in result["points"] and all(j in result["points"][key]
                                                for j in settings.judges):
                continue
            a, b = pool.subset(slice(0, n)), pool.subset(slice(n, 2 * n))
            if name != "none":
                a = DISTORTIONS[name][0](a, size)
            point = judge_point(a, b, settings)
            if name != "none":
                point = with_distances(point, result["points"][key_of("none", 0, n)])
            result["points"][key] = point
            print(f"[{name} {size:g}, n={n}] " + "; ".join(
                f"{j}: AUC {r['auc']['all']['value']:.4f} ± {r['auc']['all']['error']:.4f}"
                + (f" ({r['distance']['all']:+.1f} sigma)" if "distance" in r else "")
                + f", {r['seconds']:.0f} s" for j, r in point.items()), flush=True)
            save()
        save()
    write_text_atomic(out.with_suffix(".md"), markdown(result))
    plot(result, out.with_suffix(".png"))
    print(f"wrote {out.with_suffix('.json')}, .md and .png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
