"""Transport faults: what the network and broken gateways do to a stream (duplicates, reordering) and
input a correct ingest refuses (malformed payloads, unknown devices, a topic that lies, oversize)."""

from __future__ import annotations

from typing import Final

import msgspec

from simulators.engine import StreamFault
from simulators.scenarios.context import Apply, Context


def stream_fault(name: str, mode: str, expected: str, delay: tuple[float, float], share: float) -> Apply:
    def apply(ctx: Context) -> None:
        devices = [s.device.id for s in ctx.siblings()]
        truth = ctx.truth(name, "transport_fault", expected, device_ids=devices)
        ctx.sim.stream_faults.append(
            StreamFault(
                ctx.start,
                ctx.end,
                mode,
                ctx.rng.uniform(*delay),
                ctx.params.get("share", share),
                truth,
                frozenset(devices),
            )
        )

    return apply


# (reason a correct ingest gives, topic channel or None for the target's telemetry topic, payload)
_MALFORMED: Final[tuple[tuple[str, str | None, bytes], ...]] = (
    ("bad_json", None, b'{"seq": 1, "ts": 1767571200000, "metrics": {"residual_current_ma": 12'),
    ("not_utf8", None, b'{"seq": 1, "ts": 1767571200000, "metrics": {"residual_current_ma": 1\xff}}'),
    ("schema", None, b'{"ts": 1767571200000, "metrics": {"residual_current_ma": 120}}'),
    ("schema", None, b'{"seq": "one", "ts": 1767571200000, "metrics": {"residual_current_ma": 120}}'),
    ("unknown_metric", None, b'{"seq": 1, "ts": 1767571200000, "metrics": {"leakage": 120}}'),
    ("out_of_range", None, b'{"seq": 1, "ts": 1767571200000, "metrics": {"battery_pct": 250}}'),
    ("bad_timestamp", None, b'{"seq": 1, "ts": "2026-01-05T08:00:00", "metrics": {"battery_pct": 50}}'),
    ("unknown_channel", "alarms", b'{"seq": 1, "ts": 1767571200000, "state": "online"}'),
)


def malformed(ctx: Context) -> None:
    state = ctx.target
    t = ctx.start
    for reason, channel, payload in _MALFORMED:
        truth = ctx.sim.truth(
            "malformed",
            "transport_fault",
            f"dead_letter:{reason}",
            t,
            t,
            premises_id=state.premises.id,
            device_ids=[state.device.id],
        )
        topic = (
            state.topics["telemetry"]
            if channel is None
            else state.topics["telemetry"].rsplit("/", 1)[0] + "/" + channel
        )
        ctx.sim.inject(t, topic, payload, truth)
        t += ctx.rng.uniform(1, 10)
    truth = ctx.sim.truth("malformed", "transport_fault", "dead_letter:bad_topic", t, t, premises_id=state.premises.id)
    ctx.sim.inject(t, f"fw/v1/{state.premises.id}/bad device id/telemetry", _valid(1, t), truth)


def _valid(seq: int, t: float) -> bytes:
    return msgspec.json.encode({"seq": seq, "ts": int(t * 1000), "metrics": {"battery_pct": 50.0}})


def unknown_device(ctx: Context) -> None:
    ghost = f"GHOST-{ctx.rng.randrange(16**8):08x}"
    truth = ctx.truth("unknown_device", "transport_fault", "dead_letter:unknown_device", device_ids=[ghost])
    t = ctx.start
    for seq in range(1, int(ctx.params.get("count", 5)) + 1):
        ctx.sim.inject(t, f"fw/v1/{ctx.target.premises.id}/{ghost}/telemetry", _valid(seq, t), truth, ghost, seq)
        t += ctx.rng.uniform(5, 60)


def topic_mismatch(ctx: Context) -> None:
    state = ctx.target
    other = ctx.rng.choice([p for p in ctx.sim.premises if p != state.premises.id] or ["P-ELSEWHERE"])
    truth = ctx.truth(
        "topic_mismatch",
        "transport_fault",
        "dead_letter:premises_mismatch",
        device_ids=[state.device.id],
        details={"topic_premises": other},
    )
    t = ctx.start
    for seq in range(1, int(ctx.params.get("count", 3)) + 1):
        ctx.sim.inject(t, f"fw/v1/{other}/{state.device.id}/telemetry", _valid(10**9 + seq, t), truth)
        t += ctx.rng.uniform(5, 60)


def oversize(ctx: Context) -> None:
    state = ctx.target
    truth = ctx.truth("oversize", "transport_fault", "dead_letter:oversize", device_ids=[state.device.id])
    padding = "x" * (70 * 1024)
    payload = msgspec.json.encode(
        {"seq": 1, "ts": int(ctx.start * 1000), "metrics": {"battery_pct": 50.0}, "padding": padding}
    )
    ctx.sim.inject(ctx.start, state.topics["telemetry"], payload, truth)
