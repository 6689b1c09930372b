"""Random numbers per event, so that a generated sample does not depend on the batch size.

A sampler draws its noise for a whole batch at once (``torch.randn(batch, dim)``); with one
``torch.Generator`` for the run, event i then gets other numbers when the batch size
changes. ``EventNoise`` gives every block of ``BLOCK`` consecutive events its own generator,
seeded from (seed, stream, block index) alone, and draws a batch's noise block by block. As
long as batches start at multiples of ``BLOCK`` (``aligned_batch_size``) and the sampler
makes the same sequence of draws for any batch size (true for fixed-step samplers; not for
adaptive ones, whose steps depend on the whole batch), event i sees the same numbers for
any batch size. What still differs is floating-point rounding in the batched network.

Every sampling-time draw goes through ``randn``, ``rand`` or ``randint`` below, which accept
either a ``torch.Generator`` (training, tests) or an ``EventNoise``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

BLOCK = 64
"""Events per generator; batch boundaries are multiples of it."""


def aligned_batch_size(batch_size: int) -> int:
    """``batch_size`` rounded up to a multiple of ``BLOCK``."""
    return max(BLOCK, math.ceil(batch_size / BLOCK) * BLOCK)


class EventNoise:
    """Noise for events ``first .. first + n - 1`` of stream ``stream`` of a run's ``seed``.

    Draws have shape (n, ...): rows are events, and row i always comes from the generator
    of block (first + i) // BLOCK, which advances only with the draws of its own block.
    """

    def __init__(self, seed: int, first: int, n: int, stream: int = 0) -> None:
        if first % BLOCK:
            raise ValueError(f"first event {first} is not a multiple of {BLOCK}")
        self.n = int(n)
        blocks = range(first // BLOCK, (first + n + BLOCK - 1) // BLOCK)
        self.generators = []
        for block in blocks:
            state = np.random.SeedSequence(seed, spawn_key=(stream, block)).generate_state(2)
            generator = torch.Generator()
            generator.manual_seed(int(state[0]) << 32 | int(state[1]))
            self.generators.append(generator)
        self.sizes = [min(BLOCK, first + n - block * BLOCK) for block in blocks]

    def _draw(self, draw, shape: tuple[int, ...], **kwargs) -> torch.Tensor:
        if not shape or shape[0] != self.n:
            raise ValueError(f"per-event noise needs shape ({self.n}, ...), got {shape}")
        parts = [draw((size, *shape[1:]), generator=g, **kwargs)
                 for g, size in zip(self.generators, self.sizes, strict=True)]
        return torch.cat(parts)

    def randn(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return self._draw(torch.randn, tuple(shape), dtype=dtype)

    def rand(self, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
        return self._draw(torch.rand, tuple(shape), dtype=dtype)

    def randint(self, low: int, high: int, shape: tuple[int, ...]) -> torch.Tensor:
        return self._draw(lambda s, generator: torch.randint(low, high, s, generator=generator),
                          tuple(shape))


Source = torch.Generator | EventNoise | None


def randn(shape, generator: Source, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Standard normals of ``shape`` (on the CPU) from a generator or per-event noise."""
    if isinstance(generator, EventNoise):
        return generator.randn(tuple(shape), dtype)
    return torch.randn(tuple(shape), generator=generator, dtype=dtype)


def rand(shape, generator: Source, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """U(0, 1) of ``shape`` (on the CPU) from a generator or per-event noise."""
    if isinstance(generator, EventNoise):
        return generator.rand(tuple(shape), dtype)
    return torch.rand(tuple(shape), generator=generator, dtype=dtype)


def randint(low: int, high: int, shape, generator: Source) -> torch.Tensor:
    if isinstance(generator, EventNoise):
        return generator.randint(low, high, tuple(shape))
    return torch.randint(low, high, tuple(shape), generator=generator)
