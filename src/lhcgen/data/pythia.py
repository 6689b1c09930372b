"""Starting a silent, seeded Pythia 8 instance from a list of setting strings."""

from __future__ import annotations

import pythia8mc

from lhcgen.errors import LhcgenError

PYTHIA_SEED_MAX = 900_000_000
"""Pythia accepts Random:seed in 1..900000000."""

RUN_SETTINGS = ("Random:setSeed = on", "Random:seed = <shard seed>", "Next:numberCount = 0",
                "Print:quiet = on")
"""The setting strings lhcgen adds to every process's own (the seed differs per shard)."""


def start_pythia(settings: list[str], seed: int, what: str) -> pythia8mc.Pythia:
    """An initialised Pythia for the process ``what`` with ``seed`` in 1..900000000.

    Every rejected setting and a failed initialisation are one-line LhcgenErrors.
    """
    if not 1 <= seed <= PYTHIA_SEED_MAX:
        raise LhcgenError(f"Pythia seed must be in 1..{PYTHIA_SEED_MAX}, got {seed}")
    pythia = pythia8mc.Pythia("", False)
    run = [line.replace("<shard seed>", str(seed)) for line in RUN_SETTINGS]
    lines = [*settings, *run]
    for line in lines:
        if not pythia.readString(line):
            raise LhcgenError(f"Pythia rejected the setting '{line}'")
    if not pythia.init():
        raise LhcgenError(f"Pythia initialisation failed for the {what} settings")
    return pythia


MB_TO_PB = 1.0e9
"""Pythia quotes cross sections in mb; the event files use pb."""


def run_facts(pythia: pythia8mc.Pythia) -> dict:
    """What a finished Pythia run reports: failed and all next() calls, the generated cross
    section in pb with its error, and the tune and PDF set actually used."""
    info = pythia.infoPython()
    return {"pythia_errors": int(info.getCounter(3) - info.getCounter(4)),
            "pythia_next_calls": int(info.getCounter(3)),
            "sigma_gen_pb": float(info.sigmaGen()) * MB_TO_PB,
            "sigma_err_pb": float(info.sigmaErr()) * MB_TO_PB,
            "tune_pp": int(pythia.settings.mode("Tune:pp")),
            "pdf_pset": str(pythia.settings.word("PDF:pSet"))}
