"""The customer admin's confirmation step in headless Chromium: the nav's badge, the list, the
person in clear on the task's page, a confirmation without a reason refused, then with one;
the intake is then the operator's to freeze. Screenshots: tests/screenshots/controller-*.png."""

from __future__ import annotations

import pytest

from deletions.models import AuditEvent, ErasureIntake
from tests.browser import screenshots, sign_in
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import verified_intake

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

shot = screenshots("controller")


def test_the_customer_admin_confirms_the_data_subject(page, customer, customer_admin):
    found = verified_intake(customer, email="jane@example.org", wants_recipients=True)
    sign_in(page, customer_admin)
    page.goto("/runs/")
    link = page.get_by_role("link", name="Erasure requests to confirm")
    assert link.locator(".badge").inner_text() == "1"
    link.click()
    page.wait_for_selector("h1:has-text('Erasure requests to confirm')")
    assert SUBJECT not in page.content()  # masked in the list
    shot(page, "list")
    page.get_by_role("link", name="Confirm this person is your data subject…").click()
    page.wait_for_selector("#clear-reference")
    assert page.locator("#clear-reference").inner_text() == SUBJECT
    assert page.locator("#clear-email").inner_text() == "jane@example.org"
    assert "asked to be told who their data was disclosed to" in page.content()
    shot(page, "task")
    page.get_by_role("button", name="Confirm: this is our data subject").click()
    assert page.locator(".errorlist").count() == 1  # a reason is needed
    page.get_by_label("How you checked that this person is your data subject").fill(
        "Patient 4711's record has this address."
    )
    page.get_by_role("button", name="Confirm: this is our data subject").click()
    page.wait_for_selector(".msg-success")
    assert "confirmed" in page.locator(".msg-success").inner_text()
    assert (
        page.get_by_role("link", name="Erasure requests to confirm").locator(".badge").count() == 0
    )
    assert "Nothing waits for your confirmation" in page.content()
    shot(page, "done")
    found.refresh_from_db()
    assert found.status == ErasureIntake.Status.CONFIRMED
    assert found.decided_by == customer_admin
    assert AuditEvent.objects.filter(action="intake.viewed", actor_id=customer_admin.pk).exists()
