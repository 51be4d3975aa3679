"""A small fleet shared by the simulator tests: every category, so every scenario kind has a target."""

from __future__ import annotations

import pytest

from core.registry import RegistryFile
from simulators.fleet import generate_fleet

START = 1767571200.0  # 2026-01-05 08:00 in China (a Monday), as Unix seconds


@pytest.fixture(scope="session")
def fleet() -> RegistryFile:
    return generate_fleet(40, seed=11)
