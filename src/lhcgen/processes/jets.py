"""Jets as particle clouds (g, q, t, w, z at ~1 TeV, JetNet-style) on the Process seam.

A jet file (data/jet_hdf5.py) holds per jet up to P constituents (Delta eta, Delta phi,
pT_rel), the jet's (pT, eta, m, stored count), its type and its untruncated constituent
count. The generators see one (P, 3) cloud per jet (transforms/jet_cloud.py), conditioned on
the jet type (the discrete condition) and the jet kinematics (the continuous one); they are
judged with the JetNet metrics (`lhcgen metrics jets`), not with the event report.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from lhcgen.data.jet_hdf5 import read_jets
from lhcgen.data.jets import JET_TYPES, JetCloudSample, JetSettings
from lhcgen.errors import LhcgenError
from lhcgen.physics.observables import Observable
from lhcgen.processes.base import Process, RareCondition
from lhcgen.transforms.encoded import Encoded
from lhcgen.transforms.jet_cloud import JetCloudPreprocessing, JetCloudPreprocessingConfig


@dataclass(frozen=True)
class JetsProcess(Process):
    name = "jets"
    title = "jets as particle clouds"
    kind = "clouds"
    object_names = ()
    preprocessing_config = JetCloudPreprocessingConfig
    has_conditions_model = True
    rare_condition_name = "m/pT"

    def read_sample(self, path: str | Path) -> JetCloudSample:
        return read_jets(path)

    def check_sample(self, sample: JetCloudSample, where: str) -> None:
        process = sample.attrs.get("process")
        if process != self.name:
            raise LhcgenError(f"{where}: holds process {process!r}, expected {self.name!r}")

    def sample_attrs(self) -> dict:
        return {"process": self.name}

    def preprocessing(self, cfg: JetCloudPreprocessingConfig) -> JetCloudPreprocessing:
        return JetCloudPreprocessing(cfg)

    def observables(self, object_names: tuple[str, ...] | None = None) -> list[Observable]:
        raise LhcgenError("jets as particle clouds are judged with `lhcgen metrics jets`, not "
                          "with `lhcgen evaluate` or `lhcgen classify`")

    def condition_data(self, preprocessing: JetCloudPreprocessing, sample: JetCloudSample,
                       seed: int, marginals: str = "standardised") -> Encoded:
        """(pT, eta, m, N) of the training jets in the kinematics model's coordinates
        (dequantised N; standardised or quantile marginals), conditioned on the type."""
        sample = preprocessing.select(sample)
        x = torch.from_numpy(preprocessing.kinematics_encode(
            sample, np.random.default_rng(seed), marginals))
        ones = torch.ones(len(sample), dtype=torch.bool)
        return Encoded(x, ones[:, None], torch.ones_like(x, dtype=torch.bool),
                       torch.from_numpy(sample.jet_type), torch.from_numpy(sample.weights),
                       torch.zeros(len(sample), dtype=torch.float64))

    def fit_condition_marginals(self, preprocessing: JetCloudPreprocessing,
                                sample: JetCloudSample) -> None:
        """The per-type quantiles of (log pT, atanh eta, log m, log N) where the
        preprocessing has none (a fresh fit, or a warm restart from a run without them);
        a run that has them keeps them, so that its conditions model's weights still fit."""
        if not preprocessing.kinematics_quantiles:
            preprocessing.fit_kinematics_quantiles(sample)

    def rare_condition(self, preprocessing: JetCloudPreprocessing,
                       sample: JetCloudSample) -> RareCondition:
        """m/pT of the jets the preprocessing keeps, binned per type: the heaviest jets of a
        type (top jets of m/pT above 0.35, say) are the rarest conditions."""
        sample = preprocessing.select(sample, require_all=False)
        return RareCondition(sample.jets[:, 2] / sample.jets[:, 0], sample.jet_type)

    def cut_violations(self, jets: JetCloudSample, cuts: dict | None) -> dict[str, int]:
        """Jets outside the training file's pT window and |eta| cut."""
        defaults = JetSettings(jet_type=JET_TYPES[0]).cuts()
        cuts = {**defaults, **(cuts or {})}
        pt, eta = jets.jets[:, 0], jets.jets[:, 1]
        out_pt = (pt <= cuts["jet_pt_min_gev"]) | (pt >= cuts["jet_pt_max_gev"])
        out_eta = np.abs(eta) >= cuts["jet_abs_eta_max"]
        return {"jet_pt_window": int(out_pt.sum()), "jet_abs_eta": int(out_eta.sum()),
                "any_selection_cut": int((out_pt | out_eta).sum())}
