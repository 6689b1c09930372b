"""The decoding of a jet's network coordinates into its constituents, in torch.

``JetCloudPreprocessing.decode_particles`` (numpy, float64) writes the generated jets; this
twin, with the same fitted numbers, lets a loss see the constituents of the denoised jet
while the gradient flows through it (``model.edm.mass_loss``). The same formulas (a test
holds the two to 1e-12 in float64):

    (u, v, w) = x std + mean,   s = |(u, v)|,   Delta R = h^-1(R_a tanh s),
    (Delta eta, Delta phi) = (u, v) Delta R / s,   pT_rel = c sigmoid(w),

with h^-1 the jet edge's map (the identity without an edge). At s = 0 the direction is
undefined but Delta R / s has the limit R_a: the derivative is taken through
s = sqrt(u^2 + v^2 + tiny), finite everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

_TINY = 1e-30
"""Added to s^2, so that the radial map is differentiable at the jet axis."""


@dataclass(frozen=True)
class CloudDecoding:
    """The fitted numbers of a jet cloud's coordinates (``JetCloudPreprocessing``)."""

    mean: tuple[float, float, float]
    """Mean of the unstandardised (u, v, w) over the training constituents."""
    std: tuple[float, float, float]
    """Their standard deviations."""
    atanh_bound: float
    """R_a: where the atanh of the radial coordinate diverges (R_max, or 1.02 R with an
    edge)."""
    jet_edge: float
    """R of the stretched edge; 0: none."""
    shell: float
    """How much the edge's map compresses [R, R_max) into [R, R_a) (1 without an edge)."""
    max_pt_rel: float
    """c: every decoded pT_rel lies in (0, c)."""

    def decode(self, x: torch.Tensor) -> torch.Tensor:
        """(..., 3) standardised network coordinates -> (..., 3) (Delta eta, Delta phi,
        pT_rel), in x's dtype and device; differentiable."""
        mean = torch.as_tensor(self.mean, dtype=x.dtype, device=x.device)
        std = torch.as_tensor(self.std, dtype=x.dtype, device=x.device)
        raw = x * std + mean
        u, v, w = raw[..., 0], raw[..., 1], raw[..., 2]
        s = torch.sqrt(u * u + v * v + _TINY)
        r = self.atanh_bound * torch.tanh(s)
        if self.jet_edge:
            r = torch.where(r <= self.jet_edge, r,
                            self.jet_edge + (r - self.jet_edge) / self.shell)
        factor = r / s
        return torch.stack([u * factor, v * factor, self.max_pt_rel * torch.sigmoid(w)],
                           dim=-1)
