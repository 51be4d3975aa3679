"""Anomaly model: stuck, drifting and unusual sensors, from rolling per-device features.

Each metric of each device is cut into tumbling windows of time: ``window_readings`` of the device's
expected report intervals (from the registry), aligned on the Unix epoch, so that about that many
readings fall in one at the expected rate. A window gives three features: the spread of the values
(``log_std``), their trend (``slope_per_h``, least squares over the window's readings) and the share
of readings equal to the one before (``repeat_share``, comparing readings at least half an interval
apart). Each is defined per unit of time, not per reading, so a device reporting faster or slower
than its type's default is judged the same: a fast reporter's window holds more readings, which
makes its spread and trend more exact, not larger. A window with fewer than ``min_readings``
readings (a device reporting much slower than expected) is not judged. A robust covariance model per metric
(scikit-learn's ``EllipticEnvelope``, fitted by :mod:`training` on windows from simulated normal
operation; here only its parameters are evaluated) says whether a window is unusual; the feature
furthest from normal names the kind:

| furthest feature | signal rule | kind |
|---|---|---|
| spread too small, or repeats too many | ``sensor_stuck`` | trouble |
| trend | ``sensor_drift`` | trouble |
| spread too large on an electrical metric | ``unusual_electrical`` | hazard_candidate |
| spread too large elsewhere | ``unusual_readings`` | trouble |

A window is judged when the device's first reading of the next one arrives. A verdict must hold for
``consecutive`` windows before it is raised or cleared, and a drift for ``drift_hold_s`` too (the
morning ramp of a cable's temperature is steep for an hour or two; a drift goes on).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from core.policy import AnomalyPolicy, SignalKind
from scoring.signals import Signals
from scoring.state import Window

FEATURES: Final = ("log_std", "slope_per_h", "repeat_share")
ELECTRICAL: Final = frozenset({"residual_current_ma", "cable_temp_c", "current_a", "charging_current_a"})
WINDOWS: Final = "time-spanned"
"""How windows are cut (part of the shipped default model's version: a model fitted on windows cut
otherwise is another model). Before 2026-11-30 they were 10 readings each, whatever their time span."""
UNKNOWN_INTERVAL_S: Final = 60.0
"""The report interval assumed for a device the registry does not know (yet)."""
_KINDS: Final[dict[str, SignalKind]] = {
    "sensor_stuck": "trouble",
    "sensor_drift": "trouble",
    "unusual_electrical": "hazard_candidate",
    "unusual_readings": "trouble",
}


def window_features(w: Window) -> tuple[float, float, float]:
    """The features of a closed window (see the module docstring)."""
    n = w.n
    mean = w.sx / n
    var = max(0.0, w.sxx / n - mean * mean)
    spread = math.log10(math.sqrt(var) + 1e-6)
    t_var = w.stt / n - (w.st / n) ** 2
    slope = (w.stx / n - (w.st / n) * mean) / t_var * 3600 if t_var > 0 else 0.0
    return spread, slope, w.repeats / max(1, w.pairs)


def window_of(t: float, span_s: float) -> int:
    """Which tumbling window (of ``span_s`` seconds, aligned on the epoch) a reading at ``t`` falls in."""
    return math.floor(t / span_s)


def add_reading(w: Window, t: float, value: float, interval_s: float) -> None:
    """Add one reading to the open window; ``interval_s`` is the device's expected report interval."""
    if w.n == 0:
        w.t0 = t
        w.last, w.last_t = value, t
    elif t - w.last_t >= 0.5 * interval_s:
        w.pairs += 1
        if value == w.last:
            w.repeats += 1
        w.last, w.last_t = value, t
    dt = t - w.t0  # relative time keeps the sums small enough for float precision
    w.n += 1
    w.sx += value
    w.sxx += value * value
    w.st += dt
    w.stt += dt * dt
    w.stx += dt * value


def reset_window(w: Window, index: int) -> None:
    w.n = w.repeats = w.pairs = 0
    w.sx = w.sxx = w.st = w.stt = w.stx = 0.0
    w.last = None
    w.index = index


def advance(
    w: Window, t: float, value: float, interval_s: float, policy: AnomalyPolicy
) -> tuple[float, float, float] | None:
    """Add a reading at ``t``; the features of the window it closes, if it closes one that holds at
    least ``min_readings`` readings. The one definition of a window, for scoring and training alike."""
    index = window_of(t, policy.window_readings * interval_s)
    closed = None
    if index != w.index:
        if w.n >= policy.min_readings:
            closed = window_features(w)
        reset_window(w, index)
    add_reading(w, t, value, interval_s)
    return closed


@dataclass(frozen=True)
class MetricModel:
    """One metric's envelope as plain floats: the robust ``location`` and ``precision`` (inverse
    covariance), the ``offset`` that puts the decision's zero at the fitted contamination, and each
    feature's robust ``scale`` (for naming the furthest feature). Judging a window is ~2 µs of
    arithmetic on three floats; scikit-learn's own ``decision_function`` costs ~0.3 ms."""

    location: tuple[float, float, float]
    precision: tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]
    offset: float
    scale: tuple[float, float, float]

    def decision(self, features: tuple[float, float, float]) -> float:
        """``EllipticEnvelope.decision_function`` of one window: negative outside the envelope."""
        d = [f - c for f, c in zip(features, self.location, strict=True)]
        p = self.precision
        distance = sum(d[i] * p[i][j] * d[j] for i in range(3) for j in range(3))
        return -distance - self.offset

    def parameters(self) -> dict[str, object]:
        return {
            "location": list(self.location),
            "precision": [list(row) for row in self.precision],
            "offset": self.offset,
            "scale": list(self.scale),
        }

    @classmethod
    def from_parameters(cls, parameters: Mapping[str, object]) -> MetricModel:
        """Raises ValueError (or KeyError, TypeError) when the numbers are not three features' worth."""
        read: Any = parameters  # decoded JSON, checked as it is read

        def three(values: Any) -> tuple[float, float, float]:
            row = tuple(float(v) for v in values)
            if len(row) != 3:
                raise ValueError(f"expected 3 numbers, got {len(row)}")
            return row

        precision = tuple(three(row) for row in read["precision"])
        if len(precision) != 3:
            raise ValueError(f"precision has {len(precision)} rows, expected 3")
        return cls(
            three(read["location"]),
            precision,
            float(read["offset"]),
            three(read["scale"]),
        )


class AnomalyModel:
    """Per-metric envelopes; a metric without one is never judged."""

    def __init__(self, version: str, metrics: Mapping[str, MetricModel]) -> None:
        self.version = version
        self.metrics = dict(metrics)

    def judge(self, metric: str, features: tuple[float, float, float]) -> str | None:
        """The anomaly rule a window breaks, or None when it looks normal (or the metric has no model)."""
        model = self.metrics.get(metric)
        if model is None:
            return None
        if model.decision(features) >= 0:
            return None
        z = [(f - c) / s for f, c, s in zip(features, model.location, model.scale, strict=True)]
        furthest = max(range(3), key=lambda i: abs(z[i]))
        if (furthest == 0 and z[0] < 0) or furthest == 2:
            return "sensor_stuck"
        if furthest == 1:
            return "sensor_drift"
        return "unusual_electrical" if metric in ELECTRICAL else "unusual_readings"

    def parameters(self) -> dict[str, object]:
        return {"metrics": {metric: m.parameters() for metric, m in sorted(self.metrics.items())}}

    @classmethod
    def from_parameters(cls, version: str, parameters: Mapping[str, object]) -> AnomalyModel:
        read: Any = parameters  # decoded JSON, checked as it is read
        return cls(version, {metric: MetricModel.from_parameters(m) for metric, m in read["metrics"].items()})


def observe(
    model: AnomalyModel | None,
    policy: AnomalyPolicy,
    w: Window,
    device_id: str,
    metric: str,
    t: float,
    value: float,
    interval_s: float,
    signals: Signals,
) -> None:
    """Add a reading to its window; when it closes a window, judge that window and raise or clear."""
    features = advance(w, t, value, interval_s, policy)
    if features is None or model is None:
        return
    verdict = model.judge(metric, features)
    if verdict == w.raised or (verdict is not None and w.raised is not None):
        w.streak = 0
        return
    w.streak += 1
    needed = policy.consecutive
    if verdict == "sensor_drift":  # a daily cycle's ramp lasts hours; a drift goes on
        needed = max(needed, math.ceil(policy.drift_hold_s / (policy.window_readings * interval_s)))
    if w.streak < needed:
        return
    w.streak = 0
    evidence: dict[str, float | str] = dict(zip(FEATURES, (round(f, 6) for f in features), strict=True))
    evidence["model"] = model.version
    if verdict is None:
        assert w.raised is not None
        signals.clear(t, device_id, w.raised, metric, evidence)
        w.raised = None
    else:
        signals.raise_(t, device_id, verdict, _KINDS[verdict], metric, evidence)
        w.raised = verdict
