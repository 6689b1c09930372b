"""Generation rate of JetNet-style jets (Pythia 8 + FastJet) per type, and a sanity summary.

For each jet type, runs ``generate_jets`` end to end (spawn pool, Pythia initialisation
included) and records accepted jets/s, then the jet-mass mode and median, the mean number
of constituents and the medians of tau21, tau32 and D2 (lhcgen.physics.substructure).

Usage:
    python benchmarks/jets_throughput.py [--jets 2000] [--particles 30] [--workers 2]
        [--types gqtwz] [--out-dir benchmarks/results] [--keep-dir DIR]

Writes jets_throughput.json and jets_throughput.md into --out-dir (and the jet files into
--keep-dir when given).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.jet_hdf5 import write_jets  # noqa: E402
from lhcgen.data.jet_run import generate_jets  # noqa: E402
from lhcgen.data.jets import JetSettings  # noqa: E402
from lhcgen.io import write_text_atomic  # noqa: E402
from lhcgen.physics.substructure import substructure  # noqa: E402
from machine import machine_info  # noqa: E402


def mass_mode(mass: np.ndarray, width: float = 4.0) -> float:
    """Centre of the highest bin of a 3-bin running mean of a ``width`` GeV histogram."""
    counts, edges = np.histogram(mass, bins=np.arange(0.0, mass.max() + width, width))
    smooth = np.convolve(counts, np.ones(3) / 3.0, mode="same")
    return float(edges[smooth.argmax()] + width / 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2000)
    parser.add_argument("--particles", type=int, default=30)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--types", default="gqtwz")
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--keep-dir", default=None)
    args = parser.parse_args()

    rows = []
    for jet_type in args.types:
        settings = JetSettings(jet_type=jet_type, n_particles=args.particles)
        sample = generate_jets(args.jets, args.seed, settings, workers=args.workers,
                               progress=False)
        if args.keep_dir:
            write_jets(Path(args.keep_dir) / f"{jet_type}{args.particles}.h5", sample)
        sub = substructure(sample.particles, sample.mask)
        mass = sample.jets[:, 2]
        rows.append({
            "type": jet_type, "jets": len(sample),
            "seconds": sample.attrs["generation_seconds"],
            "jets_per_second": sample.attrs["accepted_jets_per_second"],
            "events_generated": sample.attrs["n_generated"],
            "mass_mode_gev": mass_mode(mass), "mass_median_gev": float(np.median(mass)),
            "mean_constituents": float(sample.n_constituents.mean()),
            "tau21_median": float(np.median(sub["tau21"])),
            "tau32_median": float(np.median(sub["tau32"])),
            "d2_median": float(np.median(sub["d2"])),
        })
        print(json.dumps(rows[-1]))
    result = {"machine": machine_info(), "workers": args.workers, "seed": args.seed,
              "particles": args.particles, "rows": rows}
    out = Path(args.out_dir)
    write_text_atomic(out / "jets_throughput.json", json.dumps(result, indent=1) + "\n")
    lines = [f"# JetNet-style jet generation ({args.particles} particles, {args.workers} "
             "workers)", "",
             "| type | jets | s | jets/s | mass mode [GeV] | mass median [GeV] | <N const> "
             "| tau21 | tau32 | D2 |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['type']} | {r['jets']} | {r['seconds']:.1f} | "
                     f"{r['jets_per_second']:.0f} | {r['mass_mode_gev']:.0f} | "
                     f"{r['mass_median_gev']:.0f} | {r['mean_constituents']:.1f} | "
                     f"{r['tau21_median']:.2f} | {r['tau32_median']:.2f} | "
                     f"{r['d2_median']:.2f} |")
    write_text_atomic(out / "jets_throughput.md", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
