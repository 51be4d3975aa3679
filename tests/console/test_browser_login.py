"""The console's frame in a real browser (Chromium via Playwright) against the console on real PostgreSQL:
the login page's button waits for its script, a wrong password is said on the page and no password
travels in a URL; an operator chooses whose task list to see by name; a KPI chart with nothing
measured says so; the English navigation fits one row at 1440 px."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import Browser, expect

from core.db import connect
from tests.console.browsing import log_in, rendered, shoot
from tests.console.conftest import PASSWORD, Served, login
from tests.console.test_api import fire, incident_of

pytestmark = pytest.mark.slow


def test_a_wrong_password_is_said_on_the_page_and_no_password_is_ever_in_a_url(
    served: Served, browser: Browser
) -> None:
    context = browser.new_context(locale="en-GB")
    context.add_init_script("localStorage.setItem('fw-lang', 'en')")
    page = context.new_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    page.goto(f"{served.url}/login")
    expect(page.locator("#submit")).to_be_enabled()  # the script is there to handle the press
    page.fill("#user", "op")
    page.fill("#password", "not-the-password")
    page.click("#submit")
    expect(page.locator("#error")).to_have_text("Wrong user or password")
    assert page.url == f"{served.url}/login"
    shoot(page, "page-en-login")
    page.locator("[data-lang=zh]").click()
    expect(page.locator("#submit")).not_to_have_text("Log in")
    shoot(page, "page-zh-login")
    page.locator("[data-lang=en]").click()

    page.fill("#password", PASSWORD)
    page.click("#submit")
    expect(page.locator("#live")).to_have_class("live on", timeout=15_000)
    assert not [u for u in urls if "password" in u or PASSWORD in u], urls
    context.close()

    operator = log_in(browser, served.url, "op")  # the tests' own way in says what went wrong, if anything
    expect(operator.locator("#queue")).to_be_visible()


def test_an_operator_chooses_whose_task_list_to_see_by_name(served: Served, browser: Browser) -> None:
    operator = log_in(browser, served.url, "op")
    rendered(operator, f"{served.url}/#/tasks")
    choice = operator.locator("select[name=inspector]")
    expect(choice.locator("option", has_text="grid two")).to_have_count(1)
    choice.select_option("I-GRID2")
    expect(operator.locator("h1")).to_contain_text("grid two")  # the name, not the registry id
    expect(operator.locator("#tasks-today")).to_be_visible()


def test_a_kpi_chart_with_nothing_measured_says_so(served: Served, browser: Browser) -> None:
    operator = log_in(browser, served.url, "op")
    rendered(operator, f"{served.url}/#/kpis")
    charts = operator.locator(".chart.bars")
    expect(charts.first).to_be_visible()
    # no incident yet: no bars, no invented axis (it read "1 s 1 s 1 s 0 s 0 s"), one word instead
    assert charts.locator("svg").count() == 0
    expect(charts.locator(".empty-chart").first).to_have_text("none")


def test_the_english_navigation_fits_one_row_at_1440_px(served: Served, browser: Browser) -> None:
    admin = log_in(browser, served.url, "adm", width=1440)
    links = admin.locator("header.top nav a")
    expect(links.first).to_be_visible()
    tops = {round(box["y"]) for box in (links.nth(n).bounding_box() for n in range(links.count())) if box}
    assert len(tops) == 1, f"the navigation wraps: rows at {sorted(tops)}"


CODES = re.compile(r"\b[a-z][a-z0-9]*(?:[_.:][a-z0-9]+)+\b")
"""An identifier as code writes it (``exits_clear``, ``auth.login``, ``admin:adm``): no person reads these.
The registry's ids (``P-000001``, ``I-GRID``, an alarm's ``P:A1``) are written in capitals, and stay."""


def test_the_chinese_pages_name_things_instead_of_showing_codes(served: Served, browser: Browser) -> None:
    served.publish([fire("P")])  # a confirmed fire: the queue, the premises page and the audit log have more to say
    incident = incident_of(served, "P")
    assert login(served, "op").post(f"/api/incidents/{incident['id']}/acknowledge").status_code == 200
    start = datetime.now(UTC) - timedelta(minutes=30)
    with connect(served.database_url) as conn:  # two metrics on one chart: its legend names them
        conn.cursor().executemany(
            "INSERT INTO readings (time, premises_id, device_id, metric, value, seq) "
            "VALUES (%s, 'P', 'UITD', %s, %s, %s)",
            [(start + timedelta(minutes=n), m, 20 + n / 10, 2 * n + k)
             for n in range(30) for k, m in enumerate(("temperature_c", "cable_temp_c"))],
        )  # fmt: skip
        conn.commit()
    admin = log_in(browser, served.url, "adm")
    admin.locator("[data-lang=zh]").first.click()
    expect(admin.locator("#me")).to_contain_text("管理员")  # the role, in the page's language
    seen = {}
    for route in (
        "queue",
        "overview",
        "offline",
        "kpis",
        "hazards",
        "cases",
        "tasks",
        "notices",
        "audit",
        "premises/P",
    ):
        rendered(admin, f"{served.url}/#/{route}")
        seen[route] = sorted(set(CODES.findall(admin.locator("main").inner_text())))
    assert all(not codes for codes in seen.values()), {route: codes for route, codes in seen.items() if codes}
    rendered(admin, f"{served.url}/#/audit")
    expect(admin.locator("main")).to_contain_text("登录")  # auth.login, named
    rendered(admin, f"{served.url}/#/kpis")
    expect(admin.locator("#kpis")).to_contain_text("秒")  # the time to acknowledge, in Chinese units
