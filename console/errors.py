"""Errors of the console stage, under :class:`core.errors.FirewardenError`."""

from __future__ import annotations

from core.errors import FirewardenError


class Throttled(FirewardenError):
    """Too many failed logins for a user or from an address within the window: refused unchecked."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class AccountError(FirewardenError):
    """A user or API token that cannot be made or changed (unknown inspector, weak password, taken id)."""
