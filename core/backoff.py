"""Retrying with exponential backoff: one helper for every loop that retries.

:class:`Backoff` is the arithmetic (the next delay, doubling from ``first_s`` up to ``cap_s``), with
no clock of its own. :func:`retry` is the loop: it calls an attempt until it succeeds, and after each
expected failure logs what failed and waits the next delay on the clock it is given (its ``sleep``),
so a test drives it with a fake clock instead of waiting. Ingest's store-and-hand-on, its MQTT
reconnects, the scoring runners' decision writes and alerts' decision handling all retry through
this module.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

Sleep = Callable[[float], Awaitable[object]]
"""The waiting half of a clock: ``asyncio.sleep`` in production, a fake clock's advance in tests."""


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


async def retry(
    attempt: Callable[[], Awaitable[T]],
    *,
    what: str,
    errors: tuple[type[BaseException], ...],
    backoff: Backoff | None = None,
    sleep: Sleep = asyncio.sleep,
    log: logging.Logger | None = None,
) -> T:
    """``await attempt()`` until it returns, and return what it returned.

    An exception of ``errors`` is logged as a warning ("<what> failed, retrying in N s: <error>")
    and the attempt is made again after the backoff's next delay (0.2 s doubling to 5 s unless
    given); any other exception propagates at once, as does cancellation. Nothing the attempt holds
    is dropped: the caller's data stays with the caller until an attempt succeeds.
    """
    backoff = backoff if backoff is not None else Backoff(0.2, 5.0)
    logger = log if log is not None else logging.getLogger(__name__)
    while True:
        try:
            return await attempt()
        except errors as error:
            delay = backoff.next()
            logger.warning("%s failed, retrying in %.1f s: %s", what, delay, error, extra={"retry_in_s": delay})
            await sleep(delay)


def retry_for(
    attempt: Callable[[], T],
    *,
    what: str,
    errors: tuple[type[BaseException], ...],
    timeout_s: float,
    backoff: Backoff | None = None,
    sleep: Callable[[float], object] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    log: logging.Logger | None = None,
) -> T:
    """The blocking kind, for commands that wait for a service to come up (a one-shot container
    started beside its database): ``attempt()`` until it returns, for at most ``timeout_s``; then the
    last error of ``errors`` propagates. ``timeout_s`` 0 tries once."""
    backoff = backoff if backoff is not None else Backoff(0.5, 5.0)
    logger = log if log is not None else logging.getLogger(__name__)
    deadline = clock() + timeout_s
    while True:
        try:
            return attempt()
        except errors as error:
            left = deadline - clock()
            if left <= 0:
                raise
            delay = min(backoff.next(), left)
            logger.warning("%s failed, trying again in %.1f s: %s", what, delay, error)
            sleep(delay)
