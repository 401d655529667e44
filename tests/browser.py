"""The browser tests' scaffolding, one copy for all (a pytest plugin, loaded by tests/conftest.py).

Debian's Chromium, headless, driven by Playwright against pytest-django's ``live_server``:

- ``page``: a tab signed in as nobody, whose console must stay clean: a script error, a CSP
  violation or a failed load fails the test when it ends (the strictest check any browser test
  had, now kept by all);
- ``new_page()``: more tabs, each in a context of its own (own cookies: one signed-in user each);
- ``sign_in(page, user)``: signs in through the login form as one of the cast (``member``,
  ``approver``, ...: every test user has the same password);
- ``shot = screenshots("customer")``: ``shot(page, "runs")`` writes
  tests/screenshots/customer-runs.png, for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright import sync_api

from tests.factories import PASSWORD

expect = sync_api.expect

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Nothing but the page under test: no updates, sync, QUIC or first-run work in the background.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT: sync_api.ViewportSize = {"width": 1280, "height": 900}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def browser() -> Iterator[sync_api.Browser]:
    """Headless Chromium (a fresh profile each launch), shared by one test module's tests."""
    # Playwright's sync API keeps an event loop running in this thread, so Django would refuse
    # the test bodies' ORM calls as if they were made from async code. They are synchronous.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_api.sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


class ConsoleErrors:
    """What a tab's console reported as errors, and its uncaught script errors.

    A page the test opened that answers 4xx on purpose (a form sent back with its mistakes as
    400, the 404 page) is not one: Chromium reports the document's own status as a failed load,
    and the test checks that page itself. A script, style sheet or fetch that fails still counts.
    """

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.error_documents: set[str] = set()

    def watch(self, tab: sync_api.Page) -> None:
        tab.on("console", self._on_console)
        tab.on("pageerror", lambda exc: self.messages.append((str(exc), "")))
        tab.on("response", self._on_response)

    def _on_console(self, msg: sync_api.ConsoleMessage) -> None:
        url = msg.location.get("url", "")
        # Chromium asks for /favicon.ico on its own; the portal has none.
        if msg.type == "error" and not url.endswith("favicon.ico"):
            self.messages.append((msg.text, url))

    def _on_response(self, response: sync_api.Response) -> None:
        if response.request.resource_type == "document" and 400 <= response.status < 500:
            self.error_documents.add(response.url)

    @property
    def errors(self) -> list[str]:
        return [
            f"{text} ({url})" if url else text
            for text, url in self.messages
            if not (url in self.error_documents and text.startswith("Failed to load resource"))
        ]


@pytest.fixture
def new_page(
    browser: sync_api.Browser, live_server, settings
) -> Iterator[Callable[..., sync_api.Page]]:
    """Make a tab in a new browser context; every tab made must end the test with a clean
    console (no CSP violation, script error or failed load)."""
    # Links the portal e-mails point at the server the browser talks to.
    settings.SITE_URL = live_server.url
    contexts: list[sync_api.BrowserContext] = []
    console = ConsoleErrors()

    def make(*, timeout_ms: int = TIMEOUT_MS) -> sync_api.Page:
        context = browser.new_context(
            viewport=VIEWPORT, base_url=live_server.url, accept_downloads=True
        )
        context.set_default_timeout(timeout_ms)
        contexts.append(context)
        tab = context.new_page()
        console.watch(tab)
        return tab

    yield make
    for context in contexts:
        context.close()
    assert console.errors == []


@pytest.fixture
def page(new_page: Callable[..., sync_api.Page]) -> sync_api.Page:
    return new_page()


def sign_in(page: sync_api.Page, user) -> None:
    """Sign in through the login form as *user*, after signing out whoever was signed in."""
    page.context.clear_cookies()
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    # The form is gone once the sign-in went through (a refused one shows it again).
    expect(page.locator("#id_password")).to_have_count(0)


def screenshots(prefix: str) -> Callable[[sync_api.Page, str], None]:
    """``shot(page, name)``: a full-page screenshot at tests/screenshots/<prefix>-<name>.png."""

    def shot(page: sync_api.Page, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{prefix}-{name}.png"), full_page=True)

    return shot
