"""Errors of the alerts stage, under :class:`core.errors.FirewardenError`."""

from __future__ import annotations

from core.errors import FirewardenError


class ActionError(FirewardenError):
    """An operator's or inspector's action that cannot be done: an unknown incident, hazard or task,
    a state that does not allow it, a resolution code that does not exist. Nothing is changed."""


class EvidenceError(ActionError):
    """A file that cannot be kept as evidence; ``status`` is the HTTP status that says why."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class ChecklistError(ActionError):
    """A checklist set that cannot be used, with where it is wrong."""
