"""Evidence files on real PostgreSQL: accepted by their first bytes and declared type, at most 10 MiB,
stored once per content hash; a checklist item names its photo by that hash."""

from __future__ import annotations

import hashlib

import pytest
from psycopg_pool import ConnectionPool

from alerts.checklists import Check
from alerts.errors import ActionError, EvidenceError
from alerts.store import evidence
from alerts.store.desk import Desk
from alerts.store.inspections import record_result
from tests.alerts.conftest import at, open_inspection

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(range(256)) * 4
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 100
PDF = b"%PDF-1.7\n" + b"x" * 100


def test_a_photo_is_stored_once_by_its_hash_and_audited_once(desk: Desk, pool: ConnectionPool) -> None:
    with desk.cursor() as cur:
        first = evidence.store(cur, JPEG, "image/jpeg", "inspector:I-GRID", at(0))
        again = evidence.store(cur, JPEG, "image/jpeg; charset=binary", "inspector:I-GRID2", at(5))
        png = evidence.store(cur, PNG, "image/png", "inspector:I-GRID", at(6))
        pdf = evidence.store(cur, PDF, "application/pdf", "inspector:I-GRID", at(7))
    assert first == again == evidence.Stored(hashlib.sha256(JPEG).hexdigest(), "image/jpeg", len(JPEG))
    assert (png.media_type, pdf.media_type) == ("image/png", "application/pdf")
    with pool.connection() as conn:
        rows = conn.execute("SELECT sha256, uploaded_by, content FROM evidence ORDER BY uploaded_at").fetchall()
        audited = conn.execute("SELECT count(*) FROM audit_log WHERE action = 'evidence.stored'").fetchone()
    assert rows[0] == (first.sha256, "inspector:I-GRID", JPEG) and len(rows) == 3
    assert audited == (3,)


@pytest.mark.parametrize(
    ("data", "declared", "status", "message"),
    [
        (b"", "image/jpeg", 400, "the file is empty"),
        (b"GIF89a" + b"\x00" * 10, "image/gif", 415, "not a JPEG, PNG or PDF (it starts 47 49 46 38 39 61 00 00)"),
        (PNG, "image/jpeg", 415, "the file is image/png but was sent as image/jpeg"),
        (PDF, None, 415, "the file is application/pdf but was sent as no type"),
        (JPEG[:4] + b"\x00" * evidence.MAX_BYTES, "image/jpeg", 413, "evidence is at most 10,485,760"),
    ],
)
def test_a_file_that_is_not_evidence_is_refused_saying_why(
    desk: Desk, data: bytes, declared: str | None, status: int, message: str
) -> None:
    with desk.cursor() as cur, pytest.raises(EvidenceError) as refused:
        evidence.store(cur, data, declared, "inspector:I-GRID", at(0))
    assert refused.value.status == status and message in str(refused.value)


def test_a_checklist_item_keeps_its_photo_and_an_unknown_photo_refuses_the_visit(
    desk: Desk, pool: ConnectionPool
) -> None:
    task = open_inspection(pool)
    unknown = Check(item="exits_clear", result="fail", photo="0" * 64)
    with pytest.raises(ActionError, match=r"photo 0{64} is not stored as evidence"):
        record_result(desk, task, "inspector:I-GRID", [], at(10), [unknown])
    with desk.cursor() as cur:
        photo = evidence.store(cur, JPEG, "image/jpeg", "inspector:I-GRID", at(10))
    record_result(desk, task, "inspector:I-GRID", [], at(20), [Check(item="exits_clear", result="fail",
                                                                        photo=photo.sha256)])  # fmt: skip
    with pool.connection() as conn:
        kept = conn.execute("SELECT photo FROM task_checks WHERE task_id = %s", (task,)).fetchone()
    assert kept == (photo.sha256,)
