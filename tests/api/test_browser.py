"""The API's pages in headless Chromium: the console's token and notification pages, the
customer admin's token page, a user's own tokens and the API docs, with screenshots in
tests/screenshots/api-*.png."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from rest_framework.test import APIClient

from deletions.models import ApiToken

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from playwright import sync_api

expect = sync_api.expect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

SCREENSHOTS = Path(__file__).resolve().parents[1] / "screenshots"
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    with sync_api.sync_playwright() as pw:
        chromium = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, base_url=live_server.url)
    tab = context.new_page()
    tab.set_default_timeout(10_000)
    errors: list[str] = []
    tab.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and "favicon" not in msg.location.get("url", "")
            else None
        ),
    )
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert errors == []  # no CSP violations or script errors


def shot(page, name: str) -> None:
    SCREENSHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"api-{name}.png"), full_page=True)


def sign_in(page, user) -> None:
    page.goto("/accounts/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")


def works(raw: str) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return api.get("/api/v1/requests").status_code == 200


def test_a_console_admin_issues_and_revokes_an_operator_service_token(
    page, staff_admin, customer, dns
):
    dns["hooks.example.com"] = ["93.184.215.14"]  # a public address: the URL policy allows it
    sign_in(page, staff_admin)
    page.wait_for_url("**/console/**")
    page.goto("/console/api/tokens/")
    expect(page.locator("h1")).to_have_text("API tokens")
    page.fill("#id_account_name", "Monitoring")
    page.click("button:has-text('Create service account')")
    expect(page.locator(".messages")).to_contain_text("svc-operator-monitoring")
    page.select_option("#id_account", label="Monitoring (service account of the operator)")
    page.fill("#id_name", "Grafana")
    page.click("button:has-text('Create token')")
    raw = page.input_value("#new-token")
    assert raw.startswith("dpk_") and works(raw)
    shot(page, "console-tokens")
    page.click("a:has-text('Revoke…')")
    expect(page.locator(".warning")).to_contain_text("401")
    shot(page, "console-token-revoke")
    page.click("button:has-text('Revoke this token')")
    expect(page.locator("tbody").first).to_contain_text("revoked")
    assert not works(raw)

    page.goto("/console/api/notifications/")
    page.select_option("#id_customer", str(customer.pk))
    page.fill("#id_url", "https://hooks.example.com/deletions")
    page.click("button:has-text('Save and make a new secret')")
    assert page.input_value("#new-secret").startswith("whsec_")
    shot(page, "console-notifications")


def test_a_customer_admin_issues_a_token_of_their_service_account(page, customer_admin):
    sign_in(page, customer_admin)
    page.goto("/team/api-tokens/")
    expect(page.locator("h1")).to_have_text("API tokens")
    page.fill("#id_account_name", "CI pipeline")
    page.click("button:has-text('Create service account')")
    page.select_option("#id_account", label="CI pipeline (service account of Acme Health)")
    page.fill("#id_name", "GitHub Actions")
    page.click("button:has-text('Create token')")
    assert works(page.input_value("#new-token"))
    assert ApiToken.objects.get().user.service_account.issued_by == customer_admin
    shot(page, "team-tokens")


def test_a_member_makes_their_own_token_from_the_menu(page, member):
    sign_in(page, member)
    page.click("a:has-text('My API tokens')")
    expect(page.locator("h1")).to_have_text("My API tokens")
    page.fill("#id_name", "Laptop script")
    page.click("button:has-text('Create token')")
    assert works(page.input_value("#new-token"))
    assert ApiToken.objects.get().user == member
    shot(page, "my-tokens")


def test_the_docs_page_reads_well(page):
    page.goto("/api/v1/docs")
    expect(page.locator("h1")).to_contain_text("API")
    expect(page.locator("#create_request")).to_contain_text("Idempotency-Key")
    shot(page, "docs")
