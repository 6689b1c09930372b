"""Shared fixtures."""

from __future__ import annotations

import pytest

from lhcgen.data.events import EventSample
from tests.toys import toy_zjets


@pytest.fixture
def toy_sample() -> EventSample:
    return toy_zjets(2000, seed=3)
