"""The gauge matrix: water-system faults judged over report intervals, fault sizes and seeds.

Every trial of :mod:`simulators.gauge_trials` is scored in memory under a policy (the same scorer as
every runner), and its signals are read against the fault:

- a **sensor fault** (stuck, drift) is *caught* when its own signal (``sensor_stuck``,
  ``sensor_drift``) is raised after the onset; for a drift, *first* also asks that no threshold rule
  was raised from the false reading before it;
- a **real loss** (pump failure, pipe leak, valve closed, tank not refilling) is *caught* when a
  threshold rule (low pressure, low level) or the gauge's impairment signal (``pressure_not_restored``,
  ``tank_not_refilling``) is raised after the onset, and *mislabelled* when a ``sensor_stuck`` or
  ``sensor_drift`` was raised on it first;
- every anomaly signal (``sensor_*``, ``unusual_*``) raised before the onset, and on every hour of
  a healthy trial, is a *false signal* of healthy time, counted per 1,000 device-days;
- with peer gauges on the same water system (``GaugeTrial.peers``), each peer is a healthy sensor
  throughout: its anomaly signals before the onset are false signals of healthy time too (its hours
  count), and after it a peer is *blamed* (a sensor fault laid on the wrong gauge, or a real loss
  called a peer's sensor fault).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import product
from pathlib import Path
from typing import Final

from scipy.stats import chi2  # type: ignore[import-untyped]  # scikit-learn's own dependency

from core.policy import Policy
from ingest import Reading
from scoring import Models, Signal
from simulators import (
    GAUGE_FAULTS,
    GAUGE_INTERVALS,
    PRESSURE_ONLY,
    SENSOR_FAULTS,
    TANK_ONLY,
    GaugeStream,
    GaugeTrial,
    gauge_device,
    gauge_registry,
    gauge_stream,
)
from training.pool import run_trials
from training.verification import wilson
from training.whatif import score

ANOMALY_PREFIXES: Final = ("sensor_", "unusual_")
DRIFT_SIZES: Final[dict[str, tuple[float, ...]]] = {
    "sprinkler_pressure": (0.005, 0.01, 0.02, 0.05),
    "tank_level": (0.01, 0.02, 0.05),
}
BOUND_ALPHA: Final = 1e-3
"""The false alarms a best-possible stuck test may raise: the targets' whole budget (one anomaly signal
in 1,000 device-days) spent on one test a day, more than a detector that tests all day may spend."""
OWN_SIGNAL: Final = {"stuck": "sensor_stuck", "drift_up": "sensor_drift", "drift_down": "sensor_drift"}


@dataclass(frozen=True, slots=True)
class GaugeResult:
    trial: GaugeTrial
    caught_s: float | None
    """Onset → the fault's own signal (sensor faults) or the first threshold rule (real losses)."""
    readings_to_catch: int | None
    """Readings from the onset up to and including the one that raised it."""
    first: bool
    """A drift raised before any threshold rule from the false reading (other faults: caught)."""
    mislabelled: bool
    """A real loss called a stuck or drifting sensor before a threshold rule raised it."""
    healthy_s: float
    false_signals: tuple[str, ...]
    """Anomaly signals raised in healthy time (before the onset, or anywhere in a healthy trial)."""
    peer_blamed: int = 0
    """Anomaly signals raised on the healthy peer after the onset."""
    separable: bool | None = None
    """Sensor faults: whether the fault could be told from a healthy or failing system within the
    target's time (:func:`_separable`); None without a target."""


def trial_signals(trial: GaugeTrial, policy: Policy, models: Models) -> tuple[GaugeStream, list[Signal]]:
    """The trial's readings, and every signal scoring raised of them (of the peer's too)."""
    made = gauge_stream(trial)
    reg = gauge_registry(trial.device_type, trial.interval_s, trial.peers)
    timed = sorted(
        [(t, reg.devices[0].id, value) for t, value in made.readings]
        + [(t, device.id, value) for device, readings in zip(reg.devices[1:], made.peer_readings, strict=True)
           for t, value in readings]
    )  # fmt: skip
    records = [
        Reading(datetime.fromtimestamp(t, UTC), reg.devices[0].premises, device_id, trial.metric, value, i + 1)
        for i, (t, device_id, value) in enumerate(timed)
    ]
    return made, [d for d in score(policy, models, reg, records) if isinstance(d, Signal) and d.state == "raised"]


def run_trial(trial: GaugeTrial, policy: Policy, models: Models) -> GaugeResult:
    made, signals = trial_signals(trial, policy, models)
    raised = [s for s in signals if s.device_id == gauge_device]
    peer = [s for s in signals if s.device_id != gauge_device and s.rule.startswith(ANOMALY_PREFIXES)]
    before = [s for s in raised if s.time.timestamp() < made.onset]
    after = [s for s in raised if s.time.timestamp() >= made.onset]
    false = tuple(s.rule for s in before if s.rule.startswith(ANOMALY_PREFIXES))
    false += tuple(s.rule for s in peer if s.time.timestamp() < made.onset)
    blamed = sum(1 for s in peer if s.time.timestamp() >= made.onset)
    healthy_s = min(made.onset, made.end) - made.readings[0][0]
    for kept in made.peer_readings:
        healthy_s += min(made.onset, made.end) - kept[0][0]
    impairments = {g.impairment for g in policy.anomaly.gauges}
    rules = [s for s in after if s.kind == "hazard_candidate" or s.rule.startswith("low_") or s.rule in impairments]
    anomalies = [s for s in after if s.rule.startswith(ANOMALY_PREFIXES)]
    caught = None
    first = mislabelled = False
    if trial.fault in SENSOR_FAULTS:
        own = next((s for s in anomalies if s.rule == OWN_SIGNAL[trial.fault]), None)
        if own is not None:
            caught = own
            first = not rules or rules[0].time >= own.time
    elif trial.fault != "healthy":
        caught = rules[0] if rules else None
        first = caught is not None
        mislabelled = bool(anomalies) and (caught is None or anomalies[0].time < caught.time)
    caught_s = caught.time.timestamp() - made.onset if caught is not None else None
    readings = None
    if caught is not None:
        at = caught.time.timestamp()
        readings = sum(1 for t, _ in made.readings if made.onset <= t <= at)
    rule_t = rules[0].time.timestamp() if rules else None
    separable = _separable(made, rule_t) if not trial.peers else None  # a peer holds more than one gauge's readings
    return GaugeResult(trial, caught_s, readings, first, mislabelled, healthy_s, false, blamed, separable)


def _separable(made: GaugeStream, rule_t: float | None) -> bool | None:
    """Whether the sensor fault of a lone gauge could be told apart within its target's time, by what
    the trial's readings held (None for the other faults, and for stuck gauges reporting between 300 s
    and an hour, which have no target): a bound on what a detector can do, not a detector.

    - stuck: the run was improbable enough, to a test that knew the system's true level (no detector
      does), within the target's time (12 readings hourly, an hour faster), at :data:`BOUND_ALPHA`;
    - drift down: the system restored itself (a refill, which shows in the readings as a step up
      against their fall) within 24 h of the onset and before the first threshold or impairment rule
      (``rule_t``). Until then the reading falls as a real loss of that rate would, and a detector
      that calls it a sensor fault calls such a loss one too;
    - drift up: always (a reading rising with no refill is no real loss)."""
    trial = made.trial
    if trial.fault == "drift_up":
        return True
    if trial.fault == "drift_down":
        refill = made.first_refill()
        return refill is not None and refill - made.onset <= 86_400 and (rule_t is None or refill <= rule_t)
    if trial.fault != "stuck" or 300 < trial.interval_s < 3600:
        return None
    after = [t for t, _ in made.readings if t >= made.onset]
    until = after[min(11, len(after) - 1)] if trial.interval_s >= 3600 else made.onset + 3600
    return made.healthy_log10_chance(until) < math.log10(BOUND_ALPHA)


@dataclass(frozen=True, slots=True)
class GaugeGrid:
    device_types: tuple[str, ...] = ("sprinkler_pressure", "tank_level")
    faults: tuple[str, ...] = GAUGE_FAULTS
    intervals: tuple[float, ...] = GAUGE_INTERVALS
    seeds: int = 30
    peers: tuple[int, ...] = (0, 1)
    """How many other gauges share the trial gauge's water system: each count is a set of trials."""

    def trials(self) -> Iterator[GaugeTrial]:
        for peers, device_type, fault, interval in product(self.peers, self.device_types, self.faults, self.intervals):
            if (fault in PRESSURE_ONLY and device_type != "sprinkler_pressure") or (
                fault in TANK_ONLY and device_type != "tank_level"
            ):
                continue
            sizes = DRIFT_SIZES[device_type] if fault.startswith("drift") else (0.0,)
            for size, seed in product(sizes, range(self.seeds)):
                yield GaugeTrial(device_type, fault, interval, size, seed, peers)  # type: ignore[arg-type]


def run(
    grid: GaugeGrid,
    policy: Policy,
    models: Models,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[GaugeResult]:
    return run_trials(list(grid.trials()), run_trial, policy, models, workers=workers, chunk=10, progress=progress)


@dataclass(frozen=True, slots=True)
class GaugeCell:
    device_type: str
    peers: int
    fault: str
    interval_s: float
    size: float
    trials: int
    caught: int
    first: int
    mislabelled: int
    peer_blamed: int
    """Trials in which a healthy peer was raised a sensor fault after the onset."""
    median_s: float | None
    p95_s: float | None
    max_readings: int | None
    separable: int | None = None
    """Trials in which the fault could be told apart in time (:func:`_separable`); None without a target."""

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.caught, self.trials)


def cells(results: Sequence[GaugeResult]) -> list[GaugeCell]:
    groups: dict[tuple[str, int, str, float, float], list[GaugeResult]] = defaultdict(list)
    for r in results:
        if r.trial.fault != "healthy":
            t = r.trial
            groups[(t.device_type, t.peers, t.fault, t.interval_s, t.size)].append(r)
    out = []
    for (device_type, peers, fault, interval, size), rs in sorted(groups.items()):
        delays = sorted(r.caught_s for r in rs if r.caught_s is not None)
        readings = [r.readings_to_catch for r in rs if r.readings_to_catch is not None]
        out.append(
            GaugeCell(
                device_type,
                peers,
                fault,
                interval,
                size,
                len(rs),
                len(delays),
                sum(r.first for r in rs),
                sum(r.mislabelled for r in rs),
                sum(r.peer_blamed > 0 for r in rs),
                delays[len(delays) // 2] if delays else None,
                delays[min(len(delays) - 1, round(0.95 * (len(delays) - 1)))] if delays else None,
                max(readings) if readings else None,
                sum(1 for r in rs if r.separable) if any(r.separable is not None for r in rs) else None,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class FalseRate:
    device_type: str
    peers: int
    interval_s: float
    device_days: float
    signals: int

    @property
    def per_1000(self) -> float:
        return 1000 * self.signals / self.device_days if self.device_days else 0.0

    @property
    def upper_per_1000(self) -> float:
        """The one-sided 95 % upper bound of the rate (Poisson, exact by the chi-square relation)."""
        return 1000 * float(chi2.ppf(0.95, 2 * (self.signals + 1))) / 2 / self.device_days if self.device_days else 0.0


def false_rates(results: Sequence[GaugeResult]) -> list[FalseRate]:
    days: dict[tuple[str, int, float], float] = defaultdict(float)
    count: dict[tuple[str, int, float], int] = defaultdict(int)
    for r in results:
        key = (r.trial.device_type, r.trial.peers, r.trial.interval_s)
        days[key] += r.healthy_s / 86_400
        count[key] += len(r.false_signals)
    return [FalseRate(*k, days[k], count[k]) for k in sorted(days)]


@dataclass(frozen=True, slots=True)
class GaugeTarget:
    name: str
    met: bool
    figure: str


def gauge_targets(results: Sequence[GaugeResult]) -> list[GaugeTarget]:
    out = []
    for gauge, peers in sorted({(r.trial.device_type, r.trial.peers) for r in results}):
        mine = [r for r in results if r.trial.device_type == gauge and r.trial.peers == peers]
        device_type = gauge + with_peers(peers)
        stuck_hourly = [r for r in mine if r.trial.fault == "stuck" and r.trial.interval_s >= 3600]
        if stuck_hourly:
            ok = sum(1 for r in stuck_hourly if r.readings_to_catch is not None and r.readings_to_catch <= 12)
            name = f"{device_type} stuck, hourly: >= 95 % within 12 readings"
            out.append(_bounded(_share(name, ok, len(stuck_hourly), 0.95), stuck_hourly))
        stuck_fast = [r for r in mine if r.trial.fault == "stuck" and r.trial.interval_s <= 300]
        if stuck_fast:
            ok = sum(1 for r in stuck_fast if r.caught_s is not None and r.caught_s <= 3600)
            name = f"{device_type} stuck, <= 300 s: >= 95 % within 1 h"
            out.append(_bounded(_share(name, ok, len(stuck_fast), 0.95), stuck_fast))
        drifts = [r for r in mine if r.trial.fault.startswith("drift")]
        if drifts:
            ok = sum(1 for r in drifts if r.caught_s is not None and r.caught_s <= 86_400 and r.first)
            name = f"{device_type} drift (either sign): >= 90 % within 24 h, before a threshold rule"
            out.append(_bounded(_share(name, ok, len(drifts), 0.9), drifts))
    for rate in false_rates(results):
        out.append(
            GaugeTarget(
                f"healthy {rate.device_type}{with_peers(rate.peers)} every {rate.interval_s:g} s: "
                "<= 1 anomaly signal per 1,000 device-days",
                rate.per_1000 <= 1.0,
                f"{rate.signals} in {rate.device_days:,.0f} device-days ({rate.per_1000:.2f}, upper 95 % "
                f"{rate.upper_per_1000:.2f})",
            )
        )
    losses = [r for r in results if r.trial.fault in PRESSURE_ONLY | TANK_ONLY]
    if losses:
        wrong = sum(r.mislabelled for r in losses)
        out.append(
            GaugeTarget(
                "real losses (pump, leak, valve, tank not refilling): never called a sensor fault first",
                wrong == 0,
                f"{wrong}/{len(losses)} mislabelled; "
                f"{sum(r.caught_s is not None for r in losses)}/{len(losses)} raised by a rule",
            )
        )
    paired = [r for r in results if r.trial.peers and r.trial.fault != "healthy"]
    if paired:
        blamed = sum(r.peer_blamed > 0 for r in paired)
        out.append(
            GaugeTarget(
                "a healthy peer never raised a sensor fault after another gauge's fault or a real loss",
                blamed == 0,
                f"{blamed}/{len(paired)} trials",
            )
        )
    return out


def _bounded(target: GaugeTarget, results: Sequence[GaugeResult]) -> GaugeTarget:
    """A sensor fault target's figure, with in how many of its trials the readings held what it takes
    (:func:`_separable`)."""
    if all(r.separable is None for r in results):
        return target
    separable = sum(1 for r in results if r.separable)
    return GaugeTarget(target.name, target.met, f"{target.figure}; separable in {separable}/{len(results)}")


def with_peers(peers: int) -> str:
    """`` with a peer``, `` with 2 peers``, or nothing."""
    return "" if not peers else " with a peer" if peers == 1 else f" with {peers} peers"


def _share(name: str, ok: int, n: int, need: float) -> GaugeTarget:
    low, _ = wilson(ok, n)
    return GaugeTarget(name, ok >= need * n, f"{ok}/{n} ({100 * ok / n:.1f} %, 95 % interval from {100 * low:.1f} %)")


def write_cells(results: Sequence[GaugeResult], path: Path) -> None:
    import csv

    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["device_type", "peers", "fault", "interval_s", "size", "trials", "caught", "first",
                    "mislabelled", "peer_blamed", "low95", "high95", "median_s", "p95_s", "max_readings",
                    "separable"])  # fmt: skip
        for c in cells(results):
            low, high = c.interval
            w.writerow([c.device_type, c.peers, c.fault, c.interval_s, c.size, c.trials, c.caught, c.first,
                        c.mislabelled, c.peer_blamed, round(low, 4), round(high, 4), c.median_s, c.p95_s,
                        c.max_readings, c.separable])  # fmt: skip


def plot(results: Sequence[GaugeResult], path: Path) -> None:
    """Share caught per fault (and size) and report interval, one panel per gauge type, and the false
    signals per 1,000 healthy device-days, as a PNG."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = cells(results)
    types = sorted({(c.device_type, c.peers) for c in found})
    panels = len(types) + 1
    lines = 1 if panels <= 3 else 2
    across = math.ceil(panels / lines)
    fig, grid_axes = plt.subplots(lines, across, figsize=(7.5 * across, 7 * lines), squeeze=False)
    axes = [axis for row in grid_axes for axis in row]
    for axis in axes[panels:]:
        axis.set_visible(False)
    for axis, (device_type, peers) in zip(axes, types, strict=False):
        mine = [c for c in found if (c.device_type, c.peers) == (device_type, peers)]
        rows = list(dict.fromkeys((c.fault, c.size) for c in mine))
        intervals = sorted({c.interval_s for c in mine})
        grid = [[math.nan] * len(intervals) for _ in rows]
        for c in mine:
            y, x = rows.index((c.fault, c.size)), intervals.index(c.interval_s)
            grid[y][x] = 100 * c.caught / c.trials
            low, high = c.interval
            axis.text(x, y, f"{c.caught}/{c.trials}\n{low:.0%}-{high:.0%}", ha="center", va="center", fontsize=7)
        image = axis.imshow(grid, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
        axis.set_xticks(range(len(intervals)), [f"{i:g} s" for i in intervals])
        axis.set_yticks(range(len(rows)), [f"{fault} {size:g}/h" if size else fault for fault, size in rows])
        axis.set_xlabel("report interval")
        axis.set_title(f"{device_type}{with_peers(peers)}: caught, % (95 % interval)")
        fig.colorbar(image, ax=axis, fraction=0.04)
    rates = false_rates(results)
    axis = axes[panels - 1]
    labels = [
        f"{r.device_type.split('_')[0]}{f' +{r.peers} peer' if r.peers else ''} {r.interval_s:g} s" for r in rates
    ]
    above = [r.upper_per_1000 - r.per_1000 for r in rates]
    axis.barh(labels, [r.per_1000 for r in rates], xerr=[[0] * len(rates), above])
    axis.axvline(1.0, color="red", linestyle="--", label="target: 1")
    axis.set_xlabel("false anomaly signals per 1,000 healthy device-days (bar: 95 % upper bound)")
    axis.legend()
    axis.set_title("healthy gauges")
    fig.suptitle(f"Water-system gauges: {len(results):,} trials")
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    fig.savefig(path, dpi=100)
    plt.close(fig)
