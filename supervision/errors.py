"""Errors of the supervision stage, under :class:`core.errors.FirewardenError`."""

from __future__ import annotations

from alerts import ActionError


class CaseError(ActionError):
    """A step the case does not allow now; nothing is changed."""
