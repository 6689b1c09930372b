"""Is PhaseSpace:pTHatMin low enough? Two Z+jets samples at two settings, judged.

A = the reference sample at the default setting (data/zjets_test.h5, pTHatMin = 10 GeV);
B = a sample at a lower setting (5 GeV), made by this script unless it exists. The check:
  * the classifier test of B against A, both judges, with the floor from a second sample at
    the default (data/zjets_train.h5): the setting is low enough if B is within its error
    of the floor;
  * the leading-jet pT spectrum at 20-30 GeV (where events with a low p-hat would show),
    as fractions of all events, A against B, with the pull per bin;
  * the share of B's accepted events below the higher setting (p-hat from event_info);
  * the cost: accepted events/s of one Pythia worker at 5, 10 and 20 GeV, measured one
    after the other in this run on the same machine (Pythia initialisation included).

    python benchmarks/pthat_stability.py --low-events 30000
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import command_line, machine_info  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

SPECTRUM_EDGES = [20.0, 22.0, 24.0, 26.0, 28.0, 30.0]


def leading_jet_fractions(sample) -> tuple[list[float], list[float]]:
    """Weighted fraction of all events whose leading jet falls in each 20-30 GeV bin."""
    from lhcgen.physics.fourvectors import pt

    j1 = pt(sample.momenta[:, 2])
    w = sample.weights
    counts, _ = np.histogram(j1, bins=SPECTRUM_EDGES, weights=w)
    sq, _ = np.histogram(j1, bins=SPECTRUM_EDGES, weights=w**2)
    total = w.sum()
    return (counts / total).tolist(), (np.sqrt(sq) / total).tolist()


def rates(settings_values: list[float], events: int, seed: int) -> list[dict]:
    from lhcgen.data.zjets import ZJetsSettings, generate_shard

    out = []
    for value in settings_values:
        started = time.perf_counter()
        sample, stats = generate_shard(ZJetsSettings(hard_process="zjet", pthat_min=value),
                                       events, seed)
        seconds = time.perf_counter() - started
        out.append({"pthat_min": value, "accepted": len(sample), "seconds": round(seconds, 2),
                    "accepted_per_second": round(len(sample) / seconds, 2),
                    "acceptance": round(stats["n_accepted"] / stats["n_generated"], 4),
                    "generated": stats["n_generated"]})
        print(f"pTHatMin {value}: {out[-1]['accepted_per_second']} accepted/s", flush=True)
    return out


def classify(low: Path, reference: Path, floor: Path, report: Path, threads: int) -> dict:
    from lhcgen.evaluate.classifier.files import classify_files
    from lhcgen.evaluate.classifier.settings import ClassifierSettings

    metrics = classify_files(low, reference, report, ClassifierSettings(threads=threads),
                             progress=True, truth_2_path=floor)
    out = {}
    for name, judge in metrics["judges"].items():
        auc, floor_auc = judge["auc"]["all"], (judge.get("floor") or {}).get("all", {})
        out[name] = {"auc": auc["value"], "error": auc["error"],
                     "floor": floor_auc.get("value"), "floor_error": floor_auc.get("error"),
                     "distance": judge["distance"]["all"],
                     "per_multiplicity": {k: {"auc": a["value"], "error": a["error"],
                                              "distance": judge["distance"].get(k)}
                                          for k, a in judge["auc"].items() if k != "all"}}
    return out


def render(r: dict) -> str:
    from lhcgen.evaluate.html import with_error

    m = r["machine"]
    lines = ["# Is PhaseSpace:pTHatMin low enough? (Z+jets)", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs. Command: "
             f"`{r['command']}`.", "",
             f"A = `{r['reference']}` (pTHatMin {r['high']} GeV, {r['n_reference']} events); "
             f"B = `{r['low_file']}` (pTHatMin {r['low']} GeV, {r['n_low']} events); "
             f"floor: `{r['floor_file']}` (pTHatMin {r['high']} GeV) against A.", "",
             "## Classifier test of B against A (3-fold cross-fitted, `lhcgen classify`)", "",
             "| judge | AUC | floor | AUC − floor | 1 jet | 2 jets | 3 jets |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for name, j in r["classifier"].items():
        per = [f"{with_error(v['auc'], v['error'])} ({v['distance']:+.1f}σ)"
               for _, v in sorted(j["per_multiplicity"].items())]
        lines.append(f"| {name} | {with_error(j['auc'], j['error'])} | "
                     f"{with_error(j['floor'], j['floor_error'])} | {j['distance']:+.1f}σ | "
                     + " | ".join(per) + " |")
    lines += ["", "## Leading-jet pT at 20–30 GeV (fraction of all events)", "",
              "| bin [GeV] | A (pTHatMin " + f"{r['high']}) | B (pTHatMin {r['low']}) | pull |",
              "| --- | --- | --- | --- |"]
    s = r["spectrum"]
    for k in range(len(SPECTRUM_EDGES) - 1):
        a, ea = s["reference"][0][k], s["reference"][1][k]
        b, eb = s["low"][0][k], s["low"][1][k]
        pull = (b - a) / np.hypot(ea, eb)
        lines.append(f"| {SPECTRUM_EDGES[k]:.0f}–{SPECTRUM_EDGES[k + 1]:.0f} | "
                     f"{with_error(a, ea)} | {with_error(b, eb)} | {pull:+.1f} |")
    lines += ["", f"χ² = {s['chi2']:.1f} for {s['ndf']} bins.", "",
              f"Share of B's accepted events with p̂T < {r['high']} GeV (the events the "
              f"higher setting cannot make): {r['low_share']['value']:.4f} ± "
              f"{r['low_share']['error']:.4f}; with p̂T < 20 GeV: "
              f"{r['below_20']['value']:.4f} ± {r['below_20']['error']:.4f}.", "",
              f"## Cost (one Pythia worker, {r['rate_events']} accepted events each, one "
              "after the other in this run)", "",
              "| pTHatMin [GeV] | accepted events/s | acceptance | relative to 20 GeV |",
              "| ---: | ---: | ---: | ---: |"]
    ref = next(x for x in r["rates"] if x["pthat_min"] == 20.0)["accepted_per_second"]
    for x in r["rates"]:
        lines.append(f"| {x['pthat_min']:g} | {x['accepted_per_second']} | "
                     f"{x['acceptance']} | {x['accepted_per_second'] / ref:.2f} |")
    lines += ["", r.get("verdict", ""), ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="data/zjet_pthat10/zjets_test.h5")
    parser.add_argument("--floor", default="data/zjet_pthat10/zjets_train.h5")
    parser.add_argument("--low-file", default="data/zjet_pthat10/zjets_pthat5.h5")
    parser.add_argument("--low", type=float, default=5.0)
    parser.add_argument("--high", type=float, default=10.0)
    parser.add_argument("--low-events", type=int, default=30000)
    parser.add_argument("--rate-events", type=int, default=600)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--report", default="runs/pthat_stability")
    parser.add_argument("--out", default="benchmarks/results/pthat_stability")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if args.render_only:
        rerender(Path(args.out).with_suffix(".json"), render)
        return
    from lhcgen.data.hdf5 import read_events

    low_file = Path(args.low_file)
    if not low_file.is_file():
        subprocess.run([sys.executable, "-m", "lhcgen.cli", "data", "zjets", "--events",
                        str(args.low_events), "--seed", "5", "--workers", str(args.workers),
                        "--hard-process", "zjet", "--pthat-min", str(args.low), "--out",
                        str(low_file)], check=True)
    reference, low = read_events(args.reference), read_events(low_file)
    for sample, value, path in ((reference, args.high, args.reference),
                                (low, args.low, low_file)):
        got = sample.attrs["zjets_settings"]["pthat_min"]
        if got != value:
            sys.exit(f"error: {path} was made with pTHatMin {got}, expected {value}")
    classifier = classify(low_file, Path(args.reference), Path(args.floor),
                          Path(args.report), args.threads)
    spec_a, spec_b = leading_jet_fractions(reference), leading_jet_fractions(low)
    chi2 = float(sum(((b - a) / np.hypot(ea, eb)) ** 2 for a, ea, b, eb in
                     zip(spec_a[0], spec_a[1], spec_b[0], spec_b[1], strict=True)))
    pthat = low.event_info["pthat_gev"]
    share = float(np.mean(pthat < args.high))
    below_20 = float(np.mean(pthat < 20.0))
    measured = rates([args.low, args.high, 20.0], args.rate_events, seed=17)
    within = all(abs(j["distance"]) < 2.0 for j in classifier.values())
    verdict = (f"**Verdict:** B is within 2σ of the floor for every judge and χ²/ndf = "
               f"{chi2:.1f}/{len(spec_a[0])}: pTHatMin = {args.high:g} GeV is low enough."
               if within else
               f"**Verdict:** a judge separates B from A beyond 2σ: pTHatMin = "
               f"{args.high:g} GeV is NOT low enough.")
    result = {"machine": machine_info(), "command": command_line(),
              "reference": args.reference, "floor_file": args.floor, "low_file": str(low_file),
              "low": args.low, "high": args.high, "n_reference": len(reference),
              "n_low": len(low), "classifier": classifier,
              "spectrum": {"edges": SPECTRUM_EDGES, "reference": spec_a, "low": spec_b,
                           "chi2": chi2, "ndf": len(spec_a[0])},
              "low_share": {"value": share,
                            "error": float(np.sqrt(share * (1 - share) / len(low)))},
              "below_20": {"value": below_20,
                           "error": float(np.sqrt(below_20 * (1 - below_20) / len(low)))},
              "rates": measured, "rate_events": args.rate_events, "verdict": verdict,
              "within_floor": within}
    write_results(Path(args.out), result, render)


if __name__ == "__main__":
    main()
