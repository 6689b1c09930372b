"""The particle-level and detector-level selections of the paired processes.

Both levels of a process apply the same cuts to their own objects (docs/data-format.md,
"Paired events"): dressed prompt leptons, jets clustered from particles (particle level) or
from energy-flow objects (detector level), b jets by a ghost-associated B hadron (particle
level) or by the detector card's b-tagging (detector level).
"""

from __future__ import annotations

from dataclasses import dataclass

from lhcgen.data.paired import MET, NEUTRINO
from lhcgen.data.paired_selection import LevelCuts
from lhcgen.errors import LhcgenError


@dataclass(frozen=True)
class PairedCuts:
    """What a paired process stores and selects at each level.

    Attributes:
        process: the ``process`` attribute of its files.
        particle, detector: the selection of each level.
        lepton_names: names of the lepton slots.
        particle_missing: whether the particle level has a neutrino slot (the sum of the
            prompt neutrinos).
        prompt_leptons: particle-level leptons (and their dressing photons) must be prompt:
            no hadron or tau among their ancestors. Z+jets counts every final-state muon,
            as `lhcgen data zjets` does; ttbar only prompt ones (muons and electrons from
            b and c decays are common there).
    """

    process: str
    particle: LevelCuts
    detector: LevelCuts
    lepton_names: tuple[str, ...]
    particle_missing: bool
    prompt_leptons: bool

    @property
    def jet_radius(self) -> float:
        return 0.4

    def missing(self, level: str) -> tuple[bool, int, str]:
        """(has the slot, its object_type code, its name) of ``level``."""
        if level == "particle":
            return self.particle_missing, NEUTRINO, "neutrino"
        return True, MET, "met"

    def as_dict(self) -> dict:
        return {"particle": self.particle.as_dict(), "detector": self.detector.as_dict(),
                "jet_radius": self.jet_radius, "prompt_leptons": self.prompt_leptons}


def _zjets_level() -> LevelCuts:
    return LevelCuts(n_leptons=2, lepton_flavours=(13,), opposite_charge=True,
                     lepton_pt_min=20.0, lepton_abs_eta_max=2.5, lepton_slots=2,
                     jet_pt_min=20.0, jet_abs_eta_max=4.5, overlap_radius=0.4, n_jets_min=1,
                     n_bjets_min=0, max_jets=3)


def _ttbar_level(flavours: tuple[int, ...]) -> LevelCuts:
    return LevelCuts(n_leptons=1, lepton_flavours=flavours, opposite_charge=False,
                     lepton_pt_min=25.0, lepton_abs_eta_max=2.5, lepton_slots=1,
                     jet_pt_min=25.0, jet_abs_eta_max=2.5, overlap_radius=0.4, n_jets_min=4,
                     n_bjets_min=2, max_jets=TTBAR_MAX_JETS)


DRESSING_RADIUS = 0.1
"""Particle-level leptons absorb the final-state photons within this Delta R."""
FLAVOUR_HADRON_PT_MIN = 5.0
"""B and C hadrons below this pT in GeV do not label jets (as ATLAS truth labelling)."""
TTBAR_MAX_JETS = 8
"""Jets stored per ttbar event (leading by pT); ``n_jets_all`` keeps the full count."""
LEPTON_FLAVOURS = {"e": (11,), "mu": (13,), "emu": (11, 13)}


def zjets_cuts() -> PairedCuts:
    """Z(->mumu)+jets at both levels: the particle-level definition of `lhcgen data zjets`
    (two opposite-charge muons pT > 20 GeV |eta| < 2.5; >= 1 jet pT > 20 GeV |eta| < 4.5
    after removing jets within Delta R < 0.4 of a muon; three jets stored)."""
    return PairedCuts("zjets_paired", _zjets_level(), _zjets_level(), ("mu1", "mu2"), False,
                      prompt_leptons=False)


def ttbar_cuts(lepton: str = "emu") -> PairedCuts:
    """Semi-leptonic ttbar at both levels: exactly one lepton (``lepton``: e, mu or emu)
    with pT > 25 GeV |eta| < 2.5; >= 4 jets pT > 25 GeV |eta| < 2.5 of which >= 2 b jets."""
    if lepton not in LEPTON_FLAVOURS:
        raise LhcgenError(f"ttbar lepton flavour must be e, mu or emu (e or mu), got "
                          f"{lepton!r}")
    flavours = LEPTON_FLAVOURS[lepton]
    return PairedCuts("ttbar_paired", _ttbar_level(flavours), _ttbar_level(flavours),
                      ("lepton",), True, prompt_leptons=True)
