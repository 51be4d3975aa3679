"""Where the services are: the MQTT broker and the bus as their URLs say, parsed and checked, and a
database URL made safe to print. The settings carry them (:mod:`core.settings`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal
from urllib.parse import SplitResult, parse_qs, unquote, urlencode, urlsplit

if TYPE_CHECKING:
    import paho.mqtt.client as mqtt

MASK = "***"


@dataclass(frozen=True, slots=True)
class MqttUrl:
    """An MQTT broker address: ``mqtt://[user:password@]host:port`` or ``mqtts://...`` for TLS, where
    ``?ca=FILE`` names the CA certificate(s) to trust instead of the system's, and ``cert=FILE&key=FILE``
    a client certificate and its key (for a broker that asks for one)."""

    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = None
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def parse(cls, text: str) -> MqttUrl:
        parts = urlsplit(text)
        if parts.scheme not in ("mqtt", "mqtts"):
            raise ValueError(f"scheme must be mqtt or mqtts, got {parts.scheme or 'none'!r}")
        if not parts.hostname:
            raise ValueError("a host is required, as in mqtt://localhost:1883")
        if parts.path not in ("", "/") or parts.fragment:
            raise ValueError("only mqtt[s]://[user:password@]host:port[?ca=FILE&cert=FILE&key=FILE] is accepted")
        tls = parts.scheme == "mqtts"
        files = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query)) if parts.query else {}
        unknown = sorted(set(files) - {"ca", "cert", "key"})
        if unknown or any(len(v) != 1 or not v[0] for v in files.values()):
            raise ValueError(f"the query may name ca, cert and key once each, as files; got {parts.query!r}")
        if files and not tls:
            raise ValueError("ca, cert and key are for TLS: use mqtts://")
        if ("cert" in files) != ("key" in files):
            raise ValueError("a client certificate needs both cert and key")
        return cls(
            host=parts.hostname,
            port=port_of(parts, default=8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password is not None else None,
            ca_file=files.get("ca", [None])[0],
            cert_file=files.get("cert", [None])[0],
            key_file=files.get("key", [None])[0],
        )

    def __str__(self) -> str:
        return self.render(mask=True)  # safe in logs; connecting code reads the fields

    def secure(self, client: mqtt.Client) -> None:
        """Give a paho client this URL's credentials, and its TLS for ``mqtts://``."""
        if self.username is not None:
            client.username_pw_set(self.username, self.password)
        self.tls_on(client)

    def tls_on(self, client: mqtt.Client) -> None:
        """TLS for ``mqtts://``: the broker's certificate checked against ``ca_file`` (else the system's
        CAs), with the client certificate when one is named."""
        if self.tls:
            client.tls_set(ca_certs=self.ca_file, certfile=self.cert_file, keyfile=self.key_file)

    def render(self, *, mask: bool) -> str:
        scheme = "mqtts" if self.tls else "mqtt"
        auth = ""
        if self.username is not None:
            secret = "" if self.password is None else f":{MASK if mask else self.password}"
            auth = f"{self.username}{secret}@"
        files = {k: v for k, v in (("ca", self.ca_file), ("cert", self.cert_file), ("key", self.key_file)) if v}
        query = f"?{urlencode(files, safe='/')}" if files else ""
        return f"{scheme}://{auth}{self.host}:{self.port}{query}"


@dataclass(frozen=True, slots=True)
class KafkaBus:
    """The scale-out stream bus: ``kafka://host:port[,host:port...]``."""

    bootstrap_servers: tuple[str, ...]

    def __str__(self) -> str:
        return "kafka://" + ",".join(self.bootstrap_servers)


def port_of(parts: SplitResult, *, default: int) -> int:
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"port must be a number from 1 to 65535 in {parts.netloc!r}") from None
    return default if port is None else port


def parse_bus(text: str) -> Literal["local"] | KafkaBus:
    if text == "local":
        return "local"
    if not text.startswith("kafka://"):
        raise ValueError(f"valid values are 'local' or 'kafka://host:port[,host:port...]', got {text!r}")
    servers = []
    for hostport in text.removeprefix("kafka://").split(","):
        host, sep, port = hostport.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"each Kafka server must be host:port with a port from 1 to 65535, got {hostport!r}")
        servers.append(hostport)
    return KafkaBus(tuple(servers))


def mask_database_url(url: str) -> str:
    """The URL with its password (in the authority or as a ``password=`` parameter) replaced by ``***``."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if parts.password:
        userinfo, _, hostinfo = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{hostinfo}"
    query = "&".join(f"password={MASK}" if item.startswith("password=") else item for item in parts.query.split("&"))
    return parts._replace(netloc=netloc, query=query).geturl()
