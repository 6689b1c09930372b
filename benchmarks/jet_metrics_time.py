"""Time lhcgen's JetNet metrics on 50k synthetic jets, and jetnet v0.2.5's on the same jets.

    python benchmarks/jet_metrics_time.py [--jetnet-python /tmp/jetnet-env/bin/python]

jetnet runs in its own environment (see tests/data/jetnet_golden/make_reference.py for how
to make one), through a subprocess that reads the same jets. Both use jetnet's default
settings (W1: 50k jets x 5 batches; FPD: 10 batch sizes 20k-50k x 20; KPD: 10 x 5,000) and
the same seeds (jetnet's unseeded W1 generator is replaced by a seeded one), so the values
are compared too. Timings:

- EFPs: the 36 d <= 4 EFPs of both samples. energyflow is slow, so jetnet's are timed on
  ``--jetnet-efp-jets`` jets per sample in one process (efp_jobs=1) and scaled to the full
  samples; lhcgen's are timed on all of them.
- W1m includes the jet masses (coffea's four-vector sum in jetnet); W1p is the metric
  alone; W1efp is the W1 part alone, on precomputed EFPs (jetnet's ``utils.efps`` is
  replaced by a lookup); FPD and KPD take precomputed EFPs, as both packages' do.

Both run single-threaded for a like-for-like comparison: one BLAS thread (set here before
numpy loads, inherited by the jetnet subprocess; export OPENBLAS_NUM_THREADS to change it),
energyflow in one process, numba's KPD serial.

Writes benchmarks/results/jet_metrics_time.json and .md.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from lhcgen.evaluate.jets.metrics import fpd, kpd, w1efp, w1m, w1p  # noqa: E402
from lhcgen.io import write_text_atomic  # noqa: E402
from lhcgen.physics.efp import W1_COLUMNS, efps_d_le_4  # noqa: E402
from lhcgen.physics.particle_cloud import relative_jet_mass  # noqa: E402
from machine import machine_info  # noqa: E402

N_PARTICLES = 30
METRICS = ("w1m", "w1p", "w1efp", "fpd", "kpd")

JETNET_SCRIPT = r"""
import json, sys, time, warnings
import numpy as np
import jetnet, energyflow
import jetnet.evaluation.gen_metrics as gm
from jetnet import utils
warnings.simplefilter("ignore")
data = np.load(sys.argv[1]); seed = int(sys.argv[3]); n_efp = int(sys.argv[4])
real, gen, real_mask, gen_mask = data["real"], data["gen"], data["real_mask"], data["gen_mask"]
efps = {"real": data["real_efps"], "gen": data["gen_efps"]}
out = {"versions": {"jetnet": jetnet.__version__, "energyflow": energyflow.__version__,
                    "numpy": np.__version__}, "seconds": {}, "values": {}}
t = time.perf_counter()
for jets in (real[:n_efp], gen[:n_efp]):
    utils.efps(jets, efpset_args=[("d<=", 4)], efp_jobs=1)
out["seconds"]["efps_d_le_4"] = (time.perf_counter() - t) * len(real) / n_efp
out["efp_jets_timed"] = 2 * n_efp
def timed(name, function, *args, **kwargs):
    gm.rng = np.random.default_rng(seed)
    t = time.perf_counter()
    value = function(*args, **kwargs)
    out["seconds"][name] = time.perf_counter() - t
    out["values"][name] = np.asarray(value, dtype=float).tolist()
timed("w1m", gm.w1m, real, gen)
timed("w1p", gm.w1p, real, gen, real_mask, gen_mask)
columns = [12, 14, 15, 16, 17]
lookup = {id(real): efps["real"][:, columns], id(gen): efps["gen"][:, columns]}
gm.utils = type("EfpLookup", (), {"efps": staticmethod(lambda jets, **_: lookup[id(jets)])})
timed("w1efp", gm.w1efp, real, gen)
timed("fpd", gm.fpd, efps["real"], efps["gen"], seed=seed)
gm.kpd(efps["real"][:10], efps["gen"][:10], batch_size=5, num_batches=1)  # numba compile
timed("kpd", gm.kpd, efps["real"], efps["gen"], seed=seed)
json.dump(out, open(sys.argv[2], "w"))
"""


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--jets", type=int, default=50_000, help="jets per sample")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--jetnet-python", default=None,
                   help="python of an environment with jetnet==0.2.5 (optional)")
    p.add_argument("--jetnet-efp-jets", type=int, default=2_000,
                   help="jets per sample on which jetnet's EFPs are timed")
    p.add_argument("--out-dir", default="benchmarks/results")
    p.add_argument("--name", default="jet_metrics_time")
    return p.parse_args()


def synthetic_jets(rng: np.random.Generator, n_jets: int, width: float, two_prong: float
                   ) -> np.ndarray:
    """(n_jets, 30, 3) JetNet-like jets (Delta eta, Delta phi, pT_rel), zero-padded."""
    multiplicity = np.clip(rng.poisson(20, n_jets), 1, N_PARTICLES)
    real = np.arange(N_PARTICLES)[None, :] < multiplicity[:, None]
    pt = -np.sort(-(rng.gamma(0.7, size=real.shape) + 0.02) * real, axis=1)
    pt /= pt.sum(axis=1, keepdims=True)
    spread = 0.3 * width * (0.2 + np.sqrt(0.05 / np.maximum(pt, 1e-3)))
    eta, phi = rng.normal(size=(2, *pt.shape)) * spread
    second = (rng.random(n_jets) < two_prong)[:, None] & (np.arange(N_PARTICLES) % 2 == 1)
    angle = rng.uniform(0, 2 * np.pi, n_jets)
    eta += second * 0.3 * np.cos(angle)[:, None]
    phi += second * 0.3 * np.sin(angle)[:, None]
    eta -= (pt * eta).sum(axis=1, keepdims=True)
    phi -= (pt * phi).sum(axis=1, keepdims=True)
    return np.stack([eta, phi, pt], axis=-1) * real[..., None]


def time_lhcgen(real, gen, real_mask, gen_mask, seed: int) -> tuple[dict, dict, dict]:
    seconds, values = {}, {}
    start = time.perf_counter()
    efps = {"real": efps_d_le_4(real, real_mask), "gen": efps_d_le_4(gen, gen_mask)}
    seconds["efps_d_le_4"] = time.perf_counter() - start
    columns = list(W1_COLUMNS)
    calls = {
        "w1m": lambda: w1m(relative_jet_mass(real, real_mask),
                           relative_jet_mass(gen, gen_mask), seed=seed),
        "w1p": lambda: w1p(real, gen, real_mask, gen_mask, seed=seed),
        "w1efp": lambda: w1efp(efps["real"][:, columns], efps["gen"][:, columns], seed=seed),
        "fpd": lambda: fpd(efps["real"], efps["gen"], seed=seed),
        "kpd": lambda: kpd(efps["real"], efps["gen"], seed=seed),
    }
    for name, call in calls.items():
        start = time.perf_counter()
        result = call()
        seconds[name] = time.perf_counter() - start
        values[name] = result.as_dict()
    return seconds, values, efps


def jetnet_comparable(name: str, lhcgen_value: dict) -> list[float]:
    """lhcgen's result in the shape jetnet returns: (values..., errors...)."""
    if name in ("w1m", "fpd", "kpd"):
        return [lhcgen_value["value"], lhcgen_value["error"]]
    parts = lhcgen_value["parts"].values()
    return [[p["value"] for p in parts], [p["error"] for p in parts]]


def run_jetnet(python: str, real, gen, real_mask, gen_mask, efps: dict, seed: int,
               n_efp: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        inputs, output = Path(tmp) / "jets.npz", Path(tmp) / "jetnet.json"
        np.savez(inputs, real=real, gen=gen, real_mask=real_mask, gen_mask=gen_mask,
                 real_efps=efps["real"], gen_efps=efps["gen"])
        subprocess.run([python, "-c", JETNET_SCRIPT, str(inputs), str(output), str(seed),
                        str(n_efp)], check=True)
        return json.loads(output.read_text())


def max_relative_difference(a, b) -> float:
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


def markdown(result: dict) -> str:
    m = result["machine"]
    lines = [
        "# JetNet metrics: lhcgen (numpy/scipy) against jetnet v0.2.5", "",
        f"Machine: {m['platform']}, {m['cpu']}, {m['logical_cpus']} logical CPUs; Python "
        f"{m['python']}; OPENBLAS_NUM_THREADS={m['OPENBLAS_NUM_THREADS']}. "
        f"{result['jets']} jets per sample (synthetic, 30 particles), jetnet's default "
        f"settings, seed {result['seed']}.", "",
        "Timings were taken once, at the lowest CPU priority (`nice -n 19`) while other "
        "work ran on the same 2 cores: they are noisy, read them as orders of magnitude.", "",
        "| step | lhcgen s | jetnet s | jetnet / lhcgen | max rel. difference of values |",
        "| --- | --- | --- | --- | --- |",
    ]
    jetnet = result.get("jetnet")
    for step, seconds in result["lhcgen_seconds"].items():
        if jetnet:
            other = jetnet["seconds"][step]
            diff = result["value_differences"].get(step)
            lines.append(f"| {step} | {seconds:.2f} | {other:.2f} | {other / seconds:.1f} | "
                         f"{'' if diff is None else f'{diff:.1e}'} |")
        else:
            lines.append(f"| {step} | {seconds:.2f} | | | |")
    if jetnet:
        lines += ["", f"jetnet's EFPs were timed on {jetnet['efp_jets_timed']} jets with "
                  "energyflow in one process and scaled to both full samples. W1m includes "
                  "the jet masses; W1efp is timed on precomputed EFPs in both. Values: "
                  "value and error of each metric (per feature for W1p and W1efp)."]
    lines += ["", "lhcgen values:", "", "| metric | value | error |", "| --- | --- | --- |"]
    lines += [f"| {name} | {v['value']:.6g} | {v['error']:.3g} |"
              for name, v in result["lhcgen_values"].items()]
    return "\n".join(lines) + "\n"


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    real = synthetic_jets(rng, args.jets, width=0.10, two_prong=0.2)
    gen = synthetic_jets(rng, args.jets, width=0.11, two_prong=0.25)
    real_mask, gen_mask = real[..., 2] > 0, gen[..., 2] > 0
    seconds, values, efps = time_lhcgen(real, gen, real_mask, gen_mask, args.seed)
    threads = {k: os.environ.get(k) for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS")}
    result = {"jets": args.jets, "seed": args.seed, "machine": machine_info() | threads,
              "lhcgen_seconds": seconds, "lhcgen_values": values}
    if args.jetnet_python:
        jetnet = run_jetnet(args.jetnet_python, real, gen, real_mask, gen_mask, efps,
                            args.seed, args.jetnet_efp_jets)
        result["jetnet"] = jetnet
        result["value_differences"] = {
            name: max_relative_difference(jetnet_comparable(name, values[name]),
                                          jetnet["values"][name]) for name in METRICS}
    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / f"{args.name}.json", json.dumps(result, indent=2) + "\n")
    write_text_atomic(out / f"{args.name}.md", markdown(result))
    print(markdown(result))


if __name__ == "__main__":
    main()
