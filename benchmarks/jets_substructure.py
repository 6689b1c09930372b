"""Substructure of kept samples against the truth, beside Pythia's own: τ21, τ32, D2 and m/pT.

The five JetNet metrics see the jet mass, the constituents' features one at a time and the
EFPs up to degree 4; a top jet's three prongs show most directly in N-subjettiness (τ32 =
τ3/τ2: small for three prongs). This judges every sample, generated (--generated) and
Pythia's (the floor's --truth-floor and the independent --draws), on the W1 distance of
each observable's distribution to the truth's (``w1_features``: --jets jets per batch, 5
batches, jetnet's W1 batching; ± the batches' spread), and divides it by the mean over the
Pythia samples (`benchmarks/judged_samples.py`). Observables (``lhcgen.physics.substructure``,
β = 1, exclusive-kT axes with FastJet): τ21, τ32, D2 = e3/e2³ and the relative jet mass
(W1m's feature, so its ×floor repeats W1m's up to the batches drawn). The median of each
is tabled too.

    python benchmarks/jets_substructure.py --type t --jets 50000 \\
        --truth data/jets/t150_b.h5 --truth-floor data/jets/t150_a.h5 \\
        --draws data/jets/t150_c50k.h5 data/jets/t150_d50k.h5 data/jets/t150_e50k.h5 \\
            data/jets/t150_f50k.h5 \\
        --generated runs/samples_150_ft2_50k/t_generated_*.h5 \\
        --name jets_substructure_150_50k

Writes benchmarks/results/NAME.json and NAME.md; nothing is trained or generated.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parent))
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
from lhcgen.evaluate.jets.metrics import w1_features  # noqa: E402
from lhcgen.physics.substructure import substructure  # noqa: E402
from machine import script_parser  # noqa: E402

OBSERVABLES = ("tau21", "tau32", "d2", "relative_mass")
LABELS = {"tau21": "τ21", "tau32": "τ32", "d2": "D2", "relative_mass": "m/pT"}
W1_BATCHES = 5


def observables(jets) -> np.ndarray:
    """(N, 4) float64: OBSERVABLES of each jet."""
    values = substructure(jets.particles, jets.mask)
    return np.stack([values[k] for k in OBSERVABLES], axis=1)


def judge(args) -> dict:
    """Per sample: each observable's W1 to the truth's, its median, ×(mean Pythia floor)."""
    truth_jets, entries = load_samples(args)
    truth = observables(truth_jets)
    rows = []
    for entry in tqdm(entries, desc=f"[{args.type}] substructure", unit="sample"):
        values = observables(entry.pop("jets"))
        bad = int((~np.isfinite(values)).any(axis=1).sum())
        if bad:
            raise LhcgenError(f"{entry['path']}: {bad} jets have non-finite substructure")
        w1 = w1_features("substructure", truth, values, OBSERVABLES, seed=args.metric_seed,
                         num_eval_samples=args.jets, num_batches=W1_BATCHES)
        rows.append({**entry,
                     "w1": w1.as_dict()["parts"],
                     "median": dict(zip(OBSERVABLES, np.median(values, axis=0).tolist(),
                                        strict=True))})
    floors = {k: mean_floor(rows, lambda r, k=k: r["w1"][k]) for k in OBSERVABLES}
    for row in rows:
        row["ratios"] = {k: ratio_entry(row["w1"][k], floors[k]) for k in OBSERVABLES}
    return {"truth_median": dict(zip(OBSERVABLES, np.median(truth, axis=0).tolist(),
                                     strict=True)),
            "w1_settings": {"num_eval_samples": args.jets, "num_batches": W1_BATCHES,
                            "seed": args.metric_seed},
            "mean_floor": floors, "rows": rows}


def render(result: dict) -> str:
    s = result["substructure"]
    lines = [
        "# Substructure against the truth, beside Pythia's own samples", "",
        f"Machine: {result['machine']['cpu']}, {result['machine']['logical_cpus']} logical "
        f"CPUs. Command: `{result['command']}`. {result['seconds']:.0f} s. Type "
        f"{result['type']}, {result['jets']} jets per sample; truth `{result['truth']}`.", "",
        "Per observable: the W1 distance of the sample's distribution to the truth's "
        f"({s['w1_settings']['num_batches']} batches of {s['w1_settings']['num_eval_samples']} "
        f"jets drawn with replacement, seed {s['w1_settings']['seed']}), as ×floor: over the "
        "mean of the Pythia samples (the floor and the draws) judged the same way, ± to first "
        "order. τ32 small: three prongs (top jets); τ21 small: two (W, Z). m/pT is W1m's "
        "feature.", "",
        "| sample | kind | " + " | ".join(f"{LABELS[k]} ×floor" for k in OBSERVABLES) + " | "
        + " | ".join(f"median {LABELS[k]}" for k in OBSERVABLES) + " |",
        "| --- | --- | " + " | ".join("---" for _ in OBSERVABLES) + " | "
        + " | ".join("---:" for _ in OBSERVABLES) + " |",
        "| truth | - | " + " | ".join("-" for _ in OBSERVABLES) + " | "
        + " | ".join(f"{s['truth_median'][k]:.4g}" for k in OBSERVABLES) + " |"]
    for r in s["rows"]:
        lines.append(f"| {r['label']} | {r['kind']} | "
                     + " | ".join(x_pm(r["ratios"][k]) for k in OBSERVABLES) + " | "
                     + " | ".join(f"{r['median'][k]:.4g}" for k in OBSERVABLES) + " |")
    lines += ["", "W1 values (± the batches' spread); mean floor: the Pythia samples' mean ± its "
              "error:", "",
              "| sample | " + " | ".join(LABELS[k] for k in OBSERVABLES) + " |",
              "| --- | " + " | ".join("---" for _ in OBSERVABLES) + " |"]
    for r in s["rows"]:
        lines.append(f"| {r['label']} | "
                     + " | ".join(value_pm(r["w1"][k]) for k in OBSERVABLES) + " |")
    lines.append("| mean floor | " + " | ".join(value_pm(s["mean_floor"][k])
                                                 for k in OBSERVABLES) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None):
    p = script_parser(__doc__)
    add_sample_options(p, "jets_substructure")
    args = p.parse_args(argv)
    check_sample_options(p, args)
    return args


def main(argv=None) -> int:
    return run(parse_args(argv), judge, "substructure", render)


if __name__ == "__main__":
    raise SystemExit(main())
