"""A generated city: premises of every category with the devices each has, jurisdictions, inspectors, roster.

:func:`generate_fleet` is deterministic: the same arguments give an equal registry, so a fleet file
can be regenerated instead of stored.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from datetime import date, datetime, time, timedelta, timezone

from core.domain import CATEGORIES, DEVICE_TYPES
from core.registry import Boundary, Device, Inspector, Jurisdiction, PanelPoint, Premises, RegistryFile, Shift, Unit
from simulators.panel import point_list, uitd_address
from simulators.physics import WATER_HEAD_MPA_PER_M, ZONE_HEIGHT_M, pressure_zone
from simulators.profiles import CREDIT_WEIGHTS, PROFILES

CHINA = timezone(timedelta(hours=8))
CITY_CENTRE = (22.543, 114.058)
PREMISES_PER_STATION = 150
GRIDS_PER_STATION = 3
STATIONS_PER_DISTRICT = 6

_STREETS = (
    "深南大道 Shennan Ave",
    "滨河大道 Binhe Ave",
    "北环大道 Beihuan Ave",
    "红荔路 Hongli Rd",
    "新洲路 Xinzhou Rd",
    "皇岗路 Huanggang Rd",
    "彩田路 Caitian Rd",
    "香蜜湖路 Xiangmihu Rd",
)
_SURNAMES = ("李 Li", "王 Wang", "张 Zhang", "刘 Liu", "陈 Chen", "杨 Yang", "黄 Huang", "赵 Zhao", "吴 Wu", "周 Zhou")


def generate_fleet(
    premises: int,
    seed: int,
    *,
    roster_start: date | None = None,
    roster_days: int = 7,
    mix: Mapping[str, float] | None = None,
    credit_mix: Mapping[str, float] | None = None,
) -> RegistryFile:
    """A registry of ``premises`` premises with their devices, jurisdictions, inspectors and a roster.

    The roster covers ``roster_days`` days from ``roster_start`` (default 2026-01-05, a Monday),
    in China Standard Time: station inspectors on 24-hour shifts from 08:00, grid inspectors on
    weekday day shifts 08:00-18:00. ``mix`` weighs the categories and ``credit_mix`` the credit
    statuses (default: the profiles' own weights, :data:`CREDIT_WEIGHTS`): another city.
    """
    if premises < 1:
        raise ValueError("a fleet needs at least one premises")
    rng = random.Random(seed)
    stations = max(1, math.ceil(premises / PREMISES_PER_STATION))
    districts = max(1, math.ceil(stations / STATIONS_PER_DISTRICT))

    grids = stations * GRIDS_PER_STATION
    per_district = STATIONS_PER_DISTRICT * GRIDS_PER_STATION
    jurisdictions = [Jurisdiction(id="J-CITY", name="市消防救援支队", kind="city", boundary=_sector(0, grids, grids))]
    jurisdictions += [
        Jurisdiction(
            id=f"J-D{d:02d}",
            name=_numbered(_DISTRICTS, d),
            kind="district",
            parent="J-CITY",
            boundary=_sector(d * per_district, min(grids, (d + 1) * per_district), grids),
        )
        for d in range(districts)
    ]
    grid_ids: list[str] = []
    for s in range(stations):
        station = f"J-S{s:03d}"
        jurisdictions.append(
            Jurisdiction(
                id=station,
                name=f"{_numbered(_STATIONS, s)}消防救援站",
                kind="fire_station",
                parent=f"J-D{s // STATIONS_PER_DISTRICT:02d}",
            )
        )
        for g in range(GRIDS_PER_STATION):
            grid_ids.append(f"{station}-G{g}")
            jurisdictions.append(
                Jurisdiction(
                    id=grid_ids[-1],
                    name=f"{_numbered(_STATIONS, s)}第{g + 1}网格",
                    kind="grid",
                    parent=station,
                    boundary=_sector(len(grid_ids) - 1, len(grid_ids), grids),
                )
            )

    inspectors, roster = _inspectors_and_roster(rng, stations, roster_start or date(2026, 1, 5), roster_days)

    categories = list(CATEGORIES)
    weights = [(mix or {}).get(c, PROFILES[c].weight) for c in categories]
    # Every category appears at least once when the fleet is large enough to hold them all.
    chosen = categories[:premises] + rng.choices(categories, weights, k=max(0, premises - len(categories)))
    rng.shuffle(chosen)

    premises_records: list[Premises] = []
    devices: list[Device] = []
    points: list[PanelPoint] = []
    for index, category in enumerate(chosen):
        record = _premises(rng, index, category, grid_ids, index % len(grid_ids), credit_mix or CREDIT_WEIGHTS)
        premises_records.append(record)
        found = _devices(rng, record)
        devices += found
        # Each UITD's panel with its point list (zones for GB/T 26875.3 frames), from its own seed.
        points += [p for d in found if d.type == "uitd" for p in point_list(d.id, record, seed)]
    return RegistryFile(
        jurisdictions=jurisdictions,
        inspectors=inspectors,
        duty_roster=roster,
        premises=premises_records,
        devices=devices,
        panel_points=points,
    )


def with_webhooks(fleet: RegistryFile, base_url: str) -> RegistryFile:
    """The fleet with every inspector's webhook at ``<base_url>/inspectors/<id>`` (a test or demo inbox)."""
    hooked = [i.model_copy(update={"webhook_url": f"{base_url}/inspectors/{i.id}"}) for i in fleet.inspectors]
    return fleet.model_copy(update={"inspectors": hooked})


def _inspectors_and_roster(
    rng: random.Random, stations: int, start: date, days: int
) -> tuple[list[Inspector], list[Shift]]:
    inspectors: list[Inspector] = []
    roster: list[Shift] = []
    for s in range(stations):
        station = f"J-S{s:03d}"
        on_station = []
        for k in range(2):
            ident = f"I-S{s:03d}-{k}"
            inspectors.append(
                Inspector(
                    id=ident,
                    name=_person(rng.choice(_SURNAMES), 2 * s + k),
                    jurisdiction=station,
                    email=f"{ident.lower()}@fire.example.cn",
                    webhook_url=f"https://hooks.fire.example.cn/inspectors/{ident}",
                )
            )
            on_station.append(ident)
        for g in range(GRIDS_PER_STATION):
            ident = f"I-S{s:03d}-G{g}"
            inspectors.append(
                Inspector(
                    id=ident,
                    name=_person(rng.choice(_SURNAMES), 1000 + GRIDS_PER_STATION * s + g),
                    jurisdiction=f"{station}-G{g}",
                    phone=f"+86 138 {s:04d} {g:04d}",
                )
            )
        for day in range(days):
            day_start = datetime.combine(start + timedelta(days=day), time(8), CHINA)
            roster.append(
                Shift(
                    inspector=on_station[day % 2],
                    jurisdiction=station,
                    starts_at=day_start,
                    ends_at=day_start + timedelta(hours=24),
                )
            )
            if day_start.weekday() < 5:
                for g in range(GRIDS_PER_STATION):
                    roster.append(
                        Shift(
                            inspector=f"I-S{s:03d}-G{g}",
                            jurisdiction=f"{station}-G{g}",
                            starts_at=day_start,
                            ends_at=day_start + timedelta(hours=10),
                        )
                    )
    return inspectors, roster


CITY_RADII = (0.12, 0.16)
"""The city is an ellipse of these radii (degrees of latitude, longitude) around its centre; grid k of G
is the sector between angles k and k + 1 times 2π/G, a district the sectors of its grids."""


def _at(angle: float, share: float) -> tuple[float, float]:
    """(longitude, latitude) at ``angle`` and ``share`` of the city's radius."""
    lat = CITY_CENTRE[0] + share * CITY_RADII[0] * math.sin(angle)
    lon = CITY_CENTRE[1] + share * CITY_RADII[1] * math.cos(angle)
    return (round(lon, 5), round(lat, 5))


def _sector(first: int, end: int, grids: int) -> Boundary:
    """The boundary of grids ``first``..``end - 1``: a sector of the city's ellipse (the whole ellipse
    when it takes every grid)."""
    start, stop = 2 * math.pi * first / grids, 2 * math.pi * end / grids
    steps = max(2, math.ceil((stop - start) / (math.pi / 36)))
    arc = [_at(start + (stop - start) * n / steps, 1.0) for n in range(steps + 1)]
    if end - first == grids:
        return Boundary(type="Polygon", coordinates=[[*arc[:-1], arc[0]]])
    centre = (CITY_CENTRE[1], CITY_CENTRE[0])
    return Boundary(type="Polygon", coordinates=[[centre, *arc, centre]])


def _premises(
    rng: random.Random, index: int, category: str, grid_ids: list[str], grid: int, credit_mix: Mapping[str, float]
) -> Premises:
    """A premises inside its grid's sector of the city."""
    profile = PROFILES[category]
    floors = rng.randint(*profile.floors)
    along = min(0.92, max(0.08, 0.5 + rng.gauss(0, 0.02) * 10))
    out = min(0.92, max(0.12, 0.55 + rng.gauss(0, 0.03) * 7))
    lon, lat = _at(2 * math.pi * (grid + along) / len(grid_ids), out)
    credit = rng.choices(
        list(credit_mix),
        [
            w * (profile.untrustworthy_bias if status in ("watchlist", "untrustworthy") else 1.0)
            for status, w in credit_mix.items()
        ],
    )[0]
    surname = rng.choice(_SURNAMES)
    pid = f"P-{index:06d}"
    return Premises(
        id=pid,
        name=_premises_name(category, index),
        category=category,  # type: ignore[arg-type]
        address=f"{rng.randint(1, 999)}号 {rng.choice(_STREETS)}",
        jurisdiction=grid_ids[grid],
        latitude=lat,
        longitude=lon,
        height_m=round(floors * profile.floor_height_m + rng.uniform(0, 2), 1),
        floors=floors,
        occupancy=floors * rng.randint(*profile.people_per_floor),
        credit_status=credit,  # type: ignore[arg-type]
        unit=Unit(
            name=f"{_premises_name(category, index)}管理处",
            contact=_person(surname, 5000 + index),
            phone=f"+86 139 {index:08d}",
        ),
    )


# A generated premises reads like one of a real Chinese city: a place name and what it is (no draw of the
# generator's: the same city as before, only named).
_PLACES = ("锦绣", "华庭", "翠苑", "明珠", "金桂", "南山", "海岸", "云峰", "松柏", "银湖", "福田", "桃源", "新安",
           "宝华", "东湖", "西丽", "龙岗", "平湖", "观澜", "凤凰", "梅林", "莲花", "香蜜", "景田", "白石", "蛇口",
           "沙河", "园岭", "笋岗", "泥岗")  # fmt: skip
_NOUNS = {
    "high_rise_residential": "花园", "high_rise_public": "大厦", "commercial_complex": "广场", "multi_use": "综合楼",
    "warehouse_logistics": "物流园", "elderly_care": "养老院", "social_welfare": "福利院", "small_hotel": "宾馆",
    "rental_housing": "公寓", "school_training": "培训中心", "hospital": "医院", "labour_intensive_factory": "制衣厂",
    "market": "市场", "heritage_building": "古建筑群", "energy_storage_station": "储能电站", "petrochemical": "石化厂",
}  # fmt: skip


_GIVEN = ("建国", "丽华", "志强", "秀英", "伟", "静", "海涛", "晓燕", "明", "芳", "国栋", "春梅", "俊杰", "婷",
          "立新", "红霞", "文斌", "雪", "宏伟", "玉兰", "振华", "娜", "永刚", "慧")  # fmt: skip


def _person(surname: str, n: int) -> str:
    """A person's name from one of :data:`_SURNAMES` (its Chinese part) and a given name by ``n``."""
    return surname.split()[0] + _GIVEN[n % len(_GIVEN)]


# Jurisdictions read like a real city's too: districts, and fire-rescue stations named after their streets.
_DISTRICTS = ("东城区", "西城区", "南湖区", "北山区", "高新区", "滨江区", "江北区", "城南区", "河西区", "经开区")
_STATIONS = ("人民路", "解放路", "中山路", "建设路", "和平路", "新华路", "滨河路", "长江路", "黄河路", "文化路",
             "胜利路", "青年路", "工业路", "花园路", "光明路", "朝阳路", "幸福路", "北京路", "湖滨路")  # fmt: skip


def _numbered(names: tuple[str, ...], index: int) -> str:
    """The index-th name, numbered past the first round (``东城区``, then ``东城区2``)."""
    name, round_ = names[index % len(names)], index // len(names)
    return name + (str(round_ + 1) if round_ else "")


def _premises_name(category: str, index: int) -> str:
    """``锦绣花园``, ``明珠大厦2号``: a place and the category's word; numbered past the first round of places."""
    place, round_ = _PLACES[index % len(_PLACES)], index // len(_PLACES)
    return f"{place}{_NOUNS.get(category, '大楼')}" + (f"{round_ + 1}号" if round_ else "")


def _devices(rng: random.Random, premises: Premises) -> list[Device]:
    profile = PROFILES[premises.category]
    floors = premises.floors or 1
    devices: list[Device] = []
    if rng.random() < profile.uitd_share:
        devices.append(
            Device(
                id=f"{premises.id}-UITD",
                premises=premises.id,
                type="uitd",
                location="消防控制室 fire control room",
                zone="1F",
                expected_interval_s=DEVICE_TYPES["uitd"].default_interval_s,
                gb26875_address=uitd_address(f"{premises.id}-UITD").hex(),
            )
        )
    for kind, (low, high) in profile.devices.items():
        for n in range(rng.randint(low, high)):
            devices.append(_device(rng, premises, kind, n, floors))
    return devices


_CODES = {
    "electrical_monitor": "EM",
    "sprinkler_pressure": "SP",
    "hydrant_pressure": "HY",
    "tank_level": "TK",
    "smoke_alarm": "SA",
    "gas_detector": "GD",
    "ebike_charger": "EB",
    "temperature_sensor": "TS",
}


def _device(rng: random.Random, premises: Premises, kind: str, n: int, floors: int) -> Device:
    ident = f"{premises.id}-{_CODES[kind]}{n + 1:02d}"
    setpoints: dict[str, float] = {}
    system: str | None = None  # the water system a gauge measures
    storey_m = (premises.height_m or 3.0 * floors) / floors
    if kind == "electrical_monitor":
        board_room = "B1" if floors > 3 else "1F"
        location, zone = f"{board_room} 配电箱 distribution board {n + 1}", board_room
        setpoints = {"residual_current_ma": rng.choice((300.0, 500.0)), "cable_temp_c": 70.0}
    elif kind == "sprinkler_pressure":
        # The first at the most unfavourable point (the top floor), a second at the wet alarm valve of
        # the top pressure zone, on the same system: the valve's gauge reads the storeys between more.
        top_zone = pressure_zone(floors, storey_m)
        system = "sprinkler" if top_zone == 0 else f"sprinkler-zone-{top_zone + 1}"
        setpoints = {"water_pressure_mpa": 0.05}
        if n == 0:
            location, zone = f"{floors}F 最不利点 most unfavourable point {n + 1}", f"{floors}F"
        else:
            valve = 0 if top_zone == 0 else math.ceil(top_zone * ZONE_HEIGHT_M / storey_m) + 1
            zone = f"{valve}F" if valve else "B1"
            location = f"{zone} 湿式报警阀 wet alarm valve {n}"
            head = WATER_HEAD_MPA_PER_M * storey_m * (floors - valve)
            setpoints = {"water_pressure_mpa": round(0.05 + head, 2)}
    elif kind == "hydrant_pressure":
        floor = rng.randint(1, floors)
        location, zone = f"{floor}F 消火栓 hydrant {n + 1}", f"{floor}F"
        band = pressure_zone(floor, storey_m)
        system = "hydrant" if pressure_zone(floors, storey_m) == 0 else f"hydrant-zone-{band + 1}"
    elif kind == "tank_level":
        location, zone = (
            "屋顶消防水箱 roof fire water tank" if n == 0 else "消防水池 fire pool",
            "roof" if n == 0 else "B1",
        )
        system = "roof-tank" if n == 0 else "fire-pool"
        setpoints = {"tank_level_m": 2.0}  # the level that still holds the required fire reserve
    elif kind == "smoke_alarm":
        floor = 1 + n % floors
        location, zone = f"{floor}F 房间 room {floor}{n // floors + 1:02d}", f"{floor}F"
    elif kind == "gas_detector":
        floor = rng.randint(1, floors)
        location, zone = f"{floor}F 厨房 kitchen {n + 1}", f"{floor}F"
    elif kind == "ebike_charger":
        location, zone = f"1F 电动车充电点 e-bike charging point {n + 1}", "1F"
    else:  # temperature_sensor
        floor = rng.randint(1, floors)
        location, zone = f"{floor}F 温度监测 temperature point {n + 1}", f"{floor}F"
    return Device(
        id=ident,
        premises=premises.id,
        type=kind,
        location=location,
        zone=zone,
        expected_interval_s=DEVICE_TYPES[kind].default_interval_s,
        setpoints=setpoints,
        water_system=system,
    )
