"""Sampling speed and fidelity of a trained CFM against the number of function evaluations.

For each (solver, steps) the script samples the same number of events as the truth-test
file holds, times the whole pipeline (network + inverse preprocessing), and compares every
observable with truth-test through chi2/ndf, divided by the truth-train vs truth-test floor.
The simulator rate is the accepted-event rate of Pythia + FastJet on the same 2 cores: the
larger of the rate recorded when the truth file was generated (end to end) and the
2-worker steady-state rate of benchmarks/results/pythia_throughput.json, so the quoted
speed-up is the conservative one.

    python benchmarks/cfm_sampling.py --run runs/cfm --truth data/zjets_test.h5

Writes <out-dir>/<name>.json, .md and .png (median and worst ratio against NFE).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.hdf5 import read_events  # noqa: E402
from lhcgen.evaluate.events.report import evaluate_events  # noqa: E402
from lhcgen.io import atomic_path, write_text_atomic  # noqa: E402
from lhcgen.train.surrogate import Surrogate  # noqa: E402
from machine import machine_info  # noqa: E402

SWEEP = [("euler", 4), ("euler", 8), ("euler", 16), ("euler", 32), ("euler", 100),
         ("midpoint", 2), ("midpoint", 4), ("midpoint", 8), ("midpoint", 16), ("midpoint", 50),
         ("rk4", 1), ("rk4", 2), ("rk4", 4), ("rk4", 8), ("rk4", 25), ("dopri5", 1)]
"""(solver, steps): NFE of about 4, 8, 16, 32 and 100 for each fixed-step family."""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--run", required=True, help="run directory of a trained CFM")
    p.add_argument("--truth", required=True, help="held-out truth file")
    p.add_argument("--train", default=None, help="truth-train file (default: the run's)")
    p.add_argument("--events", type=int, default=0, help="events per point (0: as truth)")
    p.add_argument("--batch-size", type=int, default=20000)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--rerender", default=None, metavar="JSON",
                   help="only recompute the speed-ups of an earlier result against the "
                        "current --simulator-json and rewrite its .md and .png")
    p.add_argument("--solvers", default="euler,midpoint,rk4,dopri5",
                   help="comma-separated solver families to sweep")
    p.add_argument("--simulator-json", default="benchmarks/results/pythia_throughput.json",
                   help="pythia_throughput.py results (steady-state simulator rate)")
    p.add_argument("--out-dir", default="benchmarks/results")
    p.add_argument("--name", default="cfm_sampling")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.rerender:
        rerender(Path(args.rerender), Path(args.simulator_json))
        return
    torch.set_num_threads(args.threads)
    surrogate = Surrogate.load(args.run, torch.device("cpu"))
    truth = read_events(args.truth)
    train = read_events(args.train or surrogate.train_file())
    n = args.events or len(truth)
    simulator_rates = {"truth_file_end_to_end": float(truth.attrs["accepted_events_per_second"])}
    steady = steady_state_rate(Path(args.simulator_json), truth.attrs.get("workers", 2))
    if steady is not None:
        simulator_rates["pythia_throughput_pipeline"] = steady
    simulator = max(simulator_rates.values())
    surrogate.generate(min(n, 2000), "euler", 2, args.batch_size, progress=False)  # warm-up
    rows = []
    families = args.solvers.split(",")
    for solver, steps in [point for point in SWEEP if point[0] in families]:
        started = time.perf_counter()
        sample, info = surrogate.generate(n, solver, steps, args.batch_size, args.seed,
                                          progress=False)
        seconds = time.perf_counter() - started
        metrics = evaluate_events(sample, truth, None, truth_train=train, info=info)
        summary = metrics["summary"]
        rate = len(sample) / seconds
        row = {
            "solver": solver, "steps": steps if solver != "dopri5" else None,
            "nfe": info["nfe"], "events": len(sample), "seconds": round(seconds, 3),
            "events_per_second": round(rate, 1),
            "speedup_vs_simulator": round(rate / simulator, 1),
            "median_chi2_ratio": summary["median_ratio"],
            "worst_chi2_ratio": summary["worst_ratio"],
            "worst_observable": summary["worst_observable"],
            "m_mumu_chi2_ratio": metrics["observables"]["m_mumu"]["ratio"],
            "fraction_delta_r_jj_below_0p4": info["cut_violations"]["jet_delta_r"] / len(sample),
            "fraction_any_cut_violated": info["cut_violations"]["any_selection_cut"]
            / len(sample),
            "n_nonfinite": info["n_nonfinite"],
        }
        rows.append(row)
        print(json.dumps(row))
    result = {
        "machine": machine_info(), "threads": args.threads, "batch_size": args.batch_size,
        "run": str(Path(args.run).resolve()), "truth": str(Path(args.truth).resolve()),
        "truth_events": len(truth), "train_events": len(train),
        "simulator_accepted_events_per_second": simulator,
        "simulator_rates_considered": simulator_rates,
        "simulator_workers": truth.attrs.get("workers"), "points": rows,
    }
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / f"{args.name}.json", json.dumps(result, indent=2))
    write_text_atomic(out / f"{args.name}.md", markdown(result))
    plot(rows, out / f"{args.name}.png")


def steady_state_rate(simulator_json: Path, workers: int) -> float | None:
    """Accepted events/s of the lhcgen Pythia pipeline on ``workers`` processes."""
    if not simulator_json.is_file():
        return None
    runs = json.loads(simulator_json.read_text())["runs"]
    match = [r for r in runs if r["workers"] == workers]
    return match[0]["total"]["pipeline_accepted_per_s"] if match else None


def rerender(path: Path, simulator_json: Path) -> None:
    result = json.loads(path.read_text())
    rates = {"truth_file_end_to_end": result["simulator_rates_considered"][
        "truth_file_end_to_end"]}
    steady = steady_state_rate(simulator_json, result["simulator_workers"] or 2)
    if steady is not None:
        rates["pythia_throughput_pipeline"] = steady
    result["simulator_rates_considered"] = rates
    result["simulator_accepted_events_per_second"] = simulator = max(rates.values())
    for row in result["points"]:
        row["speedup_vs_simulator"] = round(row["events_per_second"] / simulator, 1)
    write_text_atomic(path, json.dumps(result, indent=2))
    write_text_atomic(path.with_suffix(".md"), markdown(result))
    plot(result["points"], path.with_suffix(".png"))


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# CFM sampling: speed and fidelity against the number of function evaluations", "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, torch {m['torch']} with "
        f"{result['threads']} threads, batch size {result['batch_size']}, CPU. Run: "
        f"`{result['run']}`. Each point samples {result['points'][0]['events']} events and "
        f"compares them with {result['truth_events']} truth-test events; the floor is "
        f"truth-train ({result['train_events']}) vs truth-test.", "",
        f"Simulator: Pythia 8 + FastJet, {result['simulator_accepted_events_per_second']:.1f} "
        f"accepted events/s on {result['simulator_workers']} workers (same machine; the "
        "larger of " + ", ".join(f"{k} {v:.1f}" for k, v in
                                 result["simulator_rates_considered"].items()) + ").", "",
        "| solver | steps | NFE | events/s | × simulator | median χ² ratio | worst χ² ratio "
        "(observable) | m_μμ χ² ratio | ΔR_jj < 0.4 | any cut violated |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in result["points"]:
        lines.append(
            f"| {r['solver']} | {r['steps'] or 'adaptive'} | {r['nfe']} | "
            f"{r['events_per_second']:.0f} | {r['speedup_vs_simulator']:.1f} | "
            f"{r['median_chi2_ratio']:.2f} | {r['worst_chi2_ratio']:.2f} "
            f"({r['worst_observable']}) | {r['m_mumu_chi2_ratio']:.2f} | "
            f"{100 * r['fraction_delta_r_jj_below_0p4']:.2f} % | "
            f"{100 * r['fraction_any_cut_violated']:.2f} % |")
    lines += ["", "χ² ratio = χ²/ndf(generated vs truth-test) / χ²/ndf(truth-train vs "
              "truth-test); 1 means as good as the statistical floor.", ""]
    return "\n".join(lines)


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    nfe = np.array([r["nfe"] for r in rows])
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(nfe, [r["median_chi2_ratio"] for r in rows], "o-", label="median observable")
    ax.plot(nfe, [r["worst_chi2_ratio"] for r in rows], "s--", label="worst observable")
    ax.axhline(1.0, color="grey", lw=1, label="statistical floor")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of function evaluations")
    ax.set_ylabel(r"$\chi^2/\mathrm{ndf}$ generated / floor")
    ax.legend()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    main()
