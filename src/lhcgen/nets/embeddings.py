"""Embeddings of scalars (diffusion time) into feature vectors."""

from __future__ import annotations

import math

import torch
from torch import nn


class FourierTimeEmbedding(nn.Module):
    """t in [0, 1] -> [sin(2 pi f_k t), cos(2 pi f_k t)] with log-spaced frequencies f_k.

    Frequencies run from 1/2 to ``max_frequency`` so the network resolves both the slow
    and the fast changes of the velocity field along t. Output: (N, dim).
    """

    def __init__(self, dim: int, max_frequency: float = 64.0):
        super().__init__()
        if dim % 2:
            raise ValueError("time embedding dimension must be even")
        freqs = torch.exp(torch.linspace(math.log(0.5), math.log(max_frequency), dim // 2))
        self.register_buffer("freqs", 2 * math.pi * freqs)

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        arg = t[:, None] * self.freqs[None, :]
        return torch.cat([torch.sin(arg), torch.cos(arg)], dim=-1)


class ContextFourierFeatures(nn.Module):
    """Continuous conditions c (N, C) -> [c, sin(2 pi f_k c), cos(2 pi f_k c)], (N, C (1 + 2K)),
    with K octave-spaced frequencies f_k = 2^k / 8, k = 0..K-1, per condition.

    A network fed standardised conditions linearly learns smooth functions of them first
    (the spectral bias of Rahaman et al., arXiv:1806.08734); octave features (the positional
    encoding of NeRF, Mildenhall et al., arXiv:2003.08934; Tancik et al., arXiv:2006.10739)
    let it resolve a condition that matters on a small scale, such as a jet's mass across a
    resonance peak. Periods run from 8 standard deviations down to 8 / 2^(K-1); the
    conditions themselves stay in, so K = 0 is the plain context. The frequencies are a
    fixed buffer outside the state_dict.
    """

    def __init__(self, frequencies: int):
        super().__init__()
        if frequencies < 1:
            raise ValueError("ContextFourierFeatures needs at least one frequency")
        freqs = 2 * math.pi * 2.0 ** torch.arange(frequencies, dtype=torch.float64) / 8
        self.register_buffer("freqs", freqs.float(), persistent=False)

    @staticmethod
    def width(n_conditions: int, frequencies: int) -> int:
        """Output width for ``n_conditions`` conditions and K = ``frequencies``."""
        return n_conditions * (1 + 2 * frequencies)

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        arg = (c[..., None] * self.freqs.to(c.dtype)).flatten(-2)  # (N, C K)
        return torch.cat([c, torch.sin(arg), torch.cos(arg)], dim=-1)
