"""The random draw (双随机、一公开) that anyone can check: its seed comes from the period and a value
published before the draw (the beacon: a lottery result, an index's close, announced in advance), its
inputs are recorded with it, and its result can be recomputed and exported for publication.

``seed_of(period, beacon)`` is the first 8 bytes of SHA-256 over ``firewarden-draw/1|<period>|<beacon>``
as an unsigned integer shifted right by one (it fits PostgreSQL's bigint). :func:`run_draw` records the
pool of premises, each one's eligible inspectors and its regular inspector (never drawn for it), and
the policy's share and inspectors per premises (table ``draw_runs``); :func:`verify` draws again from
those and compares with what was stored.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from psycopg.types.json import Jsonb

from alerts.errors import ActionError
from alerts.schedule import Drawn, draw
from alerts.store.desk import Desk
from alerts.store.prevention import SYSTEM
from core.db import Cursor
from core.db.audit import record as audit
from core.policy import SchedulePolicy
from core.words import label

Published = dict[str, object]
"""A row of a draw's publication: premises, unit, inspectors by name, seed, beacon, drawn at, inspection, result."""

SEED_FORMAT = "firewarden-draw/1"


def seed_of(period: str, beacon: str) -> int:
    """The draw's seed from its period and the value published before it."""
    digest = hashlib.sha256(f"{SEED_FORMAT}|{period}|{beacon}".encode()).digest()
    return int.from_bytes(digest[:8], "big") >> 1


def run_draw(
    desk: Desk, period: str, seed: int | None, now: datetime, actor: str = SYSTEM, beacon: str | None = None
) -> list[tuple[str, tuple[str, ...]]]:
    """Draw ``period``'s premises and inspectors (双随机), record it with its inputs, and give each
    inspector a task. The seed is ``seed_of(period, beacon)`` when a beacon is given (a published
    draw), else ``seed``.

    The pool is every premises whose tier is a draw-pool tier (blue by default), or not yet scored, drawn
    at ``schedule.draw_share``; premises whose credit status has a share in ``credit.draw_share`` (listed
    units) are drawn from strata of their own at that share, whatever their tier.
    Inspectors come from the premises' city, never its regular inspector. A period is drawn once:
    drawing it again is refused, as a second draw would let someone pick the result they liked.
    """
    if beacon is not None:
        if not beacon.strip():
            raise ActionError("the beacon (the value published before the draw) is empty")
        seed = seed_of(period, beacon)
    if seed is None:
        raise ActionError("a draw needs a seed or a beacon")
    policy = desk.policy.schedule
    roster = desk.roster
    with desk.cursor() as cur:
        cur.execute("SELECT seed FROM draws WHERE period = %s UNION SELECT seed FROM draw_runs WHERE period = %s",
                    (period, period))  # fmt: skip
        if (done := cur.fetchone()) is not None:
            raise ActionError(f"period {period} was already drawn (seed {done['seed']}); a period is drawn once")
        cur.execute("SELECT premises_id, tier FROM premises_schedule")
        tiers = {row["premises_id"]: row["tier"] for row in cur.fetchall()}
        cur.execute("SELECT id, credit_status FROM premises")
        credit = {row["id"]: row["credit_status"] for row in cur.fetchall()}
        pool_tiers = {name for name, rules in policy.tiers.items() if rules.draw_pool}
        shares = dict(desk.policy.credit.draw_share)
        strata: dict[str, dict[str, Any]] = {
            status: {"share": share, "pool": sorted(p for p in roster.sites if credit.get(p) == status)}
            for status, share in sorted(shares.items())
        }
        usual = sorted(p for p in roster.sites if tiers.get(p, "blue") in pool_tiers and credit.get(p) not in shares)
        strata[""] = {"share": policy.draw_share, "pool": usual}
        pool = sorted(p for stratum in strata.values() for p in stratum["pool"])
        by_city: dict[str, list[str]] = {}
        for inspector in roster.inspectors.values():
            by_city.setdefault(roster.city_of(inspector.jurisdiction_id), []).append(inspector.id)
        candidates: dict[str, Sequence[str]] = {
            p: sorted(by_city.get(roster.city_of(roster.sites[p].jurisdiction_id), [])) for p in pool
        }
        regular = {p: (i.id if (i := roster.regular_inspector(p)) else None) for p in pool}
        drawn = draw_strata(period, seed, strata, candidates, regular, policy.draw_inspectors)
        cur.execute(
            "INSERT INTO draw_runs (period, beacon, seed, pool, candidates, regular, draw_share, draw_inspectors, "
            "drawn_at, drawn_by, strata) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (period, beacon, seed, Jsonb(pool), Jsonb(candidates), Jsonb(regular), policy.draw_share,
             policy.draw_inspectors, now, actor, Jsonb(strata)),
        )  # fmt: skip
        due = now + timedelta(days=policy.draw_due_days)
        for d in drawn:
            cur.execute(
                "INSERT INTO draws (period, premises_id, inspectors, seed, drawn_at) VALUES (%s, %s, %s, %s, %s)",
                (period, d.premises_id, list(d.inspectors), seed, now),
            )
            for inspector_id in d.inspectors:
                partners = [i for i in d.inspectors if i != inspector_id]
                reason = label("task.draw", period=period, partners=partners)
                key = f"draw:{period}:{d.premises_id}:{inspector_id}"
                desk.prevention.task(
                    cur, key, d.premises_id, inspector_id, "draw", reason, due, now, tier=tiers.get(d.premises_id)
                )
        audit(cur, now, actor, "draw.made", f"draw:{period}", seed=seed, beacon=beacon, pool=len(pool),
              drawn=len(drawn))  # fmt: skip
    return [(d.premises_id, d.inspectors) for d in drawn]


def draw_strata(
    period: str, seed: int, strata: dict[str, dict[str, Any]], candidates: dict[str, Sequence[str]],
    regular: dict[str, str | None], inspectors: int,
) -> list[Drawn]:  # fmt: skip
    """The draw stratum by stratum: ``""`` is the draw-pool tiers at the schedule's share; a credit
    status's stratum (信用监管: listed units drawn at a higher share) draws with the period named
    ``<period>/<status>``, so each stratum's draw is independent of the others."""
    out: list[Drawn] = []
    for name, stratum in sorted(strata.items()):
        rules = SchedulePolicy(draw_share=stratum["share"], draw_inspectors=inspectors)
        out += draw(f"{period}/{name}" if name else period, seed, stratum["pool"], candidates, regular, rules)
    return sorted(out, key=lambda d: d.premises_id)


@dataclass(frozen=True, slots=True)
class Verdict:
    period: str
    beacon: str | None
    seed: int
    seed_matches: bool
    """The stored seed is the one its period and beacon give (always true for a draw without beacon)."""
    result_matches: bool
    """Drawing again from the recorded inputs gives exactly the stored premises and inspectors."""
    drawn: int
    pool: int

    @property
    def intact(self) -> bool:
        return self.seed_matches and self.result_matches


def verify(cur: Cursor, period: str) -> Verdict:
    """Recompute ``period``'s draw from its recorded inputs; raises ActionError when it has none."""
    cur.execute("SELECT * FROM draw_runs WHERE period = %s", (period,))
    run = cur.fetchone()
    if run is None:
        raise ActionError(f"no published draw for period {period} (draws made before draw_runs cannot be verified)")
    strata = run["strata"] or {"": {"share": run["draw_share"], "pool": run["pool"]}}
    again = draw_strata(period, run["seed"], strata, run["candidates"], run["regular"], run["draw_inspectors"])
    cur.execute("SELECT premises_id, inspectors FROM draws WHERE period = %s ORDER BY premises_id", (period,))
    stored = [(r["premises_id"], tuple(sorted(r["inspectors"]))) for r in cur.fetchall()]
    seed_ok = run["beacon"] is None or seed_of(period, run["beacon"]) == run["seed"]
    same = stored == [(d.premises_id, d.inspectors) for d in again]
    return Verdict(period, run["beacon"], run["seed"], seed_ok, same, len(stored), len(run["pool"]))


def publication(cur: Cursor, period: str) -> list[Published]:
    """What is published of ``period``'s draw (一公开): each premises drawn, its unit, the inspectors
    drawn by name, the seed and beacon, and the outcome of the inspection so far."""
    cur.execute(
        "SELECT d.period, d.premises_id, p.name AS premises_name, p.address, p.unit_name, "
        "  array(SELECT i.name FROM unnest(d.inspectors) AS x(id) JOIN inspectors i ON i.id = x.id ORDER BY i.name) "
        "    AS inspectors, d.seed, r.beacon, d.drawn_at, "
        "  (SELECT CASE WHEN bool_and(t.state = 'done') THEN 'done' "
        "          WHEN bool_or(t.state = 'done') THEN 'partly done' ELSE 'open' END FROM tasks t "
        "   WHERE t.dedup_key LIKE 'draw:' || d.period || ':' || d.premises_id || ':%%') AS inspection, "
        "  (SELECT string_agg(DISTINCT t.result, ',') FROM tasks t "
        "   WHERE t.dedup_key LIKE 'draw:' || d.period || ':' || d.premises_id || ':%%' AND t.result IS NOT NULL) "
        "    AS result "
        "FROM draws d JOIN premises p ON p.id = d.premises_id LEFT JOIN draw_runs r ON r.period = d.period "
        "WHERE d.period = %s ORDER BY d.premises_id",
        (period,),
    )
    return cur.fetchall()


def as_csv(rows: list[Published]) -> str:
    out = io.StringIO()
    columns = ["period", "premises_id", "premises_name", "address", "unit_name", "inspectors", "seed", "beacon",
               "drawn_at", "inspection", "result"]  # fmt: skip
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in rows:
        writer.writerow([_cell(c, r[c]) for c in columns])
    return out.getvalue()


def _cell(column: str, value: Any) -> str:
    if value is None:
        return ""
    if column == "inspectors":
        return "、".join(value)
    if column == "drawn_at":
        return str(value.isoformat())
    return str(value)
