"""The Makefile's Debian installs wait for another apt's dpkg lock instead of failing at once."""

from __future__ import annotations

import re
from pathlib import Path

MAKEFILE = Path(__file__).resolve().parent.parent / "Makefile"


def test_every_apt_get_waits_for_the_dpkg_lock() -> None:
    text = MAKEFILE.read_text()
    definition = re.search(r"^APT\s*:=\s*(.+)$", text, re.MULTILINE)
    assert definition is not None and "apt-get -o DPkg::Lock::Timeout=" in definition.group(1)
    calls = [line for line in text.splitlines() if "apt-get" in line and not line.startswith(("#", "APT"))]
    assert calls == [], f"apt-get called without $(APT): {calls}"
    assert text.count("$(APT) install") >= 3  # mosquitto, mosquitto-clients, chromium
