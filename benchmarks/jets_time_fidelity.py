"""Time–fidelity frontier of the jets generators: jets/s against the JetNet metrics / floor.

For every trained jets run (``--runs``: EDM, flow matching or consistency, any backbone),
every jet type of ``--types``, both conditioning protocols and every sampler setting of the
grid, the script samples ``--jets`` jets, times them, and compares them with ``--jets`` truth
jets through the five JetNet metrics (W1m, W1p, W1efp, FPD, KPD):

* protocols: ``file`` takes each jet's type, pT, eta, mass and constituent count from the
  truth file (``condition_from``, the published protocol, PC-JeDi / EPiC-FM), so those
  generated jets share their kinematics with the truth jets they are compared with;
  ``independent`` takes them from the floor's independent truth jets (``--truth-floor``),
  the published protocol without that shared sample, so file - independent is what the
  sharing flatters and independent - generated what the conditions model costs (where the
  floor's file is the training file, as in ``make jets``, they are training kinematics);
  ``generated`` samples them from the run's conditions model first;
* floor: the truth jets against ``--jets`` independent truth jets (``--truth-floor``), at
  the same sample sizes and metric settings, computed once per type; ×floor = value /
  max(floor value, floor error): the floor of KPD (unbiased) and FPD (extrapolated) is
  often at or below 0, and then its error, the resolution of the comparison, is the scale;
  ± on a ×floor: the value's and the floor's errors propagated to first order
  (``ratio_to_floor_error``); worst ×floor is the largest ×floor of the five metrics;
* metric settings: jetnet v0.2.5's batch counts with the sample sizes scaled to N =
  ``--jets``: W1 draws N jets per batch, FPD fits batch sizes N/5 .. N, KPD draws
  min(5000, N/2) jets per batch (N = 50000 gives jetnet's defaults but FPD's smallest
  batch, N/5 instead of 20000);
* samplers: ``--samplers`` ('heun:4,8,16 euler:8 midpoint:8@sigma_min=0.02 ...': a
  token's ``@option=value`` suffixes, EDM_OPTIONS, set the EDM noise schedule's sigma_min
  and rho, the stochastic sampler's s_churn, s_tmin and s_tmax, or the classifier-free
  guidance of a run trained with condition dropout, 'midpoint:16@guidance=2' (and its
  noise-level interval, guidance_sigma_low and guidance_sigma_high) for its steps, and
  CONSISTENCY_OPTIONS the consistency sampler's second and third noise levels, sigma_1
  and sigma_2: 'consistency:2@sigma_1=0.5'); each run
  takes those its model accepts (EDM samplers are skipped for flow matching and so on), or
  its own grid when it accepts none of them; by default ``DEFAULT_GRIDS`` for EDM and flow
  matching, the default sampler at 1, 2 and 3 steps for any other model (consistency);
* conditions: in the generated protocol the jets' pT, eta, m and constituent count come from
  the conditions model, which the JetNet metrics do not see apart from the constituents;
  their W1 per variable against the truth, batched as W1m, and ×floor (the truth against
  the independent truth jets) are tabled apart (``lhcgen.evaluate.jets.conditions``);
* substructure: beside the metrics, which do not take it, the W1 of τ21 and τ32 (β = 1,
  exclusive-kT axes: a top jet's three prongs, a W's or Z's two) to the truth's, ×floor over
  the truth against the independent truth jets (``SUBSTRUCTURE``); tabled, not in the worst
  ×floor;
* speed: jets/s of the whole sampling (conditions, constituents, decoding; the model loaded
  and warmed up) on ``--threads`` torch threads, as a ratio to Pythia 8 + FastJet jets/s on
  1 worker (1 core) for the same type, measured in the same run (``generate_jets``, end to
  end, Pythia initialisation included).

    python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_cfm \\
        --truth 'data/jets/{type}30_b.h5' --truth-floor 'data/jets/{type}30_a.h5' --types t

A ``{type}`` in a truth path is replaced by the jet type letter; a file holding several
types is filtered by type. Writes <out-dir>/<name>.json, .md and .png after every setting,
so a stopped run leaves its results; ``--render-only`` redraws .md and .png from the JSON.

On a GPU (``--device cuda``, or ``auto`` where one is present) the speed is the GPU's, in
fp32 (TF32 off, torch's default), and the simulator's is still one CPU core of the same
machine. A GPU lent for minutes can generate and leave the judging for later:
``--generate-only --samples DIR`` writes every generated sample to DIR (lhcgen's jets
schema) and <name>.json with the speeds and the simulator's rate but no metrics; on any
machine, ``--judge --samples DIR`` then computes the floors and metrics of those samples
against ``--truth`` and ``--truth-floor`` and writes the full .json, .md and .png, the
speeds and the simulator's rate kept as measured where the jets were made:

    python benchmarks/jets_time_fidelity.py --device cuda --generate-only --samples S \
        --runs runs/jets_edm_all_ft2 --types gqtwz --jets 5000 --protocols generated \
        --name jets_time_fidelity_gpu        # on the GPU machine
    python benchmarks/jets_time_fidelity.py --judge --samples S --name jets_time_fidelity_gpu
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.jet_hdf5 import read_jets, write_jets  # noqa: E402
from lhcgen.data.jet_run import generate_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES, JetCloudSample, JetSettings, make_pythia  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.evaluate.jets.conditions import (  # noqa: E402
    CONDITION_LABELS,
    condition_ratios,
    condition_w1,
)
from lhcgen.evaluate.jets.efp_range import efp_range  # noqa: E402
from lhcgen.evaluate.jets.metrics import (  # noqa: E402
    JetMetricSettings,
    JetSample,
    jet_metrics,
    ratio_to_floor,
    ratio_to_floor_error,
    w1_features,
)
from lhcgen.io import atomic_path  # noqa: E402
from lhcgen.models.config import ModelConfig  # noqa: E402
from lhcgen.models.registry import sampler_spec  # noqa: E402
from lhcgen.physics.substructure import tau_ratios  # noqa: E402
from lhcgen.solvers.sampling import CONSISTENCY_OPTIONS, EDM_OPTIONS  # noqa: E402
from lhcgen.train.init_run import history_before, with_teacher  # noqa: E402
from lhcgen.train.jet_surrogate import (  # noqa: E402
    JetSurrogate,
    bound_jet_masses,
    conserve_jet_pt_sums,
)
from lhcgen.train.run import resolve_device  # noqa: E402
from machine import command_line, machine_info, synchronize  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

METRICS = ("w1m", "w1p", "w1efp", "fpd", "kpd")
PROTOCOLS = ("file", "independent", "generated")
GOOD = 2.0
"""A setting is "within the floor" when every metric is at most GOOD × its floor."""
DEFAULT_GRIDS = {
    "edm": "heun:8,16,32 heun_dp:8,16 dpmpp_2m:8,16 euler:32 midpoint:8 midpoint_dp:8 rk4:4 "
           "rk4_dp:4 stochastic:16 euler_maruyama:32",
    "cfm": "euler:16 midpoint:4,8 heun:8 rk4:2,4",
}
"""Every sampler of each model at step counts a 2-core CPU sweeps in about 30 minutes at
5000 jets. Fewer EDM steps are left out: on top jets Heun at 8 steps (15 NFE) already puts
the median relative mass 40 % high (32 steps get it within 1 %), and the data-prediction
forms at 4 steps put it 20-50 % low."""
QUICK_GRIDS = {"edm": "heun:2 dpmpp_2m:2", "cfm": "midpoint:2 euler:2"}
FEW_STEPS = (1, 2, 3)
"""Steps of any other model (consistency models): its default sampler at 1, 2, 3 steps."""
QUICK_BATCHES = {"w1_num_batches": 2, "fpd_num_batches": 2, "fpd_num_points": 3,
                 "kpd_num_batches": 2}

Grid = list[tuple[str | None, int | None, dict[str, float]]]


# ---- settings --------------------------------------------------------------------------------
SAMPLER_OPTIONS = {"edm": EDM_OPTIONS, "consistency": CONSISTENCY_OPTIONS}
"""The options a grid token's ``@option=value`` may set, per model."""


def parse_options(token: str, parts: list[str]) -> dict[str, float]:
    """['sigma_min=0.02', 'rho=5'] -> {"sigma_min": 0.02, "rho": 5.0} (SAMPLER_OPTIONS)."""
    known = EDM_OPTIONS + CONSISTENCY_OPTIONS
    options: dict[str, float] = {}
    for part in parts:
        key, _, value = part.partition("=")
        if key not in known:
            raise ValueError(f"unknown sampler option {key!r} in {token!r} (known: "
                             f"{', '.join(known)})")
        try:
            options[key] = float(value)
        except ValueError:
            raise ValueError(f"{key} needs a number, got {value!r} in {token!r}") from None
        if not math.isfinite(options[key]) or options[key] < 0:
            raise ValueError(f"{key} must be a finite number >= 0, got {value!r}")
    return options


def parse_grid(spec: str) -> Grid:
    """'heun:4,8 euler:8@sigma_min=0.02 dopri5' -> [("heun", 4, {}), ("heun", 8, {}),
    ("euler", 8, {"sigma_min": 0.02}), ("dopri5", None, {})]: each token is
    name[:steps,...][@option=value...], the options (EDM_OPTIONS) applying to its steps."""
    grid: Grid = []
    for token in spec.split():
        head, *option_parts = token.split("@")
        options = parse_options(token, option_parts)
        name, _, steps = head.partition(":")
        if not name:
            raise ValueError(f"no sampler name in {token!r}")
        if not steps:
            grid.append((name, None, options))
            continue
        for s in steps.split(","):
            if not s.isdigit() or int(s) <= 0:
                raise ValueError(f"steps must be positive integers, got {s!r} in {token!r}")
            grid.append((name, int(s), dict(options)))
    return grid


def guided(options: dict[str, float]) -> bool:
    """Whether a setting's options ask for classifier-free guidance."""
    return options.get("guidance", 1.0) != 1.0 or any(k.startswith("guidance_")
                                                       for k in options)


def model_grid(model: str, grid: Grid | None, quick: bool,
               guidable: bool = False) -> tuple[Grid, list[str]]:
    """The settings to run for ``model`` and the samplers of ``grid`` it does not take. The
    model's own grid when ``grid`` is None or holds none of its samplers. Guided settings
    only for a ``guidable`` run (trained with ``model.edm.condition_dropout``)."""
    spec = sampler_spec(model)
    if not spec.solvers:
        return [(None, None, {})], []
    skipped: list[str] = []
    if grid is not None:
        fits = set(SAMPLER_OPTIONS.get(model, ()))

        def takes(name: str, options: dict[str, float]) -> bool:
            return (name in spec.solvers and set(options) <= fits
                    and (guidable or not guided(options)))

        kept = [(name, steps, options) for name, steps, options in grid
                if takes(name, options)]
        skipped = sorted({name + ("" if name not in spec.solvers else "@guidance"
                                  if set(options) <= fits else "@options")
                          for name, _, options in grid if not takes(name, options)})
        if kept:
            return kept, skipped
    own = (QUICK_GRIDS if quick else DEFAULT_GRIDS).get(model)
    if own is not None:
        return parse_grid(own), skipped
    return [(spec.default_solver, s, {}) for s in (FEW_STEPS[:1] if quick else FEW_STEPS)], \
        skipped


def metric_settings(n: int, quick: bool) -> JetMetricSettings:
    """jetnet v0.2.5's batch counts (fewer with ``quick``), sample sizes scaled to ``n``."""
    return JetMetricSettings(w1_num_eval_samples=n, fpd_min_samples=max(2, n // 5),
                             fpd_max_samples=n, kpd_batch_size=max(2, min(5000, n // 2)),
                             **(QUICK_BATCHES if quick else {}))


def finite(x: float | None) -> float | None:
    """``x`` as a float, None when missing or not finite (the JSON holds no NaN)."""
    return float(x) if x is not None and math.isfinite(x) else None


# ---- truth, floor and simulator ---------------------------------------------------------------
def truth_jets(pattern: str, jet_type: str, n: int) -> tuple[str, JetCloudSample]:
    """The first ``n`` jets of ``jet_type`` in ``pattern`` ({type} -> the letter)."""
    path = pattern.replace("{type}", jet_type)
    sample = read_jets(path)
    sample = sample.subset(sample.jet_type == JET_TYPES.index(jet_type))
    if len(sample) < n:
        raise SystemExit(f"error: {path} holds {len(sample)} {jet_type} jets, fewer than "
                         f"--jets {n}")
    return path, sample.subset(slice(0, n))


def metric_dict(results: dict) -> dict:
    return {k: {"value": finite(r.value), "error": finite(r.error)} for k, r in results.items()}


def simulator_rate(jet_type: str, particles: int, n: int, seed: int) -> dict:
    """Pythia 8 + FastJet ``jet_type`` jets/s on one worker (this process): end to end, and
    without Pythia's initialisation (timed apart), as the generators' rates exclude loading;
    the latter, the larger, is the reference."""
    settings = JetSettings(jet_type=jet_type, n_particles=particles)
    started = time.perf_counter()
    make_pythia(settings, seed + 1)
    init = time.perf_counter() - started
    sample = generate_jets(n, seed, settings, workers=1, shard_size=n, progress=False)
    seconds = float(sample.attrs["generation_seconds"])
    return {"jets": len(sample), "seconds": seconds, "initialisation_seconds": init,
            "end_to_end_jets_per_second": len(sample) / seconds,
            "jets_per_second": len(sample) / max(seconds - init, 1e-9), "workers": 1}


# ---- runs -------------------------------------------------------------------------------------
def network_label(model: ModelConfig) -> str:
    """The backbone as the tables name it: ``model.net``, with its pair biases where on."""
    return f"{model.net} + pair biases" if model.pair_bias else model.net


def run_facts(label: str, surrogate: JetSurrogate) -> dict:
    """Model, backbone, parameters and training time of a run (RUN/metrics.json)."""
    facts = surrogate.run_facts()
    cond = facts.get("conditions", {})
    params = facts.get("parameters") or sum(p.numel() for p in surrogate.model.parameters())
    seconds = facts.get("training_seconds")
    total = None if seconds is None else seconds + cond.get("training_seconds", 0.0)
    # a run that started from another's weights (training.init_from) or was distilled from
    # a teacher: the chain's cost
    chain = history_before(with_teacher(facts, surrogate.cfg)) if facts else None
    epochs = facts.get("epochs")
    if chain and total is not None:
        total += chain["training_seconds"]
        epochs = f"{chain['epochs']} + {epochs}"
    return {"run": label, "run_dir": str(surrogate.run_dir.resolve()),
            "model": surrogate.cfg.model.name, "net": network_label(surrogate.cfg.model),
            "parameters": int(params), "conditions_parameters": cond.get("parameters"),
            "training_seconds": seconds,
            "conditions_training_seconds": cond.get("training_seconds"),
            "total_training_seconds": total, "epochs": epochs,
            "started_from": chain["runs"] if chain else [],
            "conditions_from": cond.get("initialised_from", ""),
            "conditions_steps": cond.get("steps"),
            **({"rare_draws": facts["rare_draws"]} if facts.get("rare_draws") else {}),
            "training_device": facts.get("device"), "training_threads": facts.get("threads"),
            "types": "".join(surrogate.types),
            "has_conditions_model": surrogate.conditions_model is not None}


def ratios(metrics: dict, floor: dict) -> dict:
    """×floor of every metric: value / max(floor value, floor error); None if undefined."""
    return {k: ratio_to_floor(metrics[k]["value"], floor[k]) for k in METRICS}


def evaluate_setting(surrogate: JetSurrogate, facts: dict, jet_type: str, protocol: str,
                     solver: str | None, steps: int | None, options: dict[str, float],
                     ctx: dict) -> list[dict]:
    """Generate, time and judge one setting; returns its rows: one, or with ``--pt-sum
    both`` the jets as the network made them and the same jets with the pT sum conserved
    (their time includes the rescaling), and with ``--jet-mass both`` each of these also
    with the jets heavier than the jet brought to its mass."""
    args = ctx["args"]
    options = dict(options)
    if solver == "stochastic":
        options.setdefault("s_churn", args.s_churn)
    condition_from = {"file": ctx["truth_path"], "independent": ctx["floor_path"]}
    jets, info = surrogate.generate(ctx["n"], jet_type, condition_from.get(protocol),
                                    solver, steps, args.batch_size, args.seed, progress=False,
                                    options=options,
                                    conserve_pt_sum=args.pt_sum == "conserved",
                                    bound_mass=args.jet_mass == "bounded")
    versions = [(jets, info)]
    if args.pt_sum == "both":
        versions.append(pt_sum_conserved(jets, info))
    if args.jet_mass == "both":
        versions += [mass_bounded(*version) for version in versions]
    rows = []
    for jets, info in versions:
        row = speed_row(info, facts, jet_type, protocol, options, ctx)
        if args.generate_only:
            rows.append({**row, "sample": keep_sample(jets, row, Path(args.samples))})
        else:
            rows.append(judge_row(row, jets, ctx))
    return rows


def sample_name(row: dict) -> str:
    """The file name of a row's kept sample: type, protocol, run, sampler, steps, options,
    pT-sum and jet-mass handling, so that every setting of one benchmark run gets its own."""
    options = "".join(f"_{k}{v:g}" for k, v in sorted((row.get("options") or {}).items()))
    run = row["run"].strip("/").replace("/", "_")
    mass = "_mass_bounded" if row.get("jet_mass") == "bounded" else ""
    return (f"{row['type']}_{row['protocol']}_{run}_{row['solver'] or 'pass'}_"
            f"{row['steps'] or 0}{options}_{row['pt_sum']}{mass}.h5")


def keep_sample(jets: JetCloudSample, row: dict, folder: Path) -> str:
    """Write the generated ``jets`` of ``row`` to ``folder`` (atomically) for ``--judge``;
    returns the file name."""
    name = sample_name(row)
    folder.mkdir(parents=True, exist_ok=True)
    write_jets(folder / name, jets)
    return name


def pt_sum_conserved(jets: JetCloudSample, info: dict) -> tuple[JetCloudSample, dict]:
    """Raw generated jets, their pT sum conserved after the fact as ``generate`` does it."""
    started = time.perf_counter()
    particles, sums, bounded = conserve_jet_pt_sums(jets.particles, jets.mask,
                                                    jets.n_constituents, jets.mask.sum(axis=1))
    seconds = info["seconds"] + time.perf_counter() - started
    return (dataclasses.replace(jets, particles=particles),
            {**info, "pt_sum": "conserved", "n_pt_sum_rescaled": int(np.isfinite(sums).sum()),
             "n_truncated_pt_sum_bounded": bounded,
             "seconds": round(seconds, 4), "jets_per_second": info["n_requested"] / seconds})


def mass_bounded(jets: JetCloudSample, info: dict) -> tuple[JetCloudSample, dict]:
    """Generated jets, those heavier than the jet brought to its mass after the fact, as
    ``generate`` does it (after the pT sum)."""
    started = time.perf_counter()
    particles, facts = bound_jet_masses(jets.particles, jets.mask, jets.jets, True)
    seconds = info["seconds"] + time.perf_counter() - started
    attrs = {**jets.attrs, **{f"sampling_{k}": v for k, v in facts.items()}}
    return (dataclasses.replace(jets, particles=particles, attrs=attrs),
            {**info, **facts, "seconds": round(seconds, 4),
             "jets_per_second": info["n_requested"] / seconds})


def speed_row(info: dict, facts: dict, jet_type: str, protocol: str,
              options: dict[str, float], ctx: dict) -> dict:
    """The row of one generated sample before it is judged: the setting and its speed."""
    rate = info["jets_per_second"]
    row = {
        "run": facts["run"], "model": facts["model"], "net": facts["net"], "type": jet_type,
        "protocol": protocol, "solver": info["solver"], "steps": info["steps"],
        "nfe": info["nfe"], "conditions_nfe": info["conditions_nfe"],
        "batch_size": info["batch_size"], "jets": ctx["n"], "n_written": info["n_written"],
        "n_nonfinite": info["n_nonfinite"], "seconds": info["seconds"],
        "network_seconds": info["network_seconds"],
        "conditions_seconds": info["conditions_seconds"], "jets_per_second": rate,
        "times_simulator": rate / ctx["simulator"]["jets_per_second"],
        "options": options, "pt_sum": info["pt_sum"],
        "pt_sum_quantiles": info["pt_sum_quantiles"], "device": info["device"],
        "n_truncated_pt_sum_bounded": info.get("n_truncated_pt_sum_bounded"),
        "jet_mass": info.get("jet_mass"), "mass_ratio_quantiles": info.get("mass_ratio_quantiles"),
        "n_heavier_than_jet": info.get("n_heavier_than_jet"),
        "n_mass_bounded": info.get("n_mass_bounded"),
    }
    return row


def judge_row(row: dict, jets: JetCloudSample, ctx: dict) -> dict:
    """``row`` with the metrics of its generated ``jets`` against the truth and the floor."""
    args, protocol = ctx["args"], row["protocol"]
    started = time.perf_counter()
    settings = ctx["settings"]
    if len(jets) < ctx["n"]:  # non-finite jets removed: the sizes cannot exceed the sample
        settings = metric_settings(len(jets), args.quick)
    try:
        generated = JetSample.from_particles(jets.particles, jets.mask)
        if not np.isfinite(generated.efps).all():
            raise ValueError(f"EFPs overflow: generated pT_rel up to "
                             f"{jets.particles[..., 2].max():.3g} "
                             f"({int((jets.particles[..., 2] > 1).sum())} constituents "
                             "above 1)")
        metrics = metric_dict(jet_metrics(ctx["truth"], generated, seed=args.metric_seed,
                                          settings=settings))
    except Exception as e:  # noqa: BLE001 - e.g. EFPs overflowing for absurd jets
        return {**row, "error": f"metrics: {e}"}
    r = ratios(metrics, ctx["floor"])
    for k in METRICS:
        metrics[k]["ratio"] = r[k]
    defined = {k: v for k, v in r.items() if v is not None}
    worst = max(defined, key=defined.get) if defined else None
    if protocol == "generated":  # file and independent copy their conditions from a file
        row["conditions"] = judge_conditions(jets, ctx, settings)
    row["efp_range"] = efp_range(ctx["truth"].efps, generated.efps).as_dict()
    row["substructure"] = {
        k: {**w1, "ratio": ratio_to_floor(w1["value"], ctx["substructure_floor"][k])}
        for k, w1 in substructure_w1(ctx["truth_taus"], tau_ratios(jets.particles, jets.mask),
                                     args.metric_seed, settings).items()}
    return {**row, "metrics": metrics, "worst_ratio": defined.get(worst), "worst_metric": worst,
            "relative_mass_quantiles": mass_quantiles(generated),
            "metric_settings_reduced": settings is not ctx["settings"],
            "metric_seconds": round(time.perf_counter() - started, 2)}


def judge_conditions(jets: JetCloudSample, ctx: dict, settings: JetMetricSettings) -> dict:
    """W1 of the generated jets' pT, eta, m and N against the truth's, with its ×floor."""
    w1 = condition_w1(ctx["truth_jets"], jets, seed=ctx["args"].metric_seed, settings=settings)
    r = condition_ratios(w1, ctx["conditions_floor"])
    return {label: {**w1[label], "ratio": r[label]} for label in CONDITION_LABELS}


SUBSTRUCTURE = ("tau21", "tau32")
"""N-subjettiness ratios judged beside the five metrics, which do not take them: a top jet's
three prongs show in τ32, a W's or Z's two in τ21 (β = 1, exclusive-kT axes)."""


def substructure_w1(truth_taus: np.ndarray, taus: np.ndarray, seed: int,
                    settings: JetMetricSettings) -> dict:
    """{τ21, τ32: W1 of the jets' distribution to the truth's, ± the batches' spread}, with
    W1m's batches (``w1_features``)."""
    w1 = w1_features("substructure", truth_taus, taus, SUBSTRUCTURE, seed=seed,
                     num_eval_samples=settings.w1_num_eval_samples,
                     num_batches=settings.w1_num_batches)
    return {label: {"value": finite(v), "error": finite(e)} for label, v, e in w1.parts}


MASS_QUANTILES = (0.16, 0.5, 0.84)


def mass_quantiles(sample: JetSample) -> list[float]:
    """16 %, 50 % and 84 % quantiles of the relative jet mass m / pT: the physics check
    beside the metrics (top jets peak near m_t / pT, W and Z jets near m_W / pT)."""
    return [float(q) for q in np.quantile(sample.mass, MASS_QUANTILES)]


def _mass(q: list[float] | None) -> str:
    return "-" if not q else f"{q[1]:.3f} [{q[0]:.3f}, {q[2]:.3f}]"


def warm_up(surrogate: JetSurrogate, jet_type: str, truth_path: str, n: int,
            batch_size: int | None) -> None:
    """One untimed sampling with the run's default sampler (first-call allocations, thread
    pools; on a GPU the kernels and library handles of the timed batch size: 128 jets on the
    CPU, a whole batch on a GPU), the conditions from the conditions model where the run has
    one, else from ``truth_path``."""
    size = min(n, 128) if surrogate.device.type == "cpu" else \
        min(n, batch_size or surrogate.cfg.sampling.batch_size)
    condition_from = None if surrogate.conditions_model is not None else truth_path
    try:
        surrogate.generate(size, jet_type, condition_from, progress=False)
        synchronize(surrogate.device)
    except Exception:  # noqa: BLE001 - the timed settings record the error
        pass


# ---- summaries --------------------------------------------------------------------------------
def ok_rows(result: dict, jet_type: str, protocol: str) -> list[dict]:
    return [r for r in result["rows"] if r["type"] == jet_type and r["protocol"] == protocol
            and "error" not in r]


PT_SUM_MARK = "Σ pT = jet pT"
"""Marks the rows whose complete jets were rescaled to sum to the jet pT."""
MASS_MARK = "m ≤ m_jet"
"""Marks the rows whose jets heavier than the jet were brought to its mass."""


def label(row: dict) -> str:
    sampler = row["solver"] or "one pass"
    return (f"{row['run']} {sampler}" + (f" {row['steps']}" if row["steps"] else "")
            + _shown(row))


def _options(row: dict) -> str:
    """The sampler options of ``row`` and whether its pT sum was conserved, in words."""
    options = dict(row.get("options") or {})
    if row.get("s_churn") is not None:  # results written before rows had "options"
        options["s_churn"] = row["s_churn"]
    names = {"s_churn": "S_churn", "s_tmin": "S_tmin", "s_tmax": "S_tmax",
             "sigma_min": "σ_min", "rho": "ρ", "sigma_1": "σ_1", "sigma_2": "σ_2",
             "guidance": "w", "guidance_sigma_low": "w from σ", "guidance_sigma_high": "w to σ"}
    return ", ".join([f"{names.get(k, k)} {v:g}" for k, v in sorted(options.items())]
                     + ([PT_SUM_MARK] if row.get("pt_sum") == "conserved" else [])
                     + ([MASS_MARK] if row.get("jet_mass") == "bounded" else []))


def _shown(row: dict) -> str:
    shown = _options(row)
    return f" ({shown})" if shown else ""


def frontier(rows: list[dict]) -> list[dict]:
    """Rows no other row beats on both jets/s and worst ×floor, fastest first."""
    points = sorted((r for r in rows if r["worst_ratio"] is not None),
                    key=lambda r: (-r["jets_per_second"], r["worst_ratio"]))
    front, best = [], math.inf
    for r in points:
        if r["worst_ratio"] < best:
            front.append(r)
            best = r["worst_ratio"]
    return front


def within_floor(row: dict) -> bool:
    return all(row["metrics"][k]["ratio"] is not None and row["metrics"][k]["ratio"] <= GOOD
               for k in METRICS)


# ---- markdown ---------------------------------------------------------------------------------
def _pm(entry: dict) -> str:
    if entry["value"] is None:
        return "-"
    error = f" ± {entry['error']:.2g}" if entry["error"] is not None else ""
    return f"{entry['value']:.3g}{error}"


def _x(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.3g}"


def worst_error(row: dict, floor: dict) -> float | None:
    """The propagated error of a judged row's worst ×floor (``ratio_to_floor_error``)."""
    metric = row["metrics"][row["worst_metric"]]
    return ratio_to_floor_error(metric["value"], metric["error"], floor[row["worst_metric"]])


def _x_pm(metric: dict, floor: dict) -> str:
    """A metric's ×floor with its propagated error: '2.83 ± 0.81'."""
    ratio = metric.get("ratio")
    error = ratio_to_floor_error(metric["value"], metric["error"], floor)
    return _x(ratio) + (f" ± {error:.2g}" if ratio is not None and error is not None else "")


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 600:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.2g} h"


def _count(n: int | None) -> str:
    if n is None:
        return "-"
    return f"{n / 1e6:.3g}M" if n >= 1e6 else f"{n / 1e3:.3g}k" if n >= 1e3 else str(n)


def _setting_key(row: dict) -> str:
    """Run, sampler and steps of a row, as the pT-sum notes name it."""
    return f"{row['run']} {row['solver'] or 'one pass'} {row['steps'] or ''}".strip()


def _pt_sum_note(result: dict) -> str:
    """The generated pT sums of complete jets, per run and setting, before any rescaling."""
    seen = [r for r in result["rows"] if "error" not in r and r.get("pt_sum_quantiles")]
    if not seen:
        return ""
    parts = []
    for r in seen:
        text = f"{_setting_key(r)} ({r['type']}, {r['protocol']}): " + \
            "{1:.3f} [{0:.3f} / {2:.3f}]".format(*r["pt_sum_quantiles"][1:4])
        if text not in parts:
            parts.append(text)
    text = ("Summed constituent pT over the jet pT of the complete jets as the network made "
            "them, median [5 % / 95 %] (the truth's: 1): " + "; ".join(parts) + ".")
    bounded = []
    for r in seen:
        if r.get("n_truncated_pt_sum_bounded") is not None and r["pt_sum"] == "conserved":
            entry = (f"{_setting_key(r)} ({r['type']}, {r['protocol']}): "
                     f"{r['n_truncated_pt_sum_bounded']}")
            if entry not in bounded:
                bounded.append(entry)
    if bounded:
        text += (" Truncated jets whose stored constituents summed farther from the jet pT "
                 "than their cut ones (each softer than the softest stored) can make up, "
                 "rescaled to the nearest allowed sum (`bound_truncated_cloud_pt`, with "
                 f"{PT_SUM_MARK} since 2026-12-05): " + "; ".join(bounded) + ".")
    return text + _mass_note(seen)


def _mass_note(rows: list[dict]) -> str:
    """How many generated jets came out heavier than the jet, per run and setting."""
    parts = []
    for r in rows:
        if r.get("n_heavier_than_jet") is None:  # results written before 2026-12-06
            continue
        quantiles = r["mass_ratio_quantiles"]
        entry = (f"{_setting_key(r)} ({r['type']}, {r['protocol']}): "
                 f"{r['n_heavier_than_jet']} of {r['n_written']}"
                 + (" [{1:.3f} / {3:.3f} / {4:.3f} / {5:.3f}]".format(*quantiles)
                    if quantiles else ""))
        if entry not in parts:
            parts.append(entry)
    if not parts:
        return ""
    return (" Jets whose stored constituents, taken massless, are heavier than the jet (none "
            "in Pythia: massless constituents, and fewer of them, make a lighter sum), and "
            "their mass over the jet mass before any bound [5 % / 50 % / 95 % / 99 %]: "
            + "; ".join(parts) + f". {MASS_MARK}: those jets brought to the jet mass by one "
            "factor on their angles, their summed pT kept (`bound_cloud_mass`, `lhcgen sample "
            "--bound-mass`).")


def _where(result: dict) -> str:
    """Where the jets were generated, in words."""
    if not result.get("device", "cpu").startswith("cuda"):
        return f"the CPU with {result['threads']} torch thread(s)"
    tf32 = "TF32 on" if result.get("tf32") else "TF32 off"
    return f"the GPU ({result['machine'].get('gpu', 'CUDA')}, fp32, {tf32})"


def _speed_on(result: dict) -> str:
    """What the jets/s axis was measured on, in a few words."""
    if result.get("device", "cpu").startswith("cuda"):
        return result["machine"].get("gpu", "GPU")
    return f"{result['threads']} thread(s)"


def _judged_note(result: dict) -> str:
    """Where the metrics of a --generate-only run were computed, if not where it ran."""
    j = result.get("judged_on")
    if not j:
        return ""
    return (f" Generated there with --generate-only; the metrics computed afterwards from the "
            f"kept samples on {j['cpu']} ({j['logical_cpus']} logical CPUs): "
            f"`{result['judge_command']}`.")


def render(result: dict) -> str:
    m = result["machine"]
    runs = {r["run"]: r for r in result["runs"]}
    lines = [
        "# Jets generators: the time–fidelity frontier", "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs"
        + (f", {m['gpu']} ({m['gpu_memory_gib']:g} GiB, CUDA {m['cuda_version']})"
           if m.get("gpu") else "")
        + f", torch {m['torch']}, Python {m['python']}. Command: `{result['command']}`."
        + _judged_note(result), "",
        f"Generation on {_where(result)}, batch size "
        f"{result['batch_size'] or 'of each run'}, seed {result['seed']}; {result['jets']} "
        f"generated and {result['jets']} truth jets per comparison. Metrics: jetnet v0.2.5 "
        f"definitions, seed {result['metric_seed']}, settings "
        f"`{result['metric_settings']}` (jetnet's batch counts, sample sizes scaled to the "
        "jets per comparison).", "",
        _protocols_note(result) + " Floor: the truth jets against as many independent "
        "truth jets "
        f"(`{result['truth_floor']}` vs `{result['truth']}`). ×floor = value / max(floor "
        "value, floor error) (KPD's and FPD's floors are often ≤ 0, then their error is the "
        "scale), ± the value's and the floor's errors propagated to first order (the value's "
        "alone where the floor's error is the scale); worst = the largest ×floor of the five, "
        "★ = on the time–fidelity frontier (no setting is both faster and closer to the "
        "floor). jets/s: the whole sampling (conditions, constituents, decoding), the model "
        "loaded and warmed up; NFE: "
        "constituent network evaluations (+ the conditions model's). ×sim = jets/s / "
        "Pythia 8 + FastJet jets/s of the type on 1 worker (1 core) measured in this run, "
        "Pythia's initialisation (timed apart) excluded. "
        f"{PT_SUM_MARK}: the constituents of every jet that keeps them all rescaled by one "
        "factor to sum to the jet pT (`lhcgen sample`'s default since 2026-12-03); rows "
        "without it are the constituents as the network made them. "
        + _pt_sum_note(result), "",
        "## Simulator and floor", "",
        "| type | Pythia jets | s | initialisation s | jets/s (1 worker) | end to end | "
        + " | ".join(f"floor {k}" for k in METRICS) + " |",
        "| --- | ---: | ---: | ---: | ---: | ---: |" + " ---: |" * len(METRICS)]
    for t, entry in result["types"].items():
        sim = entry["simulator"]
        lines.append(f"| {t} | {sim['jets']} | {sim['seconds']:.1f} | "
                     f"{sim['initialisation_seconds']:.1f} | {sim['jets_per_second']:.1f} | "
                     f"{sim['end_to_end_jets_per_second']:.1f} | "
                     + " | ".join(_pm(entry["floor"][k]) for k in METRICS) + " |")
    lines += ["", "## Runs", "", "| run | model | net | parameters (conditions) | training "
              "(conditions) | epochs | trained on | types | skipped samplers (or error) |",
              "| --- | --- | --- | ---: | ---: | ---: | --- | --- | --- |"]
    for r in result["runs"]:
        where = f"{r['training_device']}, {r['training_threads']} threads" \
            if r.get("training_device") else "-"
        note = r.get("error") or ", ".join(r["skipped"]) or "-"
        lines.append(f"| {r['run']} | {r['model']} | {r['net']} | {_count(r['parameters'])} "
                     f"({_count(r['conditions_parameters'])}) | "
                     f"{_duration(r['total_training_seconds'])} "
                     f"({_duration(r['conditions_training_seconds'])}) | {r['epochs'] or '-'} "
                     f"| {where} | {r['types']} | {note} |")
    chains = [f"{r['run']} started from {' then '.join(r['started_from'])}"
              for r in result["runs"] if r.get("started_from")]
    # a distilled run's chain starts with its teacher's (results before 2026-12-05 had none)
    distilled = any(r.get("started_from") and r["model"] == "consistency"
                    for r in result["runs"])
    if chains:
        lines += ["", "Runs that started from another run's weights (`training.init_from`"
                  + (", or a distilled run's teacher" if distilled else "") + "): "
                  + "; ".join(chains) + ". Their training time and epochs are the whole "
                  "chain's (network and conditions model, the first run's + this one's)."]
    taken = [f"{r['run']} from {r['conditions_from']}"
             + (" as it is" if not r.get("conditions_steps") else
                f", then {r['conditions_steps']} steps")
             for r in result["runs"] if r.get("conditions_from")]
    if taken:
        lines += ["", "Conditions models that started from another run's "
                  "(`conditions.warm_start`; a distilled run's teacher or "
                  "`training.init_from`): " + "; ".join(taken) + ". Their training time above "
                  "is this run's alone."]
    rare = [f"{r['run']} (up to {r['rare_draws']['boost']:g}x, {r['rare_draws']['condition']}: "
            f"{r['rare_draws']['boosted_events']} of {r['rare_draws']['events']} training jets, "
            f"{100 * r['rare_draws']['boosted_share_of_draws']:.1f} % of the draws)"
            for r in result["runs"] if r.get("rare_draws")]
    if rare:
        lines += ["", "Runs that drew the jets of rare conditions more often "
                  "(`training.rare_boost`, in their own epochs only): " + "; ".join(rare) + "."]
    for t in result["types"]:
        for protocol in result["protocols"]:
            lines += _setting_table(result, runs, t, protocol)
    lines += _summaries(result)
    return "\n".join(lines) + "\n"


def _setting_table(result: dict, runs: dict, jet_type: str, protocol: str) -> list[str]:
    rows = [r for r in result["rows"] if r["type"] == jet_type and r["protocol"] == protocol]
    if not rows:
        return []
    front = {id(r) for r in frontier([r for r in rows if "error" not in r])}
    truth_mass = _mass(result["types"][jet_type].get("relative_mass_quantiles"))
    floor = result["types"][jet_type]["floor"]
    lines = ["", f"## Type {jet_type}, {protocol} conditions", "",
             f"Truth relative jet mass m/pT: median [16 %, 84 %] {truth_mass}.", "",
             "| run | model | net | params | training | sampler | steps | NFE | jets/s | ×sim | "
             + " | ".join(f"{k} | ×floor" for k in METRICS) + " | worst ×floor | m/pT median "
             "[16 %, 84 %] |",
             "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: |"
             + " ---: | ---: |" * len(METRICS) + " ---: | ---: |"]
    failed = []
    for r in rows:
        if "error" in r:
            speed = f" ({r['jets_per_second']:.0f} jets/s)" if "jets_per_second" in r else ""
            failed.append(f"- {r['run']} {r['solver'] or ''} {r['steps'] or ''}{speed}: "
                          f"{r['error']}")
            continue
        run = runs[r["run"]]
        nfe = str(r["nfe"]) + (f" + {r['conditions_nfe']}" if r["conditions_nfe"] else "")
        error = None if r["worst_metric"] is None else worst_error(r, floor)
        worst = ("-" if r["worst_metric"] is None else
                 _x(r["worst_ratio"]) + ("" if error is None else f" ± {error:.2g}")
                 + f" ({r['worst_metric']})") + (" ★" if id(r) in front else "")
        note = f" ({r['n_nonfinite']} non-finite)" if r["n_nonfinite"] else ""
        lines.append(f"| {r['run']} | {r['model']} | {r['net']} | {_count(run['parameters'])} | "
                     f"{_duration(run['total_training_seconds'])} | "
                     f"{r['solver'] or 'one pass'}{_shown(r)} | {r['steps'] or '-'} | {nfe} | "
                     f"{r['jets_per_second']:.0f}{note} | {r['times_simulator']:.3g} | "
                     + " | ".join(f"{_pm(r['metrics'][k])} | {_x_pm(r['metrics'][k], floor[k])}"
                                  for k in METRICS)
                     + f" | {worst} | {_mass(r.get('relative_mass_quantiles'))} |")
    if failed:
        lines += ["", "Failed settings:", "", *failed]
    return lines


def _summaries(result: dict) -> list[str]:
    keys = [(t, p) for t in result["types"] for p in result["protocols"]]
    lines = ["", "## Best ×floor per metric", "",
             "| type | protocol | " + " | ".join(METRICS) + " |",
             "| --- | --- |" + " --- |" * len(METRICS)]
    for t, p in keys:
        rows, floor = ok_rows(result, t, p), result["types"][t].get("floor") or {}
        cells = []
        for k in METRICS:
            scored = [r for r in rows if r["metrics"][k]["ratio"] is not None]
            best = min(scored, key=lambda r: r["metrics"][k]["ratio"], default=None)
            cells.append("-" if best is None else
                         f"{_x_pm(best['metrics'][k], floor[k])} ({label(best)})")
        lines.append(f"| {t} | {p} | " + " | ".join(cells) + " |")
    lines += ["", f"## Fastest setting within {GOOD:g}× the floor on every metric", "",
              "| type | protocol | setting | NFE | jets/s | ×sim | worst ×floor |",
              "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for t, p in keys:
        good = [r for r in ok_rows(result, t, p) if within_floor(r)]
        r = max(good, key=lambda r: r["jets_per_second"], default=None)
        if r is None:
            lines.append(f"| {t} | {p} | none | - | - | - | - |")
        else:
            lines.append(f"| {t} | {p} | {label(r)} | {r['nfe']} | {r['jets_per_second']:.0f} "
                         f"| {r['times_simulator']:.3g} | {_x(r['worst_ratio'])} |")
    return (lines + _cost_table(result) + _conditions_table(result) + _efp_range_table(result)
            + _substructure_table(result))


PROTOCOL_NOTES = {
    "file": "**file** takes each jet's type, pT, η, mass and constituent count from the truth "
            "file (the published protocol; these jets share their kinematics with the truth "
            "jets they are compared with)",
    "independent": "**independent** takes them from the independent truth jets of the floor "
                   "(the published protocol without the shared sample)",
    "generated": "**generated** samples each jet's pT, η, mass and constituent count from the "
                 "run's conditions model",
}


def _protocols_note(result: dict) -> str:
    """The protocols this result ran, in the order file, independent, generated."""
    ran = [PROTOCOL_NOTES[p] for p in PROTOCOL_NOTES if p in result["protocols"]]
    return "Protocols: " + ", ".join(ran) + "."


def _cost_table(result: dict) -> list[str]:
    """Worst ×floor and jets/s of each setting in every protocol against the published one
    (file): what the shared sample flatters (independent / file) and what generating the
    conditions costs (generated / file). Nothing when the result did not run the file
    protocol and another."""
    others = [p for p in ("independent", "generated") if p in result["protocols"]]
    if "file" not in result["protocols"] or not others:
        return []
    what = ("generating the conditions" if others == ["generated"]
            else "leaving the published protocol")
    lines = ["", f"## Cost of {what} (" + ", ".join(f"{p} / file" for p in others)
             + ", same setting)", "",
             "| type | setting | worst ×floor file | "
             + " | ".join(f"{p} | ratio" for p in others)
             + " | jets/s file | " + " | ".join(f"{p} | ratio" for p in others) + " |",
             "| --- | --- | ---: |" + " ---: | ---: |" * len(others)
             + " ---: |" + " ---: | ---: |" * len(others)]
    pairs = 0
    for t in result["types"]:
        by = {p: {label(r): r for r in ok_rows(result, t, p) if r["worst_ratio"] is not None}
              for p in ("file", *others)}
        for key, f in by["file"].items():
            matched = [by[p].get(key) for p in others]
            if any(m is None for m in matched):
                continue
            pairs += 1
            worst = " | ".join(f"{m['worst_ratio']:.3g} | {m['worst_ratio'] / f['worst_ratio']:.3g}"
                               for m in matched)
            speed = " | ".join(f"{m['jets_per_second']:.0f} | "
                               f"{m['jets_per_second'] / f['jets_per_second']:.3g}"
                               for m in matched)
            lines.append(f"| {t} | {key} | {f['worst_ratio']:.3g} | {worst} | "
                         f"{f['jets_per_second']:.0f} | {speed} |")
    if not pairs:
        both = "both protocols" if len(others) == 1 else "every protocol"
        lines.append(f"| - | no setting ran in {both} |" + " |" * (2 + 4 * len(others)))
    return lines


def _conditions_table(result: dict) -> list[str]:
    """The generated protocol's conditions (pT, eta, m, N from the conditions model) against
    the truth's: W1 ± error and ×floor per variable, the floor the truth against the
    independent truth jets."""
    rows = [r for r in result["rows"] if "error" not in r and r.get("conditions")]
    if not rows:
        return []
    lines = ["", "## The conditions model against the truth (generated protocol)", "",
             "W1 of each jet-level condition, batched as the JetNet W1 metrics, and ×floor "
             "(floor: the truth against the independent truth jets). The JetNet metrics "
             "see only the constituents; this separates what the conditions model costs "
             "from what the constituent network costs.", "",
             "| type | setting | " + " | ".join(f"{c} | ×floor" for c in CONDITION_LABELS)
             + " |", "| --- | --- |" + " ---: | ---: |" * len(CONDITION_LABELS)]
    for r in rows:
        lines.append(f"| {r['type']} | {label(r)} | "
                     + _w1_cells(r["conditions"], CONDITION_LABELS) + " |")
    return lines + ["", _floors_line(result, "conditions_floor", CONDITION_LABELS)]


def _w1_cells(entries: dict, labels) -> str:
    """'W1 ± error | ×floor' for each of ``labels`` in ``entries``, joined as table cells."""
    return " | ".join(f"{_pm(entries[k])} | {_x(entries[k]['ratio'])}" for k in labels)


def _floors_line(result: dict, key: str, labels) -> str:
    """'Floors (W1): t: a 1 ± 0.1, ...': each type's floor entry ``key`` per label."""
    floors = "; ".join(f"{t}: " + ", ".join(f"{k} {_pm(entry[key][k])}" for k in labels)
                       for t, entry in result["types"].items() if entry.get(key))
    return f"Floors (W1): {floors}."


def _efp_range_table(result: dict) -> list[str]:
    """Per setting, the generated jets beyond the truth's range of EFPs (any of the 36 above
    the truth's largest), beside the same count for the independent truth jets: whether FPD
    and KPD describe the sample or a few stray jets."""
    rows = [r for r in result["rows"] if "error" not in r and r.get("efp_range")]
    if not rows:
        return []
    split = " (pT sum / angular)" if any(r["efp_range"].get("n_beyond_pt_sum") is not None
                                         for r in rows) else ""
    lines = ["", "## Jets beyond the truth's EFP range", "",
             "FPD and KPD scale each EFP by its largest value among the truth jets; a "
             "generated jet beyond that range weighs on FPD as (its reach)² / N, so at "
             f"{result['jets']} jets a few strays can set it. Reach: a jet's largest EFP over "
             "the truth's largest of the same EFP (truth jets ≤ 1). Floor: the independent "
             "truth jets against the truth (`lhcgen.evaluate.jets.efp_range`)."
             + (" In brackets, the jets beyond on the pT-sum EFP (Σ z, no angle) and those "
                "beyond on an EFP with edges (an angular shape); a jet can be both."
                if split else ""), "",
             f"| type | protocol | setting | jets beyond{split} | farthest reach | "
             "reach 50 % / 99 % / 99.9 % | floor: jets beyond | floor: farthest reach | "
             "fpd ×floor | kpd ×floor |",
             "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in rows:
        g, f = r["efp_range"], result["types"][r["type"]].get("efp_range_floor") or {}
        quantiles = " / ".join(f"{q:.3g}" for q in g["reach_quantiles"])
        lines.append(f"| {r['type']} | {r['protocol']} | {label(r)} | {_beyond(g)} | "
                     f"{g['largest_reach']:.3g} | {quantiles} | "
                     + (f"{_beyond(f)} | {f['largest_reach']:.3g}" if f else "- | -")
                     + f" | {_x(r['metrics']['fpd']['ratio'])} | "
                     f"{_x(r['metrics']['kpd']['ratio'])} |")
    return lines


def _substructure_table(result: dict) -> list[str]:
    """Per setting, τ21 and τ32 against the truth, ×floor (results judged before they were
    measured have none, and no table)."""
    rows = [r for r in result["rows"] if "error" not in r and r.get("substructure")]
    if not rows:
        return []
    lines = ["", "## Substructure beside the metrics", "",
             "The five metrics do not take N-subjettiness: τ32 = τ3/τ2 is small for a top "
             "jet's three prongs, τ21 for a W's or Z's two (β = 1, exclusive-kT axes; "
             "`lhcgen.physics.substructure.tau_ratios`). W1 of each ratio's distribution to "
             "the truth's, with W1m's batches, and ×floor over the truth against the "
             "independent truth jets.", "",
             "| type | protocol | setting | τ21 W1 | τ21 ×floor | τ32 W1 | τ32 ×floor |",
             "| --- | --- | --- | --- | ---: | --- | ---: |"]
    for r in rows:
        lines.append(f"| {r['type']} | {r['protocol']} | {label(r)} | "
                     + _w1_cells(r["substructure"], SUBSTRUCTURE) + " |")
    return lines + ["", _floors_line(result, "substructure_floor", SUBSTRUCTURE)]


def _beyond(entry: dict) -> str:
    """'n (pT sum / angular)', or n alone for results written before the split."""
    if entry.get("n_beyond_pt_sum") is None:
        return str(entry["n_beyond"])
    return f"{entry['n_beyond']} ({entry['n_beyond_pt_sum']} / {entry['n_beyond_angular']})"


# ---- plot -------------------------------------------------------------------------------------
PLOT_CEILING = 1e4
"""Settings worse than this (diverged samplers) are drawn hollow on the plot's top edge."""


def _plotted(ratio: float) -> float:
    """A worst ×floor as drawn on the log axis: within [1e-3, PLOT_CEILING]."""
    return min(max(ratio, 1e-3), PLOT_CEILING)


def raw_beside(row: dict, both: bool) -> bool:
    """A row whose pT sum or jet mass was left as the network made it, in a result that
    also holds the rescaled rows (drawn faded)."""
    return both and (row.get("pt_sum") == "raw" or row.get("jet_mass") == "raw")


def plot(result: dict, path: Path) -> None:
    """Worst ×floor (± its propagated error) against jets/s, one panel per type: markers per
    model/backbone, colours per protocol, the frontier dashed, the simulator a vertical
    line."""
    import matplotlib.style
    import mplhep
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    colours = {"file": "#1f77b4", "independent": "#2ca02c", "generated": "#d62728"}
    shapes = "osD^vP*Xph"
    kinds = sorted({f"{r['model']}/{r['net']}" for r in result["runs"]})
    marker = {k: shapes[i % len(shapes)] for i, k in enumerate(kinds)}
    types = list(result["types"])
    both = len({(r.get("pt_sum"), r.get("jet_mass")) for r in result["rows"]
                if "error" not in r}) > 1
    with matplotlib.style.context([mplhep.style.CMS, {"font.size": 13.0}]):
        fig = Figure(figsize=(6.5 * len(types), 6.0))
        axes = fig.subplots(1, len(types), squeeze=False)[0]
        for ax, t in zip(axes, types, strict=True):
            for p in result["protocols"]:
                rows = [r for r in ok_rows(result, t, p) if r["worst_ratio"] is not None]
                floor = result["types"][t]["floor"]
                for r in rows:
                    above = r["worst_ratio"] > PLOT_CEILING  # drawn on the top edge, hollow
                    y, error = _plotted(r["worst_ratio"]), worst_error(r, floor)
                    bar = None if above or error is None else [[min(error, 0.9 * y)], [error]]
                    ax.errorbar(r["jets_per_second"], y, yerr=bar,
                                marker=marker[f"{r['model']}/{r['net']}"], color=colours[p],
                                ls="none", ms=7, elinewidth=1, capsize=2,
                                alpha=0.25 if raw_beside(r, both) else 0.8,
                                mfc="none" if above else colours[p])
                front = frontier(rows)
                if len(front) > 1:
                    ax.step([r["jets_per_second"] for r in front],
                            [_plotted(r["worst_ratio"]) for r in front],
                            where="post", color=colours[p], ls="--", lw=1)
            ax.axvline(result["types"][t]["simulator"]["jets_per_second"], color="k", lw=1.5)
            ax.axhline(1.0, color="grey", lw=1)
            ax.axhline(GOOD, color="grey", ls=":", lw=1)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_xlabel(f"jets/s ({_speed_on(result)})")
            ax.set_ylabel("worst metric / floor")
            ax.set_title(f"{t} jets", fontsize=13)
        handles = [Line2D([], [], marker=marker[k], color="k", ls="none", label=k)
                   for k in kinds]
        handles += [Line2D([], [], color=c, lw=3, label=f"{p} conditions")
                    for p, c in colours.items() if p in result["protocols"]]
        handles += [Line2D([], [], color="k", lw=1.5, label="Pythia 8 + FastJet, 1 core")]
        handles += [Line2D([], [], marker="o", mfc="none", color="k", ls="none",
                           label=f"worst > {PLOT_CEILING:.0e} (on the edge)")]
        if both:
            handles += [Line2D([], [], marker="o", color="k", alpha=0.25, ls="none",
                               label="faded: pT sum or jet mass as the network made it")]
        axes[0].legend(handles=handles, fontsize="x-small", loc="best")
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png", dpi=80)


def save(stem: Path, result: dict, judged: bool = True) -> None:
    """The JSON, and the .md and .png of judged rows; with ``judged`` False (--generate-only)
    the JSON alone: no metrics to tabulate or draw yet."""
    write_results(stem, result, render if judged else None)
    if judged and result["rows"]:
        plot(result, stem.with_suffix(".png"))


# ---- main -------------------------------------------------------------------------------------
def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="+", default=[], metavar="RUN",
                   help="trained jets run directories")
    p.add_argument("--truth", default="data/jets/{type}30_b.h5",
                   help="truth jets to compare with ({type}: the type letter)")
    p.add_argument("--truth-floor", default="data/jets/{type}30_a.h5",
                   help="independent truth jets for the floor ({type}: the type letter)")
    p.add_argument("--types", default="t", help="jet type letters, e.g. tg")
    p.add_argument("--samplers", default=None,
                   help="grid such as 'heun:4,8,16 euler:8,16 dpmpp_2m:8 "
                        "heun:8@sigma_min=0.02@rho=7'; a run takes the samplers its model "
                        "accepts (its own grid if none); default: per model")
    p.add_argument("--protocols", default="file,generated",
                   help="comma-separated: file (conditions from --truth, the published "
                        "protocol), independent (from --truth-floor), generated (the "
                        "run's conditions model); default file,generated")
    p.add_argument("--jets", type=int, default=None,
                   help="generated (and truth) jets per comparison (default 10000; 200 quick)")
    p.add_argument("--batch-size", type=int, default=None, help="default: each run's")
    p.add_argument("--seed", type=int, default=0, help="sampling and Pythia seed")
    p.add_argument("--metric-seed", type=int, default=42)
    p.add_argument("--s-churn", type=float, default=5.0,
                   help="S_churn of the stochastic EDM sampler (untuned; with 16 steps "
                        "gamma = min(S_churn / 16, sqrt(2) - 1) = 0.31 at 5; 0 is Heun)")
    p.add_argument("--threads", type=int, default=1, help="torch threads for generation")
    p.add_argument("--pt-sum", choices=("conserved", "raw", "both"), default="conserved",
                   help="the constituents of every jet that keeps them all rescaled to sum "
                        "to the jet pT (conserved, as `lhcgen sample` writes them), as the "
                        "network made them (raw), or both rows from the same jets (both)")
    p.add_argument("--jet-mass", choices=("raw", "bounded", "both"), default="raw",
                   help="jets whose constituents are heavier than the jet left as made (raw, "
                        "as `lhcgen sample` writes them by default), brought to the jet mass "
                        "(bounded, `lhcgen sample --bound-mass`), or both rows from the same "
                        "jets (both)")
    p.add_argument("--simulator-jets", type=int, default=None,
                   help="Pythia jets per type for the simulator rate (default 400; 20 quick)")
    p.add_argument("--quick", action="store_true",
                   help="smoke test: tiny samples, fewer metric batches, two samplers a model")
    p.add_argument("--out-dir", default="benchmarks/results")
    p.add_argument("--name", default="jets_time_fidelity")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite the .md and .png from the JSON, compute nothing")
    p.add_argument("--device", default="auto",
                   help="where the generators run: auto (CUDA where present), cpu, cuda")
    p.add_argument("--generate-only", action="store_true",
                   help="time and keep the samples in --samples, compute no metric")
    p.add_argument("--judge", action="store_true",
                   help="compute the metrics of the samples a --generate-only run kept in "
                        "--samples (its <name>.json in --out-dir), generate nothing")
    p.add_argument("--samples", metavar="DIR",
                   help="folder of the kept samples (--generate-only, --judge)")
    args = p.parse_args()
    if args.generate_only and args.judge:
        p.error("--generate-only and --judge exclude each other")
    if (args.generate_only or args.judge) and not args.samples:
        p.error("--generate-only and --judge need --samples DIR")
    args.jets = args.jets or (200 if args.quick else 10_000)
    args.simulator_jets = args.simulator_jets or (20 if args.quick else 400)
    args.protocols = [s.strip() for s in args.protocols.split(",") if s.strip()]
    if not (args.render_only or args.judge) and not args.runs:
        p.error("--runs is required")
    if set(args.protocols) - set(PROTOCOLS) or not args.protocols:
        p.error(f"--protocols: a comma-separated subset of {','.join(PROTOCOLS)}")
    if set(args.types) - set(JET_TYPES) or not args.types:
        p.error(f"--types: letters of {''.join(JET_TYPES)}, got {args.types!r}")
    if args.jets < 10 or args.simulator_jets < 1 or args.threads < 1:
        p.error("--jets must be at least 10, --simulator-jets and --threads positive")
    try:
        args.grid = parse_grid(args.samplers) if args.samplers else None
    except ValueError as e:
        p.error(f"--samplers: {e}")
    return args


def load_runs(args: argparse.Namespace, device: torch.device) -> tuple[list, list[dict]]:
    """(surrogate or None, grid) per run, and their facts (with the error if not loaded)."""
    names = [Path(r).name for r in args.runs]
    loaded, facts = [], []
    for run, name in zip(args.runs, names, strict=True):
        run_label = name if names.count(name) == 1 else run
        try:
            surrogate = JetSurrogate.load(run, device)
            grid, skipped = model_grid(surrogate.cfg.model.name, args.grid, args.quick,
                                       getattr(surrogate.model, "guidable", False))
            facts.append({**run_facts(run_label, surrogate), "skipped": skipped,
                          "grid": [list(g) for g in grid]})
            loaded.append((surrogate, grid))
        except Exception as e:  # noqa: BLE001 - recorded, the other runs go on
            facts.append({"run": run_label, "run_dir": run, "model": "-", "net": "-",
                          "parameters": None, "conditions_parameters": None,
                          "total_training_seconds": None, "conditions_training_seconds": None,
                          "epochs": None, "types": "-", "skipped": [], "error": str(e)})
            loaded.append((None, []))
            print(f"{run}: {e}", file=sys.stderr)
    return loaded, facts


def run_setting(surrogate: JetSurrogate, run: dict, jet_type: str, protocol: str,
                solver: str | None, steps: int | None, options: dict[str, float],
                ctx: dict) -> list[dict]:
    """``evaluate_setting``, a failure recorded in the row rather than raised."""
    try:
        rows = evaluate_setting(surrogate, run, jet_type, protocol, solver, steps, options,
                                ctx)
    except Exception as e:  # noqa: BLE001 - recorded, the grid goes on
        rows = [{"run": run["run"], "model": run["model"], "net": run["net"],
                 "type": jet_type, "protocol": protocol, "solver": solver, "steps": steps,
                 "options": options, "error": str(e) or type(e).__name__}]
    for row in rows:
        where = f"[{jet_type}] {label(row)} {protocol}:"
        if "error" in row:
            print(f"{where} {row['error']}", file=sys.stderr, flush=True)
        elif "metrics" not in row:  # --generate-only
            print(f"{where} {row['jets_per_second']:.0f} jets/s, kept as {row['sample']}",
                  flush=True)
        else:
            print(f"{where} {row['jets_per_second']:.0f} jets/s, worst ×floor "
                  f"{_x(row['worst_ratio'])} ({row['worst_metric']})", flush=True)
    return rows


def judged_type(jet_type: str, truths: tuple, simulator: dict, args: argparse.Namespace,
                settings: JetMetricSettings) -> tuple[dict, dict]:
    """The floors of ``jet_type`` (JetNet metrics, conditions, EFP range: the truth against
    the independent truth jets) with the simulator's rate: its entry in the result's types,
    and the context that judges its rows."""
    (truth_path, truth), (floor_path, other) = truths
    started = time.perf_counter()
    truth_sample = JetSample.from_particles(truth.particles, truth.mask)
    other_sample = JetSample.from_particles(other.particles, other.mask)
    floor = metric_dict(jet_metrics(truth_sample, other_sample, seed=args.metric_seed,
                                    settings=settings))
    conditions_floor = condition_w1(truth, other, seed=args.metric_seed, settings=settings)
    truth_taus = tau_ratios(truth.particles, truth.mask)
    substructure_floor = substructure_w1(truth_taus, tau_ratios(other.particles, other.mask),
                                         args.metric_seed, settings)
    print(f"[{jet_type}] floor in {time.perf_counter() - started:.0f} s", flush=True)
    entry = {"truth": truth_path, "truth_floor": floor_path, "floor": floor,
             "conditions_floor": conditions_floor,
             "efp_range_floor": efp_range(truth_sample.efps, other_sample.efps).as_dict(),
             "substructure_floor": substructure_floor,
             "simulator": simulator, "relative_mass_quantiles": mass_quantiles(truth_sample)}
    ctx = {"args": args, "n": args.jets, "truth_path": truth_path, "floor_path": floor_path,
           "truth": truth_sample, "truth_jets": truth, "conditions_floor": conditions_floor,
           "truth_taus": truth_taus, "substructure_floor": substructure_floor,
           "floor": floor, "settings": settings, "simulator": simulator}
    return entry, ctx


def measure_simulator(jet_type: str, particles: int, args: argparse.Namespace) -> dict:
    print(f"[{jet_type}] Pythia {args.simulator_jets} jets ...", flush=True)
    simulator = simulator_rate(jet_type, particles, args.simulator_jets, args.seed)
    print(f"[{jet_type}] simulator {simulator['jets_per_second']:.1f} jets/s "
          f"({simulator['initialisation_seconds']:.1f} s initialisation)", flush=True)
    return simulator


def generate(args: argparse.Namespace, stem: Path) -> None:
    """Sample, time and judge (or with --generate-only keep) every setting of every run."""
    torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
    except LhcgenError as e:
        sys.exit(f"error: {e}")
    stem.parent.mkdir(parents=True, exist_ok=True)
    settings = metric_settings(args.jets, args.quick)
    truths = {} if args.generate_only else {
        t: (truth_jets(args.truth, t, args.jets), truth_jets(args.truth_floor, t, args.jets))
        for t in args.types}  # every file checked before the long part
    loaded, facts = load_runs(args, device)
    result = {"machine": machine_info(device), "command": command_line(),
              "device": str(device), "tf32": torch.backends.cuda.matmul.allow_tf32,
              "threads": args.threads, "batch_size": args.batch_size, "seed": args.seed,
              "metric_seed": args.metric_seed, "jets": args.jets, "quick": args.quick,
              "metric_settings": settings.as_dict(), "truth": args.truth,
              "truth_floor": args.truth_floor, "protocols": args.protocols,
              "simulator_jets": args.simulator_jets, "generate_only": args.generate_only,
              "runs": facts, "types": {}, "rows": []}
    particles = {s.preprocessing.n_particles for s, _ in loaded if s is not None}
    if args.generate_only and len(particles) != 1:
        sys.exit("error: --generate-only needs runs that load and share one particle count, "
                 f"got {sorted(particles) or 'none loaded'}")
    for jet_type in args.types:
        if args.generate_only:
            ctx = {"args": args, "n": args.jets,
                   "truth_path": args.truth.replace("{type}", jet_type),
                   "floor_path": args.truth_floor.replace("{type}", jet_type),
                   "simulator": measure_simulator(jet_type, min(particles), args)}
            result["types"][jet_type] = {"truth": ctx["truth_path"],
                                         "truth_floor": ctx["floor_path"],
                                         "simulator": ctx["simulator"]}
            save(stem, result, judged=False)
        else:
            n_particles = truths[jet_type][0][1].n_particles
            result["types"][jet_type], ctx = judged_type(
                jet_type, truths[jet_type], measure_simulator(jet_type, n_particles, args),
                args, settings)
            save(stem, result)
        for (surrogate, grid), run in zip(loaded, facts, strict=True):
            if surrogate is None:
                continue
            warm_up(surrogate, jet_type, ctx["truth_path"], args.jets, args.batch_size)
            for protocol in args.protocols:
                for solver, steps, options in grid:
                    result["rows"] += run_setting(surrogate, run, jet_type, protocol, solver,
                                                  steps, options, ctx)
                    save(stem, result, judged=not args.generate_only)
    if args.generate_only:
        print(f"wrote {stem.with_suffix('.json')} and {len(result['rows'])} samples in "
              f"{args.samples}; judge them with --judge --samples {args.samples}")
    else:
        print(render(result))


def judge(args: argparse.Namespace, stem: Path) -> None:
    """The metrics of the samples a --generate-only run kept: the floors computed here from
    --truth and --truth-floor, the speeds and the simulator's rate kept as measured."""
    path = stem.with_suffix(".json")
    if not path.is_file():
        sys.exit(f"error: {path} does not exist: run the benchmark with --generate-only first")
    try:
        result = json.loads(path.read_text())
        pending = [k for k, r in enumerate(result["rows"]) if "sample" in r and "metrics" not in r
                   and "error" not in r]
    except (json.JSONDecodeError, KeyError, TypeError):
        sys.exit(f"error: {path} is not the JSON of a run of this benchmark")
    if not pending:
        sys.exit(f"error: {path} holds no samples to judge (run the benchmark with "
                 "--generate-only first)")
    folder = Path(args.samples)
    missing = [result["rows"][k]["sample"] for k in pending
               if not (folder / result["rows"][k]["sample"]).is_file()]
    if missing:
        sys.exit(f"error: {len(missing)} kept sample(s) missing from {folder}, e.g. "
                 f"{missing[0]}")
    args.jets, args.quick = result["jets"], result["quick"]
    settings = metric_settings(args.jets, args.quick)
    truths = {t: (truth_jets(args.truth, t, args.jets), truth_jets(args.truth_floor, t, args.jets))
              for t in result["types"]}  # every file checked before the long part
    result.update(truth=args.truth, truth_floor=args.truth_floor, metric_seed=args.metric_seed,
                  metric_settings=settings.as_dict(),
                  judged_on=machine_info(torch.device("cpu")), judge_command=command_line())
    contexts = {}
    for jet_type, pair in truths.items():
        simulator = result["types"][jet_type]["simulator"]
        result["types"][jet_type], contexts[jet_type] = judged_type(jet_type, pair, simulator,
                                                                    args, settings)
    for k in pending:  # written once, at the end: an interrupted judgement changes nothing
        row = result["rows"][k]
        try:
            jets = read_jets(folder / row["sample"])
        except LhcgenError as e:
            sys.exit(f"error: {e}")
        if row.get("n_truncated_pt_sum_bounded") is None:  # as the kept file records it
            bounded = jets.attrs.get("sampling_n_truncated_pt_sum_bounded")
            row = {**row, "n_truncated_pt_sum_bounded": None if bounded is None
                   else int(bounded)}
        result["rows"][k] = judge_row(row, jets, contexts[row["type"]])
        print(f"[{row['type']}] {label(row)} {row['protocol']}: worst ×floor "
              f"{_x(result['rows'][k].get('worst_ratio'))}", flush=True)
    save(stem, result)
    print(render(result))


def main() -> None:
    args = parse_args()
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        plot(json.loads(stem.with_suffix(".json").read_text()), stem.with_suffix(".png"))
        return
    (judge if args.judge else generate)(args, stem)


if __name__ == "__main__":
    main()
