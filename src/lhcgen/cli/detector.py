"""`lhcgen detector`: the detector report of a paired particle/detector file."""

from __future__ import annotations

import argparse
from typing import Any

from lhcgen.cli.args import add_no_progress, progress

DESCRIPTION = """\
Compare the detector level of a paired file (lhcgen's parametric detector or an imported
Delphes file) with its particle level, event by event. Particle-level leptons are matched
to detector leptons of the same flavour within Delta R < 0.1, jets to jets within
Delta R < 0.2 (greedy, each object once). The report gives, per object type (muons,
electrons, jets) in bins of particle-level pT and |eta|: the response (median of
pT(det)/pT(ptcl)), the resolution (half the 16-84 % range of that ratio, a robust sigma),
the reconstruction efficiency (Clopper-Pearson interval); the jets' angular resolution;
the b-tag efficiency and mistag rate; MET against the neutrino sum (where the particle
level has one); the jet-multiplicity migration matrix with purity and stability; and the
table of events passing the particle / detector selections (inefficiencies and fakes).

Writes REPORT/detector.json (every number), detector.md (tables), index.html (figures and
tables, self-contained) and the PNGs; the folder is replaced only when all is written."""


def add_parsers(sub: Any) -> None:
    detector = sub.add_parser(
        "detector", help="detector report of a paired file: response, resolution, "
                         "efficiency, migration",
        description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example: lhcgen detector data/paired/ttbar_paired.h5 --report reports/detector")
    detector.add_argument("paired", metavar="PAIRED.h5",
                          help="paired particle/detector HDF5 file (docs/data-format.md, "
                               "'Paired events')")
    detector.add_argument("--report", required=True, metavar="DIR",
                          help="report directory (replaced if it exists)")
    add_no_progress(detector)
    detector.set_defaults(handler=run_detector)


def run_detector(args: argparse.Namespace) -> int:
    from lhcgen.evaluate.detector.report import detector_report, format_headline

    metrics = detector_report(args.paired, args.report, progress(args))
    print(format_headline(metrics, args.report))
    return 0
