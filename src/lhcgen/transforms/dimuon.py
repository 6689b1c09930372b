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

from lhcgen.physics import fourvectors_torch as fvt
from lhcgen.transforms.base import Transform


def _forward_single(v: torch.Tensor, muon_mass: float) -> torch.Tensor:
    """(pt1, eta1, phi1, pt2, eta2, phi2) -> (pT, eta, phi, m of the pair, cos theta*, phi*)."""
    mu = torch.full_like(v[..., 0], muon_mass)
    p1 = fvt.from_pt_eta_phi_m(v[..., 0], v[..., 1], v[..., 2], mu)
    p2 = fvt.from_pt_eta_phi_m(v[..., 3], v[..., 4], v[..., 5], mu)
    pair = p1 + p2
    rest = fvt.boost(p1, -pair[..., 1:] / pair[..., :1])
    cos_theta = rest[..., 3] / torch.linalg.vector_norm(rest[..., 1:], dim=-1)
    return torch.cat([fvt.to_pt_eta_phi_m(pair), cos_theta[..., None],
                      fvt.phi(rest)[..., None]], -1)


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
        pair = fvt.from_pt_eta_phi_m(*y[:, 0].unbind(-1))
        m = y[:, 0, 3]
        cos_theta = y[:, 1, 1].clamp(-1.0, 1.0)
        sin_theta = torch.sqrt(1 - cos_theta**2)
        phi_star = y[:, 1, 2]
        q = torch.sqrt(torch.clamp(m**2 / 4 - self.muon_mass**2, min=0.0))
        rest = torch.stack([torch.sqrt(q**2 + self.muon_mass**2),
                            q * sin_theta * torch.cos(phi_star),
                            q * sin_theta * torch.sin(phi_star), q * cos_theta], -1)
        p1 = fvt.boost(rest, pair[..., 1:] / pair[..., :1])
        p2 = pair - p1
        k1 = fvt.to_pt_eta_phi_m(p1)
        k2 = fvt.to_pt_eta_phi_m(p2)
        swap = (k2[:, 0] > k1[:, 0])[:, None]
        x = y.clone()
        x[:, 0] = torch.where(swap, k2, k1)
        x[:, 1] = torch.where(swap, k1, k2)
        x[:, :2, 3] = self.muon_mass
        return x
