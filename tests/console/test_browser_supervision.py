"""The supervision workflow in a real browser (Chromium via Playwright) against the console on real
PostgreSQL: a unit logs in to its portal, reports a hazard itself with a photo and reports it fixed
with evidence; the inspector verifies the report and opens a case whose re-check fails and whose
seal-up awaits legal review; an admin approves it; the unit sees its credit change, with the reason,
and the seal-up's document. Screenshots go to build/screenshots like the other browser test's."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from console.store.accounts import Accounts
from core.db import connect, open_pool
from tests.console.browsing import log_in, rendered, shoot
from tests.console.conftest import PASSWORD, Served

pytestmark = pytest.mark.slow
JPEG = {"name": "photo.jpg", "mimeType": "image/jpeg", "buffer": b"\xff\xd8\xff\xe0" + bytes(2048)}


def answer_prompt(page: Page, text: str) -> None:
    page.once("dialog", lambda dialog: dialog.accept(text))


def test_a_unit_and_the_authority_work_a_hazard_and_a_case_in_the_console(served: Served, browser: Browser) -> None:
    with open_pool(served.database_url, max_size=1) as pool:
        Accounts(pool).add_user("unit-p", "Unit P", "unit", datetime.now(UTC), password=PASSWORD, premises=("P",))
    unit = log_in(browser, served.url, "unit-p")
    expect(unit.locator("nav [data-nav=unit].active")).to_be_visible()
    assert unit.locator("nav a").count() == 1  # the portal is all a unit sees
    card = unit.locator("section.unit-premises[data-premises=P]")
    expect(card.locator("[data-credit]")).to_have_attribute("data-credit", "normal")

    # the photo's upload is held while a live refresh redraws the page (a notice arrives): the redrawn
    # form still has the text typed, says the upload is under way, then that the photo is kept
    def held(route: Route) -> None:
        with connect(served.database_url) as conn:
            conn.execute(
                "INSERT INTO notices (premises_id, tier, score, issued_at, unit_name, jurisdiction_id, text) "
                "VALUES ('P', 'orange', 40, now(), 'Unit P', 'J-GRID', 'warning')"
            )
            conn.commit()
        unit.wait_for_timeout(1500)  # the page hears of the notice and redraws meanwhile
        route.continue_()

    unit.route("**/api/evidence", held)
    report = card.locator("form.self-report")
    report.locator("textarea").fill("extinguisher missing on 5F")
    report.locator("input[type=file]").set_input_files(files=[JPEG])
    expect(unit.locator("tr[data-notice]")).to_have_count(1)  # redrawn during the upload
    expect(report.locator(".photo-state")).to_have_text("photo kept")
    expect(report.locator("textarea")).to_have_value("extinguisher missing on 5F")
    unit.unroute("**/api/evidence")
    report.locator("button[type=submit]").click()
    hazard = unit.locator("#unit-hazards tr[data-hazard]", has_text="extinguisher missing on 5F")
    expect(hazard).to_have_count(1)
    expect(hazard).to_contain_text("self-reported")
    # what to do by when, first on the page: fix the hazard by its deadline, read the notice
    todo = unit.locator("#unit-todo li")
    expect(todo.filter(has_text="extinguisher missing on 5F")).to_have_count(1)
    expect(todo.filter(has_text="Read the warning notice")).to_have_count(1)
    hazard.locator("form.rectify input[name=note]").fill("new extinguisher mounted")
    fixed = {**JPEG, "name": "fixed.jpg", "buffer": JPEG["buffer"] + b"1"}
    hazard.locator("form.rectify input[type=file]").set_input_files(files=[fixed])
    expect(hazard.locator("form.rectify .photo-state")).to_have_text("photo kept")
    hazard.locator("form.rectify button[type=submit]").click()
    expect(hazard.locator("td.rectification")).to_contain_text("awaiting verification")
    expect(todo.filter(has_text="extinguisher missing on 5F")).to_have_count(0)  # the inspector acts next
    shoot(unit, "20-unit-portal-report-fixed")

    inspector = log_in(browser, served.url, "insp")
    rendered(inspector, f"{served.url}/#/cases")
    reports = inspector.locator("#reports tr[data-report]")
    expect(reports).to_have_count(1)
    expect(reports).to_contain_text("new extinguisher mounted")
    answer_prompt(inspector, "photo shows the new extinguisher")
    reports.locator("button.verify").click()
    expect(reports).to_have_count(0)
    expect(hazard).to_have_count(0)  # the unit's page follows by the live feed

    new_case = inspector.locator("form.new-case")
    new_case.locator("input[name=target]").fill("P")
    new_case.locator("select[name=offence]").select_option("escape_routes_blocked")
    new_case.locator("textarea[name=requirements]").fill("unlock the stair B exit")
    new_case.locator("button[type=submit]").click()
    expect(inspector.locator("main#view h1")).to_contain_text("消案〔")
    steps = inspector.locator("#steps tr[data-step]")
    expect(steps.first).to_have_attribute("data-kind", "order")
    expect(steps.first.locator("td.number")).to_contain_text("消责改〔")
    step_form = inspector.locator("form.next-step")
    next_up = inspector.locator("p.next-up")
    choices = "options => options.map((o) => o.value)"
    # only the steps allowed now: re-check it (or decide the penalty); nothing to seal, lift or close yet
    expect(next_up).to_have_attribute("data-waiting", "recheck")
    expect(next_up).to_have_attribute("data-who", "inspector")
    assert step_form.locator("select[name=kind] option").evaluate_all(choices) == [
        "recheck:fail",
        "recheck:pass",
        "penalty",
    ]
    expect(step_form.locator("label.fine")).to_be_hidden()
    step_form.locator("select[name=kind]").select_option("penalty")
    expect(step_form.locator("label.fine")).to_be_visible()
    step_form.locator("select[name=kind]").select_option("recheck:fail")
    expect(step_form.locator("label.fine")).to_be_hidden()
    step_form.locator("button[type=submit]").click()
    expect(steps).to_have_count(2)
    expect(next_up).to_have_attribute("data-waiting", "decision")
    kinds = inspector.locator("form.next-step select[name=kind] option").evaluate_all(choices)
    assert kinds == ["recheck:fail", "recheck:pass", "seal_up", "stop", "penalty"], kinds
    inspector.locator("form.next-step select[name=kind]").select_option("seal_up")
    inspector.locator("form.next-step input[name=note]").fill("stair B and the storeroom")
    inspector.locator("form.next-step button[type=submit]").click()
    sealed = inspector.locator("#steps tr[data-kind=seal_up]")
    expect(sealed).to_have_attribute("data-state", "pending")
    expect(sealed.locator("button.approve")).to_have_count(0)  # inspectors do not approve
    expect(next_up).to_have_attribute("data-waiting", "approval")  # says who acts next: an admin
    expect(next_up).to_have_attribute("data-who", "admin")
    expect(next_up).to_contain_text("legal review")
    shoot(inspector, "21-inspector-case-seal-up-proposed")
    number = inspector.locator("main#view h1").inner_text().split(" · ")[0]
    rendered(inspector, f"{served.url}/#/premises/P")  # the premises page links its open case
    expect(inspector.locator("#premises-cases a")).to_have_text(number)
    expect(inspector.locator("#premises-cases td.num")).to_have_text("1")  # the seal-up awaiting approval
    inspector.locator("#premises-cases a").click()
    expect(next_up).to_have_attribute("data-waiting", "approval")
    rendered(inspector, f"{served.url}/#/cases")  # the publication's links
    link = inspector.locator("a[data-kind=coercive]").get_attribute("href") or ""
    published = inspector.request.get(f"{served.url}{link}")
    assert published.ok and published.text().startswith("date,number,case_number")

    admin = log_in(browser, served.url, "adm")
    rendered(admin, f"{served.url}/#/cases")
    admin.locator("#pending-cases a").first.click()
    answer_prompt(admin, "legal review: proportionate")
    admin.locator("#steps tr[data-kind=seal_up] button.approve").click()
    approved = admin.locator("#steps tr[data-kind=seal_up]")
    expect(approved).to_have_attribute("data-state", "effective")
    expect(approved.locator("td.number")).to_contain_text("消临封〔")
    shoot(admin, "22-admin-approved-seal-up")
    admin.locator("[data-lang=zh]").click()
    expect(admin.locator("nav [data-nav=cases]")).to_have_text("执法办案")
    shoot(admin, "22-admin-approved-seal-up-zh")
    admin.locator("[data-lang=en]").click()

    # the admin edits the checklists: saved as the next version, shown at once
    rendered(admin, f"{served.url}/#/notices")
    editor = admin.locator("section.checklists-admin")
    expect(editor.locator("h2")).to_contain_text("v1")
    assert editor.locator("tr[data-item]").count() >= 34
    editor.locator("summary").click()
    document = editor.locator("textarea.checklists-json")
    edited = document.input_value().replace("exits are clear", "exits are kept clear")
    document.fill(edited)
    editor.locator("button.save-checklists").click()
    expect(editor.locator("h2")).to_contain_text("v2")
    expect(editor.locator("tr[data-item=exits_clear]")).to_contain_text("Escape routes and exits are kept clear")

    expect(card.locator("[data-credit]")).to_have_attribute("data-credit", "untrustworthy")  # live, no reload
    expect(card.locator("tr.credit-change").first).to_contain_text("sealed up")
    expect(unit.locator("td.documents")).to_contain_text("temporary seal-up")
    unit.locator("[data-lang=zh]").click()
    expect(card.locator("[data-credit]")).to_contain_text("严重失信")
    shoot(unit, "23-unit-credit-changed-zh")
