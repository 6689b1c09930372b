"""`lhcgen data zjets | ttbar | jets | merge-jets | import-hepmc | import-jetnet |
import-delphes`: options and what they print."""

from __future__ import annotations

import argparse
import os
from typing import Any

from lhcgen.cli.args import (
    add_no_progress,
    add_scheduler_option,
    non_negative_int,
    positive_int,
    progress,
)
from lhcgen.cli.data_delphes import add_import_delphes

JET_TYPE_CHOICES = ("g", "q", "t", "w", "z")
DEFAULT_CARD = "default"
"""What --detector without a file means: the packaged ATLAS-like card."""
PAIRED_SHARD_SIZE = 500
"""Paired events per shard (lhcgen.data.paired_file.SHARD_SIZE; kept here so --help needs
no import of the generators)."""
PARTICLE_CHOICES = (30, 150)


def add_parsers(sub: Any) -> None:
    data = sub.add_parser("data", help="generate events with Pythia 8 + FastJet")
    data_sub = data.add_subparsers(dest="process", required=True, parser_class=type(data))
    _add_zjets(data_sub)
    _add_ttbar(data_sub)
    _add_jets(data_sub)
    _add_merge_jets(data_sub)
    _add_import_hepmc(data_sub)
    _add_import_jetnet(data_sub)
    add_import_delphes(data_sub)


def _add_zjets(data_sub: Any) -> None:
    from lhcgen.data.zjets import ZJET_PTHAT_MIN
    from lhcgen.data.zjets_file import LHE_SHARD_SIZE, SHARD_SIZE

    zjets = data_sub.add_parser(
        "zjets", help="pp -> Z(->mumu)+jets at 13 TeV",
        description="Generate Z(->mumu)+jets events at 13 TeV with Pythia 8 (dressed muons, "
                    "anti-kT R=0.4 jets with FastJet, overlap removal), or shower a "
                    "MadGraph/LHEF file with --lhe; see docs/data-format.md for the event "
                    "definition and schema. The same --events, --seed and --shard-size give "
                    "the same events for any --workers and --scheduler. Finished shards are "
                    "kept in OUT.parts/ until the file is written: rerun the same command "
                    "after a crash to make only the missing ones.")
    zjets.add_argument("--events", type=positive_int, default=None,
                       help="accepted events to write (with --lhe: LHE events to shower, "
                            "default all)")
    zjets.add_argument("--lhe", default=None, metavar="FILE",
                       help="shower this LHE file (.lhe or .lhe.gz, e.g. from MadGraph) "
                            "instead of Pythia's own Z+jet process")
    _add_seed_and_workers(zjets)
    zjets.add_argument("--shard-size", type=positive_int, default=None,
                       help=f"accepted events per shard, part of the seed scheme (default "
                            f"{SHARD_SIZE}; with --lhe: LHE events per shard, default "
                            f"{LHE_SHARD_SIZE})")
    zjets.add_argument("--hard-process", choices=("z", "zjet"), default=None,
                       help="z (default): inclusive Z production, the jets from the parton "
                            "shower with its Z+jet matrix-element correction and from "
                            "multiparton interactions, no generator cut; zjet: Pythia's Z + "
                            "parton 2 -> 2 matrix elements above --pthat-min, faster but the "
                            "events depend on the cut (docs/data-format.md)")
    zjets.add_argument("--pthat-min", type=float, default=None, metavar="GEV",
                       help=f"Pythia PhaseSpace:pTHatMin of --hard-process zjet (default "
                            f"{ZJET_PTHAT_MIN:g} GeV; see "
                            "benchmarks/results/pthat_stability.md)")
    zjets.add_argument("--detector", nargs="?", const=DEFAULT_CARD, default=None,
                       metavar="CARD",
                       help="also simulate the detector: write paired particle-level and "
                            "detector-level events (kept when they pass either selection) "
                            "with the parametric detector of the YAML card CARD (default: "
                            "the ATLAS-like card); --events then counts paired events and "
                            f"--shard-size defaults to {PAIRED_SHARD_SIZE}")
    zjets.add_argument("--out", required=True, help="output HDF5 file")
    add_scheduler_option(zjets)
    add_no_progress(zjets)
    zjets.set_defaults(handler=run_zjets)


def _add_seed_and_workers(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--seed", type=non_negative_int, default=1, help="master seed")
    parser.add_argument("--workers", type=positive_int, default=os.cpu_count() or 1,
                        help="parallel Pythia processes (default: all cores)")


def _add_ttbar(data_sub: Any) -> None:
    ttbar = data_sub.add_parser(
        "ttbar", help="semi-leptonic pp -> ttbar at 13 TeV, paired particle/detector level",
        description="Generate semi-leptonic ttbar events with Pythia 8 and pass them through "
                    "lhcgen's parametric detector: one lepton (e or mu) and >= 4 jets with "
                    "pT > 25 GeV and |eta| < 2.5, >= 2 of them b jets, at both levels. Both "
                    "levels of each event go into one file (docs/data-format.md, 'Paired "
                    "events'); events passing either selection are kept, with pass flags. "
                    "W bosons decay to quarks or to the chosen leptons (no taus). The same "
                    "--events, --seed and --shard-size give the same events for any "
                    "--workers. Finished shards are kept in OUT.parts/ until the file is "
                    "written: rerun the same command after a crash to make only the missing "
                    "ones.")
    ttbar.add_argument("--events", type=positive_int, required=True,
                       help="paired events to write (passing either level)")
    ttbar.add_argument("--detector", nargs="?", const=DEFAULT_CARD, default=DEFAULT_CARD,
                       metavar="CARD",
                       help="YAML detector card (default: the ATLAS-like card, "
                            "src/lhcgen/physics/detector/cards/atlas_like.yaml)")
    ttbar.add_argument("--lepton", choices=("e", "mu", "emu"), default="emu",
                       help="lepton flavour of the selection and of the leptonic W decays: "
                            "e, mu or emu (either; default)")
    _add_seed_and_workers(ttbar)
    ttbar.add_argument("--shard-size", type=positive_int, default=PAIRED_SHARD_SIZE,
                       help=f"paired events per shard (part of the seed scheme; default "
                            f"{PAIRED_SHARD_SIZE})")
    ttbar.add_argument("--out", required=True, help="output HDF5 file")
    add_scheduler_option(ttbar)
    add_no_progress(ttbar)
    ttbar.set_defaults(handler=run_ttbar)


def _add_jets(data_sub: Any) -> None:
    from lhcgen.data.jet_file import SHARD_SIZE
    from lhcgen.data.jets import JetSettings

    d = JetSettings()
    jets = data_sub.add_parser(
        "jets", help="JetNet-style g/q/t/w/z jets as particle clouds at 13 TeV",
        description="Generate JetNet-style jets (pT ~ 1 TeV, anti-kT R=0.8) with Pythia 8 and "
                    "FastJet; see docs/data-format.md ('Jets as particle clouds'). The same "
                    "--jets, --seed and --shard-size give the same jets for any --workers.")
    jets.add_argument("--type", required=True, choices=JET_TYPE_CHOICES, dest="jet_type",
                      help="g (gluon), q (light quark), t (top), w or z")
    jets.add_argument("--particles", type=int, choices=PARTICLE_CHOICES, default=d.n_particles,
                      help=f"constituents kept per jet (zero-padded; default {d.n_particles})")
    jets.add_argument("--jets", type=positive_int, required=True, dest="n_jets",
                      help="accepted jets to write")
    jets.add_argument("--jets-per-event", type=positive_int, default=d.jets_per_event,
                      choices=(1, 2),
                      help="leading jets of each event that may be kept: 1 as JetNet "
                           "(default), or 2 (twice the jets per Pythia event, but the two "
                           "jets of an event are correlated)")
    _add_seed_and_workers(jets)
    jets.add_argument("--shard-size", type=positive_int, default=SHARD_SIZE,
                      help=f"accepted jets per shard (part of the seed scheme; default "
                           f"{SHARD_SIZE})")
    jets.add_argument("--out", required=True, help="output HDF5 file")
    add_scheduler_option(jets)
    add_no_progress(jets)
    jets.set_defaults(handler=run_jets)


def _add_import_hepmc(data_sub: Any) -> None:
    from lhcgen.data.jets import JetSettings

    d = JetSettings()
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
    hepmc.add_argument("--particles", type=int, choices=PARTICLE_CHOICES,
                       default=d.n_particles,
                       help="--process jets: constituents kept per jet")
    hepmc.add_argument("--jets-per-event", type=positive_int, default=d.jets_per_event,
                       choices=(1, 2),
                       help="--process jets: leading jets of each event that may be kept")
    hepmc.add_argument("--events", type=positive_int, default=None,
                       help="read only the first N events (default all)")
    hepmc.add_argument("--out", required=True, help="output HDF5 file")
    add_no_progress(hepmc)
    hepmc.set_defaults(handler=run_import_hepmc)


def _add_merge_jets(data_sub: Any) -> None:
    merge = data_sub.add_parser(
        "merge-jets", help="join jet files (e.g. one per type) into one training file",
        description="Concatenate jet files of one selection and particle count (for example "
                    "g, q, t, w and z jets from `lhcgen data jets`) into one file, to train "
                    "one conditional generator of several jet types.")
    merge.add_argument("inputs", nargs="+", help="jet files to join, in this order")
    merge.add_argument("--out", required=True, help="output HDF5 file")
    add_no_progress(merge)
    merge.set_defaults(handler=run_merge_jets)


def _add_import_jetnet(data_sub: Any) -> None:
    imp = data_sub.add_parser(
        "import-jetnet", help="convert a JetNet HDF5 file to lhcgen's jet schema",
        description="Convert a JetNet file (particle_features, jet_features; e.g. t.hdf5 or "
                    "t150.hdf5) to lhcgen's jet file.")
    imp.add_argument("jetnet_file", help="JetNet HDF5 file")
    imp.add_argument("--out", required=True, help="output HDF5 file")
    imp.add_argument("--type", choices=JET_TYPE_CHOICES, default=None, dest="jet_type",
                     help="jet type (default: from the file name, as jetnet does)")
    add_no_progress(imp)
    imp.set_defaults(handler=run_import_jetnet)


def _card_path(value: str) -> str | None:
    return None if value == DEFAULT_CARD else value


def _print_paired(attrs: dict, out: str, workers: int) -> None:
    flow = attrs["cut_flow"]
    particle = flow["passed_particle_only"] + flow["passed_both"]
    detector = flow["passed_detector_only"] + flow["passed_both"]
    print(f"wrote {particle + detector - flow['passed_both']} paired events ({particle} pass "
          f"the particle level, {detector} the detector level, {flow['passed_both']} both; "
          f"{flow['generated']} generated) to {out} in {attrs['generation_seconds']:.1f} s "
          f"({attrs['accepted_events_per_second']:.1f} events/s on {workers} worker(s))")


def run_ttbar(args: argparse.Namespace) -> int:
    from lhcgen.data.paired_file import make_paired_file

    attrs = make_paired_file("ttbar", args.events, args.seed, args.workers, args.out,
                             _card_path(args.detector), args.lepton, args.shard_size,
                             progress(args), args.scheduler)
    _print_paired(attrs, args.out, args.workers)
    return 0


def run_zjets(args: argparse.Namespace) -> int:
    from lhcgen.data.zjets_file import make_zjets_file

    if args.detector is not None:
        from lhcgen.data.paired_file import SHARD_SIZE, make_paired_file
        from lhcgen.errors import LhcgenError

        if args.lhe or args.hard_process or args.pthat_min is not None:
            raise LhcgenError("--detector pairs Pythia's own inclusive Z events; it cannot be "
                              "combined with --lhe, --hard-process or --pthat-min")
        if args.events is None:
            raise LhcgenError("--events is required (paired events to write)")
        attrs = make_paired_file("zjets", args.events, args.seed, args.workers, args.out,
                                 _card_path(args.detector), "emu",
                                 args.shard_size or SHARD_SIZE, progress(args),
                                 args.scheduler)
        _print_paired(attrs, args.out, args.workers)
        return 0

    attrs = make_zjets_file(args.events, args.seed, args.workers, args.out, args.shard_size,
                            progress(args), args.scheduler, args.lhe, args.pthat_min,
                            args.hard_process)
    source = f" from {args.lhe}" if args.lhe else ""
    print(f"wrote {attrs['n_accepted']} events{source} to {args.out} in "
          f"{attrs['generation_seconds']:.1f} s ({attrs['accepted_events_per_second']:.1f} "
          f"accepted events/s on {args.workers} worker(s))")
    return 0


def run_jets(args: argparse.Namespace) -> int:
    from lhcgen.data.jet_file import make_jets_file
    from lhcgen.data.jets import JetSettings

    settings = JetSettings(jet_type=args.jet_type, n_particles=args.particles,
                           jets_per_event=args.jets_per_event)
    attrs = make_jets_file(args.n_jets, args.seed, settings, args.workers, args.out,
                           args.shard_size, progress(args), args.scheduler)
    print(f"wrote {attrs['n_jets']} {args.jet_type} jets ({args.particles} particles) to "
          f"{args.out} in {attrs['generation_seconds']:.1f} s "
          f"({attrs['accepted_jets_per_second']:.1f} jets/s on {args.workers} worker(s))")
    return 0


def run_import_hepmc(args: argparse.Namespace) -> int:
    from lhcgen.data.jet_file import import_hepmc_file
    from lhcgen.data.jets import JetSettings

    settings = None
    if args.hepmc_process == "jets" and args.jet_type is not None:
        settings = JetSettings(jet_type=args.jet_type, n_particles=args.particles,
                               jets_per_event=args.jets_per_event)
    done = import_hepmc_file(args.hepmc_file, args.hepmc_process, args.out, settings,
                             args.events, progress(args))
    print(f"wrote {done['written']} {done['what']} from {done['n_generated']} events of "
          f"{args.hepmc_file} to {args.out}")
    return 0


def run_import_jetnet(args: argparse.Namespace) -> int:
    from lhcgen.data.jet_file import import_jetnet_file

    done = import_jetnet_file(args.jetnet_file, args.out, args.jet_type)
    print(f"wrote {done['written']} {done['type']} jets ({done['particles']} particles) "
          f"from {args.jetnet_file} to {args.out}")
    return 0


def run_merge_jets(args: argparse.Namespace) -> int:
    from lhcgen.data.jet_file import merge_jet_files

    done = merge_jet_files(args.inputs, args.out)
    print(f"wrote {done['written']} jets ({done['types']}) from {len(args.inputs)} files to "
          f"{args.out}")
    return 0
