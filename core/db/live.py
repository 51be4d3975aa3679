"""A premises' incidents in SQL by urgency: the classes' order, and its live state (what is happening
there now, shown before its tier, the long-run risk)."""

from __future__ import annotations

from typing import Final

from core.policy import INCIDENT_CLASSES

LIVE_CLASSES: Final = tuple(c for c in INCIDENT_CLASSES if c != "nuisance")
"""Incident classes that make a live state, most urgent first (a nuisance is no live danger)."""


def class_priority(column: str) -> str:
    """A SQL expression ranking the incident class in ``column``: 1 for a fire, the most urgent."""
    return f"CASE {column} " + " ".join(f"WHEN '{c}' THEN {n}" for n, c in enumerate(INCIDENT_CLASSES, 1)) + " END"


def live_state(premises_column: str) -> str:
    """A scalar subquery: the class of the premises' most urgent open incident, NULL when none is open.

    ``premises_column`` is the SQL column holding the premises id in the enclosing query (``p.id``)."""
    classes = ", ".join(f"'{c}'" for c in LIVE_CLASSES)
    return (
        f"(SELECT i.class FROM incidents i WHERE i.premises_id = {premises_column} AND i.state <> 'resolved' "
        f"AND i.class IN ({classes}) ORDER BY {class_priority('i.class')} LIMIT 1)"
    )
