"""Exponential backoff for loops that retry: the next delay, doubling from ``first_s`` up to ``cap_s``.

Pure arithmetic, no sleeping and no clock of its own: the loop that retries sleeps (or schedules)
the delay it is given, so tests drive it without waiting.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class Backoff:
    """``next()`` gives ``first_s``, then twice the previous delay, never more than ``cap_s``;
    ``reset()`` starts over after a success."""

    first_s: float
    cap_s: float
    factor: float = 2.0
    _delay: float = field(default=0.0, init=False)

    def __post_init__(self) -> None:
        if not 0 < self.first_s <= self.cap_s or self.factor < 1:
            raise ValueError("backoff needs 0 < first_s <= cap_s and factor >= 1")

    def next(self) -> float:
        """The delay before the next attempt."""
        self._delay = self.first_s if self._delay == 0 else min(self.cap_s, self._delay * self.factor)
        return self._delay

    def peek(self) -> float:
        """The delay ``next()`` would give, without taking it (for a log line that announces it)."""
        return self.first_s if self._delay == 0 else min(self.cap_s, self._delay * self.factor)

    def reset(self) -> None:
        self._delay = 0.0
