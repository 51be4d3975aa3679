"""What a policy would have done with a recorded stream: scoring and the alert desk's logic, in memory.

``firewarden replay`` runs one stream (a recording of the simulators, or the messages the database
stored for a period) under the policy in force and under a changed one, and prints the difference:
alarm episodes and how they were classified, confirmed fires, incidents by class, pages to the
monitoring centre and to inspectors, tier changes and hazards opened. The verification matrix
(:mod:`training.verification`) scores its trials with the same :func:`score`.

The alert desk is replayed with its own pure functions (:func:`alerts.incidents.trigger_of`,
:func:`alerts.incidents.apply`) and routing (:meth:`alerts.roster.Roster.route`), with two
simplifications, the same under both policies: an incident is taken as resolved as soon as nothing of
it is active any more (as if an operator resolved it then), and nobody acknowledges, so reminders and
escalations (which depend on people) are not counted, only the pages that opening an incident or
raising its class sends.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from alerts import Incident, Roster, apply, roster_of, trigger_of
from core.policy import INCIDENT_CLASSES, Policy
from core.registry import RegistryFile
from ingest import Record
from scoring import AlarmDecision, Decision, Engine, Models, RiskScore, Scorer, Signal, Sites


def score(policy: Policy, models: Models, registry: RegistryFile, records: Iterable[Record]) -> list[Decision]:
    """Every decision scoring makes of ``records`` (in order) under ``policy``, then of the time after
    the last: long enough for every alarm episode to end."""
    engine = Engine(Scorer(policy, Sites.of(registry), models))
    decisions: list[Decision] = []
    last = 0.0
    for record in records:
        decisions.extend(engine.process(record))
        last = max(last, record.time.timestamp())
    if last:
        v = policy.verification
        decisions.extend(engine.advance(last + max(v.window_s, v.heat_wait_max_s) + v.episode_idle_s + 1, 0.0))
    return decisions


@dataclass(frozen=True, slots=True)
class Page:
    """A message the desk would send: to the monitoring centre, and to ``inspectors``."""

    time: datetime
    premises_id: str
    subject: str
    """The incident's dedup key, or ``tier:<premises>`` for a tier change."""
    cls: str
    """The incident's class, or ``tier``."""
    inspectors: tuple[str, ...]


@dataclass
class Outcome:
    """What one policy made of a stream."""

    decisions: list[Decision]
    episodes: dict[str, AlarmDecision] = field(default_factory=dict)
    """Alarm id → the episode's latest decision."""
    confirmed: dict[str, AlarmDecision] = field(default_factory=dict)
    """Alarm id → the decision that confirmed it."""
    incidents: Counter[str] = field(default_factory=Counter)
    """Class (the highest it reached) → incidents."""
    pages: list[Page] = field(default_factory=list)
    hazards: int = 0

    @property
    def classes(self) -> Counter[str]:
        """Alarm episodes by their latest classification."""
        return Counter(d.classification for d in self.episodes.values())

    @property
    def incident_pages(self) -> int:
        """Incidents opened or raised uninhibited: each pages the monitoring centre."""
        return sum(1 for page in self.pages if page.cls != "tier")

    @property
    def inspector_pages(self) -> Counter[str]:
        """Inspector → the pages and tier-change notices sent to them."""
        return Counter(i for page in self.pages for i in page.inspectors)

    @property
    def tier_changes(self) -> int:
        return sum(1 for page in self.pages if page.cls == "tier")

    def median_time_to_confirm(self) -> float | None:
        delays = [(d.time - d.opened_at).total_seconds() for d in self.confirmed.values()]
        return statistics.median(delays) if delays else None


def outcome(policy: Policy, roster: Roster, decisions: list[Decision]) -> Outcome:
    """The episodes, incidents, pages and hazards ``decisions`` make under ``policy``."""
    out = Outcome(decisions)
    open_incidents: dict[str, Incident] = {}
    fires: dict[str, Incident] = {}
    reached: dict[int, Incident] = {}
    for decision in decisions:
        if isinstance(decision, AlarmDecision):
            out.episodes[decision.alarm_id] = decision
            if decision.classification == "confirmed":
                out.confirmed.setdefault(decision.alarm_id, decision)
        if isinstance(decision, RiskScore):
            if decision.previous_tier is not None and decision.tier != decision.previous_tier:
                told = _inspectors(roster, decision.premises_id, decision.time) if policy.alerts.tier_changes else ()
                subject = f"tier:{decision.premises_id}"
                out.pages.append(Page(decision.time, decision.premises_id, subject, "tier", told))
            continue
        trigger = trigger_of(decision)
        if trigger is None:
            continue
        site = roster.sites.get(trigger.premises_id)
        current = open_incidents.get(trigger.dedup_key)
        result = apply(
            current,
            trigger,
            jurisdiction_id=site.jurisdiction_id if site else "",
            fire=fires.get(trigger.premises_id),
            policy=policy.alerts,
        )
        if result is None:
            continue
        incident, change = result
        if incident.id is None:
            incident.id = len(reached) + 1  # the database's serial: a fire inhibits others by it
        reached[incident.id] = incident
        open_incidents[trigger.dedup_key] = incident
        if incident.cls == "fire":
            fires[incident.premises_id] = incident
        if change != "updated" and incident.inhibited_by is None:
            told = _inspectors(roster, incident.premises_id, trigger.time) if _tells(policy, incident.cls) else ()
            out.pages.append(Page(trigger.time, incident.premises_id, incident.dedup_key, incident.cls, told))
        if not incident.active:  # as if an operator resolved it as soon as nothing of it was active
            del open_incidents[trigger.dedup_key]
            if fires.get(incident.premises_id) is incident:
                del fires[incident.premises_id]
    out.incidents = Counter(i.cls for i in reached.values())
    out.hazards = _hazards(policy, decisions)
    return out


def _tells(policy: Policy, cls: str) -> bool:
    return policy.alerts.classes[cls].inspectors  # type: ignore[index]


def _inspectors(roster: Roster, premises_id: str, at: datetime) -> tuple[str, ...]:
    return tuple(i.id for i in roster.route(premises_id, at).inspectors)


def _hazards(policy: Policy, decisions: Sequence[Decision]) -> int:
    """Signals of a hazard rule (``schedule.hazards``) held at least the rule's ``after_s``: hazards opened."""
    raised: dict[str, Signal] = {}
    held: list[tuple[Signal, float]] = []
    end = max((d.time.timestamp() for d in decisions), default=0.0)
    for d in decisions:
        if not isinstance(d, Signal) or d.rule not in policy.schedule.hazards:
            continue
        if d.state == "raised":
            raised.setdefault(d.key, d)
        elif d.key in raised:
            start = raised.pop(d.key)
            held.append((start, d.time.timestamp() - start.time.timestamp()))
    held += [(s, end - s.time.timestamp()) for s in raised.values()]
    return sum(1 for s, length in held if length >= policy.schedule.hazards[s.rule].after_s)


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a comparison: what, under the policy in force, under the changed one."""

    name: str
    before: float | None
    after: float | None

    @property
    def difference(self) -> float | None:
        return None if self.before is None or self.after is None else self.after - self.before


@dataclass(frozen=True, slots=True)
class Changed:
    """An alarm episode the two policies judged differently."""

    alarm_id: str
    premises_id: str
    zone: str
    opened_at: datetime
    before: str
    after: str


def compare(before: Outcome, after: Outcome) -> tuple[list[Row], list[Changed]]:
    """The figures of both outcomes side by side, and the episodes whose judgement changed."""
    rows = [
        Row("alarm episodes", len(before.episodes), len(after.episodes)),
        Row("confirmed fires", len(before.confirmed), len(after.confirmed)),
        *(Row(f"episodes ending {c}", before.classes[c], after.classes[c]) for c in ("unverified", "nuisance_likely")),
        Row("median s from alarm to confirmed", before.median_time_to_confirm(), after.median_time_to_confirm()),
        *(Row(f"{c} incidents", before.incidents[c], after.incidents[c]) for c in INCIDENT_CLASSES),
        Row("pages to the monitoring centre", before.incident_pages, after.incident_pages),
        Row("messages to inspectors", before.inspector_pages.total(), after.inspector_pages.total()),
        Row(
            "messages to the busiest inspector",
            max(before.inspector_pages.values(), default=0),
            max(after.inspector_pages.values(), default=0),
        ),
        Row("tier changes", before.tier_changes, after.tier_changes),
        Row("hazards opened", before.hazards, after.hazards),
    ]
    changed = []
    for alarm_id in sorted(before.episodes.keys() | after.episodes.keys()):
        a, b = _judgement(before, alarm_id), _judgement(after, alarm_id)
        if a != b:
            episode = before.episodes.get(alarm_id) or after.episodes[alarm_id]
            changed.append(Changed(alarm_id, episode.premises_id, episode.zone, episode.opened_at, a, b))
    return rows, changed


def _judgement(out: Outcome, alarm_id: str) -> str:
    confirmed = out.confirmed.get(alarm_id)
    if confirmed is not None:
        return f"confirmed ({confirmed.reason})"
    latest = out.episodes.get(alarm_id)
    return "-" if latest is None else f"{latest.classification} ({latest.reason})"


def replay(
    before: Policy, after: Policy, models: Models, registry: RegistryFile, records: Sequence[Record]
) -> tuple[Outcome, Outcome]:
    """The stream under both policies."""
    roster = roster_of(registry)
    return (
        outcome(before, roster, score(before, models, registry, records)),
        outcome(after, roster, score(after, models, registry, records)),
    )
