"""Input features of the classifier two-sample test, computed from the momenta by physics/.

The reference setup (DESIGN.md, "Classifier test and reweighting"; arXiv:2305.16774) feeds
the classifier every object's (pT, eta, phi, m), the angular distance Delta R of every object
pair, m_mumu and the pT of the Z: derived observables in which generator defects (a smeared Z
peak, violated Delta R cuts) show at once, not only the network's own coordinates.

Feature layout for ``n`` object slots, in this order:

- ``pt_<o>``, ``eta_<o>``, ``phi_<o>``, ``m_<o>`` for each object ``o`` (GeV for pT and m).
  Muon masses (objects named ``mu*``) are left out: they are the constant on-shell mass, and
  a constant carries no information (as in :func:`lhcgen.physics.observables.zjets_observables`).
- ``delta_r_<a><b>`` for every object pair a < b in slot order.
- ``m_mumu`` and ``pt_z`` (GeV), the dimuon mass and pT, when slots 0 and 1 are muons.
- ``n_jets``, the event's multiplicity.

Absent objects (padded jet slots) get the fixed sentinel :data:`PAD_VALUE` = 0 in every
feature that involves them. Zero is outside the physical range of pT, m and Delta R (cuts
pT > 20 GeV and Delta R_jj > 0.4), and where it coincides with a physical value (eta = 0,
phi = 0) the ``n_jets`` feature tells the classifier which slots are filled. The matrix keeps
physical units (for describing events); :func:`network_inputs` maps the steeply falling
momenta and masses to log(1 + x) for the network, and the classifier standardises the result
on its training split.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np

from lhcgen.data.events import EventSample
from lhcgen.errors import LhcgenError
from lhcgen.physics import fourvectors as fv
from lhcgen.processes.base import Process

PAD_VALUE = 0.0
"""Value of every feature that involves an absent (padded) object."""

LOG_SCALED_PREFIXES = ("pt_", "m_")
"""Features (pT of objects and of the Z, masses, m_mumu) fed to the network as log(1 + x)."""

PER_OBJECT = (("pt", fv.pt), ("eta", fv.eta), ("phi", fv.phi), ("m", fv.mass))


@dataclass(frozen=True)
class ClassifierFeatures:
    """The classifier's input matrix and what each column is.

    Attributes:
        values: (N, F) float64, features in physical units, :data:`PAD_VALUE` where undefined.
        names: F feature names (``pt_j1``, ``delta_r_mu1j2``, ``m_mumu``, ``n_jets``, ...).
        defined: (N, F) bool, where the feature exists (False where it is the sentinel for an
            absent object); use it to describe events, never to feed the classifier.
    """

    values: np.ndarray
    names: tuple[str, ...]
    defined: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    def subset(self, index: np.ndarray) -> ClassifierFeatures:
        return ClassifierFeatures(self.values[index], self.names, self.defined[index])


def classifier_features(sample: EventSample, process: Process) -> ClassifierFeatures:
    """The classifier's features of every event (see the module docstring for the layout).

    Parameters
    ----------
    sample : N events with P object slots; ``attrs["object_names"]`` names the objects.
    process : the events' process (processes/): constant masses and extra features.

    Returns
    -------
    ClassifierFeatures with values (N, F) float64, F = 4 P - (constant masses) + P (P - 1) / 2
    + (extra features) + 1.

    Raises
    ------
    LhcgenError if any feature or event weight is NaN or inf (the count of affected events is
    named; nothing is dropped silently).
    """
    names = sample.object_names
    p, mask = sample.momenta, sample.mask
    columns: list[np.ndarray] = []
    defined: list[np.ndarray] = []
    column_names: list[str] = []
    with np.errstate(invalid="ignore", over="ignore"):
        for slot, obj in enumerate(names):
            for feature, func in PER_OBJECT:
                if feature == "m" and obj in process.constant_mass_objects:
                    continue
                column_names.append(f"{feature}_{obj}")
                columns.append(np.where(mask[:, slot], func(p[:, slot]), PAD_VALUE))
                defined.append(mask[:, slot])
        for a, b in combinations(range(len(names)), 2):
            both = mask[:, a] & mask[:, b]
            column_names.append(f"delta_r_{names[a]}{names[b]}")
            columns.append(np.where(both, fv.delta_r(p[:, a], p[:, b]), PAD_VALUE))
            defined.append(both)
        for extra in process.extra_features(sample):
            column_names.append(extra.name)
            columns.append(np.where(extra.defined, extra.values, PAD_VALUE))
            defined.append(extra.defined)
    column_names.append("n_jets")
    columns.append(sample.multiplicity.astype(np.float64))
    defined.append(np.ones(len(sample), dtype=bool))

    values = np.stack(columns, axis=1).astype(np.float64)
    bad = (~np.isfinite(values).all(axis=1) | ~np.isfinite(p).all(axis=(1, 2))
           | ~np.isfinite(sample.weights))
    if bad.any():
        raise LhcgenError(f"{int(bad.sum())} of {len(sample)} events have NaN or inf in the "
                          "classifier inputs (momenta or weights); remove or fix them first")
    return ClassifierFeatures(values, tuple(column_names), np.stack(defined, axis=1))


def network_inputs(features: ClassifierFeatures) -> np.ndarray:
    """The classifier's input matrix: features with pT and masses as log(1 + x).

    Momenta and masses fall steeply (exponential-like tails); in log(1 + x) their bulk is
    resolved after standardisation and the tails do not dominate the scale. log(1 + x) keeps
    the sentinel 0 of absent objects at 0, far below log(1 + 20 GeV) ~ 3 of any real jet.

    Parameters
    ----------
    features : N events, F features.

    Returns
    -------
    (N, F) float64.
    """
    out = features.values.copy()
    columns = [i for i, name in enumerate(features.names) if name.startswith(LOG_SCALED_PREFIXES)]
    out[:, columns] = np.log1p(np.clip(out[:, columns], 0.0, None))
    return out
