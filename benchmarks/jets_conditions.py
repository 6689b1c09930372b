"""The conditions model of trained jets runs alone: pT, eta, m and N against the truth's floor.

Fully generated jets take their pT, eta, mass and constituent count from the run's conditions
model, then their constituents from the network. Judging whole jets costs minutes per type at
JetNet's 50000 jets on a CPU (the constituents); the conditions alone take seconds. For each
run and type this samples ``--jets`` conditions with the run's conditions sampler and gives:
the batched W1 of each condition against the truth (``lhcgen.evaluate.jets.conditions``, as
``jets_time_fidelity.py`` judges them, with the same seed and settings, so its ratios are the
ones that benchmark reports for the same jets), its ratio to the floor (the W1 between the
truth and a second truth sample), the same for the jets' m / pT (how the conditions depend
on one another where the constituents see it), the quantiles of pT and m beside the truth's,
the coordinates each conditions model learnt in (``conditions.marginals``), and how many
generated jets fall outside the selection the truth was made with (pT window, |eta|), which
the truth has none of: counted, not cut. Training time and epochs of each conditions model
come from its run's metrics.json; the pT and mass of every run beside the truth's are drawn as
three-panel histograms with ratio panels. ``--sampler`` samples every conditions model with
another solver or step count than its run's (the conditions cost microseconds per jet, the
constituents milliseconds).

Usage:
    python benchmarks/jets_conditions.py \\
        --runs runs/jets_edm_all_gpu_ft2,runs/jets_edm_all_gpu_ft2_conditions \\
        --types gqtwz --jets 50000 --truth 'data/jets/{type}30_b50k.h5' \\
        --truth-floor 'data/jets/{type}30_a.h5' --name jets_conditions_gpu_ft2_50k
    python benchmarks/jets_conditions.py --render-only --name jets_conditions_gpu_ft2_50k

Writes NAME.json, NAME.md and NAME_<type>_{pt,mass}.png into --out-dir (benchmarks/results).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jets_time_fidelity import metric_settings, truth_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.evaluate.figures import three_panel  # noqa: E402
from lhcgen.evaluate.histograms import histogram, normalised  # noqa: E402
from lhcgen.evaluate.jets.conditions import (  # noqa: E402
    CONDITION_LABELS,
    condition_features,
    condition_ratios,
    condition_w1,
    feature_w1,
    relative_mass_w1,
)
from lhcgen.evaluate.jets.metrics import ratio_to_floor  # noqa: E402
from lhcgen.models.registry import check_sampler  # noqa: E402
from lhcgen.train.jet_surrogate import JetSurrogate  # noqa: E402
from lhcgen.train.run import resolve_device  # noqa: E402
from machine import command_line, machine_info, script_parser  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

QUANTILES = (0.01, 0.16, 0.5, 0.84, 0.99)
SHOWN = {"pt": "pT", "eta": "η", "mass": "m", "n_constituents": "N"}


def parse_args(argv=None):
    p = script_parser(__doc__)
    p.add_argument("--runs", default="runs/jets_edm_all_gpu_ft2",
                   help="comma-separated jets run directories with a conditions model")
    p.add_argument("--types", default="gqtwz", help="jet types, e.g. gqtwz")
    p.add_argument("--jets", type=int, default=50000, help="conditions per type and run")
    p.add_argument("--truth", default="data/jets/{type}30_b.h5",
                   help="truth jets ({type} -> the letter)")
    p.add_argument("--truth-floor", default="data/jets/{type}30_a.h5",
                   help="a second truth sample for the floor ({type} -> the letter)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (the benchmark's)")
    p.add_argument("--sampler", default="",
                   help="SOLVER:STEPS for every run's conditions model (default: each run's "
                        "own conditions.solver and steps), e.g. midpoint:64")
    p.add_argument("--metric-seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--device", default="cpu")
    p.add_argument("--name", default="jets_conditions")
    p.add_argument("--out-dir", default="benchmarks/results")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite NAME.md from the committed NAME.json")
    args = p.parse_args(argv)
    if args.jets <= 0:
        p.error(f"--jets must be positive, got {args.jets}")
    if args.sampler:
        solver, _, steps = args.sampler.partition(":")
        if not steps.isdigit() or int(steps) <= 0:
            p.error(f"--sampler takes SOLVER:STEPS with STEPS > 0, got {args.sampler!r}")
        args.sampler = (solver, int(steps))
    unknown = sorted(set(args.types) - set(JET_TYPES))
    if unknown or not args.types:
        p.error(f"--types takes letters of {''.join(JET_TYPES)}, got {args.types!r}")
    return args


def _quantiles(values: np.ndarray) -> list[float]:
    return [float(q) for q in np.quantile(values, QUANTILES)]


def outside_selection(features: np.ndarray, cuts: dict) -> dict[str, int]:
    """Generated jets the truth's selection would not have kept, per reason (a jet may
    count under several): pT outside (jet_pt_min, jet_pt_max), |eta| >= jet_abs_eta_max,
    a mass that is not positive or not below pT (m < pT holds for any jet of R = 0.8 at
    these pT far from it; a check of the decoded mass), and a count that is not finite."""
    pt, eta, mass, n = features.T
    return {"pt_window": int(((pt <= cuts["jet_pt_min_gev"])
                              | (pt >= cuts["jet_pt_max_gev"])).sum()),
            "abs_eta": int((np.abs(eta) >= cuts["jet_abs_eta_max"]).sum()),
            "mass": int(((mass <= 0) | (mass >= pt)).sum()),
            "count": int((~np.isfinite(n)).sum())}


def run_facts(surrogate: JetSurrogate, label: str) -> dict:
    facts = surrogate.run_facts()
    cond = facts.get("conditions", {})
    cfg = surrogate.cfg.conditions
    return {"run": label, "parameters": cond.get("parameters"),
            "epochs": cfg.epochs, "steps": cond.get("steps"),
            "warm_start": bool(cond.get("initialised", False)),
            "training_seconds": cond.get("training_seconds"),
            "training_device": facts.get("device"),
            "final_val_loss": cond.get("final_val_loss"),
            "solver": cfg.solver, "solver_steps": cfg.steps, "marginals": cfg.marginals,
            "network_epochs": facts.get("epochs"),
            "chain": facts.get("init_from", {}).get("history", {}).get("runs", [])}


def judge_type(surrogates: dict, jet_type: str, args) -> dict:
    """One type: the floor, then each run's sampled conditions judged against the truth."""
    truth_path, truth = truth_jets(args.truth, jet_type, args.jets)
    floor_path, other = truth_jets(args.truth_floor, jet_type, args.jets)
    settings = metric_settings(args.jets, False)
    floor = condition_w1(truth, other, seed=args.metric_seed, settings=settings)
    cuts = truth.attrs.get("cuts") or {}
    real = condition_features(truth)
    floor_relative = relative_mass_w1(real, condition_features(other), seed=args.metric_seed,
                                      settings=settings)
    entry = {"truth": truth_path, "truth_floor": floor_path, "floor": floor,
             "floor_relative_mass": floor_relative,
             "truth_pt_quantiles": _quantiles(real[:, 0]),
             "truth_mass_quantiles": _quantiles(real[:, 2]),
             "truth_outside_selection": outside_selection(real, cuts) if cuts else None,
             "runs": {}}
    generated = {}
    for label, surrogate in surrogates.items():
        started = time.perf_counter()
        conditions, nfe = surrogate.generate_conditions(args.jets, 0,
                                                        JET_TYPES.index(jet_type), args.seed)
        seconds = time.perf_counter() - started
        gen = np.column_stack([conditions.kinematics[:, :3],
                               np.asarray(conditions.n_constituents, dtype=np.float64)])
        w1 = feature_w1(real, gen, seed=args.metric_seed, settings=settings)
        ratio = condition_ratios(w1, floor)
        relative = relative_mass_w1(real, gen, seed=args.metric_seed, settings=settings)
        relative_ratio = ratio_to_floor(relative["value"], floor_relative)
        entry["runs"][label] = {
            "w1": w1, "ratio": ratio, "nfe": nfe, "seconds": round(seconds, 3),
            "w1_relative_mass": relative, "ratio_relative_mass": relative_ratio,
            "conditions_per_second": args.jets / seconds,
            "pt_quantiles": _quantiles(gen[:, 0]), "mass_quantiles": _quantiles(gen[:, 2]),
            "outside_selection": outside_selection(gen, cuts) if cuts else None}
        shown = ", ".join(f"{k} {v:.2f}" for k, v in ratio.items() if v is not None)
        shown += f", m/pT {_x(relative_ratio)}"
        print(f"[{jet_type}] {label}: ×floor {shown} ({seconds:.1f} s)", flush=True)
        generated[Path(label).name] = gen
    entry["plots"] = plot_conditions(real, condition_features(other), generated, jet_type,
                                     Path(args.out_dir) / args.name)
    return entry


PLOTTED = {"pt": (0, r"jet $p_T$ [GeV]"), "mass": (2, r"jet mass [GeV]")}


def plot_conditions(real: np.ndarray, other: np.ndarray, generated: dict[str, np.ndarray],
                    jet_type: str, stem: Path) -> list[str]:
    """The three-panel histograms (``lhcgen.evaluate.figures``) of the jet pT and mass: the
    truth, the floor's second truth sample and each run's conditions; STEM_TYPE_VAR.png."""
    paths = []
    for name, (column, label) in PLOTTED.items():
        low, high = np.quantile(real[:, column], [0.001, 0.999])
        edges = np.linspace(low, high, 61)
        curves = {key: normalised(*histogram(values[:, column], np.ones(len(values)), edges),
                                  edges)
                  for key, values in {"truth-test": real, "truth-2": other,
                                      **generated}.items()}
        path = stem.parent / f"{stem.name}_{jet_type}_{name}.png"
        three_panel(edges, curves, label, path, title=f"{jet_type} jets, {len(real)} each "
                    "(under- and overflow in the outer bins)")
        paths.append(path.name)
    return paths


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def _q(values: list[float]) -> str:
    return " / ".join(f"{v:.0f}" for v in values)


def _outside(counts: dict | None) -> str:
    if counts is None:
        return "-"
    found = [f"{n} {k}" for k, n in counts.items() if n]
    return ", ".join(found) or "0"


def render(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# Jets: the conditions model alone (pT, η, m, N given the type)", "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {result['threads']} torch "
        f"thread(s), {result['device']}, torch {m['torch']}. Command: "
        f"`{result['command']}`.", "",
        f"{result['jets']} conditions per type and run, sampling seed {result['seed']}; W1 "
        f"batched as jetnet's W1 metrics (seed {result['metric_seed']}, "
        f"{result['w1_num_batches']} batches of {result['w1_num_eval_samples']}), as "
        "`jets_time_fidelity.py` judges the conditions of fully generated jets. ×floor = W1 / "
        "max(floor W1, its error), the floor being the W1 between the truth and a second "
        "truth sample. Outside the selection: generated jets the truth's selection (pT "
        "window, |η|) would not have kept, or with m ≤ 0 or m ≥ pT; counted, not cut.", "",
        "## Conditions models", "",
        "| run | parameters | epochs (warm start) | steps | training time | device | "
        "val. loss | sampler | marginals |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, f in result["runs"].items():
        lines.append(
            f"| `{label}` | {f['parameters']:,} | {f['epochs']}"
            f"{' (warm)' if f['warm_start'] else ' (from scratch)'} | {f['steps']} | "
            f"{f['training_seconds']:.0f} s | {f['training_device']} | "
            f"{f['final_val_loss']:.4f} | {f['solver']} {f['solver_steps']} | "
            f"{f.get('marginals', 'standardised')} |")
    lines += ["", "## ×floor of each condition, per type", "",
              "m/pT: the W1 of the jets' m / pT, how the conditions depend on one another where "
              "the constituents see it (results before it was judged: -); the validation loss "
              "of models in different marginals is in different coordinates, not comparable.",
              "",
              "| type | run | " + " | ".join(SHOWN[c] for c in CONDITION_LABELS)
              + " | m/pT | worst | outside the selection | conditions/s |",
              "| --- | --- | " + " | ".join("---" for _ in CONDITION_LABELS)
              + " | --- | --- | --- | --- |"]
    for jet_type, entry in result["types"].items():
        for label, row in entry["runs"].items():
            values = [row["ratio"][c] for c in CONDITION_LABELS]
            values.append(row.get("ratio_relative_mass"))
            worst = max((v for v in values if v is not None), default=None)
            lines.append(f"| {jet_type} | `{label}` | " + " | ".join(_x(v) for v in values)
                         + f" | **{_x(worst)}** | {_outside(row['outside_selection'])} | "
                         f"{row['conditions_per_second']:.0f} |")
    lines += ["", "## Quantiles (1, 16, 50, 84, 99 %) of pT and m, GeV", "",
              "| type | sample | pT | m |", "| --- | --- | --- | --- |"]
    for jet_type, entry in result["types"].items():
        lines.append(f"| {jet_type} | truth | {_q(entry['truth_pt_quantiles'])} | "
                     f"{_q(entry['truth_mass_quantiles'])} |")
        for label, row in entry["runs"].items():
            lines.append(f"| {jet_type} | `{label}` | {_q(row['pt_quantiles'])} | "
                         f"{_q(row['mass_quantiles'])} |")
    floors = "; ".join(
        f"{t}: " + ", ".join(f"{SHOWN[c]} {e['floor'][c]['value']:.4g} ± "
                             f"{e['floor'][c]['error']:.2g}" for c in CONDITION_LABELS)
        + ("" if "floor_relative_mass" not in e else
           f", m/pT {e['floor_relative_mass']['value']:.3g} ± "
           f"{e['floor_relative_mass']['error']:.2g}")
        for t, e in result["types"].items())
    truth_outside = ", ".join(f"{t} {_outside(e.get('truth_outside_selection'))}"
                              for t, e in result["types"].items())
    plots = ", ".join(f"`{p}`" for e in result["types"].values() for p in e.get("plots", []))
    return "\n".join(lines + ["", f"Floors (W1; pT and m in GeV): {floors}.", "",
                               f"Truth jets outside the selection: {truth_outside}.", "",
                               f"Histograms of pT and m with ratio panels (truth-test: the "
                               f"truth; truth-2: the floor's second sample): {plots}.", ""])


def main(argv=None) -> int:
    args = parse_args(argv)
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return 0
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    labels = [r for r in args.runs.split(",") if r]
    try:
        surrogates = {label: JetSurrogate.load(label, device) for label in labels}
    except LhcgenError as exc:
        sys.exit(f"error: {exc}")
    if args.sampler:
        try:
            check_sampler("cfm", *args.sampler, where="--sampler: ")
        except LhcgenError as exc:
            sys.exit(f"error: {exc}")
        for surrogate in surrogates.values():
            surrogate.cfg = dataclasses.replace(surrogate.cfg, conditions=dataclasses.replace(
                surrogate.cfg.conditions, solver=args.sampler[0], steps=args.sampler[1]))
    missing = [label for label, s in surrogates.items() if s.conditions_model is None]
    if missing:
        sys.exit(f"error: {', '.join(missing)} has no conditions model (its training did "
                 "not finish)")
    settings = metric_settings(args.jets, False)
    result = {"machine": machine_info(device), "command": command_line(),
              "threads": args.threads, "device": str(device), "jets": args.jets,
              "seed": args.seed, "metric_seed": args.metric_seed,
              "w1_num_eval_samples": settings.w1_num_eval_samples,
              "w1_num_batches": settings.w1_num_batches,
              "runs": {label: run_facts(s, label) for label, s in surrogates.items()},
              "types": {}}
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    for jet_type in args.types:
        result["types"][jet_type] = judge_type(surrogates, jet_type, args)
    write_results(stem, json.loads(json.dumps(result)), render)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
