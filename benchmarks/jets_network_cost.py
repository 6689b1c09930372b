"""What a jets generator's speed is made of: FLOPs per jet, the rate this core sustains in
them, and the ceiling that sets against Pythia 8 + FastJet.

For one trained jets run, one type and each sampler setting (``--samplers``, as in
``jets_time_fidelity.py``): the floating-point operations per jet of the constituent network
and of the conditions model (``torch.utils.flop_counter``: matrix products and attention,
not the elementwise work), the jets/s on the CPU with ``--threads`` threads, the GFLOP/s that
makes, and two reference rates of the same core measured in the same run: a large fp32 matrix
product (what the core can do at best) and one of the network's width (what its layers can
do at best). The ceiling is the jets/s at the large product's rate. Pythia 8 + FastJet's
jets/s of the type on one worker, measured in the same run, sets the ×sim columns.

Usage:
    python benchmarks/jets_network_cost.py --run runs/jets_cd_all_ft2 --type t --jets 2000 \\
        --samplers consistency:1,3 [--protocol file|generated] [--name jets_network_cost]

On a GPU (``--device cuda``, or ``auto`` where one is present) the same in fp32 (TF32 off,
torch's default): the reference products run there, the simulator still on one CPU core of
the same machine; give it a batch that fills the GPU (``--batch-size 20000``).

Writes NAME.json and NAME.md into --out-dir (benchmarks/results).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from jets_time_fidelity import parse_grid, simulator_rate  # noqa: E402
from lhcgen.data.jets import JET_TYPES  # noqa: E402
from lhcgen.errors import LhcgenError  # noqa: E402
from lhcgen.train.jet_surrogate import JetSurrogate  # noqa: E402
from lhcgen.train.run import resolve_device  # noqa: E402
from machine import command_line, machine_info, script_parser, synchronize  # noqa: E402
from rerender import rerender, write_results  # noqa: E402

REFERENCE_SIZE = {"cpu": 2048, "cuda": 8192}
"""Side of the square fp32 matrix product that measures the device's best rate."""


def matmul_rate(rows: int, inner: int, cols: int, products: int, repeats: int,
                device: torch.device | None = None) -> float:
    """GFLOP/s of (rows x inner) @ (inner x cols) in fp32 on ``device`` (on the CPU, the
    current torch threads): the fastest of ``repeats`` timings of ``products`` products."""
    device = device or torch.device("cpu")
    a = torch.randn(rows, inner, device=device)
    b = torch.randn(inner, cols, device=device)
    a @ b  # warm up
    synchronize(device)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(products):
            a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - started)
    return 2.0 * rows * inner * cols * products / best / 1e9


def cost_row(surrogate: JetSurrogate, args: argparse.Namespace, solver: str,
             steps: int | None, options: dict[str, float], reference: float) -> dict:
    """One setting: FLOPs per jet, jets/s and the GFLOP/s they make, timed apart from the
    counting (the counter slows the products it counts); the fastest of ``args.repeats``
    timed runs, as this shared machine's speed wanders."""
    condition_from = args.truth if args.protocol == "file" else None

    def generate(n: int) -> dict:
        return surrogate.generate(n, args.type, condition_from, solver, steps,
                                  args.batch_size, 0, progress=False, options=options)[1]

    generate(min(args.jets, 200))  # warm up
    with FlopCounterMode(display=False) as counter:
        generate(args.jets)
    total = float(counter.get_total_flops())
    info = max((generate(args.jets) for _ in range(args.repeats)),
               key=lambda i: i["jets_per_second"])
    rate = info["jets_per_second"]
    per_jet = total / args.jets
    return {"solver": info["solver"], "steps": info["steps"], "nfe": info["nfe"],
            "conditions_nfe": info["conditions_nfe"], "flops_per_jet": per_jet,
            "jets_per_second": rate, "gflops_per_second": per_jet * rate / 1e9,
            "network_seconds": info["network_seconds"],
            "conditions_seconds": info["conditions_seconds"], "seconds": info["seconds"],
            "ceiling_jets_per_second": reference * 1e9 / per_jet}


def _where(result: dict) -> str:
    if not result.get("device", "cpu").startswith("cuda"):
        return f"{result['threads']} torch thread(s)"
    return f"on the GPU in fp32 ({'TF32 on' if result.get('tf32') else 'TF32 off'})"


def render(result: dict) -> str:
    m, sim = result["machine"], result["simulator"]
    size = result.get("reference_size", REFERENCE_SIZE["cpu"])
    lines = [
        "# Jets generators: what the speed is made of", "",
        f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs"
        + (f", {m['gpu']} ({m['gpu_memory_gib']:g} GiB, CUDA {m['cuda_version']})"
           if m.get("gpu") else "")
        + f", torch {m['torch']}, Python {m['python']}. Command: `{result['command']}`.", "",
        f"Run `{result['run']}` ({result['parameters']:,} parameters), type {result['type']}, "
        f"{result['jets']} jets per setting (the fastest of {result['repeats']} timed runs), "
        f"batch size {result['batch_size']}, " + _where(result)
        + f", conditions: {result['protocol']}. FLOPs: "
        "`torch.utils.flop_counter` (matrix products and attention; elementwise work not "
        "counted), per jet, with the conditions model's included where they are generated. "
        f"This {'GPU' if m.get('gpu') else 'core'} in the same run: "
        f"{result['reference_gflops']:.1f} GFLOP/s in a {size}² fp32 matrix product, "
        f"{result['width_gflops']:.1f} GFLOP/s in a "
        f"product of the network's width ({result['width']}). Ceiling = jets/s at the "
        f"{size}² product's rate. Pythia 8 + FastJet: {sim['jets_per_second']:.1f} "
        f"{result['type']} jets/s on one worker in this run ({sim['jets']} jets, "
        "initialisation excluded).", "",
        "| sampler | steps | NFE | MFLOP per jet | jets/s | ×sim | GFLOP/s | ceiling jets/s "
        "| ceiling ×sim |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for r in result["rows"]:
        nfe = str(r["nfe"]) + (f" + {r['conditions_nfe']}" if r["conditions_nfe"] else "")
        lines.append(f"| {r['solver']} | {r['steps']} | {nfe} | {r['flops_per_jet'] / 1e6:.1f} "
                     f"| {r['jets_per_second']:.0f} | "
                     f"{r['jets_per_second'] / sim['jets_per_second']:.3g} | "
                     f"{r['gflops_per_second']:.1f} | {r['ceiling_jets_per_second']:.0f} | "
                     f"{r['ceiling_jets_per_second'] / sim['jets_per_second']:.3g} |")
    return "\n".join(lines) + "\n"


def parse_args() -> argparse.Namespace:
    parser = script_parser(__doc__)
    parser.add_argument("--run", required=False, help="trained jets run directory")
    parser.add_argument("--type", default="t", choices=JET_TYPES)
    parser.add_argument("--jets", type=int, default=2000, help="jets per setting")
    parser.add_argument("--samplers", default="consistency:1",
                        help="settings as in jets_time_fidelity.py, e.g. 'midpoint:16'")
    parser.add_argument("--protocol", default="file", choices=("file", "generated"))
    parser.add_argument("--truth", default="data/jets/{type}30_b.h5",
                        help="condition file of the file protocol ({type}: the type letter)")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", default="auto",
                        help="where the generator runs: auto (CUDA where present), cpu, cuda")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per setting and reference product; the fastest counts")
    parser.add_argument("--simulator-jets", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0, help="seed of the Pythia jets")
    parser.add_argument("--out-dir", default="benchmarks/results")
    parser.add_argument("--name", default="jets_network_cost")
    parser.add_argument("--render-only", action="store_true",
                        help="rewrite NAME.md from the committed NAME.json")
    args = parser.parse_args()
    if not args.render_only and not args.run:
        parser.error("--run is required")
    if min(args.jets, args.batch_size, args.threads, args.repeats) <= 0:
        parser.error("--jets, --batch-size, --threads and --repeats must be positive")
    try:
        args.grid = parse_grid(args.samplers)
    except ValueError as e:
        parser.error(f"--samplers: {e}")
    args.truth = args.truth.replace("{type}", args.type)
    return args


def main() -> None:
    args = parse_args()
    stem = Path(args.out_dir) / args.name
    if args.render_only:
        rerender(stem.with_suffix(".json"), render)
        return
    torch.set_num_threads(args.threads)
    try:
        device = resolve_device(args.device)
        surrogate = JetSurrogate.load(args.run, device)
        for solver, steps, _ in args.grid:  # every setting checked before the long part
            surrogate.sampler(solver, steps)
        if args.protocol == "file":
            surrogate.conditions_from_file(args.truth, args.jets, args.type)
    except LhcgenError as e:
        sys.exit(f"error: {e}")
    width, particles = surrogate.cfg.model.hidden, surrogate.preprocessing.n_particles
    size = REFERENCE_SIZE[device.type]
    reference = matmul_rate(size, size, size, 10, args.repeats, device)
    result = {"machine": machine_info(device), "command": command_line(), "run": args.run,
              "device": str(device), "tf32": torch.backends.cuda.matmul.allow_tf32,
              "reference_size": size,
              "parameters": sum(p.numel() for p in surrogate.model.parameters()),
              "type": args.type, "jets": args.jets, "batch_size": args.batch_size,
              "threads": args.threads, "repeats": args.repeats, "protocol": args.protocol,
              "width": width,
              "reference_gflops": reference,
              "particles": particles,
              "width_gflops": matmul_rate(args.batch_size * particles, width, width, 50,
                                          args.repeats, device),
              "simulator": simulator_rate(args.type, particles, args.simulator_jets, args.seed),
              "rows": []}
    for solver, steps, options in args.grid:
        result["rows"].append(cost_row(surrogate, args, solver, steps, options, reference))
    Path(args.out_dir).mkdir(parents=True, exist_ok=True)
    write_results(stem, result, render)
    print(render(result))


if __name__ == "__main__":
    main()
