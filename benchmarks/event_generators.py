"""Every event generator on the same data with the same training budget, side by side.

For each model (configs/zjets_<model>.yaml) the script
1. times a short warm-up run and sets the epochs so that training takes ``--minutes`` of
   wall-clock time on this machine (the same budget for every model; the learning-rate
   schedule still runs to its end);
2. trains on the truth-train file (lhcgen.train.run.train_run);
3. samples ``--events`` events at the model's default sampler (Bayesian models:
   ``--draws`` weight draws of ``--events / --draws`` each) and records the rate beside the
   Pythia + FastJet rate for the same events;
4. evaluates them against truth-test (chi2/ndf of every observable over the truth-train vs
   truth-test floor), overall and per jet multiplicity; counts events violating
   Delta R_jj > 0.4; computes the test-set NLL in physical coordinates where the model has
   a density (train/likelihood.py); optionally trains the truth-vs-generated classifier;
5. for JetGPT, times sampling with and without the key/value cache.

    python benchmarks/event_generators.py --train data/zjets_train.h5 \
        --test data/zjets_test.h5 --minutes 8

Writes <out-dir>/event_generators.json and .md after every model (``--resume`` keeps the
models already done). Run directories go to --runs (default runs/bench).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cfm_sampling import steady_state_rate  # noqa: E402
from lhcgen.data.hdf5 import read_events, write_events  # noqa: E402
from lhcgen.evaluate.events.report import evaluate_events  # noqa: E402
from lhcgen.io import write_text_atomic  # noqa: E402
from lhcgen.train.config import load_config  # noqa: E402
from lhcgen.train.likelihood import heldout_nll  # noqa: E402
from lhcgen.train.run import train_run  # noqa: E402
from lhcgen.train.surrogate import Surrogate  # noqa: E402
from machine import machine_info  # noqa: E402
from rerender import rerender  # noqa: E402

MODELS = {"cfm": "configs/zjets_cfm.yaml", "inn": "configs/zjets_inn.yaml",
          "ddpm": "configs/zjets_ddpm.yaml", "jetgpt": "configs/zjets_jetgpt.yaml",
          "inn_bayesian": "configs/zjets_inn_bayesian.yaml"}
WARMUP_STEPS = 30


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--train", default="data/zjets_train.h5")
    p.add_argument("--test", default="data/zjets_test.h5")
    p.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    p.add_argument("--minutes", type=float, default=8.0,
                   help="wall-clock training budget per model")
    p.add_argument("--events", type=int, default=100000, help="generated events per model")
    p.add_argument("--draws", type=int, default=10, help="weight draws of Bayesian models")
    p.add_argument("--nll-events", type=int, default=10000)
    p.add_argument("--classifier", action="store_true",
                   help="also train the truth-vs-generated classifier (AUC)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--runs", default="runs/bench")
    p.add_argument("--resume", action="store_true", help="keep models already in the JSON")
    p.add_argument("--simulator-json", default="benchmarks/results/pythia_throughput.json")
    p.add_argument("--out-dir", default="benchmarks/results")
    p.add_argument("--name", default="event_generators")
    p.add_argument("--render-only", action="store_true",
                   help="rewrite the markdown table from the JSON, train nothing")
    return p.parse_args()


def epochs_for_budget(cfg, run_root: Path, minutes: float, n_train: int) -> tuple[int, float]:
    """Steps/s from a short warm-up run -> the epochs that fill ``minutes``."""
    warm_dir = run_root / "_warmup"
    shutil.rmtree(warm_dir, ignore_errors=True)
    events = int(WARMUP_STEPS * cfg.training.batch_size / (1 - cfg.data.val_fraction)) + 1
    warm = dataclasses.replace(
        cfg, data=dataclasses.replace(cfg.data, max_events=events),
        training=dataclasses.replace(cfg.training, epochs=1, checkpoint_every=10**6))
    metrics = train_run(warm, warm_dir, torch.device("cpu"), progress=False)
    shutil.rmtree(warm_dir, ignore_errors=True)
    steps_per_second = metrics["steps_per_second"]
    steps_per_epoch = math.ceil(n_train * (1 - cfg.data.val_fraction) / cfg.training.batch_size)
    epochs = max(1, int(minutes * 60 * steps_per_second / steps_per_epoch))
    return epochs, steps_per_second


def compare(generated, truth, train) -> dict:
    metrics = evaluate_events(generated, truth, None, truth_train=train)
    summary = metrics["summary"]
    return {"median_ratio": summary["median_ratio"], "worst_ratio": summary["worst_ratio"],
            "worst_observable": summary["worst_observable"],
            "ratios": {k: r["ratio"] for k, r in metrics["observables"].items()}}


def per_multiplicity(generated, truth, train) -> dict:
    out = {}
    for n in sorted(set(truth.multiplicity.tolist())):
        out[f"{n}j"] = compare(generated.subset(generated.multiplicity == n),
                               truth.subset(truth.multiplicity == n),
                               train.subset(train.multiplicity == n))
        out[f"{n}j"].pop("ratios")
        out[f"{n}j"]["fraction_generated"] = float(np.mean(generated.multiplicity == n))
    return out


def kv_cache_rates(surrogate: Surrogate, n: int = 5000) -> dict:
    rates = {}
    for cache in (True, False):
        _, info = surrogate.generate(n, seed=5, progress=False, kv_cache=cache)
        rates["with_cache" if cache else "without_cache"] = info["events_per_second"]
    rates["speedup"] = rates["with_cache"] / rates["without_cache"]
    rates["events"] = n
    return rates


def run_model(name: str, args, train, truth, simulator: float) -> dict:
    cfg = load_config(MODELS[name])
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, train=args.train))
    run_dir = Path(args.runs) / name
    shutil.rmtree(run_dir, ignore_errors=True)
    epochs, warm_rate = epochs_for_budget(cfg, Path(args.runs), args.minutes, len(train))
    cfg = dataclasses.replace(cfg, training=dataclasses.replace(cfg.training, epochs=epochs))
    print(f"[{name}] {warm_rate:.2f} steps/s in the warm-up -> {epochs} epochs", flush=True)
    trained = train_run(cfg, run_dir, torch.device("cpu"), progress=True)
    surrogate = Surrogate.load(run_dir, torch.device("cpu"))
    bayesian = cfg.model.bayesian.enabled
    draws = args.draws if bayesian else 0
    per_draw = args.events // draws if draws else args.events
    generated, info = surrogate.generate(per_draw, seed=1, progress=True, weight_draws=draws)
    write_events(run_dir / "generated.h5", generated)
    row = {
        "model": name, "config": MODELS[name], "parameters": trained["parameters"],
        "epochs": epochs, "steps": trained["steps"],
        "training_seconds": trained["training_seconds"],
        "final_val_loss": trained["final_val_loss"],
        "sampler": info["solver"], "sampler_steps": info["steps"], "nfe": info["nfe"],
        "events_per_second": info["events_per_second"],
        "speedup_vs_simulator": info["events_per_second"] / simulator,
        "n_generated": info["n_written"], "n_nonfinite": info["n_nonfinite"],
        "delta_r_jj_violations": info["cut_violations"]["jet_delta_r"],
        "delta_r_jj_violation_fraction": info["cut_violations"]["jet_delta_r"]
        / max(1, int(np.sum(generated.multiplicity >= 2))),
        "cut_violations": info["cut_violations"],
    }
    started = time.perf_counter()
    report = evaluate_events(generated, truth, run_dir / "report", truth_train=train, info=info)
    summary = report["summary"]
    row.update(median_ratio=summary["median_ratio"], worst_ratio=summary["worst_ratio"],
               worst_observable=summary["worst_observable"],
               ratios={k: r["ratio"] for k, r in report["observables"].items()},
               per_multiplicity=per_multiplicity(generated, truth, train))
    if bayesian:
        row["weight_draws"] = draws
        row["bayesian_band"] = report.get("bayesian_band")
    if surrogate.model.has_density:
        options = ({"solver": "rk4", "steps": 16, "trace": "exact"} if cfg.model.name == "cfm"
                   else {})
        row["nll"] = heldout_nll(surrogate, truth, args.nll_events, progress=True, **options)
    if cfg.model.name == "jetgpt":
        row["kv_cache"] = kv_cache_rates(surrogate)
    if args.classifier:
        from lhcgen.evaluate.classifier.test import classifier_test

        n = min(len(generated), len(truth))
        order = np.random.default_rng(0).permutation(len(generated))[:n]
        auc = classifier_test(generated.subset(np.sort(order)), truth)["auc"]
        row["classifier_auc"] = auc
    row["evaluation_seconds"] = round(time.perf_counter() - started, 1)
    print(f"[{name}] median ratio {row['median_ratio']:.2f}, worst {row['worst_ratio']:.2f}, "
          f"{row['events_per_second']:.0f} events/s", flush=True)
    return row


def _fmt(value, digits=3) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def _rates(result: dict) -> str:
    names = {"truth_file_end_to_end": "the truth-test file's end-to-end rate on this machine",
             "pythia_throughput_pipeline": "the steady state of "
                                           "benchmarks/results/pythia_throughput.json"}
    return " and ".join(f"{names.get(k, k)} ({v:.1f}/s)"
                        for k, v in result["simulator_rates_considered"].items())


def render(result: dict) -> str:
    rows = result["models"]
    m = result["machine"]
    lines = [
        "# Event generators side by side (Z(→μμ)+1, 2, 3 jets)",
        "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, torch {m['torch']} with "
        f"{m['torch_threads']} threads, no GPU. Data: {result['n_train']} truth-train events "
        f"(90 % for training), {result['n_test']} truth-test events. Budget: "
        f"{result['minutes']} minutes of training per model (epochs from a timed warm-up, "
        "cosine schedule to the end). Generated: "
        f"{result['events']} events per model at its default sampler. Simulator: Pythia 8 + "
        f"FastJet, {result['simulator_events_per_second']:.1f} accepted events/s on 2 cores, "
        f"the larger of {_rates(result)}, so every × Pythia is the conservative one. "
        "Ratio: χ²/ndf(generated vs truth-test) / χ²/ndf(truth-train vs truth-test) "
        "per observable (1 = the statistical floor). NLL: test events, nats per event, "
        "physical coordinates (train/likelihood.py), ± its statistical error.",
        "",
        "| model | parameters | epochs | training [s] | sampler | NFE | events/s | × Pythia "
        "| test NLL | median ratio | worst ratio (observable) | ΔR_jj < 0.4 | AUC |",
        "| --- | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | --- | ---: "
        "| ---: |",
    ]
    for r in rows:
        nll = r.get("nll")
        nll_text = f"{nll['nll']:.3f} ± {nll['error']:.3f}" if nll else "no density"
        sampler = (f"{r['sampler']} {r['sampler_steps']}" if r["sampler"] else "one pass")
        auc = r.get("classifier_auc")
        auc_text = f"{auc['value']:.4f} ± {auc['error']:.4f}" if auc else "-"
        lines.append(
            f"| {r['model']} | {r['parameters']:,} | {r['epochs']} | "
            f"{r['training_seconds']:.0f} | {sampler} | {r['nfe']} | "
            f"{r['events_per_second']:.0f} | {r['speedup_vs_simulator']:.1f} | {nll_text} | "
            f"{_fmt(r['median_ratio'])} | {_fmt(r['worst_ratio'])} ({r['worst_observable']}) "
            f"| {100 * r['delta_r_jj_violation_fraction']:.2f} % | {auc_text} |")
    lines += ["", "ΔR_jj < 0.4: fraction of generated events with at least two jets in which "
              "two jets are closer than the jet radius (the truth has none).", "",
              "## Per jet multiplicity", "",
              "| model | n jets | fraction generated | median ratio | worst ratio (observable) "
              "| test NLL given n | dimension |",
              "| --- | ---: | ---: | ---: | --- | ---: | ---: |"]
    for r in rows:
        for key, pm in r["per_multiplicity"].items():
            nll = (r.get("nll") or {}).get("per_multiplicity", {}).get(key)
            nll_text = f"{nll['nll_given_n']:.3f} ± {nll['error']:.3f}" if nll else "-"
            dim = str(nll["dimension"]) if nll else "-"
            lines.append(f"| {r['model']} | {key} | {pm['fraction_generated']:.3f} | "
                         f"{_fmt(pm['median_ratio'])} | {_fmt(pm['worst_ratio'])} "
                         f"({pm['worst_observable']}) | {nll_text} | {dim} |")
    extras = [r for r in rows if r.get("kv_cache") or r.get("bayesian_band")]
    if extras:
        lines += ["", "## JetGPT key/value cache and the Bayesian band", ""]
    for r in extras:
        if r.get("kv_cache"):
            kv = r["kv_cache"]
            lines.append(f"- {r['model']}: {kv['with_cache']:.0f} events/s with the key/value "
                         f"cache, {kv['without_cache']:.0f} without ({kv['speedup']:.2f}×), "
                         f"{kv['events']} events.")
        if r.get("bayesian_band"):
            b = r["bayesian_band"]
            lines.append(
                f"- {r['model']} ({r['weight_draws']} weight draws): over "
                f"{b['bins_considered']} bins where the truth's error is below half the "
                f"band, the band covers |mean − truth| in {_fmt(b['within_1sigma'])} of bins "
                f"at 1σ and {_fmt(b['within_2sigma'])} at 2σ; with the truth error in "
                f"quadrature, {_fmt(b['within_1sigma_combined'])} of all "
                f"{b['bins_filled']} filled bins at 1σ. Median band / one draw's statistical "
                f"error: {_fmt(b['median_band_over_stat'])}.")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    out = Path(args.out_dir) / f"{args.name}.json"
    if args.render_only:
        rerender(out, render)
        return
    train, truth = read_events(args.train), read_events(args.test)
    rates = {"truth_file_end_to_end": float(truth.attrs["accepted_events_per_second"])}
    steady = steady_state_rate(Path(args.simulator_json), truth.attrs.get("workers", 2))
    if steady:
        rates["pythia_throughput_pipeline"] = steady
    simulator = max(rates.values())
    done = {}
    if args.resume and out.is_file():
        done = {r["model"]: r for r in json.loads(out.read_text())["models"]}
    rows = []
    for name in args.models:
        rows.append(done[name] if name in done else
                    run_model(name, args, train, truth, simulator))
        result = {"machine": machine_info(), "minutes": args.minutes, "events": args.events,
                  "n_train": len(train), "n_test": len(truth), "train_file": args.train,
                  "test_file": args.test, "simulator_events_per_second": simulator,
                  "simulator_rates_considered": rates, "models": rows}
        write_text_atomic(out, json.dumps(result, indent=2))
        write_text_atomic(out.with_suffix(".md"), render(result))
    print(render(result))


if __name__ == "__main__":
    main()
