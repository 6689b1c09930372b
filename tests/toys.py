"""Toy Z+jets samples (fast, no Pythia) with fixed seeds, for tests."""

from __future__ import annotations

import numpy as np

from lhcgen.data.events import ZJETS_OBJECTS, EventSample
from lhcgen.physics.fourvectors import from_pt_eta_phi_m


def toy_zjets(n: int, seed: int = 0) -> EventSample:
    """Events with the Z+jets layout and cuts: pT-ordered muons and jets above 20 GeV."""
    rng = np.random.default_rng(seed)
    mult = rng.choice([1, 2, 3], size=n, p=[0.6, 0.3, 0.1])
    pt = 20.0 + rng.exponential(25.0, size=(n, 5))
    pt[:, :2] = -np.sort(-pt[:, :2], axis=1)
    pt[:, 2:] = -np.sort(-pt[:, 2:], axis=1)
    eta = np.concatenate([rng.uniform(-2.4, 2.4, (n, 2)), rng.normal(0, 1.5, (n, 3))], axis=1)
    phi = rng.uniform(-np.pi, np.pi, (n, 5))
    phi[:, 2] = phi[:, 0] + np.pi + rng.normal(0, 0.3, n)
    m = np.concatenate([np.full((n, 2), 0.1056583755), 3 + rng.exponential(4.0, (n, 3))], 1)
    momenta = from_pt_eta_phi_m(pt, eta, phi, m)
    mask = np.arange(5)[None, :] < 2 + mult[:, None]
    momenta[~mask] = 0.0
    attrs = {"process": "zjets", "object_names": list(ZJETS_OBJECTS), "n_fixed_objects": 2}
    return EventSample(momenta, mask, mult, np.ones(n), attrs)
