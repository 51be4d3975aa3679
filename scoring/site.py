"""What scoring needs of the registry: each premises' profile, its devices and its supervision record,
held in memory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final, TypedDict

from core.domain import DEVICE_TYPES
from core.registry import RegistryFile


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    type: str
    zone: str
    interval_s: float
    setpoints: Mapping[str, float] = field(default_factory=dict)
    water_system: str = ""
    """The water system a gauge measures (the registry's ``water_system``); "" for none."""


@dataclass(frozen=True, slots=True)
class Profile:
    """The static part of a premises that the risk model reads."""

    id: str
    category: str
    height_m: float
    occupancy: int
    credit_status: str


YEAR_S: Final = 365 * 86_400.0


class SupervisionInputs(TypedDict):
    inspection_fail_share: float
    hazard_overdue_share: float
    cases_365d: int
    self_check_overdue_share: float


@dataclass(frozen=True, slots=True)
class Supervised:
    """What the fire authority's work and the unit's own recorded at a premises, dated (Unix seconds),
    read by :func:`scoring.store.load_sites`; :meth:`at` makes the risk model's supervision inputs of
    the year before a moment of scoring's clock, as the other history inputs are."""

    visits: tuple[tuple[float, int, int], ...] = ()
    """Each inspection: (when recorded, checklist items failed, items passed or failed)."""
    hazards: tuple[tuple[float, float | None], ...] = ()
    """Each hazard: (its deadline, when it went past it; None: closed in time, or not yet due)."""
    cases: tuple[float, ...] = ()
    """When each enforcement case was opened."""
    self_checks: tuple[float, ...] = ()
    """When each of the unit's self-checks was done, oldest first."""
    watched_since: float | None = None
    """The premises' first risk score: self-checks are due from then on."""
    self_check_every_s: float = 30 * 86_400.0
    """The unit's self-check period (its tier's and credit's, ``Policy.self_check_every_days``)."""

    def at(self, now: float) -> SupervisionInputs:
        """``inspection_fail_share``, ``hazard_overdue_share``, ``cases_365d`` and
        ``self_check_overdue_share`` over the year before ``now``."""
        since = now - YEAR_S
        failed = sum(f for t, f, _ in self.visits if since < t <= now)
        items = sum(n for t, _, n in self.visits if since < t <= now)
        due = [late for deadline, late in self.hazards if since < deadline <= now]
        overdue = sum(1 for late in due if late is not None and late <= now)
        return {  # the risk model's inputs of that name
            "inspection_fail_share": failed / items if items else 0.0,
            "hazard_overdue_share": overdue / len(due) if due else 0.0,
            "cases_365d": sum(1 for t in self.cases if since < t <= now),
            "self_check_overdue_share": self._overdue_share(now),
        }

    def _overdue_share(self, now: float) -> float:
        """The share of the year before ``now`` (from :attr:`watched_since`, if later) in which a self-check
        was overdue: the first is due a period after the watch began, each next one a period after the one
        before. Never watched: 0."""
        if self.watched_since is None or self.watched_since >= now:
            return 0.0
        start = max(self.watched_since, now - YEAR_S)

        def in_window(begin: float, end: float) -> float:
            return max(0.0, min(end, now) - max(begin, start))

        due, late = self.watched_since + self.self_check_every_s, 0.0
        for at in self.self_checks:
            if at > now:
                break
            late += in_window(due, at)  # overdue from ``due`` until it was done (nothing when in time)
            due = max(due, at + self.self_check_every_s)
        late += in_window(due, now)
        return min(1.0, late / (now - start))


@dataclass(frozen=True, slots=True)
class Site:
    profile: Profile
    devices: Mapping[str, DeviceInfo]
    zone_uses: Mapping[str, str] = field(default_factory=dict)
    """Zone → its use (the registry's ``zones``); a zone not named is ``ordinary``."""
    supervised: Supervised = Supervised()
    systems: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Water system → the devices on it (:meth:`peers`)."""

    def peers(self, device: DeviceInfo) -> tuple[str, ...]:
        """The other devices on the device's water system (none when it names none)."""
        if not device.water_system:
            return ()
        return tuple(d for d in self.systems.get(device.water_system, ()) if d != device.id)

    def use_of(self, zone: str) -> str:
        return self.zone_uses.get(zone, "ordinary")


class Sites:
    """Premises id → :class:`Site`. A premises or device missing here is scored with what is known."""

    def __init__(self, sites: Mapping[str, Site]) -> None:
        self._sites = dict(sites)

    @classmethod
    def of(cls, registry: RegistryFile, supervised: Mapping[str, Supervised] | None = None) -> Sites:
        """The registry's premises and devices; ``supervised``: each premises' supervision record (none:
        nothing found)."""
        supervised = supervised or {}
        devices: dict[str, dict[str, DeviceInfo]] = {p.id: {} for p in registry.premises}
        for d in registry.devices:
            interval = d.expected_interval_s or DEVICE_TYPES[d.type].default_interval_s
            devices.setdefault(d.premises, {})[d.id] = DeviceInfo(
                d.id, d.type, d.zone or "", interval, d.setpoints, d.water_system or ""
            )
        systems: dict[str, dict[str, list[str]]] = {}
        for d in registry.devices:
            if d.water_system:
                systems.setdefault(d.premises, {}).setdefault(d.water_system, []).append(d.id)
        uses: dict[str, dict[str, str]] = {}
        for z in registry.zones:
            uses.setdefault(z.premises, {})[z.zone] = z.use
        return cls(
            {
                p.id: Site(
                    Profile(p.id, p.category, p.height_m or 0.0, p.occupancy or 0, p.credit_status),
                    devices.get(p.id, {}),
                    uses.get(p.id, {}),
                    supervised.get(p.id, Supervised()),
                    {name: tuple(ids) for name, ids in systems.get(p.id, {}).items()},
                )
                for p in registry.premises
            }
        )

    def get(self, premises_id: str) -> Site | None:
        return self._sites.get(premises_id)

    def __len__(self) -> int:
        return len(self._sites)
