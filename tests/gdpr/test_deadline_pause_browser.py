"""Pausing a GDPR deadline in headless Chromium: staff pause it in the console (confirmation
page, timeline entry, "paused" badge), the customer's page shows the neutral notice, then staff
resume it. Screenshots go to tests/screenshots/pause-*.png."""

from __future__ import annotations

import re

import pytest

from deletions.models import AuditEvent, DeletionRequest
from tests.browser import screenshots, sign_in
from tests.gdpr.conftest import SUBJECT
from tests.helpers import submitted_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

shot = screenshots("pause")


def test_staff_pause_the_deadline_and_the_customer_sees_a_neutral_notice(
    page,
    workspace,
    customer,
    member,
    approver,
):
    req = submitted_request(
        workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref=SUBJECT
    )
    due = req.due_on.strftime("%-d %b %Y")

    sign_in(page, approver)
    page.goto(f"/console/requests/{req.pk}/")
    page.get_by_role("link", name="Pause deadline…").click()
    page.wait_for_selector("h1:has-text('Pause the deadline')")
    assert "moves by the calendar days it was paused" in page.content()
    assert page.get_by_label(re.compile("E-mail the data subject")).is_disabled()
    page.get_by_role("button", name="Pause the deadline").click()  # no reason yet
    assert page.url.endswith("/deadline/pause/")
    page.get_by_label("What you are waiting for from the data subject").fill(
        "A copy of the account number, to confirm the subject's identity"
    )
    shot(page, "console-confirm")
    page.get_by_role("button", name="Pause the deadline").click()
    page.wait_for_selector(".msg-success")
    assert page.locator(".timeline").get_by_text("gdpr.deadline_paused").count() == 1
    assert "Resume deadline" in page.content()
    shot(page, "console-detail-paused")
    req.refresh_from_db()
    assert req.deadline_paused_at is not None
    assert AuditEvent.objects.filter(action="gdpr.deadline_paused", request=req).count() == 1

    page.goto("/console/requests/?status=any")
    assert page.locator(f"tr:has(a:text-is('#{req.pk}')) .status:text-is('paused')").count() == 1
    shot(page, "console-queue")

    sign_in(page, member)
    page.goto(f"/requests/{req.pk}/")
    notice = page.locator("#deadline-paused")
    assert "Deadline paused while waiting for the data subject" in notice.inner_text()
    assert "account number" not in page.content()
    assert due in page.content()
    shot(page, "customer-detail")

    sign_in(page, approver)
    page.goto(f"/console/requests/{req.pk}/deadline/resume/")
    assert "0 days" in page.content()
    page.get_by_role("button", name="Resume the deadline").click()
    page.wait_for_selector(".msg-success")
    assert page.locator(".timeline").get_by_text("gdpr.deadline_resumed").count() == 1
    shot(page, "console-detail-resumed")
