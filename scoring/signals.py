"""Raising and clearing signals once: the one place that turns a rule's verdict into a :class:`Signal`."""

from __future__ import annotations

from datetime import UTC, datetime

from core.policy import SignalKind
from scoring.records import Decision, Signal
from scoring.state import PremisesState


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


class Signals:
    """Collects the decisions of one step; raising an active signal or clearing an idle one is a no-op."""

    def __init__(self, state: PremisesState) -> None:
        self.state = state
        self.out: list[Decision] = []

    def raise_(
        self,
        t: float,
        device_id: str,
        rule: str,
        kind: SignalKind,
        subject: str = "",
        evidence: dict[str, float | str] | None = None,
    ) -> None:
        key = f"{device_id}/{rule}/{subject}"
        if key in self.state.signals:
            return
        self.state.signals[key] = rule
        self.state.signal_kinds[key] = kind
        if kind == "hazard_candidate":
            self.state.hazards.append(t)
        self.state.risk.dirty = True
        self.out.append(
            Signal(utc(t), self.state.premises_id, device_id, rule, kind, "raised", subject, evidence or {})
        )

    def clear(
        self, t: float, device_id: str, rule: str, subject: str = "", evidence: dict[str, float | str] | None = None
    ) -> None:
        key = f"{device_id}/{rule}/{subject}"
        if key not in self.state.signals:
            return
        del self.state.signals[key]
        kind = self.state.signal_kinds.pop(key)
        self.state.risk.dirty = True
        self.out.append(
            Signal(utc(t), self.state.premises_id, device_id, rule, kind, "cleared", subject, evidence or {})  # type: ignore[arg-type]
        )
