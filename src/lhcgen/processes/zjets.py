"""Z(->mumu)+jets on the Process seam: two muons, up to three jets counted by the
multiplicity (docs/data-format.md)."""

from __future__ import annotations

from dataclasses import dataclass

from lhcgen.data.events import ZJETS_OBJECTS
from lhcgen.data.zjets import ZJetsSettings
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.events import Events
from lhcgen.physics.observables import Observable
from lhcgen.physics.zjets_cuts import ZJetsCuts, cut_violations
from lhcgen.physics.zjets_observables import dimuon, zjets_observables
from lhcgen.processes.base import ExtraFeature, Process
from lhcgen.transforms.zjets import PreprocessingConfig, ZJetsPreprocessing


@dataclass(frozen=True)
class ZJetsProcess(Process):
    name = "zjets"
    title = "Z(→μμ)+jets"
    object_names = ZJETS_OBJECTS
    n_fixed_objects = 2
    preprocessing_config = PreprocessingConfig
    constant_mass_objects = ("mu1", "mu2")

    def preprocessing(self, cfg: PreprocessingConfig) -> ZJetsPreprocessing:
        return ZJetsPreprocessing(cfg)

    def observables(self, object_names: tuple[str, ...] | None = None) -> list[Observable]:
        return zjets_observables(tuple(object_names or self.object_names))

    def cut_violations(self, events: Events, cuts: dict | None) -> dict[str, int]:
        return cut_violations(events, ZJetsCuts.from_file(cuts or ZJetsSettings().cuts()))

    def extra_features(self, events: Events) -> list[ExtraFeature]:
        """m_mumu and the pT of the Z, where generator defects in the peak show at once."""
        pair = dimuon(events)
        both = events.mask[:, 0] & events.mask[:, 1]
        return [ExtraFeature("m_mumu", fv.mass(pair), both),
                ExtraFeature("pt_z", fv.pt(pair), both)]
