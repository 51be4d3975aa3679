"""Credit supervision (信用监管) decided without I/O: which status an event lists a unit as, and when a
listed unit's credit is repaired.

Statuses, from best to worst: ``trustworthy`` 守信, ``normal``, ``watchlist`` 一般失信, ``untrustworthy``
严重失信. An event (policy ``credit.listing``) lists the unit at least as its status says and never
improves it; repair (信用修复) brings a listed unit back to ``normal`` after the policy's clean
period, once it has no open case and no overdue hazard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from core.policy import CreditEvent, CreditPolicy

RANK: Final = {"trustworthy": 0, "normal": 1, "watchlist": 2, "untrustworthy": 3}


def after_event(current: str, event: CreditEvent, policy: CreditPolicy) -> str | None:
    """The status ``event`` lists a unit of status ``current`` as; None when it does not change."""
    listed = policy.listing.get(event)
    if listed is None or RANK[listed] <= RANK.get(current, 1):
        return None
    return listed


def repeated_major_hazards(listed_at: list[datetime], now: datetime, policy: CreditPolicy) -> bool:
    """Whether the major hazards listed at these times are ``repeated_major_hazards`` now."""
    since = now - timedelta(days=policy.major_hazards_days)
    return sum(1 for at in listed_at if at >= since) >= policy.major_hazards


@dataclass(frozen=True, slots=True)
class Record:
    """What repair looks at for one listed premises."""

    status: str
    last_event_at: datetime
    """The latest listing event (or change to this status)."""
    open_cases: int
    overdue_hazards: int


def repair_due(record: Record, now: datetime, policy: CreditPolicy) -> bool:
    """Whether a listed unit's credit is repaired to ``normal`` now."""
    days = next((d for status, d in policy.repair_after_days.items() if status == record.status), None)
    if days is None or RANK.get(record.status, 1) <= RANK["normal"]:
        return False
    clean_since = now - record.last_event_at
    return clean_since >= timedelta(days=days) and record.open_cases == 0 and record.overdue_hazards == 0
