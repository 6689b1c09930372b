"""Which hard process makes Z+jets without a generator cut? Inclusive Z against 2 -> 2 Z+jet.

The Z + parton 2 -> 2 process needs ``PhaseSpace:pTHatMin``, and its accepted events depend
on it (benchmarks/results/pthat_stability.md: 10 against 5 GeV fails the judges). Inclusive
q qbar -> Z has no cut: the jets come from the parton shower, whose first emission Pythia
corrects to the Z + jet matrix element, and from multiparton interactions (MPI). This script
puts the three samples side by side, all with the same event definition:

  * the accepted cross section in bins of leading-jet pT, in pb, and the ratio of each 2 -> 2
    sample to inclusive Z: at high pT the matrix-element-corrected shower must agree with
    the 2 -> 2 matrix element (both are LO Z + 1 parton); at low pT the 2 -> 2 sample must
    climb towards inclusive Z as its cut is lowered;
  * why the 2 -> 2 sample never converges: in its events with a low p-hat the leading jet is
    not the recoil of the Z (its pT balance and its azimuthal angle to the Z), i.e. it comes
    from radiation or MPI, which inclusive Z makes without double counting;
  * the jet multiplicities (untruncated) of each sample;
  * optionally (``--classify``) the classifier test of 2 -> 2 at the lowest cut against
    inclusive Z, with the inclusive-Z floor: how much the choice shows to the judges;
  * the cost: accepted events/s of one Pythia worker for each process, one after the other
    in this run on the same machine (run it with nothing else on the machine).

    python benchmarks/zjets_hard_process.py --classify
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import matplotlib.style
import mplhep
import numpy as np
from matplotlib.figure import Figure

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.io import atomic_path  # noqa: E402
from machine import command_line, machine_info  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

PT_EDGES = [20.0, 25.0, 30.0, 40.0, 60.0, 100.0, 200.0, 400.0]
PTHAT_BANDS = [(0.0, 10.0), (10.0, 20.0), (20.0, 40.0), (40.0, np.inf)]
BALANCED = (0.5, 1.5)
"""pT(j1) / pT(mumu) window counted as a jet that balances the Z."""
BACK_TO_BACK = 2.5
"""|Delta phi(mumu, j1)| above this counts as back to back."""


def _load(path: str):
    from lhcgen.data.hdf5 import read_events

    sample = read_events(path)
    settings = sample.attrs["zjets_settings"]
    label = ("inclusive Z" if settings.get("hard_process") == "z" else
             f"2→2, p̂T > {settings['pthat_min']:g} GeV")
    return sample, label


def cross_section_per_bin(sample) -> dict:
    """Accepted cross section in pb per leading-jet pT bin, with its error (the bin's
    binomial error and the file's cross-section error added in quadrature)."""
    from lhcgen.physics.fourvectors import pt

    a = sample.attrs
    sigma, sigma_err = a["accepted_cross_section_pb"], a["accepted_cross_section_error_pb"]
    j1 = pt(sample.momenta[:, 2])
    n = len(j1)
    counts, _ = np.histogram(j1, bins=PT_EDGES + [np.inf])
    frac = counts / n
    frac_err = np.sqrt(frac * (1 - frac) / n)
    value = sigma * frac
    error = value * np.sqrt(np.divide(frac_err, frac, out=np.zeros_like(frac),
                                      where=frac > 0) ** 2 + (sigma_err / sigma) ** 2)
    return {"sigma_pb": sigma, "sigma_error_pb": sigma_err, "value": value.tolist(),
            "error": error.tolist(), "counts": counts.tolist()}


def multiplicities(sample) -> dict:
    n_all = np.minimum(sample.event_info["n_jets_all"], 4)
    n = len(n_all)
    frac = np.array([np.mean(n_all == k) for k in (1, 2, 3, 4)])
    return {"value": frac.tolist(), "error": np.sqrt(frac * (1 - frac) / n).tolist()}


def recoil_by_pthat(sample) -> list[dict]:
    """Per p-hat band of a 2 -> 2 sample: share of events, and how often the leading jet
    balances the dimuon (pT ratio in BALANCED) and is back to back with it."""
    from lhcgen.physics.fourvectors import delta_phi, pt

    z = sample.momenta[:, 0] + sample.momenta[:, 1]
    j1 = sample.momenta[:, 2]
    ratio = pt(j1) / pt(z)
    dphi = np.abs(delta_phi(z, j1))
    pthat = sample.event_info["pthat_gev"]
    out = []
    for low, high in PTHAT_BANDS:
        sel = (pthat >= low) & (pthat < high)
        k = int(sel.sum())
        share = k / len(pthat)
        balanced = float(np.mean((ratio[sel] > BALANCED[0]) & (ratio[sel] < BALANCED[1])
                                 & (dphi[sel] > BACK_TO_BACK))) if k else float("nan")
        out.append({"pthat_low": low, "pthat_high": None if np.isinf(high) else high,
                    "events": k, "share": share,
                    "share_error": float(np.sqrt(share * (1 - share) / len(pthat))),
                    "balanced_back_to_back": balanced,
                    "balanced_error": float(np.sqrt(balanced * (1 - balanced) / k))
                    if k else None})
    return out


def rates(events: int, seed: int) -> list[dict]:
    from lhcgen.data.zjets import ZJetsSettings, generate_shard

    choices = [("inclusive Z", ZJetsSettings())] + [
        (f"2→2, p̂T > {v:g} GeV", ZJetsSettings(hard_process="zjet", pthat_min=v))
        for v in (5.0, 10.0, 20.0)]
    out = []
    for label, settings in choices:
        started = time.perf_counter()
        sample, stats = generate_shard(settings, events, seed)
        seconds = time.perf_counter() - started
        out.append({"process": label, "accepted": len(sample), "seconds": round(seconds, 2),
                    "accepted_per_second": round(len(sample) / seconds, 2),
                    "acceptance": round(stats["n_accepted"] / stats["n_generated"], 4)})
        print(f"{label}: {out[-1]['accepted_per_second']} accepted/s", flush=True)
    return out


def classify(other: str, inclusive: str, floor: str, report: str, threads: int) -> dict:
    from lhcgen.evaluate.classifier.files import classify_files
    from lhcgen.evaluate.classifier.settings import ClassifierSettings

    metrics = classify_files(Path(other), Path(inclusive), Path(report),
                             ClassifierSettings(threads=threads), progress=True,
                             truth_2_path=Path(floor))
    out = {}
    for name, judge in metrics["judges"].items():
        auc, floor_auc = judge["auc"]["all"], (judge.get("floor") or {}).get("all", {})
        out[name] = {"auc": auc["value"], "error": auc["error"],
                     "floor": floor_auc.get("value"), "floor_error": floor_auc.get("error"),
                     "distance": judge["distance"]["all"]}
    return out


def plot(r: dict, path: Path) -> None:
    edges = np.array(PT_EDGES)
    widths = np.diff(edges)
    colours = ["black", "#d62728", "#1f77b4"]
    with matplotlib.style.context([mplhep.style.CMS, {"font.size": 13.0}]):
        fig = Figure(figsize=(7.0, 7.0))
        top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1],
                                                                   "hspace": 0.05})
        ref = np.array(r["samples"][0]["per_bin"]["value"][:-1])
        for s, colour in zip(r["samples"], colours, strict=False):
            v = np.array(s["per_bin"]["value"][:-1]) / widths
            e = np.array(s["per_bin"]["error"][:-1]) / widths
            top.stairs(v, edges, color=colour, label=s["label"])
            centres = 0.5 * (edges[1:] + edges[:-1])
            top.errorbar(centres, v, e, ls="none", color=colour)
            bottom.errorbar(centres, v * widths / ref, e * widths / ref, xerr=widths / 2,
                            ls="none", marker="o", ms=3, color=colour)
        top.set_yscale("log")
        top.set_xscale("log")
        top.set_ylabel(r"d$\sigma$/d$p_T^{j_1}$ [pb/GeV]")
        top.legend(fontsize="small")
        bottom.axhline(1.0, color="grey", lw=1)
        bottom.set_ylim(0.5, 1.2)
        bottom.set_ylabel("/ incl. Z")
        bottom.set_xlabel(r"leading-jet $p_T$ [GeV]")
        fig.subplots_adjust(left=0.16, right=0.97, top=0.97, bottom=0.11)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=80)


def render(r: dict) -> str:
    from lhcgen.evaluate.html import with_error

    m = r["machine"]
    samples = r["samples"]
    lines = ["# Inclusive Z against 2 → 2 Z+jet: which hard process? (Z+jets)", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs. Command: "
             f"`{r['command']}`. The same event definition for all samples "
             "(docs/data-format.md).", "",
             "| sample | file | events | accepted σ [pb] |", "| --- | --- | ---: | ---: |"]
    for s in samples:
        lines.append(f"| {s['label']} | `{s['file']}` | {s['events']} | "
                     f"{with_error(s['per_bin']['sigma_pb'], s['per_bin']['sigma_error_pb'])} |")
    lines += ["", "## Accepted cross section per leading-jet pT bin [pb], ratio to inclusive Z",
              "", "| j1 pT [GeV] | " + " | ".join(s["label"] for s in samples) + " | "
              + " | ".join(f"{s['label']} / incl. Z" for s in samples[1:]) + " |",
              "| --- |" + " ---: |" * (2 * len(samples) - 1)]
    ref = samples[0]["per_bin"]
    bins = [f"{lo:g}–{hi:g}" for lo, hi in zip(PT_EDGES[:-1], PT_EDGES[1:], strict=True)]
    bins.append(f"> {PT_EDGES[-1]:g}")
    for k, name in enumerate(bins):
        cells = [with_error(s["per_bin"]["value"][k], s["per_bin"]["error"][k])
                 for s in samples]
        for s in samples[1:]:
            a, ea = s["per_bin"]["value"][k], s["per_bin"]["error"][k]
            b, eb = ref["value"][k], ref["error"][k]
            ratio = a / b if b else float("nan")
            err = ratio * np.hypot(ea / a if a else 0.0, eb / b if b else 0.0)
            cells.append(with_error(ratio, err))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += ["", "![spectrum](zjets_hard_process.png)", "",
              "## Jet multiplicity (untruncated, fraction of accepted events)", "",
              "| sample | 1 jet | 2 jets | 3 jets | ≥ 4 jets |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for s in samples:
        mult = s["multiplicity"]
        lines.append(f"| {s['label']} | " + " | ".join(
            with_error(v, e) for v, e in zip(mult["value"], mult["error"], strict=True)) + " |")
    for s in samples[1:]:
        lines += ["", f"## Where the leading jet of the 2 → 2 events comes from ({s['label']})",
                  "", f"Balanced: {BALANCED[0]} < pT(j1)/pT(μμ) < {BALANCED[1]} and "
                  f"|Δφ(μμ, j1)| > {BACK_TO_BACK}, i.e. the jet is the recoil of the Z.", "",
                  "| p̂T band [GeV] | share of accepted events | leading jet balances the Z |",
                  "| --- | ---: | ---: |"]
        for b in s["recoil"]:
            high = "∞" if b["pthat_high"] is None else f"{b['pthat_high']:g}"
            bal = ("–" if b["balanced_error"] is None else
                   with_error(b["balanced_back_to_back"], b["balanced_error"]))
            lines.append(f"| {b['pthat_low']:g}–{high} | "
                         f"{with_error(b['share'], b['share_error'])} | {bal} |")
    if r.get("classifier"):
        c = r["classifier"]
        lines += ["", f"## Classifier test: {c['other']} against inclusive Z", "",
                  f"Floor: `{c['floor_file']}` (inclusive Z) against `{c['inclusive_file']}`.",
                  "", "| judge | AUC | floor | AUC − floor |", "| --- | --- | --- | --- |"]
        for name, j in c["judges"].items():
            lines.append(f"| {name} | {with_error(j['auc'], j['error'])} | "
                         f"{with_error(j['floor'], j['floor_error'])} | {j['distance']:+.1f}σ |")
    if r.get("rates"):
        lines += ["", f"## Cost (one Pythia worker, {r['rate_events']} accepted events each, "
                  "one after the other in this run)", "",
                  "| process | accepted events/s | acceptance | relative to inclusive Z |",
                  "| --- | ---: | ---: | ---: |"]
        base = r["rates"][0]["accepted_per_second"]
        for x in r["rates"]:
            lines.append(f"| {x['process']} | {x['accepted_per_second']} | {x['acceptance']} | "
                         f"{x['accepted_per_second'] / base:.2f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inclusive", default="data/zjets_test.h5",
                        help="inclusive-Z sample (the make data test file)")
    parser.add_argument("--floor", default="data/zjets_train.h5",
                        help="a second inclusive-Z sample, for the classifier floor")
    parser.add_argument("--zjet", nargs="+",
                        default=["data/zjet_pthat10/zjets_test.h5",
                                 "data/zjet_pthat10/zjets_pthat5.h5"],
                        help="2 -> 2 samples (made with --hard-process zjet --pthat-min X); "
                             "the last one is judged with --classify")
    parser.add_argument("--classify", action="store_true")
    parser.add_argument("--rate-events", type=int, default=600,
                        help="accepted events per process for the cost (0: skip)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--report", default="runs/zjets_hard_process")
    parser.add_argument("--out", default="benchmarks/results/zjets_hard_process")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    out = Path(args.out)
    if args.render_only:
        rerender(out.with_suffix(".json"), render)
        return
    samples = []
    for path in [args.inclusive, *args.zjet]:
        sample, label = _load(path)
        if not samples and label != "inclusive Z":
            sys.exit(f"error: {path} is not an inclusive-Z sample ({label})")
        if samples and label == "inclusive Z":
            sys.exit(f"error: {path} is not a 2 -> 2 sample")
        entry = {"file": path, "label": label, "events": len(sample),
                 "per_bin": cross_section_per_bin(sample),
                 "multiplicity": multiplicities(sample)}
        if samples:
            entry["recoil"] = recoil_by_pthat(sample)
        samples.append(entry)
    result = {"machine": machine_info(), "command": command_line(), "samples": samples,
              "pt_edges": PT_EDGES}
    if args.classify:
        result["classifier"] = {
            "other": samples[-1]["label"], "inclusive_file": args.inclusive,
            "floor_file": args.floor,
            "judges": classify(args.zjet[-1], args.inclusive, args.floor, args.report,
                               args.threads)}
    if args.rate_events:
        result["rates"] = rates(args.rate_events, seed=17)
        result["rate_events"] = args.rate_events
    write_results(out, result, render)
    plot(result, out.with_suffix(".png"))


if __name__ == "__main__":
    main()
