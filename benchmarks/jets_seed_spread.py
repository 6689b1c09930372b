"""How far one sampling seed's verdict of benchmarks/jets_time_fidelity.py can be trusted.

At 5000 jets a few generated jets whose EFPs reach far beyond the truth's range (the
benchmark's ``efp_range.largest_reach``) can multiply FPD several times over: one seed's
worst ratio to the floor is then a draw, not a verdict. This reads results of
jets_time_fidelity.py made with different ``--seed`` and otherwise the same truth, floor,
jets and metric settings, and tabulates per type, run and setting the worst ×floor of each
seed (its metric and the largest EFP reach), their median, their range, and in how many
seeds every metric is within ``--target`` (2× unless given) of the floor (settings measured
at fewer than ``--min-seeds`` seeds, 2 unless given, are left out). With
``--reference RUN`` (a teacher, say) the median of each setting is also given as a multiple
of that run's median for the same type (of its best setting there, where it has several):
what "within 1.5× of the best model" asks. With ``--floor-spread NAME`` (a result of
benchmarks/jets_floor_spread.py for the same truth, floor, jets and metric settings) each
type also gets the truth's own row, independent truth samples judged as a generator, and
each setting its median as a multiple of the truth draws' median, the share of truth draws
whose worst ×floor is at least that median (how often Pythia itself scores as badly) and
the one-sided Mann-Whitney p-value that its seeds score worse than the truth draws. Where
that result holds each truth sample's metric values (every result of jets_floor_spread.py
does), the floor is also averaged over the floor and the truth draws, and each setting's
metrics, averaged over its seeds, are divided by that mean floor with their errors: the
verdict on ``--target`` (2× unless given; the issue's 3× at 150 particles) is "within"
where every metric is within it at one-sided 95 %, "beyond" where one is beyond it at 95 %,
and "open" otherwise. One floor draw is known to 25-60 % at 5000-10000 jets of 150
particles, too loosely to tell 3× from 2.5×; the mean of nine is known three times better.

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

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jets_floor_spread import mean_floor  # noqa: E402
from jets_time_fidelity import GOOD  # noqa: E402
from lhcgen.evaluate.jets.files import METRIC_ORDER  # noqa: E402
from lhcgen.evaluate.jets.metrics import (  # noqa: E402
    mean_of_draws,
    ratio_to_floor,
    ratio_to_floor_error,
)
from machine import command_line  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

SAME = ("jets", "truth", "truth_floor", "metric_seed", "metric_settings")
"""What results must share to be seeds of one measurement."""

Z_ONE_SIDED_95 = 1.6448536269514722
"""The standard normal's 95 % quantile: a ratio is within (beyond) the target at one-sided
95 % where ratio + (-) this many errors is within (beyond) it."""


def setting_label(row: dict) -> str:
    """The sampler of a row as the time-fidelity benchmark names it: solver, steps and
    its options (re-noise levels, S_churn), and what was done to the finished jets where it
    is not the default (the pT sum as the network made it; the jet mass bounded)."""
    options = "".join(f"@{key}={value:g}" for key, value in sorted(row["options"].items()))
    return f"{row['solver']}:{row['steps']}{options}" + (
        "" if row.get("pt_sum", "conserved") == "conserved" else " (raw Σ pT)") + (
        " (m ≤ m_jet)" if row.get("jet_mass") == "bounded" else "")


def read_result(name: str, out_dir: Path, script: str = "jets_time_fidelity.py") -> dict:
    path = out_dir / f"{name}.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        sys.exit(f"error: {path}: no such result; run benchmarks/{script} "
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


def truth_spread(name: str, spread: dict, first_name: str, first: dict) -> dict:
    """Per type the truth draws of a jets_floor_spread.py result: their worst ×floor (for the
    rank statistics) and, from that result's own summary, the median and range of the worst
    and each metric's largest ×floor; one line if it judged another truth,
    floor, jet count or metric settings than the results."""
    if "types" not in spread or "draws" not in spread:
        sys.exit(f"error: --floor-spread {name}: not a result of "
                 "benchmarks/jets_floor_spread.py")
    differ = [key for key in SAME if spread.get(key) != first.get(key)]
    if differ:
        sys.exit(f"error: --floor-spread {name} and {first_name} differ in "
                 f"{', '.join(differ)}: the truth's spread applies to the same truth, floor, "
                 "jets and metric settings only")
    types = {}
    for jet_type, entry in spread["types"].items():
        summary = entry["summary"]
        if summary["worst"]["n"]:
            types[jet_type] = {
                "worst": sorted(d["worst_ratio"] for d in entry["draws"]
                                if d["worst_ratio"] is not None),
                **{key: summary["worst"][key] for key in ("median", "min", "max")},
                "metric_max": {k: summary["metrics"][k]["max"] for k in METRIC_ORDER}}
            floor = mean_floor(entry)
            if floor:
                types[jet_type]["mean_floor"] = floor
    return {"name": name, "types": types}


def target_verdict(ratios: dict[str, dict], target: float,
                   z: float = Z_ONE_SIDED_95) -> dict:
    """{"verdict", "metrics"}: "beyond" (with the metrics) where some metric's ratio - z
    errors exceeds ``target``; else "open" (with the metrics that leave it so) where some
    ratio + z errors exceeds it or has no ratio or error; else "within"."""
    beyond = [k for k, r in ratios.items() if r["ratio"] is not None
              and r["error"] is not None and r["ratio"] - z * r["error"] > target]
    if beyond:
        return {"verdict": "beyond", "metrics": beyond}
    undecided = [k for k, r in ratios.items() if r["ratio"] is None or r["error"] is None
                 or r["ratio"] + z * r["error"] > target]
    return {"verdict": "open" if undecided else "within", "metrics": undecided}


def against_mean_floor(rows: list[dict], truth: dict, target: float) -> None:
    """Where the truth spread has the row's type and a mean floor: each metric's mean over
    the row's seeds over that mean floor with its error (``of_mean_floor``: {metric:
    {"ratio", "error"}}) and the verdict on ``target`` (``target_verdict``)."""
    for r in rows:
        floors = truth["types"].get(r["type"], {}).get("mean_floor")
        means = r.get("metric_means")
        if not floors or not means:
            continue
        r["of_mean_floor"] = {
            k: {"ratio": ratio_to_floor(means[k]["value"], floors[k]),
                "error": ratio_to_floor_error(means[k]["value"], means[k]["error"], floors[k])}
            for k in METRIC_ORDER}
        r["target_verdict"] = target_verdict(r["of_mean_floor"], target)


def against_truth(rows: list[dict], truth: dict) -> None:
    """Where the truth spread has the row's type: the row's median over the truth draws'
    median (``of_truth``), the share of truth draws whose worst ×floor is at least that
    median (``truth_at_least``), and the one-sided Mann-Whitney p-value that the seeds'
    worst ×floor lie above the truth draws' (``p_worse``: small when the generator is worse
    than the simulator's own spread, about 0.5 or more when it is not); and the metrics
    whose median ×floor over the seeds is beyond the largest of any truth draw
    (``beyond_truth``: {metric: [median, truth's largest]}), the metric-by-metric verdict."""
    from scipy.stats import mannwhitneyu

    for r in rows:
        draws = truth["types"].get(r["type"])
        if draws:
            r["of_truth"] = r["median"] / draws["median"]
            r["truth_at_least"] = sum(w >= r["median"] for w in draws["worst"]) / len(
                draws["worst"])
            r["p_worse"] = float(mannwhitneyu(r["worst"], draws["worst"],
                                              alternative="greater").pvalue)
            largest = draws.get("metric_max", {})
            r["beyond_truth"] = {
                k: [median, largest[k]] for k, median in r.get("metric_medians", {}).items()
                if median is not None and largest.get(k) is not None and median > largest[k]}


def metric_means(measured: list[dict]) -> dict | None:
    """Per JetNet metric the mean value over the seeds with its error (``mean_of_draws``);
    None where a seed lacks a value or an error."""
    means = {k: mean_of_draws([row.get("metrics", {}).get(k, {}) for row in measured])
             for k in METRIC_ORDER}
    if any(m is None or m["n"] < len(measured) for m in means.values()):
        return None
    return means


def metric_medians(measured: list[dict]) -> dict:
    """Per JetNet metric the median ×floor over the seeds (None where a seed lacks it)."""
    medians = {}
    for k in METRIC_ORDER:
        values = [row.get("metrics", {}).get(k, {}).get("ratio") for row in measured]
        medians[k] = None if None in values else statistics.median(values)
    return medians


def summarise(groups: dict, reference: str, min_seeds: int = 2,
              target: float = GOOD) -> list[dict]:
    """One row per type, protocol, run and setting measured at ``min_seeds`` seeds or more:
    the worst ×floor per seed, their median and range, and in how many seeds every metric
    is within ``target`` of the floor."""
    rows = []
    for (jet_type, protocol, run, setting), seeds in sorted(groups.items()):
        if len(seeds) < min_seeds:
            continue  # a setting measured at too few seeds
        measured = [seeds[seed] for seed in sorted(seeds)]
        worst = [row["worst_ratio"] for row in measured]
        rows.append({
            "type": jet_type, "protocol": protocol, "run": run, "setting": setting,
            "seeds": sorted(seeds), "worst": worst,
            "worst_metric": [row["worst_metric"] for row in measured],
            "largest_reach": [row.get("efp_range", {}).get("largest_reach")
                              for row in measured],
            "median": statistics.median(worst), "min": min(worst), "max": max(worst),
            "within": sum(w <= target for w in worst),
            "metric_medians": metric_medians(measured),
            **({"metric_means": means} if (means := metric_means(measured)) else {}),
            "jets_per_second": statistics.median(row["jets_per_second"] for row in measured),
            "times_simulator": statistics.median(row["times_simulator"] for row in measured)})
    if reference:
        medians: dict[tuple, float] = {}  # the reference run's best setting per type
        for r in rows:
            if r["run"] == reference:
                key = (r["type"], r["protocol"])
                medians[key] = min(medians.get(key, r["median"]), r["median"])
        if not medians:
            sys.exit(f"error: --reference {reference}: no rows of that run in the results")
        for r in rows:
            base = medians.get((r["type"], r["protocol"]))
            r["of_reference"] = None if base is None else r["median"] / base
    return rows


def _several(result: dict) -> bool:
    """Whether the reference run has more than one setting for a type and protocol."""
    keys = [(r["type"], r["protocol"]) for r in result["rows"] if r["run"] == result["reference"]]
    return len(keys) > len(set(keys))


def render(result: dict) -> str:
    reference = result["reference"]
    target = result.get("target", GOOD)  # results written before --target judged 2x
    lines = ["# Jets generators: one seed's verdict against several", "",
             f"Command: `{result['command']}`.", "",
             f"Results: {', '.join(f'`{n}` (seed {s})' for n, s in result['inputs'].items())}; "
             f"{result['jets']} generated and truth jets per comparison, truth "
             f"`{result['truth']}`, floor `{result['truth_floor']}`. worst: the largest "
             "×floor of the five JetNet metrics in each seed, its metric, and the largest EFP "
             "reach (a generated jet's EFP over the truth's largest; 1: inside the truth's "
             f"range); within {target:g}×: the seeds with every metric within {target:g}× of "
             "the floor. jets/s and ×sim: medians over the seeds"
             + (f"; × ref: the median over that of {reference} for the type"
                + (" (of its best setting there)" if _several(result) else "") + "."
                if reference else "."), ""]
    truth = result.get("floor_spread")
    if truth:
        lines += [f"Truth draws: `{truth['name']}` (benchmarks/jets_floor_spread.py), "
                  "samples of independent truth jets judged against the same truth and floor "
                  "as a generator: what the simulator itself scores. × truth: a setting's "
                  "median over the truth draws' median; truth ≥: the share of truth draws "
                  "whose worst ×floor is at least that median; p worse: the one-sided "
                  "Mann-Whitney p-value that the seeds' worst ×floor lie above the truth "
                  "draws' (small: worse than the simulator's own spread); beyond the truth: "
                  "the metrics whose median ×floor over the seeds exceeds the largest of any "
                  "truth draw (in brackets), metric by metric.", ""]
    head = ("| type | protocol | run | setting | worst per seed (metric, reach) | median | "
            f"range | within {target:g}× | jets/s (×sim) |")
    if reference:
        head += " × ref |"
    if truth:
        head += " × truth | truth ≥ | p worse | beyond the truth |"
    lines += [head, "| --- | --- | --- | --- | --- | ---: | --- | ---: | ---: |"
              + (" ---: |" if reference else "")
              + (" ---: | ---: | ---: | --- |" if truth else "")]
    shown = set()
    for r in result["rows"]:
        draws = truth["types"].get(r["type"]) if truth else None
        if draws and r["type"] not in shown:
            shown.add(r["type"])
            lines.append(f"| {r['type']} | - | truth draws | - | {len(draws['worst'])} draws "
                         f"| {draws['median']:.3g} | {draws['min']:.3g}–{draws['max']:.3g} | "
                         f"{sum(w <= target for w in draws['worst'])}/{len(draws['worst'])} | - |"
                         + (" - |" if reference else "") + " 1 | - | - | - |")
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
        if truth:
            line += (" - | - | - | - |" if "of_truth" not in r else
                     f" {r['of_truth']:.2f} | {100 * r['truth_at_least']:.0f} % | "
                     f"{r['p_worse']:.2g} | {_beyond(r)} |")
        lines.append(line)
    return "\n".join(lines + _mean_floor_section(result)) + "\n"


def _ratio_pm(ratio: dict) -> str:
    """'2.83 ± 0.31' ('-' where the ratio is undefined)."""
    if ratio["ratio"] is None:
        return "-"
    return f"{ratio['ratio']:.3g}" + ("" if ratio["error"] is None
                                      else f" ± {ratio['error']:.2g}")


def _mean_floor_section(result: dict) -> list[str]:
    """The rows' metrics over the mean floor and their verdict on the target (empty for
    results without a mean floor)."""
    truth = result.get("floor_spread") or {}
    rows = [r for r in result["rows"] if "of_mean_floor" in r]
    if not rows:
        return []
    target = result["target"]
    names = {k: k.upper() if k in ("fpd", "kpd") else "W1" + k[2:] for k in METRIC_ORDER}
    lines = ["", "## Against the mean floor", "",
             f"Floor: each metric's mean over the floor and the truth draws of "
             f"`{truth['name']}` (each a truth sample judged against the truth), ± its "
             "standard error: the larger of the samples' scatter and their own root-mean-"
             "square error, over √n (the floor of one draw is known only to its own error). "
             "A setting's metrics: their mean over its seeds, ± the same standard error. "
             "× mean floor: that mean over the mean floor (over one draw's error where the "
             "mean floor is at or below it, as for one floor), ± the propagated error (the "
             "seeds and the truth samples taken as independent, though all are judged "
             f"against one truth). within {target:g}×: every metric's ratio + "
             f"{Z_ONE_SIDED_95:.3f} errors is within {target:g}× (one-sided 95 %); beyond: "
             f"some metric's ratio − {Z_ONE_SIDED_95:.3f} errors is beyond it; open: neither "
             "(the metrics named).", "",
             "| type | protocol | run | setting | n | " + " | ".join(names.values())
             + f" | within {target:g}× |",
             "| --- | --- | --- | --- | ---: |" + " --- |" * len(names) + " --- |"]
    shown = set()
    for r in rows:
        floors = truth["types"][r["type"]]["mean_floor"]
        if r["type"] not in shown:
            shown.add(r["type"])
            lines.append(f"| {r['type']} | - | mean floor | - | {floors['w1m']['n']} | "
                         + " | ".join(f"{floors[k]['value']:.3g} ± {floors[k]['error']:.2g}"
                                      for k in METRIC_ORDER) + " | - |")
        verdict = r["target_verdict"]
        said = verdict["verdict"] + (
            f" ({', '.join(names[k] for k in verdict['metrics'])})" if verdict["metrics"] else "")
        lines.append(f"| {r['type']} | {r['protocol']} | {r['run']} | {r['setting']} | "
                     f"{len(r['seeds'])} | "
                     + " | ".join(_ratio_pm(r["of_mean_floor"][k]) for k in METRIC_ORDER)
                     + f" | {said} |")
    return lines


def _beyond(row: dict) -> str:
    beyond = row.get("beyond_truth")
    if beyond is None:
        return "-"
    return "; ".join(f"{k} {m:.3g} ({t:.3g})" for k, (m, t) in beyond.items()) or "none"


def plot(result: dict, path: Path) -> None:
    """Worst ×floor per seed (log scale), one panel per type, one column per run and
    setting, the median a bar; the truth draws first (grey) where a floor spread is given."""
    import matplotlib.style
    import mplhep
    from matplotlib.figure import Figure

    from lhcgen.io import atomic_path

    truth = (result.get("floor_spread") or {}).get("types", {})
    types = sorted({r["type"] for r in result["rows"]})
    with matplotlib.style.context([mplhep.style.CMS, {"font.size": 12.0}]):
        fig = Figure(figsize=(5.0 * len(types), 6.5))
        axes = fig.subplots(1, len(types), squeeze=False, sharey=True)[0]
        for ax, t in zip(axes, types, strict=True):
            columns = ([("truth draws", truth[t]["worst"], "grey")] if t in truth else [])
            columns += [(f"{r['run']}\n{r['setting']}", r["worst"], "#d62728")
                        for r in result["rows"] if r["type"] == t]
            jitter = np.random.default_rng(0)  # spreads the points sideways, the same each time
            for x, (_, values, colour) in enumerate(columns):
                ax.plot(x + jitter.uniform(-0.2, 0.2, len(values)), values, "o", color=colour,
                        ms=5, alpha=0.7)
                ax.plot([x - 0.3, x + 0.3], [statistics.median(values)] * 2, color=colour,
                        lw=2.5)
            ax.axhline(1.0, color="grey", lw=1)
            ax.axhline(result.get("target", GOOD), color="grey", ls=":", lw=1)
            ax.set_yscale("log")
            ax.set_xticks(range(len(columns)), [c[0] for c in columns], rotation=90,
                          fontsize=7)
            ax.set_xlim(-0.6, len(columns) - 0.4)
            ax.set_title(f"{t} jets", fontsize=12)
        axes[0].set_ylabel(f"worst metric / floor ({result['jets']} jets), per seed")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=80)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", nargs="+", default=[],
                        help="names of jets_time_fidelity.py results (NAME.json in "
                             "--out-dir), one or more per seed")
    parser.add_argument("--reference", default="",
                        help="run label whose median (of its best setting per type) the "
                             "others are divided by (a teacher)")
    parser.add_argument("--floor-spread", default="", metavar="NAME",
                        help="a result of jets_floor_spread.py (NAME.json in --out-dir): the "
                             "truth's own worst ×floor over independent truth samples")
    parser.add_argument("--target", type=float, default=GOOD,
                        help=f"the ratio to the mean floor every metric must be within "
                             f"(default {GOOD:g}; the issue's 3 at 150 particles), judged "
                             "at one-sided 95 %% where --floor-spread holds the truth "
                             "samples' values")
    parser.add_argument("--min-seeds", type=int, default=2,
                        help="settings measured at fewer seeds are left out (default 2; 1 "
                             "keeps single-seed settings, to set them against --floor-spread)")
    parser.add_argument("--out-dir", default=str(Path(__file__).parent / "results"))
    parser.add_argument("--name", default="jets_seed_spread")
    parser.add_argument("--render-only", action="store_true",
                        help="re-render NAME.md from NAME.json")
    args = parser.parse_args(argv)
    if args.min_seeds < 1:
        parser.error("--min-seeds must be at least 1")
    if not args.target > 0:
        parser.error(f"--target must be a positive ratio, got {args.target:g}")
    if not args.render_only and len(args.results) < args.min_seeds:
        parser.error(f"--results needs at least {args.min_seeds} results (seeds) to compare")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    out_dir = Path(args.out_dir)
    stem = out_dir / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return 0
    results = {name: read_result(name, out_dir) for name in args.results}
    rows = summarise(gather(results), args.reference, args.min_seeds, args.target)
    if not rows:
        sys.exit(f"error: no setting of the results was measured at {args.min_seeds} seeds "
                 "or more; give more seeds or a smaller --min-seeds")
    first_name, first = next(iter(results.items()))
    truth = None
    if args.floor_spread:
        truth = truth_spread(args.floor_spread,
                             read_result(args.floor_spread, out_dir, "jets_floor_spread.py"),
                             first_name, first)
        against_truth(rows, truth)
        against_mean_floor(rows, truth, args.target)
    result = {"command": command_line(), "reference": args.reference, "target": args.target,
              "inputs": {name: r["seed"] for name, r in results.items()},
              **{key: first.get(key) for key in SAME}, "rows": rows,
              **({"floor_spread": truth} if truth else {})}
    write_results(stem, result, render)
    plot(result, stem.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
