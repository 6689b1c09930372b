"""FPD and KPD with and without the jets beyond the truth's EFP range: the bulk or the strays?

FPD and KPD scale each of the 36 EFPs by its largest value among the truth jets, and a jet
beyond that range weighs on FPD as (its reach)² / N (``lhcgen.evaluate.jets.efp_range``).
`benchmarks/jets_time_fidelity.py` counts those jets beside FPD; this measures what they
carry. Every sample, generated (--generated) and Pythia's (the floor's --truth-floor and
the independent --draws), is judged against --truth twice:

* all: its first --jets jets, with the time-fidelity benchmark's metric settings at that size
  (so these values repeat that benchmark's and `benchmarks/jets_floor_spread.py`'s);
* inside: the same jets less those beyond the truth's EFP range (reach > 1, any EFP above the
  truth's largest of it), with the settings of the smallest such sample, the same for all.

Each value is divided by the mean over the Pythia samples (the floor and the draws, judged
the same way: ``mean_of_draws``), as `benchmarks/jets_seed_spread.py --floor-spread` does;
a Pythia sample's own ratio shows how far one truth sample scatters. Jets are removed from
the Pythia samples by the same rule as from the generated ones: a truth jet beyond another
truth sample's range is a real jet, so the inside ratios answer "how far is the generator
from Pythia in the bulk both share", not "is FPD right".

    python benchmarks/jets_efp_strays.py --type t --jets 50000 \\
        --truth data/jets/t150_b.h5 --truth-floor data/jets/t150_a.h5 \\
        --draws data/jets/t150_c50k.h5 data/jets/t150_d50k.h5 data/jets/t150_e50k.h5 \\
            data/jets/t150_f50k.h5 \\
        --generated runs/samples_150_ft2_50k/t_generated_*.h5 \\
        --name jets_efp_strays_150_50k

Writes benchmarks/results/NAME.json and NAME.md; nothing is trained or generated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jets_time_fidelity import metric_dict, metric_settings  # noqa: E402
from judged_samples import (  # noqa: E402
    add_sample_options,
    check_sample_options,
    load_samples,
    mean_floor,
    ratio_entry,
    run,
    value_pm,
    x_pm,
)
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.evaluate.jets.efp_range import efp_reach  # noqa: E402
from lhcgen.evaluate.jets.metrics import JetSample, efp_distances  # noqa: E402
from machine import script_parser  # noqa: E402

STRAY_METRICS = ("fpd", "kpd")
CUTS = ("all", "inside")


def features(args) -> tuple[JetSample, list[dict]]:
    """The truth's EFPs and every judged sample's (``judged_samples.load_samples``)."""
    truth_jets, entries = load_samples(args)
    truth = JetSample.from_particles(truth_jets.particles, truth_jets.mask)
    for entry in tqdm(entries, desc=f"[{args.type}] EFPs", unit="sample"):
        jets = entry.pop("jets")
        entry["sample"] = JetSample.from_particles(jets.particles, jets.mask)
    return truth, entries


def judge(truth: JetSample, entries: list[dict], args) -> dict:
    """FPD and KPD of every sample, all and inside the truth's range, with the mean floors."""
    for entry in entries:
        reach = efp_reach(truth.efps, entry["sample"].efps)
        entry["inside_mask"] = reach <= 1.0
        entry["n_beyond"] = int(np.sum(~entry["inside_mask"]))
        entry["largest_reach"] = float(reach.max())
    n_inside = min(int(e["inside_mask"].sum()) for e in entries)
    if n_inside < 10:
        raise LhcgenError(f"only {n_inside} jets of one sample lie inside the truth's EFP "
                          "range: nothing to judge")
    settings = {"all": metric_settings(args.jets, args.quick),
                "inside": metric_settings(n_inside, args.quick)}
    rows = []
    for entry in tqdm(entries, desc=f"[{args.type}] FPD and KPD", unit="sample"):
        sample = entry.pop("sample")
        inside = sample.subset(entry.pop("inside_mask"))
        metrics = {cut: metric_dict(efp_distances(truth, s, seed=args.metric_seed,
                                                  settings=settings[cut]))
                   for cut, s in (("all", sample), ("inside", inside))}
        rows.append({**entry, "n_inside": len(inside), "metrics": metrics})
    floors = {cut: {k: mean_floor(rows, lambda r, cut=cut, k=k: r["metrics"][cut][k])
                    for k in STRAY_METRICS} for cut in CUTS}
    for row in rows:
        row["ratios"] = {cut: {k: ratio_entry(row["metrics"][cut][k], floors[cut][k])
                               for k in STRAY_METRICS} for cut in CUTS}
    return {"n_inside_settings": n_inside,
            "metric_settings": {cut: s.as_dict() for cut, s in settings.items()},
            "mean_floor": floors, "rows": rows}


def render(result: dict) -> str:
    s = result["strays"]
    lines = [
        "# FPD and KPD with and without the jets beyond the truth's EFP range", "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['logical_cpus']} logical "
        f"CPUs. Command: `{result['command']}`. {result['seconds']:.0f} s. Type "
        f"{result['type']}, {result['jets']} jets per sample; truth `{result['truth']}`; "
        f"metrics: jetnet v0.2.5 definitions, seed {result['metric_seed']}.", "",
        "Each sample is judged against the truth with all its jets (the time-fidelity "
        "benchmark's settings at "
        f"{result['jets']} jets) and *inside*: less its jets beyond the truth's EFP range "
        "(any EFP above the truth's largest of it; reach > 1), at the settings of "
        f"{s['n_inside_settings']} jets, the smallest such sample, for every sample alike. "
        "×floor: the value over the mean of the Pythia samples (the floor and the draws) "
        "judged the same way, ± to first order (`ratio_to_floor_error`).", "",
        "| sample | kind | beyond | farthest reach | FPD ×floor, all | FPD ×floor, inside "
        "| KPD ×floor, all | KPD ×floor, inside |",
        "| --- | --- | ---: | ---: | --- | --- | --- | --- |"]
    for r in s["rows"]:
        lines.append(f"| {r['label']} | {r['kind']} | {r['n_beyond']} | "
                     f"{r['largest_reach']:.3g} | " + " | ".join(
                         x_pm(r["ratios"][cut][k]) for k in STRAY_METRICS for cut in CUTS)
                     + " |")
    lines += ["", "Mean floor (the Pythia samples' mean ± its error, n samples):", "",
              "| cut | n | FPD | KPD |", "| --- | ---: | --- | --- |"]
    for cut in CUTS:
        floor = s["mean_floor"][cut]
        n = next((f["n"] for f in floor.values() if f), 0)
        lines.append(f"| {cut} | {n} | {value_pm(floor['fpd'])} | {value_pm(floor['kpd'])} |")
    lines += ["", "Values (± the metric's error):", "",
              "| sample | FPD, all | FPD, inside | KPD, all | KPD, inside |",
              "| --- | --- | --- | --- | --- |"]
    for r in s["rows"]:
        lines.append(f"| {r['label']} | " + " | ".join(
            value_pm(r["metrics"][cut][k]) for k in STRAY_METRICS for cut in CUTS) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    p = script_parser(__doc__)
    add_sample_options(p, "jets_efp_strays")
    p.add_argument("--quick", action="store_true",
                   help="fewer metric batches (as jets_time_fidelity.py --quick)")
    args = p.parse_args(argv)
    check_sample_options(p, args)
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    return run(args, lambda a: judge(*features(a), a), "strays", render, quick=args.quick)


if __name__ == "__main__":
    raise SystemExit(main())
