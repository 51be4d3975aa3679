"""What the gateways read of the registry: the UITDs' GB/T 26875.3 addresses, and the platform names of
NB-IoT devices."""

from __future__ import annotations

import hashlib

import psycopg

from core.db import connect
from core.errors import DatabaseError
from core.onenet import Target
from gateway.server import Uitd


def load_addresses(database_url: str) -> dict[str, Uitd]:
    """Every UITD with a ``gb26875_address`` in the registry, by that address. Raises DatabaseError."""
    try:
        with connect(database_url) as conn:
            rows = conn.execute(
                "SELECT gb26875_address, premises_id, id FROM devices WHERE gb26875_address IS NOT NULL"
            ).fetchall()
    except psycopg.Error as error:
        raise DatabaseError(f"reading the UITDs' addresses failed: {error}") from None
    return {str(r[0]): Uitd(str(r[1]), str(r[2])) for r in rows}


def load_targets(database_url: str) -> dict[str, Target]:
    """Every device with a ``platform_id`` in the registry, by that name. Raises DatabaseError."""
    try:
        with connect(database_url) as conn:
            rows = conn.execute(
                "SELECT platform_id, id, premises_id, type FROM devices WHERE platform_id IS NOT NULL"
            ).fetchall()
    except psycopg.Error as error:
        raise DatabaseError(f"reading the devices' platform names failed: {error}") from None
    return {str(r[0]): Target(str(r[1]), str(r[2]), str(r[3])) for r in rows}


def keep_dead_letter(database_url: str, topic: str, body: bytes, reason: str, detail: str, keep_bytes: int) -> None:
    """A refused message in ``dead_letters``: at most ``keep_bytes`` of it, with its whole size and
    SHA-256 (as ingest keeps an oversize one). Raises DatabaseError."""
    try:
        with connect(database_url) as conn:
            conn.execute(
                "INSERT INTO dead_letters (topic, payload, reason, detail, payload_size, payload_sha256) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (topic, body[:keep_bytes], reason, detail[:2000], len(body), hashlib.sha256(body).digest()),
            )
            conn.commit()
    except psycopg.Error as error:
        raise DatabaseError(f"keeping a dead letter failed: {error}") from None
