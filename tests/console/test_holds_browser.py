"""Legal holds in headless Chromium: an admin places a hold on a customer through the form, the
customer sees only "Retained for legal reasons", the admin lifts it; the cooling-off countdown
ticks on both sides. Screenshots go to tests/screenshots/holds-*.png."""

from __future__ import annotations

import re

import pytest

from deletions.models import AuditEvent, DeletionItem, DeletionRequest, LegalHold, Source
from deletions.requests import transitions
from tests.browser import expect, screenshots, sign_in
from tests.helpers import submitted_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

IS = DeletionItem.Status
RS = DeletionRequest.Status
REASON = "Litigation: Smith v Acme Health, preserve all invoices"
REFERENCE = "LIT-2026-042"
shot = screenshots("holds")


def test_an_admin_holds_a_customer_the_customer_sees_a_neutral_notice_then_it_is_lifted(
    page, staff_admin, approver, workspace, customer, member
):
    req = submitted_request(workspace, customer, member, runs=4)
    transitions.approve_request(req, actor=approver, source=Source.WEB)

    # The admin places the hold through the form.
    sign_in(page, staff_admin)
    page.goto("/console/")
    page.click("nav >> text=Holds")
    expect(page.locator("h1")).to_have_text("Legal holds")
    expect(page.locator(".empty")).to_contain_text("No legal hold has been placed yet")
    shot(page, "list-empty")
    page.click("text=Place a hold…")
    page.check("input[name=scope][value=customer]")
    page.select_option("#id_customer", str(customer.pk))
    page.fill("#id_reason", REASON)
    page.fill("#id_reference", REFERENCE)
    shot(page, "form")
    page.click("button:has-text('Review the hold')")
    expect(page.locator("#hold-consequence")).to_contain_text(
        "4 waiting deletions of 1 open request will be held; items already sent cannot be recalled."
    )
    shot(page, "confirm")
    assert not LegalHold.objects.exists()
    page.click("button:has-text('Place the hold')")
    expect(page.locator(".msg-success")).to_contain_text("4 items on hold now")
    expect(page.locator("#held-total")).to_have_text("4")
    shot(page, "detail")
    hold = LegalHold.objects.get()
    assert set(req.items.values_list("status", flat=True)) == {IS.HELD}

    # The list shows it; the request page names the hold next to each held item.
    page.click("nav >> text=Holds")
    expect(page.locator("tbody tr")).to_have_count(1)
    expect(page.locator("tbody tr")).to_contain_text(REFERENCE)
    expect(page.locator("tbody tr")).to_contain_text(customer.name)
    shot(page, "list")
    page.goto(f"/console/requests/{req.pk}/")
    expect(page.locator("#held-count")).to_have_text("4")
    expect(page.locator("table")).to_contain_text(REFERENCE)
    shot(page, "request-detail-console")

    # The customer sees a neutral notice, never the reason or reference.
    sign_in(page, member)
    page.goto(f"/requests/{req.pk}/")
    expect(page.locator("[data-count=held]")).to_have_text("4")
    expect(page.locator("#progress")).to_contain_text("Retained for legal reasons")
    html = page.content()
    assert REASON not in html and REFERENCE not in html
    shot(page, "customer-request")
    page.goto(f"/requests/{req.pk}/items/")
    expect(page.locator("tbody")).to_contain_text("Retained for legal reasons")
    assert REFERENCE not in page.content()
    shot(page, "customer-items")

    # The admin lifts it.
    sign_in(page, staff_admin)
    page.goto(f"/console/holds/{hold.pk}/")
    page.click("text=Lift hold…")
    expect(page.locator("#lift-consequence")).to_contain_text(
        "4 held items of 1 request will resume"
    )
    page.fill("#id_reason", "Case settled on 27 Nov")
    shot(page, "lift-confirm")
    page.click("button:has-text('Lift the hold')")
    expect(page.locator(".msg-success")).to_contain_text("4 items resume")
    expect(page.locator("h1")).to_contain_text("Lifted")
    shot(page, "lifted")
    assert set(req.items.values_list("status", flat=True)) == {IS.PENDING}
    assert AuditEvent.objects.filter(action__in=["hold.placed", "hold.lifted"]).count() == 2


def _countdown_ticks(page) -> None:
    countdown = page.locator("[data-until]")
    first = countdown.inner_text()
    assert re.fullmatch(r"2[34] h \d+ min", first) or re.fullmatch(r"\d+ min \d\d s", first)
    # The script rewrites it every second; within the last minute it counts seconds.
    page.evaluate(
        "el => el.setAttribute('data-until', new Date(Date.now() + 65000).toISOString())",
        countdown.element_handle(),
    )
    expect(countdown).to_have_text(re.compile(r"1 min 0\d s"))
    later = countdown.inner_text()
    page.wait_for_timeout(1_200)
    assert countdown.inner_text() != later


def test_the_cooling_off_countdown_ticks_on_both_sides(
    page, approver, viewer, workspace, customer, member
):
    customer.cooling_off_hours = 24
    customer.save()
    req = submitted_request(workspace, customer, member, runs=2)
    transitions.approve_request(req, actor=approver, source=Source.WEB)

    sign_in(page, member)
    page.goto(f"/requests/{req.pk}/")
    expect(page.locator("#cooling-off")).to_contain_text("24-hour cooling-off window")
    expect(page.locator("#cooling-off")).to_contain_text("you can still cancel")
    expect(page.locator("a:has-text('Cancel this request')")).to_be_visible()
    shot(page, "customer-cooling-off")
    _countdown_ticks(page)

    sign_in(page, viewer)
    page.goto(f"/console/requests/{req.pk}/")
    expect(page.locator("#cooling-off")).to_contain_text(
        "waiting for the customer's 24-hour cooling-off window"
    )
    shot(page, "console-cooling-off")
    _countdown_ticks(page)
    req.refresh_from_db()
    assert req.status == RS.APPROVED
