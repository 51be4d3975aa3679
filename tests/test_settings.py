"""Settings: sources and their precedence, validation messages, masking."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.addresses import KafkaBus, MqttUrl
from core.errors import SettingsError
from core.settings import describe_settings, load_settings


def test_defaults_need_no_configuration() -> None:
    settings = load_settings()
    assert settings.database_url is None
    assert settings.mqtt_url is None
    assert settings.bus == "local"
    assert settings.timescale == "auto"


def test_flags_beat_environment_which_beats_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "firewarden.toml"
    config.write_text('bus = "kafka://file:9092"\nlog_level = "warning"\ntimescale = "off"\n')
    monkeypatch.setenv("FIREWARDEN_BUS", "kafka://env:9092")
    monkeypatch.setenv("FIREWARDEN_LOG_LEVEL", "error")
    settings = load_settings({"bus": "kafka://flag:9092", "log_level": None}, config)
    assert settings.bus == KafkaBus(("flag:9092",))
    assert settings.log_level == "error"  # environment over file; the None flag was not given
    assert settings.timescale == "off"  # only the file set it


def test_an_empty_environment_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREWARDEN_CTWING_TOKEN", "")  # compose's ${FIREWARDEN_CTWING_TOKEN:-}
    monkeypatch.setenv("FIREWARDEN_NBIOT_PORT", "")
    settings = load_settings()
    assert settings.ctwing_token is None
    assert settings.nbiot_port == 8090


def test_mqtt_url_forms() -> None:
    plain = load_settings({"mqtt_url": "mqtt://broker.local:1884"}).mqtt_url
    assert plain == MqttUrl("broker.local", 1884, tls=False)
    secure = load_settings({"mqtt_url": "mqtts://ingest:s%40cret@broker.local"}).mqtt_url
    assert secure == MqttUrl("broker.local", 8883, tls=True, username="ingest", password="s@cret")


def test_kafka_bus_takes_several_servers() -> None:
    assert load_settings({"bus": "kafka://a:9092,b:9093"}).bus == KafkaBus(("a:9092", "b:9093"))


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ({"bus": "rabbit"}, "setting bus (FIREWARDEN_BUS, from flag --bus): valid values are 'local' or 'kafka://"),
        ({"bus": "kafka://nohost"}, "each Kafka server must be host:port"),
        (
            {"mqtt_url": "http://broker:1883"},
            "setting mqtt_url (FIREWARDEN_MQTT_URL, from flag --mqtt-url): scheme must be mqtt or mqtts, got 'http'",
        ),
        ({"mqtt_url": "mqtt://:1883"}, "a host is required"),
        ({"mqtt_url": "mqtt://broker:70000"}, "port must be a number from 1 to 65535"),
        ({"mqtt_url": "mqtt://broker:1883/topic"}, "host:port[?ca=FILE&cert=FILE&key=FILE] is accepted"),
        ({"mqtt_url": "mqtt://broker:1883?ca=/etc/ca.pem"}, "ca, cert and key are for TLS: use mqtts://"),
        ({"mqtt_url": "mqtts://broker?cert=/c.pem"}, "a client certificate needs both cert and key"),
        ({"mqtt_url": "mqtts://broker?topic=x"}, "the query may name ca, cert and key once each"),
        (
            {"database_url": "mysql://db/x"},
            "setting database_url (FIREWARDEN_DATABASE_URL, from flag --database-url): must be a PostgreSQL URL",
        ),
        (
            {"timescale": "maybe"},
            "setting timescale (FIREWARDEN_TIMESCALE, from flag --timescale): "
            "valid values are 'auto', 'on' or 'off', got 'maybe'",
        ),
        ({"log_level": "loud"}, "valid values are 'debug', 'info', 'warning' or 'error', got 'loud'"),
        (
            {"policy_file": "/nonexistent/policy.toml"},
            "setting policy_file (FIREWARDEN_POLICY_FILE, from flag "
            "--policy-file): no such file: /nonexistent/policy.toml",
        ),
    ],
)
def test_bad_flag_values_name_the_setting_and_valid_values(flags: dict[str, object], expected: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(flags)
    assert expected in str(caught.value)


def test_bad_environment_value_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIREWARDEN_EMBEDDED_MQTT_PORT", "not-a-port")
    with pytest.raises(SettingsError, match=r"embedded_mqtt_port \(FIREWARDEN_EMBEDDED_MQTT_PORT, from environment"):
        load_settings()


def test_bad_file_value_names_the_file(tmp_path: Path) -> None:
    config = tmp_path / "fw.toml"
    config.write_text('timescale = "sometimes"\n')
    with pytest.raises(SettingsError, match=rf"timescale \(FIREWARDEN_TIMESCALE, in config file {config}\)"):
        load_settings(config_file=config)


def test_unknown_key_in_file_lists_the_valid_ones(tmp_path: Path) -> None:
    config = tmp_path / "fw.toml"
    config.write_text('databse_url = "postgresql://x/y"\n')
    with pytest.raises(SettingsError, match=r"unknown setting.*databse_url; valid settings are database_url"):
        load_settings(config_file=config)


def test_unreadable_file_is_a_settings_error(tmp_path: Path) -> None:
    config = tmp_path / "fw.toml"
    config.write_text("this is = = not toml")
    with pytest.raises(SettingsError, match="cannot be read as TOML"):
        load_settings(config_file=config)
    with pytest.raises(SettingsError, match="does not exist"):
        load_settings(config_file=tmp_path / "missing.toml")


def test_pool_sizes_must_be_ordered() -> None:
    with pytest.raises(SettingsError, match=r"db_pool_min_size .* must not exceed db_pool_max_size"):
        load_settings({"db_pool_min_size": 5, "db_pool_max_size": 2})


def test_settings_are_frozen() -> None:
    settings = load_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.bus = "local"  # type: ignore[misc]


def test_masked_hides_every_password() -> None:
    shown = load_settings(
        {
            "database_url": "postgresql://fw:db-secret@db:5432/firewarden?sslmode=require&password=other-secret",
            "mqtt_url": "mqtts://ingest:mq-secret@broker:8883",
            "smtp_url": "smtps://mail:smtp-secret@mail:465",
            "alerts_webhook_secret": "hmac-secret-key-for-tests",
        }
    ).masked()
    text = repr(shown)
    for password in ("db-secret", "other-secret", "mq-secret", "smtp-secret", "hmac-secret-key-for-tests"):
        assert password not in text
    assert shown["database_url"] == "postgresql://fw:***@db:5432/firewarden?sslmode=require&password=***"
    assert shown["mqtt_url"] == "mqtts://ingest:***@broker:8883"


def test_an_mqtt_url_printed_or_logged_shows_no_password() -> None:
    url = MqttUrl.parse("mqtt://ingest:mq-secret@broker:1883")
    assert str(url) == f"{url}" == "mqtt://ingest:***@broker:1883"
    assert url.password == "mq-secret"  # still there for the code that connects


def test_every_setting_is_described() -> None:
    rows = describe_settings()
    assert {row[0] for row in rows} >= {
        "FIREWARDEN_DATABASE_URL",
        "FIREWARDEN_MQTT_URL",
        "FIREWARDEN_BUS",
        "FIREWARDEN_DATA_DIR",
        "FIREWARDEN_POLICY_FILE",
    }
    assert all(description for _, _, description in rows)
