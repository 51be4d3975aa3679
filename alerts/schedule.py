"""The dual-prevention schedule, decided without I/O: inspection due dates by tier, hazard timing, the draw.

风险分级管控: a premises' tier sets how soon and how often it is inspected (policy ``schedule.tiers``).
隐患排查治理: a signal held long enough opens a hazard with a deadline (``schedule.hazards``).
双随机: each period a seeded, reproducible draw picks premises from the pool and inspectors for each,
never the premises' own regular inspector.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.policy import HazardRule, SchedulePolicy
from core.words import Label, label

TIER_RANK = {"red": 0, "orange": 1, "yellow": 2, "blue": 3}
"""Sort key: red first."""


@dataclass(frozen=True, slots=True)
class Due:
    at: datetime
    reason: Label


def inspection_due(
    tier: str, tier_since: datetime, last_inspected: datetime | None, policy: SchedulePolicy, factor: float = 1.0
) -> Due:
    """When the next inspection of a premises is due, and why.

    After entering a tier with a ``first_within_days``, the first inspection is due that soon unless
    one already happened since entering; then one per ``every_days`` (times ``factor``: a unit listed
    for its credit is visited more often) after the last inspection (or after entering the tier, for a
    premises never inspected).
    """
    rules = policy.tiers[tier]
    inspected_in_tier = last_inspected is not None and last_inspected >= tier_since
    if rules.first_within_days is not None and not inspected_in_tier:
        return Due(
            tier_since + timedelta(days=rules.first_within_days),
            label("task.first_inspection", tier=tier, since=tier_since, days=rules.first_within_days),
        )
    since = last_inspected if last_inspected is not None else tier_since
    days = round(rules.every_days * factor, 2)
    return Due(since + timedelta(days=days), label("task.cadence", tier=tier, days=days))


def hazard_rule(rule: str, policy: SchedulePolicy) -> HazardRule | None:
    return policy.hazards.get(rule)


def hazard_deadline(opened_at: datetime, days: float) -> datetime:
    return opened_at + timedelta(days=days)


@dataclass(frozen=True, slots=True)
class Drawn:
    premises_id: str
    inspectors: tuple[str, ...]


def draw(
    period: str,
    seed: int,
    pool: Sequence[str],
    candidates: dict[str, Sequence[str]],
    regular: dict[str, str | None],
    policy: SchedulePolicy,
) -> list[Drawn]:
    """The period's random draw: premises from ``pool`` and inspectors for each.

    ``candidates`` maps a premises to the inspectors who may inspect it, ``regular`` to its own
    inspector, who is never drawn for it. The same period, seed and inputs give the same draw
    whatever their order (everything is sorted first). A premises without ``draw_inspectors``
    eligible inspectors is skipped rather than half-staffed.
    """
    rng = random.Random(f"{seed}/{period}")
    ordered = sorted(set(pool))
    if not ordered:
        return []
    count = max(1, round(len(ordered) * policy.draw_share))
    out: list[Drawn] = []
    for premises_id in rng.sample(ordered, min(count, len(ordered))):
        own = regular.get(premises_id)
        eligible = sorted({i for i in candidates.get(premises_id, ()) if i != own})
        if len(eligible) < policy.draw_inspectors:
            continue
        out.append(Drawn(premises_id, tuple(sorted(rng.sample(eligible, policy.draw_inspectors)))))
    return sorted(out, key=lambda d: d.premises_id)
