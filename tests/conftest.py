"""Shared test setup: no test sees the developer's own FIREWARDEN_* environment."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_firewarden_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FIREWARDEN_") and name != "FIREWARDEN_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
