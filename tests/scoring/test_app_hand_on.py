"""The faust worker's hand-on order, without a broker: a premises' state reaches the changelog only once
every decision either lane has made is acknowledged. The two lanes (records, events) share the
states; before this order, the records lane could write a state holding an alarm the events lane had
decided but the broker had not yet acknowledged, and a kill -9 then lost the alarm (the restored state
skipped its event on replay). The broker is stood in for by send futures this test resolves by hand:
what is tested is :class:`firewarden.processes.handon.HandOn`'s own ordering, not Kafka."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from datetime import UTC, datetime

import pytest

from firewarden.processes.handon import HandOn, StallWatch
from scoring.records import AlarmDecision


class _Topic:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.futures: list[asyncio.Future[None]] = []

    async def send(self, *, key: bytes, value: bytes) -> Awaitable[object]:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.futures.append(future)
        self.log.append(f"send {self.name} {key.decode()}")
        return future


class _Table(dict[bytes, bytes]):
    """Writes are logged; the broker's acknowledgement of them is a future the test resolves."""

    def __init__(self, log: list[str]) -> None:
        super().__init__()
        self.log = log
        self.acknowledged: asyncio.Future[None] | None = None

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.log.append(f"write {key.decode()}")

    async def delivered(self) -> None:
        if self.acknowledged is not None:
            await self.acknowledged
        self.log.append("changelog acknowledged")


class _Engine:
    def __init__(self) -> None:
        self.touched: set[str] = set()

    def flush(self) -> list[tuple[str, object]]:
        out = [(p, object()) for p in sorted(self.touched)]
        self.touched.clear()
        return out


def _alarm(premises: str) -> AlarmDecision:
    t = datetime.now(UTC)
    return AlarmDecision(t, premises, premises + ":A", 1, "1F", "unverified", "one detector", "SA:1", t)


def test_no_state_is_written_while_either_lane_awaits_the_broker() -> None:
    log: list[str] = []
    alarms, decisions, engine = _Topic("alarms", log), _Topic("decisions", log), _Engine()
    hand_on = HandOn(alarms, decisions, _Table(log), lambda: engine, dump=lambda state: b"")  # type: ignore[arg-type,return-value]

    async def main() -> None:
        engine.touched |= {"P1"}  # the events lane decided an alarm at P1 ...
        events = asyncio.create_task(hand_on([_alarm("P1")]))
        await asyncio.sleep(0)
        engine.touched |= {"P2"}  # ... and the records lane, an alarm at P2, acknowledged at once
        records = asyncio.create_task(hand_on([_alarm("P2")]))
        await asyncio.sleep(0)
        alarms.futures[1].set_result(None)
        for _ in range(20):
            await asyncio.sleep(0)
        log.append("P1 acknowledged")
        alarms.futures[0].set_result(None)
        await asyncio.gather(events, records)

    asyncio.run(main())
    assert log[:2] == ["send alarms P1", "send alarms P2"]
    # P2's own decision was acknowledged first, yet nothing is written until P1's is
    assert log.index("P1 acknowledged") < min(i for i, step in enumerate(log) if step.startswith("write"))
    assert sorted(step for step in log if step.startswith("write")) == ["write P1", "write P2"]


def test_a_hand_on_returns_only_once_its_state_writes_are_acknowledged() -> None:
    """Its agent acknowledges the batch's records when it returns, and faust may then commit their
    offsets: a state still queued for the changelog would be lost to a kill -9 with them committed."""
    log: list[str] = []
    alarms, decisions, engine, table = _Topic("alarms", log), _Topic("decisions", log), _Engine(), _Table(log)
    hand_on = HandOn(alarms, decisions, table, lambda: engine, dump=lambda state: b"")  # type: ignore[arg-type,return-value]

    async def main() -> None:
        table.acknowledged = asyncio.get_running_loop().create_future()
        engine.touched |= {"P1"}
        lane = asyncio.create_task(hand_on([_alarm("P1")]))
        await asyncio.sleep(0)
        alarms.futures[0].set_result(None)
        for _ in range(20):
            await asyncio.sleep(0)
        assert log == ["send alarms P1", "write P1"]
        assert not lane.done(), "the hand-on returned before the broker had the state"
        table.acknowledged.set_result(None)
        await lane

    asyncio.run(main())
    assert log[-1] == "changelog acknowledged"


def test_a_hand_on_stuck_on_the_bus_is_logged_with_what_it_waits_for_and_ends_liveness(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A worker whose batch never gets its acknowledgement stays silent otherwise (its timers run, its
    offsets stay): the watch names the wait every 15 s and stops the liveness heartbeat after 60 s."""
    log: list[str] = []
    alarms, decisions, engine, table = _Topic("alarms", log), _Topic("decisions", log), _Engine(), _Table(log)
    hand_on = HandOn(alarms, decisions, table, lambda: engine, dump=lambda state: b"")  # type: ignore[arg-type,return-value]
    watch = StallWatch(hand_on, every_s=15.0, dead_s=60.0)
    seen: dict[float, bool] = {}

    async def main() -> None:
        table.acknowledged = asyncio.get_running_loop().create_future()
        engine.touched |= {"P1"}
        lane = asyncio.create_task(hand_on([_alarm("P1")]))
        await asyncio.sleep(0)
        began = time.monotonic()
        alarms.futures[0].set_result(None)
        for _ in range(20):
            await asyncio.sleep(0)
        for after in (10.0, 16.0, 20.0, 31.5, 61.0):
            seen[after] = watch.alive(began + after, lambda: "<stacks>")
        table.acknowledged.set_result(None)
        await lane
        seen[62.0] = watch.alive(began + 62.0, lambda: "<stacks>")

    with caplog.at_level(logging.INFO, logger="firewarden.processes.handon"):
        asyncio.run(main())
    assert seen == {10.0: True, 16.0: True, 20.0: True, 31.5: True, 61.0: False, 62.0: True}
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 3, errors  # at 16, 31.5 and 61 s: once every 15 s
    assert all("for the bus to acknowledge 1 state(s)" in e and "<stacks>" in e for e in errors), errors
    assert "/healthz answers 503" in errors[-1] and "/healthz" not in errors[0]
    assert any("handing on again" in r.getMessage() for r in caplog.records if r.levelno == logging.INFO)
