"""The truth's own ×floor: what Pythia itself scores in benchmarks/jets_time_fidelity.py.

The time-fidelity benchmark divides each JetNet metric of a generator by the floor: the
truth (--truth) against one independent truth sample of the same size (--truth-floor). That
floor is one draw. A second independent truth sample has a ×floor of its own, and at 5000
jets FPD answers to the few jets at the edge of the EFP range (one jet far out moves it
several times over). This measures that spread: the truth against K disjoint samples of
--jets independent truth jets cut from the --draws files, each judged with the benchmark's
metric settings and divided by the same floor. A generator is as good as the simulator
when its ×floor over seeds looks like these draws; `benchmarks/jets_seed_spread.py
--floor-spread NAME` puts them side by side.

Chunks of the draw files that share a jet with the truth or with the floor sample are not
independent draws: they are left out and counted (a floor file cut from a draw file, as
``t30_a5k.h5`` is the first 5000 jets of ``t30_a.h5``, is skipped that way), as is the rest
of a file shorter than --jets.

    python benchmarks/jets_floor_spread.py --types gqtwz --jets 5000 \\
        --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \\
        --draws 'data/jets/{type}30_a.h5' 'data/jets/{type}30_b50k.h5' \\
        --name jets_floor_spread_5k

Writes benchmarks/results/NAME.json and NAME.md; nothing is trained or generated.
"""

from __future__ import annotations

import hashlib
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jets_time_fidelity import (  # noqa: E402
    GOOD,
    METRICS,
    metric_dict,
    metric_settings,
    ratios,
    truth_jets,
)
from lhcgen.data.jet_hdf5 import read_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES, JetCloudSample  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.evaluate.jets.efp_range import efp_range  # noqa: E402
from lhcgen.evaluate.jets.metrics import (  # noqa: E402
    JetSample,
    jet_metrics,
    mean_of_draws,
    ratio_to_floor,
)
from machine import command_line, machine_info, script_parser  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

QUANTILE = 0.9
"""The upper quantile of the draws' ×floor quoted beside their median."""


def fingerprints(jets: JetCloudSample) -> list[bytes]:
    """One digest per jet of its kinematics (pT, η, m, N) and constituents (the float64
    bytes): the same jet, the same digest. The constituents alone do not tell jets apart: a
    jet of one constituent is (0, 0, 1) in every file."""
    rows = np.concatenate([
        np.ascontiguousarray(jets.jets, dtype=np.float64).reshape(len(jets), -1),
        np.ascontiguousarray(jets.particles, dtype=np.float64).reshape(len(jets), -1)], axis=1)
    return [hashlib.blake2b(row.tobytes(), digest_size=16).digest() for row in rows]


def cut_draws(pattern: str, jet_type: str, n: int, truth: set[bytes], floor: set[bytes]
              ) -> tuple[list[tuple[str, JetCloudSample]], dict]:
    """The disjoint chunks of ``n`` jets of ``jet_type`` in ``pattern`` ({type}: the letter)
    that share no jet with the truth or the floor sample, labelled FILE#K, and what was left
    out: chunks sharing jets with either, and the jets of a last, short chunk."""
    path = pattern.replace("{type}", jet_type)
    try:
        sample = read_jets(path)
    except LhcgenError as exc:
        sys.exit(f"error: --draws: {exc}")
    sample = sample.subset(sample.jet_type == JET_TYPES.index(jet_type))
    kept, left_out = [], {"file": path, "jets": len(sample), "shares_truth": [],
                          "shares_floor": [], "short_rest": len(sample) % n}
    for k in range(len(sample) // n):
        chunk = sample.subset(slice(k * n, (k + 1) * n))
        label = f"{Path(path).name}#{k}"
        prints = set(fingerprints(chunk))
        if prints & truth:
            left_out["shares_truth"].append(label)
        elif prints & floor:
            left_out["shares_floor"].append(label)
        else:
            kept.append((label, chunk))
    return kept, left_out


def judge_draw(label: str, truth: JetSample, chunk: JetCloudSample, floor: dict,
               seed: int, settings) -> dict:
    """The five metrics of one truth draw against the truth, its ×floor, worst, EFP range."""
    draw = JetSample.from_particles(chunk.particles, chunk.mask)
    metrics = metric_dict(jet_metrics(truth, draw, seed=seed, settings=settings))
    r = ratios(metrics, floor)
    defined = {k: v for k, v in r.items() if v is not None}
    worst = max(defined, key=defined.get) if defined else None
    return {"draw": label, "metrics": metrics, "ratios": r,
            "worst_ratio": None if worst is None else defined[worst], "worst_metric": worst,
            "efp_range": efp_range(truth.efps, draw.efps).as_dict()}


def spread(values: list[float]) -> dict:
    """Median, the QUANTILE quantile, smallest and largest of ``values`` (None if empty)."""
    if not values:
        return {"n": 0, "median": None, "quantile": None, "min": None, "max": None}
    return {"n": len(values), "median": statistics.median(values),
            "quantile": float(np.quantile(values, QUANTILE)), "min": min(values),
            "max": max(values)}


def summarise(draws: list[dict]) -> dict:
    """Per metric and for the worst ×floor: the spread over the draws; the draws with every
    metric within GOOD×; the draws' largest EFP reach."""
    worst = [d["worst_ratio"] for d in draws if d["worst_ratio"] is not None]
    return {"metrics": {k: spread([d["ratios"][k] for d in draws if d["ratios"][k] is not None])
                        for k in METRICS},
            "worst": spread(worst), "within": sum(w <= GOOD for w in worst),
            "largest_reach": spread([d["efp_range"]["largest_reach"] for d in draws])}


def measure_type(jet_type: str, args, settings) -> dict:
    truth_path, truth_jets_ = truth_jets(args.truth, jet_type, args.jets)
    floor_path, floor_jets = truth_jets(args.truth_floor, jet_type, args.jets)
    truth_prints, floor_prints = set(fingerprints(truth_jets_)), set(fingerprints(floor_jets))
    if truth_prints & floor_prints:
        sys.exit(f"error: {floor_path} shares jets with {truth_path}: the floor needs "
                 "independent truth jets")
    truth = JetSample.from_particles(truth_jets_.particles, truth_jets_.mask)
    floor_sample = JetSample.from_particles(floor_jets.particles, floor_jets.mask)
    floor = metric_dict(jet_metrics(truth, floor_sample, seed=args.metric_seed,
                                    settings=settings))
    chunks, left_out = [], []
    for pattern in args.draws:
        kept, skipped = cut_draws(pattern, jet_type, args.jets, truth_prints, floor_prints)
        chunks += kept
        left_out.append(skipped)
    if len(chunks) < 2:
        sys.exit(f"error: [{jet_type}] {len(chunks)} independent draws of {args.jets} jets in "
                 f"{', '.join(args.draws)}; give files with at least two (left out: "
                 f"{_left_out_text(left_out)})")
    draws = []
    for label, chunk in tqdm(chunks, desc=f"[{jet_type}] truth draws", unit="draw"):
        draws.append(judge_draw(label, truth, chunk, floor, args.metric_seed, settings))
    return {"truth": truth_path, "truth_floor": floor_path, "floor": floor,
            "efp_range_floor": efp_range(truth.efps, floor_sample.efps).as_dict(),
            "draws": draws, "left_out": left_out, "summary": summarise(draws)}


# ---- rendering --------------------------------------------------------------------------------
def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _spread(s: dict) -> str:
    if not s["n"]:
        return "-"
    return f"{_x(s['median'])} [{_x(s['quantile'])}, {_x(s['max'])}]"


def _left_out_text(left_out: list[dict]) -> str:
    parts = []
    for entry in left_out:
        what = []
        if entry["shares_truth"]:
            what.append(f"{len(entry['shares_truth'])} sharing jets with the truth")
        if entry["shares_floor"]:
            what.append(f"{len(entry['shares_floor'])} sharing jets with the floor "
                        f"({', '.join(entry['shares_floor'])})")
        if entry["short_rest"]:
            what.append(f"the last {entry['short_rest']} jets (short of a draw)")
        parts.append(f"{entry['file']}: " + ("; ".join(what) if what else "nothing"))
    return "; ".join(parts)


def mean_floor(entry: dict) -> dict | None:
    """{metric: ``mean_of_draws``} over the floor and the truth draws of one type: each is a
    truth sample judged against the same truth, so their mean is the floor known √n times
    better than the floor alone. None where the entry holds no values (only ratios) or one
    sample."""
    samples = [entry["floor"]] if "floor" in entry else []
    samples += [d["metrics"] for d in entry["draws"] if "metrics" in d]
    if len(samples) < 2:
        return None
    means = {k: mean_of_draws([s[k] for s in samples if k in s]) for k in METRICS}
    return None if None in means.values() else means


def _mean_floor_lines(result: dict) -> list[str]:
    """Each type's floor against the mean of every truth sample (the floor and the draws)."""
    rows = []
    for t, entry in result["types"].items():
        means = mean_floor(entry)
        if means:
            rows.append(f"| {t} | {means[METRICS[0]]['n']} | " + " | ".join(
                f"{_x(ratio_to_floor(entry['floor'][k]['value'], means[k]))} "
                f"({means[k]['value']:.3g} ± {means[k]['error']:.2g})" for k in METRICS) + " |")
    if not rows:
        return []
    return ["", "## The floor against the mean of every truth sample", "",
            "The floor is one truth sample judged against the truth, as each draw is: their "
            "mean over all of them (the floor and the draws, n) is the floor known √n times "
            "better (`lhcgen.evaluate.jets.metrics.mean_of_draws`; ± the larger of their "
            "scatter and their own errors, over √n). Per metric: the floor over that mean "
            "(over one sample's error where the mean is at or below it, as ×floor is "
            "defined), and the mean ± its error. `benchmarks/jets_seed_spread.py "
            "--floor-spread` divides generators by this mean.", "",
            "| type | n | " + " | ".join(f"{k}: floor / mean (mean)" for k in METRICS) + " |",
            "| --- | ---: | " + " | ".join("---" for _ in METRICS) + " |", *rows]


def render(result: dict) -> str:
    q = f"{100 * QUANTILE:g} %"
    lines = ["# The truth's own ×floor: independent truth samples judged as generators", "",
             f"Machine: {result['machine']['cpu']}, {result['machine']['logical_cpus']} logical "
             f"CPUs. Command: `{result['command']}`. {result['jets']} jets per sample; truth "
             f"`{result['truth']}`, floor `{result['truth_floor']}` (the truth against it, as "
             "in `benchmarks/jets_time_fidelity.py`); metrics: jetnet v0.2.5 definitions, seed "
             f"{result['metric_seed']}, settings {result['metric_settings']}.", "",
             "Each draw is a sample of independent truth jets cut from the draw files, judged "
             "against the truth as a generator would be and divided by the same floor: ×floor "
             "= value / max(floor value, floor error). A perfect generator's ×floor scatters "
             f"as these do. Per metric: median [{q} quantile, largest] over the draws; worst: "
             f"the largest ×floor of the five in a draw; within {GOOD:g}×: the draws with every "
             f"metric within {GOOD:g}× of the floor; reach: the largest EFP of a draw's jets "
             "over the truth's largest (1: inside the truth's range), median [largest].", "",
             "| type | draws | " + " | ".join(METRICS) + f" | worst | within {GOOD:g}× | "
             "reach |",
             "| --- | ---: | " + " | ".join("---" for _ in METRICS) + " | --- | ---: | --- |"]
    for t, entry in result["types"].items():
        s = entry["summary"]
        reach = s["largest_reach"]
        lines.append(f"| {t} | {s['worst']['n']} | "
                     + " | ".join(_spread(s["metrics"][k]) for k in METRICS)
                     + f" | {_spread(s['worst'])} | {s['within']}/{s['worst']['n']} | "
                     f"{_x(reach['median'])} [{_x(reach['max'])}] |")
    lines += ["", "Left out of the draw files: " + "; ".join(
        f"{t}: {_left_out_text(entry['left_out'])}" for t, entry in result["types"].items())
        + ".", "", "## Every draw", "",
        "| type | draw | " + " | ".join(f"{k} ×floor" for k in METRICS)
        + " | worst | reach |",
        "| --- | --- | " + " | ".join("---:" for _ in METRICS) + " | --- | ---: |"]
    for t, entry in result["types"].items():
        for d in entry["draws"]:
            lines.append(f"| {t} | {d['draw']} | "
                         + " | ".join(_x(d["ratios"][k]) for k in METRICS)
                         + f" | {_x(d['worst_ratio'])} ({d['worst_metric']}) | "
                         f"{d['efp_range']['largest_reach']:.3g} |")
    return "\n".join(lines + _mean_floor_lines(result)) + "\n"


def parse_args(argv=None):
    p = script_parser(__doc__)
    p.add_argument("--truth", default="data/jets/{type}30_b5k.h5",
                   help="truth jets the draws are compared with ({type}: the type letter)")
    p.add_argument("--truth-floor", default="data/jets/{type}30_a5k.h5",
                   help="independent truth jets that set the floor, as in "
                        "jets_time_fidelity.py")
    p.add_argument("--draws", nargs="+", metavar="PATTERN",
                   default=["data/jets/{type}30_a.h5", "data/jets/{type}30_b50k.h5"],
                   help="files of independent truth jets cut into disjoint draws of --jets")
    p.add_argument("--types", default="gqtwz", help="jet type letters, e.g. tw")
    p.add_argument("--jets", type=int, default=5000, help="jets per sample (as the benchmark's)")
    p.add_argument("--metric-seed", type=int, default=42)
    p.add_argument("--quick", action="store_true",
                   help="fewer metric batches (as jets_time_fidelity.py --quick)")
    p.add_argument("--out-dir", default=str(Path(__file__).parent / "results"))
    p.add_argument("--name", default="jets_floor_spread")
    p.add_argument("--render-only", action="store_true",
                   help="re-render NAME.md from NAME.json")
    args = p.parse_args(argv)
    if set(args.types) - set(JET_TYPES) or not args.types:
        p.error(f"--types: letters of {''.join(JET_TYPES)}, got {args.types!r}")
    if args.jets < 10:
        p.error("--jets must be at least 10")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return 0
    settings = metric_settings(args.jets, args.quick)
    result = {"machine": machine_info(), "command": command_line(), "jets": args.jets,
              "truth": args.truth, "truth_floor": args.truth_floor,
              "metric_seed": args.metric_seed, "metric_settings": settings.as_dict(),
              "draws": args.draws, "quick": args.quick, "types": {}}
    started = time.perf_counter()
    try:
        for jet_type in args.types:
            result["types"][jet_type] = measure_type(jet_type, args, settings)
    except LhcgenError as exc:
        sys.exit(f"error: {exc}")
    result["seconds"] = time.perf_counter() - started
    stem.parent.mkdir(parents=True, exist_ok=True)
    write_results(stem, result, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
