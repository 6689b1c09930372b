"""`lhcgen data jets`, `lhcgen data import-jetnet` and `lhcgen metrics jets`: options and work.

cli.py calls ``add_jet_data_parsers`` and ``add_metrics_parser``; commands.py dispatches to
``cmd_data_jets``, ``cmd_import_jetnet`` and ``cmd_metrics``.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np

from lhcgen.errors import LhcgenError

JET_TYPE_CHOICES = ("g", "q", "t", "w", "z")
PARTICLE_CHOICES = (30, 150)
METRIC_ORDER = ("w1m", "w1p", "w1efp", "fpd", "kpd")


def add_jet_data_parsers(data_sub: Any, positive_int: Callable, non_negative_int: Callable,
                         no_progress: Callable, scheduler_option: Callable) -> None:
    """Add `jets` and `import-jetnet` beside `zjets` under `lhcgen data`."""
    jets = data_sub.add_parser(
        "jets", help="JetNet-style g/q/t/w/z jets as particle clouds at 13 TeV",
        description="Generate JetNet-style jets (pT ~ 1 TeV, anti-kT R=0.8) with Pythia 8 and "
                    "FastJet; see docs/data-format.md ('Jets as particle clouds'). The same "
                    "--jets, --seed and --shard-size give the same jets for any --workers.")
    jets.add_argument("--type", required=True, choices=JET_TYPE_CHOICES, dest="jet_type",
                      help="g (gluon), q (light quark), t (top), w or z")
    jets.add_argument("--particles", type=int, choices=PARTICLE_CHOICES, default=30,
                      help="constituents kept per jet (zero-padded)")
    jets.add_argument("--jets", type=positive_int, required=True, dest="n_jets",
                      help="accepted jets to write")
    jets.add_argument("--jets-per-event", type=positive_int, default=1, choices=(1, 2),
                      help="leading jets of each event that may be kept: 1 as JetNet "
                           "(default), or 2 (twice the jets per Pythia event, but the two "
                           "jets of an event are correlated)")
    jets.add_argument("--seed", type=non_negative_int, default=1, help="master seed")
    jets.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1,
                      help="parallel Pythia processes (default: all cores)")
    jets.add_argument("--shard-size", type=positive_int, default=500,
                      help="accepted jets per shard (part of the seed scheme)")
    jets.add_argument("--out", required=True, help="output HDF5 file")
    scheduler_option(jets)
    no_progress(jets)

    hepmc = data_sub.add_parser(
        "import-hepmc", help="select and cluster particle-level events of a HepMC3 file",
        description="Run lhcgen's own selection and clustering on the particle-level events "
                    "of any generator (Herwig, Sherpa, ...) written as HepMC3 ASCII: "
                    "--process zjets (dressed muons, R=0.4 jets, docs/data-format.md) or "
                    "--process jets (JetNet-style R=0.8 jets as particle clouds; the p-hat "
                    "window is the file's). Event weights, negative ones included, are kept.")
    hepmc.add_argument("hepmc_file", help="HepMC3 ASCII file")
    hepmc.add_argument("--process", required=True, choices=("zjets", "jets"),
                       dest="hepmc_process", help="the selection to run")
    hepmc.add_argument("--type", choices=JET_TYPE_CHOICES, default=None, dest="jet_type",
                       help="--process jets: the jet type the file holds (a label)")
    hepmc.add_argument("--particles", type=int, choices=PARTICLE_CHOICES, default=30,
                       help="--process jets: constituents kept per jet")
    hepmc.add_argument("--jets-per-event", type=positive_int, default=1, choices=(1, 2),
                       help="--process jets: leading jets of each event that may be kept")
    hepmc.add_argument("--events", type=positive_int, default=None,
                       help="read only the first N events (default all)")
    hepmc.add_argument("--out", required=True, help="output HDF5 file")
    no_progress(hepmc)

    imp = data_sub.add_parser(
        "import-jetnet", help="convert a JetNet HDF5 file to lhcgen's jet schema",
        description="Convert a JetNet file (particle_features, jet_features; e.g. t.hdf5 or "
                    "t150.hdf5) to lhcgen's jet file.")
    imp.add_argument("jetnet_file", help="JetNet HDF5 file")
    imp.add_argument("--out", required=True, help="output HDF5 file")
    imp.add_argument("--type", choices=JET_TYPE_CHOICES, default=None, dest="jet_type",
                     help="jet type (default: from the file name, as jetnet does)")


def add_metrics_parser(sub: Any, positive_int: Callable, non_negative_int: Callable) -> None:
    """Add `lhcgen metrics jets`."""
    metrics = sub.add_parser("metrics", help="JetNet metrics of generated jets against truth")
    metrics_sub = metrics.add_subparsers(dest="metrics_kind", required=True,
                                         parser_class=type(metrics))
    jets = metrics_sub.add_parser(
        "jets", help="W1m, W1p, W1efp, FPD, KPD (jetnet v0.2.5 definitions)",
        description="JetNet metrics of GENERATED against --truth, and the floor: --truth "
                    "against --truth-2, or, without --truth-2, the first half of --truth "
                    "against its second half. Defaults are jetnet v0.2.5's (50k jets for W1 "
                    "and FPD); smaller samples need the size options.")
    jets.add_argument("generated", help="generated (or any) jet file")
    jets.add_argument("--truth", required=True, help="truth jet file")
    jets.add_argument("--truth-2", default=None, dest="truth_2",
                      help="independent truth jet file for the floor")
    jets.add_argument("--json", required=True, dest="json_out", help="output JSON file")
    jets.add_argument("--seed", type=non_negative_int, default=42)
    jets.add_argument("--w1-samples", type=positive_int, default=50_000,
                      help="jets per W1 batch")
    jets.add_argument("--w1-batches", type=positive_int, default=5)
    jets.add_argument("--fpd-min-samples", type=positive_int, default=20_000)
    jets.add_argument("--fpd-max-samples", type=positive_int, default=50_000)
    jets.add_argument("--fpd-batches", type=positive_int, default=20,
                      help="draws per FPD batch size")
    jets.add_argument("--fpd-points", type=positive_int, default=10,
                      help="FPD batch sizes (at least 3)")
    jets.add_argument("--kpd-batch-size", type=positive_int, default=5_000)
    jets.add_argument("--kpd-batches", type=positive_int, default=10)
    jets.add_argument("--report", default=None,
                      help="also write substructure three-panel plots into this directory")
    jets.add_argument("--no-progress", action="store_true", default=argparse.SUPPRESS,
                      help="hide progress bars")


def cmd_data_jets(args) -> int:
    from lhcgen.data.jet_hdf5 import write_jets
    from lhcgen.data.jet_run import generate_jets
    from lhcgen.data.jets import JetSettings
    from lhcgen.data.shard_store import keep_parts_only_if_useful, parts_folder, remove_parts

    settings = JetSettings(jet_type=args.jet_type, n_particles=args.particles,
                           jets_per_event=args.jets_per_event)
    parts = parts_folder(args.out)
    with keep_parts_only_if_useful(parts):
        sample = generate_jets(args.n_jets, args.seed, settings, workers=args.workers,
                               shard_size=args.shard_size, progress=not args.no_progress,
                               parts=parts, scheduler=args.scheduler)
    write_jets(args.out, sample)
    remove_parts(parts)
    attrs = sample.attrs
    print(f"wrote {len(sample)} {args.jet_type} jets ({args.particles} particles) to "
          f"{args.out} in {attrs['generation_seconds']:.1f} s "
          f"({attrs['accepted_jets_per_second']:.1f} jets/s on {args.workers} worker(s))")
    return 0


def cmd_import_jetnet(args) -> int:
    from lhcgen.data.jet_hdf5 import write_jets
    from lhcgen.data.jetnet_import import read_jetnet

    sample = read_jetnet(args.jetnet_file, args.jet_type)
    write_jets(args.out, sample)
    print(f"wrote {len(sample)} {sample.attrs['type']} jets ({sample.n_particles} particles) "
          f"from {args.jetnet_file} to {args.out}")
    return 0


def cmd_import_hepmc(args) -> int:
    from lhcgen.data import hepmc

    if args.hepmc_process == "zjets":
        from lhcgen.data.hdf5 import write_events

        sample = hepmc.import_zjets(args.hepmc_file, max_events=args.events,
                                    progress=not args.no_progress)
        write_events(args.out, sample)
        what = "Z(->mumu)+jets events"
    else:
        from lhcgen.data.jet_hdf5 import write_jets
        from lhcgen.data.jets import JetSettings

        if args.jet_type is None:
            raise LhcgenError("--process jets needs --type g|q|t|w|z (the jets the file holds)")
        settings = JetSettings(jet_type=args.jet_type, n_particles=args.particles,
                               jets_per_event=args.jets_per_event)
        sample = hepmc.import_jets(args.hepmc_file, settings, max_events=args.events,
                                   progress=not args.no_progress)
        write_jets(args.out, sample)
        what = f"{args.jet_type} jets"
    print(f"wrote {len(sample)} {what} from {sample.attrs['n_generated']} events of "
          f"{args.hepmc_file} to {args.out}")
    return 0


def cmd_data(args) -> int:
    if args.process == "jets":
        return cmd_data_jets(args)
    if args.process == "import-hepmc":
        return cmd_import_hepmc(args)
    return cmd_import_jetnet(args)


def metric_settings(args):
    from lhcgen.evaluate.jets.metrics import JetMetricSettings

    return JetMetricSettings(
        w1_num_eval_samples=args.w1_samples, w1_num_batches=args.w1_batches,
        fpd_min_samples=args.fpd_min_samples, fpd_max_samples=args.fpd_max_samples,
        fpd_num_batches=args.fpd_batches, fpd_num_points=args.fpd_points,
        kpd_num_batches=args.kpd_batches, kpd_batch_size=args.kpd_batch_size)


def check_sample_sizes(sizes: dict[str, int], settings) -> None:
    """One line naming the option and the size needed when a sample is too small."""
    needs = (("--w1-samples", settings.w1_num_eval_samples),
             ("--fpd-max-samples", settings.fpd_max_samples),
             ("--kpd-batch-size", settings.kpd_batch_size))
    if settings.fpd_min_samples > settings.fpd_max_samples:
        raise LhcgenError("--fpd-min-samples must not exceed --fpd-max-samples")
    for which, size in sizes.items():
        for option, needed in needs:
            if size < needed:
                raise LhcgenError(f"the {which} sample has {size} jets but {option} needs "
                                  f"{needed}: give at least {needed} jets or lower {option}")


def compare_jet_files(generated_path, truth_path, truth_2_path=None, *, seed: int = 42,
                      settings=None) -> dict[str, Any]:
    """The JetNet metrics of generated vs truth and of the floor; a JSON-ready dict."""
    from lhcgen.data.jet_hdf5 import read_jets
    from lhcgen.evaluate.jets.metrics import JetMetricSettings, JetSample, jet_metrics

    settings = settings or JetMetricSettings()
    generated = read_jets(generated_path)
    truth = read_jets(truth_path)
    files = {"generated": generated, "truth": truth}
    if truth_2_path:
        files["truth-2"] = read_jets(truth_2_path)
    for name, sample in files.items():
        if np.any(sample.weights < 0):
            path = {"generated": generated_path, "truth": truth_path,
                    "truth-2": truth_2_path}[name]
            raise LhcgenError(f"{path}: {int(np.sum(sample.weights < 0))} jets carry negative "
                              "event weights; the JetNet metrics resample jets by weight and "
                              "cannot take negative ones: unweight the sample first")
        if sample.n_particles != truth.n_particles:
            path = {"generated": generated_path, "truth-2": truth_2_path}[name]
            raise LhcgenError(f"{path} has {sample.n_particles} particles per jet but "
                              f"{truth_path} has {truth.n_particles}: compare files with the "
                              "same particle count")
    if truth_2_path:
        floor_a, floor_b = truth, files["truth-2"]
        floor_how = f"{truth_path} against {truth_2_path}"
    else:
        half = len(truth) // 2
        floor_a, floor_b = truth.subset(slice(0, half)), truth.subset(slice(half, None))
        floor_how = f"first {half} jets of {truth_path} against the remaining {len(truth) - half}"
    check_sample_sizes({"generated": len(generated), "truth": len(truth),
                        "floor (first truth)": len(floor_a),
                        "floor (second truth)": len(floor_b)}, settings)

    def cloud(sample):
        return JetSample.from_particles(sample.particles, sample.mask, sample.weights)

    truth_cloud = cloud(truth)
    values = jet_metrics(truth_cloud, cloud(generated), seed=seed, settings=settings)
    floor = jet_metrics(truth_cloud if floor_a is truth else cloud(floor_a), cloud(floor_b),
                        seed=seed, settings=settings)
    return {
        "generated": {k: v.as_dict() for k, v in values.items()},
        "floor": {k: v.as_dict() for k, v in floor.items()},
        "floor_definition": floor_how,
        "files": {"generated": str(generated_path), "truth": str(truth_path),
                  "truth_2": str(truth_2_path) if truth_2_path else None},
        "sample_sizes": {"generated": len(generated), "truth": len(truth),
                         "floor_first": len(floor_a), "floor_second": len(floor_b)},
        "particles": truth.n_particles,
        "jet_types": {"generated": generated.attrs.get("type"),
                      "truth": truth.attrs.get("type")},
        "seed": seed,
        "settings": settings.as_dict(),
        "definitions": "jetnet v0.2.5 (W1 x1 as stored, no rescaling)",
    }


def format_table(result: dict[str, Any]) -> str:
    lines = [f"{'metric':<14}{'generated':>26}{'floor (truth vs truth)':>28}"]
    for name in METRIC_ORDER:
        g, f = result["generated"][name], result["floor"][name]
        lines.append(f"{name:<14}{g['value']:>14.4e} ± {g['error']:<9.2e}"
                     f"{f['value']:>16.4e} ± {f['error']:<9.2e}")
    return "\n".join(lines)


def cmd_metrics(args) -> int:
    from lhcgen.io import write_text_atomic

    result = compare_jet_files(args.generated, args.truth, args.truth_2, seed=args.seed,
                               settings=metric_settings(args))
    if args.report:
        from lhcgen.evaluate.jets.plots import write_substructure_plots
        from lhcgen.io import atomic_dir

        with atomic_dir(args.report) as tmp:
            files = write_substructure_plots(args.generated, args.truth, tmp)["files"]
        result["report"] = {"dir": str(args.report), "files": files}
    write_text_atomic(args.json_out, json.dumps(result, indent=1) + "\n")
    print(format_table(result))
    print(f"floor: {result['floor_definition']}; metrics written to {args.json_out}")
    return 0
