"""The retry delays (doubling from the first to the cap, starting over after a success) and the retry
loop, driven by a fake clock."""

from __future__ import annotations

import asyncio

import pytest

from core.backoff import Backoff, retry
from core.errors import DatabaseError


def test_delays_double_up_to_the_cap_and_start_over_after_reset() -> None:
    backoff = Backoff(0.25, 4.0)
    assert backoff.peek() == 0.25
    assert [backoff.next() for _ in range(7)] == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert backoff.peek() == 4.0
    backoff.reset()
    assert backoff.next() == 0.25


@pytest.mark.parametrize(("first", "cap", "factor"), [(0, 1, 2), (2, 1, 2), (1, 2, 0.5)])
def test_nonsense_is_refused(first: float, cap: float, factor: float) -> None:
    with pytest.raises(ValueError, match="backoff needs"):
        Backoff(first, cap, factor)


class FakeClock:
    """Time that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class Flaky:
    """Fails ``failures`` times with ``error``, then answers."""

    def __init__(self, failures: int, error: BaseException) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "stored"


def test_retry_waits_the_backoff_on_the_given_clock_until_the_attempt_succeeds(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    attempt = Flaky(6, DatabaseError("connection refused"))
    result = asyncio.run(
        retry(attempt, what="storing decisions", errors=(DatabaseError,), backoff=Backoff(0.2, 1.0), sleep=clock.sleep)
    )
    assert result == "stored"
    assert attempt.calls == 7
    assert clock.slept == [0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert clock.now == pytest.approx(4.4)
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(warnings) == 6
    assert warnings[0] == "storing decisions failed, retrying in 0.2 s: connection refused"


def test_retry_does_not_wait_when_the_first_attempt_succeeds() -> None:
    clock = FakeClock()
    once = retry(Flaky(0, DatabaseError("x")), what="w", errors=(DatabaseError,), sleep=clock.sleep)
    assert asyncio.run(once) == "stored"
    assert clock.slept == []


def test_an_error_it_was_not_told_to_expect_propagates_at_once() -> None:
    clock = FakeClock()
    attempt = Flaky(3, KeyError("a bug"))
    with pytest.raises(KeyError):
        asyncio.run(retry(attempt, what="w", errors=(DatabaseError,), sleep=clock.sleep))
    assert attempt.calls == 1
    assert clock.slept == []


def test_cancellation_stops_the_retrying() -> None:
    attempt = Flaky(10**9, DatabaseError("down"))

    async def cancel_while_retrying() -> None:
        task = asyncio.create_task(retry(attempt, what="w", errors=(DatabaseError,), backoff=Backoff(0.01, 0.01)))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_while_retrying())
    assert attempt.calls >= 2
