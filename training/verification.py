"""The verification matrix: alarm verification judged over reporting intervals, noise, zone uses and cases.

Every cell (case × the room sensor's interval × its noise × the zone's use) runs trials of
:mod:`simulators.trials`, each with its own seed, through scoring under a policy
(:func:`training.whatif.score`, what ``firewarden replay`` runs), and records whether the trial's
alarm was confirmed, when, and why. From the trials come the rate of confirmation per cell with its
95 % Wilson interval, the confusion matrix (fire or not against confirmed or not) and the targets
of docs/scoring.md, each met or not.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import pairwise, product
from pathlib import Path
from typing import Any, Final

from core.domain import ZONE_USES
from core.policy import Policy
from scoring import AlarmDecision, Models
from simulators import CASES, FIRES, HEAT_FIRES, INTERVALS, NOISES, Trial, trial_registry, trial_stream
from training.pool import run_trials
from training.replay import accepted_records
from training.whatif import score

CORROBORATED: Final = (
    "two_detectors",
    "two_smoke_alarms",
    "detector_then_flow",
    "flow_then_detector",
    "manual_call_point",
)
RATE_OF_RISE_USES: Final = ("ordinary", "car_park", "ebike_charging")
"""Uses whose zones read a rise as heat under the default policy (a kitchen or a boiler room does not)."""
Z95: Final = 1.959963984540054


@dataclass(frozen=True, slots=True)
class Result:
    """What scoring made of one trial."""

    trial: Trial
    confirmed: bool
    reason: str
    """Why it was confirmed, or the episode's last classification and reason when it was not."""
    delay_s: float | None
    """First alarm → the confirmed decision (simulated seconds)."""
    late_s: float | None
    """How long after the record that could corroborate it was it confirmed: the second detector, the
    flow or the manual call point; for heat fires at intervals longer than the window, the first
    reading whose reported value showed the rise (:func:`_first_rise`). None where that does not apply."""
    evidence: tuple[str, ...] = ()
    """``kind:device`` of each piece of evidence the confirmed decision named, in order."""


def run_trial(trial: Trial, policy: Policy, models: Models) -> Result:
    made = trial_stream(trial, policy.verification.window_s)
    reg = trial_registry(trial.use, trial.interval_s)
    records = [r for _, batch in accepted_records(reg, made.messages) for r in batch]
    alarms = [d for d in score(policy, models, reg, records) if isinstance(d, AlarmDecision)]
    confirmed = next((a for a in alarms if a.classification == "confirmed"), None)
    if confirmed is None:
        last = alarms[-1] if alarms else None
        reason = f"{last.classification}:{last.reason}" if last else "no decision"
        return Result(trial, False, reason, None, None)
    at = confirmed.time.timestamp()
    could = made.corroboration_at
    if trial.case in HEAT_FIRES and trial.interval_s > policy.verification.window_s:
        v = policy.verification
        heat = v.heat_class(trial.use)
        could = _first_rise(made.heat, made.alarm_at, v.window_s, heat.min_rise_c, heat.fixed_c)
    late = None if could is None else at - max(could, made.alarm_at)
    evidence = tuple(f"{e.kind}:{e.device_id}" for e in confirmed.evidence)
    return Result(trial, True, confirmed.reason, at - made.alarm_at, late, evidence)


def _first_rise(
    heat: Sequence[tuple[float, float, float]], alarm_at: float, window_s: float, min_rise: float, fixed_c: float
) -> float | None:
    """When the readings first showed heat by a sensor's reported values alone: a reading up to a window
    before the alarm at least ``min_rise`` above the one before it, or one after the alarm at least
    ``min_rise`` above the last before the alarm, or any at ``fixed_c``."""
    before = [value for t, _, value in heat if t < alarm_at]
    base = before[-1] if before else None
    for (_, _, previous), (t, _, value) in pairwise(heat):
        if t < alarm_at - window_s:
            continue
        if value >= fixed_c or value - previous >= min_rise:
            return t
        if t >= alarm_at and base is not None and value - base >= min_rise:
            return t
    return None


@dataclass(frozen=True, slots=True)
class Grid:
    """Which cells to run, and how many trials each."""

    cases: tuple[str, ...] = CASES
    intervals: tuple[float, ...] = INTERVALS
    noises: tuple[float, ...] = NOISES
    uses: tuple[str, ...] = ZONE_USES
    seeds: int = 30

    def trials(self) -> Iterator[Trial]:
        for case, interval, noise, use, seed in product(
            self.cases, self.intervals, self.noises, self.uses, range(self.seeds)
        ):
            yield Trial(case, interval, noise, use, seed)  # type: ignore[arg-type]

    @property
    def size(self) -> int:
        return len(self.cases) * len(self.intervals) * len(self.noises) * len(self.uses) * self.seeds


def run(
    grid: Grid,
    policy: Policy,
    models: Models,
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[Result]:
    """Every trial of ``grid``, on ``workers`` processes; ``progress`` is told how many trials are done."""
    return run_trials(list(grid.trials()), run_trial, policy, models, workers=workers, chunk=50, progress=progress)


def wilson(k: int, n: int) -> tuple[float, float]:
    """The 95 % Wilson score interval of ``k`` successes in ``n`` trials."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + Z95**2 / (2 * n)) / (1 + Z95**2 / n)
    half = Z95 * math.sqrt(p * (1 - p) / n + Z95**2 / (4 * n * n)) / (1 + Z95**2 / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass
class Cell:
    """Trials that share some coordinates of the grid (a cell, or a pooled row)."""

    key: tuple[object, ...]
    trials: int = 0
    confirmed: int = 0
    delays: list[float] = field(default_factory=list)

    def add(self, result: Result) -> None:
        self.trials += 1
        if result.confirmed:
            self.confirmed += 1
            assert result.delay_s is not None
            self.delays.append(result.delay_s)

    @property
    def rate(self) -> float:
        return self.confirmed / self.trials if self.trials else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.confirmed, self.trials)

    def delay(self, q: float) -> float | None:
        if not self.delays:
            return None
        ordered = sorted(self.delays)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def pooled(results: Iterable[Result], key: Callable[[Trial], tuple[object, ...]]) -> dict[tuple[object, ...], Cell]:
    cells: dict[tuple[object, ...], Cell] = {}
    for r in results:
        k = key(r.trial)
        cells.setdefault(k, Cell(k)).add(r)
    return dict(sorted(cells.items(), key=lambda item: _sortable(item[0])))


def _sortable(key: tuple[object, ...]) -> tuple[object, ...]:
    order = {name: i for i, name in enumerate((*CASES, *ZONE_USES))}
    return tuple(order.get(k, k) if isinstance(k, str) else k for k in key)


@dataclass(frozen=True, slots=True)
class Confusion:
    """Fires confirmed (true positives), fires missed, nuisance alarms confirmed (false), nuisance not confirmed."""

    fires_confirmed: int
    fires_missed: int
    nuisance_confirmed: int
    nuisance_not_confirmed: int

    @classmethod
    def of(cls, results: Iterable[Result]) -> Confusion:
        counts: dict[tuple[bool, bool], int] = defaultdict(int)
        for r in results:
            counts[(r.trial.fire, r.confirmed)] += 1
        return cls(counts[(True, True)], counts[(True, False)], counts[(False, True)], counts[(False, False)])


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    met: bool
    figure: str
    required: bool = True
    """False for a figure reported beside the targets (the exit code does not depend on it)."""


def targets(results: Sequence[Result], policy: Policy) -> list[Target]:
    """The targets docs/scoring.md sets alarm verification, each with the figure that meets it or not."""
    out = []
    lone = Cell(("lone",))
    for r in results:
        if r.trial.case == "lone_alarm" and r.trial.noise_c <= 0.5:
            lone.add(r)
    if lone.trials:
        high = lone.interval[1]
        out.append(
            Target(
                "lone alarm, steady sensor (noise <= 0.5 °C), every interval: none confirmed, upper 95 % bound <= 1 %",
                lone.confirmed == 0 and high <= 0.01,
                f"{lone.confirmed}/{lone.trials} confirmed, 95 % upper bound {high:.2%}",
            )
        )
    heat = [r for r in results if r.trial.case in HEAT_FIRES and r.trial.use in RATE_OF_RISE_USES]
    quick_cells = pooled((r for r in heat if r.trial.interval_s <= 60), lambda t: (t.case, t.interval_s))
    for (case, interval), cell in quick_cells.items():
        quick = sum(1 for d in cell.delays if d <= 90)
        low, _ = wilson(quick, cell.trials)
        out.append(
            Target(
                f"{case}, sensor every {interval:g} s: >= 95 % confirmed within 90 s of the alarm",
                quick >= 0.95 * cell.trials,
                f"{quick}/{cell.trials} ({quick / cell.trials:.1%}, 95 % interval from {low:.1%})",
                required=case == "flaming_fire",
            )
        )
    slow = [r for r in heat if r.trial.interval_s > policy.verification.window_s]
    for (interval,), cell in pooled(slow, lambda t: (t.interval_s,)).items():
        at_first = sum(1 for r in slow if r.trial.interval_s == interval and r.late_s is not None and r.late_s < 1e-3)
        out.append(
            Target(
                f"flaming fires, sensor every {interval:g} s: confirmed by the first reading after the alarm "
                "that shows the rise",
                at_first == cell.trials,
                f"{at_first}/{cell.trials}",
            )
        )
    corroborated = [r for r in results if r.trial.case in CORROBORATED]
    for (case,), cell in pooled(corroborated, lambda t: (t.case,)).items():
        late = [r.late_s for r in corroborated if r.trial.case == case and r.late_s is not None]
        worst = max(late, default=0.0)
        out.append(
            Target(
                f"{case}: all confirmed, at the corroborating record itself",
                cell.confirmed == cell.trials and worst < 1e-3,
                f"{cell.confirmed}/{cell.trials}, latest {worst:.3f} s after the corroborating record",
            )
        )
    cooking = Cell(("cooking",))
    for r in results:
        if r.trial.case == "cooking" and r.trial.use == "kitchen":
            cooking.add(r)
    if cooking.trials:
        out.append(
            Target(
                "cooking in a kitchen zone: none confirmed",
                cooking.confirmed == 0,
                f"{cooking.confirmed}/{cooking.trials} confirmed, 95 % upper bound {cooking.interval[1]:.2%}",
            )
        )
    return out


def fmt_delay(value: float | None) -> str:
    return "-" if value is None else f"{max(0.0, value):.0f}"


def plot(results: Sequence[Result], path: Path) -> None:
    """Confirmation rate per case and interval, and per case and zone use, with 95 % intervals, and the
    time to confirm fires, as a PNG. Colour says how right the rate is: green when fires are confirmed
    and nuisance alarms are not."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(20, 6.5), gridspec_kw={"width_ratios": [7, 5, 4]})
    by_interval = pooled(results, lambda t: (t.case, t.interval_s))
    cases = [c for c in CASES if any(k[0] == c for k in by_interval)]
    intervals = sorted({float(k[1]) for k in by_interval})  # type: ignore[arg-type]
    _heatmap(axes[0], by_interval, cases, intervals, [f"{i:g} s" for i in intervals], "room sensor's interval")
    axes[0].set_yticks(range(len(cases)), [f"{c} ({'fire' if c in FIRES else 'nuisance'})" for c in cases])
    axes[0].set_title("confirmed, % (95 % interval): by interval, pooled over noise and uses")
    by_use = pooled(results, lambda t: (t.case, t.use))
    uses = [u for u in ZONE_USES if any(k[1] == u for k in by_use)]
    image = _heatmap(axes[1], by_use, cases, uses, [u.replace("_", " ") for u in uses], "zone use")
    axes[1].set_yticks(range(len(cases)), [""] * len(cases))
    axes[1].set_title("by zone use, pooled over intervals and noise")
    fig.colorbar(image, ax=axes[1], fraction=0.04, label="right, % (fires confirmed, nuisance not)")
    fires = [c for c in cases if c in FIRES and cells_delays(results, c)]
    axes[2].boxplot([cells_delays(results, c) for c in fires], orientation="horizontal", tick_labels=fires)
    axes[2].set_xscale("symlog", linthresh=10)
    axes[2].set_xlabel("first alarm → confirmed, simulated s")
    axes[2].set_title("time to confirm, confirmed fires")
    confusion = Confusion.of(results)
    fig.suptitle(
        f"Alarm verification: {len(results):,} trials; fires confirmed {confusion.fires_confirmed:,}, "
        f"missed {confusion.fires_missed:,}; nuisance confirmed {confusion.nuisance_confirmed:,}, "
        f"not {confusion.nuisance_not_confirmed:,}"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _heatmap(
    axis: Any, cells: dict[tuple[object, ...], Cell], rows: list[str], columns: list[Any], labels: list[str], name: str
) -> Any:
    right = [
        [
            (cells[(r, c)].rate if r in FIRES else 1 - cells[(r, c)].rate) * 100 if (r, c) in cells else math.nan
            for c in columns
        ]
        for r in rows
    ]
    image = axis.imshow(right, cmap="RdYlGn", vmin=0, vmax=100, aspect="auto")
    for y, row in enumerate(rows):
        for x, column in enumerate(columns):
            cell = cells.get((row, column))
            if cell is not None:
                low, high = cell.interval
                axis.text(x, y, f"{cell.rate:.0%}\n{low:.0%}-{high:.0%}", ha="center", va="center", fontsize=7)
    axis.set_xticks(range(len(columns)), labels)
    axis.set_xlabel(name)
    return image


def cells_delays(results: Iterable[Result], case: str) -> list[float]:
    """Every confirmed trial's time from the first alarm to the confirmed decision, for ``case``."""
    return [r.delay_s for r in results if r.trial.case == case and r.delay_s is not None]


def worst_cells(results: Iterable[Result], count: int = 8) -> list[Cell]:
    """Cells (case, interval, noise, use) of fires confirmed least often, then of nuisance alarms confirmed
    most often, ``count`` of each at most, the worst first."""
    cells = pooled(results, lambda t: (t.case, t.interval_s, t.noise_c, t.use))
    fires = sorted((c for c in cells.values() if c.key[0] in FIRES and c.rate < 1), key=lambda c: c.rate)
    nuisance = sorted((c for c in cells.values() if c.key[0] not in FIRES and c.rate > 0), key=lambda c: -c.rate)
    return fires[:count] + nuisance[:count]


def write_cells(results: Iterable[Result], path: Path) -> None:
    """Every cell as a CSV row: its coordinates, trials, confirmed, the interval and the delays."""
    import csv

    cells = pooled(results, lambda t: (t.case, t.interval_s, t.noise_c, t.use))
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(["case", "fire", "interval_s", "noise_c", "use", "trials", "confirmed", "rate", "low95",
                      "high95", "median_delay_s", "p95_delay_s"])  # fmt: skip
        for (case, interval, noise, use), cell in cells.items():
            low, high = cell.interval
            median, p95 = cell.delay(0.5), cell.delay(0.95)
            out.writerow([case, case in FIRES, interval, noise, use, cell.trials, cell.confirmed, round(cell.rate, 4),
                          round(low, 4), round(high, 4), "" if median is None else round(median, 1),
                          "" if p95 is None else round(p95, 1)])  # fmt: skip
