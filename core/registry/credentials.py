"""Broker credentials from the registry: one MQTT user per device, allowed to publish only under its
own topics, plus the service users: ingest reads every device topic and writes every downlink, the
gateways publish for the devices they bridge (``gateway`` also reads the downlink it writes to UITDs).

Passwords are derived, not stored: ``HMAC-SHA256(key, "<kind>:<name>")``, so running the command again
after an import gives every known device the password it had and new devices theirs, and the key
file is the one secret to keep. The password file is Mosquitto's own format (``mosquitto_passwd``:
PBKDF2-SHA512, 101 iterations, a random 12-byte salt), so the broker needs no plugin.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

from core.errors import CredentialsError
from core.registry.model import RegistryFile
from core.wire import DOWNLINK_ROOT

KEY_BYTES: Final = 32
ITERATIONS: Final = 101
"""What ``mosquitto_passwd`` of Mosquitto 2 uses."""

Access = Literal["read", "write", "readwrite"]


@dataclass(frozen=True, slots=True)
class Service:
    """A broker user that is not a device: ``topic`` is the MQTT filter it may use with ``access``."""

    name: str
    access: Access
    topic: str = "fw/v1/#"
    downlink: Access | None = None
    """A second rule, on every device's downlink (``fw/down/v1/#``)."""


INGEST: Final = Service("ingest", "read", downlink="write")
"""Reads every device topic; writes the confirms and the operators' commands to UITDs."""
GATEWAY: Final = Service("gateway", "write", downlink="read")
"""``firewarden gateway gb26875``: publishes its UITDs' frames and statuses, writes their downlink to them."""
NBIOT: Final = Service("nbiot", "write")
"""``firewarden gateway nbiot``: publishes what the NB-IoT platforms push."""
BUILT_IN: Final = (INGEST, GATEWAY, NBIOT)


@dataclass(frozen=True, slots=True)
class Credential:
    user: str
    password: str
    kind: Literal["device", "service"]
    access: Access
    topic: str
    premises_id: str = ""
    downlink: str = ""
    """A second ACL rule: a UITD reads its GB/T 26875.3 downlink, ingest writes every downlink."""
    downlink_access: Access = "read"


def load_key(path: Path, *, create: bool) -> bytes:
    """The key in ``path`` (hex); made (mode 0600) when missing and ``create``."""
    if path.exists():
        try:
            text = path.read_text(encoding="ascii").strip()
            key = bytes.fromhex(text)
        except (OSError, UnicodeDecodeError, ValueError) as error:
            raise CredentialsError(f"{path}: not a credentials key (64 hex digits): {error}") from None
        if len(key) != KEY_BYTES:
            raise CredentialsError(f"{path}: not a credentials key: {len(key)} bytes, expected {KEY_BYTES}")
        return key
    if not create:
        raise CredentialsError(f"{path}: no such key file (leave out --no-create-key to make one)")
    key = secrets.token_bytes(KEY_BYTES)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.hex() + "\n")
    return key


def derive_password(key: bytes, kind: str, name: str) -> str:
    """24 URL-safe characters (144 bits), the same for the same key, kind and name."""
    digest = hmac.new(key, f"{kind}:{name}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:24]


def mosquitto_hash(password: str, salt: bytes | None = None) -> str:
    """A password file entry's hash, as ``mosquitto_passwd`` writes it: ``$7$101$<salt>$<hash>``."""
    salt = salt if salt is not None else secrets.token_bytes(12)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
    return f"$7${ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def credentials(registry: RegistryFile, key: bytes, services: Iterable[Service] = BUILT_IN) -> list[Credential]:
    """Every service user, then one user per device (user name = device id), sorted by name."""
    out = [
        Credential(
            s.name,
            derive_password(key, "service", s.name),
            "service",
            s.access,
            s.topic,
            downlink=f"{DOWNLINK_ROOT}/#" if s.downlink else "",
            downlink_access=s.downlink or "read",
        )
        for s in sorted(services, key=lambda s: s.name)
    ]
    taken = {c.user for c in out}
    for device in sorted(registry.devices, key=lambda d: d.id):
        if device.id in taken:
            raise CredentialsError(f"device {device.id!r} has the name of a service user; rename one of them")
        topic = f"fw/v1/{device.premises}/{device.id}/#"
        downlink = f"{DOWNLINK_ROOT}/{device.premises}/{device.id}/#" if device.type == "uitd" else ""
        password = derive_password(key, "device", device.id)
        out.append(Credential(device.id, password, "device", "write", topic, device.premises, downlink))
    return out


def password_file(entries: Iterable[Credential]) -> str:
    return "".join(f"{c.user}:{mosquitto_hash(c.password)}\n" for c in entries)


def acl_file(entries: Iterable[Credential]) -> str:
    lines = ["# Made by `firewarden registry credentials` from the registry; edits are overwritten.\n"]
    for c in entries:
        lines.append(f"\nuser {c.user}\ntopic {c.access} {c.topic}\n")
        if c.downlink:
            # The other direction: a UITD reads its downlink, ingest writes them all, the gateway reads them.
            lines.append(f"topic {c.downlink_access} {c.downlink}\n")
    return "".join(lines)


def write_file(path: Path, text: str, mode: int) -> None:
    """Write ``text`` with ``mode``, replacing ``path`` at once (never half written)."""
    temporary = path.with_name(f".{path.name}.tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(temporary, mode)
    os.replace(temporary, path)
