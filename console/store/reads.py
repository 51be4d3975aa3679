"""The console's read side over the same database: the queue, premises, devices, readings, risk, hazards.

Every function takes the caller's ``scope`` (the jurisdictions an inspector sees; None: all) and
filters in SQL, so an inspector can never read past it. Rows come back as dicts ready for JSON.
A premises outside the scope is reported exactly like one that does not exist (None).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any, cast

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from core.db import class_priority, live_state, rows
from core.domain import DEVICE_TYPES
from core.policy import IncidentClass, Policy

Scope = Collection[str] | None

IN_SCOPE = "(%(scope)s::text[] IS NULL OR {column} = ANY(%(scope)s::text[]))"
CHART_METRICS = ("water_pressure_mpa", "residual_current_ma", "cable_temp_c", "temperature_c", "tank_level_m")
"""The metrics the premises page charts: pressure, residual current, temperature, tank level."""


def scope_param(scope: Scope) -> list[str] | None:
    return None if scope is None else sorted(scope)


class Reads:
    """Read-only queries over one pool, each in its own short transaction."""

    def __init__(self, pool: ConnectionPool) -> None:
        self.pool = pool

    def rows(self, query: str, params: dict[str, Any] | tuple[Any, ...] = ()) -> list[dict[str, Any]]:
        return rows(self.pool, query, params)

    def ping(self) -> None:
        """One round trip to the database (the health probe)."""
        self.rows("SELECT 1")

    def _one(self, cur: psycopg.Cursor[dict[str, Any]], query: str, params: dict[str, Any]) -> dict[str, Any] | None:
        cur.execute(query, params)
        return cur.fetchone()

    # ---- the queue -------------------------------------------------------------------------------

    def incidents(
        self,
        scope: Scope,
        *,
        state: str = "unresolved",
        cls: str | None = None,
        premises_id: str | None = None,
        jurisdiction_id: str | None = None,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Most urgent class first, then oldest first (the operators' queue order)."""
        where = ["i.state <> 'resolved'" if state == "unresolved" else "i.state = %(state)s"]
        where.append(IN_SCOPE.format(column="i.jurisdiction_id"))
        if cls is not None:
            where.append("i.class = %(cls)s")
        if premises_id is not None:
            where.append("i.premises_id = %(premises)s")
        if jurisdiction_id is not None:
            where.append("i.jurisdiction_id = %(jurisdiction)s")
        order = f"{class_priority('i.class')}, i.opened_at" if state != "resolved" else "i.resolved_at DESC"
        return self.rows(
            f"SELECT i.id, i.premises_id, p.name AS premises_name, p.address, i.jurisdiction_id, i.zone, i.class, "
            f"i.title, i.label, i.state, i.opened_at, i.updated_at, i.events, i.inhibited_by, i.escalation_level, "
            f"i.acknowledged_at, i.acknowledged_by, i.resolved_at, i.resolved_by, i.resolution, i.note, i.plan_notes, "
            f"i.evidence "
            f"FROM incidents i JOIN premises p ON p.id = i.premises_id "
            f"WHERE {' AND '.join(where)} ORDER BY {order} LIMIT %(limit)s",
            {"state": state, "scope": scope_param(scope), "cls": cls, "premises": premises_id,
             "jurisdiction": jurisdiction_id, "limit": limit},
        )  # fmt: skip

    def incident(self, incident_id: int) -> dict[str, Any] | None:
        """One incident with its premises' name and address, its audit trail and its deliveries."""
        found = self.rows(
            "SELECT i.*, p.name AS premises_name, p.address FROM incidents i JOIN premises p ON p.id = i.premises_id "
            "WHERE i.id = %s",
            (incident_id,),
        )
        if not found:
            return None
        row = found[0]
        row["deliveries"] = self.rows(
            "SELECT recipient, channel, state, attempts, created_at, delivered_at, last_error FROM deliveries "
            "WHERE incident_id = %s ORDER BY id",
            (incident_id,),
        )
        return row

    def incident_class(self, incident_id: int) -> IncidentClass | None:
        found = self.rows("SELECT class FROM incidents WHERE id = %s", (incident_id,))
        return cast(IncidentClass, found[0]["class"]) if found else None

    def summary(self, now: datetime) -> dict[str, Any]:
        """Counts for a glance: open incidents by class, tiers, open hazards, deliveries by state (24 h)."""
        rows = self.rows
        since = now - timedelta(days=1)
        return {
            "incidents": {r["class"]: r["n"] for r in rows(
                "SELECT class, count(*) AS n FROM incidents WHERE state <> 'resolved' GROUP BY 1")},
            "tiers": {r["tier"]: r["n"] for r in rows("SELECT tier, count(*) AS n FROM premises_schedule GROUP BY 1")},
            "open_hazards": rows("SELECT count(*) AS n FROM hazards WHERE state <> 'closed'")[0]["n"],
            "deliveries_24h": {r["state"]: r["n"] for r in rows(
                "SELECT state, count(*) AS n FROM deliveries WHERE created_at > %s GROUP BY 1", (since,))},
        }  # fmt: skip

    def major_hazards(self, scope: Scope, include_closed: bool) -> list[dict[str, Any]]:
        """Major hazards listed for supervision: open ones (and closed, delisted ones on request)."""
        return self.rows(
            "SELECT h.id, h.premises_id, p.name AS premises_name, p.unit_name, h.title, h.label, h.state, h.deadline, "
            "h.listed_at, h.listed_by, h.listing_note, h.delisted_at "
            "FROM hazards h JOIN premises p ON p.id = h.premises_id "
            "WHERE h.listed_at IS NOT NULL AND (%(closed)s OR h.state <> 'closed') "
            f"AND {IN_SCOPE.format(column='p.jurisdiction_id')} ORDER BY h.listed_at DESC",
            {"closed": include_closed, "scope": scope_param(scope)},
        )  # fmt: skip

    def rectifications(self, scope: Scope, state: str) -> list[dict[str, Any]]:
        """Units' reports that a hazard is fixed, with their evidence, in ``scope``."""
        return self.rows(
            "SELECT r.*, h.title, h.label, h.deadline, h.self_reported, p.name AS premises_name, p.unit_name "
            "FROM rectifications r JOIN hazards h ON h.id = r.hazard_id JOIN premises p ON p.id = r.premises_id "
            f"WHERE r.state = %(state)s AND {IN_SCOPE.format(column='p.jurisdiction_id')} ORDER BY r.submitted_at",
            {"state": state, "scope": scope_param(scope)},
        )  # fmt: skip

    def incident_jurisdiction(self, incident_id: int) -> str | None:
        found = self.rows("SELECT jurisdiction_id FROM incidents WHERE id = %s", (incident_id,))
        return found[0]["jurisdiction_id"] if found else None

    # ---- premises --------------------------------------------------------------------------------

    def premises_list(
        self, scope: Scope, *, search: str | None = None, tier: str | None = None, limit: int = 100, offset: int = 0
    ) -> list[dict[str, Any]]:
        where = [IN_SCOPE.format(column="p.jurisdiction_id")]
        if search:
            where.append("(p.id ILIKE %(like)s OR p.name ILIKE %(like)s OR p.address ILIKE %(like)s)")
        if tier:
            where.append("s.tier = %(tier)s")
        return self.rows(
            f"SELECT p.id, p.name, p.category, p.address, p.jurisdiction_id, s.tier, s.score, "
            f"{live_state('p.id')} AS live "
            f"FROM premises p LEFT JOIN premises_schedule s ON s.premises_id = p.id "
            f"WHERE {' AND '.join(where)} ORDER BY s.score DESC NULLS LAST, p.id LIMIT %(limit)s OFFSET %(offset)s",
            {"scope": scope_param(scope), "like": f"%{search}%", "tier": tier, "limit": limit, "offset": offset},
        )

    def premises(self, scope: Scope, premises_id: str, policy: Policy | None = None) -> dict[str, Any] | None:
        """Profile, tier with its top factors, devices with their state and latest values; None when unseen.

        A device's state (:func:`device_state`) weighs its fire alarms while the premises has an alarm
        incident open, its active signals, and its latest values against ``policy``'s limits."""
        params = {"id": premises_id, "scope": scope_param(scope)}
        with self.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            profile = self._one(
                cur,
                "SELECT p.*, j.name AS jurisdiction_name, s.tier, s.score, s.tier_since, s.last_inspected_at, "
                f"{live_state('p.id')} AS live "
                "FROM premises p JOIN jurisdictions j ON j.id = p.jurisdiction_id "
                "LEFT JOIN premises_schedule s ON s.premises_id = p.id "
                f"WHERE p.id = %(id)s AND {IN_SCOPE.format(column='p.jurisdiction_id')}",
                params,
            )
            if profile is None:
                return None
            profile["risk"] = self._one(
                cur,
                "SELECT time, score, tier, previous_tier, factors, model_version, if_closed FROM risk_scores "
                "WHERE premises_id = %(id)s ORDER BY revision DESC LIMIT 1",
                params,
            )
            cur.execute("SELECT * FROM devices WHERE premises_id = %(id)s ORDER BY id", params)
            devices = {
                d["id"]: d | {"signals": [], "latest": {}, "status": None, "alarm": None} for d in cur.fetchall()
            }
            cur.execute(
                "SELECT device_id, rule, subject, kind, time, evidence FROM ("
                "  SELECT DISTINCT ON (device_id, rule, subject) * FROM signals WHERE premises_id = %(id)s "
                "  ORDER BY device_id, rule, subject, time DESC) latest WHERE state = 'raised'",
                params,
            )
            for signal in cur.fetchall():
                if signal["device_id"] in devices:
                    devices[signal["device_id"]]["signals"].append(signal)
            # The latest value of every metric of every device, and its latest status: one index
            # lookup each (readings by device, metric and time; status by device), however long the
            # tables and however rarely a device reports.
            pairs = [(d["id"], m) for d in devices.values() for m in sorted(_metrics_of(d["type"]))]
            cur.execute(
                "SELECT m.device_id, m.metric, r.value, r.time "
                "FROM unnest(%(devices)s::text[], %(metrics)s::text[]) AS m(device_id, metric) "
                "CROSS JOIN LATERAL (SELECT value, time FROM readings WHERE device_id = m.device_id "
                "  AND metric = m.metric ORDER BY time DESC LIMIT 1) r",
                {"devices": [p[0] for p in pairs], "metrics": [p[1] for p in pairs]},
            )
            for reading in cur.fetchall():
                devices[reading["device_id"]]["latest"][reading["metric"]] = [reading["value"], reading["time"]]
            cur.execute(
                "SELECT s.* FROM unnest(%(devices)s::text[]) AS d(id) CROSS JOIN LATERAL ("
                "  SELECT device_id, state, time, battery_pct, rssi_dbm, firmware FROM device_status "
                "  WHERE device_id = d.id ORDER BY time DESC LIMIT 1) s",
                {"devices": list(devices)},
            )
            for status in cur.fetchall():
                devices[status["device_id"]]["status"] = status
            # Fire alarms of each device since the premises' oldest unresolved alarm incident opened
            # (less the verification window, which precedes the incident): the devices now in alarm.
            window = policy.verification.window_s if policy is not None else 180.0
            cur.execute(
                "SELECT device_id, max(time) AS time, max(zone) AS zone, count(*) AS alarms FROM events "
                "WHERE premises_id = %(id)s AND kind = 'fire_alarm' AND time >= ("
                "  SELECT min(opened_at) - make_interval(secs => %(window)s) FROM incidents "
                "  WHERE premises_id = %(id)s AND state <> 'resolved' AND class IN ('fire', 'alarm', 'nuisance')) "
                "GROUP BY 1",
                params | {"window": window},
            )
            for alarm in cur.fetchall():
                if alarm["device_id"] in devices:
                    devices[alarm["device_id"]]["alarm"] = alarm
            for device in devices.values():
                device["over"] = over_limits(device, policy) if policy is not None else []
                device["state"] = device_state(device)
            profile["devices"] = list(devices.values())
            cur.execute(
                "SELECT id, rule, title, label, state, opened_at, deadline, overdue_at, inspector_id FROM hazards "
                "WHERE premises_id = %(id)s AND state <> 'closed' ORDER BY deadline",
                params,
            )
            profile["hazards"] = cur.fetchall()
            cur.execute(
                "SELECT id, kind, reason, label, inspector_id, due_at FROM tasks "
                "WHERE premises_id = %(id)s AND state = 'open' ORDER BY due_at",
                params,
            )
            profile["tasks"] = cur.fetchall()
            cur.execute(
                "SELECT c.id, c.number, c.offence, c.deadline, "
                "(SELECT count(*) FROM case_steps s WHERE s.case_id = c.id AND s.state = 'pending') AS pending "
                "FROM cases c WHERE c.premises_id = %(id)s AND c.state = 'open' ORDER BY c.opened_at",
                params,
            )
            profile["cases"] = cur.fetchall()
            return profile

    def readings(self, premises_id: str, now: datetime, hours: float = 24.0, points: int = 240) -> list[dict[str, Any]]:
        """Chart series of the premises' devices: the average per time bucket (about ``points`` per series)."""
        bucket = timedelta(seconds=max(60.0, hours * 3600 / points))
        devices = [r["id"] for r in self.rows("SELECT id FROM devices WHERE premises_id = %s", (premises_id,))]
        rows = self.rows(
            "SELECT device_id, metric, date_bin(%(bucket)s, time, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS t, "
            "avg(value) AS v, min(value) AS lo, max(value) AS hi FROM readings "
            "WHERE device_id = ANY(%(devices)s) AND metric = ANY(%(metrics)s) AND time > %(since)s "
            "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
            {
                "devices": devices,
                "bucket": bucket,
                "metrics": list(CHART_METRICS),
                "since": now - timedelta(hours=hours),
            },
        )
        series: dict[tuple[str, str], dict[str, Any]] = {}
        for row in rows:
            key = (row["device_id"], row["metric"])
            s = series.setdefault(key, {"device_id": key[0], "metric": key[1], "t": [], "v": [], "lo": [], "hi": []})
            s["t"].append(row["t"].timestamp())
            for k in ("v", "lo", "hi"):
                s[k].append(row[k])
        return list(series.values())

    def risk_history(self, premises_id: str, now: datetime, days: float = 30.0) -> list[dict[str, Any]]:
        return self.rows(
            "SELECT time, score, tier FROM risk_scores WHERE premises_id = %s AND time > %s ORDER BY revision "
            "LIMIT 5000",
            (premises_id, now - timedelta(days=days)),
        )

    def premises_jurisdiction(self, premises_id: str) -> str | None:
        found = self.rows("SELECT jurisdiction_id FROM premises WHERE id = %s", (premises_id,))
        return found[0]["jurisdiction_id"] if found else None

    def device_jurisdiction(self, device_id: str) -> str | None:
        found = self.rows(
            "SELECT p.jurisdiction_id FROM devices d JOIN premises p ON p.id = d.premises_id WHERE d.id = %s",
            (device_id,),
        )
        return found[0]["jurisdiction_id"] if found else None

    # ---- hazards ---------------------------------------------------------------------------------

    def hazards(
        self,
        scope: Scope,
        *,
        state: str = "unclosed",
        premises_id: str | None = None,
        inspector_id: str | None = None,
        limit: int = 1000,
    ) -> list[dict[str, Any]]:
        """Earliest deadline first; ``overdue`` says whether the deadline has passed."""
        where = ["h.state <> 'closed'" if state == "unclosed" else "h.state = %(state)s"]
        where.append(IN_SCOPE.format(column="p.jurisdiction_id"))
        if premises_id is not None:
            where.append("h.premises_id = %(premises)s")
        if inspector_id is not None:
            where.append("h.inspector_id = %(inspector)s")
        return self.rows(
            f"SELECT h.*, p.name AS premises_name, p.jurisdiction_id, h.overdue_at IS NOT NULL AS overdue "
            f"FROM hazards h JOIN premises p ON p.id = h.premises_id WHERE {' AND '.join(where)} "
            f"ORDER BY h.deadline LIMIT %(limit)s",
            {"state": state, "scope": scope_param(scope), "premises": premises_id, "inspector": inspector_id,
             "limit": limit},
        )  # fmt: skip

    def hazard_jurisdiction(self, hazard_id: int) -> str | None:
        found = self.rows(
            "SELECT p.jurisdiction_id FROM hazards h JOIN premises p ON p.id = h.premises_id WHERE h.id = %s",
            (hazard_id,),
        )
        return found[0]["jurisdiction_id"] if found else None

    def inspectors(self) -> list[dict[str, Any]]:
        """Every inspector of the registry with their jurisdiction's name and open tasks, by jurisdiction."""
        return self.rows(
            "SELECT i.id, i.name, i.jurisdiction_id, j.name AS jurisdiction_name, "
            "  (SELECT count(*) FROM tasks t WHERE t.inspector_id = i.id AND t.state = 'open') AS open_tasks "
            "FROM inspectors i LEFT JOIN jurisdictions j ON j.id = i.jurisdiction_id ORDER BY i.jurisdiction_id, i.id"
        )

    def task_owner(self, task_id: int) -> tuple[str | None, str | None] | None:
        """(inspector, jurisdiction) of a task, or None when there is no such task."""
        found = self.rows(
            "SELECT t.inspector_id, p.jurisdiction_id FROM tasks t JOIN premises p ON p.id = t.premises_id "
            "WHERE t.id = %s",
            (task_id,),
        )
        return (found[0]["inspector_id"], found[0]["jurisdiction_id"]) if found else None


def _metrics_of(device_type: str) -> frozenset[str]:
    known = DEVICE_TYPES.get(device_type)
    return known.metrics if known is not None else frozenset()


def over_limits(device: dict[str, Any], policy: Policy) -> list[dict[str, Any]]:
    """The device's latest values beyond a limit: the policy's threshold rules for its type (its own
    setpoint where the rule names one), and the heat of a fire (verification's fixed temperature) for
    the device types that sense it."""
    out = []
    limits: list[tuple[str, str, float]] = []
    for rule in policy.rules:
        if rule.device_types and device["type"] not in rule.device_types:
            continue
        limit = (device.get("setpoints") or {}).get(rule.setpoint, rule.limit) if rule.setpoint else rule.limit
        limits.append((rule.metric, rule.direction, float(limit)))
    if device["type"] in policy.verification.heat_device_types:
        limits.append(("temperature_c", "above", policy.verification.heat_fixed_c))
    for metric, direction, limit in limits:
        latest = device["latest"].get(metric)
        if latest is None:
            continue
        value = float(latest[0])
        if (value < limit) if direction == "below" else (value > limit):
            out.append({"metric": metric, "value": value, "limit": limit, "direction": direction, "time": latest[1]})
    return out


def device_state(device: dict[str, Any]) -> str:
    """One word for a device, the most urgent first: alarm (it raised a fire alarm of an incident still
    open), offline, disabled, trouble (a fault), supervisory, over_limit (its latest value beyond a
    limit), hazard, ok, or silent (nothing heard yet)."""
    if device.get("alarm"):
        return "alarm"
    rules = {s["rule"] for s in device["signals"]}
    kinds = {s["kind"] for s in device["signals"]}
    if "device_offline" in rules or (device["status"] or {}).get("state") == "offline":
        return "offline"
    if "component_disabled" in rules:
        return "disabled"
    if "trouble" in kinds:
        return "trouble"
    if "supervisory" in kinds:
        return "supervisory"
    if device.get("over"):
        return "over_limit"
    if "hazard_candidate" in kinds:
        return "hazard"
    return "ok" if device["latest"] or device["status"] else "silent"
