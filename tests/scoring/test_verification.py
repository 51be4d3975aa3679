"""Alarm verification: every path to confirmed, unverified and nuisance_likely, on record time."""

from __future__ import annotations

from core.policy import Policy, VerificationPolicy
from scoring.models import Models
from tests.scoring.helpers import Harness


def _classes(h: Harness) -> list[tuple[str, bool]]:
    return [(a.classification, a.final) for a in h.alarms()]


def test_two_detectors_in_one_zone_confirm_at_the_second(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "smoke_detector", "5F", 1, 1)
    assert _classes(h) == [("unverified", False)]
    h.event(30, "UITD", "fire_alarm", "smoke_detector", "5F", 1, 1)  # the same detector again: no evidence
    assert len(h.alarms()) == 1
    out = h.event(75, "UITD", "fire_alarm", "smoke_detector", "5F", 1, 2)
    confirmed = h.alarms()[-1]
    assert out[0] is confirmed  # decided by the confirming record itself
    assert (confirmed.classification, confirmed.reason) == ("confirmed", "two_detectors")
    assert confirmed.alarm_id == h.alarms()[0].alarm_id and confirmed.revision == 2
    assert confirmed.trigger.startswith("UITD:") and len(confirmed.evidence) == 2


def test_detectors_in_different_zones_do_not_corroborate(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "smoke_detector", "5F", 1, 1)
    h.event(20, "UITD", "fire_alarm", "smoke_detector", "6F", 1, 2)
    assert _classes(h) == [("unverified", False), ("unverified", False)]


def test_a_fire_confirmed_on_two_floors_is_one_fire_in_the_premises_history(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "manual_call_point", "6F", 3, 1)
    h.event(120, "UITD", "fire_alarm", "manual_call_point", "2F", 3, 2)  # spreading, while 6F is still burning
    assert [(a.zone, a.classification) for a in h.alarms()] == [("6F", "confirmed"), ("2F", "confirmed")]
    assert len(h.state.fires) == 1
    site = h.scorer.sites.get(h.state.premises_id)
    assert site is not None and h.scorer.inputs(h.state, site, h.state.clock).fires_365d == 1
    # once the first fire's episodes have ended, a later confirmation is another fire
    h.advance(24 * 3600)
    h.event(24 * 3600 + 10, "UITD", "fire_alarm", "manual_call_point", "2F", 3, 2)
    assert len(h.state.fires) == 2


def test_a_manual_call_point_confirms_at_once(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "manual_call_point", "2F", 3, 1)
    assert [(a.classification, a.reason) for a in h.alarms()] == [("confirmed", "manual_call_point")]


def test_a_detector_and_sprinkler_flow_confirm(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "sprinkler_flow_switch", "B2", 4, 1)
    h.event(40, "UITD", "fire_alarm", "smoke_detector", "B2", 1, 8)
    assert [a.classification for a in h.alarms()] == ["unverified", "confirmed"]
    assert h.alarms()[-1].reason == "detector_and_flow"


def test_flow_reported_as_feedback_confirms_a_detector_in_its_zone_either_way_round(models: Models) -> None:
    # GB/T 26875.3 panels report a started flow switch as feedback ("started"), not as a fire alarm.
    after = Harness(models)
    after.event(0, "UITD", "fire_alarm", "smoke_detector", "B2", 1, 8)
    after.event(60, "UITD", "feedback", "sprinkler_flow_switch", "B2", 4, 1)
    assert [(a.classification, a.reason) for a in after.alarms()][-1] == (
        "confirmed",
        "detector_and_flow",
    )
    before = Harness(models)
    before.event(0, "UITD", "feedback", "sprinkler_flow_switch", "B2", 4, 1)
    before.event(30, "UITD", "fire_alarm", "smoke_detector", "B2", 1, 8)
    assert [a.classification for a in before.alarms()] == ["confirmed"]
    elsewhere = Harness(models)
    elsewhere.event(0, "UITD", "feedback", "sprinkler_flow_switch", "B1", 4, 1)  # another zone's flow
    elsewhere.event(30, "UITD", "fire_alarm", "smoke_detector", "B2", 1, 8)
    pump = Harness(models)
    pump.event(0, "UITD", "feedback", "fire_pump", "B1", 9, 1)  # a pump says nothing about a zone
    pump.event(30, "UITD", "fire_alarm", "smoke_detector", "B2", 1, 8)
    assert [a.classification for a in elsewhere.alarms()] == [a.classification for a in pump.alarms()] == ["unverified"]


def test_a_detector_and_a_heat_rise_confirm_whichever_comes_first(models: Models) -> None:
    h = Harness(models)
    h.reading(0, "TS3", "temperature_c", 24.0)
    h.event(10, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    assert [a.classification for a in h.alarms()] == ["unverified"]
    h.reading(70, "TS3", "temperature_c", 40.0)  # 16 °C in 70 s: rate of rise beyond 8.3 °C/min
    assert [a.classification for a in h.alarms()] == ["unverified", "confirmed"]
    assert h.alarms()[-1].reason == "alarm_and_heat"

    before = Harness(models)
    before.reading(0, "TS3", "temperature_c", 60.0)  # at the fixed-temperature limit
    before.event(50, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    assert [a.classification for a in before.alarms()] == ["confirmed"]


def test_a_slow_warm_room_is_not_heat(models: Models) -> None:
    h = Harness(models)
    h.reading(0, "TS3", "temperature_c", 24.0)
    h.event(10, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    h.reading(150, "TS3", "temperature_c", 30.0)  # 2.6 °C/min, inside the window
    assert [a.classification for a in h.alarms()] == ["unverified"]


def test_an_unconfirmed_alarm_expires_at_the_end_of_its_window(models: Models) -> None:
    h = Harness(models)  # 7F has no heat sensor: nothing to wait for beyond the window
    h.event(0, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
    h.advance(179)
    assert _classes(h) == [("unverified", False)]
    h.advance(181)
    assert _classes(h) == [("unverified", False), ("unverified", True)]
    closing = h.alarms()[-1]
    assert closing.time.timestamp() - 1_767_571_200.0 == 180  # the window's end, whenever it is noticed
    assert closing.reason == "window_ended"
    h.event(200, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 4)  # a new episode, not a late second detector
    assert _classes(h)[-1] == ("unverified", False)


def test_a_reset_inside_the_window_ends_the_alarm_as_nuisance(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
    h.event(60, "UITD", "reset", "panel", None)
    assert _classes(h) == [("unverified", False), ("nuisance_likely", True)]


def test_false_alarm_history_makes_single_alarms_nuisance_likely_but_corroboration_still_confirms(
    models: Models,
) -> None:
    h = Harness(models)
    for n in range(3):
        h.event(n * 3600, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
        h.event(n * 3600 + 60, "UITD", "reset", "panel", None)
    h.event(4 * 3600, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
    latest = h.alarms()[-1]
    assert (latest.classification, latest.reason) == ("nuisance_likely", "false_alarm_history")
    h.event(4 * 3600 + 20, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 4)
    assert h.alarms()[-1].classification == "confirmed"


def test_history_forgets_after_its_window(models: Models) -> None:
    h = Harness(models, Policy(verification=VerificationPolicy(history_days=1)))
    for n in range(3):
        h.event(n * 600, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
        h.event(n * 600 + 60, "UITD", "reset", "panel", None)
    h.event(2 * 86_400, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
    assert h.alarms()[-1].classification == "unverified"


def test_alarms_in_a_test_window_are_nuisance_likely_even_when_several_and_do_not_count_as_false(
    models: Models,
) -> None:
    h = Harness(models)
    h.event(0, "UITD", "test", "panel", None)
    h.event(10, "UITD", "fire_alarm", "smoke_detector", "2F", 1, 1)
    h.event(20, "UITD", "fire_alarm", "smoke_detector", "2F", 1, 2)
    h.event(30, "UITD", "fire_alarm", "manual_call_point", "2F", 3, 1)
    assert {a.classification for a in h.alarms()} == {"nuisance_likely"}
    assert h.alarms()[0].reason == "test_window"
    h.event(600, "UITD", "reset", "panel", None)
    assert h.alarms()[-1].final
    assert h.state.false_alarms == []
    h.event(700, "UITD", "fire_alarm", "smoke_detector", "2F", 1, 1)  # the test is over
    assert h.alarms()[-1].classification == "unverified"


def test_a_confirmed_episode_ends_after_an_hour_without_alarms(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "manual_call_point", "2F", 3, 1)
    h.advance(3599)
    assert not h.alarms()[-1].final
    h.advance(3601)
    assert (h.alarms()[-1].classification, h.alarms()[-1].final) == ("confirmed", True)
    assert h.state.fires and not h.state.false_alarms


def test_a_second_detector_after_the_window_opens_a_new_episode(models: Models) -> None:
    h = Harness(models)
    h.event(0, "UITD", "fire_alarm", "smoke_detector", "5F", 1, 1)
    h.event(200, "UITD", "fire_alarm", "smoke_detector", "5F", 1, 2)  # no record between: nothing advanced time
    assert _classes(h) == [("unverified", False), ("unverified", True), ("unverified", False)]
    assert h.alarms()[1].time.timestamp() - 1_767_571_200.0 == 180
    assert h.alarms()[2].alarm_id != h.alarms()[0].alarm_id


def test_a_history_window_longer_than_the_risk_models_30_days_is_kept(models: Models) -> None:
    h = Harness(models, Policy(verification=VerificationPolicy(history_days=60)))
    for n in range(3):
        h.event(n * 600, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
        h.event(n * 600 + 60, "UITD", "reset", "panel", None)
    h.event(45 * 86_400, "UITD", "fault", "smoke_detector", "2F", 1, 1)  # a risk rescore, 45 days on
    h.event(45 * 86_400 + 10, "UITD", "fire_alarm", "smoke_detector", "7F", 1, 3)
    assert h.alarms()[-1].classification == "nuisance_likely"


def test_independent_alarms_that_name_no_zone_take_their_zone_from_the_registry(models: Models) -> None:
    # NB-IoT smoke alarms send a bare fire_alarm: no component, no zone. The registry puts both in 3F.
    for first, second in (("SA3", "SA3b"), ("SA3b", "SA3")):
        h = Harness(models)
        h.event(0, first, "fire_alarm")
        h.event(45, second, "fire_alarm")
        confirmed = h.alarms()[-1]
        assert (confirmed.classification, confirmed.reason, confirmed.zone) == ("confirmed", "two_detectors", "3F")
        assert [(e.kind, e.device_id, e.component) for e in confirmed.evidence] == [
            ("alarm", first, "smoke_detector"),
            ("alarm", second, "smoke_detector"),
        ]


def test_alarms_whose_zone_nobody_knows_never_corroborate_each_other(models: Models) -> None:
    h = Harness(models)
    h.event(0, "SA-UNLISTED-1", "fire_alarm")  # devices the registry does not hold: no zone anywhere
    h.event(30, "SA-UNLISTED-2", "fire_alarm")
    assert _classes(h) == [("unverified", False), ("unverified", False)]
    assert len({a.zone for a in h.alarms()}) == 2


def test_heat_before_the_alarm_is_named_first_with_its_reading(models: Models) -> None:
    h = Harness(models)
    for t in range(0, 600, 60):
        h.reading(t, "TS3", "temperature_c", 24.0)
    h.reading(660, "TS3", "temperature_c", 60.0)  # at the fixed limit, 40 s before the alarm
    h.event(700, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    confirmed = h.alarms()[-1]
    assert (confirmed.classification, confirmed.reason) == ("confirmed", "alarm_and_heat")
    heat, alarm = confirmed.evidence
    assert (heat.kind, heat.device_id, heat.rule, heat.value, heat.limit) == ("heat", "TS3", "fixed", 60.0, 57.0)
    assert heat.time < alarm.time and (alarm.kind, alarm.device_id) == ("alarm", "SA3")


def test_an_alarm_waits_for_the_next_readings_of_a_slow_heat_sensor_of_its_zone(models: Models) -> None:
    h = Harness(models)  # TS3 reports every 300 s
    for t in range(0, 3000, 300):
        h.reading(t, "TS3", "temperature_c", 22.0 + (0.1 if t % 600 else 0.0))
    h.event(2750, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    h.reading(3000, "TS3", "temperature_c", 23.0)  # the first reading after the alarm: not yet
    h.advance(2750 + 180 + 60)
    assert _classes(h) == [("unverified", False)]  # past the 180 s window, still waiting for TS3
    h.reading(3300, "TS3", "temperature_c", 38.0)  # 15 °C since the reading 300 s before
    confirmed = h.alarms()[-1]
    assert (confirmed.classification, confirmed.reason) == ("confirmed", "alarm_and_heat")
    assert (confirmed.evidence[-1].rule, confirmed.evidence[-1].span_s) == ("rise", 300.0)
    lone = Harness(models)
    for t in range(0, 3000, 300):
        lone.reading(t, "TS3", "temperature_c", 22.0)
    lone.event(2750, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    # 3F's smoke alarms report their temperature hourly (the registry's interval): two readings of theirs
    # and half an interval more is 9,000 s, more than heat_wait_max_s
    lone.advance(2750 + 5400 - 1)
    assert _classes(lone) == [("unverified", False)]
    lone.advance(2750 + 5400)
    assert _classes(lone) == [("unverified", False), ("unverified", True)]


def test_the_wait_for_heat_follows_the_registry_not_what_was_scored_before_the_alarm(models: Models) -> None:
    # The runners score events before readings that came earlier: the same records in either order decide alike.
    def run(alarm_first: bool) -> list[tuple[str, str, bool, float]]:
        h = Harness(models)
        for t in range(0, 2700, 300):
            h.reading(t, "TS3", "temperature_c", 22.0)
        if alarm_first:
            h.event(2750, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
            h.reading(2700, "TS3", "temperature_c", 22.0)  # dated before the alarm, scored after it
        else:
            h.reading(2700, "TS3", "temperature_c", 22.0)
            h.event(2750, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
        h.reading(3000, "TS3", "temperature_c", 27.0)
        h.reading(3300, "TS3", "temperature_c", 33.0)  # 11 °C above 2700's, the last before the alarm
        h.advance(2750 + 5400)
        return [(a.classification, a.reason, a.final, a.time.timestamp()) for a in h.alarms()]

    assert run(alarm_first=True) == run(alarm_first=False)
    assert run(alarm_first=True)[1][:2] == ("confirmed", "alarm_and_heat")


def test_a_slow_sensors_readings_after_the_alarm_show_a_rise_since_its_last_before_it(models: Models) -> None:
    # Each step under the 10 °C minimum rise, the two together over it: the fire grew between readings.
    h = Harness(models)
    for t in range(0, 3000, 300):
        h.reading(t, "TS3", "temperature_c", 22.0)
    h.event(2750, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    h.reading(3000, "TS3", "temperature_c", 30.0)
    assert _classes(h) == [("unverified", False)]
    h.reading(3300, "TS3", "temperature_c", 38.0)
    confirmed = h.alarms()[-1]
    assert (confirmed.classification, confirmed.reason) == ("confirmed", "alarm_and_heat")
    heat = confirmed.evidence[-1]
    assert (heat.rule, heat.rise_c, heat.span_s) == ("rise", 16.0, 600.0)  # since 2700, the last before the alarm
    quiet = Harness(models)  # the same readings with no alarm waiting: no heat, nothing to confirm later
    for t in range(0, 3000, 300):
        quiet.reading(t, "TS3", "temperature_c", 22.0)
    quiet.reading(3000, "TS3", "temperature_c", 30.0)
    quiet.reading(3300, "TS3", "temperature_c", 38.0)
    quiet.event(3310, "SA3", "fire_alarm", "smoke_detector", "3F", 0, 0)
    assert _classes(quiet) == [("unverified", False)]
