"""Coordinate changes of whole objects: (E, px, py, pz) <-> (pT, eta, phi, m), and phi
measured relative to the leading muon."""

from __future__ import annotations

import torch

from lhcgen.physics import fourvectors_torch as fvt
from lhcgen.transforms.base import Transform


class ToPtEtaPhiM(Transform):
    """(N, P, 4) four-momenta (E, px, py, pz) -> (pT, eta, phi, m) per object.

    The first ``n_massless`` slots hold on-shell leptons whose energy is fixed by their
    mass, so their density lives on (px, py, pz) -> (pT, eta, phi) with
    |det| = pT^2 cosh(eta). Other objects use the 4D map with |det| = pT^2 cosh(eta) m / E.
    """

    def __init__(self, n_massless: int = 2):
        self.n_massless = n_massless

    def forward(self, x, mask):
        pt, eta, m, e = fvt.pt(x), fvt.eta(x), fvt.mass(x), x[..., 0]
        y = torch.stack([pt, eta, fvt.phi(x), m], -1) * mask[..., None]
        safe_pt = torch.where(pt > 0, pt, torch.ones_like(pt))
        # log|d(pT, eta, phi[, m]) / d(p)| = -log(pT^2 cosh eta [m / E])
        log_jac = 2 * torch.log(safe_pt) + torch.log(torch.cosh(eta))
        massive = torch.ones_like(mask)
        massive[:, : self.n_massless] = False
        safe_m = torch.where(m > 0, m, torch.ones_like(m))
        safe_e = torch.where(e > 0, e, torch.ones_like(e))
        log_jac = log_jac + torch.where(massive, torch.log(safe_m) - torch.log(safe_e), 0.0)
        return y, -(log_jac * mask).sum(-1)

    def inverse(self, y, mask, generator=None):
        return fvt.from_pt_eta_phi_m(*y.unbind(-1)) * mask[..., None]


class RelativePhi(Transform):
    """phi_i -> wrap(phi_i - phi_ref - offset_i) for every object but the reference (slot 0).

    The global rotation in phi is a symmetry, so only relative angles carry information;
    phi_ref itself is dropped later and drawn uniformly when generating. ``offsets`` moves
    the peak of a distribution away from the +-pi seam: the second muon sits back to back
    with the first, so its offset is pi. Volume preserving: log|det| = 0.
    """

    def __init__(self, offsets: list[float]):
        self.offsets = torch.tensor(offsets, dtype=torch.float64)

    def _shift(self, y, sign):
        y = y.clone()
        ref = y[:, :1, 2]
        offsets = self.offsets.to(y.device)[None, 1:]
        y[:, 1:, 2] = fvt.wrap_phi(y[:, 1:, 2] + sign * (ref + offsets))
        return y

    def forward(self, x, mask):
        y = self._shift(x, -1.0) * mask[..., None]
        return y, torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)

    def inverse(self, y, mask, generator=None):
        return self._shift(y, 1.0) * mask[..., None]
