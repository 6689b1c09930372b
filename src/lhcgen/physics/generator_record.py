"""Facts about particles of a generator record: hadrons, heavy flavour, and whether a
particle descends from a hadron or a tau (the "prompt" test of particle-level definitions).
Plain functions of PDG ids and mother indices, shared by the Pythia and Delphes readers."""

from __future__ import annotations

import numpy as np

from lhcgen.errors import LhcgenError

MAX_ANCESTRY_DEPTH = 500
"""Generations followed up a record; a longer chain means a broken (cyclic) record."""


def is_hadron(pid: np.ndarray) -> np.ndarray:
    """PDG ids of mesons and baryons (not quarks, leptons, bosons, diquarks or nuclei)."""
    a = np.abs(pid)
    return (a >= 100) & (a < 1_000_000) & ((a // 10) % 10 > 0)


def heavy_flavour(pid: np.ndarray) -> np.ndarray:
    """5 for hadrons with a b quark, 4 for hadrons with a c quark (and no b), else 0."""
    a = np.abs(np.asarray(pid))
    quarks = np.stack([(a // 1000) % 10, (a // 100) % 10, (a // 10) % 10], axis=-1)
    meson = (a // 1000) % 10 == 0
    # Mesons: quark digits n_q2 n_q3; baryons: n_q1 n_q2 n_q3.
    relevant = np.where(meson[..., None], quarks * [0, 1, 1], quarks)
    hadron = is_hadron(a)
    has_b = hadron & np.any(relevant == 5, axis=-1)
    has_c = hadron & np.any(relevant == 4, axis=-1)
    return np.where(has_b, 5, np.where(has_c, 4, 0))


def no_ancestor_among(marker: np.ndarray, mother: np.ndarray, index: np.ndarray
                      ) -> np.ndarray:
    """For the particles ``index``: is no ancestor (followed through ``mother``, the flat
    index of the first mother, -1 at the top) flagged in ``marker``?"""
    current = mother[index]
    clean = np.ones(len(index), bool)
    for _ in range(MAX_ANCESTRY_DEPTH):
        alive = current >= 0
        if not alive.any():
            return clean
        clean[alive] &= ~marker[current[alive]]
        current = np.where(alive & clean, mother[np.maximum(current, 0)], -1)
    raise LhcgenError(f"a particle's ancestry is longer than {MAX_ANCESTRY_DEPTH} "
                      "generations; the event record looks broken")
