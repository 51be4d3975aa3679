"""The fire alarm control panel behind a UITD: its loops, addresses and zones.

A panel's points are the registry's point list when it has one (fleets made by
:func:`simulators.fleet.generate_fleet` do); otherwise the layout is derived from the premises
(floors, category) and the run's seed: the same inputs give the same panel every time.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from core.registry import PanelPoint, Premises, RegistryFile
from simulators.physics import stable_seed
from simulators.profiles import PROFILES

ADDRESSES_PER_LOOP = 200


@dataclass(frozen=True, slots=True)
class Point:
    """One addressable point on the panel."""

    type: str
    loop: int
    address: int
    zone: str


def zone_names(premises: Premises) -> list[str]:
    floors = premises.floors or 1
    return (["B1"] if floors > 3 else []) + [f"{f}F" for f in range(1, floors + 1)]


def layout(premises: Premises, seed: int) -> list[Point]:
    """Every point of the premises' panel, in loop/address order."""
    rng = random.Random(stable_seed(seed, premises.id, "panel"))
    sprinklered = PROFILES[premises.category].devices.get("sprinkler_pressure", (0, 0))[1] > 0
    wanted: list[tuple[str, str]] = []
    for zone in zone_names(premises):
        wanted += [("smoke_detector", zone)] * rng.randint(3, 10)
        wanted += [("heat_detector", zone)] * rng.randint(0, 2)
        wanted += [("manual_call_point", zone)] * 2
        wanted.append(("sounder", zone))
        if sprinklered:
            wanted.append(("sprinkler_flow_switch", zone))
    plant = "B1" if (premises.floors or 1) > 3 else "1F"
    wanted += [
        ("fire_pump", plant),
        ("fire_pump", plant),
        ("pressure_switch", plant),
        ("smoke_exhaust_fan", plant),
        ("fire_door", plant),
        ("power_supply", plant),
        ("panel", plant),
    ]
    return [
        Point(kind, 1 + i // ADDRESSES_PER_LOOP, 1 + i % ADDRESSES_PER_LOOP, zone)
        for i, (kind, zone) in enumerate(wanted)
    ]


def points_of(registry: RegistryFile) -> dict[str, list[Point]]:
    """Each UITD's points from the registry's point list, in loop/address order."""
    out: dict[str, list[Point]] = {}
    for p in sorted(registry.panel_points, key=lambda p: (p.device, p.loop, p.address)):
        out.setdefault(p.device, []).append(
            Point(p.component_type or "input_output_module", p.loop, p.address, p.zone or "")
        )
    return out


def point_list(device_id: str, premises: Premises, seed: int) -> list[PanelPoint]:
    """The registry's point list of a UITD's panel laid out by :func:`layout`."""
    return [
        PanelPoint(
            device=device_id,
            loop=p.loop,
            address=p.address,
            zone=p.zone,
            floor=p.zone,
            component_type=p.type,  # type: ignore[arg-type]
            description=f"{p.zone} {p.type} {p.loop}-{p.address}",
        )
        for p in layout(premises, seed)
    ]


def uitd_address(device_id: str) -> bytes:
    """A simulated UITD's 6-byte GB/T 26875.3 address: stable per device id (the generated registry
    carries it as the device's ``gb26875_address``)."""
    return stable_seed(0, device_id, "address").to_bytes(8, "little")[:6]
