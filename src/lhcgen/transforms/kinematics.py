"""Coordinate changes of whole objects: (E, px, py, pz) <-> (pT, eta, phi, m), and phi
measured relative to the leading muon."""

from __future__ import annotations

import math

import torch

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
        e, px, py, pz = x.unbind(-1)
        pt = torch.hypot(px, py)
        safe_pt = torch.where(pt > 0, pt, torch.ones_like(pt))
        eta = torch.where(pt > 0, torch.asinh(pz / safe_pt), torch.zeros_like(pt))
        phi = torch.atan2(py, px)
        m = torch.sqrt(torch.clamp(e**2 - px**2 - py**2 - pz**2, min=0.0))
        y = torch.stack([pt, eta, phi, m], -1) * mask[..., None]
        # log|d(pT, eta, phi[, m]) / d(p)| = -log(pT^2 cosh eta [m / E])
        log_jac = 2 * torch.log(safe_pt) + torch.log(torch.cosh(eta))
        massive = torch.ones_like(mask)
        massive[:, : self.n_massless] = False
        safe_m = torch.where(m > 0, m, torch.ones_like(m))
        safe_e = torch.where(e > 0, e, torch.ones_like(e))
        log_jac = log_jac + torch.where(massive, torch.log(safe_m) - torch.log(safe_e), 0.0)
        return y, -(log_jac * mask).sum(-1)

    def inverse(self, y, mask, generator=None):
        pt, eta, phi, m = y.unbind(-1)
        px, py, pz = pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)
        e = torch.sqrt(m**2 + pt**2 + pz**2)
        return torch.stack([e, px, py, pz], -1) * mask[..., None]


def wrap_phi(phi: torch.Tensor) -> torch.Tensor:
    """Map angles into [-pi, pi)."""
    return torch.remainder(phi + math.pi, 2 * math.pi) - math.pi


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
        y[:, 1:, 2] = wrap_phi(y[:, 1:, 2] + sign * (ref + offsets))
        return y

    def forward(self, x, mask):
        y = self._shift(x, -1.0) * mask[..., None]
        return y, torch.zeros(x.shape[0], dtype=x.dtype, device=x.device)

    def inverse(self, y, mask, generator=None):
        return self._shift(y, 1.0) * mask[..., None]
