"""What a jets EDM network's denoiser makes of the constituents' mass, noise level by noise
level.

For each run and each noise level sigma (``--sigmas``), the same truth jets (``--truth``, the
first ``--jets`` of ``--type``) are noised with the same noise for every run, x + sigma n, and
denoised once, D(x + sigma n, sigma | type, kinematics). Per level: the denoising loss
lambda(sigma) |D - x|^2 per coordinate (the validation loss at that one level; 1 is the
network that returns its input unchanged at low sigma) and the error of the mass of the decoded
constituents, log m(D) - log m(x), its mean (with its error) and root mean square. The exact
denoiser is the mean of the jets x + sigma n may come from; that mean is more spread out than
any of them at high sigma, so its mass is lower: a negative mean error there is the blur of
the mean, not a fault of the network; at low sigma it should vanish. The mass loss of
``model.edm.mass_loss`` changes exactly these columns, so this shows what it did to the
denoiser.

Usage:
    python benchmarks/jets_denoised_mass.py --runs runs/jets_edm runs/jets_edm_mass \\
        --truth data/jets/t30_b5k.h5 --type t --jets 5000 [--sigmas 0.01,0.03,0.1,0.3,1,3] \\
        [--name jets_denoised_mass]

Writes NAME.json and NAME.md into --out-dir (benchmarks/results).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.data.jet_hdf5 import read_jets  # noqa: E402
from lhcgen.data.jets import JET_TYPES  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.train.run import load_trained_run, to_batch  # noqa: E402
from machine import command_line, machine_info, script_parser  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

DEFAULT_SIGMAS = "0.01,0.03,0.1,0.3,1,3"
BATCH = 1000


def denoised_mass(run: str, truth: str, jet_type: str, jets: int, sigmas: list[float],
                  seed: int) -> dict:
    """The row of one run: per sigma the loss and the mass error over ``jets`` truth jets."""
    cfg, _, preprocessing, model = load_trained_run(run, torch.device("cpu"), "clouds")
    if model.name != "edm":
        raise LhcgenError(f"{run} is a {model.name!r} run; the denoiser is EDM's")
    sample = read_jets(truth)
    sample = sample.subset(np.flatnonzero(sample.jet_type == JET_TYPES.index(jet_type))[:jets])
    if len(sample) < jets:
        raise LhcgenError(f"{truth} holds {len(sample)} {jet_type} jets, fewer than {jets}")
    batch = to_batch(preprocessing.encode(sample))
    s_d = model.cfg.sigma_data
    levels = []
    for k, sigma in enumerate(sigmas):
        generator = torch.Generator().manual_seed(seed + k)
        loss, errors, sum_errors = [], [], []
        for start in range(0, jets, BATCH):
            part = slice(start, start + BATCH)
            x, dims = batch.x[part], batch.dims_mask[part]
            mask = dims.to(x.dtype)
            noise = torch.randn(x.shape, generator=generator)
            level = torch.full((len(x),), sigma)
            with torch.no_grad():
                d = model.denoise((x + sigma * noise) * mask, level,
                                  model.condition_index(batch.multiplicity[part]), dims,
                                  batch.context[part])
                per_jet = ((d - x) ** 2 * mask).flatten(1).sum(-1) / mask.flatten(1).sum(-1)
                loss.append((sigma**2 + s_d**2) / (sigma * s_d) ** 2 * per_jet)
                errors.append(model.mass_error(d, x, dims, units="jet_pt"))
                sum_errors.append(model.mass_error(d, x, dims, units="pt_sum"))
        loss_all = torch.cat(loss).double()
        level = {"sigma": sigma, "loss": float(loss_all.mean())}
        for key, parts in (("mass_error", errors), ("mass_over_sum_error", sum_errors)):
            error = torch.cat(parts).double()
            level |= {f"{key}_mean": float(error.mean()),
                      f"{key}_mean_error": float(error.std() / np.sqrt(len(error))),
                      f"{key}_rms": float(error.pow(2).mean().sqrt())}
        levels.append(level)
    edm = cfg.model.edm
    return {"run": run, "mass_loss": edm.mass_loss,
            "mass_loss_sigma_max": (edm.mass_loss_sigma_max
                                    if np.isfinite(edm.mass_loss_sigma_max) else None),
            "mass_loss_units": edm.mass_loss_units, "levels": levels}


def _mass_setting(row: dict) -> str:
    if not row["mass_loss"]:
        return "none"
    window = row["mass_loss_sigma_max"]
    units = " of m / Σ pT" if row.get("mass_loss_units") == "pt_sum" else ""
    return (f"{row['mass_loss']:g}{units}"
            + (f", σ ≤ {window:g}" if window is not None else ""))


def _error_cell(key: str):
    return lambda lv: (f"{lv[key + '_mean']:+.4f} ± {lv[key + '_mean_error']:.4f} / "
                       f"{lv[key + '_rms']:.4f}")


def render(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# What the denoiser makes of the constituents' mass", "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, torch {m['torch']}, "
        f"Python {m['python']}; {result['threads']} torch thread(s), batches of {BATCH}. "
        f"Command: `{result['command']}`.", "",
        f"{result['jets']} {result['type']} jets of `{result['truth']}`, the same noise for "
        "every run, one network evaluation per jet and level (no sampler). Loss: "
        "λ(σ)|D − x|² per coordinate. Mass error: log m(D) − log m(x) of the decoded "
        "constituents (m in units of the jet pT), mean ± its error / root mean square. The "
        "exact denoiser's mass is low at high σ (it is the mean of the jets the noisy one "
        f"may come from). {result['seconds']:.0f} s in all.", ""]
    sigmas = [level["sigma"] for level in result["rows"][0]["levels"]]
    header = "| run | mass loss | " + " | ".join(f"σ = {s:g}" for s in sigmas) + " |"
    rule = "| --- | --- |" + " ---: |" * len(sigmas)
    tables = [("Denoising loss λ(σ)|D − x|² per coordinate", lambda lv: f"{lv['loss']:.4f}"),
              ("Mass error log m(D) − log m(x): mean ± its error / root mean square",
               _error_cell("mass_error"))]
    if all("mass_over_sum_error_mean" in lv for row in result["rows"] for lv in row["levels"]):
        tables.append(("Error of the mass over the constituents' summed pT, log (m / Σ pT)(D) "
                       "− log (m / Σ pT)(x), blind to the sum: mean ± its error / root mean "
                       "square", _error_cell("mass_over_sum_error")))
    for title, cell in tables:
        lines += [f"**{title}**", "", header, rule]
        lines += [f"| `{row['run']}` | {_mass_setting(row)} | "
                  + " | ".join(cell(lv) for lv in row["levels"]) + " |"
                  for row in result["rows"]]
        lines.append("")
    return "\n".join(lines)


def parse_args():
    parser = script_parser(__doc__)
    parser.add_argument("--runs", nargs="+", help="trained jets EDM run directories")
    parser.add_argument("--truth", default="data/jets/t30_b5k.h5", help="jets to noise")
    parser.add_argument("--type", default="t", choices=JET_TYPES)
    parser.add_argument("--jets", type=int, default=5000)
    parser.add_argument("--sigmas", default=DEFAULT_SIGMAS,
                        help=f"noise levels, comma-separated (default {DEFAULT_SIGMAS})")
    parser.add_argument("--seed", type=int, default=0, help="seed of the noise")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--name", default="jets_denoised_mass")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite NAME.md from the committed NAME.json")
    args = parser.parse_args()
    if args.render_only:
        return args
    if not args.runs:
        parser.error("--runs is required")
    try:
        args.sigma_list = [float(s) for s in args.sigmas.split(",")]
    except ValueError:
        parser.error(f"--sigmas: numbers separated by commas, got {args.sigmas!r}")
    if not all(0 < s < float("inf") for s in args.sigma_list):
        parser.error("--sigmas: every noise level must be a finite number > 0")
    if args.jets <= 0 or args.threads <= 0:
        parser.error("--jets and --threads must be positive")
    return args


def main() -> None:
    args = parse_args()
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        rows = [denoised_mass(run, args.truth, args.type, args.jets, args.sigma_list, args.seed)
                for run in args.runs]
    except LhcgenError as e:
        sys.exit(f"error: {e}")
    result = {"machine": machine_info(), "command": command_line(), "truth": args.truth,
              "type": args.type, "jets": args.jets, "threads": args.threads, "seed": args.seed,
              "seconds": time.perf_counter() - started, "rows": rows}
    write_results(stem, result, render)


if __name__ == "__main__":
    main()
