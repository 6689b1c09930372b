"""Lookups of |eta| regions and (|eta|, pT) efficiency tables, vectorised over particles."""

from __future__ import annotations

import numpy as np

from lhcgen.physics.detector.card import EfficiencyTable


def region_index(upper_edges, abs_eta: np.ndarray) -> np.ndarray:
    """Index of the region (previous edge, upper_edges[i]] holding each |eta| (the first
    region starts at 0 and holds |eta| = 0); len(upper_edges) beyond the last edge."""
    return np.searchsorted(np.asarray(upper_edges, dtype=np.float64), abs_eta, side="left")


def table_efficiency(table: EfficiencyTable, abs_eta: np.ndarray, pt: np.ndarray) -> np.ndarray:
    """Efficiency of each (|eta|, pT in GeV) from ``table``: bins (low, high] in both, 0 at
    pT <= pt_edges[0] and beyond the last |eta| edge."""
    values = np.asarray(table.values, dtype=np.float64)
    eta_bin = region_index(table.abs_eta_edges[1:], abs_eta)
    pt_bin = np.searchsorted(np.asarray(table.pt_edges, dtype=np.float64), pt, side="left") - 1
    inside = (eta_bin < values.shape[0]) & (pt_bin >= 0)
    safe_eta = np.where(inside, eta_bin, 0)
    safe_pt = np.where(inside, pt_bin, 0)
    return np.where(inside, values[safe_eta, safe_pt], 0.0)
