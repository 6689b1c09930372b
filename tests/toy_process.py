"""A toy second process on the Process seam: one lepton and up to two jets, made with numpy
(no Pythia). It lives only in the tests and proves that a process is a short list of files
(docs/adding-a-process.md): this one needs no file under src/ at all."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lhcgen.data.events import EventSample
from lhcgen.physics import fourvectors as fv
from lhcgen.physics.events import Events
from lhcgen.physics.observables import Axis, Observable, object_observables
from lhcgen.processes import Process
from lhcgen.transforms.objects import (
    ObjectPreprocessing,
    ObjectsPreprocessingConfig,
    generic_objects_preprocessing,
)

PT_MIN = 20.0


@dataclass(frozen=True)
class ToyProcess(Process):
    name = "toy"
    title = "toy: a lepton and up to two jets"
    object_names = ("l1", "j1", "j2")
    n_fixed_objects = 1
    preprocessing_config = ObjectsPreprocessingConfig
    constant_mass_objects = ("l1",)

    def preprocessing(self, cfg: ObjectsPreprocessingConfig) -> ObjectPreprocessing:
        return generic_objects_preprocessing(cfg, n_fixed=1, n_slots=3, fixed_masses={0: 0.0})

    def observables(self, object_names: tuple[str, ...] | None = None) -> list[Observable]:
        def axis_of(name: str) -> Axis:
            return Axis(low=PT_MIN) if name.startswith("pt_") else Axis()

        return object_observables(tuple(object_names or self.object_names),
                                  self.constant_mass_objects, axis_of)

    def cut_violations(self, events: Events, cuts: dict | None) -> dict[str, int]:
        pt_min = float((cuts or {}).get("object_pt_min_gev", PT_MIN))
        low = ((fv.pt(events.momenta) < pt_min) & events.mask).any(axis=1)
        return {"object_pt": int(low.sum()), "any_selection_cut": int(low.sum())}


def toy_events(n: int, seed: int) -> EventSample:
    """n toy events: a massless lepton and 1-2 massive jets, all above 20 GeV, pT-ordered
    jets; file attributes of the toy process."""
    rng = np.random.default_rng(seed)
    mult = rng.choice([1, 2], size=n, p=[0.65, 0.35])
    pt = PT_MIN + rng.exponential([25.0, 40.0, 20.0], size=(n, 3))
    pt[:, 1:] = -np.sort(-pt[:, 1:], axis=1)
    eta = np.clip(rng.normal(0.0, [1.0, 1.6, 1.8], size=(n, 3)), -2.4, 2.4)
    phi = rng.uniform(-np.pi, np.pi, size=(n, 3))
    phi[:, 1] = fv.wrap_phi(phi[:, 0] + np.pi + rng.normal(0.0, 0.4, n))  # recoil
    mass = np.concatenate([np.zeros((n, 1)), 4.0 + rng.exponential(6.0, (n, 2))], axis=1)
    mask = np.arange(3) < 1 + mult[:, None]
    momenta = np.where(mask[..., None], fv.from_pt_eta_phi_m(pt, eta, phi, mass), 0.0)
    return EventSample(momenta, mask, mult, np.ones(n),
                       {"process": "toy", "object_names": list(ToyProcess.object_names),
                        "n_fixed_objects": 1, "cuts": {"object_pt_min_gev": PT_MIN}})
