"""A copy of a generated event file with the classifier weights added, row by row.

The copy keeps every dataset and attribute of the source, so it stays a valid event file
(docs/data-format.md), and adds:

- ``classifier_weights`` (N,) float64: the weight w = D / (1 - D) of event i in row i, the
  same order as ``momenta``; the Monte Carlo ``weights`` are left as they are, so the
  reweighted sample is ``weights * classifier_weights``;
- attribute ``classifier_weights_info``: JSON of how they were made (clip, folds, settings).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import h5py
import numpy as np

from lhcgen.errors import LhcgenError
from lhcgen.io import atomic_path

DATASET = "classifier_weights"
INFO_ATTR = "classifier_weights_info"


def write_weighted_copy(source: str | os.PathLike, target: str | os.PathLike,
                        weights: np.ndarray, info: dict) -> None:
    """Copy ``source`` to ``target`` atomically, adding ``classifier_weights`` and its info.

    Parameters
    ----------
    source : the generated event file the weights were computed for.
    target : the new file (may equal ``source``: it is then replaced atomically).
    weights : (N,) float64, one per event of ``source``, in its order.
    info : JSON-serialisable record (e.g. from :func:`generated_event_weights`).
    """
    source = Path(source)
    weights = np.asarray(weights, dtype=np.float64)
    if not source.exists():
        raise LhcgenError(f"{source}: no such file")
    if weights.ndim != 1 or not np.isfinite(weights).all():
        raise LhcgenError("classifier weights must be a 1D array of finite values")
    with atomic_path(target) as tmp:
        shutil.copyfile(source, tmp)
        with h5py.File(tmp, "r+") as f:
            n = len(f["momenta"])
            if len(weights) != n:
                raise LhcgenError(f"{source}: has {n} events but {len(weights)} classifier "
                                  "weights were given")
            if DATASET in f:
                del f[DATASET]
            f.create_dataset(DATASET, data=weights)
            f.attrs[INFO_ATTR] = json.dumps(info, allow_nan=False)
