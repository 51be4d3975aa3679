"""Errors of the report, under :class:`core.errors.FirewardenError`."""

from __future__ import annotations

from core.errors import FirewardenError


class PeriodError(FirewardenError):
    """A period or time zone that cannot be read."""


class ReportError(FirewardenError):
    """A report that cannot be made: an unknown jurisdiction."""
