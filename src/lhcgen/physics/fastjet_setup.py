"""FastJet prints a banner once per process; lhcgen sends it to /dev/null."""

from __future__ import annotations

import awkward as ak
import fastjet

from lhcgen.io import stdout_to_devnull

_BANNER_SHOWN = False


def silence_fastjet_banner() -> None:
    """Let FastJet print its once-per-process banner into /dev/null."""
    global _BANNER_SHOWN
    if _BANNER_SHOWN:
        return
    one_particle = ak.Array([[{"px": 30.0, "py": 0.0, "pz": 0.0, "E": 30.0}]])
    with stdout_to_devnull():
        jet_def = fastjet.JetDefinition(fastjet.antikt_algorithm, 0.4)
        fastjet.ClusterSequence(one_particle, jet_def).inclusive_jets()
    _BANNER_SHOWN = True
