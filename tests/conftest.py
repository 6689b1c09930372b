"""Shared fixtures."""

from __future__ import annotations

import pytest

from lhcgen.data.events import EventSample
from tests.toys import toy_zjets


@pytest.fixture
def toy_sample() -> EventSample:
    return toy_zjets(2000, seed=3)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """Small networks on a shared 2-core machine: several intra-op threads only contend
    (measured 5-70x slower under load), so every test runs torch on one thread."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
