"""The API's pages in headless Chromium: the console's token and notification pages, the
customer admin's token page, a user's own tokens and the API docs, with screenshots in
tests/screenshots/api-*.png."""

from __future__ import annotations

import pytest

from deletions.models import ApiToken
from tests.browser import expect, screenshots, sign_in
from tests.helpers import token_works

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

shot = screenshots("api")


def test_a_console_admin_issues_and_revokes_an_operator_service_token(
    page, staff_admin, customer, dns
):
    # The receiver's name must resolve to a public address (the machine has no DNS).
    dns["hooks.example.com"] = ["93.184.215.14"]
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
    assert raw.startswith("dpk_") and token_works(raw)
    shot(page, "console-tokens")
    page.click("a:has-text('Revoke…')")
    expect(page.locator(".warning")).to_contain_text("401")
    shot(page, "console-token-revoke")
    page.click("button:has-text('Revoke this token')")
    expect(page.locator("tbody").first).to_contain_text("revoked")
    assert not token_works(raw)

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
    assert token_works(page.input_value("#new-token"))
    assert ApiToken.objects.get().user.service_account.issued_by == customer_admin
    shot(page, "team-tokens")


def test_a_member_makes_their_own_token_from_the_menu(page, member):
    sign_in(page, member)
    page.click("a:has-text('My API tokens')")
    expect(page.locator("h1")).to_have_text("My API tokens")
    page.fill("#id_name", "Laptop script")
    page.click("button:has-text('Create token')")
    assert token_works(page.input_value("#new-token"))
    assert ApiToken.objects.get().user == member
    shot(page, "my-tokens")


def test_the_docs_page_reads_well(page):
    page.goto("/api/v1/docs")
    expect(page.locator("h1")).to_contain_text("API")
    expect(page.locator("#create_request")).to_contain_text("Idempotency-Key")
    shot(page, "docs")
