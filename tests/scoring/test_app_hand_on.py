"""The faust app's hand-on order, without a broker: a premises' state reaches the changelog only once
every decision either lane has made is acknowledged. The two lanes (records, events) share the
states; before this order, the records lane could write a state holding an alarm the events lane had
decided but the broker had not yet acknowledged, and a kill -9 then lost the alarm (the restored state
skipped its event on replay). The broker is stood in for by send futures this test resolves by hand:
what is tested is scoring/app.py's own ordering, not Kafka."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent(
    """
    import asyncio
    from datetime import UTC, datetime

    import scoring.app as app
    from scoring.records import AlarmDecision

    log = []

    class Topic:
        def __init__(self, name):
            self.name, self.futures = name, []

        async def send(self, key, value):
            future = asyncio.get_running_loop().create_future()
            self.futures.append(future)
            log.append(f"send {self.name} {key.decode()}")
            return future

    class Table(dict):
        def __setitem__(self, key, value):
            log.append(f"write {key.decode()}")

    class Engine:
        touched = set()

        def flush(self):
            out = [(p, object()) for p in sorted(self.touched)]
            self.touched.clear()
            return out

    engine = Engine()
    app.alarms_topic, app.decisions_topic = Topic("alarms"), Topic("decisions")
    app.states, app.engine, app.dump_state = Table(), lambda: engine, lambda state: b""
    t = datetime.now(UTC)

    def alarm(premises):
        return AlarmDecision(t, premises, premises + ":A", 1, "1F", "unverified", "one detector", "SA:1", t)

    async def main():
        engine.touched |= {"P1"}  # the events lane decided an alarm at P1 ...
        events = asyncio.create_task(app._hand_on([alarm("P1")]))
        await asyncio.sleep(0)
        engine.touched |= {"P2"}  # ... and the records lane, an alarm at P2, acknowledged at once
        records = asyncio.create_task(app._hand_on([alarm("P2")]))
        await asyncio.sleep(0)
        app.alarms_topic.futures[1].set_result(None)
        for _ in range(20):
            await asyncio.sleep(0)
        log.append("P1 acknowledged")
        app.alarms_topic.futures[0].set_result(None)
        await asyncio.gather(events, records)
        print("|".join(log))

    asyncio.run(main())
    """
)


def test_no_state_is_written_while_either_lane_awaits_the_broker() -> None:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "FIREWARDEN_BUS": "kafka://127.0.0.1:9",  # read at import; nothing connects
        "FIREWARDEN_DATABASE_URL": "postgresql://x@127.0.0.1:9/x",
    }
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stdout.strip().splitlines()[-1].split("|")
    assert log[:2] == ["send alarms P1", "send alarms P2"]
    # P2's own decision was acknowledged first, yet nothing is written until P1's is
    assert log.index("P1 acknowledged") < min(i for i, step in enumerate(log) if step.startswith("write"))
    assert sorted(step for step in log if step.startswith("write")) == ["write P1", "write P2"]
