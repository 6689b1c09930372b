"""The observables of the Z(->mumu)+jets report and their axes."""

from __future__ import annotations

from itertools import combinations

import numpy as np

from lhcgen.physics import fourvectors as fv
from lhcgen.physics.events import Events
from lhcgen.physics.observables import (
    FEATURES,
    Axis,
    Computed,
    Observable,
    axis_label,
    multiplicity,
    object_feature,
    object_pair,
)

TEX = {"mu1": r"\mu_1", "mu2": r"\mu_2", "j1": "j_1", "j2": "j_2", "j3": "j_3"}


def dimuon(sample: Events) -> np.ndarray:
    """Four-momentum of the muon pair (slots 0 and 1)."""
    return sample.momenta[:, 0] + sample.momenta[:, 1]


def m_mumu(sample: Events) -> Computed:
    return fv.mass(dimuon(sample)), np.ones(len(sample), bool)


def pt_z(sample: Events) -> Computed:
    return fv.pt(dimuon(sample)), np.ones(len(sample), bool)


ZJETS_AXES = {
    "pt_mu": Axis(low=20.0), "pt_j": Axis(low=20.0), "eta_mu": Axis(-2.5, 2.5),
    "eta_j": Axis(-4.5, 4.5),
    "m_j": Axis(low=0.0), "m_mumu": Axis(70.0, 110.0, 1.0), "pt_z": Axis(low=0.0),
    "delta_r": Axis(low=0.0),
}
"""Axes of the Z+jets observables, by name prefix: the selection cuts (muon and jet pT above
20 GeV, muon |eta| < 2.5) as the lower ends, so the bins at the threshold show what a
generator does there; m_mumu in 1 GeV bins over 70-110 GeV, where the Z peak (about 2.5 GeV
wide) lives; Delta R from 0, so jets generated closer than the R = 0.4 of the clustering
show. The rest span the 0.1-99.9 % quantiles of the reference sample."""


def zjets_axis(name: str) -> Axis:
    """The axis of a Z+jets observable (:data:`ZJETS_AXES`, longest matching prefix)."""
    matches = [prefix for prefix in ZJETS_AXES if name.startswith(prefix)]
    return ZJETS_AXES[max(matches, key=len)] if matches else Axis()


def zjets_observables(object_names=("mu1", "mu2", "j1", "j2", "j3")) -> list[Observable]:
    """All observables of the Z+jets report: per object pT/eta/phi/m (muon masses are fixed
    and left out), m_mumu, pT of the Z, jet-pair delta R/eta/phi, jet multiplicity."""
    out: list[Observable] = []
    for slot, name in enumerate(object_names):
        tex = TEX.get(name, name)
        for feature, (_, symbol, unit) in FEATURES.items():
            if feature == "m" and name.startswith("mu"):
                continue
            full = f"{feature}_{name}"
            out.append(Observable(full, axis_label(symbol % tex, unit),
                                  object_feature(slot, feature), periodic=feature == "phi",
                                  axis=zjets_axis(full)))
    out.append(Observable("m_mumu", axis_label(r"m_{\mu\mu}", "GeV"), m_mumu,
                          axis=zjets_axis("m_mumu")))
    out.append(Observable("pt_z", axis_label(r"p_{T,\mu\mu}", "GeV"), pt_z,
                          axis=zjets_axis("pt_z")))
    jets = [(slot, name) for slot, name in enumerate(object_names) if name.startswith("j")]
    for (sa, na), (sb, nb) in combinations(jets, 2):
        pair = f"{TEX[na]}{TEX[nb]}" if na in TEX and nb in TEX else f"{na}{nb}"
        for quantity, symbol in (("delta_r", r"\Delta R"), ("delta_eta", r"\Delta\eta"),
                                 ("delta_phi", r"\Delta\phi")):
            full = f"{quantity}_{na}{nb}"
            out.append(Observable(full, axis_label(f"{symbol}_{{{pair}}}", ""),
                                  object_pair(sa, sb, quantity), periodic=quantity == "delta_phi",
                                  axis=zjets_axis(full)))
    out.append(Observable("n_jets", "jet multiplicity", multiplicity, discrete=True))
    return out
