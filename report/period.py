"""The period a report covers: a year, a quarter, a month or a range of days, in the authority's time zone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from report.errors import PeriodError

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\.\.(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, slots=True)
class Period:
    """``[start, end)`` as aware datetimes in ``tz``; ``label`` is what the user asked for."""

    label: str
    start: datetime
    end: datetime

    @property
    def months(self) -> list[datetime]:
        """The first instant of every calendar month the period touches, in its time zone."""
        out = []
        month = self.start.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        while month < self.end:
            out.append(month)
            month = _next_month(month)
        return out

    def clipped(self, now: datetime) -> datetime:
        """The period's end, or now when the period is still running: what "at the end" can mean today."""
        return min(self.end, now.astimezone(self.end.tzinfo))


def _next_month(at: datetime) -> datetime:
    return at.replace(year=at.year + 1, month=1) if at.month == 12 else at.replace(month=at.month + 1)


def timezone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PeriodError(f"unknown time zone {name!r} (an IANA name such as Asia/Shanghai)") from None


def parse_period(text: str, tz: ZoneInfo) -> Period:
    """``2026``, ``2026-Q3``, ``2026-11`` or ``2026-01-01..2026-06-30`` (both days included)."""
    text = text.strip()
    try:
        if m := _YEAR.match(text):
            start = datetime(int(m[1]), 1, 1, tzinfo=tz)
            return Period(text, start, start.replace(year=start.year + 1))
        if m := _QUARTER.match(text):
            start = datetime(int(m[1]), 3 * int(m[2]) - 2, 1, tzinfo=tz)
            end = start
            for _ in range(3):
                end = _next_month(end)
            return Period(text, start, end)
        if m := _MONTH.match(text):
            start = datetime(int(m[1]), int(m[2]), 1, tzinfo=tz)
            return Period(text, start, _next_month(start))
        if m := _RANGE.match(text):
            first, last = date.fromisoformat(m[1]), date.fromisoformat(m[2])
            if last < first:
                raise PeriodError(f"period {text!r}: the last day is before the first")
            start = datetime(first.year, first.month, first.day, tzinfo=tz)
            end = datetime(last.year, last.month, last.day, tzinfo=tz) + timedelta(days=1)
            return Period(text, start, end)
    except ValueError as error:
        raise PeriodError(f"period {text!r}: {error}") from None
    raise PeriodError(
        f"period {text!r} is not a year (2026), a quarter (2026-Q3), a month (2026-11) "
        "or a range of days (2026-01-01..2026-06-30)"
    )
