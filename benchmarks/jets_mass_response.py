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
jet of the second file nearest in its conditions (``truth_spread``). Files made by
different runs (say, one network after 10, 61 and 111 epochs) are labelled by their run and
its epochs (the whole ``training.init_from`` chain). NAME_T.png per type T (NAME.png where
the files hold one type): the histogram of m / m_jet of every sample against the truth's
(and the second truth's neighbours'), with ratio panels. By decile of m_jet
(``decile_response``): the truth's median m / m_jet and each sample's shift of it, a table
and NAME[_T]_deciles.png; a generator whose m / m_jet is a smoothed function of m_jet (its
conditioning does not resolve the resonance) is too light at the peak and too heavy on both
sides of it. In the same deciles, the jets whose stored constituents carry more pT than the
jet itself (a generated jet's pT-sum stray; a Pythia jet's only where its lost constituents
point against the jet). By ring of Delta R from the jet axis (``radial_response``): the
constituents and their pT_rel per jet, generated over truth, and the shift of the median
m / m_jet that each ring's pT deficit alone makes (the truth jets with that ring's pT_rel
scaled by the ratio); a table per type and NAME[_T]_radial.png. A generator that smooths the
fall of the constituent density at the jet radius makes too little pT at 0.6-0.8 and jets
too light.
By prong (``jets_prong_response.prong_response``: exclusive-kT prongs, three for top jets,
two for the others): the prongs' separation, balance and width and the jet's squared mass
split into the prongs' own masses and what lies between them, generated over truth; a table
per type and NAME[_T]_prong_separation_min.png, NAME[_T]_prong_width.png.

    lhcgen sample runs/jets_edm_all_ft2 -n 5000 --type t --condition-from data/jets/t30_b.h5 \\
        --solver midpoint --steps 16 --out runs/t_file.h5
    python benchmarks/jets_mass_response.py --generated runs/t_file.h5 \\
        --truth data/jets/t30_b.h5 --name jets_mass_response_t

Writes NAME.json and NAME.md into --out-dir (benchmarks/results).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from pathlib import Path

import matplotlib.style
import matplotlib.ticker
import mplhep
import numpy as np
from matplotlib.figure import Figure
from scipy.spatial import cKDTree
from scipy.stats import wasserstein_distance

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jets_prong_response import (  # noqa: E402
    BOOTSTRAPS,
    plot_prongs,
    prong_edges,
    prong_response,
    prong_tables,
)
from lhcgen.data.jet_hdf5 import read_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES, JetCloudSample  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.evaluate.figures import (  # noqa: E402
    MODEL_COLOURS,
    REFERENCE,
    TEXT_SIZES,
    three_panel,
)
from lhcgen.evaluate.histograms import binning, histogram, normalised  # noqa: E402
from lhcgen.io import atomic_path  # noqa: E402
from lhcgen.physics.particle_cloud import (  # noqa: E402
    cloud_mass_share,
    relative_cloud_pt,
    relative_jet_mass,
)
from lhcgen.solvers.sampling import CONSISTENCY_OPTIONS, EDM_OPTIONS  # noqa: E402
from lhcgen.train.init_run import chain_history  # noqa: E402
from lhcgen.train.jet_surrogate import complete_jets  # noqa: E402
from lhcgen.train.run_files import METRICS_FILE  # noqa: E402
from lhcgen.transforms.jet_cloud import MASS_FLOOR_GEV  # noqa: E402
from machine import command_line, machine_info, script_parser  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

QUANTILES = (0.16, 0.5, 0.84)
CENTRAL = (0.25, 0.75)
"""The central group: jets whose m_jet lies between these quantiles of the type's matched
truth jets."""
DECILES = 10
"""m_jet bins of ``decile_response``: equal numbers of the type's matched truth jets."""
PT_BEYOND_TOLERANCE = 1e-4
"""``decile_response`` counts a jet's stored constituents as carrying more pT than the jet
where the pT of their sum exceeds the jet's by more than this fraction: above the rounding of
a sum of float32 pT_rel (a jet that keeps every constituent sums to 1 up to ~1e-6)."""
HEAVIER_TOLERANCE = 1e-4
"""``decile_response`` counts a jet's stored constituents as heavier than the jet where their
mass exceeds the jet mass by more than this fraction (a jet brought to the bound by
``bound_cloud_mass`` sits at it up to rounding)."""
RADIAL_EDGES = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, np.inf)
"""Rings of Delta R from the jet axis of ``radial_response`` (the last beyond R = 0.8 of the
JetNet jets, where soft hadrons lie in pseudorapidity)."""
HISTOGRAM_BINS = 40
"""Bins of m / m_jet in the histograms, over the 0.1-99.9 % range of the type's truth
(``evaluate.histograms.binning``; the overflow folds into the end bins)."""


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


def mass_fraction(jets: JetCloudSample) -> np.ndarray:
    """m_P / m_jet: the stored constituents' mass over the jet's (NaN for a massless jet)."""
    return cloud_mass_share(jets.particles, jets.mask, jets.jets[:, 0], jets.jets[:, 2])


def histogram_edges(truth: JetCloudSample) -> dict[str, list[float]]:
    """{type letter: bin edges of m / m_jet}, from the type's truth jets (``binning``)."""
    fraction = mass_fraction(truth)
    out = {}
    for code in np.unique(truth.jet_type):
        f = fraction[(truth.jet_type == code) & np.isfinite(fraction) & (fraction > 0)]
        if len(f):
            out[JET_TYPES[code]] = binning(f, np.ones_like(f), HISTOGRAM_BINS).tolist()
    return out


def fraction_histogram(fraction: np.ndarray, edges: list[float]) -> list[int]:
    """Counts of m / m_jet in ``edges`` (overflow folded into the end bins)."""
    counts, _ = histogram(fraction, np.ones_like(fraction), np.asarray(edges))
    return [int(c) for c in counts]


def response(truth: JetCloudSample, generated: JetCloudSample, seed: int,
             edges: list[float] | None = None) -> dict:
    """The mass response of one group of matched jets (see the module docstring); with
    ``edges``, the counts of m / m_jet of both in them (``fraction_histogram``)."""
    m_truth = relative_jet_mass(truth.particles, truth.mask)
    m_gen = relative_jet_mass(generated.particles, generated.mask)
    m_jet = truth.jets[:, 2] / truth.jets[:, 0]
    keep = (m_truth > 0) & (m_jet > 0)
    truth_fraction, gen_fraction = m_truth[keep] / m_jet[keep], m_gen[keep] / m_jet[keep]
    counts = {} if edges is None else {
        "truth_histogram": fraction_histogram(truth_fraction, edges),
        "generated_histogram": fraction_histogram(gen_fraction, edges)}
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
        **counts,
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


def mass_response(generated: JetCloudSample, matched: JetCloudSample, seed: int,
                  edges: dict[str, list[float]] | None = None) -> dict:
    """{type letter: {group: response}} for the groups of ``jet_groups`` of ``matched`` (the
    truth jets whose kinematics and counts the generated jets took, in their order:
    ``matched_truth``); the group "all" with the histograms of m / m_jet in ``edges[type]``
    where given."""
    edges = edges or {}
    out: dict = {}
    for code in np.unique(generated.jet_type):
        letter = JET_TYPES[code]
        out[letter] = {name: response(matched.subset(rows), generated.subset(rows), seed,
                                      edges.get(letter) if name == "all" else None)
                                for name, rows in jet_groups(matched, code).items()
                                if rows.any()}
    return out


def decile_response(generated: JetCloudSample, matched: JetCloudSample,
                    seed: int) -> dict[str, list[dict]]:
    """{type letter: per decile of the matched truth jets' m_jet (``matched_truth``), lowest
    first: its jets, median m_jet (GeV), the truth's median m / m_jet and the shift of the
    generated median with its bootstrap error (``response``), and how many of its truth and
    generated jets have stored constituents that carry more transverse momentum than the jet
    (``relative_cloud_pt`` > 1 + ``PT_BEYOND_TOLERANCE``: a jet that keeps every constituent
    sums to 1, and a truncated Pythia jet exceeds it only by what its lost constituents, each
    softer than the softest stored one, take away pointing against the jet; a generated jet
    that does is a pT-sum stray), and how many are heavier than the jet (their mass over the
    jet mass above 1 + ``HEAVIER_TOLERANCE``; taken massless, no real jet's stored
    constituents are: ``bound_cloud_mass``)}."""
    out: dict = {}
    truth_pt = relative_cloud_pt(matched.particles, matched.mask)
    generated_pt = relative_cloud_pt(generated.particles, generated.mask)
    beyond = 1.0 + PT_BEYOND_TOLERANCE
    heavier = 1.0 + HEAVIER_TOLERANCE
    truth_share, generated_share = mass_fraction(matched), mass_fraction(generated)
    for code in np.unique(generated.jet_type):
        of_type = matched.jet_type == code
        m_jet = matched.jets[:, 2]
        edges = np.quantile(m_jet[of_type], np.linspace(0.0, 1.0, DECILES + 1))
        which = np.clip(np.searchsorted(edges, m_jet, side="right") - 1, 0, DECILES - 1)
        rows = []
        for k in range(DECILES):
            pick = of_type & (which == k)
            if not pick.any():
                continue
            r = response(matched.subset(pick), generated.subset(pick), seed)
            rows.append({"jets": r["jets"], "m_jet_median": float(np.median(m_jet[pick])),
                         "truth_median": r["truth_mass_fraction_quantiles"][1],
                         "median_shift": r["median_shift"],
                         "median_shift_error": r["median_shift_error"],
                         "truth_pt_beyond": int((truth_pt[pick] > beyond).sum()),
                         "generated_pt_beyond": int((generated_pt[pick] > beyond).sum()),
                         "truth_heavier": int((truth_share[pick] > heavier).sum()),
                         "generated_heavier": int((generated_share[pick] > heavier).sum())})
        out[JET_TYPES[code]] = rows
    return out


def _ring_sums(jets: JetCloudSample) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, rings) constituents and pT_rel sums per jet in RADIAL_EDGES, and (N, P) ring index
    of each constituent."""
    ring = np.clip(np.searchsorted(RADIAL_EDGES, np.hypot(jets.particles[..., 0],
                                                          jets.particles[..., 1]),
                                   side="right") - 1, 0, len(RADIAL_EDGES) - 2)
    rings = np.arange(len(RADIAL_EDGES) - 1)
    inside = (ring[..., None] == rings) & jets.mask[..., None]
    return inside.sum(axis=1), (inside * jets.particles[..., 2:3]).sum(axis=1), ring


def radial_response(generated: JetCloudSample, matched: JetCloudSample,
                    seed: int) -> dict[str, list[dict]]:
    """{type letter: per ring of Delta R (RADIAL_EDGES), innermost first: the truth's
    constituents and pT_rel per jet, generated over truth for both with bootstrap errors
    (the same jets resampled in both), and ``mass_shift``: the shift of the median m / m_jet
    of the truth jets when only this ring's pT_rel is scaled by the generated / truth ratio
    (first order; angles within a ring and correlations between rings are not in it)}.
    ``matched``: the truth jets whose conditions the generated ones took
    (``matched_truth``)."""
    rng = np.random.default_rng(seed)
    out: dict = {}
    for code in np.unique(generated.jet_type):
        rows = generated.jet_type == code
        gen, truth = generated.subset(rows), matched.subset(rows)
        (n_gen, pt_gen, _), (n_truth, pt_truth, ring) = _ring_sums(gen), _ring_sums(truth)
        picks = [rng.integers(0, len(truth), len(truth)) for _ in range(BOOTSTRAPS)]
        fraction = mass_fraction(truth)
        keep = np.isfinite(fraction) & (fraction > 0)  # as ``response``: jets with a mass
        base = np.median(fraction[keep])
        out_rows = []
        for k in range(len(RADIAL_EDGES) - 1):
            row = {"low": RADIAL_EDGES[k],
                   "high": RADIAL_EDGES[k + 1] if np.isfinite(RADIAL_EDGES[k + 1]) else None,
                   "truth_constituents": float(n_truth[:, k].mean()),
                   "truth_pt_rel": float(pt_truth[:, k].mean()),
                   "constituent_ratio": None, "constituent_ratio_error": None,
                   "pt_ratio": None, "pt_ratio_error": None, "mass_shift": None}
            if pt_truth[:, k].sum() > 0:  # an empty ring has no ratio
                pt_ratio = float(pt_gen[:, k].sum() / pt_truth[:, k].sum())
                scaled = truth.particles.copy()
                scaled[..., 2] = np.where((ring == k) & truth.mask, scaled[..., 2] * pt_ratio,
                                          scaled[..., 2])
                row.update(
                    constituent_ratio=float(n_gen[:, k].sum() / n_truth[:, k].sum()),
                    constituent_ratio_error=_ratio_error(n_gen[:, k], n_truth[:, k], picks),
                    pt_ratio=pt_ratio,
                    pt_ratio_error=_ratio_error(pt_gen[:, k], pt_truth[:, k], picks),
                    mass_shift=float(np.median(mass_fraction(
                        dataclasses.replace(truth, particles=scaled))[keep]) - base))
            out_rows.append(row)
        out[JET_TYPES[code]] = out_rows
    return out


def _ratio_error(gen: np.ndarray, truth: np.ndarray, picks: list[np.ndarray]) -> float:
    """Bootstrap error of sum(gen) / sum(truth) over the jets (resamples with an empty
    truth sum left out)."""
    sums = np.array([(gen[p].sum(), truth[p].sum()) for p in picks])
    ok = sums[:, 1] > 0
    return float(np.std(sums[ok, 0] / sums[ok, 1])) if ok.sum() > 1 else 0.0


def _condition_features(jets: JetCloudSample) -> np.ndarray:
    """(log pT, eta, log m, log N) of each jet: the network's conditions."""
    return np.column_stack([np.log(jets.jets[:, 0]), jets.jets[:, 1],
                            np.log(np.maximum(jets.jets[:, 2], MASS_FLOOR_GEV)),
                            np.log(np.maximum(jets.n_constituents, 1))])


def truth_spread(truth: JetCloudSample, second: JetCloudSample,
                 edges: dict[str, list[float]] | None = None) -> dict:
    """The truth's own per-jet spread of the stored constituents' mass at fixed conditions:
    for each jet of ``truth``, the jet of ``second`` (independent truth jets) of the same
    type nearest in the conditions (log pT, eta, log m, log N, each scaled by its standard
    deviation in ``second``); per type and group (``jet_groups``), quantiles of the ratio
    of their m_P / m_jet (neighbour over jet) and the median distance, and for all of them
    the neighbours' m_P / m_jet histogram in ``edges[type]`` where given. A generator that
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
        fraction, neighbour = mass_fraction(truth), mass_fraction(pool)[index]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = neighbour / fraction
        keep = np.isfinite(fraction) & (fraction > 0) & np.isfinite(ratio)  # massless: none
        letter = JET_TYPES[code]
        out[letter] = {
            name: {"jets": int((rows & keep).sum()),
                   "ratio_quantiles": _quantiles(ratio[rows & keep]),
                   "median_distance": float(np.median(distance[rows])),
                   **({"histogram": fraction_histogram(neighbour[rows & keep], edges[letter])}
                      if name == "all" and letter in (edges or {}) else {})}
            for name, rows in jet_groups(truth, code).items() if (rows & keep).any()}
    return out


def _q(q: list[float]) -> str:
    return f"{q[1]:.4f} [{q[0]:.4f}, {q[2]:.4f}]"


def sampler_label(attrs: dict) -> str:
    """"solver, N steps" of a generated file, with the sampler options it was made with and
    whether its jets heavier than the jet were bounded."""
    label = f"{attrs.get('sampling_solver', '-')}, {attrs.get('sampling_steps', '-')} steps"
    interval = ("guidance_sigma_low", "guidance_sigma_high")
    options = [f"{key} {float(attrs[f'sampling_{key}']):g}"
               for key in EDM_OPTIONS + CONSISTENCY_OPTIONS
               if f"sampling_{key}" in attrs and key not in interval]
    low, high = (attrs.get(f"sampling_{key}") for key in interval)
    if low is not None or high is not None:  # where the guidance applied, in one phrase
        options.append(f"at σ in ({float(low or 0):g}, {float(high or 'inf'):g}]")
    if attrs.get("sampling_jet_mass") == "bounded":  # lhcgen sample --bound-mass
        options.append("m ≤ m_jet")
    return ", ".join([label, *options])


def run_record(attrs: dict) -> dict:
    """{"run": the run directory's name, "epochs": its training chain's epochs (None where
    its metrics.json cannot be read)} of a generated file."""
    run_dir = Path(str(attrs.get("run_dir", "")))
    try:
        metrics = json.loads((run_dir / METRICS_FILE).read_text())
    except (OSError, json.JSONDecodeError):
        return {"run": run_dir.name or "-", "epochs": None}
    return {"run": run_dir.name, "epochs": chain_history(metrics, str(run_dir))["epochs"]}


def figure_path(result: dict, stem: Path, jet_type: str, suffix: str = "") -> Path:
    """NAME[_T][_suffix].png: the type in the name where the result holds several."""
    several = len(result["samples"][0]["types"]) > 1
    return stem.parent / f"{stem.name}{'_' + jet_type if several else ''}{suffix}.png"


def several_runs(result: dict) -> bool:
    return len({s.get("run") for s in result["samples"]}) > 1


def sample_label(sample: dict, with_run: bool) -> str:
    """The sampler, after the run and its epochs where the samples come from several runs."""
    if not with_run:
        return sample["sampler"]
    epochs = "-" if sample["epochs"] is None else sample["epochs"]
    return f"{sample['run']} ({epochs} epochs), {sample['sampler']}"


def render(result: dict) -> str:
    m = result["machine"]
    with_run = several_runs(result)
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
             f"| {'run (epochs), sampler' if with_run else 'sampler'} | type | jets | group | "
             "m_gen / m_truth per jet | m / m_jet truth | "
             "m / m_jet generated | shift of the median | W1 of m/pT |",
             "| --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |"]
    for sample in result["samples"]:
        for jet_type, groups in sample["types"].items():
            for group, r in groups.items():
                lines.append(f"| {sample_label(sample, with_run)} | {jet_type} | {r['jets']} "
                             f"| {group} | "
                             f"{_q(r['ratio_quantiles'])} | "
                             f"{_q(r['truth_mass_fraction_quantiles'])} | "
                             f"{_q(r['generated_mass_fraction_quantiles'])} | "
                             f"{r['median_shift']:+.4f} ± {r['median_shift_error']:.4f} | "
                             f"{r['w1_relative_mass']:.3g} |")
    lines += _decile_tables(result, with_run)
    lines += _radial_tables(result, with_run)
    lines += prong_tables([s.get("prongs", {}) for s in result["samples"]],
                          [sample_label(s, with_run) for s in result["samples"]])
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


def _decile_tables(result: dict, with_run: bool) -> list[str]:
    """Per type, the shift of the median of m / m_jet by decile of m_jet (results made before
    the deciles were kept have none)."""
    lines: list[str] = []
    first = result["samples"][0].get("deciles", {})
    for jet_type, reference in first.items():
        lines += ["", f"Type {jet_type}, by decile of m_jet (equal numbers of the truth jets, "
                  f"{reference[0]['jets']} each): the truth's median m / m_jet, and each "
                  "sample's shift of it (generated − truth, ×10⁻³, with its bootstrap error).",
                  "", "| | " + " | ".join(f"{d['m_jet_median']:.0f} GeV"
                                          for d in reference) + " |",
                  "| --- |" + " ---: |" * len(reference),
                  "| truth m / m_jet | " + " | ".join(f"{d['truth_median']:.3f}"
                                                     for d in reference) + " |"]
        for sample in result["samples"]:
            rows = sample.get("deciles", {}).get(jet_type, [])
            lines.append(f"| {sample_label(sample, with_run)} | " + " | ".join(
                f"{1e3 * d['median_shift']:+.0f} ± {1e3 * d['median_shift_error']:.0f}"
                for d in rows) + " |")
        counts = (("pt_beyond", " carry more transverse momentum than the jet (the pT of "
                   f"their sum over the jet pT above 1 + {PT_BEYOND_TOLERANCE:g}; a Pythia jet "
                   "only where its lost constituents point against it)"),
                  ("heavier", ", taken massless, are heavier than the jet (m / m_jet above 1 + "
                   f"{HEAVIER_TOLERANCE:g}; no real jet's are, `bound_cloud_mass`)"))
        for key, what in counts:
            if f"truth_{key}" not in reference[0]:  # results made before these counts
                break
            lines += _decile_count_table(result, jet_type, reference, key, what, with_run)
    return lines


def _decile_count_table(result: dict, jet_type: str, reference: list[dict], key: str,
                        what: str, with_run: bool) -> list[str]:
    """The truth's and each sample's jets counted by ``key`` (``truth_KEY``,
    ``generated_KEY`` of ``decile_response``) per decile of m_jet, and in all; ``what`` ends
    the caption's "jets whose stored constituents"."""
    lines = ["", f"Type {jet_type}, by the same deciles: jets whose stored constituents{what}.",
             "",
             "| | " + " | ".join(f"{d['m_jet_median']:.0f} GeV" for d in reference)
             + " | all |", "| --- |" + " ---: |" * (len(reference) + 1),
             "| truth | " + " | ".join(str(d[f"truth_{key}"]) for d in reference)
             + f" | {sum(d[f'truth_{key}'] for d in reference)} |"]
    for sample in result["samples"]:
        rows = sample.get("deciles", {}).get(jet_type, [])
        lines.append(f"| {sample_label(sample, with_run)} | " + " | ".join(
            str(d[f"generated_{key}"]) for d in rows)
            + f" | {sum(d[f'generated_{key}'] for d in rows)} |")
    return lines


def _ring_label(row: dict) -> str:
    return f"> {row['low']:g}" if row["high"] is None else f"{row['low']:g}–{row['high']:g}"


def _radial_tables(result: dict, with_run: bool) -> list[str]:
    """Per type, by ring of Delta R: generated / truth of the pT_rel per jet and the shift of
    the median m / m_jet each ring's deficit alone makes (results made before the rings were
    kept have none)."""
    lines: list[str] = []
    first = result["samples"][0].get("radial", {})
    for jet_type, reference in first.items():
        lines += ["", f"Type {jet_type}, by ring of ΔR from the jet axis: the truth's "
                  "constituents and Σ pT_rel per jet; per sample the generated / truth ratio "
                  "of Σ pT_rel (with the bootstrap error of the paired jets) and, below it, "
                  "the shift of the median m / m_jet (×10⁻³) that this ring's ratio alone "
                  "makes when applied to the truth jets (first order: the rows need not add "
                  "up to the shift of the table above).", "",
                  "| ΔR | " + " | ".join(_ring_label(r) for r in reference) + " |",
                  "| --- |" + " ---: |" * len(reference),
                  "| truth constituents per jet | " + " | ".join(
                      f"{r['truth_constituents']:.3g}" for r in reference) + " |",
                  "| truth Σ pT_rel per jet | " + " | ".join(
                      f"{r['truth_pt_rel']:.2g}" for r in reference) + " |"]
        for sample in result["samples"]:
            rows = sample.get("radial", {}).get(jet_type, [])
            label = sample_label(sample, with_run)
            lines.append(f"| {label}: pT gen / truth | " + " | ".join(
                "-" if r["pt_ratio"] is None else
                f"{r['pt_ratio']:.3f} ± {r['pt_ratio_error']:.3f}" for r in rows) + " |")
            total = 1e3 * sum(r["mass_shift"] or 0.0 for r in rows)
            lines.append(f"| {label}: m / m_jet shift (sum {total:+.1f}) | " + " | ".join(
                "-" if r["mass_shift"] is None else f"{1e3 * r['mass_shift']:+.1f}"
                for r in rows) + " |")
    return lines


def _two_panels(bottom_margin: float = 0.1) -> tuple[Figure, object, object]:
    """A figure with a main panel over a smaller one sharing its x axis (the deciles' and the
    rings' figures)."""
    fig = Figure(figsize=(6.0, 6.0))
    grid = fig.add_gridspec(2, 1, height_ratios=(2.0, 1.2), hspace=0.07, left=0.17, right=0.96,
                            top=0.94, bottom=bottom_margin)
    top, bottom = fig.add_subplot(grid[0]), fig.add_subplot(grid[1])
    bottom.sharex(top)
    return fig, top, bottom


def _title_and_save(fig: Figure, top, result: dict, stem: Path, jet_type: str,
                    suffix: str) -> Path:
    """Title the main panel (type and truth file), hide its x labels, write the PNG."""
    top.set_title(f"{jet_type} jets at the conditions of {Path(result['truth']).name}",
                  fontsize="small", loc="left")
    top.tick_params(labelbottom=False)
    path = figure_path(result, stem, jet_type, suffix)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    return path


def plot_radial(result: dict, stem: Path) -> list[Path]:
    """NAME[_T]_radial.png per type: the truth's Σ pT_rel per jet by ring of Delta R, and
    below it each sample's generated / truth ratio with its bootstrap error."""
    with_run = several_runs(result)
    written = []
    for jet_type, reference in result["samples"][0].get("radial", {}).items():
        with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
            fig, top, bottom = _two_panels(bottom_margin=0.17)
            ratios = []
            x = np.arange(len(reference))
            top.step(x, [r["truth_pt_rel"] for r in reference], where="mid", color="black",
                     label=REFERENCE)
            top.set_yscale("log")
            bottom.axhline(1.0, color="black", lw=1.0)
            for i, sample in enumerate(result["samples"]):
                rows = sample.get("radial", {}).get(jet_type, [])
                colour = MODEL_COLOURS[i % len(MODEL_COLOURS)]
                ratio = [np.nan if r["pt_ratio"] is None else r["pt_ratio"] for r in rows]
                error = [np.nan if r["pt_ratio_error"] is None else r["pt_ratio_error"]
                         for r in rows]
                top.plot(x + 0.06 * i, np.asarray(ratio) * [r["truth_pt_rel"] for r in rows],
                         "s", color=colour, ms=4, label=sample_label(sample, with_run))
                bottom.errorbar(x + 0.06 * i, ratio, yerr=error, fmt="s", color=colour, ms=4,
                                capsize=2)
                ratios += [r for r in ratio if np.isfinite(r) and r > 0]
            top.set_ylabel(r"$\Sigma\, p_\mathrm{T}^\mathrm{rel}$ per jet")
            top.legend(loc="lower left", fontsize="xx-small")
            bottom.set_yscale("log")  # rare rings beyond R reach several times the truth
            bottom.set_ylim(min([0.5, *ratios]) / 1.3, max([2.0, *ratios]) * 1.3)
            bottom.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
            bottom.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
            bottom.set_ylabel("gen / truth")
            bottom.set_xticks(x, [_ring_label(r) for r in reference], rotation=60,
                              fontsize="xx-small")
            bottom.set_xlabel(r"$\Delta R$ from the jet axis")
            path = _title_and_save(fig, top, result, stem, jet_type, "_radial")
        written.append(path)
    return written


DECILE_MARKERS = ("s", "^", "D", "v")


def plot_deciles(result: dict, stem: Path) -> list[Path]:
    """NAME[_T]_deciles.png per type: the median m / m_jet against m_jet by decile (truth and
    every sample), and below it each sample's shift with its bootstrap error."""
    with_run = several_runs(result)
    written = []
    for jet_type, reference in result["samples"][0].get("deciles", {}).items():
        with matplotlib.style.context([mplhep.style.CMS, TEXT_SIZES]):
            fig, top, bottom = _two_panels()
            x = [d["m_jet_median"] for d in reference]
            top.plot(x, [d["truth_median"] for d in reference], "o-", color="black",
                     label=REFERENCE)
            bottom.axhline(0.0, color="black", lw=1.0)
            for i, sample in enumerate(result["samples"]):
                rows = sample.get("deciles", {}).get(jet_type, [])
                colour = MODEL_COLOURS[i % len(MODEL_COLOURS)]
                # a colour comes back after five samples: the marker tells them apart
                marker = DECILE_MARKERS[i // len(MODEL_COLOURS) % len(DECILE_MARKERS)]
                xs = [d["m_jet_median"] for d in rows]
                top.plot(xs, [d["truth_median"] + d["median_shift"] for d in rows],
                         marker + "--", color=colour, ms=4,
                         label=sample_label(sample, with_run))
                bottom.errorbar(xs, [1e3 * d["median_shift"] for d in rows],
                                yerr=[1e3 * d["median_shift_error"] for d in rows],
                                fmt=marker, color=colour, ms=4, capsize=2)
            top.set_ylabel(r"median $m / m_\mathrm{jet}$")
            low, high = top.get_ylim()
            top.set_ylim(low, high + 0.25 * len(result["samples"]) * (high - low))  # legend
            top.legend(loc="upper right", fontsize="xx-small")
            bottom.set_ylabel(r"shift [$10^{-3}$]")
            bottom.set_xlabel(r"$m_\mathrm{jet}$ [GeV] (median of each decile)")
            path = _title_and_save(fig, top, result, stem, jet_type, "_deciles")
        written.append(path)
    return written


def plot(result: dict, stem: Path) -> list[Path]:
    """NAME[_T].png per type T of the first sample: m / m_jet of every sample and of the
    second truth's neighbours against the truth (``three_panel``); none for results made
    before the histograms were kept. Returns the files written."""
    with_run = several_runs(result)
    spread = result.get("truth_spread") or {}
    written = []
    for jet_type, groups in result["samples"][0]["types"].items():
        if "truth_histogram" not in groups["all"]:
            continue
        counts = {REFERENCE: groups["all"]["truth_histogram"]}
        if "histogram" in spread.get(jet_type, {}).get("all", {}):
            counts["truth-2"] = spread[jet_type]["all"]["histogram"]
        for sample in result["samples"]:
            if jet_type in sample["types"]:
                counts[sample_label(sample, with_run)] = \
                    sample["types"][jet_type]["all"]["generated_histogram"]
        edges = np.asarray(result["histogram_edges"][jet_type])
        curves = {name: normalised(np.asarray(c, float), np.asarray(c, float), edges)
                  for name, c in counts.items()}
        path = figure_path(result, stem, jet_type)
        three_panel(edges, curves, r"$m / m_\mathrm{jet}$ (stored constituents)", path,
                    title=f"{jet_type} jets at the conditions of {Path(result['truth']).name}")
        written.append(path)
    prongs = plot_prongs([s.get("prongs", {}) for s in result["samples"]],
                         [sample_label(s, with_run) for s in result["samples"]],
                         result.get("prong_edges", {}),
                         lambda jet_type, suffix: figure_path(result, stem, jet_type, suffix),
                         lambda jet_type: f"{jet_type} jets at the conditions of "
                                          f"{Path(result['truth']).name}")
    return written + plot_deciles(result, stem) + plot_radial(result, stem) + prongs


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


def check_same_truth_jets(matched: JetCloudSample, first: JetCloudSample, path: str,
                          first_path: str) -> None:
    """The tables share the first file's truth jets (the deciles' m_jet, the histograms'
    reference): a file that took other truth jets (another -n) is one clear error."""
    def counts(jets: JetCloudSample) -> dict[str, int]:
        return {JET_TYPES[c]: int((jets.jet_type == c).sum()) for c in np.unique(jets.jet_type)}

    these, those = counts(matched), counts(first)
    if these != those:
        raise LhcgenError(f"{path} took the conditions of {these} truth jets per type, "
                          f"{first_path} of {those}: sample every file with the same "
                          "-n and --condition-from")


def main() -> None:
    args = parse_args()
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        plot(json.loads(stem.with_suffix(".json").read_text()), stem)
        return
    samples = []
    try:
        truth = read_jets(args.truth)
        for path in args.generated:
            generated = read_jets(path)
            if generated.n_particles != truth.n_particles:
                raise LhcgenError(f"{path} stores {generated.n_particles} particles per jet, "
                                  f"{args.truth} {truth.n_particles}")
            matched = matched_truth(generated, truth)
            if not samples:  # every file must take the same truth jets' conditions
                conditioned = matched
                edges = histogram_edges(conditioned)
                edges_of_prongs = prong_edges(conditioned)
            else:
                check_same_truth_jets(matched, conditioned, path, args.generated[0])
            samples.append({"generated": path,
                            "generator": str(generated.attrs.get("generator", "-")),
                            **run_record(generated.attrs),
                            "sampler": sampler_label(generated.attrs),
                            "types": mass_response(generated, matched, args.seed, edges),
                            "deciles": decile_response(generated, matched, args.seed),
                            "radial": radial_response(generated, matched, args.seed),
                            "prongs": prong_response(generated, matched, args.seed,
                                                     edges_of_prongs)})
        spread = truth_spread(conditioned, read_jets(args.truth_2), edges) \
            if args.truth_2 else None
    except LhcgenError as e:
        sys.exit(f"error: {e}")
    result = {"machine": machine_info(), "command": command_line(), "truth": args.truth,
              "particles": truth.n_particles, "seed": args.seed, "samples": samples,
              "histogram_edges": edges, "prong_edges": edges_of_prongs}
    if spread is not None:
        result.update(truth_2=args.truth_2, truth_spread=spread)
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    write_results(stem, result, render)
    for path in plot(result, stem):
        print(f"wrote {path}")
    print(render(result))


if __name__ == "__main__":
    main()
