"""The Z+jets event definition before and after dressing, jet |eta| and overlap removal.

Before: a file made by the old definition (bare muons, no jet |eta| cut, no overlap
removal, pTHatMin = 20 GeV), or, without --before, a sample the script makes with those
settings (``LEGACY``). After: a file of the current definition. For both: the share
of events with a stored jet within Delta R < 0.4 of a muon, the jet multiplicities, the
largest jet |eta| and the m_mumu peak. Then bare against dressed muons on the same Pythia
stream (the current definition with ``dressing_radius`` 0 and 0.1): the m_mumu
distribution, its FSR tail below the peak and the fitted peak width.

    python benchmarks/zjets_definition.py --before data/v1/zjets_test.h5 --after data/zjets_test.h5
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from machine import command_line, machine_info  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

LEGACY = {"dressing_radius": 0.0, "overlap_radius": 0.0, "jet_abs_eta_max": 100.0,
          "hard_process": "zjet", "pthat_min": 20.0}
"""The settings of the definition before issue 12 (bare muons, no jet |eta| cut, no overlap
removal, pTHatMin 20 GeV)."""


def legacy_sample(events: int, seed: int, workers: int):
    from lhcgen.data.shards import generate_zjets
    from lhcgen.data.zjets import ZJetsSettings

    return generate_zjets(events, seed, workers=workers, shard_size=1000,
                          settings=dataclasses.replace(ZJetsSettings(), **LEGACY))


def describe(sample) -> dict:
    from lhcgen.physics.fourvectors import delta_r, eta, mass

    p, mask = sample.momenta, sample.mask
    near = np.zeros(len(sample), dtype=bool)
    for j in range(2, p.shape[1]):
        for m in range(2):
            near |= mask[:, j] & (delta_r(p[:, j], p[:, m]) < 0.4)
    m_mumu = mass(p[:, 0] + p[:, 1])
    jet_eta = np.abs(eta(p[:, 2:]))[mask[:, 2:]]
    n = len(sample)
    fractions = {str(k): float(np.mean(sample.multiplicity == k)) for k in (1, 2, 3)}
    out = {"events": n, "jet_near_muon": float(near.mean()),
           "jet_near_muon_error": float(np.sqrt(near.mean() * (1 - near.mean()) / n)),
           "multiplicity": fractions, "max_jet_abs_eta": float(jet_eta.max()),
           "jets_beyond_4.5": int((jet_eta > 4.5).sum()), **mass_summary(m_mumu)}
    if "n_jets_all" in sample.event_info:
        out["four_or_more_jets"] = float(np.mean(sample.event_info["n_jets_all"] >= 4))
    return out


def mass_summary(m: np.ndarray) -> dict:
    """Peak facts of an m_mumu sample: median near the peak, the low tail, a robust width."""
    window = m[(m > 81) & (m < 101)]
    q16, q50, q84 = np.percentile(window, [16, 50, 84])
    return {"m_median_81_101": float(q50), "m_half_width_68": float((q84 - q16) / 2),
            "m_below_86": float(np.mean(m < 86.0)),
            "m_81_101": float(np.mean((m > 81) & (m < 101))),
            "m_histogram": np.histogram(m, bins=40, range=(70, 110))[0].tolist()}


def bare_and_dressed(events: int, seed: int) -> dict:
    from lhcgen.data.zjets import ZJetsSettings, generate_shard
    from lhcgen.physics.fourvectors import mass

    out = {}
    for name, radius in (("bare", 0.0), ("dressed", 0.1)):
        settings = dataclasses.replace(ZJetsSettings(), dressing_radius=radius)
        sample, stats = generate_shard(settings, events, seed)
        m = mass(sample.momenta[:, 0] + sample.momenta[:, 1])
        out[name] = {"events": len(sample), "generated": stats["n_generated"],
                     "acceptance": stats["n_accepted"] / stats["n_generated"],
                     **mass_summary(m)}
        print(f"{name}: {out[name]['m_below_86']:.4f} below 86 GeV", flush=True)
    return out


def render(r: dict) -> str:
    b, a = r["before"], r["after"]
    lines = ["# Z+jets event definition: before and after", "",
             f"Machine: {r['machine']['cpu']}, {r['machine']['logical_cpus']} logical CPUs. "
             f"Command: `{r['command']}`.", "",
             f"Before: `{r['before_file']}` (bare muons, no jet |η| cut, no overlap removal, "
             f"pTHatMin 20 GeV). After: `{r['after_file']}` (docs/data-format.md).", "",
             "| quantity | before | after |", "| --- | ---: | ---: |",
             f"| events | {b['events']} | {a['events']} |",
             f"| events with a stored jet within ΔR < 0.4 of a muon | "
             f"{100 * b['jet_near_muon']:.2f} ± {100 * b['jet_near_muon_error']:.2f} % | "
             f"{100 * a['jet_near_muon']:.2f} % |"]
    for k in ("1", "2", "3"):
        lines.append(f"| {k}{'+' if k == '3' else ''} jet{'s' if k != '1' else ''} | "
                     f"{100 * b['multiplicity'][k]:.2f} % | {100 * a['multiplicity'][k]:.2f} % |")
    lines += [f"| 4 or more jets (stored as 3) | not counted | "
              f"{100 * a.get('four_or_more_jets', float('nan')):.2f} % |",
              f"| largest jet abs(η) | {b['max_jet_abs_eta']:.2f} | {a['max_jet_abs_eta']:.2f} |",
              f"| m_μμ median in 81–101 GeV | {b['m_median_81_101']:.2f} GeV | "
              f"{a['m_median_81_101']:.2f} GeV |",
              f"| m_μμ < 86 GeV (FSR tail) | {100 * b['m_below_86']:.2f} % | "
              f"{100 * a['m_below_86']:.2f} % |", ""]
    d = r["dressing"]
    lines += [f"## Bare against dressed muons, the same Pythia stream ({d['bare']['events']} "
              "accepted events each, current definition otherwise)", "",
              "| muons | acceptance | m_μμ median in 81–101 GeV | half width (68 %) in "
              "81–101 GeV | m_μμ < 86 GeV | in 81–101 GeV |",
              "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for name in ("bare", "dressed"):
        x = d[name]
        lines.append(f"| {name} | {x['acceptance']:.3f} | {x['m_median_81_101']:.2f} GeV | "
                     f"{x['m_half_width_68']:.2f} GeV | {100 * x['m_below_86']:.2f} % | "
                     f"{100 * x['m_81_101']:.2f} % |")
    lines += ["", "Dressing puts the FSR photons back into the muons: the tail below the "
              "peak shrinks and the peak moves up towards m_Z.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default=None,
                        help="file of the old definition (default: make --before-events)")
    parser.add_argument("--before-events", type=int, default=10000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--after", default="data/zjets_test.h5")
    parser.add_argument("--dressing-events", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--out", default="benchmarks/results/zjets_definition")
    parser.add_argument("--render-only", action="store_true")
    args = parser.parse_args()
    if args.render_only:
        rerender(Path(args.out).with_suffix(".json"), render)
        return
    from lhcgen.data.hdf5 import read_events

    before = (read_events(args.before) if args.before
              else legacy_sample(args.before_events, 31, args.workers))
    result = {"machine": machine_info(), "command": command_line(),
              "before_file": args.before or f"made here with {LEGACY}",
              "after_file": args.after, "before": describe(before),
              "after": describe(read_events(args.after)),
              "dressing": bare_and_dressed(args.dressing_events, args.seed)}
    write_results(Path(args.out), result, render)


if __name__ == "__main__":
    main()
