"""Mass response of generated jets to their conditions, jet by jet.

For jets generated with the conditions of a truth file (``lhcgen sample RUN --type T
--condition-from TRUTH.h5``: each generated jet takes the type, pT, eta, mass and
constituent count of one truth jet, in order), the mass of the generated constituents is
compared with that of the truth jet whose conditions it took. The JetNet W1m compares two
mass distributions; this splits a W1m far from its floor into a shift (the constituents made
systematically lighter or heavier than the truth's for the same jet) and a spread, apart for
the jets that keep every constituent (whose constituent mass reproduces the jet mass up to
the massless constituents) and those truncated to the stored P.

Per type and group (complete, truncated, all): quantiles (16, 50, 84 %) of the per-jet ratio
m_gen / m_truth of the constituent masses, of the stored constituents' mass over the jet
mass (m_P / m_jet) for the truth and the generated jets, the shift of its median (generated
- truth) with a bootstrap error, and the W1 distance of the two constituent-mass
distributions (m / pT, as W1m).

    lhcgen sample runs/jets_edm_all_ft2 -n 5000 --type t --condition-from data/jets/t30_b.h5 \\
        --solver midpoint --steps 16 --out runs/t_file.h5
    python benchmarks/jets_mass_response.py --generated runs/t_file.h5 \\
        --truth data/jets/t30_b.h5 --name jets_mass_response_t

Writes NAME.json and NAME.md into --out-dir (benchmarks/results).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy.stats import wasserstein_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.jet_hdf5 import read_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES, JetCloudSample  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.physics.particle_cloud import relative_jet_mass  # noqa: E402
from lhcgen.train.jet_surrogate import complete_jets  # noqa: E402
from machine import command_line, machine_info, script_parser  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

QUANTILES = (0.16, 0.5, 0.84)
BOOTSTRAPS = 200


def matched_truth(generated: JetCloudSample, truth: JetCloudSample) -> JetCloudSample:
    """The truth jets whose conditions ``generated`` took: per type, the first jets of that
    type in ``truth``, in order (``--condition-from``). One line if they do not match."""
    parts, index = [], np.empty(len(generated), dtype=np.int64)
    start = 0
    for code in np.unique(generated.jet_type):
        rows = np.flatnonzero(generated.jet_type == code)
        pool = np.flatnonzero(truth.jet_type == code)
        if len(pool) < len(rows):
            raise LhcgenError(f"the truth file holds {len(pool)} {JET_TYPES[code]} jets, fewer "
                              f"than the {len(rows)} generated")
        parts.append(pool[:len(rows)])
        index[rows] = np.arange(start, start + len(rows))
        start += len(rows)
    matched = truth.subset(np.concatenate(parts)).subset(index)
    same = np.allclose(generated.jets[:, :3], matched.jets[:, :3], rtol=1e-9, atol=0.0) and \
        np.array_equal(generated.n_constituents, matched.n_constituents)
    if not same:
        raise LhcgenError("the generated jets did not take their conditions from this truth "
                          "file in order (generate them with lhcgen sample --condition-from "
                          "TRUTH; a sample with non-finite jets removed cannot be matched)")
    return matched


def _quantiles(x: np.ndarray) -> list[float]:
    return [float(q) for q in np.quantile(x, QUANTILES)]


def response(truth: JetCloudSample, generated: JetCloudSample, seed: int) -> dict:
    """The mass response of one group of matched jets (see the module docstring)."""
    m_truth = relative_jet_mass(truth.particles, truth.mask)
    m_gen = relative_jet_mass(generated.particles, generated.mask)
    m_jet = truth.jets[:, 2] / truth.jets[:, 0]
    keep = (m_truth > 0) & (m_jet > 0)
    truth_fraction, gen_fraction = m_truth[keep] / m_jet[keep], m_gen[keep] / m_jet[keep]
    rng = np.random.default_rng(seed)
    shifts = []
    for _ in range(BOOTSTRAPS):  # the same jets resampled in both: the shift is paired
        pick = rng.integers(0, keep.sum(), keep.sum())
        shifts.append(np.median(gen_fraction[pick]) - np.median(truth_fraction[pick]))
    return {
        "jets": int(len(truth)), "massless_skipped": int((~keep).sum()),
        "ratio_quantiles": _quantiles(m_gen[keep] / m_truth[keep]),
        "truth_mass_fraction_quantiles": _quantiles(truth_fraction),
        "generated_mass_fraction_quantiles": _quantiles(gen_fraction),
        "median_shift": float(np.median(gen_fraction) - np.median(truth_fraction)),
        "median_shift_error": float(np.std(shifts)),
        "w1_relative_mass": float(wasserstein_distance(m_gen, m_truth)),
    }


def mass_response(generated: JetCloudSample, truth: JetCloudSample, seed: int) -> dict:
    """{type letter: {group: response}} for complete, truncated and all jets."""
    matched = matched_truth(generated, truth)
    out: dict = {}
    for code in np.unique(generated.jet_type):
        of_type = generated.jet_type == code
        complete = of_type & complete_jets(generated.n_constituents,
                                           generated.mask.sum(axis=1))
        groups = {"complete": complete, "truncated": of_type & ~complete, "all": of_type}
        out[JET_TYPES[code]] = {name: response(matched.subset(rows), generated.subset(rows),
                                               seed)
                                for name, rows in groups.items() if rows.any()}
    return out


def _q(q: list[float]) -> str:
    return f"{q[1]:.4f} [{q[0]:.4f}, {q[2]:.4f}]"


def render(result: dict) -> str:
    m = result["machine"]
    lines = ["# Jets generators: mass response to the conditions", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs. Command: "
             f"`{result['command']}`.", "",
             f"Generated `{result['generated']}` ({result['generator']}, "
             f"{result['sampler']}), matched jet by jet with the truth jets of "
             f"`{result['truth']}` whose conditions it took. m: the invariant mass of the "
             f"stored constituents (massless, at most {result['particles']}); m_jet: the "
             "jet's mass (a condition). Quantiles: median [16 %, 84 %]. Shift: median of "
             "m / m_jet generated minus truth, with the bootstrap error of the paired "
             f"jets ({BOOTSTRAPS} resamples). W1: of the m / pT distributions (as W1m, on all "
             "the jets at once).", "",
             "| type | jets | group | m_gen / m_truth per jet | m / m_jet truth | "
             "m / m_jet generated | shift of the median | W1 of m/pT |",
             "| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for jet_type, groups in result["types"].items():
        for group, r in groups.items():
            lines.append(f"| {jet_type} | {r['jets']} | {group} | {_q(r['ratio_quantiles'])} | "
                         f"{_q(r['truth_mass_fraction_quantiles'])} | "
                         f"{_q(r['generated_mass_fraction_quantiles'])} | "
                         f"{r['median_shift']:+.4f} ± {r['median_shift_error']:.4f} | "
                         f"{r['w1_relative_mass']:.3g} |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    p = script_parser(__doc__)
    p.add_argument("--generated", help="jets from lhcgen sample --condition-from TRUTH")
    p.add_argument("--truth", help="the truth file the conditions came from")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed")
    p.add_argument("--out-dir", default="benchmarks/results")
    p.add_argument("--name", default="jets_mass_response")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite NAME.md from the committed NAME.json")
    args = p.parse_args()
    if not args.render_only and not (args.generated and args.truth):
        p.error("--generated and --truth are required")
    return args


def main() -> None:
    args = parse_args()
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return
    try:
        generated, truth = read_jets(args.generated), read_jets(args.truth)
        if generated.n_particles != truth.n_particles:
            raise LhcgenError(f"{args.generated} stores {generated.n_particles} particles per "
                              f"jet, {args.truth} {truth.n_particles}")
        types = mass_response(generated, truth, args.seed)
    except LhcgenError as e:
        sys.exit(f"error: {e}")
    attrs = generated.attrs
    result = {"machine": machine_info(), "command": command_line(),
              "generated": args.generated, "truth": args.truth,
              "generator": str(attrs.get("generator", "-")),
              "sampler": f"{attrs.get('sampling_solver', '-')}, "
                         f"{attrs.get('sampling_steps', '-')} steps",
              "particles": generated.n_particles, "seed": args.seed, "types": types}
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    write_results(stem, result, render)
    print(render(result))


if __name__ == "__main__":
    main()
