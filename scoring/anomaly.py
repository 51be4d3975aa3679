"""Anomaly model: stuck, drifting and unusual sensors, from rolling per-device features.

Each metric of each device is cut into tumbling windows of ``window_readings`` readings. A window
gives three features: the spread of the values (``log_std``), their trend (``slope_per_h``) and the
share of readings equal to the one before (``repeat_share``). A robust covariance model per metric
(scikit-learn's ``EllipticEnvelope``), fitted on windows from simulated normal operation, says
whether a window is unusual; the feature furthest from normal names the kind:

| furthest feature | signal rule | kind |
|---|---|---|
| spread too small, or repeats too many | ``sensor_stuck`` | trouble |
| trend | ``sensor_drift`` | trouble |
| spread too large on an electrical metric | ``unusual_electrical`` | hazard_candidate |
| spread too large elsewhere | ``unusual_readings`` | trouble |

A verdict must hold for ``consecutive`` windows before it is raised or cleared.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
from sklearn.covariance import EllipticEnvelope  # type: ignore[import-untyped]

from core.policy import AnomalyPolicy, SignalKind
from scoring.signals import Signals
from scoring.state import Window

FEATURES: Final = ("log_std", "slope_per_h", "repeat_share")
ELECTRICAL: Final = frozenset({"residual_current_ma", "cable_temp_c", "current_a", "charging_current_a"})
_KINDS: Final[dict[str, SignalKind]] = {
    "sensor_stuck": "trouble",
    "sensor_drift": "trouble",
    "unusual_electrical": "hazard_candidate",
    "unusual_readings": "trouble",
}


def window_features(w: Window) -> tuple[float, float, float]:
    """The features of a full window (see the module docstring)."""
    n = w.n
    mean = w.sx / n
    var = max(0.0, w.sxx / n - mean * mean)
    spread = math.log10(math.sqrt(var) + 1e-6)
    t_var = w.stt / n - (w.st / n) ** 2
    slope = (w.stx / n - (w.st / n) * mean) / t_var * 3600 if t_var > 0 else 0.0
    return spread, slope, w.repeats / max(1, n - 1)


def add_reading(w: Window, t: float, value: float) -> None:
    if w.n == 0:
        w.t0 = t
    dt = t - w.t0  # relative time keeps the sums small enough for float precision
    w.n += 1
    w.sx += value
    w.sxx += value * value
    w.st += dt
    w.stt += dt * dt
    w.stx += dt * value
    if w.last is not None and value == w.last:
        w.repeats += 1
    w.last = value


def reset_window(w: Window) -> None:
    w.n = w.repeats = 0
    w.sx = w.sxx = w.st = w.stt = w.stx = 0.0
    w.last = None


@dataclass(frozen=True)
class MetricModel:
    """A fitted envelope, with its parameters also as plain floats: judging one window through
    scikit-learn's input validation costs ~0.3 ms, the same arithmetic on three floats ~2 µs."""

    envelope: EllipticEnvelope
    center: np.ndarray
    scale: np.ndarray

    @cached_property
    def _parameters(self) -> tuple[list[float], list[list[float]], float]:
        # Derived on first use rather than at construction, so model files pickled before this
        # existed load and work too (unpickling skips __init__).
        e = self.envelope
        return [float(v) for v in e.location_], [[float(v) for v in row] for row in e.precision_], float(e.offset_)

    def decision(self, features: tuple[float, float, float]) -> float:
        """``envelope.decision_function`` of one window: negative outside the envelope."""
        location, p, offset = self._parameters
        d = [f - c for f, c in zip(features, location, strict=True)]
        distance = sum(d[i] * p[i][j] * d[j] for i in range(3) for j in range(3))
        return -distance - offset

    @classmethod
    def fit(cls, rows: np.ndarray, contamination: float = 0.002) -> MetricModel:
        """Raises ValueError when the windows barely vary (a metric that sits still in normal operation)."""
        envelope = EllipticEnvelope(contamination=contamination, support_fraction=0.9, random_state=0)
        # A whisper of noise keeps the covariance full rank where a feature is nearly constant.
        jitter = np.random.default_rng(0).normal(0.0, 1e-3, rows.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                envelope.fit(rows + jitter)
            except UserWarning as warning:
                raise ValueError(str(warning)) from None
        scale = np.sqrt(np.diag(envelope.covariance_))
        return cls(envelope, envelope.location_, np.where(scale > 0, scale, 1e-9))


class AnomalyModel:
    """Per-metric envelopes; a metric without one is never judged."""

    def __init__(self, version: str, metrics: Mapping[str, MetricModel]) -> None:
        self.version = version
        self.metrics = dict(metrics)

    @classmethod
    def fit(
        cls, version: str, windows: Mapping[str, Sequence[tuple[float, float, float]]]
    ) -> tuple[AnomalyModel, dict[str, str]]:
        """The model, and for each metric left without an envelope, why."""
        metrics: dict[str, MetricModel] = {}
        skipped: dict[str, str] = {}
        for metric, rows in sorted(windows.items()):
            if len(rows) < 50:
                skipped[metric] = f"only {len(rows)} windows"
                continue
            try:
                metrics[metric] = MetricModel.fit(np.asarray(rows))
            except ValueError as error:  # a metric that barely moves in normal operation (battery)
                skipped[metric] = str(error)
        return cls(version, metrics), skipped

    def judge(self, metric: str, features: tuple[float, float, float]) -> str | None:
        """The anomaly rule a window breaks, or None when it looks normal (or the metric has no model)."""
        model = self.metrics.get(metric)
        if model is None:
            return None
        if model.decision(features) >= 0:
            return None
        z = (np.asarray(features) - model.center) / model.scale
        furthest = int(np.argmax(np.abs(z)))
        if (furthest == 0 and z[0] < 0) or furthest == 2:
            return "sensor_stuck"
        if furthest == 1:
            return "sensor_drift"
        return "unusual_electrical" if metric in ELECTRICAL else "unusual_readings"


def observe(
    model: AnomalyModel | None,
    policy: AnomalyPolicy,
    w: Window,
    device_id: str,
    metric: str,
    t: float,
    value: float,
    signals: Signals,
) -> None:
    """Add a reading to its window; when the window is full, judge it and raise or clear."""
    add_reading(w, t, value)
    if w.n < policy.window_readings:
        return
    features = window_features(w)
    reset_window(w)
    if model is None:
        return
    verdict = model.judge(metric, features)
    if verdict == w.raised or (verdict is not None and w.raised is not None):
        w.streak = 0
        return
    w.streak += 1
    if w.streak < policy.consecutive:
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
