"""Incidents: what scoring's decisions become on the operators' queue, decided without I/O.

One incident per premises and group (the zone of an alarm, the rule of a signal) for as long as it
is open: its **dedup key** is ``{premises}/{group}``, and a decision with that key updates the open
incident instead of opening another (the database holds at most one open incident per key). A
confirmed fire **inhibits** the lower incidents of its premises: they are recorded and shown, but
nobody is paged for them until the fire is resolved.

:func:`trigger_of` reads a decision; :func:`apply` folds it into the open incident (or opens one);
:func:`escalation_step` says what an unacknowledged incident is owed at a given time.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

import msgspec

from core.policy import INCIDENT_CLASSES, AlertsPolicy, IncidentClass
from core.words import Label, label, render
from scoring import AlarmDecision, Decision, Signal

PRIORITY: dict[IncidentClass, int] = {c: rank for rank, c in enumerate(INCIDENT_CLASSES, start=1)}
"""1 is the most urgent."""

IncidentState = Literal["open", "acknowledged", "resolved"]

RESOLUTIONS: dict[str, str] = {
    "real_fire": "a real fire",
    "false_alarm_cooking": "false alarm: cooking, steam or smoking",
    "false_alarm_dust": "false alarm: dust, insects or construction work",
    "false_alarm_malfunction": "false alarm: detector or panel malfunction",
    "false_alarm_test": "false alarm: an unannounced test or maintenance",
    "false_alarm_other": "false alarm: another cause (say which in the note)",
    "device_fault": "a device fault, handed to maintenance",
    "hazard_handled": "a hazard, handed to the hazard process",
    "condition_cleared": "the condition cleared by itself",
    "duplicate": "a duplicate of another incident",
}
"""Resolution code → what it means. Codes starting ``false_alarm`` count in a premises' false-alarm history."""

_SIGNAL_CLASS: dict[str, IncidentClass] = {
    "hazard_candidate": "hazard",
    "supervisory": "supervisory",
    "trouble": "trouble",
}


@dataclass(frozen=True, slots=True)
class Trigger:
    """What one decision means for the queue."""

    premises_id: str
    dedup_key: str
    cls: IncidentClass
    zone: str
    label: Label
    """What happened, as a message code and its arguments (:mod:`core.words`)."""
    ref: str
    """The decision's own identity: an alarm id, a signal key."""
    active: bool
    """False for a cleared signal or an alarm episode's final decision."""
    time: datetime
    evidence: tuple[dict[str, Any], ...] = ()
    """An alarm decision's evidence (:class:`scoring.records.Evidence`, as JSON): what it relied on."""


def urgent(decision: Decision) -> bool:
    """Alarm decisions (fire, alarm, nuisance) are handled before signals and risk scores."""
    return isinstance(decision, AlarmDecision)


def trigger_of(decision: Decision) -> Trigger | None:
    """The trigger in ``decision``, or None for risk scores (the schedule handles those)."""
    if isinstance(decision, AlarmDecision):
        cls: IncidentClass = {"confirmed": "fire", "unverified": "alarm", "nuisance_likely": "nuisance"}[
            decision.classification
        ]  # type: ignore[assignment]
        zone = decision.zone or "-"
        return Trigger(
            decision.premises_id,
            f"{decision.premises_id}/alarm/{zone}",
            cls,
            zone,
            label(f"incident.{cls}", zone=zone, reason=decision.reason),
            decision.alarm_id,
            not decision.final,
            decision.time,
            tuple(msgspec.to_builtins(decision.evidence)),
        )
    if isinstance(decision, Signal):
        cls = _SIGNAL_CLASS[decision.kind]
        said = (
            label("incident.signal_point", rule=decision.rule, device=decision.device_id, point=decision.subject)
            if decision.subject
            else label("incident.signal", rule=decision.rule, device=decision.device_id)
        )
        return Trigger(
            decision.premises_id,
            f"{decision.premises_id}/{decision.kind}/{decision.rule}",
            cls,
            "",
            said,
            decision.key,
            decision.state == "raised",
            decision.time,
        )
    return None


@dataclass(slots=True)
class Incident:
    dedup_key: str
    premises_id: str
    jurisdiction_id: str
    zone: str
    cls: IncidentClass
    label: Label
    state: IncidentState
    opened_at: datetime
    updated_at: datetime
    events: int = 1
    refs: dict[str, bool] = field(default_factory=dict)
    inhibited_by: int | None = None
    escalation_level: int = 0
    next_escalation_at: datetime | None = None
    reminders: int = 0
    notified: list[str] = field(default_factory=list)
    id: int | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    evidence: list[dict[str, object]] = field(default_factory=list)
    """Every alarm, heat and flow its alarm decisions relied on, in the order they happened (at most
    :data:`EVIDENCE_KEPT`, the earliest)."""

    @property
    def priority(self) -> int:
        return PRIORITY[self.cls]

    @property
    def title(self) -> str:
        """The label in English: the ``title`` column and payload field for integrations."""
        return render("en", self.label)

    @property
    def active(self) -> bool:
        return any(self.refs.values())


EVIDENCE_KEPT = 100
"""An incident keeps this much evidence at most: a flapping detector's hundredth alarm adds nothing."""


def merged(evidence: list[dict[str, object]], more: tuple[dict[str, object], ...]) -> list[dict[str, object]]:
    """``evidence`` with ``more``, each piece once, in the order it happened."""
    if not more:
        return evidence
    seen = {_identity(e) for e in evidence}
    added = [e for e in more if _identity(e) not in seen]
    return sorted([*evidence, *added], key=_when)[:EVIDENCE_KEPT]


def _when(piece: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(str(piece["time"]))


def _identity(piece: dict[str, Any]) -> bytes:
    # Keys sorted: evidence read back from PostgreSQL's jsonb comes in jsonb's own key order.
    return msgspec.json.encode(piece, order="sorted")


Change = Literal["opened", "raised", "spread", "updated"]
"""``opened``: a new incident; ``raised``: its class rose (an alarm confirmed as a fire), which pages
again and wants a new acknowledgement; ``spread``: a premises' fire confirmed in another zone too
(:func:`join_fire`), which pages again; ``updated``: more of the same, for the queue only."""


def apply(
    current: Incident | None,
    trigger: Trigger,
    *,
    jurisdiction_id: str,
    fire: Incident | None,
    policy: AlertsPolicy,
) -> tuple[Incident, Change] | None:
    """Fold ``trigger`` into the open incident of its key; None when there is nothing to record.

    ``fire`` is the premises' open fire incident, if any: a new lower incident is inhibited by it.
    """
    if current is None:
        if not trigger.active:
            return None  # a clear with nothing open: the raise was already resolved
        inhibited = fire.id if fire is not None and PRIORITY[trigger.cls] > PRIORITY["fire"] else None
        incident = Incident(
            dedup_key=trigger.dedup_key,
            premises_id=trigger.premises_id,
            jurisdiction_id=jurisdiction_id,
            zone=trigger.zone,
            cls=trigger.cls,
            label=trigger.label,
            state="open",
            opened_at=trigger.time,
            updated_at=trigger.time,
            refs={trigger.ref: True},
            inhibited_by=inhibited,
            evidence=merged([], trigger.evidence),
        )
        incident.next_escalation_at = first_escalation(incident, policy)
        return incident, "opened"
    incident = replace(current, refs={**current.refs, trigger.ref: trigger.active})
    incident.evidence = merged(current.evidence, trigger.evidence)
    incident.events += 1
    incident.updated_at = max(current.updated_at, trigger.time)
    if PRIORITY[trigger.cls] < PRIORITY[current.cls] and trigger.active:
        incident.cls = trigger.cls
        incident.label = trigger.label
        incident.state = "open"
        incident.acknowledged_at = incident.acknowledged_by = None
        if trigger.cls == "fire":
            incident.inhibited_by = None
        incident.escalation_level = 0
        incident.reminders = 0
        incident.next_escalation_at = first_escalation(incident, policy, since=trigger.time)
        return incident, "raised"
    return incident, "updated"


def joins_fire(fire: Incident, trigger: Trigger) -> bool:
    """One fire is one fire: a confirmed fire at a premises whose fire is open under another key (another
    zone), or more of an alarm that fire already holds, joins that fire instead of making its own."""
    if fire.dedup_key == trigger.dedup_key:
        return False
    return trigger.cls == "fire" or trigger.ref in fire.refs


def join_fire(fire: Incident, trigger: Trigger) -> tuple[Incident, Change]:
    """Fold ``trigger`` into the premises' open fire (:func:`joins_fire`): a zone confirmed anew is the
    fire ``spread`` to it (its zones listed, its title saying so), anything else an update."""
    joined = replace(fire, refs={**fire.refs, trigger.ref: trigger.active}, notified=list(fire.notified))
    joined.evidence = merged(fire.evidence, trigger.evidence)
    joined.events += 1
    joined.updated_at = max(fire.updated_at, trigger.time)
    zones = [z for z in fire.zone.split(ZONES_JOINED) if z]
    if trigger.cls == "fire" and trigger.active and trigger.zone not in zones:
        joined.zone = ZONES_JOINED.join([*zones, trigger.zone])
        joined.label = label("incident.fire_spread", zone=trigger.zone, zones=joined.zone)
        return joined, "spread"
    return joined, "updated"


ZONES_JOINED = ", "
"""How a fire's zones are listed in its ``zone`` once it spread."""


def first_escalation(incident: Incident, policy: AlertsPolicy, since: datetime | None = None) -> datetime | None:
    """When an open, uninhibited incident is first owed an escalation or a reminder; None: never."""
    if incident.state != "open" or incident.inhibited_by is not None:
        return None
    rules = policy.classes[incident.cls]
    wait = rules.ack_within_s if rules.ack_within_s is not None else rules.remind_every_s
    if wait is None:
        return None
    return (since or incident.opened_at) + timedelta(seconds=wait)


Step = Literal["escalate", "remind"]


def escalation_step(incident: Incident, now: datetime, policy: AlertsPolicy) -> tuple[Step, Incident] | None:
    """What an incident is owed at ``now``: climb a level, remind, or nothing.

    An open incident climbs one jurisdiction level per ``ack_within_s`` up to ``escalation_levels``;
    after that everyone told so far is reminded every ``remind_every_s`` until someone acknowledges.
    """
    due = incident.next_escalation_at
    if incident.state != "open" or incident.inhibited_by is not None or due is None or now < due:
        return None
    rules = policy.classes[incident.cls]
    after = replace(incident, notified=list(incident.notified))
    if rules.ack_within_s is not None and incident.escalation_level < policy.escalation_levels:
        after.escalation_level += 1
        step: Step = "escalate"
        wait = rules.ack_within_s if after.escalation_level < policy.escalation_levels else rules.remind_every_s
    else:
        after.reminders += 1
        step = "remind"
        wait = rules.remind_every_s
    if wait is None:
        after.next_escalation_at = None
    else:
        # Counted from the due time, so a tick a little late keeps the policy's cadence; after an
        # outage, missed reminders are not sent in a burst: one now, the next a full period later.
        step_after = timedelta(seconds=wait)
        after.next_escalation_at = due + step_after if due + step_after > now else now + step_after
    return step, after
