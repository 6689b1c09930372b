"""`lhcgen data import-delphes`: a Delphes ROOT file to lhcgen's paired particle/detector
schema (library function: lhcgen.data.delphes.import_delphes)."""

from __future__ import annotations

import argparse
from typing import Any

from lhcgen.cli.args import add_no_progress, positive_int, progress

PROCESS_CHOICES = ("zjets", "ttbar")
LEPTON_CHOICES = ("e", "mu", "emu")


def add_import_delphes(data_sub: Any) -> None:
    """Add `import-delphes` to the subparsers of `lhcgen data`."""
    imp = data_sub.add_parser(
        "import-delphes",
        help="read a Delphes ROOT file into paired particle/detector events",
        description="Read the generator record (Particle, GenJet) and the reconstructed "
                    "objects (Electron, Muon, Jet, MissingET, Event.Weight) of a Delphes "
                    "tree into lhcgen's paired particle/detector schema, through the same "
                    "selection of both levels as lhcgen's own paired events (docs/"
                    "data-format.md, 'Paired events'); an event is kept when it passes "
                    "either level. Particle level: prompt e/mu dressed with photons within "
                    "Delta R < 0.1, the sum of the prompt neutrinos, and the file's GenJets "
                    "(those near a lepton in the acceptance removed), b-labelled by a B hadron "
                    "within Delta R < 0.4 of the axis (the stand-in for ghost association "
                    "that a Delphes file allows). Detector level: Delphes' leptons, jets "
                    "(b-tag: bit 0 of Jet.BTag) and missing pT. Branches spelt Muon.PT "
                    "(Delphes) or Muon_PT are both read. The Delphes card is not in the "
                    "tree and is not recorded.")
    imp.add_argument("delphes_file", help="Delphes ROOT file")
    imp.add_argument("--out", required=True, help="output paired HDF5 file")
    imp.add_argument("--process", choices=PROCESS_CHOICES, default="zjets",
                     dest="delphes_process",
                     help="zjets (default): Z(->mumu)+jets; ttbar: semi-leptonic ttbar "
                          "(one lepton, >= 4 jets of which >= 2 b jets)")
    imp.add_argument("--lepton", choices=LEPTON_CHOICES, default="emu",
                     help="--process ttbar: the lepton flavour of the selection (default "
                          "emu: e or mu)")
    imp.add_argument("--events", type=positive_int, default=None,
                     help="read only the first N events of the tree (default all)")
    imp.add_argument("--tree", default="Delphes", help="name of the tree (default Delphes)")
    add_no_progress(imp)
    imp.set_defaults(handler=run_import_delphes)


def run_import_delphes(args: argparse.Namespace) -> int:
    from lhcgen.data.delphes import import_delphes

    done = import_delphes(args.delphes_file, args.out, args.delphes_process, args.lepton,
                          args.events, args.tree, progress(args))
    dropped = (f"; {done['nonfinite_weight']} event(s) with a NaN or infinite weight left "
               "out" if done["nonfinite_weight"] else "")
    print(f"wrote {done['written']} paired events ({done['passed_particle']} pass particle "
          f"level, {done['passed_detector']} pass detector level, of "
          f"{done['events_read']} read) from {args.delphes_file} to {args.out}{dropped}")
    return 0
