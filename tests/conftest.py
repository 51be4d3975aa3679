"""Shared test setup: no test sees the developer's own FIREWARDEN_* environment (the FIREWARDEN_TEST_*
variables, which configure the test run itself, stay)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _clean_firewarden_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("FIREWARDEN_") and not name.startswith("FIREWARDEN_TEST_"):
            monkeypatch.delenv(name)
