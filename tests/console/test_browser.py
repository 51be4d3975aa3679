"""The console in a real browser (Debian's Chromium, headless, driven by Playwright) against the
whole system: `firewarden up` on real Mosquitto and PostgreSQL, a fire simulated over MQTT.

An operator logs in, sees the fire appear without reloading, sees the detectors of the premises in
alarm, acknowledges it and resolves it through the action plan; the inspector who answers for the
premises logs in and finds the after-fire inspection in their task list and records it. Every page,
the API reference included, renders with every request beyond this machine refused. Screenshots of
each step, and of every page in Chinese and English, are saved in build/screenshots (or
$FIREWARDEN_SCREENSHOTS).
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from alerts.store.roster import load_roster
from core.addresses import MqttUrl
from core.db import connect, migrate
from core.registry.store import import_registry
from simulators.engine import Simulation
from simulators.fleet import generate_fleet
from simulators.publisher import Publisher, PublishOptions
from simulators.scenarios import Scenario, ScenarioEvent, apply_scenario
from tests.console.browsing import OUTSIDE, log_in, rendered, shoot
from tests.console.conftest import PASSWORD
from tests.running import running_up

pytestmark = pytest.mark.slow


@dataclass
class System:
    url: str
    target: str
    inspector: str
    fleet: object
    broker: MqttUrl
    database_url: str


@pytest.fixture
def system(database_url: str, mosquitto: MqttUrl, models_dir: Path, tmp_path: Path) -> Iterator[System]:
    from console.store.accounts import Accounts
    from core.db import open_pool

    with connect(database_url, autocommit=True) as conn:
        migrate(conn, "off")
    today = datetime.now(UTC).date()
    fleet = generate_fleet(8, seed=11, roster_start=today - timedelta(days=1), roster_days=3)
    with connect(database_url) as conn:
        import_registry(conn, fleet, source="browser test")
        conn.commit()
        roster = load_roster(conn)
    target = next(d.premises for d in fleet.devices if d.type == "uitd")
    inspector = roster.regular_inspector(target)
    assert inspector is not None
    with open_pool(database_url, max_size=2) as pool:
        accounts = Accounts(pool)
        now = datetime.now(UTC)
        accounts.add_user("wang", "Wang Fang", "operator", now, password=PASSWORD)
        accounts.add_user("li", "Li Wei", "inspector", now, password=PASSWORD, inspector_id=inspector.id)

    with running_up(database_url, mosquitto, models_dir, tmp_path, secret="browser-secret-0123456789",
                    client_id="browser-ingest") as up:  # fmt: skip
        yield System(up.url, target, inspector.id, fleet, mosquitto, database_url)


def publish_fire(system: System) -> None:
    start = float(int(time.time())) - 30
    sim = Simulation(system.fleet, seed=11, start=start, duration=90)  # type: ignore[arg-type]
    apply_scenario(sim, Scenario(events=[ScenarioEvent(kind="fire", at=5, premises=system.target)]))
    with Publisher(PublishOptions(url=system.broker, speed=0)) as publisher:
        publisher.publish(sim.messages(), sim_start=start)


def inspection_due_now(system: System, key: str, reason: str) -> int:
    """An inspection task for the system's inspector at its target premises, due now: its id."""
    with connect(system.database_url) as conn:
        row = conn.execute(
            "INSERT INTO tasks (dedup_key, premises_id, inspector_id, kind, reason, due_at, created_at, state) "
            "VALUES (%s, %s, %s, 'inspection', %s, now(), now(), 'open') RETURNING id",
            (key, system.target, system.inspector, reason),
        ).fetchone()
        conn.commit()
    assert row is not None
    return int(row[0])


def test_an_operator_handles_a_live_fire_and_the_inspector_gets_the_follow_up(system: System, browser: Browser) -> None:
    operator = log_in(browser, system.url, "wang")
    expect(operator.locator("#queue")).to_be_visible()
    operator.evaluate("window.notReloaded = true")
    shoot(operator, "01-operator-queue-before")

    publish_fire(system)
    fire_row = operator.locator("tr.incident.cls-fire")
    expect(fire_row).to_have_count(1, timeout=60_000)  # arrives by the live stream, no reload
    assert operator.evaluate("window.notReloaded") is True
    expect(operator.locator("#fires")).to_be_visible()
    expect(operator.locator("#fires")).to_contain_text("CONFIRMED FIRE")
    expect(fire_row).to_contain_text(system.target)
    expect(fire_row.locator("td.title")).to_contain_text("Confirmed fire in zone")
    # what scoring relied on, under the title: the panel's detectors, one line each, in order
    evidence = fire_row.locator("ul.evidence li.evidence-alarm")
    expect(evidence.first).to_contain_text("smoke detector alarmed")
    assert evidence.count() >= 2
    assert operator.locator("#queue tbody tr").first.get_attribute("data-cls") == "fire"  # fires come first
    shoot(operator, "02-operator-fire-arrives")
    operator.locator("[data-lang=zh]").click()
    expect(operator.locator("tr.incident.cls-fire td.title")).to_contain_text("确认火警")
    expect(operator.locator("tr.incident.cls-fire ul.evidence li").first).to_contain_text("感烟探测器报警")
    shoot(operator, "02-operator-fire-arrives-zh")
    operator.locator("[data-lang=en]").click()

    # during the fire, the premises page shows its detectors in alarm, with the alarm as a signal
    operator.goto(f"{system.url}/#/premises/{system.target}")
    in_alarm = operator.locator("#devices tr[data-state=alarm]")
    expect(in_alarm.first).to_be_visible(timeout=30_000)
    expect(in_alarm.first.locator("td.signals")).to_contain_text("fire alarm")
    expect(in_alarm.first).to_contain_text("ALARM")
    # what happens now comes first, the tier (the long-run risk) after it, named as such
    header = operator.locator("h1")
    expect(header.locator(".badge.live[data-live=fire]")).to_contain_text("Now: Confirmed fire")
    expect(header.locator(".risk-tier")).to_contain_text("Long-run risk")
    assert header.evaluate(
        "h => Boolean(h.querySelector('.badge.live').compareDocumentPosition(h.querySelector('.risk-tier')) "
        "& Node.DOCUMENT_POSITION_FOLLOWING)"
    )
    shoot(operator, "02-premises-in-alarm")
    operator.goto(f"{system.url}/#/overview")
    expect(operator.locator(".fire-pulse")).to_have_count(1)
    expect(operator.locator("#top tbody tr").first).to_have_attribute("data-live", "fire")
    expect(operator.locator("#map-legend")).to_contain_text("Long-run risk")  # a dot's colour is the tier, not a fire
    operator.goto(f"{system.url}/#/queue")

    fire_row.locator("button.ack").click()
    expect(fire_row).to_have_attribute("data-state", "acknowledged")
    shoot(operator, "03-operator-acknowledged")

    fire_row.locator("button.resolve").click()
    dialog = operator.locator("#resolve-dialog")
    expect(dialog).to_be_visible()
    operator.select_option("#resolve-code", "real_fire")
    operator.click("#resolve-submit")  # the browser refuses: the required notes are empty
    expect(dialog).to_be_visible()
    for step in dialog.locator("textarea[required]").all():
        step.fill("done: " + (step.get_attribute("data-step") or ""))
    operator.fill("#resolve-note", "pan fire on 3F, put out by staff")
    shoot(operator, "04-operator-action-plan")
    operator.click("#resolve-submit")
    expect(dialog).to_be_hidden()
    expect(operator.locator("tr.incident.cls-fire")).to_have_count(0)
    expect(operator.locator("#fires")).to_be_hidden()
    shoot(operator, "05-operator-resolved")

    operator.goto(f"{system.url}/#/premises/{system.target}")
    expect(operator.locator("#devices tbody tr").first).to_be_visible()
    expect(operator.locator(".chart canvas").first).to_be_visible()
    expect(operator.locator("h1 .badge.live")).to_have_count(0)  # the fire is over: the tier alone
    expect(operator.locator("h1 .risk-tier")).to_be_visible()
    expect(operator.locator(".if-closed, .if-closed-none").first).to_be_visible()  # what closing items would do
    shoot(operator, "06-premises-page")
    operator.goto(f"{system.url}/#/overview")
    expect(operator.locator("#map")).to_be_visible()
    assert int(operator.locator("#map-box").get_attribute("data-boundaries") or 0) >= 2  # city, district, grids
    shoot(operator, "07-city-overview")
    operator.goto(f"{system.url}/#/kpis")
    expect(operator.locator("#kpis .total")).to_contain_text("1")
    expect(operator.locator(".chart canvas").first).to_be_visible()  # the daily trend
    assert operator.locator(".chart.bars svg rect").count() >= 1  # the jurisdictions compared
    shoot(operator, "08-kpis")

    inspector = log_in(browser, system.url, "li")
    expect(inspector.locator("nav [data-nav=tasks].active")).to_be_visible()  # an inspector starts on tasks
    task = inspector.locator("tr[data-task]", has_text="after the fire")
    expect(task).to_have_count(1)
    expect(task).to_contain_text(system.target)
    shoot(inspector, "09-inspector-tasks")
    task.locator("textarea").fill("sprinkler valve on 3F left closed")
    task.locator("button.record").click()
    expect(inspector.locator("tr[data-task]", has_text="after the fire")).to_have_count(0)
    expect(inspector.locator("tr[data-hazard]", has_text="sprinkler valve on 3F left closed")).to_have_count(1)
    shoot(inspector, "10-inspector-finding-recorded")

    inspector.locator("[data-lang=zh]").click()
    expect(inspector.locator("nav [data-nav=tasks]")).to_have_text("我的任务")
    expect(inspector.locator("tr[data-hazard]").first).to_contain_text("sprinkler valve on 3F left closed")
    shoot(inspector, "11-inspector-chinese")

    # on a phone, the inspector works through the checklist of an inspection due today: a failed item
    # opens a hazard with the item's deadline
    task_id = inspection_due_now(system, "browser-checklist", "checklist visit")
    phone = log_in(browser, system.url, "li", width=390)
    visit = phone.locator(f"tr[data-task='{task_id}']")
    expect(visit).to_be_visible()
    visit.locator("button.checklist-toggle").click()
    items = phone.locator(f".checklist[data-task='{task_id}'] li.check-item")
    expect(items.first).to_be_visible()
    assert items.count() >= 14
    items.nth(0).locator("input[value=fail]").check()
    items.nth(0).locator("input.check-note").fill("stair B ")
    photo = b"\xff\xd8\xff\xe0" + bytes(4096)  # a JPEG's first bytes: checked by type, kept by its hash
    items.nth(0).locator("input.check-photo").set_input_files(
        files=[{"name": "exit.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    expect(items.nth(0).locator(".photo-state")).to_have_text("photo kept")
    for n in range(1, items.count()):
        items.nth(n).locator("input[value=pass]").check()
    shoot(phone, "12-inspector-checklist-phone")

    # a live refresh (another task arrives) redraws the list at once with what was ticked: the open
    # checklist is never empty on the way, so a thumb on the phone never lands on nothing; and a note
    # being typed keeps the focus, so the words typed after the redraw land in it
    phone.evaluate(
        """(task) => {
          window.checklistEmptied = 0;
          new MutationObserver(() => {
            if (!document.querySelector(`.checklist[data-task='${task}'] li.check-item`)) window.checklistEmptied += 1;
          }).observe(document.querySelector("main#view"), { childList: true, subtree: true });
        }""",
        task_id,
    )
    items.nth(0).locator("input.check-note").click()
    phone.keyboard.press("End")
    phone.keyboard.type("exit ")
    later_id = inspection_due_now(system, "browser-refresh", "a later visit")
    expect(phone.locator(f"tr[data-task='{later_id}']")).to_be_visible()
    phone.keyboard.type("chained shut")
    assert phone.evaluate("window.checklistEmptied") == 0
    expect(items.nth(0).locator("input[value=fail]")).to_be_checked()
    expect(items.nth(0).locator("input.check-note")).to_have_value("stair B exit chained shut")
    expect(items.nth(0).locator(".photo-state")).to_have_text("photo kept")
    visit.locator("button.record").click()
    failed = phone.locator("tr[data-hazard]", has_text="stair B exit chained shut")
    expect(failed).to_have_count(1)
    expect(failed).to_contain_text("Failed check: Escape routes and exits are clear")
    with connect(system.database_url) as conn:
        kept = conn.execute("SELECT photo FROM task_checks WHERE item_id = 'exits_clear' AND task_id = %s", (task_id,))
        assert kept.fetchone() == (hashlib.sha256(photo).hexdigest(),)
    shoot(phone, "13-inspector-checklist-hazard-phone")

    # every page in both languages, and the API reference, with nothing fetched from outside
    pages = [
        "queue",
        "overview",
        "offline",
        "kpis",
        "hazards",
        "cases",
        "tasks",
        "notices",
        "audit",
        f"premises/{system.target}",
    ]
    for language, queue in (("en", "Alarm queue"), ("zh", "警情队列")):
        operator.locator(f"[data-lang={language}]").click()
        expect(operator.locator("nav [data-nav=queue]")).to_have_text(queue)
        for name in pages:
            rendered(operator, f"{system.url}/#/{name}")
            expect(operator.locator("main#view h1")).to_be_visible()
            expect(operator.locator("main#view p.error")).to_have_count(0)
            shoot(operator, f"page-{language}-{name.replace('/', '-')}")
    operator.goto(f"{system.url}/docs")
    expect(operator.locator(".swagger-ui .info .title")).to_contain_text("Firewarden console", timeout=20_000)
    expect(operator.locator(".opblock").first).to_be_visible()
    shoot(operator, "page-api-reference")
    assert OUTSIDE == [], f"requests beyond this machine: {OUTSIDE}"
