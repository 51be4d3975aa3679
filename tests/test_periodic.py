"""When periodic work is due, on a fake clock."""

from __future__ import annotations

from core.periodic import Every
from tests.clock import Clock


def test_due_once_per_period_counted_from_when_it_was_last_due() -> None:
    clock = Clock(100.0)
    every = Every(10.0, clock)
    assert not every.due()
    clock.now = 109.9
    assert not every.due()
    clock.now = 113.0
    assert every.due()
    assert not every.due()
    clock.now = 122.9
    assert not every.due()
    clock.now = 123.0
    assert every.due()


def test_a_period_of_zero_is_never_due() -> None:
    clock = Clock()
    every = Every(0.0, clock)
    clock.now = 1e9
    assert not every.due()
