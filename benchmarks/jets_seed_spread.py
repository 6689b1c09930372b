"""How far one sampling seed's verdict of benchmarks/jets_time_fidelity.py can be trusted.

At 5000 jets a few generated jets whose EFPs reach far beyond the truth's range (the
benchmark's ``efp_range.largest_reach``) can multiply FPD several times over: one seed's
worst ratio to the floor is then a draw, not a verdict. This reads results of
jets_time_fidelity.py made with different ``--seed`` and otherwise the same truth, floor,
jets and metric settings, and tabulates per type, run and setting the worst ×floor of each
seed (its metric and the largest EFP reach), their median, their range, and in how many
seeds every metric is within 2× of the floor (settings measured at one seed only are left
out). With ``--reference RUN`` (a teacher, say) the
median of each setting is also given as a multiple of that run's median for the same type:
what "within 1.5× of the best model" asks.

    python benchmarks/jets_seed_spread.py --results jets_time_fidelity_cd_gpu_ft2_seed2 \\
        jets_time_fidelity_cd_gpu_ft2_seed3 ... --reference jets_edm_all_gpu_ft2_conditions \\
        --name jets_seed_spread_cd_gpu_ft2

Only the results' JSON is read (benchmarks/results/NAME.json); nothing is generated.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import command_line  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

SAME = ("jets", "truth", "truth_floor", "metric_seed", "metric_settings")
"""What results must share to be seeds of one measurement."""
WITHIN = 2.0


def setting_label(row: dict) -> str:
    """The sampler of a row as the time-fidelity benchmark names it: solver, steps and
    its options (re-noise levels, S_churn)."""
    options = "".join(f"@{key}={value:g}" for key, value in sorted(row["options"].items()))
    return f"{row['solver']}:{row['steps']}{options}" + (
        "" if row.get("pt_sum", "conserved") == "conserved" else " (raw Σ pT)")


def read_result(name: str, out_dir: Path) -> dict:
    path = out_dir / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        sys.exit(f"error: {path}: no such result; run benchmarks/jets_time_fidelity.py "
                 f"with --name {name} first")
    except json.JSONDecodeError as exc:
        sys.exit(f"error: {path}: not a JSON result ({exc})")


def gather(results: dict[str, dict]) -> dict:
    """{(type, protocol, run, setting): {seed: row}}; one line if the results are not
    seeds of one measurement."""
    first_name, first = next(iter(results.items()))
    groups: dict[tuple, dict[int, dict]] = {}
    for name, result in results.items():
        if "rows" not in result or "seed" not in result:
            sys.exit(f"error: {name}: not a result of benchmarks/jets_time_fidelity.py")
        differ = [key for key in SAME if result.get(key) != first.get(key)]
        if differ:
            sys.exit(f"error: {name} and {first_name} differ in {', '.join(differ)}: "
                     "only results of the same truth, floor, jets and metric settings are "
                     "seeds of one measurement")
        for row in result["rows"]:
            if "worst_ratio" not in row:
                continue  # a setting that failed or was skipped
            key = (row["type"], row["protocol"], row["run"], setting_label(row))
            seeds = groups.setdefault(key, {})
            if result["seed"] in seeds:
                sys.exit(f"error: {name}: seed {result['seed']} of {' '.join(key[2:])} "
                         f"({key[0]}, {key[1]}) is in two results; give each seed once")
            seeds[result["seed"]] = row
    return groups


def summarise(groups: dict, reference: str) -> list[dict]:
    rows = []
    for (jet_type, protocol, run, setting), seeds in sorted(groups.items()):
        if len(seeds) < 2:
            continue  # a setting measured at one seed only
        measured = [seeds[seed] for seed in sorted(seeds)]
        worst = [row["worst_ratio"] for row in measured]
        rows.append({
            "type": jet_type, "protocol": protocol, "run": run, "setting": setting,
            "seeds": sorted(seeds), "worst": worst,
            "worst_metric": [row["worst_metric"] for row in measured],
            "largest_reach": [row.get("efp_range", {}).get("largest_reach")
                              for row in measured],
            "median": statistics.median(worst), "min": min(worst), "max": max(worst),
            "within": sum(w <= WITHIN for w in worst),
            "jets_per_second": statistics.median(row["jets_per_second"] for row in measured),
            "times_simulator": statistics.median(row["times_simulator"] for row in measured)})
    if reference:
        medians = {(r["type"], r["protocol"]): r["median"] for r in rows if r["run"] == reference}
        if not medians:
            sys.exit(f"error: --reference {reference}: no rows of that run in the results")
        for r in rows:
            base = medians.get((r["type"], r["protocol"]))
            r["of_reference"] = None if base is None else r["median"] / base
    return rows


def render(result: dict) -> str:
    reference = result["reference"]
    lines = ["# Jets generators: one seed's verdict against several", "",
             f"Command: `{result['command']}`.", "",
             f"Results: {', '.join(f'`{n}` (seed {s})' for n, s in result['inputs'].items())}; "
             f"{result['jets']} generated and truth jets per comparison, truth "
             f"`{result['truth']}`, floor `{result['truth_floor']}`. worst: the largest "
             "×floor of the five JetNet metrics in each seed, its metric, and the largest EFP "
             "reach (a generated jet's EFP over the truth's largest; 1: inside the truth's "
             f"range); within {WITHIN:g}×: the seeds with every metric within {WITHIN:g}× of "
             "the floor. jets/s and ×sim: medians over the seeds"
             + (f"; × ref: the median over that of {reference} for the type." if reference
                else "."), ""]
    head = ("| type | protocol | run | setting | worst per seed (metric, reach) | median | "
            f"range | within {WITHIN:g}× | jets/s (×sim) |")
    if reference:
        head += " × ref |"
    lines += [head, "| --- | --- | --- | --- | --- | ---: | --- | ---: | ---: |"
              + (" ---: |" if reference else "")]
    for r in result["rows"]:
        per_seed = "; ".join(
            f"{w:.3g} ({m}, {reach:.2g})" if reach is not None else f"{w:.3g} ({m})"
            for w, m, reach in zip(r["worst"], r["worst_metric"], r["largest_reach"],
                                   strict=True))
        line = (f"| {r['type']} | {r['protocol']} | {r['run']} | {r['setting']} | {per_seed} "
                f"| {r['median']:.3g} | {r['min']:.3g}–{r['max']:.3g} | "
                f"{r['within']}/{len(r['seeds'])} | {r['jets_per_second']:.0f} "
                f"({r['times_simulator']:.2g}) |")
        if reference:
            ratio = r.get("of_reference")
            line += " - |" if ratio is None else f" {ratio:.2f} |"
        lines.append(line)
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", default=[],
                        help="names of jets_time_fidelity.py results (NAME.json in "
                             "--out-dir), one or more per seed")
    parser.add_argument("--reference", default="",
                        help="run label whose median the others are divided by (a teacher)")
    parser.add_argument("--out-dir", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--name", default="jets_seed_spread")
    parser.add_argument("--render-only", action="store_true",
                        help="re-render NAME.md from NAME.json")
    args = parser.parse_args(argv)
    if not args.render_only and len(args.results) < 2:
        parser.error("--results needs at least two results (seeds) to compare")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    stem = out_dir / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return 0
    results = {name: read_result(name, out_dir) for name in args.results}
    rows = summarise(gather(results), args.reference)
    first = next(iter(results.values()))
    result = {"command": command_line(), "reference": args.reference,
              "inputs": {name: r["seed"] for name, r in results.items()},
              **{key: first.get(key) for key in SAME}, "rows": rows}
    write_results(stem, result, render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
