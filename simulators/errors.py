"""Errors of the simulators, under :class:`core.errors.FirewardenError`."""

from __future__ import annotations

from core.errors import FirewardenError


class PublishError(FirewardenError):
    """The broker could not be reached, or refused the connection."""


class RecordingError(FirewardenError):
    """A recorded stream file is damaged; the message names the line."""


class ScenarioError(FirewardenError):
    """A scenario file was rejected; the message names the event and the field."""
