"""Three-panel histograms of jet substructure (truth vs generated jets as particle clouds).

Observables: jet mass (relative, m/pT, from the stored constituents, as JetNet's W1m sees
it), tau21, tau32, D2 and the number of stored constituents (lhcgen.physics.substructure).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from lhcgen.evaluate.figures import REFERENCE, three_panel
from lhcgen.evaluate.histograms import binning, histogram, normalised

OBSERVABLES = (
    ("relative_mass", r"$m_\mathrm{jet}/p_{T,\mathrm{jet}}$", False),
    ("tau21", r"$\tau_{21}$", False),
    ("tau32", r"$\tau_{32}$", False),
    ("d2", r"$D_2^{(\beta=1)}$", False),
    ("multiplicity", r"stored constituents $N$", True),
)


def jet_substructure_plots(truth: dict[str, np.ndarray], generated: dict[str, np.ndarray],
                           out_dir: str | os.PathLike, n_bins: int = 40) -> list[str]:
    """Write one PNG per observable; ``truth`` and ``generated`` are ``substructure()`` dicts.

    Returns the file names written.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = []
    for key, label, discrete in OBSERVABLES:
        t = np.asarray(truth[key], dtype=np.float64)
        g = np.asarray(generated[key], dtype=np.float64)
        g = g[np.isfinite(g)]
        edges = binning(t, np.ones_like(t), n_bins=n_bins, discrete=discrete)
        curves = {REFERENCE: normalised(*histogram(t, np.ones_like(t), edges), edges),
                  "generated": normalised(*histogram(g, np.ones_like(g), edges), edges)}
        name = f"jet_{key}.png"
        three_panel(edges, curves, label, out / name)
        names.append(name)
    return names


def write_substructure_plots(generated_path, truth_path, out_dir) -> dict:
    """Read two jet files, compute their substructure, plot it; returns {dir, files}."""
    from lhcgen.data.jet_hdf5 import read_jets
    from lhcgen.physics.substructure import substructure

    gen, truth = read_jets(generated_path), read_jets(truth_path)
    files = jet_substructure_plots(substructure(truth.particles, truth.mask),
                                   substructure(gen.particles, gen.mask), out_dir)
    return {"dir": str(out_dir), "files": files}
