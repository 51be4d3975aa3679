"""Judging scoring against the simulators' ground truth: ``firewarden evaluate``.

A run replays a simulated city with every incident, nuisance and device-fault kind (plus ordinary
panel life) through the scorer, then joins the decisions with the ground truth; or it joins the
decisions stored in the database with a ground-truth file that ``firewarden simulate run`` wrote
while the real pipeline (MQTT, ingest, bus, scoring) processed the same run:

- per scenario kind: how many were detected and how long it took (simulated seconds from the
  scenario's start to the first decision that shows it);
- nuisance alarms escalated as confirmed fires versus not;
- the processing latency of confirming records (wall clock, record handed to the scorer →
  decision encoded for the bus);
- the risk model's AUC on held-out simulated premises.

What counts as "shows it" per kind is :data:`EXPECTED_RULES` (signals) or a confirmed alarm (fires).
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Final

import msgspec

from core.db import connect
from core.policy import Policy
from scoring import AlarmDecision, Decision, Engine, Models, RiskScore, Scorer, Signal, Sites, encode_decision
from simulators import GroundTruth, Scenario, Simulation, apply_scenario, background, generate_fleet, simulate_history
from training.fitting import risk_auc as auc_of
from training.models import START, risk_examples
from training.replay import simulated_records

EXPECTED_RULES: Final[dict[str, frozenset[str]]] = {
    "electrical_overheating": frozenset({"residual_current", "residual_current_repeated", "cable_over_temperature"}),
    "sprinkler_valve_closed": frozenset({"supervisory", "low_sprinkler_pressure"}),
    "pipe_leak": frozenset({"low_sprinkler_pressure", "low_hydrant_pressure", "pressure_not_restored"}),
    "pump_failure": frozenset({"component_fault", "pressure_not_restored"}),
    "tank_drain": frozenset({"low_tank_level", "tank_not_refilling"}),
    "ebike_overcurrent": frozenset({"ebike_over_current", "component_fault"}),
    "offline": frozenset({"device_offline"}),
    "stuck_value": frozenset({"sensor_stuck"}),
    "drift": frozenset({"sensor_drift", "low_sprinkler_pressure", "low_hydrant_pressure", "low_tank_level"}),
    "low_battery": frozenset({"low_battery"}),
}
NUISANCE_KINDS: Final = ("cooking_nuisance", "flapping_detector", "maintenance_test")
SCENARIO_KINDS: Final = ("fire", *NUISANCE_KINDS, *EXPECTED_RULES)
SLACK_S: Final = 1800.0
"""A decision up to this long after a scenario's end still counts for it (offline needs k intervals)."""


@dataclass
class KindResult:
    kind: str
    total: int = 0
    detected: int = 0
    delays: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.detected / self.total if self.total else 0.0


@dataclass
class Evaluation:
    kinds: dict[str, KindResult]
    fires: int
    fires_confirmed: int
    nuisance_alarms: int
    nuisance_escalated: int
    latencies_s: list[float]
    records: int
    decisions: int
    risk_auc: float
    tiers: dict[str, int]
    unexplained: dict[str, int] = field(default_factory=dict)
    """Anomaly signals raised on a device no scenario touched then, by ``rule:metric``."""

    @property
    def nuisance_not_escalated(self) -> float:
        return 1 - self.nuisance_escalated / self.nuisance_alarms if self.nuisance_alarms else 1.0

    def latency_p99(self) -> float:
        if not self.latencies_s:
            return 0.0
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def default_scenario(per_kind: int) -> Scenario:
    return Scenario(name="evaluation", random=dict.fromkeys(SCENARIO_KINDS, per_kind))


def replay(
    policy: Policy, models: Models, *, premises: int, hours: float, seed: int, per_kind: int, gb26875: float = 0.5
) -> tuple[list[GroundTruth], list[Decision], list[float], int]:
    """Simulate, score in memory; (ground truth, decisions, confirming latencies in s, records scored).
    ``gb26875``: the share of UITDs that speak GB/T 26875.3 frames, decoded as ingest decodes them."""
    registry = generate_fleet(premises, seed)
    sim = Simulation(registry, seed=seed, start=START, duration=hours * 3600, gb26875=gb26875)
    apply_scenario(sim, default_scenario(per_kind))
    background(sim)
    engine = Engine(Scorer(policy, Sites.of(registry), models))
    decisions: list[Decision] = []
    latencies: list[float] = []
    count = 0
    for _, records in simulated_records(registry, sim):
        for record in records:
            began = time.perf_counter()
            made = engine.process(record)
            if made:
                for d in made:
                    encode_decision(d)
                if any(isinstance(d, AlarmDecision) and d.classification == "confirmed" for d in made):
                    latencies.append(time.perf_counter() - began)
                decisions.extend(made)
            count += 1
    decisions.extend(engine.advance(sim.end, 0.0))
    return sim.truths, decisions, latencies, count


def judge(
    truths: Sequence[GroundTruth], decisions: Sequence[Decision], latencies: list[float], records: int, auc: float
) -> Evaluation:
    alarms: dict[str, list[AlarmDecision]] = defaultdict(list)
    signals: dict[str, list[Signal]] = defaultdict(list)
    tiers: dict[str, str] = {}
    for d in decisions:
        if isinstance(d, AlarmDecision):
            alarms[d.premises_id].append(d)
        elif isinstance(d, Signal):
            if d.state == "raised":
                signals[d.device_id].append(d)
        else:
            tiers[d.premises_id] = d.tier
    kinds = {k: KindResult(k) for k in SCENARIO_KINDS}
    fires = confirmed = nuisance = escalated = 0
    for truth in truths:
        if truth.kind not in kinds or truth.premises_id is None:
            continue
        result = kinds[truth.kind]
        result.total += 1
        end = truth.end + SLACK_S
        if truth.kind == "fire" or truth.kind in NUISANCE_KINDS:
            seen = [
                a
                for a in alarms[truth.premises_id]
                if truth.start - 1 <= a.time.timestamp() <= end and a.classification == "confirmed"
            ]
            if truth.kind == "fire":
                fires += 1
                if seen:
                    confirmed += 1
                    result.detected += 1
                    result.delays.append(max(0.0, min(a.time.timestamp() for a in seen) - truth.start))
            else:
                nuisance += 1
                escalated += bool(seen)
                result.detected += not seen  # for a nuisance, "handled" means not escalated
            continue
        wanted = EXPECTED_RULES[truth.kind]
        hits = [
            s.time.timestamp()
            for device in truth.device_ids
            for s in signals[device]
            if s.rule in wanted and truth.start - 1 <= s.time.timestamp() <= end
        ]
        if hits:
            result.detected += 1
            result.delays.append(max(0.0, min(hits) - truth.start))
    counts: dict[str, int] = defaultdict(int)
    for tier in tiers.values():
        counts[tier] += 1
    return Evaluation(
        kinds,
        fires,
        confirmed,
        nuisance,
        escalated,
        latencies,
        records,
        len(decisions),
        auc,
        dict(counts),
        _unexplained(truths, signals),
    )


def _unexplained(truths: Sequence[GroundTruth], signals: dict[str, list[Signal]]) -> dict[str, int]:
    """Anomaly signals (``sensor_*``, ``unusual_*``) raised on a device while no ground truth of it was
    open (from its start to its end and the slack): false signals of healthy devices."""
    windows: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for truth in truths:
        for device in truth.device_ids:
            windows[device].append((truth.start - 1, truth.end + SLACK_S))
    out: dict[str, int] = defaultdict(int)
    for device, raised in signals.items():
        for s in raised:
            at = s.time.timestamp()
            if s.rule.startswith(("sensor_", "unusual_")) and not any(a <= at <= b for a, b in windows[device]):
                out[f"{s.rule}:{s.subject}"] += 1
    return dict(sorted(out.items()))


def risk_auc(models: Models, premises: int = 2000, seed: int = 97) -> float:
    """AUC of the risk model on premises it never saw (a history seed apart from training's)."""
    rows, labels = risk_examples(simulate_history(premises, seed))
    return auc_of(models.risk, rows, labels)


def evaluate(
    policy: Policy, models: Models, *, premises: int = 60, hours: float = 24, seed: int = 21, per_kind: int = 4
) -> Evaluation:
    truths, decisions, latencies, records = replay(
        policy, models, premises=premises, hours=hours, seed=seed, per_kind=per_kind
    )
    return judge(truths, decisions, latencies, records, risk_auc(models))


def table(ev: Evaluation) -> list[tuple[str, str, str, str]]:
    """(kind, detected/total, rate, median time to detect) rows."""
    rows = []
    for r in ev.kinds.values():
        median = f"{statistics.median(r.delays):.0f} s" if r.delays else "-"
        rows.append((r.kind, f"{r.detected}/{r.total}", f"{r.rate:.0%}", median))
    return rows


def plot(ev: Evaluation, path: Path) -> None:
    """Detection rate and time to detect per kind, as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = [r for r in ev.kinds.values() if r.total]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5), sharey=True)
    names = [r.kind for r in kinds]
    rows = list(range(len(kinds)))  # one row per kind on both sides (boxplot would start at 1)
    left.barh(rows, [r.rate * 100 for r in kinds], color="#c0392b")
    left.set_xlabel("detected (nuisance: not escalated), %")
    left.set_xlim(0, 100)
    right.boxplot([r.delays or [0.0] for r in kinds], orientation="horizontal", positions=rows)
    left.set_yticks(rows, names)  # after the boxplot, which relabels the shared axis with numbers
    right.set_xlabel("time to detect, simulated s")
    fig.suptitle(
        f"Firewarden scoring: {ev.fires_confirmed}/{ev.fires} fires confirmed, "
        f"{ev.nuisance_not_escalated:.0%} nuisance not escalated, risk AUC {ev.risk_auc:.3f}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def read_ground_truth(path: Path) -> list[GroundTruth]:
    """The ground truth ``firewarden simulate run`` wrote (JSONL). Raises ValueError naming the line."""
    truths = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = msgspec.json.decode(line)
            truths.append(
                GroundTruth(
                    id=raw["id"],
                    kind=raw["kind"],
                    category=raw["category"],
                    expected=raw["expected"],
                    start=datetime.fromisoformat(raw["start"]).timestamp(),
                    end=datetime.fromisoformat(raw["end"]).timestamp(),
                    premises_id=raw.get("premises_id"),
                    device_ids=list(raw.get("device_ids", [])),
                    zone=raw.get("zone"),
                )
            )
        except (msgspec.DecodeError, KeyError, TypeError, ValueError) as error:
            raise ValueError(f"{path}:{number}: not a ground-truth record: {error}") from None
    return truths


def stored_decisions(url: str) -> list[Decision]:
    """Signals, alarm decisions and the latest risk score per premises, from the database."""
    out: list[Decision] = []
    with connect(url) as conn:
        for row in conn.execute(
            "SELECT time, premises_id, device_id, rule, kind, state, subject, evidence FROM signals ORDER BY time"
        ):
            time_, premises, device, rule, kind, state, subject, evidence = row
            out.append(Signal(time_, premises, device, rule, kind, state, subject, evidence))  # type: ignore[arg-type]
        for row in conn.execute(
            "SELECT time, premises_id, alarm_id, revision, zone, classification, reason, trigger, opened_at, final "
            "FROM alarms ORDER BY time"
        ):
            out.append(AlarmDecision(*row))  # type: ignore[arg-type]
        for row in conn.execute(
            "SELECT DISTINCT ON (premises_id) time, premises_id, revision, score, tier, previous_tier, model_version "
            "FROM risk_scores ORDER BY premises_id, revision DESC"
        ):
            time_, premises, revision, score, tier, previous, version = row
            out.append(RiskScore(time_, premises, revision, score, tier, previous, (), version))  # type: ignore[arg-type]
    return out
