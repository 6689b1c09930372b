"""Convert a JetNet HDF5 file (Kansal et al., arXiv:2106.11535; Zenodo 6975118/6975117).

JetNet's layout, as read by ``jetnet.datasets.JetNet.getData`` (jetnet v0.2.5), one file
per jet type (``g.hdf5``, ``q.hdf5``, ..., ``t150.hdf5``):

    particle_features (N, P, 4): (etarel, phirel, ptrel, mask), P = 30 or 150;
    jet_features      (N, 4):    (pt, eta, mass, num_particles), num_particles = all
                                 constituents (jetnet's loader caps it at P).

The jet type is not in the file; jetnet takes it from the file name, and so do we unless
``jet_type`` is given.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np

from lhcgen.data.hdf5 import open_hdf5
from lhcgen.data.jets import JET_FEATURES, JET_TYPES, PARTICLE_FEATURES, JetCloudSample
from lhcgen.errors import LhcgenError


def jet_type_from_name(path: str | os.PathLike) -> str | None:
    """'g' for g.hdf5 or g150.hdf5, etc.; None when the name is not JetNet's."""
    match = re.fullmatch(r"([gqtwz])(150)?", Path(path).stem)
    return match.group(1) if match else None


def read_jetnet(path: str | os.PathLike, jet_type: str | None = None) -> JetCloudSample:
    """Read a JetNet file into a JetCloudSample (padding zeroed, counts capped at P)."""
    path = Path(path)
    jet_type = jet_type or jet_type_from_name(path)
    if jet_type is None:
        raise LhcgenError(f"{path}: cannot tell the jet type from the file name (JetNet "
                          f"names files g.hdf5, t150.hdf5, ...); pass --type")
    if jet_type not in JET_TYPES:
        raise LhcgenError(f"unknown jet type {jet_type!r}; choose one of {', '.join(JET_TYPES)}")
    with open_hdf5(path) as f:
        missing = [k for k in ("particle_features", "jet_features") if k not in f]
        if missing:
            raise LhcgenError(f"{path}: not in JetNet's layout, missing dataset(s) "
                              f"{', '.join(missing)}")
        try:
            pf = np.asarray(f["particle_features"][()], dtype=np.float64)
            jf = np.asarray(f["jet_features"][()], dtype=np.float64)
        except (OSError, ValueError) as exc:
            raise LhcgenError(f"{path}: corrupt HDF5 data ({exc})") from None
    if pf.ndim != 3 or pf.shape[2] != 4:
        raise LhcgenError(f"{path}: particle_features must have shape (N, P, 4) = (etarel, "
                          f"phirel, ptrel, mask), got {pf.shape}")
    if jf.shape != (len(pf), 4):
        raise LhcgenError(f"{path}: jet_features must have shape ({len(pf)}, 4) = (pt, eta, "
                          f"mass, num_particles), got {jf.shape}")
    mask = pf[..., 3] > 0.5
    particles = np.where(mask[..., None], pf[..., :3], 0.0)
    n_all = np.rint(jf[:, 3]).astype(np.int64)
    jets = np.concatenate([jf[:, :3], mask.sum(axis=1, keepdims=True)], axis=1)
    attrs = {"process": "jets", "type": jet_type, "particles": int(pf.shape[1]),
             "jet_type_names": list(JET_TYPES), "particle_features": list(PARTICLE_FEATURES),
             "jet_features": list(JET_FEATURES), "generator": "JetNet (imported)",
             "source_file": str(path.resolve()), "sqrt_s": 13000.0}
    return JetCloudSample(particles, mask, jets, np.full(len(pf), JET_TYPES.index(jet_type)),
                          np.ones(len(pf)), n_all, attrs)
