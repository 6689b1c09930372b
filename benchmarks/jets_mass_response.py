"""Mass response of generated jets to their conditions, jet by jet.

For jets generated with the conditions of a truth file (``lhcgen sample RUN --type T
--condition-from TRUTH.h5``: each generated jet takes the type, pT, eta, mass and
constituent count of one truth jet, in order), the mass of the generated constituents is
compared with that of the truth jet whose conditions it took. The JetNet W1m compares two
mass distributions; this splits a W1m far from its floor into a shift (the constituents made
systematically lighter or heavier than the truth's for the same jet) and a spread, apart for
the jets that keep every constituent (whose constituent mass reproduces the jet mass up to
the massless constituents), those truncated to the stored P, and the jets whose mass lies in
the central half of the type's jet masses (between the truth's 25 % and 75 % quantiles of
m_jet: the resonance peak of top, W and Z jets, where a shift narrows or widens the peak).

Per sample, type and group: quantiles (16, 50, 84 %) of the per-jet ratio m_gen / m_truth
of the constituent masses, of the stored constituents' mass over the jet mass (m_P / m_jet)
for the truth and the generated jets, the shift of its median (generated - truth) with a
bootstrap error, and the W1 distance of the two constituent-mass distributions (m / pT, as
W1m). Several ``--generated`` files (say, one per sampler, all made from the same truth
file) make one table, one block of rows each. With ``--truth-2`` (independent truth jets)
the truth's own per-jet spread at fixed conditions, for scale: each truth jet against the
jet of the second file nearest in its conditions (``truth_spread``).

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
from scipy.spatial import cKDTree
from scipy.stats import wasserstein_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.jet_hdf5 import read_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES, JetCloudSample  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.physics.particle_cloud import relative_jet_mass  # noqa: E402
from lhcgen.solvers.sampling import CONSISTENCY_OPTIONS, EDM_OPTIONS  # noqa: E402
from lhcgen.train.jet_surrogate import complete_jets  # noqa: E402
from lhcgen.transforms.jet_cloud import MASS_FLOOR_GEV  # noqa: E402
from machine import command_line, machine_info, script_parser  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

QUANTILES = (0.16, 0.5, 0.84)
BOOTSTRAPS = 200
CENTRAL = (0.25, 0.75)
"""The central group: jets whose m_jet lies between these quantiles of the type's matched
truth jets."""


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


def jet_groups(jets: JetCloudSample, code: int) -> dict[str, np.ndarray]:
    """The groups of the jets of type ``code``: complete, truncated, central m_jet (between the
    CENTRAL quantiles of their m_jet) and all, as (N,) bool masks."""
    of_type = jets.jet_type == code
    complete = of_type & complete_jets(jets.n_constituents, jets.mask.sum(axis=1))
    low, high = np.quantile(jets.jets[of_type, 2], CENTRAL)
    central = of_type & (jets.jets[:, 2] >= low) & (jets.jets[:, 2] <= high)
    return {"complete": complete, "truncated": of_type & ~complete,
            "central m_jet": central, "all": of_type}


def mass_response(generated: JetCloudSample, truth: JetCloudSample, seed: int) -> dict:
    """{type letter: {group: response}} for the groups of ``jet_groups`` (of the matched
    truth jets, whose kinematics and counts the generated jets share)."""
    matched = matched_truth(generated, truth)
    out: dict = {}
    for code in np.unique(generated.jet_type):
        out[JET_TYPES[code]] = {name: response(matched.subset(rows), generated.subset(rows),
                                               seed)
                                for name, rows in jet_groups(matched, code).items()
                                if rows.any()}
    return out


def _condition_features(jets: JetCloudSample) -> np.ndarray:
    """(log pT, eta, log m, log N) of each jet: the network's conditions."""
    return np.column_stack([np.log(jets.jets[:, 0]), jets.jets[:, 1],
                            np.log(np.maximum(jets.jets[:, 2], MASS_FLOOR_GEV)),
                            np.log(np.maximum(jets.n_constituents, 1))])


def truth_spread(truth: JetCloudSample, second: JetCloudSample) -> dict:
    """The truth's own per-jet spread of the stored constituents' mass at fixed conditions:
    for each jet of ``truth``, the jet of ``second`` (independent truth jets) of the same
    type nearest in the conditions (log pT, eta, log m, log N, each scaled by its standard
    deviation in ``second``); per type and group (``jet_groups``), quantiles of the ratio
    of their m_P / m_jet (neighbour over jet) and the median distance. A generator that
    draws the constituents as the physics does has a per-jet ratio m_gen / m_truth that
    spreads as widely (up to the neighbours' small distance)."""
    if second.n_particles != truth.n_particles:  # kept masses of 30 and 150 do not compare
        raise LhcgenError(f"the second truth file stores {second.n_particles} particles per "
                          f"jet, the truth {truth.n_particles}")
    out: dict = {}
    for code in np.unique(truth.jet_type):
        pool = second.subset(second.jet_type == code)
        if not len(pool):
            raise LhcgenError(f"the second truth file holds no {JET_TYPES[code]} jets")
        features = _condition_features(pool)
        scale = np.where(features.std(axis=0) > 0, features.std(axis=0), 1.0)
        distance, index = cKDTree(features / scale).query(_condition_features(truth) / scale)
        fraction = relative_jet_mass(truth.particles, truth.mask) \
            * truth.jets[:, 0] / truth.jets[:, 2]
        neighbour = (relative_jet_mass(pool.particles, pool.mask)
                     * pool.jets[:, 0] / pool.jets[:, 2])[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = neighbour / fraction
        keep = (fraction > 0) & np.isfinite(ratio)  # a massless jet has no fraction
        out[JET_TYPES[code]] = {
            name: {"jets": int((rows & keep).sum()),
                   "ratio_quantiles": _quantiles(ratio[rows & keep]),
                   "median_distance": float(np.median(distance[rows]))}
            for name, rows in jet_groups(truth, code).items() if (rows & keep).any()}
    return out


def _q(q: list[float]) -> str:
    return f"{q[1]:.4f} [{q[0]:.4f}, {q[2]:.4f}]"


def sampler_label(attrs: dict) -> str:
    """"solver, N steps" of a generated file, with the sampler options it was made with."""
    label = f"{attrs.get('sampling_solver', '-')}, {attrs.get('sampling_steps', '-')} steps"
    options = [f"{key} {float(attrs[f'sampling_{key}']):g}"
               for key in EDM_OPTIONS + CONSISTENCY_OPTIONS if f"sampling_{key}" in attrs]
    return ", ".join([label, *options])


def render(result: dict) -> str:
    m = result["machine"]
    made = "; ".join(f"`{s['generated']}` ({s['generator']}, {s['sampler']})"
                     for s in result["samples"])
    lines = ["# Jets generators: mass response to the conditions", "",
             f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs. Command: "
             f"`{result['command']}`.", "",
             f"Generated {made}, matched jet by jet with the truth jets of "
             f"`{result['truth']}` whose conditions they took. m: the invariant mass of the "
             f"stored constituents (massless, at most {result['particles']}); m_jet: the "
             "jet's mass (a condition). Groups: jets that keep every constituent (complete), "
             "the others (truncated), those whose m_jet lies between the "
             f"{CENTRAL[0] * 100:.0f} % and {CENTRAL[1] * 100:.0f} % quantiles of the "
             "type's truth jets (central m_jet: the resonance peak of t, W, Z), all. "
             "Quantiles: median [16 %, 84 %]. Shift: "
             "median of m / m_jet generated minus truth, with the bootstrap error of the "
             f"paired jets ({BOOTSTRAPS} resamples). W1: of the m / pT distributions (as "
             "W1m, on the group's jets at once).", "",
             "| sampler | type | jets | group | m_gen / m_truth per jet | m / m_jet truth | "
             "m / m_jet generated | shift of the median | W1 of m/pT |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for sample in result["samples"]:
        for jet_type, groups in sample["types"].items():
            for group, r in groups.items():
                lines.append(f"| {sample['sampler']} | {jet_type} | {r['jets']} | {group} | "
                             f"{_q(r['ratio_quantiles'])} | "
                             f"{_q(r['truth_mass_fraction_quantiles'])} | "
                             f"{_q(r['generated_mass_fraction_quantiles'])} | "
                             f"{r['median_shift']:+.4f} ± {r['median_shift_error']:.4f} | "
                             f"{r['w1_relative_mass']:.3g} |")
    spread = result.get("truth_spread")
    if spread:
        lines += ["", f"The truth's own per-jet spread (`{result['truth_2']}`): for each truth "
                  "jet, the jet of this independent truth file nearest in (log pT, η, log m_jet, "
                  "log N), each scaled by its standard deviation; the ratio of their m / m_jet "
                  "is what m_gen / m_truth per jet would be for a generator that draws the "
                  "constituents as the physics does (up to the neighbour's small distance).", "",
                  "| type | jets | group | neighbour / truth per jet | median distance |",
                  "| --- | ---: | --- | ---: | ---: |"]
        for jet_type, groups in spread.items():
            for group, r in groups.items():
                lines.append(f"| {jet_type} | {r['jets']} | {group} | "
                             f"{_q(r['ratio_quantiles'])} | {r['median_distance']:.3f} |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    p = script_parser(__doc__)
    p.add_argument("--generated", nargs="+",
                   help="one or more files of jets from lhcgen sample --condition-from TRUTH")
    p.add_argument("--truth", help="the truth file the conditions came from")
    p.add_argument("--truth-2", dest="truth_2",
                   help="independent truth jets: the truth's own per-jet spread of the "
                        "constituents' mass at (nearly) the same conditions, for scale")
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
    samples = []
    try:
        truth = read_jets(args.truth)
        for path in args.generated:
            generated = read_jets(path)
            if generated.n_particles != truth.n_particles:
                raise LhcgenError(f"{path} stores {generated.n_particles} particles per jet, "
                                  f"{args.truth} {truth.n_particles}")
            if not samples:
                conditioned = generated  # every file took the same truth jets' conditions
            samples.append({"generated": path,
                            "generator": str(generated.attrs.get("generator", "-")),
                            "sampler": sampler_label(generated.attrs),
                            "types": mass_response(generated, truth, args.seed)})
        spread = truth_spread(matched_truth(conditioned, truth), read_jets(args.truth_2)) \
            if args.truth_2 else None
    except LhcgenError as e:
        sys.exit(f"error: {e}")
    result = {"machine": machine_info(), "command": command_line(), "truth": args.truth,
              "particles": truth.n_particles, "seed": args.seed, "samples": samples}
    if spread is not None:
        result.update(truth_2=args.truth_2, truth_spread=spread)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    write_results(stem, result, render)
    print(render(result))


if __name__ == "__main__":
    main()
