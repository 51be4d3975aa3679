"""Log rendering: JSON lines carry the message and every extra field."""

from __future__ import annotations

import json
import logging

import pytest

from core.logs import configure_logging


def test_json_logs_are_one_object_per_line_with_the_extra_fields(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    try:
        logging.getLogger("ingest.service").info("stored %d rows", 42, extra={"rows": 42, "table": "readings"})
        logging.getLogger("ingest.service").debug("not shown at info")
        lines = capsys.readouterr().err.strip().splitlines()
    finally:
        logging.getLogger().handlers.clear()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "stored 42 rows"
    assert (record["level"], record["logger"], record["rows"], record["table"]) == (
        "info",
        "ingest.service",
        42,
        "readings",
    )
    assert record["timestamp"].endswith("Z")


def test_text_logs_are_lines_for_people(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("warning", "text")
    try:
        logging.getLogger("ingest.service").warning("database away", extra={"held": 7})
        err = capsys.readouterr().err
    finally:
        logging.getLogger().handlers.clear()
    assert "database away" in err and "held=7" in err and "warning" in err
