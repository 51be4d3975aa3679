"""Evidence files (photos, documents): checked, then stored once per content hash.

A file is accepted when it is no larger than :data:`MAX_BYTES` and its first bytes say it is one of
:data:`TYPES` (JPEG, PNG, PDF) and the type it was sent as; anything else is refused with what it is
and what was expected. The SHA-256 of the content is its name: the same photo uploaded twice is
stored once, and a record that names it proves which bytes it meant.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from alerts.errors import EvidenceError
from core.db import Cursor
from core.db.audit import record as audit

MAX_BYTES: Final = 10 * 1024 * 1024
TYPES: Final = {
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    "application/pdf": (b"%PDF-",),
}


@dataclass(frozen=True, slots=True)
class File:
    content: bytes
    media_type: str


@dataclass(frozen=True, slots=True)
class Stored:
    sha256: str
    media_type: str
    size: int


def sniff(data: bytes) -> str | None:
    """The media type the content's first bytes announce, of :data:`TYPES`; None for any other."""
    return next((kind for kind, magics in TYPES.items() if any(data.startswith(m) for m in magics)), None)


def check(data: bytes, declared: str | None) -> str:
    """The file's media type; raises EvidenceError (413 too large, 415 not an accepted type or not the
    type it was sent as, 400 empty)."""
    if not data:
        raise EvidenceError("the file is empty", 400)
    if len(data) > MAX_BYTES:
        raise EvidenceError(f"the file has {len(data):,} bytes; evidence is at most {MAX_BYTES:,}", 413)
    found = sniff(data)
    if found is None:
        raise EvidenceError(f"the file is not a JPEG, PNG or PDF (it starts {data[:8].hex(' ')})", 415)
    kind = (declared or "").split(";")[0].strip().lower()
    if kind != found:
        raise EvidenceError(f"the file is {found} but was sent as {kind or 'no type'}", 415)
    return found


def store(cur: Cursor, data: bytes, declared: str | None, actor: str, now: datetime) -> Stored:
    """Check and keep ``data``; audited the first time its content is stored."""
    media_type = check(data, declared)
    sha256 = hashlib.sha256(data).hexdigest()
    cur.execute(
        "INSERT INTO evidence (sha256, media_type, size, content, uploaded_at, uploaded_by) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (sha256) DO NOTHING RETURNING sha256",
        (sha256, media_type, len(data), data, now, actor),
    )
    if cur.fetchone() is not None:
        audit(cur, now, actor, "evidence.stored", f"evidence:{sha256}", media_type=media_type, size=len(data))
    cur.execute("INSERT INTO evidence_holders (sha256, actor) VALUES (%s, %s) ON CONFLICT DO NOTHING", (sha256, actor))
    return Stored(sha256, media_type, len(data))


def known(cur: Cursor, sha256: str) -> bool:
    cur.execute("SELECT 1 FROM evidence WHERE sha256 = %s", (sha256,))
    return cur.fetchone() is not None


def file(cur: Cursor, sha256: str, *, everyone: bool, actor: str, premises: Sequence[str]) -> File | None:
    """The stored file, when ``everyone`` may see it, or ``actor`` uploaded it, or a rectification report
    of one of ``premises`` names it; None otherwise (as when there is none)."""
    cur.execute(
        "SELECT media_type, content FROM evidence e WHERE sha256 = %s AND (%s OR EXISTS "
        "(SELECT 1 FROM evidence_holders h WHERE h.sha256 = e.sha256 AND h.actor = %s) OR EXISTS "
        "(SELECT 1 FROM rectifications r WHERE e.sha256 = ANY(r.evidence) AND r.premises_id = ANY(%s)))",
        (sha256, everyone, actor, sorted(premises)),
    )
    row = cur.fetchone()
    return None if row is None else File(bytes(row["content"]), row["media_type"])
