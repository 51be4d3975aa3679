"""One frozen, validated settings object per process.

Built once at the entry point by :func:`load_settings` and passed down; nothing deeper reads the
environment. Sources, highest precedence first:

1. command-line flags (``firewarden --database-url ...``),
2. environment variables ``FIREWARDEN_<NAME>``,
3. an optional TOML file (``--config FILE`` or ``FIREWARDEN_CONFIG``), keys named as the fields,
4. the defaults below.

A bad value fails at start with a :class:`~core.errors.SettingsError` that names the setting,
where it came from, and the values it accepts.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import platformdirs
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, EnvSettingsSource, NoDecode, SettingsConfigDict

from core.addresses import MASK, KafkaBus, MqttUrl, mask_database_url, parse_bus, port_of
from core.domain import ID_PATTERN
from core.errors import SettingsError

ENV_PREFIX = "FIREWARDEN_"


def _default_data_dir() -> Path:
    # As root, the embedded PostgreSQL runs as another user and must open the data dir's parents to
    # it (o+rx); /var/lib is made for that, /root is not.
    if os.geteuid() == 0:
        return Path("/var/lib/firewarden")
    return platformdirs.user_data_path("firewarden")


class Settings(BaseSettings):
    """The effective configuration of one Firewarden process. Frozen: pass it down, never change it."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="forbid", env_ignore_empty=True)

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL the processes connect with (postgresql://user:password@host:port/db), as a "
        "member of the role firewarden_app; unset: embedded PostgreSQL",
    )
    database_owner_url: str | None = Field(
        default=None,
        description="PostgreSQL URL of the role that owns the tables, for `firewarden db migrate` (and the "
        "migration `up` runs first); unset: database_url",
    )
    mqtt_url: Annotated[MqttUrl | None, NoDecode] = Field(
        default=None,
        description="mqtt://[user:password@]host:port or mqtts://... for TLS; unset: embedded broker",
    )
    bus: Annotated[Literal["local"] | KafkaBus, NoDecode] = Field(
        default="local", description="stream bus: 'local' (in-process) or kafka://host:port[,host:port]"
    )
    data_dir: Path = Field(
        default_factory=lambda: _default_data_dir(),
        description="where embedded services keep their data",
    )
    policy_file: Path | None = Field(
        default=None, description="TOML policy file (thresholds, windows, schedules); unset: built-in defaults"
    )
    discretion_file: Path | None = Field(
        default=None,
        description="YAML discretion table of enforcement (裁量基准); unset: the shipped one (supervision/data)",
    )
    timescale: Literal["auto", "on", "off"] = Field(
        default="auto",
        description="TimescaleDB at first migration: auto = use when installed, on = require, off = plain",
    )
    db_pool_min_size: int = Field(default=1, ge=1, le=100, description="smallest database pool size")
    db_pool_max_size: int = Field(default=10, ge=1, le=1000, description="largest database pool size")
    embedded_mqtt_port: int = Field(
        default=1883, ge=1, le=65535, description="port of the embedded MQTT broker (when mqtt_url is unset)"
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(default="info", description="log level")
    log_format: Literal["text", "json"] = Field(
        default="text", description="log lines: 'text' for people, 'json' (one object per line) for log collectors"
    )
    kafka_idempotent: bool = Field(
        default=True, description="idempotent Kafka producer (the broker drops the producer's own retries)"
    )
    kafka_one_record_per_batch: bool = Field(
        default=False,
        description="scoring workers produce one record per batch: for Kafka-protocol brokers that report a "
        "partition's end after the first record of its last batch (tansu 0.6), where a worker taking over a "
        "partition would miss the newest premises states in the changelog; costs throughput",
    )
    metrics_port: int = Field(
        default=9464, ge=0, le=65535, description="port of the Prometheus /metrics endpoint; 0 turns it off"
    )
    ingest_partitions: int = Field(
        default=1,
        ge=1,
        le=1000,
        description="how many ingest processes divide the premises between them (each subscribes to its share)",
    )
    ingest_partition: int = Field(
        default=0,
        ge=0,
        le=999,
        description="which of the ingest_partitions this process is, from 0; every process needs its own",
    )
    ingest_client_id: str | None = Field(
        default=None,
        pattern=rf"^{ID_PATTERN.pattern}$",
        description="MQTT client id of this ingest process, stable across restarts so its session "
        "(subscriptions and queued messages) survives; unset: firewarden-ingest-<partition>-of-<partitions>",
    )
    ingest_standby: bool = Field(
        default=False,
        description="when another ingest process runs as this MQTT client id, wait as its standby and take its "
        "session over the moment it stops or dies, instead of refusing to start (run two per partition)",
    )
    ingest_session_loss_hold_s: float = Field(
        default=1800.0,
        ge=0,
        le=7 * 86_400,
        description="how long a broker session found lost (messages in its window may be gone) keeps ingest's "
        "/readyz at 503, unless acknowledged first with `firewarden sessions acknowledge`",
    )
    ingest_max_in_flight: int = Field(
        default=20_000,
        ge=1,
        le=65_535,
        description="messages received but not yet stored and acknowledged; at the limit ingest stops reading",
    )
    ingest_batch_rows: int = Field(default=5_000, ge=1, le=100_000, description="rows per database write, at most")
    ingest_batch_ms: int = Field(
        default=200, ge=1, le=60_000, description="how long a received message may wait for its batch to fill"
    )
    ingest_session_expiry_s: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        le=2**32 - 1,
        description="how long the broker keeps queueing for an ingest process that is down",
    )
    ingest_dedup_capacity: int = Field(
        default=1_000_000, ge=1, description="(device, seq) pairs remembered to drop redeliveries before the database"
    )
    ingest_registry_refresh_s: float = Field(
        default=60.0,
        gt=0,
        le=86_400,
        description="how often ingest re-reads the registry (new devices, and new premises to subscribe to)",
    )
    gb26875_centre_address: str = Field(
        default="000000000000",
        pattern=r"^[0-9A-Fa-f]{12}$",
        description="the monitoring centre's 6-byte GB/T 26875.3 address (12 hex digits, as sent, low byte first): "
        "the source of every frame the centre sends to a UITD",
    )
    gateway_host: str = Field(default="0.0.0.0", description="where `firewarden gateway gb26875` listens for UITDs")
    gateway_port: int = Field(default=26875, ge=1, le=65535, description="the TCP port UITDs connect to")
    gateway_idle_s: float = Field(
        default=90.0,
        gt=0,
        le=3600,
        description="a UITD connection silent this long is closed (UITDs send a keep-alive every 20-30 s)",
    )
    gateway_tls_cert_file: Path | None = Field(
        default=None,
        description="the gateway's TLS certificate (PEM, its chain after it): UITDs then connect over TLS only; "
        "unset: plain TCP, as most UITDs in the field speak",
    )
    gateway_tls_key_file: Path | None = Field(default=None, description="the key of gateway_tls_cert_file (PEM)")
    gateway_client_id: str = Field(
        default="firewarden-gateway",
        pattern=rf"^{ID_PATTERN.pattern}$",
        description="the gateway's MQTT client id; each gateway process needs its own",
    )
    nbiot_host: str = Field(
        default="0.0.0.0", description="where `firewarden gateway nbiot` listens for platform pushes"
    )
    nbiot_port: int = Field(default=8090, ge=1, le=65535, description="the HTTP port IoT platforms push to")
    nbiot_client_id: str = Field(
        default="firewarden-nbiot",
        pattern=rf"^{ID_PATTERN.pattern}$",
        description="the NB-IoT gateway's MQTT client id; each of its processes needs its own",
    )
    onenet_token: str | None = Field(
        default=None,
        min_length=3,
        description="the token of the OneNET push instance (its signatures are checked with it); unset: "
        "/ingest/onenet answers 503",
    )
    onenet_aes_key: str | None = Field(
        default=None,
        min_length=16,
        max_length=16,
        description="the OneNET push instance's AES key (16 characters) when it pushes in safe mode (安全模式): each "
        "push's msg is decrypted with it; unset: plain mode",
    )
    onenet_max_age_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="a OneNET push stamped further than this from the gateway's clock is refused as a replay",
    )
    ctwing_token: str | None = Field(
        default=None,
        min_length=16,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="the secret in CTWing's subscription URL, /ingest/ctwing/<token> (its pushes carry no "
        "signature); unset: /ingest/ctwing answers 503",
    )
    ctwing_max_age_s: float = Field(
        default=300.0,
        gt=0,
        le=86_400,
        description="a CTWing push stamped further than this from the gateway's clock is refused as a replay",
    )

    model_dir: Path | None = Field(
        default=None,
        description="where trained models are kept; unset: <data_dir>/models (shipped defaults while it holds none)",
    )
    model_reload_s: float = Field(
        default=10.0,
        ge=0,
        le=86_400,
        description="how often scoring looks for new model files in the model directory; 0: never (restart to switch)",
    )
    scoring_group: str = Field(
        default="firewarden-scoring",
        pattern=rf"^{ID_PATTERN.pattern}$",
        description="faust app id = Kafka consumer group of the scoring workers (kafka bus)",
    )
    scoring_partitions: int = Field(
        default=12,
        ge=1,
        le=10_000,
        description="partitions of fw.records and fw.decisions, and of scoring's state changelog (kafka bus)",
    )
    scoring_registry_refresh_s: float = Field(
        default=60.0,
        ge=0,
        le=86_400,
        description=(
            "how often scoring reads the registry again (premises, devices imported while it runs) and the "
            "supervision record; 0: never"
        ),
    )
    scoring_session_timeout_s: float = Field(
        default=1.0,
        ge=1,
        le=300,
        description="a scoring worker silent this long is out of the group and its partitions go to the others "
        "(kafka bus; the failover time after a crash). Apache Kafka refuses less than its "
        "group.min.session.timeout.ms (6 s unless set lower, as deploy/compose.yaml does)",
    )
    scoring_wall_clock: bool = Field(
        default=True,
        description="advance silent premises by the wall clock (off: time moves only with records, for replays)",
    )
    scoring_lateness_s: float = Field(
        default=120.0,
        ge=0,
        le=86_400,
        description="how far behind the wall clock a silent premises' clock is moved (records may arrive late)",
    )

    smtp_url: str | None = Field(
        default=None,
        description="smtp://[user:password@]host:port (smtps:// for TLS) for alert e-mail; unset: no e-mail",
    )
    alerts_mail_from: str = Field(default="firewarden@localhost", description="sender address of alert e-mail")
    alerts_webhook_secret: str | None = Field(
        default=None,
        min_length=16,
        description="HMAC-SHA256 key that signs webhook bodies; unset: a random key kept in <data_dir>/webhook-secret",
    )
    alerts_centre_webhook_url: str | None = Field(
        default=None, pattern=r"^https?://\S+$", description="the monitoring centre's webhook, told of every incident"
    )
    alerts_centre_email: str | None = Field(default=None, description="the monitoring centre's alert e-mail address")
    api_host: str = Field(default="127.0.0.1", description="address the console and its HTTP API listen on")
    api_port: int = Field(default=8080, ge=0, le=65535, description="port of the console and API; 0 turns it off")
    console_session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="how long a console login lasts (a shift, by default)"
    )
    console_tile_url: str | None = Field(
        default=None,
        pattern=r"^https?://\S*\{z\}\S*\{x\}\S*\{y\}\S*$",
        description="map tiles under the console's map, e.g. https://tiles.example.org/{z}/{x}/{y}.png (your own "
        "tile server); unset: no tiles, nothing fetched from outside",
    )

    @property
    def models_path(self) -> Path:
        return self.model_dir if self.model_dir is not None else self.data_dir / "models"

    @field_validator("database_url", "database_owner_url")
    @classmethod
    def _check_database_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(
                f"must be a PostgreSQL URL such as postgresql://user:password@host:5432/firewarden, "
                f"scheme was {parts.scheme or 'none'!r}"
            )
        port_of(parts, default=5432)
        return value

    @field_validator("smtp_url")
    @classmethod
    def _check_smtp_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"must be smtp://[user:password@]host:port or smtps://..., got {value!r}")
        port_of(parts, default=25)
        return value

    @field_validator("mqtt_url", mode="before")
    @classmethod
    def _mqtt_from_text(cls, value: object) -> object:
        return MqttUrl.parse(value) if isinstance(value, str) else value

    @field_validator("bus", mode="before")
    @classmethod
    def _bus_from_text(cls, value: object) -> object:
        return parse_bus(value) if isinstance(value, str) else value

    @field_validator("policy_file", "discretion_file")
    @classmethod
    def _check_policy_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"no such file: {value}")
        return value

    def masked(self) -> dict[str, str]:
        """Every setting as display text, passwords replaced by ``***``: safe to print or log."""
        shown: dict[str, str] = {}
        for name in type(self).model_fields:
            value: Any = getattr(self, name)
            if value is None:
                text = "(unset)"
            elif name in ("database_url", "database_owner_url", "smtp_url"):
                text = mask_database_url(value)
            elif name in ("alerts_webhook_secret", "onenet_token", "onenet_aes_key", "ctwing_token"):
                text = MASK
            elif isinstance(value, MqttUrl):
                text = value.render(mask=True)
            else:
                text = str(value)
            shown[name] = text
        return shown

    def check_consistency(self) -> None:
        """Cross-field checks that pydantic's per-field validators cannot express."""
        if self.db_pool_min_size > self.db_pool_max_size:
            raise SettingsError(
                f"setting db_pool_min_size ({self.db_pool_min_size}) must not exceed "
                f"db_pool_max_size ({self.db_pool_max_size})"
            )
        if self.ingest_partition >= self.ingest_partitions:
            raise SettingsError(
                f"setting ingest_partition ({self.ingest_partition}) must be below "
                f"ingest_partitions ({self.ingest_partitions}): partitions are numbered from 0"
            )
        if (self.gateway_tls_cert_file is None) != (self.gateway_tls_key_file is None):
            raise SettingsError(
                "settings gateway_tls_cert_file and gateway_tls_key_file go together: set both or neither"
            )


def describe_settings() -> list[tuple[str, str, str]]:
    """(environment variable, default, description) for every setting, for docs and ``--help``."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = str(field.default_factory())  # type: ignore[call-arg]
        else:
            default = "unset" if field.default is None else str(field.default)
        rows.append((ENV_PREFIX + name.upper(), default, field.description or ""))
    return rows


def load_settings(
    flags: Mapping[str, object] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings from flags, environment, an optional TOML file and defaults, in that order.

    ``flags`` holds only the flags the user actually gave (``None`` values are ignored), keyed by
    field name. Raises :class:`SettingsError` naming the setting, its source and the valid values.
    """
    origins: dict[str, str] = {}
    layered: dict[str, object] = {}

    if config_file is not None:
        for name, value in _read_config_file(config_file).items():
            layered[name] = value
            origins[name] = f"in config file {config_file}"

    env_values = EnvSettingsSource(Settings)()
    for name, value in env_values.items():
        layered[name] = value
        origins[name] = f"from environment variable {ENV_PREFIX}{name.upper()}"

    for name, value in (flags or {}).items():
        if value is not None:
            layered[name] = value
            origins[name] = f"from flag --{name.replace('_', '-')}"

    try:
        settings = Settings(**layered)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(_explain(exc, origins)) from None
    settings.check_consistency()
    return settings


def _read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist") from None
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError(f"config file {path} cannot be read as TOML: {exc}") from None
    unknown = sorted(set(data) - Settings.model_fields.keys())
    if unknown:
        raise SettingsError(
            f"config file {path}: unknown setting(s) {', '.join(unknown)}; "
            f"valid settings are {', '.join(Settings.model_fields)}"
        )
    return data


def _explain(exc: ValidationError, origins: Mapping[str, str]) -> str:
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        origin = origins.get(name, "default")
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] in ("literal_error", "enum"):
            expected = error.get("ctx", {}).get("expected", "")
            message = f"valid values are {expected}, got {error.get('input')!r}"
        lines.append(f"setting {name} ({ENV_PREFIX}{name.upper()}, {origin}): {message}")
    return "bad settings:\n  " + "\n  ".join(lines)
