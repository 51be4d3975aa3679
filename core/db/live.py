"""A premises' live state in SQL: what is happening there now, shown before its tier (the long-run risk)."""

from __future__ import annotations

from typing import Final

LIVE_CLASSES: Final = ("fire", "alarm", "hazard", "supervisory", "trouble")
"""Incident classes that make a live state, most urgent first (a nuisance is no live danger)."""


def live_state(premises_column: str) -> str:
    """A scalar subquery: the class of the premises' most urgent open incident, NULL when none is open.

    ``premises_column`` is the SQL column holding the premises id in the enclosing query (``p.id``)."""
    order = "CASE i.class " + " ".join(f"WHEN '{c}' THEN {n}" for n, c in enumerate(LIVE_CLASSES)) + " END"
    classes = ", ".join(f"'{c}'" for c in LIVE_CLASSES)
    return (
        f"(SELECT i.class FROM incidents i WHERE i.premises_id = {premises_column} AND i.state <> 'resolved' "
        f"AND i.class IN ({classes}) ORDER BY {order} LIMIT 1)"
    )
