"""Driving the console in a real browser (the ``browser`` fixture of conftest.py): logging in with every
request beyond this machine refused and counted, waiting for a view, screenshots."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, Page, Route, expect

from tests.console.conftest import PASSWORD
from tests.shots import SHOTS

OUTSIDE: list[str] = []
"""Requests a page made beyond this machine (refused): none is the expectation."""


def _local_only(route: Route) -> None:
    if urlsplit(route.request.url).hostname in ("127.0.0.1", "localhost", "::1"):
        route.continue_()
    else:
        OUTSIDE.append(route.request.url)
        route.abort()


def log_in(browser: Browser, url: str, user: str, width: int = 1400) -> Page:
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="en-GB")
    context.route("**/*", _local_only)  # as in a centre without a way out: nothing may come from a CDN
    context.add_init_script("localStorage.setItem('fw-lang', localStorage.getItem('fw-lang') || 'en')")
    page = context.new_page()
    page.goto(f"{url}/login")
    page.fill("#user", user)
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: urlsplit(r.url).path == "/api/auth/login", timeout=30_000) as answer:
        page.click("#submit")  # enabled once the page's script handles it
    assert answer.value.status == 200, f"logging in as {user}: {answer.value.status} {answer.value.text()}"
    try:
        expect(page.locator("#live")).to_have_class("live on", timeout=15_000)
    except AssertionError as exc:
        shown = page.locator("#error").all_inner_texts() if urlsplit(page.url).path == "/login" else []
        raise AssertionError(f"{user} logged in, then the console's live stream did not start: at {page.url}, "
                             f"errors shown {shown}") from exc  # fmt: skip
    return page


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def rendered(page: Page, url: str) -> None:
    """Go to another console route and wait until its view has drawn its first frame."""
    before = page.evaluate("window.fwRendered?.seq ?? 0")
    page.goto(url)
    page.wait_for_function(f"(window.fwRendered?.seq ?? 0) > {before}", timeout=30_000)
