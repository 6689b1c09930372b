"""Attention biases from the particles' pairwise distances (the interaction features of ParT).

The Particle Transformer (Qu, Li, Qian, arXiv:2202.03772) adds to every self-attention logit
between particles i and j a learned function of the pair (their Delta R, kT, z, m^2), so that
attention knows which particles are neighbours before the tokens have learned it from their
absolute positions. Here the pair feature is the distance d_ij between the two particles in
the first ``coordinates`` input features (for jets the angular network coordinates, a radial
map of (Delta eta, Delta phi) that keeps near particles near, transforms/jet_cloud.py): the
geometry that places the prongs of a top jet. A small MLP of log(d^2 + eps) and
sqrt(d^2 + eps) (smooth at d = 0, where d's own derivative is infinite), its hidden
layer modulated by the per-jet context (FiLM: for a denoiser the context holds the noise
level, at which the distances between noisy particles mean little), gives one bias per head
of every layer. d_ij = d_ji and the MLP acts on each pair alone, so the biases permute with
the particles: the transformer stays permutation equivariant.
"""

from __future__ import annotations

import torch
from torch import nn

LOG_EPSILON = 1e-4
"""eps of log(d^2 + eps), in network units (standardised coordinates): the log resolves
distances down to ~1 % of the coordinates' spread, and both features are finite and smooth
at a particle's distance to itself."""


class PairDistanceBias(nn.Module):
    """x (N, P, F), context (N, context_dim) -> biases (N, layers, heads, P, P).

    The pair feature uses x[..., :coordinates]; ``hidden`` is the width of the pair MLP.
    """

    def __init__(self, coordinates: int, context_dim: int, heads: int, layers: int,
                 hidden: int = 32):
        super().__init__()
        if coordinates < 1:
            raise ValueError(f"pair biases need at least one coordinate, got {coordinates}")
        self.coordinates, self.heads, self.layers = coordinates, heads, layers
        self.features = nn.Linear(2, hidden)
        self.film = nn.Linear(context_dim, 2 * hidden)
        self.out = nn.Linear(hidden, layers * heads)

    @staticmethod
    def squared_distances(position: torch.Tensor) -> torch.Tensor:
        """(N, P, A) -> (N, P, P) squared Euclidean distances, exactly 0 on the diagonal."""
        return (position[:, :, None] - position[:, None]).square().sum(-1)

    def forward(self, x: torch.Tensor, context: torch.Tensor) -> torch.Tensor:
        d2 = self.squared_distances(x[..., :self.coordinates]) + LOG_EPSILON
        pair = torch.stack([torch.log(d2), d2.sqrt()], dim=-1)  # (N, P, P, 2)
        scale, shift = self.film(context)[:, None, None].chunk(2, dim=-1)
        h = nn.functional.gelu(self.features(pair)) * (1 + scale) + shift
        bias = self.out(h).unflatten(-1, (self.layers, self.heads))  # (N, P, P, L, H)
        return bias.permute(0, 3, 4, 1, 2)
