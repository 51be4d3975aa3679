"""Mosquitto for tests: started per test on a random port in a temp dir, stopped afterwards.

Mosquitto is required (``make test`` installs it from Debian): the tests that use it check MQTT 5
behaviour, which the pure-Python fallback broker does not have.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from core.addresses import MqttUrl
from core.services import choose_broker, embedded_broker
from tests.ports import free_port


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[MqttUrl]:
    program = choose_broker()
    if program.kind != "mosquitto":
        pytest.fail("these tests need Mosquitto: `make test` installs it (apt-get install -y mosquitto)")
    with embedded_broker(tmp_path / "broker", port=free_port(), program=program) as url:
        yield url
