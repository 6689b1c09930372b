"""Response, resolution and efficiency of every object type, b-tagging and MET.

All events of the file count, whatever their ``passed`` flags: the objects of both levels
are stored for every event. Jets are measured only in events whose detector-level jets are
all stored (detector ``n_jets_all == n_jets``): otherwise a particle-level jet's partner may
sit outside the stored slots, which would fake an inefficiency and, since the stored jets
are the leading ones, bias the response upwards. Particle-level objects outside the
detector acceptance (``cuts_detector`` attribute, where the file has one) are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.data.paired import B_JET, JET_TYPES, LIGHT_JET, MET, NEUTRINO, PairedSample
from lhcgen.evaluate.detector import stats
from lhcgen.evaluate.detector.matching import Matches
from lhcgen.physics import fourvectors as fv

KINDS = {"muon": ("muons", (13,)), "electron": ("electrons", (11,)),
         "jet": ("jets", JET_TYPES)}
"""Object types of the report: label and |object_type| codes."""
PT_EDGES = {
    "lepton": (5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0, 150.0,
               200.0, 300.0, 500.0, 1000.0),
    "jet": (10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 75.0, 100.0, 150.0, 200.0, 300.0,
            500.0, 1000.0, 2000.0),
    "met": (0.0, 10.0, 20.0, 30.0, 40.0, 60.0, 80.0, 100.0, 150.0, 200.0, 300.0, 500.0,
            1000.0),
}
ETA_EDGES = (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0)
HEADLINE_JET_BIN = (50.0, 100.0)


@dataclass(frozen=True)
class Pairs:
    """Particle-level objects of one type, flat over events, and their detector partners.

    ``reco`` and ``reco_type`` are zero where ``matched`` is false."""

    truth: np.ndarray
    reco: np.ndarray
    matched: np.ndarray
    truth_type: np.ndarray
    reco_type: np.ndarray
    weight: np.ndarray

    @property
    def truth_pt(self) -> np.ndarray:
        return fv.pt(self.truth)

    @property
    def truth_abs_eta(self) -> np.ndarray:
        return np.abs(fv.eta(self.truth))


def detector_acceptance(attrs: dict) -> dict | None:
    """The detector-level cuts of the file (``cuts_detector``, or the 'detector' part of a
    cuts mapping), None where the file records none."""
    cuts = attrs.get("cuts_detector")
    if isinstance(cuts, dict) and isinstance(cuts.get("detector"), dict):
        cuts = cuts["detector"]
    if not isinstance(cuts, dict):
        return None
    keys = ("lepton_pt_min", "lepton_abs_eta_max", "jet_pt_min", "jet_abs_eta_max")
    if not all(isinstance(cuts.get(k), (int, float)) for k in keys):
        return None
    return {k: float(cuts[k]) for k in keys}


def collect(sample: PairedSample, matches: Matches, kind: str) -> tuple[Pairs, dict]:
    """The particle-level objects of ``kind`` that count, and what was left out."""
    particle, detector = sample.particle, sample.detector
    codes = KINDS[kind][1]
    select = np.isin(np.abs(particle.object_type), codes) & particle.mask
    n_all = int(select.sum())
    info = {"n_particle_objects": n_all}
    if kind == "jet":
        truncated = detector.n_jets_all > detector.n_jets
        info["n_left_out_detector_truncated"] = int((select & truncated[:, None]).sum())
        select &= ~truncated[:, None]
    cuts = detector_acceptance(sample.attrs)
    if cuts is not None:
        prefix = "jet" if kind == "jet" else "lepton"
        p4 = particle.momenta
        inside = ((fv.pt(p4) > cuts[f"{prefix}_pt_min"])
                  & (np.abs(fv.eta(p4)) < cuts[f"{prefix}_abs_eta_max"]))
        info["n_left_out_acceptance"] = int((select & ~inside).sum())
        select &= inside
    ev, slot = np.nonzero(select)
    partner = matches.index[ev, slot]
    matched = partner >= 0
    safe = np.where(matched, partner, 0)
    reco = np.where(matched[:, None], detector.momenta[ev, safe], 0.0)
    reco_type = np.where(matched, detector.object_type[ev, safe], 0)
    info["n_used"] = int(len(ev))
    return Pairs(particle.momenta[ev, slot], reco, matched, particle.object_type[ev, slot],
                 reco_type, sample.weights[ev]), info


def _pt_candidates(kind: str) -> tuple[float, ...]:
    return PT_EDGES["jet" if kind == "jet" else "lepton"]


def response_tables(pairs: Pairs, kind: str) -> dict:
    """Response and resolution of matched objects in bins of truth pT and of truth |eta|."""
    m = pairs.matched
    truth_pt = pairs.truth_pt[m]
    ratio = fv.pt(pairs.reco[m]) / truth_pt
    weight = pairs.weight[m]
    out = {"n_matched": int(m.sum()), "overall": stats.ratio_summary(ratio, weight)}
    for axis, x, candidates in (("pt", truth_pt, _pt_candidates(kind)),
                                ("abs_eta", pairs.truth_abs_eta[m], ETA_EDGES)):
        edges = stats.data_edges(candidates, x)
        out[axis] = None if edges is None else {
            "edges": edges.tolist(),
            "bins": stats.binned(x, edges, stats.ratio_summary, ratio, weight)}
    return out


def efficiency_tables(pairs: Pairs, kind: str) -> dict:
    """Fraction of particle-level objects with a detector-level match, vs truth pT, |eta|."""
    out = {"overall": stats.efficiency(pairs.matched, pairs.weight)}
    for axis, x, candidates in (("pt", pairs.truth_pt, _pt_candidates(kind)),
                                ("abs_eta", pairs.truth_abs_eta, ETA_EDGES)):
        edges = stats.data_edges(candidates, x)
        out[axis] = None if edges is None else {
            "edges": edges.tolist(),
            "bins": stats.binned(x, edges, stats.efficiency, pairs.matched, pairs.weight)}
    return out


def btag_tables(jets: Pairs) -> dict:
    """b-tag efficiency (matched particle-level b jets tagged at detector level) and mistag
    rate (matched particle-level light jets tagged), overall and vs truth pT."""
    out = {}
    for name, code in (("efficiency", B_JET), ("mistag", LIGHT_JET)):
        use = jets.matched & (jets.truth_type == code)
        tagged = jets.reco_type[use] == B_JET
        x, w = jets.truth_pt[use], jets.weight[use]
        edges = stats.data_edges(PT_EDGES["jet"], x)
        out[name] = {"overall": stats.efficiency(tagged, w), "pt": None if edges is None else {
            "edges": edges.tolist(), "bins": stats.binned(x, edges, stats.efficiency,
                                                          tagged, w)}}
    return out


def angular_tables(jets: Pairs) -> dict:
    """Angular resolution of matched jets in bins of truth pT: reco - truth of eta, phi."""
    m = jets.matched
    x, w = jets.truth_pt[m], jets.weight[m]
    d_eta = fv.delta_eta(jets.reco[m], jets.truth[m])
    d_phi = fv.delta_phi(jets.reco[m], jets.truth[m])
    edges = stats.data_edges(PT_EDGES["jet"], x)
    if edges is None:
        return {"eta": None, "phi": None}
    return {name: {"overall": stats.spread_summary(d, w), "pt": {
        "edges": edges.tolist(), "bins": stats.binned(x, edges, stats.spread_summary, d, w)}}
        for name, d in (("eta", d_eta), ("phi", d_phi))}


def headline_jet_bin(jets: Pairs, low: float = HEADLINE_JET_BIN[0],
                     high: float = HEADLINE_JET_BIN[1]) -> dict:
    """Jet response and resolution for truth pT in [low, high) GeV."""
    m = jets.matched
    pt = jets.truth_pt[m]
    inside = (pt >= low) & (pt < high)
    ratio = fv.pt(jets.reco[m][inside]) / pt[inside]
    return {"low_edge": low, "high_edge": high,
            **stats.ratio_summary(ratio, jets.weight[m][inside])}


def met_tables(sample: PairedSample) -> dict:
    """MET against the particle-level neutrino sum in bins of its pT; skipped (with the
    reason) where the particle level has no neutrino slot."""
    p, d = sample.particle, sample.detector
    nu = (p.object_type == NEUTRINO)
    met = (d.object_type == MET)
    if not nu.any():
        return {"skipped": "the particle level has no neutrino slot (nothing to compare "
                           "the missing transverse momentum with)"}
    if not met.any():
        return {"skipped": "the detector level has no missing-pT slot"}
    both = nu.any(axis=1) & met.any(axis=1)
    truth = p.momenta[both, np.argmax(nu[both], axis=1)]
    reco = d.momenta[both, np.argmax(met[both], axis=1)]
    truth_pt = fv.pt(truth)
    keep = truth_pt > 0
    truth_pt, ratio = truth_pt[keep], fv.pt(reco[keep]) / truth_pt[keep]
    d_phi = fv.delta_phi(reco[keep], truth[keep])
    w = sample.weights[both][keep]
    edges = stats.data_edges(PT_EDGES["met"], truth_pt)
    return {"n_events": int(keep.sum()), "overall": stats.ratio_summary(ratio, w),
            "pt": None if edges is None else {
                "edges": edges.tolist(),
                "bins": stats.binned(truth_pt, edges, stats.ratio_summary, ratio, w)},
            "phi": stats.spread_summary(d_phi, w)}
