"""Errors of the scoring stage, under :class:`core.errors.FirewardenError`."""

from __future__ import annotations

from core.errors import FirewardenError


class ModelError(FirewardenError):
    """A model file is missing, unreadable, of the wrong kind or made for other features."""
