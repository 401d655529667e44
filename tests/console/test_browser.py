"""The console in headless Chromium: decisions, four eyes, key rotation, connection test and
resuming a stopped workspace, with a screenshot of each main page in tests/screenshots/."""

from __future__ import annotations

import pytest
from django.core import mail

from deletions.models import DeletionRequest, Source, Workspace
from deletions.workspaces import health as workspace_health
from extend_simulator import Simulator
from tests import drive
from tests.browser import screenshots, sign_in
from tests.factories import WorkspaceFactory
from tests.helpers import submitted_request

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

RS = DeletionRequest.Status
shot = screenshots("console")


def test_an_approver_approves_from_the_queue_and_sees_it_complete(
    page, approver, workspace, customer, member
):
    req = submitted_request(workspace, customer, member, runs=4)
    sign_in(page, approver)
    page.goto("/console/")
    assert page.locator("nav .badge").inner_text() == "1"
    shot(page, "dashboard")
    page.click("nav >> text=Queue")
    shot(page, "queue")
    page.click(f"text=#{req.pk}")
    assert page.locator("h1").inner_text().startswith(f"Request #{req.pk}")
    shot(page, "request-detail")
    page.click("a.btn:has-text('Approve')")
    assert "starts deleting 4 parse runs of Acme Health" in page.content()
    shot(page, "approve-confirm")
    page.fill("#id_comment", "Checked against the contract.")
    page.click("button:has-text('Approve')")
    page.wait_for_selector(".msg-success")
    assert "is approved" in page.locator(".msg-success").inner_text()
    req.refresh_from_db()
    assert req.status == RS.APPROVED

    # The engine's work, done by hand.
    drive.start(req)
    drive.complete(req, req.item_count)
    drive.finish(req)
    page.reload()
    assert "Completed" in page.locator("h1 .status").inner_text()
    assert page.locator("progress").get_attribute("value") == "100"
    shot(page, "request-completed")


def test_a_rejection_with_a_reason_reaches_the_requester(
    page, approver, workspace, customer, member
):
    req = submitted_request(workspace, customer, member, runs=2)
    sign_in(page, approver)
    page.goto(f"/console/requests/{req.pk}/")
    page.click("a.btn:has-text('Reject')")
    page.click("button:has-text('Reject')")  # no reason: refused by the form
    assert page.locator("#id_reason:invalid").count() == 1 or page.locator(".errorlist").count()
    page.fill("#id_reason", "These documents are under legal hold until June.")
    shot(page, "reject-confirm")
    page.click("button:has-text('Reject')")
    page.wait_for_selector(".msg-success")
    req.refresh_from_db()
    assert req.status == RS.REJECTED
    to_requester = [m for m in mail.outbox if member.email in m.to]
    assert to_requester
    assert "legal hold until June" in to_requester[0].body


def test_a_large_request_needs_two_different_approvers(
    page, approver, second_approver, staff_admin, workspace, customer, settings
):
    settings.LARGE_REQUEST_THRESHOLD = 3
    # Staff can be requesters too (e.g. entering a request on a customer's behalf).
    req = submitted_request(workspace, customer, second_approver, runs=5)
    assert req.required_approvals == 2

    sign_in(page, second_approver)
    page.goto(f"/console/requests/{req.pk}/")
    assert page.locator("button:has-text('Approve')").is_disabled()
    assert "You made this request yourself" in page.content()

    sign_in(page, approver)
    page.goto(f"/console/requests/{req.pk}/")
    page.click("a.btn:has-text('Approve')")
    assert "recorded as 1 of 2" in page.content()
    page.click("button:has-text('Approve')")
    page.wait_for_selector(".msg-success")
    assert "another approver is needed" in page.locator(".msg-success").inner_text()
    assert page.locator("button:has-text('Approve')").is_disabled()
    assert "You already approved this request" in page.content()
    shot(page, "request-one-of-two")
    # Even going to the action URL directly, a second approval by the same person is refused.
    page.goto(f"/console/requests/{req.pk}/approve/")
    assert "You already approved this request" in page.content()
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL

    sign_in(page, staff_admin)
    page.goto(f"/console/requests/{req.pk}/approve/")
    page.click("button:has-text('Approve')")
    page.wait_for_selector(".msg-success")
    req.refresh_from_db()
    assert req.status == RS.APPROVED
    assert req.approvals.count() == 2


def test_an_admin_rotates_a_key_that_is_never_shown(page, staff_admin, workspace):
    new_key = "sk_live_rotated_SENTINEL_71c3"
    sign_in(page, staff_admin)
    page.goto("/console/workspaces/")
    shot(page, "workspaces")
    page.click(f"text={workspace.name}")
    page.fill("#id_api_key", new_key)
    page.click("button:has-text('Store the new secret')")
    page.wait_for_selector(".msg-success")
    assert new_key not in page.content()
    assert "••••71c3" in page.content()
    assert page.input_value("#id_api_key") == ""
    shot(page, "workspace-detail")
    workspace.refresh_from_db()
    assert workspace.reveal_api_key() == new_key


def test_connection_test_and_resuming_a_workspace_stopped_by_a_401(page, approver, staff_admin, db):
    with Simulator(api_key="sk_sim_browser_key_42", runs=5) as sim:
        made = WorkspaceFactory(
            name="Simulated EU", base_url=sim.url, api_key="sk_sim_browser_key_42"
        )
        ws = Workspace.objects.get(pk=made.pk)
        sign_in(page, approver)
        page.goto(f"/console/workspaces/{ws.pk}/")
        page.click("button:has-text('Test connection')")
        page.wait_for_selector("#conn-h")
        assert page.locator("#conn-h").inner_text() == "Connection works"

        sim.set_faults({"revoked": True})
        page.click("button:has-text('Test connection')")
        page.wait_for_selector("#conn-h")
        assert page.locator("#conn-h").inner_text() == "Connection failed"
        assert "401" in page.locator(".warning-card").first.inner_text()
        shot(page, "workspace-connection-failed")

        # The engine met the same 401 and stopped the workspace.
        workspace_health.mark_workspace(
            ws,
            Workspace.Health.CREDENTIALS_INVALID,
            reason="HTTP 401 UNAUTHORIZED: This API key has been revoked.",
            source=Source.WORKER,
        )
        sim.set_faults()  # the key works again at Extend (a new one was issued)
        page.goto(f"/console/workspaces/{ws.pk}/")
        assert "Work is stopped: Credentials invalid" in page.content()
        shot(page, "workspace-stopped")
        page.click("a:has-text('Resume work')")
        page.click("button:has-text('Resume Simulated EU')")
        page.wait_for_selector(".msg-success")
        assert "active again" in page.locator(".msg-success").inner_text()
        ws.refresh_from_db()
        assert ws.health == Workspace.Health.ACTIVE
        page.click("button:has-text('Test connection')")
        assert page.locator("#conn-h").inner_text() == "Connection works"


def test_admin_pages_render(page, staff_admin, customer, member, pending_request):
    sign_in(page, staff_admin)
    for name, url in [
        ("customers", "/console/customers/"),
        ("customer-detail", f"/console/customers/{customer.pk}/"),
        ("staff", "/console/staff/"),
        ("audit", "/console/audit/"),
        ("workspace-new", "/console/workspaces/new/"),
    ]:
        response = page.goto(url)
        assert response.status == 200
        assert page.locator("h1").count() == 1
        shot(page, name)
