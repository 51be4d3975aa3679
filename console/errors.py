"""Errors of the console stage, under :class:`core.errors.FirewardenError`."""

from __future__ import annotations

from core.errors import FirewardenError


class AccountError(FirewardenError):
    """A user or API token that cannot be made or changed (unknown inspector, weak password, taken id)."""
