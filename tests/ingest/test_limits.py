"""The per-device rate limit, in memory with given times: floods are cut and summed up, backlogs and fires pass."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.policy import IngestPolicy
from ingest.limits import RateLimiter

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
POLICY = IngestPolicy(rate_per_s=20, burst=100, rate_summary_s=60)


def _send(limiter: RateLimiter, device: str, seq: int, *, at: datetime, ts: datetime, alarm: bool = False) -> bool:
    topic = f"fw/v1/P/{device}/telemetry"
    return limiter.admit(device, seq, ts, at, topic=topic, payload=b"%d" % seq, exempt=lambda: alarm)


def test_a_flood_passes_the_burst_and_the_rate_then_is_dropped_and_summed_up() -> None:
    limiter = RateLimiter(POLICY)
    # 10,000 messages in one second, all stamped "now": a device repeating itself.
    passed = [_send(limiter, "D", n, at=NOW + timedelta(seconds=n / 10_000), ts=NOW) for n in range(10_000)]
    assert 100 <= sum(passed) <= 100 + 20 + 1  # the burst, and what one second at 20/s earns
    assert limiter.dropping == 1
    assert limiter.summaries(NOW + timedelta(seconds=30)) == []  # the summary period is not over
    (summary,) = limiter.summaries(NOW + timedelta(seconds=61))
    dropped = 10_000 - sum(passed)
    assert summary.reason == "rate_limited" and summary.topic == "fw/v1/P/D/telemetry"
    assert summary.detail.startswith(f"{dropped} message(s) of device D dropped between")
    first = passed.index(False)
    assert f"(seq {first} to 9999)" in summary.detail and summary.payload == b"%d" % first
    assert limiter.dropping == 0 and limiter.summaries(NOW + timedelta(hours=1), final=True) == []


def test_a_backlog_of_old_messages_arriving_fast_is_not_limited() -> None:
    limiter = RateLimiter(POLICY)
    # A device that reported every 10 s buffered 12 hours through an outage and sends it all in 2 s.
    start = NOW - timedelta(hours=12)
    backlog = [start + timedelta(seconds=10 * n) for n in range(12 * 360)]
    passed = [
        _send(limiter, "D", n, at=NOW + timedelta(seconds=2 * n / len(backlog)), ts=ts) for n, ts in enumerate(backlog)
    ]
    assert all(passed)
    assert limiter.summaries(NOW + timedelta(hours=1), final=True) == []


def test_fire_alarms_pass_when_the_device_is_out_of_tokens() -> None:
    limiter = RateLimiter(POLICY)
    for n in range(200):
        _send(limiter, "UITD", n, at=NOW, ts=NOW)
    assert not _send(limiter, "UITD", 200, at=NOW, ts=NOW)
    assert _send(limiter, "UITD", 201, at=NOW, ts=NOW, alarm=True)


def test_one_device_flooding_does_not_limit_the_others() -> None:
    limiter = RateLimiter(POLICY)
    for n in range(5_000):
        _send(limiter, "LOUD", n, at=NOW + timedelta(seconds=n / 5_000), ts=NOW)
    quiet = [
        _send(limiter, f"D{d}", n, at=NOW + timedelta(seconds=n), ts=NOW + timedelta(seconds=n))
        for d in range(50)
        for n in range(60)
    ]
    assert all(quiet)
    (summary,) = limiter.summaries(NOW, final=True)
    assert "device LOUD" in summary.detail
