"""Shared fixtures for the unit tests."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator: every unit test is deterministic."""
    return np.random.default_rng(20190611)
