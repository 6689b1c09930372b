"""Jets whose stored constituents, taken massless, are heavier than the jet.

No real jet's are (``lhcgen.physics.particle_cloud.bound_cloud_mass``: massless constituents,
and fewer of them, make a lighter sum), so in a generated file each such jet is a generator
error that the JetNet metrics only see through the mass distribution. ``lhcgen sample``
records how many it made (and brings them to the bound with ``--bound-mass``); this counts
them in any file, a truth file included (where it must find none).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from lhcgen.data.jets import JET_FEATURES, JetCloudSample
from lhcgen.physics.particle_cloud import cloud_mass_share

HEAVIER_TOLERANCE = 1e-4
"""A jet counts where its constituents' mass exceeds the jet mass by more than this fraction:
above the rounding of a jet brought to the bound and stored in float32."""


@dataclass(frozen=True)
class HeavierThanJet:
    n_jets: int
    """Jets with a positive, finite jet mass and pT (the others cannot be judged)."""
    n_heavier: int
    """Of those, the jets whose constituents' mass over the jet mass exceeds 1 + tolerance."""
    largest_ratio: float
    """The largest constituents' mass over the jet mass (NaN without jets to judge)."""

    def as_dict(self) -> dict:
        return asdict(self)


def heavier_than_jet(jets: JetCloudSample) -> HeavierThanJet:
    """Count the jets of ``jets`` whose stored constituents, summed as massless four-vectors,
    are heavier than the jet mass of the file's jet features."""
    pt, mass = (jets.jets[:, JET_FEATURES.index(k)] for k in ("pt", "mass"))
    judged = np.isfinite(pt) & np.isfinite(mass) & (pt > 0) & (mass > 0)
    ratio = cloud_mass_share(jets.particles, jets.mask, pt, mass)[judged]
    return HeavierThanJet(int(judged.sum()), int((ratio > 1.0 + HEAVIER_TOLERANCE).sum()),
                          float(ratio.max()) if len(ratio) else float("nan"))
