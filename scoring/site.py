"""What scoring needs of the registry: each premises' profile and its devices, held in memory."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from core.domain import DEVICE_TYPES
from core.registry import RegistryFile


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    id: str
    type: str
    zone: str
    interval_s: float
    setpoints: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Profile:
    """The static part of a premises that the risk model reads."""

    id: str
    category: str
    height_m: float
    occupancy: int
    credit_status: str


@dataclass(frozen=True, slots=True)
class Site:
    profile: Profile
    devices: Mapping[str, DeviceInfo]
    zone_uses: Mapping[str, str] = field(default_factory=dict)
    """Zone → its use (the registry's ``zones``); a zone not named is ``ordinary``."""

    def use_of(self, zone: str) -> str:
        return self.zone_uses.get(zone, "ordinary")


class Sites:
    """Premises id → :class:`Site`. A premises or device missing here is scored with what is known."""

    def __init__(self, sites: Mapping[str, Site]) -> None:
        self._sites = dict(sites)

    @classmethod
    def of(cls, registry: RegistryFile) -> Sites:
        devices: dict[str, dict[str, DeviceInfo]] = {p.id: {} for p in registry.premises}
        for d in registry.devices:
            interval = d.expected_interval_s or DEVICE_TYPES[d.type].default_interval_s
            devices.setdefault(d.premises, {})[d.id] = DeviceInfo(d.id, d.type, d.zone or "", interval, d.setpoints)
        uses: dict[str, dict[str, str]] = {}
        for z in registry.zones:
            uses.setdefault(z.premises, {})[z.zone] = z.use
        return cls(
            {
                p.id: Site(
                    Profile(p.id, p.category, p.height_m or 0.0, p.occupancy or 0, p.credit_status),
                    devices.get(p.id, {}),
                    uses.get(p.id, {}),
                )
                for p in registry.premises
            }
        )

    def get(self, premises_id: str) -> Site | None:
        return self._sites.get(premises_id)

    def __len__(self) -> int:
        return len(self._sites)
