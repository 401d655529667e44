"""Retention policies in headless Chromium: a customer admin proposes a policy, an approver
approves it in the console, the customer sees it active with what it would delete and keeps one
run through its link. Screenshots go to tests/screenshots/retention-*.png."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deletions.models import AuditEvent, ParseRun, RetentionExemption, RetentionPolicy
from tests.browser import expect, screenshots, sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

ST = RetentionPolicy.Status
REASON = "Contract clause 7.2: documents are kept 30 days"
shot = screenshots("retention")


def _runs(ws, customer, aged):
    """Present runs created *days* ago (the server's real clock: the browser keeps its own)."""
    now = timezone.now()
    ParseRun.objects.bulk_create(
        ParseRun(
            workspace=ws,
            customer=customer,
            run_id=run_id,
            file_name=file_name,
            extend_status="PROCESSED",
            extend_created_at=now - timedelta(days=days),
        )
        for run_id, file_name, days in aged
    )


def test_an_admin_proposes_a_policy_and_an_approver_approves_it_in_the_console(
    page, ws, acme, acme_admin, approvers
):
    _runs(
        ws,
        acme,
        [
            ("pr_old", "doc-old.pdf", 45),
            ("pr_mid", "doc-mid.pdf", 40),
            ("pr_edge", "doc-edge.pdf", 31),
            ("pr_new", "doc-new.pdf", 10),
            ("pr_scan", "scan.png", 60),
        ],
    )

    # The customer admin proposes the policy.
    sign_in(page, acme_admin)
    page.click("nav >> text=Retention")
    expect(page.locator("h1")).to_have_text("Retention policies")
    expect(page.locator(".empty")).to_contain_text("No retention policy yet.")
    page.click("text=Propose a policy…")
    page.fill("#id_name", "Documents: 30 days")
    page.check("#id_basis_0")
    page.fill("#id_number", "30")
    page.check("#id_workspaces_0")
    page.fill("#id_file_name_contains", "doc")
    page.fill("#id_reason", REASON)
    shot(page, "propose")
    page.click("button:has-text('Propose the policy')")
    expect(page.locator(".msg-success")).to_contain_text(
        "It acts only once 1 of the operator's approvers approves it"
    )
    expect(page.locator("h1")).to_contain_text("Pending approval")
    expect(page.locator("#preview-count")).to_have_text("3")
    expect(page.locator("#preview tbody tr")).to_have_count(3)
    shot(page, "customer-pending")
    policy = RetentionPolicy.objects.get()
    assert (policy.status, policy.proposed_by) == (ST.PENDING_APPROVAL, acme_admin)

    # An approver finds it in the console's queue and approves it.
    approver = approvers[0]
    sign_in(page, approver)
    page.goto("/console/")
    expect(page.locator("nav >> text=Retention >> .badge")).to_have_text("1")
    page.click("nav >> text=Retention")
    queue = page.locator("#approvals-queue tbody tr")
    expect(queue).to_have_count(1)
    expect(queue).to_contain_text("Documents: 30 days")
    expect(queue).to_contain_text("acme-admin")
    expect(queue).to_contain_text("0 of 1")
    shot(page, "console-list")
    queue.locator("a").click()
    expect(page.locator("#preview-count")).to_have_text("3")
    page.click("a.btn:has-text('Approve')")
    expect(page.locator("#consequence")).to_contain_text("if it ran now it would delete 3 runs")
    page.fill("#id_comment", "Matches clause 7.2 of the contract")
    shot(page, "console-approve")
    page.click("button:has-text('Approve')")
    expect(page.locator(".msg-success")).to_contain_text("is approved and active")
    expect(page.locator("h1")).to_contain_text("Active")
    shot(page, "console-active")
    policy.refresh_from_db()
    assert policy.status == ST.ACTIVE
    assert AuditEvent.objects.filter(action="policy.active").count() == 1

    # The customer sees it active, with the approval, and keeps one run through its link.
    sign_in(page, acme_admin)
    page.goto("/retention/")
    row = page.locator("tbody tr", has_text="Documents: 30 days")
    expect(row).to_contain_text("Active")
    shot(page, "customer-list")
    row.locator("a").first.click()
    expect(page.locator("#approvals")).to_contain_text("Matches clause 7.2 of the contract")
    expect(page.locator("#approvals")).to_contain_text(approver.username)
    shot(page, "customer-active")
    page.locator("#preview tbody tr", has_text="pr_old").locator("a").click()
    page.fill("#id_reason", "Kept for the 2026 audit")
    page.click("button:has-text('Keep this run')")
    expect(page.locator(".msg-success")).to_contain_text("Parse run pr_old is exempted")
    expect(page.locator("tbody")).to_contain_text("Kept for the 2026 audit")
    shot(page, "exemptions")
    assert RetentionExemption.objects.get().policy == policy
    page.goto(f"/retention/{policy.pk}/")
    expect(page.locator("#preview-count")).to_have_text("2")
    expect(page.locator("#preview-skipped")).to_contain_text("1 exempted")
