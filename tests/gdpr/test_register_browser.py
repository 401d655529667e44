"""Refusing a GDPR request on its ground and reading the register, in headless Chromium: an
approver rejects with a ground from the list, the request's page shows it in words; a viewer
goes from the queue to the register, filters by customer and downloads the CSV. Screenshots go
to tests/screenshots/register-*.png."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from deletions.models import AuditEvent, DeletionRequest
from tests.browser import screenshots, sign_in
from tests.gdpr.conftest import SUBJECT
from tests.helpers import submitted_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

shot = screenshots("register")
CLAIMS_LABEL = "Art. 17(3)(e): the establishment, exercise or defence of legal claims"


def test_staff_refuse_on_a_ground_and_export_the_register(
    page, workspace, customer, other_customer, member, outsider, approver, viewer
):
    ours = submitted_request(
        workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref=SUBJECT
    )
    theirs = submitted_request(
        workspace,
        other_customer,
        outsider,
        prefix="th_",
        kind=DeletionRequest.Kind.GDPR,
        subject_ref="someone-else",
    )

    sign_in(page, approver)
    page.goto(f"/console/requests/{ours.pk}/")
    page.get_by_role("link", name="Reject…").click()
    page.get_by_label("Explanation").fill("The runs are evidence in Smith v Acme.")
    ground = page.get_by_label("Ground for refusal")
    # The browser will not send the form without one (the server refuses it too: see
    # test_refusal_grounds.py).
    assert ground.get_attribute("required") is not None
    page.get_by_role("button", name="Reject").click()
    assert page.url.endswith(f"/requests/{ours.pk}/reject/")
    ground.select_option(label=CLAIMS_LABEL)
    shot(page, "reject")
    page.get_by_role("button", name="Reject").click()
    page.wait_for_selector(".msg-success")
    assert CLAIMS_LABEL in page.content()
    shot(page, "request-refused")

    sign_in(page, viewer)
    page.goto(f"/console/requests/?kind=gdpr&status=any&customer={customer.pk}")
    page.get_by_role("link", name="Register of erasure requests (CSV, JSON)").click()
    page.wait_for_selector("h1:has-text('Register of erasure requests')")
    assert page.locator(f"a:text-is('#{ours.pk}')").count() == 1
    assert page.locator(f"a:text-is('#{theirs.pk}')").count() == 0
    assert page.get_by_text(CLAIMS_LABEL).count() == 1
    shot(page, "page")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert [(int(r["request_id"]), r["outcome"], r["ground"]) for r in rows] == [
        (ours.pk, "refused", "legal_claims")
    ]
    event = AuditEvent.objects.get(action="gdpr.register_exported")
    assert (event.actor_id, event.detail["format"], event.detail["customer"]) == (
        viewer.pk,
        "csv",
        customer.pk,
    )
