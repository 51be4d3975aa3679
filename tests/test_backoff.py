"""The retry delays: doubling from the first to the cap, starting over after a success."""

from __future__ import annotations

import pytest

from core.backoff import Backoff


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
