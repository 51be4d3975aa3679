"""Registry files: the shipped example loads, and every kind of bad file is rejected naming record and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from core import registry
from core.errors import RegistryError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "registry.yaml"


def test_example_has_five_premises_and_loads() -> None:
    loaded = registry.load(EXAMPLE)
    assert len(loaded.premises) == 5
    assert {d.premises for d in loaded.devices} == {p.id for p in loaded.premises}
    problems, open_refs = registry.checks.check(loaded)
    assert problems == [] and open_refs == []


@pytest.mark.parametrize("fmt", ["yaml", "json"])
def test_dump_then_load_is_the_same_registry(tmp_path: Path, fmt: registry.FileFormat) -> None:
    loaded = registry.load(EXAMPLE)
    path = tmp_path / f"copy.{fmt}"
    path.write_text(registry.dump(loaded, fmt), encoding="utf-8")
    assert registry.load(path) == loaded


def _example_data() -> dict[str, list[dict[str, object]]]:
    data: dict[str, list[dict[str, object]]] = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    return data


def _rejected(tmp_path: Path, text: str, suffix: str = ".yaml") -> str:
    path = tmp_path / f"bad{suffix}"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RegistryError) as caught:
        registry.load(path)
    return str(caught.value)


def _rejected_data(tmp_path: Path, data: object) -> str:
    return _rejected(tmp_path, yaml.safe_dump(data, allow_unicode=True))


def test_missing_field(tmp_path: Path) -> None:
    data = _example_data()
    del data["premises"][2]["address"]
    message = _rejected_data(tmp_path, data)
    assert "premises[2] (id 'P-0003'): field 'address': Field required" in message


def test_unknown_category_lists_the_valid_ones(tmp_path: Path) -> None:
    data = _example_data()
    data["premises"][1]["category"] = "shopping_mall"
    message = _rejected_data(tmp_path, data)
    assert "premises[1] (id 'P-0002'): field 'category': Input should be 'high_rise_residential'" in message
    assert "'petrochemical'" in message


def test_wrong_type(tmp_path: Path) -> None:
    data = _example_data()
    data["premises"][0]["floors"] = "thirty-three"
    data["devices"][4]["id"] = 12345
    message = _rejected_data(tmp_path, data)
    assert "premises[0] (id 'P-0001'): field 'floors': Input should be a valid integer" in message
    assert "devices[4]: field 'id': Input should be a valid string, got a number 12345" in message
    assert "2 problem(s)" in message  # every problem at once, not one per run


def test_duplicate_id_names_both_records(tmp_path: Path) -> None:
    data = _example_data()
    data["devices"][5]["id"] = data["devices"][2]["id"]
    message = _rejected_data(tmp_path, data)
    assert "devices[5] (id 'D-0001-EM-02'): field 'id': duplicate of devices[2]" in message


def test_bad_yaml_says_where(tmp_path: Path) -> None:
    message = _rejected(tmp_path, "premises:\n  - id: P-1\n    name: [unclosed\n")
    assert "not valid YAML at line" in message


def test_bad_json_says_where(tmp_path: Path) -> None:
    message = _rejected(tmp_path, '{"premises": [', suffix=".json")
    assert "not valid JSON" in message


def test_unknown_field_and_section(tmp_path: Path) -> None:
    data = _example_data()
    data["devices"][0]["colour"] = "red"
    data["buildings"] = []  # type: ignore[assignment]
    message = _rejected_data(tmp_path, data)
    assert "devices[0] (id 'D-0001-UITD'): field 'colour': is not a known field" in message
    assert "section 'buildings': is not a known section; valid sections are format, jurisdictions" in message


def test_unknown_device_type(tmp_path: Path) -> None:
    data = _example_data()
    data["devices"][1]["type"] = "toaster"
    message = _rejected_data(tmp_path, data)
    assert "devices[1] (id 'D-0001-EM-01'): field 'type': Value error, unknown device type 'toaster'" in message


def test_setpoint_for_a_metric_the_device_does_not_measure(tmp_path: Path) -> None:
    data = _example_data()
    data["devices"][1]["setpoints"] = {"water_pressure_mpa": 0.05}
    message = _rejected_data(tmp_path, data)
    assert (
        "devices[1] (id 'D-0001-EM-01'): field 'setpoints.water_pressure_mpa': "
        "a electrical_monitor does not measure water_pressure_mpa"
    ) in message


def test_shift_that_ends_before_it_starts(tmp_path: Path) -> None:
    data = _example_data()
    data["duty_roster"][0]["ends_at"] = "2026-11-23T07:00:00+08:00"
    message = _rejected_data(tmp_path, data)
    assert "duty_roster[0]: field 'ends_at': must be after starts_at" in message


def test_shift_times_need_an_offset(tmp_path: Path) -> None:
    data = _example_data()
    data["duty_roster"][1]["starts_at"] = "2026-11-23T08:00:00"
    message = _rejected_data(tmp_path, data)
    assert "duty_roster[1]: field 'starts_at': Input should have timezone info" in message


def test_jurisdiction_parent_cycle(tmp_path: Path) -> None:
    data = _example_data()
    data["jurisdictions"][0]["parent"] = "J-FT-XM"
    message = _rejected_data(tmp_path, data)
    assert "jurisdictions[0] (id 'J-FT'): field 'parent': the chain of parents comes back" in message


def test_top_level_must_be_a_mapping(tmp_path: Path) -> None:
    assert "top level must be a mapping of sections, not a list" in _rejected(tmp_path, "- a\n- b\n")


def test_unknown_extension(tmp_path: Path) -> None:
    assert "extension '.csv' is not .yaml, .yml or .json" in _rejected(tmp_path, "id,name\n", suffix=".csv")


def test_a_gb26875_address_is_a_uitds_and_names_one(tmp_path: Path) -> None:
    data = _example_data()
    uitds = [i for i, d in enumerate(data["devices"]) if d["type"] == "uitd"]
    other = next(i for i, d in enumerate(data["devices"]) if d["type"] != "uitd")
    data["devices"][uitds[0]]["gb26875_address"] = "A9BFF8C710F3"  # read in either case, kept lower
    data["devices"][other]["gb26875_address"] = "000000000001"
    message = _rejected_data(tmp_path, data)
    assert (
        f"devices[{other}] (id '{data['devices'][other]['id']}'): field 'gb26875_address': only a uitd has one"
        in message
    )
    data["devices"][other].pop("gb26875_address")
    data["devices"][uitds[0]]["gb26875_address"] = "a9bff8c71"
    assert "field 'gb26875_address'" in _rejected_data(tmp_path, data)
    data["devices"][uitds[0]]["gb26875_address"] = "a9bff8c710f3"
    data["devices"][uitds[1]]["gb26875_address"] = "A9BFF8C710F3"
    message = _rejected_data(tmp_path, data)
    assert f"field 'gb26875_address': a9bff8c710f3 is already devices[{uitds[0]}]'s" in message
    data["devices"][uitds[1]]["gb26875_address"] = "a9bff8c710f4"
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert registry.load(path).devices[uitds[0]].gb26875_address == "a9bff8c710f3"


def test_a_platform_id_is_a_onenet_name_and_names_one_device(tmp_path: Path) -> None:
    data = _example_data()
    first, second, *_ = (i for i, d in enumerate(data["devices"]) if d["type"] == "smoke_alarm")
    data["devices"][first]["platform_id"] = "ctwing:abc"
    assert "field 'platform_id'" in _rejected_data(tmp_path, data)
    data["devices"][first]["platform_id"] = "onenet:C6z4Zk012B/smoke-01"
    data["devices"][second]["platform_id"] = "onenet:C6z4Zk012B/smoke-01"
    message = _rejected_data(tmp_path, data)
    assert f"field 'platform_id': onenet:C6z4Zk012B/smoke-01 is already devices[{first}]'s" in message
    data["devices"][second]["platform_id"] = "onenet:C6z4Zk012B/smoke-02"
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert registry.load(path).devices[second].platform_id == "onenet:C6z4Zk012B/smoke-02"


def test_a_water_system_is_a_gauges(tmp_path: Path) -> None:
    data = _example_data()
    smoke = next(i for i, d in enumerate(data["devices"]) if d["type"] == "smoke_alarm")
    data["devices"][smoke]["water_system"] = "sprinkler"
    message = _rejected_data(tmp_path, data)
    assert "field 'water_system': a smoke_alarm measures no water pressure or tank level" in message
    del data["devices"][smoke]["water_system"]
    path = tmp_path / "good.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    gauges = [d for d in registry.load(path).devices if d.water_system is not None]
    assert [(d.id, d.water_system) for d in gauges] == [("D-0001-SP-01", "sprinkler")]
