"""The queue, a request's page, and every decision and control action on it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from deletions.models import (
    Approval,
    AuditEvent,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    Source,
    Workspace,
)
from deletions.notifications import customer_emails as notifications
from deletions.requests import transitions
from tests.helpers import force_status, submitted_request

RS = DeletionRequest.Status


@pytest.fixture(autouse=True)
def _customer_notifications():
    # The customer pages' e-mail hook (idempotent): rejection e-mails come from there.
    notifications.register()


def _queue_ids(response):
    return [req.pk for req in response.context["page"].objects]


# --- Queue ---------------------------------------------------------------------------------


def test_the_queue_shows_requests_awaiting_a_decision_by_default(
    client, viewer, workspace, customer, member
):
    waiting = submitted_request(workspace, customer, member, runs=2, prefix="a_")
    done = submitted_request(workspace, customer, member, runs=2, prefix="b_")
    force_status(done, RS.COMPLETED)
    client.force_login(viewer)
    response = client.get(reverse("console:queue"))
    assert _queue_ids(response) == [waiting.pk]
    assert b"alice" in response.content  # the requester
    response = client.get(reverse("console:queue"), {"status": "any"})
    assert set(_queue_ids(response)) == {waiting.pk, done.pk}


def test_the_queue_puts_gdpr_deadlines_first_then_the_oldest(
    client, viewer, workspace, customer, member
):
    now = timezone.now()
    old = submitted_request(workspace, customer, member, runs=1, prefix="o_")
    new = submitted_request(workspace, customer, member, runs=1, prefix="n_")
    late = submitted_request(workspace, customer, member, runs=1, prefix="l_")
    soon = submitted_request(workspace, customer, member, runs=1, prefix="s_")
    force_status(old, RS.PENDING_APPROVAL, submitted_at=now - timedelta(days=3))
    force_status(new, RS.PENDING_APPROVAL, submitted_at=now - timedelta(days=1))
    today = timezone.localdate()
    force_status(late, RS.PENDING_APPROVAL, kind="gdpr", due_on=today + timedelta(days=20))
    force_status(soon, RS.PENDING_APPROVAL, kind="gdpr", due_on=today - timedelta(days=2))
    client.force_login(viewer)
    response = client.get(reverse("console:queue"))
    assert _queue_ids(response) == [soon.pk, late.pk, old.pk, new.pk]
    assert b"overdue 2 d" in response.content
    assert b"20 d left" in response.content


def test_the_queue_filters_by_customer_kind_workspace_and_overdue(
    client, viewer, workspace, customer, other_customer, member, outsider
):
    mine = submitted_request(workspace, customer, member, runs=1, prefix="m_")
    other_ws = Workspace.objects.create(name="Other", base_url="http://127.0.0.1:9")
    theirs = submitted_request(other_ws, other_customer, outsider, runs=1, prefix="t_")
    force_status(
        theirs, RS.PENDING_APPROVAL, kind="gdpr", due_on=timezone.localdate() - timedelta(1)
    )
    client.force_login(viewer)
    url = reverse("console:queue")
    assert _queue_ids(client.get(url, {"customer": customer.pk})) == [mine.pk]
    assert _queue_ids(client.get(url, {"kind": "gdpr"})) == [theirs.pk]
    assert _queue_ids(client.get(url, {"workspace": other_ws.pk})) == [theirs.pk]
    assert _queue_ids(client.get(url, {"workspace": workspace.pk})) == [mine.pk]
    assert _queue_ids(client.get(url, {"overdue": "on"})) == [theirs.pk]


def test_the_queue_searches_by_id_or_requester(
    client, viewer, workspace, customer, member, outsider, other_customer
):
    mine = submitted_request(workspace, customer, member, runs=1, prefix="m_")
    theirs = submitted_request(workspace, other_customer, outsider, runs=1, prefix="t_")
    client.force_login(viewer)
    url = reverse("console:queue")
    assert _queue_ids(client.get(url, {"q": f"#{theirs.pk}"})) == [theirs.pk]
    assert _queue_ids(client.get(url, {"q": "ALI"})) == [mine.pk]
    assert _queue_ids(client.get(url, {"q": "nobody"})) == []


def test_the_queue_pages_without_counting_and_with_constant_queries(
    client, viewer, workspace, customer, member, django_assert_max_num_queries
):
    for i in range(3):
        submitted_request(workspace, customer, member, runs=1, prefix=f"q{i}_")
    client.force_login(viewer)
    url = reverse("console:queue")
    with django_assert_max_num_queries(12) as small:
        client.get(url)
    for i in range(3, 60):
        submitted_request(workspace, customer, member, runs=1, prefix=f"q{i}_")
    with django_assert_max_num_queries(len(small.captured_queries)) as big:
        first = client.get(url)
    assert not any(
        "COUNT(" in q["sql"] and "deletionrequest" in q["sql"] and "pending" not in q["sql"]
        for q in big.captured_queries
    )
    assert len(first.context["page"].objects) == 50
    assert first.context["page"].has_next
    second = client.get(url, {"page": 2})
    assert len(second.context["page"].objects) == 10
    assert not second.context["page"].has_next


def test_the_navigation_shows_the_pending_count(client, viewer, pending_request):
    client.force_login(viewer)
    response = client.get(reverse("console:dashboard"))
    assert b'aria-label="1 awaiting a decision"' in response.content


def test_a_viewer_sees_the_decision_buttons_disabled_with_the_reason(
    client, viewer, pending_request
):
    client.force_login(viewer)
    response = client.get(reverse("console:queue"))
    assert b"Only an approver can do this." in response.content
    response = client.get(reverse("console:request_detail", args=[pending_request.pk]))
    assert b"Only an approver can do this." in response.content
    assert (
        reverse("console:request_approve", args=[pending_request.pk]).encode()
        not in response.content
    )


def test_non_admins_do_not_see_admin_links(client, approver, staff_admin):
    client.force_login(approver)
    assert (
        reverse("console:customer_list").encode()
        not in client.get(reverse("console:dashboard")).content
    )
    client.force_login(staff_admin)
    assert (
        reverse("console:customer_list").encode()
        in client.get(reverse("console:dashboard")).content
    )


# --- Detail --------------------------------------------------------------------------------


def test_the_detail_shows_scope_items_timeline_and_attempts(client, viewer, pending_request):
    item = pending_request.items.select_related("parse_run").first()
    DeletionAttempt.objects.create(
        item=item,
        http_status=503,
        outcome="transient",
        extend_request_id="req_abc123",
        error="upstream down",
    )
    client.force_login(viewer)
    response = client.get(reverse("console:request_detail", args=[pending_request.pk]))
    body = response.content.decode()
    assert item.parse_run.run_id in body
    assert "request.submitted" in body
    assert "req_abc123" in body
    assert "upstream down" in body
    assert "0 of 1" in body


def test_the_detail_filters_items_by_state(client, viewer, pending_request):
    first = pending_request.items.order_by("id").first()
    DeletionItem.objects.filter(pk=first.pk).update(status=DeletionItem.Status.FAILED)
    client.force_login(viewer)
    url = reverse("console:request_detail", args=[pending_request.pk])
    response = client.get(url, {"item_status": "failed"})
    assert [i.pk for i in response.context["items_page"].objects] == [first.pk]
    response = client.get(url, {"item_status": "bogus"})
    assert len(response.context["items_page"].objects) == 3


def test_the_detail_makes_a_constant_number_of_queries(
    client, viewer, workspace, customer, member, django_assert_max_num_queries
):
    small = submitted_request(workspace, customer, member, runs=2, prefix="s_")
    big = submitted_request(workspace, customer, member, runs=120, prefix="b_")
    for item in big.items.all()[:30]:
        DeletionAttempt.objects.create(item=item, http_status=200, outcome="deleted")
    client.force_login(viewer)
    with django_assert_max_num_queries(30) as q_small:
        client.get(reverse("console:request_detail", args=[small.pk]))
    with django_assert_max_num_queries(len(q_small.captured_queries)):
        client.get(reverse("console:request_detail", args=[big.pk]))


# --- Approve and reject -------------------------------------------------------------------


def test_approving_shows_a_confirmation_first(client, approver, pending_request):
    client.force_login(approver)
    response = client.get(reverse("console:request_approve", args=[pending_request.pk]))
    assert b"starts deleting 3 parse runs of Acme Health" in response.content
    pending_request.refresh_from_db()
    assert pending_request.status == RS.PENDING_APPROVAL


def test_an_approver_approves_with_a_comment(client, approver, pending_request):
    client.force_login(approver)
    response = client.post(
        reverse("console:request_approve", args=[pending_request.pk]), {"comment": "checked"}
    )
    assert response.status_code == 302
    pending_request.refresh_from_db()
    assert pending_request.status == RS.APPROVED
    assert Approval.objects.get(request=pending_request).comment == "checked"
    assert AuditEvent.objects.filter(
        request=pending_request, action="request.approved", source=Source.WEB
    ).exists()


def test_a_large_request_needs_two_different_approvers(
    client, approver, second_approver, workspace, customer, member, settings
):
    settings.LARGE_REQUEST_THRESHOLD = 2
    req = submitted_request(workspace, customer, member, runs=3)
    assert req.required_approvals == 2
    url = reverse("console:request_approve", args=[req.pk])
    client.force_login(approver)
    assert b"recorded as 1 of 2" in client.get(url).content
    client.post(url, {})
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL
    # The first approver cannot approve twice.
    detail = client.get(reverse("console:request_detail", args=[req.pk]))
    assert b"You already approved this request" in detail.content
    response = client.post(url, {}, follow=True)
    assert b"You have already approved this request" in response.content
    assert Approval.objects.filter(request=req).count() == 1
    client.force_login(second_approver)
    client.post(url, {})
    req.refresh_from_db()
    assert req.status == RS.APPROVED
    assert Approval.objects.filter(request=req).count() == 2


def test_a_requester_cannot_approve_their_own_request(
    client, approver, staff_admin, workspace, customer
):
    req = submitted_request(workspace, customer, approver, runs=1)
    client.force_login(approver)
    url = reverse("console:request_approve", args=[req.pk])
    assert b"You made this request yourself" in client.get(url).content
    response = client.post(url, {}, follow=True)
    assert b"You cannot approve a request you made yourself." in response.content
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL


def test_rejecting_needs_a_reason(client, approver, pending_request):
    client.force_login(approver)
    response = client.post(
        reverse("console:request_reject", args=[pending_request.pk]), {"reason": "  "}
    )
    assert response.status_code == 200
    assert b"Please say why" in response.content
    pending_request.refresh_from_db()
    assert pending_request.status == RS.PENDING_APPROVAL


def test_rejecting_tells_the_requester_the_reason(
    client, approver, pending_request, django_capture_on_commit_callbacks
):
    client.force_login(approver)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("console:request_reject", args=[pending_request.pk]),
            {"reason": "These runs are under legal hold."},
        )
    assert response.status_code == 302
    pending_request.refresh_from_db()
    assert pending_request.status == RS.REJECTED
    assert pending_request.decision_comment == "These runs are under legal hold."
    sent = [m for m in mail.outbox if "alice@example.com" in m.to]
    assert sent
    assert "These runs are under legal hold." in sent[0].body


def test_acting_on_a_request_in_the_wrong_state_shows_the_domain_error(
    client, approver, pending_request
):
    force_status(pending_request, RS.COMPLETED)
    client.force_login(approver)
    url = reverse("console:request_approve", args=[pending_request.pk])
    assert b"this action is not possible now" in client.get(url).content
    response = client.post(url, {}, follow=True)
    assert b"it cannot be approved now" in response.content


# --- Cancel, pause, resume, retry ----------------------------------------------------------


def test_an_approver_cancels_a_pending_request(client, approver, pending_request):
    client.force_login(approver)
    url = reverse("console:request_cancel", args=[pending_request.pk])
    assert b"none of its 3 parse runs is deleted" in client.get(url).content
    client.post(url)
    pending_request.refresh_from_db()
    assert pending_request.status == RS.CANCELLED


def test_pause_and_resume_a_running_request(client, approver, pending_request):
    force_status(pending_request, RS.RUNNING)
    client.force_login(approver)
    detail = client.get(reverse("console:request_detail", args=[pending_request.pk])).content
    assert reverse("console:request_pause", args=[pending_request.pk]).encode() in detail
    assert reverse("console:request_resume", args=[pending_request.pk]).encode() not in detail
    confirm = client.get(reverse("console:request_pause", args=[pending_request.pk]))
    assert b"3 of 3 items wait" in confirm.content
    client.post(
        reverse("console:request_pause", args=[pending_request.pk]), {"reason": "maintenance"}
    )
    pending_request.refresh_from_db()
    assert pending_request.status == RS.PAUSED
    client.post(reverse("console:request_resume", args=[pending_request.pk]))
    pending_request.refresh_from_db()
    assert pending_request.status == RS.RUNNING


def test_retrying_sends_failed_items_round_again(client, approver, pending_request):
    force_status(pending_request, RS.COMPLETED_WITH_FAILURES, failed_count=1, deleted_count=2)
    failed = pending_request.items.first()
    DeletionItem.objects.filter(pk=failed.pk).update(
        status=DeletionItem.Status.FAILED, last_error="400 bad"
    )
    client.force_login(approver)
    url = reverse("console:request_retry", args=[pending_request.pk])
    assert b"The 1 failed item go back to pending" in client.get(url).content
    client.post(url)
    pending_request.refresh_from_db()
    failed.refresh_from_db()
    assert pending_request.status == RS.RUNNING
    assert failed.status == DeletionItem.Status.PENDING


def test_a_viewer_cannot_act_even_by_posting(client, viewer, pending_request):
    client.force_login(viewer)
    for name in ("approve", "reject", "cancel"):
        assert (
            client.post(
                reverse(f"console:request_{name}", args=[pending_request.pk]), {"reason": "x"}
            ).status_code
            == 403
        )
    pending_request.refresh_from_db()
    assert pending_request.status == RS.PENDING_APPROVAL


# --- Bulk ----------------------------------------------------------------------------------


def test_bulk_approve_confirms_then_reports_each_request(
    client, approver, workspace, customer, member
):
    a = submitted_request(workspace, customer, member, runs=1, prefix="a_")
    b = submitted_request(workspace, customer, member, runs=1, prefix="b_")
    mine = submitted_request(workspace, customer, approver, runs=1, prefix="c_")
    client.force_login(approver)
    url = reverse("console:bulk")
    ids = [a.pk, b.pk, mine.pk]
    confirm = client.post(url, {"action": "approve", "ids": ids})
    assert confirm.status_code == 200
    assert b"2 of 3 requests can be approved" in confirm.content
    assert b"you made this request yourself" in confirm.content
    a.refresh_from_db()
    assert a.status == RS.PENDING_APPROVAL  # nothing happened yet
    done = client.post(url, {"action": "approve", "ids": ids, "confirmed": "yes"})
    assert b"2 of 3 requests approved" in done.content
    assert b"You cannot approve a request you made yourself." in done.content
    statuses = dict(DeletionRequest.objects.filter(pk__in=ids).values_list("pk", "status"))
    assert statuses == {a.pk: RS.APPROVED, b.pk: RS.APPROVED, mine.pk: RS.PENDING_APPROVAL}


def test_bulk_reject_needs_a_reason_and_rejects_each(client, approver, workspace, customer, member):
    a = submitted_request(workspace, customer, member, runs=1, prefix="a_")
    b = submitted_request(workspace, customer, member, runs=1, prefix="b_")
    client.force_login(approver)
    url = reverse("console:bulk")
    response = client.post(url, {"action": "reject", "ids": [a.pk, b.pk], "confirmed": "yes"})
    assert b"Please say why" in response.content
    assert DeletionRequest.objects.filter(status=RS.REJECTED).count() == 0
    response = client.post(
        url, {"action": "reject", "ids": [a.pk, b.pk], "confirmed": "yes", "reason": "duplicate"}
    )
    assert b"2 of 2 requests rejected" in response.content
    assert set(DeletionRequest.objects.values_list("decision_comment", flat=True)) == {"duplicate"}


def test_bulk_without_a_selection_goes_back_to_the_queue(client, approver):
    client.force_login(approver)
    response = client.post(reverse("console:bulk"), {"action": "approve"}, follow=True)
    assert b"Select at least one request." in response.content


def test_bulk_reports_a_request_that_changed_meanwhile(
    client, approver, second_approver, pending_request
):
    client.force_login(approver)
    transitions.approve_request(pending_request, actor=second_approver, source=Source.WEB)
    response = client.post(
        reverse("console:bulk"),
        {"action": "approve", "ids": [pending_request.pk], "confirmed": "yes"},
    )
    assert b"0 of 1 request approved" in response.content
    assert b"it cannot be approved now" in response.content


def test_the_detail_shows_progress_from_the_counters(client, viewer, pending_request):
    DeletionRequest.objects.filter(pk=pending_request.pk).update(
        status=DeletionRequest.Status.RUNNING,
        deleted_count=1,
        already_gone_count=1,
        started_at=timezone.now() - timedelta(seconds=10),
    )
    client.force_login(viewer)
    response = client.get(reverse("console:request_detail", args=[pending_request.pk]))
    progress = response.context["progress"]
    assert (progress.total, progress.percent, progress.pending) == (3, 66, 1)
    assert progress.eta_text.endswith("left")
