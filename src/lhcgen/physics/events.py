"""What the physics functions read from a set of events (data/events.py's EventSample is one)."""

from __future__ import annotations

from typing import Protocol

import numpy as np


class Events(Protocol):
    """Events as arrays: ``momenta`` (N, P, 4) float64 (E, px, py, pz) in GeV with the object
    slots of the process, ``mask`` (N, P) bool (the object exists), ``multiplicity`` (N,)
    the variable-object count and ``weights`` (N,) the MC event weights."""

    momenta: np.ndarray
    mask: np.ndarray
    multiplicity: np.ndarray
    weights: np.ndarray

    def __len__(self) -> int: ...
