"""b-tagging: a jet is tagged with a probability set by its true flavour, pT and |eta|
(Delphes' BTagging module; the jet flavour comes from the B/C hadrons it contains)."""

from __future__ import annotations

import numpy as np

from lhcgen.physics.detector.card import BTagCurve, BTagging, DetectorCard

B_FLAVOUR, C_FLAVOUR, LIGHT_FLAVOUR = 5, 4, 0
"""Jet flavour codes: a b hadron, else a c hadron, else light."""


def curve_efficiency(pt: np.ndarray, curve: BTagCurve) -> np.ndarray:
    """offset + slope pT + norm tanh(rate pT) scale / (1 + decay pT), clipped to [0, 1];
    pT in GeV."""
    pt = np.asarray(pt, dtype=np.float64)
    value = (curve.offset + curve.slope * pt
             + curve.norm * np.tanh(curve.rate * pt) * curve.scale / (1.0 + curve.decay * pt))
    return np.clip(value, 0.0, 1.0)


def btag_efficiency(pt: np.ndarray, eta: np.ndarray, flavour: np.ndarray,
                    card: DetectorCard | BTagging) -> np.ndarray:
    """Tag probability of jets of pT (GeV), eta and true ``flavour`` (5 b, 4 c, anything
    else light); 0 beyond |eta| abs_eta_max. ``card``: the detector card or its btag
    section."""
    card = card.btag if isinstance(card, DetectorCard) else card
    pt = np.asarray(pt, dtype=np.float64)
    flavour = np.asarray(flavour)
    efficiency = np.where(flavour == B_FLAVOUR, curve_efficiency(pt, card.b),
                          np.where(flavour == C_FLAVOUR, curve_efficiency(pt, card.c),
                                   curve_efficiency(pt, card.light)))
    return np.where(np.abs(eta) <= card.abs_eta_max, efficiency, 0.0)


def btag(pt: np.ndarray, eta: np.ndarray, flavour: np.ndarray, card: DetectorCard | BTagging,
         rng: np.random.Generator) -> np.ndarray:
    """(J,) bool: which jets are b-tagged (one uniform number per jet)."""
    efficiency = btag_efficiency(pt, eta, flavour, card)
    return rng.random(efficiency.shape) < efficiency
