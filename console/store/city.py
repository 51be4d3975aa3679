"""The city at a glance: tier counts and the map, devices offline, KPIs by jurisdiction, the audit log.

Same contract as :mod:`console.store.reads`: every query is filtered in SQL by the caller's scope.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from console.store.reads import IN_SCOPE, Scope, scope_param
from core.db import Pool, live_state, rows
from report import Figures, Period, compute

_ALARM_CLASSES = "('fire', 'alarm', 'nuisance')"


class City:
    """The whole city's figures, over one pool; each query in its own short transaction."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool

    def rows(self, query: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return rows(self.pool, query, params)

    def report(self, period: Period, jurisdiction: str | None, now: datetime) -> Figures:
        """The report's figures of ``period`` for ``jurisdiction`` (with its sub-jurisdictions; None: all)."""
        with self.pool.connection() as conn:
            return compute(conn, period, jurisdiction, now)

    def overview(self, scope: Scope) -> dict[str, Any]:
        """Tier counts, open incidents by class, every premises as ``[id, name, lat, lon, tier, fire, live]``
        (``live``: the class of its most urgent open incident, or None), and the boundaries of the
        jurisdictions in scope that have one (``[{id, name, kind, boundary}]``)."""
        params = {"scope": scope_param(scope)}
        points = self.rows(
            "SELECT p.id, p.name, p.latitude, p.longitude, coalesce(s.tier, 'unscored') AS tier, "
            f"{live_state('p.id')} AS live "
            "FROM premises p LEFT JOIN premises_schedule s ON s.premises_id = p.id "
            f"WHERE {IN_SCOPE.format(column='p.jurisdiction_id')} ORDER BY p.id",
            params,
        )
        tiers: dict[str, int] = {"red": 0, "orange": 0, "yellow": 0, "blue": 0, "unscored": 0}
        for p in points:
            tiers[p["tier"]] += 1
        incidents = self.rows(
            "SELECT class, count(*) AS n FROM incidents i WHERE state <> 'resolved' AND "
            f"{IN_SCOPE.format(column='i.jurisdiction_id')} GROUP BY 1",
            params,
        )
        boundaries = self.rows(
            "SELECT id, name, kind, boundary FROM jurisdictions j WHERE boundary IS NOT NULL AND "
            f"{IN_SCOPE.format(column='j.id')} ORDER BY id",
            params,
        )
        return {
            "boundaries": boundaries,
            "tiers": tiers,
            "incidents": {r["class"]: r["n"] for r in incidents},
            "offline_devices": self.offline_count(scope),
            "premises": [
                [p["id"], p["name"], p["latitude"], p["longitude"], p["tier"], p["live"] == "fire", p["live"]]
                for p in points
            ],
        }

    def offline_devices(self, scope: Scope, limit: int = 1000) -> list[dict[str, Any]]:
        """Devices whose latest ``device_offline`` signal is raised, longest offline first."""
        return self.rows(
            "SELECT o.premises_id, p.name AS premises_name, p.jurisdiction_id, o.device_id, d.type, d.location, "
            "o.time AS since FROM ("
            "  SELECT DISTINCT ON (premises_id, device_id) premises_id, device_id, state, time FROM signals "
            "  WHERE rule = 'device_offline' ORDER BY premises_id, device_id, time DESC) o "
            "JOIN premises p ON p.id = o.premises_id LEFT JOIN devices d ON d.id = o.device_id "
            f"WHERE o.state = 'raised' AND {IN_SCOPE.format(column='p.jurisdiction_id')} "
            "ORDER BY o.time LIMIT %(limit)s",
            {"scope": scope_param(scope), "limit": limit},
        )

    def offline_count(self, scope: Scope) -> int:
        found = self.rows(
            "SELECT count(*) AS n FROM ("
            "  SELECT DISTINCT ON (premises_id, device_id) premises_id, state FROM signals "
            "  WHERE rule = 'device_offline' ORDER BY premises_id, device_id, time DESC) o "
            "JOIN premises p ON p.id = o.premises_id "
            f"WHERE o.state = 'raised' AND {IN_SCOPE.format(column='p.jurisdiction_id')}",
            {"scope": scope_param(scope)},
        )
        n: int = found[0]["n"]
        return n

    def kpis(self, scope: Scope, now: datetime, days: float = 30.0) -> dict[str, Any]:
        """Per jurisdiction over the last ``days``: incidents, time to acknowledge (median, 90th
        percentile; a resolve without an acknowledge counts as one), the false-alarm share of resolved
        alarms, open and overdue hazards. ``total`` sums the rows the same way."""
        params = {"scope": scope_param(scope), "since": now - timedelta(days=days)}
        ack = "extract(epoch FROM coalesce(i.acknowledged_at, i.resolved_at) - i.opened_at)"
        measures = (
            "count(*) AS incidents, "
            f"count(*) FILTER (WHERE i.class IN {_ALARM_CLASSES}) AS alarms, "
            "count(*) FILTER (WHERE i.class = 'fire') AS fires, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {ack}) AS ack_p50_s, "
            f"percentile_cont(0.9) WITHIN GROUP (ORDER BY {ack}) AS ack_p90_s, "
            "count(*) FILTER (WHERE i.state = 'open') AS unacknowledged, "
            f"count(*) FILTER (WHERE i.state = 'resolved' AND i.class IN {_ALARM_CLASSES}) AS alarms_resolved, "
            "count(*) FILTER (WHERE i.resolution LIKE 'false_alarm%%') AS false_alarms"
        )
        where = f"i.opened_at > %(since)s AND {IN_SCOPE.format(column='i.jurisdiction_id')}"
        rows = self.rows(
            f"SELECT i.jurisdiction_id, j.name AS jurisdiction_name, {measures} FROM incidents i "
            f"JOIN jurisdictions j ON j.id = i.jurisdiction_id WHERE {where} GROUP BY 1, 2 ORDER BY 1",
            params,
        )
        total = self.rows(f"SELECT {measures} FROM incidents i WHERE {where}", params)[0]
        hazards = self.rows(
            "SELECT p.jurisdiction_id, count(*) AS open_hazards, "
            "count(*) FILTER (WHERE h.overdue_at IS NOT NULL) AS overdue_hazards "
            "FROM hazards h JOIN premises p ON p.id = h.premises_id "
            f"WHERE h.state <> 'closed' AND {IN_SCOPE.format(column='p.jurisdiction_id')} GROUP BY 1",
            params,
        )
        by_jurisdiction = {r["jurisdiction_id"]: r for r in rows}
        for h in hazards:
            row = by_jurisdiction.setdefault(h["jurisdiction_id"], {"jurisdiction_id": h["jurisdiction_id"]})
            row.update(open_hazards=h["open_hazards"], overdue_hazards=h["overdue_hazards"])
        total["open_hazards"] = sum(h["open_hazards"] for h in hazards)
        total["overdue_hazards"] = sum(h["overdue_hazards"] for h in hazards)
        for row in [*by_jurisdiction.values(), total]:
            resolved = row.get("alarms_resolved") or 0
            row["false_alarm_share"] = (row.get("false_alarms") or 0) / resolved if resolved else None
        return {"days": days, "since": params["since"], "total": total, "jurisdictions": list(by_jurisdiction.values())}

    def notices(self, scope: Scope, limit: int = 200) -> list[dict[str, Any]]:
        """Warning notices (火灾风险分级警示), newest first, with their label, the premises' name and their
        deliveries (``recipient``: unit, centre, inspector or department; ``channel``; ``state``) and the
        unit accounts' read receipts (``reads``: ``user_id``, ``read_at``)."""
        return self.rows(
            "SELECT n.id, n.premises_id, p.name AS premises_name, n.tier, n.score, n.issued_at, n.unit_name, "
            "n.jurisdiction_id, n.text, n.label, coalesce((SELECT jsonb_agg(jsonb_build_object("
            "  'recipient', d.recipient, 'channel', d.channel, 'state', d.state) ORDER BY d.recipient, d.channel) "
            "  FROM deliveries d "
            "  WHERE d.kind = 'notice' AND d.idempotency_key LIKE 'notice-' || n.id || '/%%'), '[]') AS deliveries, "
            "coalesce((SELECT jsonb_agg(jsonb_build_object('user_id', r.user_id, 'read_at', r.read_at) "
            "  ORDER BY r.read_at) FROM notice_reads r WHERE r.notice_id = n.id), '[]') AS reads "
            "FROM notices n JOIN premises p ON p.id = n.premises_id "
            f"WHERE {IN_SCOPE.format(column='n.jurisdiction_id')} ORDER BY n.issued_at DESC, n.id DESC "
            "LIMIT %(limit)s",
            {"scope": scope_param(scope), "limit": limit},
        )

    def draws(self, scope: Scope, limit: int = 500) -> list[dict[str, Any]]:
        """Random draws (双随机), newest first: the premises drawn, the inspectors drawn for it, the seed,
        and whether its draw task is done."""
        return self.rows(
            "SELECT d.period, d.premises_id, p.name AS premises_name, p.jurisdiction_id, d.inspectors, d.seed, "
            "d.drawn_at, (SELECT bool_and(t.state = 'done') FROM tasks t WHERE t.kind = 'draw' "
            "  AND t.dedup_key LIKE 'draw:' || d.period || ':' || d.premises_id || ':%%') AS done "
            "FROM draws d JOIN premises p ON p.id = d.premises_id "
            f"WHERE {IN_SCOPE.format(column='p.jurisdiction_id')} ORDER BY d.drawn_at DESC, d.premises_id "
            "LIMIT %(limit)s",
            {"scope": scope_param(scope), "limit": limit},
        )

    def kpi_trend(self, scope: Scope, now: datetime, days: float = 30.0, tz: str = "UTC") -> list[dict[str, Any]]:
        """Per day (in ``tz``) of the last ``days``, oldest first, every day present: incidents, alarms
        (fire, alarm, nuisance), fires, false alarms (of the alarms resolved so), and the median time to
        acknowledge of the day's incidents (None without one)."""
        ack = "extract(epoch FROM coalesce(i.acknowledged_at, i.resolved_at) - i.opened_at)"
        return self.rows(
            "WITH d AS (SELECT generate_series(date_trunc('day', %(since)s AT TIME ZONE %(tz)s), "
            "  date_trunc('day', %(now)s AT TIME ZONE %(tz)s), interval '1 day') AS day) "
            "SELECT to_char(d.day, 'YYYY-MM-DD') AS day, count(i.id) AS incidents, "
            f"count(i.id) FILTER (WHERE i.class IN {_ALARM_CLASSES}) AS alarms, "
            "count(i.id) FILTER (WHERE i.class = 'fire') AS fires, "
            "count(i.id) FILTER (WHERE i.resolution LIKE 'false_alarm%%') AS false_alarms, "
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {ack}) AS ack_p50_s "
            "FROM d LEFT JOIN incidents i ON date_trunc('day', i.opened_at AT TIME ZONE %(tz)s) = d.day "
            f"AND i.opened_at > %(since)s AND {IN_SCOPE.format(column='i.jurisdiction_id')} "
            "GROUP BY d.day ORDER BY d.day",
            {"scope": scope_param(scope), "since": now - timedelta(days=days), "now": now, "tz": tz},
        )

    def audit(
        self,
        *,
        subject: str | None = None,
        actor: str | None = None,
        action: str | None = None,
        before_id: int | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Newest first; ``subject`` matches exactly or as a prefix ending in ``:`` (``incident:``)."""
        where = ["TRUE"]
        if subject:
            where.append("subject LIKE %(subject)s" if subject.endswith(":") else "subject = %(subject)s")
        if actor:
            where.append("actor = %(actor)s")
        if action:
            where.append("action LIKE %(action)s")
        if before_id is not None:
            where.append("id < %(before)s")
        return self.rows(
            f"SELECT * FROM audit_log WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT %(limit)s",
            {"subject": subject + "%" if subject and subject.endswith(":") else subject, "actor": actor,
             "action": (action or "") + "%", "before": before_id, "limit": limit},
        )  # fmt: skip
