"""The dimuon system and its decay angles in place of two free muons.

A network that generates the two muons independently smears the 2.5 GeV wide Z peak;
in these coordinates m_mumu is one of the network's own coordinates (DESIGN.md, "Sharp
peaks"). Slots 0 and 1 of the (pT, eta, phi, m) array change meaning:

    slot 0: (pT, eta, phi, m) of mu1 + mu2, the Z candidate
    slot 1: (0, cos theta*, phi*, 0), the leading muon's direction in the dimuon rest frame
            (reached by a pure boost from the lab; angles measured against the lab axes)

The inverse rebuilds both muons and orders them by pT, so the generated pair is always
pT-ordered. log|det| of the 6 -> 6 map comes from the autograd Jacobian, per event.
"""

from __future__ import annotations

import torch

from lhcgen.transforms.base import Transform


def _four_vector(pt, eta, phi, m):
    px, py, pz = pt * torch.cos(phi), pt * torch.sin(phi), pt * torch.sinh(eta)
    return torch.stack([torch.sqrt(m**2 + pt**2 + pz**2), px, py, pz], -1)


def _boost(p: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    """Lorentz boost of four-vectors p (..., 4) by velocity beta (..., 3)."""
    b2 = (beta**2).sum(-1).clamp(max=1 - 1e-15)
    gamma = 1 / torch.sqrt(1 - b2)
    bp = (beta * p[..., 1:]).sum(-1)
    coef = torch.where(b2 > 0, (gamma - 1) / torch.where(b2 > 0, b2, 1.0), 0.5)
    space = p[..., 1:] + (coef * bp + gamma * p[..., 0])[..., None] * beta
    return torch.cat([(gamma * (p[..., 0] + bp))[..., None], space], -1)


def _pt_eta_phi_m(p):
    pt = torch.hypot(p[..., 1], p[..., 2])
    eta = torch.asinh(p[..., 3] / pt)
    phi = torch.atan2(p[..., 2], p[..., 1])
    m = torch.sqrt(torch.clamp(p[..., 0] ** 2 - (p[..., 1:] ** 2).sum(-1), min=0.0))
    return pt, eta, phi, m


def _forward_single(v: torch.Tensor, muon_mass: float) -> torch.Tensor:
    """(pt1, eta1, phi1, pt2, eta2, phi2) -> (pT, eta, phi, m of the pair, cos theta*, phi*)."""
    mu = torch.full_like(v[..., 0], muon_mass)
    p1 = _four_vector(v[..., 0], v[..., 1], v[..., 2], mu)
    p2 = _four_vector(v[..., 3], v[..., 4], v[..., 5], mu)
    pair = p1 + p2
    rest = _boost(p1, -pair[..., 1:] / pair[..., :1])
    cos_theta = rest[..., 3] / torch.linalg.vector_norm(rest[..., 1:], dim=-1)
    phi_star = torch.atan2(rest[..., 2], rest[..., 1])
    pt, eta, phi, m = _pt_eta_phi_m(pair)
    return torch.stack([pt, eta, phi, m, cos_theta, phi_star], -1)


class DimuonSystem(Transform):
    """Muon slots 0, 1 in (pT, eta, phi, m) -> dimuon system + decay angles (see module)."""

    def __init__(self, muon_mass: float):
        self.muon_mass = muon_mass

    def forward(self, x, mask):
        v = torch.cat([x[:, 0, :3], x[:, 1, :3]], -1)
        out = _forward_single(v, self.muon_mass)
        jac = torch.func.vmap(torch.func.jacrev(lambda u: _forward_single(u, self.muon_mass)))(v)
        logdet = torch.linalg.slogdet(jac)[1]
        y = x.clone()
        y[:, 0] = out[:, :4]
        y[:, 1] = torch.stack([torch.zeros_like(out[:, 4]), out[:, 4], out[:, 5],
                               torch.zeros_like(out[:, 4])], -1)
        return y, logdet

    def inverse(self, y, mask, generator=None):
        pair = _four_vector(y[:, 0, 0], y[:, 0, 1], y[:, 0, 2], y[:, 0, 3])
        m = y[:, 0, 3]
        cos_theta = y[:, 1, 1].clamp(-1.0, 1.0)
        sin_theta = torch.sqrt(1 - cos_theta**2)
        phi_star = y[:, 1, 2]
        q = torch.sqrt(torch.clamp(m**2 / 4 - self.muon_mass**2, min=0.0))
        rest = torch.stack([torch.sqrt(q**2 + self.muon_mass**2),
                            q * sin_theta * torch.cos(phi_star),
                            q * sin_theta * torch.sin(phi_star), q * cos_theta], -1)
        p1 = _boost(rest, pair[..., 1:] / pair[..., :1])
        p2 = pair - p1
        k1 = torch.stack(_pt_eta_phi_m(p1), -1)
        k2 = torch.stack(_pt_eta_phi_m(p2), -1)
        swap = (k2[:, 0] > k1[:, 0])[:, None]
        x = y.clone()
        x[:, 0] = torch.where(swap, k2, k1)
        x[:, 1] = torch.where(swap, k1, k2)
        x[:, :2, 3] = self.muon_mass
        return x
