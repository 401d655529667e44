"""The customer's self-service in headless Chromium against a live server: sign in, filter,
select, review, submit, follow the live progress bar, download the receipt. Screenshots of each
main page go to tests/screenshots/customer-*.png."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest, ParseRun, Source
from deletions.requests import transitions
from deletions.views import customer_requests
from tests import drive
from tests.browser import expect, screenshots, sign_in
from tests.factories import customer_user, make_runs
from tests.helpers import submitted_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

RS = DeletionRequest.Status
IS = DeletionItem.Status
shot = screenshots("customer")


def test_a_customer_asks_for_deletion_and_follows_it_to_the_receipt(
    page, workspace, customer, member, approver
):
    make_runs(workspace, customer, 60)
    ParseRun.objects.filter(file_name__startswith="invoice-0000").update(extend_status="FAILED")

    page.goto("/accounts/login/")
    shot(page, "login")
    sign_in(page, member)
    page.wait_for_url("**/runs/")
    expect(page.locator("h1")).to_have_text("Parse runs")
    shot(page, "runs")

    # Filter by file name: ten runs match.
    page.fill("#id_q", "invoice-0001")
    page.click("button:has-text('Apply')")
    expect(page.locator("tbody tr")).to_have_count(10)

    # "Select this page" ticks every run, and the count says so.
    page.check("[data-select-page]")
    expect(page.locator("[data-selection-count]")).to_have_text("10 runs selected on this page.")
    page.uncheck("#run-" + str(ParseRun.objects.get(file_name="invoice-00019.pdf").pk))
    expect(page.locator("[data-selection-count]")).to_have_text("9 runs selected on this page.")
    shot(page, "runs-selected")
    page.click("button:has-text('Review deletion')")

    expect(page.locator("h1")).to_have_text("Delete 9 parse runs?")
    assert "This cannot be undone." in page.inner_text(".warning")
    shot(page, "review")
    page.click("button:has-text('Request deletion of 9 runs')")
    expect(page.locator("#id_reason")).to_be_visible()
    assert page.locator(".errorlist").count() == 1  # the reason is required
    page.fill("#id_reason", "The contract with this client ended.")
    page.click("button:has-text('Request deletion of 9 runs')")

    req = DeletionRequest.objects.get()
    page.wait_for_url(f"**/requests/{req.pk}/")
    expect(page.locator("h1 .status")).to_have_text("Pending approval")
    assert req.item_count == 9
    shot(page, "request-pending")

    # Staff approve (the console is another page); the requester's page starts polling.
    transitions.approve_request(req, actor=approver, source=Source.WEB)
    page.reload()
    expect(page.locator("h1 .status")).to_have_text("Approved")
    page.evaluate("window.__notReloaded = true")

    # The engine's work, done by hand: the bar must move without reloading the page.
    drive.start(req)
    drive.complete(req, 3)
    drive.set_in_flight(req, 2)
    expect(page.locator("[data-percent]")).to_have_text("33%", timeout=8_000)
    expect(page.locator("[data-count='deleted']")).to_have_text("3")
    expect(page.locator("[data-count='in_flight']")).to_have_text("2")
    # The heading follows the polled status, and a running request offers no cancel button.
    expect(page.locator("h1 .status")).to_have_text("Running")
    expect(page.locator("text=Cancel this request")).to_have_count(0)
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "request-running")

    for item in DeletionItem.objects.filter(request=req, status=IS.IN_FLIGHT):
        transitions.complete_item(item, IS.DELETED, http_status=200, extend_request_id="xr_1")
    drive.complete(req, 4)
    drive.finish(req)
    expect(page.locator("[data-percent]")).to_have_text("100%", timeout=8_000)
    expect(page.locator("#progress .status")).to_have_text("Completed")
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "request-completed")

    with page.expect_download() as info:
        page.click("text=Download receipt (CSV)")
    download = info.value
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert len(rows) == 9
    assert {r["outcome"] for r in rows} == {"deleted"}
    assert all(r["approved_by"] == "anna" for r in rows)

    page.click("text=View receipt")
    expect(page.locator("h1")).to_have_text(f"Deletion receipt · request #{req.pk}")
    expect(page.locator(".receipt-table tbody tr")).to_have_count(9)
    shot(page, "receipt")

    page.goto(f"/requests/{req.pk}/items/")
    expect(page.locator("tbody tr")).to_have_count(9)
    shot(page, "items")
    page.goto("/requests/")
    expect(page.locator("tbody tr")).to_have_count(1)
    shot(page, "requests")
    page.goto("/runs/?state=deleted")
    expect(page.locator("tbody .status-deleted")).to_have_count(9)


def test_everything_matching_needs_the_confirmation_word(page, workspace, customer, member):
    make_runs(workspace, customer, 150)
    sign_in(page, member)
    page.wait_for_url("**/runs/")
    page.check("[data-match-all]")
    expect(page.locator("[data-selection-count]")).to_contain_text("Everything matching")
    assert page.locator("[data-run-checkbox]").first.is_disabled()
    page.click("button:has-text('Review deletion')")
    expect(page.locator("h1")).to_have_text("Delete 150 parse runs?")
    page.fill("#id_reason", "Offboarding")
    page.check("#id_is_gdpr")
    page.fill("#id_subject_ref", "ticket-8841")
    page.fill("#id_confirmation", "delete")
    shot(page, "review-large")
    page.click("button:has-text('Request deletion')")
    expect(page.locator(".errorlist")).to_contain_text("Type DELETE")
    page.fill("#id_confirmation", "DELETE")
    page.click("button:has-text('Request deletion')")
    page.wait_for_url(re.compile(r".*/requests/\d+/$"))
    req = DeletionRequest.objects.get()
    assert (req.scope, req.kind, req.item_count) == ("all", "gdpr", 150)

    page.click("text=Cancel this request")
    shot(page, "cancel-confirm")
    # A GDPR erasure request is cancelled only with a reason (the data subject is told it).
    page.fill("#id_reason", "Filed twice; ticket-8841 is handled in request #1.")
    page.click("button:has-text('Yes, cancel the request')")
    expect(page.locator("h1 .status")).to_have_text("Cancelled")


def test_a_customer_admin_invites_a_colleague(page, customer, customer_admin):
    customer_user(customer, username="bob")
    sign_in(page, customer_admin)
    page.wait_for_url("**/runs/")
    page.click("nav >> text=Team")
    page.fill("#id_email", "dora@example.com")
    page.fill("#id_first_name", "Dora")
    page.click("button:has-text('Send invitation')")
    expect(page.locator(".msg-success")).to_contain_text("Invitation sent to dora@example.com")
    expect(page.locator("tbody")).to_contain_text("Invited")
    shot(page, "team")


def test_the_pages_work_on_a_phone_sized_screen(page, workspace, customer, member):
    make_runs(workspace, customer, 5)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, member)
    page.wait_for_url("**/runs/")
    # Nothing sticks out sideways except the scrollable table.
    overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert overflow is False
    shot(page, "runs-phone")


def test_the_404_page_is_in_the_portal_style(page, member):
    sign_in(page, member)
    page.wait_for_url("**/runs/")
    response = page.goto("/requests/999999/")
    assert response.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")
    shot(page, "404")


def test_the_live_update_replaces_the_banner_and_approvals_without_a_reload(
    page, workspace, customer, member, approver, monkeypatch
):
    # A page waiting for a decision polls every 10 s; here every second, to keep the test short.
    monkeypatch.setattr(customer_requests, "WAITING_POLL_SECONDS", 1)
    customer.cooling_off_hours = 2
    customer.save()
    req = submitted_request(workspace, customer, member, runs=4)
    sign_in(page, member)
    page.wait_for_url("**/runs/")
    page.goto(f"/requests/{req.pk}/")
    expect(page.locator("#request-banner")).to_contain_text("Waiting for the operator's approval")
    expect(page.locator("#approvals")).to_contain_text("No decision yet.")
    expect(page.locator("[data-eta]")).to_have_text("Waiting for approval.")
    page.evaluate("window.__notReloaded = true")

    transitions.approve_request(req, actor=approver, source=Source.WEB)
    req.refresh_from_db()

    # The banner now tells of the cooling-off window, the approvals panel names the approver,
    # the estimate line says when deletion starts, and the cancel button stays.
    banner = page.locator("#request-banner")
    expect(banner).to_contain_text("2-hour cooling-off window applies", timeout=8_000)
    expect(banner).not_to_contain_text("Waiting for the operator")
    expect(page.locator("#approvals")).not_to_contain_text("No decision yet")
    expect(page.locator("#approvals")).to_contain_text("anna")
    expect(page.locator("h1 .status")).to_have_text("Approved")
    expect(page.locator("[data-eta]")).to_contain_text("Starts after the cooling-off window")
    expect(page.locator("#cancel-slot")).to_contain_text("Cancel this request")
    expect(page.locator("#cooling-off [data-until]")).to_contain_text(re.compile(r"\d+ h \d+ min"))
    assert page.evaluate("window.__notReloaded") is True
    shot(page, "request-cooling-off-live")

    # Cooling-off over, the request runs and finishes: banner gone, a duration instead of an
    # estimate, no cancel button, and the page stops polling.
    DeletionRequest.objects.filter(pk=req.pk).update(execute_after=timezone.now())
    drive.start(req)
    drive.complete(req, 4)
    drive.finish(req)
    expect(page.locator("[data-eta]")).to_contain_text("Finished in", timeout=8_000)
    expect(page.locator("#request-banner")).to_have_text("")
    expect(page.locator("#cancel-slot")).to_have_text("")
    expect(page.locator("h1 .status")).to_have_text("Completed")
    assert page.locator("#progress[hx-get]").count() == 0
    assert page.evaluate("window.__notReloaded") is True
