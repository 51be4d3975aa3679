"""The scoring engine under redelivery: Kafka hands a restarted worker the messages after its last
committed offset, while the premises' state restored from the changelog may already contain some of
them. Applied twice they would count readings twice; the engine skips them by offset."""

from __future__ import annotations

from datetime import UTC, datetime

from core.bus import BusMessage
from core.policy import Policy
from ingest.handoff import to_bus
from ingest.records import Reading
from scoring.engine import Engine, decisions_of
from scoring.models import Models
from scoring.scorer import Scorer
from scoring.site import Sites
from scoring.state import dump_state, load_state
from tests.scoring.test_offline import _registry

T0 = 1_767_571_200.0


def _messages() -> list[BusMessage]:
    # residual current well over the electrical monitor's limit from the 20th reading on
    values = [10.0 if i < 20 else 900.0 for i in range(40)]
    at = [datetime.fromtimestamp(T0 + 60 * i, UTC) for i in range(40)]
    readings = [Reading(at[i], "P-A", "EM-A", "residual_current_ma", values[i], i) for i in range(40)]
    return [BusMessage(m.topic, m.key, m.value, offset) for offset, m in enumerate(to_bus(readings))]


def _engine(models: Models) -> Engine:
    return Engine(Scorer(Policy(), Sites.of(_registry()), models))


def test_messages_redelivered_after_a_crash_are_not_applied_twice(models: Models) -> None:
    messages = _messages()
    straight = _engine(models)
    expected = decisions_of(straight, messages)

    # a worker applies the first 30 and writes its state, then dies before committing any offset
    first = _engine(models)
    before = decisions_of(first, messages[:30])
    restored = load_state(dump_state(first.states["P-A"]))
    # its successor restores that state and gets every message since the last commit: all 40
    second = _engine(models)
    second.states["P-A"] = restored
    after = decisions_of(second, messages)

    assert before + after == expected
    assert dump_state(second.states["P-A"]) == dump_state(straight.states["P-A"])
    assert second.states["P-A"].offsets == {"fw.records": 39}


def test_messages_without_offsets_are_all_applied(models: Models) -> None:
    local = [BusMessage(m.topic, m.key, m.value) for m in _messages()]
    engine = _engine(models)
    decisions_of(engine, local)
    assert engine.states["P-A"].offsets == {}
    assert engine.states["P-A"].devices["EM-A"].seen_at is not None
