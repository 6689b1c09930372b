"""The Process seam: everything lhcgen needs to know about one kind of event.

A process names its objects, checks a file against its schema, builds the preprocessing
that maps its events to a network's coordinates and back, reads its cuts from a file and
counts the events that violate them, and lists the observables of its report. `lhcgen
train | sample | evaluate | classify` work through it and never name a process
themselves (docs/adding-a-process.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, NamedTuple, Protocol

import numpy as np
import torch

from lhcgen.errors import LhcgenError
from lhcgen.physics.events import Events
from lhcgen.physics.observables import Observable
from lhcgen.transforms.coordinates import Coordinates
from lhcgen.transforms.encoded import Encoded
from lhcgen.transforms.objects import object_mask


class ExtraFeature(NamedTuple):
    """A process-specific input of the classifier test (values where ``defined``)."""

    name: str
    values: np.ndarray
    defined: np.ndarray


class RareCondition(NamedTuple):
    """Values of the process's ``rare_condition_name``, one per event."""

    values: np.ndarray
    """(N,) the condition of each event."""
    groups: np.ndarray
    """(N,) the group (jet type) each event is binned within."""


class Preprocessing(Protocol):
    """Fitted on training events; maps events to network coordinates and back."""

    multiplicities: list[int]
    fractions: list[float]

    def fit(self, sample: Any) -> None: ...

    def encode(self, sample: Any) -> Encoded: ...

    def decode(self, x: torch.Tensor, multiplicity: torch.Tensor,
               generator: torch.Generator | None = None) -> np.ndarray: ...

    def dims_mask(self, multiplicity: torch.Tensor) -> torch.Tensor: ...

    def coordinates(self) -> Coordinates: ...

    def sample_multiplicity(self, n: int, generator: torch.Generator) -> torch.Tensor: ...

    def state_dict(self) -> dict: ...

    def load_state_dict(self, state: dict) -> None: ...


@dataclass(frozen=True)
class Process:
    """One kind of event. Subclasses fill the class attributes and the methods below.

    Objects: ``object_names`` in slot order, the first ``n_fixed_objects`` always present,
    the others counted by ``multiplicity`` (the model's condition).
    """

    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    kind: ClassVar[str] = "events"
    """"events" (an EventSample of objects, judged by `lhcgen evaluate | classify`) or
    "clouds" (jets as particle clouds, a JetCloudSample judged by `lhcgen metrics jets`)."""
    object_names: ClassVar[tuple[str, ...]] = ()
    n_fixed_objects: ClassVar[int] = 0
    preprocessing_config: ClassVar[type] = object
    """The dataclass of the run config's ``preprocessing`` section."""
    constant_mass_objects: ClassVar[tuple[str, ...]] = ()
    """Objects whose mass is a constant (leptons): no mass feature or histogram."""
    has_conditions_model: ClassVar[bool] = False
    """Whether a run of this process trains a generator of its continuous conditions
    (``condition_data``; the run config's ``conditions`` section, refused otherwise)."""
    rare_condition_name: ClassVar[str] = ""
    """The condition ``rare_condition`` returns ("": none, and ``training.rare_boost``
    must stay 1)."""

    @property
    def max_objects(self) -> int:
        return len(self.object_names)

    def object_mask(self, multiplicity: torch.Tensor) -> torch.Tensor:
        """(N,) counted objects -> (N, P) object mask (fixed objects always present)."""
        return object_mask(multiplicity, self.n_fixed_objects, self.max_objects)

    def read_sample(self, path: str | Path) -> Any:
        """The sample of a file of this process (validated against the file schema)."""
        from lhcgen.data.hdf5 import read_events

        return read_events(path)

    def check_sample(self, sample: Any, where: str) -> None:
        """One line if ``sample`` is not an event file of this process."""
        process = sample.attrs.get("process")
        if process != self.name:
            raise LhcgenError(f"{where}: holds process {process!r}, expected {self.name!r}")
        if list(sample.object_names) != list(self.object_names):
            raise LhcgenError(f"{where}: object_names {list(sample.object_names)} are not those "
                              f"of process {self.name!r}, {list(self.object_names)}")
        if sample.attrs.get("n_fixed_objects") != self.n_fixed_objects:
            raise LhcgenError(f"{where}: n_fixed_objects must be {self.n_fixed_objects} for "
                              f"process {self.name!r}, got {sample.attrs.get('n_fixed_objects')}")

    def sample_attrs(self) -> dict:
        """The schema attributes of a generated file of this process."""
        return {"process": self.name, "object_names": list(self.object_names),
                "n_fixed_objects": self.n_fixed_objects}

    def preprocessing(self, cfg: Any) -> Preprocessing:
        raise NotImplementedError

    def observables(self, object_names: tuple[str, ...] | None = None) -> list[Observable]:
        raise NotImplementedError

    def extra_features(self, events: Events) -> list[ExtraFeature]:
        """Inputs of the classifier test beyond every object's (pT, eta, phi, m) and every
        pair's Delta R (default: none)."""
        return []

    def condition_data(self, preprocessing: Any, sample: Any, seed: int,
                       marginals: str = "standardised") -> Encoded | None:
        """Training data of the generator of the continuous conditions (``Encoded`` with
        x (N, C)) in the coordinates ``marginals`` names (``conditions.marginals``), for
        processes that have such conditions; None (the default) for the others. ``seed``
        fixes any dequantisation noise."""
        return None

    def fit_condition_marginals(self, preprocessing: Any, sample: Any) -> None:
        """Fit what ``conditions.marginals: quantile`` needs on the training ``sample``,
        where ``preprocessing`` (fitted, or taken from the run a warm restart starts from)
        has not got it yet; nothing for processes without continuous conditions."""

    def rare_condition(self, preprocessing: Any, sample: Any) -> RareCondition | None:
        """The condition whose thin tails ``training.rare_boost`` draws more often, one value
        and group per event that ``preprocessing.encode(sample)`` keeps, in its order; None
        (the default) for processes without one."""
        return None

    def cut_violations(self, events: Events, cuts: dict | None) -> dict[str, int]:
        """Events failing each cut of ``cuts`` (a file's ``cuts`` attribute; None: the
        process's defaults) and in total ("any_selection_cut")."""
        raise NotImplementedError
