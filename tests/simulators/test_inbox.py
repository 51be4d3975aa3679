"""`firewarden simulate inbox` as a tester runs it: a real process answering signed webhook POSTs from
many threads at once, one whole JSON line per delivery, unsigned ones refused and not shown; with
--record, every request kept in a file."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from tests.ports import free_port

SECRET = "inbox-test-secret-0123456789"


def _post(port: int, n: int, secret: str = SECRET) -> int:
    body = json.dumps({"event": "incident.opened", "incident": {"class": "fire"}, "premises": {"id": f"P-{n}"}})
    stamp = str(int(time.time()))
    signature = "sha256=" + hmac.new(secret.encode(), f"{stamp}.{body}".encode(), hashlib.sha256).hexdigest()
    headers = {"X-Firewarden-Timestamp": stamp, "X-Firewarden-Signature": signature, "Idempotency-Key": f"k-{n}"}
    return httpx.post(
        f"http://127.0.0.1:{port}/inspectors/I-{n}", content=body, headers=headers, timeout=10
    ).status_code


def test_concurrent_deliveries_print_one_whole_line_each_and_every_request_is_recorded(tmp_path: Path) -> None:
    port = free_port()
    record = tmp_path / "requests.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIREWARDEN_")}
    env["FIREWARDEN_ALERTS_WEBHOOK_SECRET"] = SECRET
    inbox = subprocess.Popen(
        [sys.executable, "-m", "firewarden", "simulate", "inbox", "--port", str(port), "--record", str(record)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, "the inbox did not listen"
                time.sleep(0.1)
        with ThreadPoolExecutor(16) as pool:
            codes = list(pool.map(lambda n: _post(port, n), range(200)))
        assert codes == [200] * 200
        assert _post(port, 999, secret="another-secret-0123456789") == 401
        assert _post(port, 7) == 200  # a repeat: recorded, not printed again
        time.sleep(0.5)
    finally:
        inbox.send_signal(signal.SIGTERM)
        out, _ = inbox.communicate(timeout=10)
    assert inbox.returncode == 0
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]  # fails on a torn line
    assert sorted(line["premises"] for line in lines) == sorted(f"P-{n}" for n in range(200))
    assert all(line["signed"] and line["class"] == "fire" for line in lines)
    recorded = [json.loads(line) for line in record.read_text(encoding="utf-8").splitlines()]
    assert len(recorded) == 202  # every request: the refused one and the repeat too
    assert sorted((r["status"], r["signed"]) for r in recorded).count((200, True)) == 201
    refused = next(r for r in recorded if r["status"] == 401)
    assert refused["key"] == "k-999" and refused["signed"] is False and refused["body"]["premises"] == {"id": "P-999"}
