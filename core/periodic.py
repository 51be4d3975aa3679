"""Work done now and then inside a loop that runs more often: reading the registry again, looking for
new model files, ticking timers. :class:`Every` says when it is due, on the clock it is given, so a
test moves a fake clock instead of waiting."""

from __future__ import annotations

import time
from collections.abc import Callable


class Every:
    """Due once per ``period_s`` on ``clock``, the first time one period after it was made; never when
    ``period_s`` is 0 or less."""

    def __init__(self, period_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.period_s = period_s
        self.clock = clock
        self._next = clock() + period_s

    def due(self) -> bool:
        """Whether the period has passed; if so, the next one starts now."""
        if self.period_s <= 0:
            return False
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.period_s
        return True
