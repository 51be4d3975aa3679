"""A fake clock for tests of logic that reads the time: it stands still until the test moves it."""

from __future__ import annotations


class Clock:
    """Call it for the time; set ``now`` to move it."""

    def __init__(self, now: float = 0.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now
