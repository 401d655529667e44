"""E-mails about requests, through mail.outbox: each one after its transition commits."""

from __future__ import annotations

import pytest
from django.core import mail
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest
from deletions.requests import transitions
from tests import drive
from tests.factories import customer_user
from tests.helpers import submitted_request


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs the after-commit hooks (where e-mails are sent) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def _only_message():
    assert len(mail.outbox) == 1, [m.subject for m in mail.outbox]
    message = mail.outbox[0]
    assert message.alternatives, "every e-mail has an HTML part"
    return message


def test_approval_emails_the_requester_and_customer_admins(
    req, member, customer_admin, approver, customer, committed
):
    customer_user(customer, username="bystander")  # a plain member who did not ask
    with committed():
        drive.approve(req, approver)
    message = _only_message()
    assert sorted(message.to) == sorted([member.email, customer_admin.email])
    assert f"#{req.pk} approved" in message.subject
    assert f"/requests/{req.pk}/" in message.body


def test_a_partial_approval_sends_nothing(workspace, customer, member, approver, committed):
    req = submitted_request(workspace, customer, member, runs=1)
    DeletionRequest.objects.filter(pk=req.pk).update(required_approvals=2)
    with committed():
        drive.approve(req, approver)
    assert mail.outbox == []


def test_rejection_emails_the_reason(req, member, approver, committed):
    with committed():
        transitions.reject_request(req, actor=approver, source="web", reason="Wrong customer id")
    message = _only_message()
    assert "rejected" in message.subject
    assert "Wrong customer id" in message.body
    assert "Wrong customer id" in message.alternatives[0][0]


def test_completion_emails_the_receipt_link(req, approver, committed):
    drive.approve(req, approver)
    with committed():
        drive.start(req)
        drive.complete(req, 3)
    assert mail.outbox == []  # starting and item outcomes are not news
    with committed():
        drive.finish(req)
    message = _only_message()
    assert "completed" in message.subject
    assert f"/requests/{req.pk}/receipt/" in message.body


def test_completion_with_failures_says_how_many_failed(req, approver, committed):
    drive.approve(req, approver)
    drive.start(req)
    drive.complete(req, 1, "failed")
    drive.complete(req, 2)
    with committed():
        drive.finish(req)
    message = _only_message()
    assert "1 parse run could not be deleted" in message.subject
    assert "items/?status=failed" in message.body


def test_cancellation_sends_nothing(req, member, committed):
    with committed():
        transitions.cancel_request(req, actor=member, source="web")
    assert mail.outbox == []


def test_deactivated_admins_and_users_without_address_get_nothing(
    req, member, customer_admin, approver, committed
):
    customer_admin.is_active = False
    customer_admin.save()
    with committed():
        drive.approve(req, approver)
    assert _only_message().to == [member.email]


def test_a_failing_mail_server_does_not_break_the_transition(req, approver, settings, committed):
    settings.EMAIL_BACKEND = "tests.customer.test_notifications.BrokenBackend"
    with committed():
        drive.approve(req, approver)
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.APPROVED


class BrokenBackend:
    def __init__(self, *args, **kwargs):
        pass

    def send_messages(self, messages):
        raise ConnectionRefusedError("SMTP server down")


# --- What the e-mails say -------------------------------------------------------------------


def _work_through(req, approver, *, deleted=0, answer_lost=0, gone=0, failed=0, held=0):
    """Run *req* up to its finish with these outcomes (holds set up directly, as the engine
    would). Outside ``committed()``, so that only the finish's e-mail is sent."""
    drive.approve(req, approver)
    drive.start(req)
    for item in DeletionItem.objects.filter(request=req, status="pending").order_by("-id")[:held]:
        DeletionItem.objects.filter(pk=item.pk).update(status="held", next_attempt_at=None)
    DeletionRequest.objects.filter(pk=req.pk).update(held_count=held)
    drive.complete(req, deleted)
    drive.complete(req, answer_lost, answer_lost=True)
    drive.complete(req, gone, "already_gone")
    drive.complete(req, failed, "failed")


def test_the_completion_email_says_how_many_were_deleted_and_how_many_are_retained(
    workspace, customer, member, approver, committed
):
    req = submitted_request(workspace, customer, member, runs=106)
    DeletionRequest.objects.filter(pk=req.pk).update(required_approvals=1)
    _work_through(req, approver, deleted=104, held=2)
    with committed():
        drive.finish(req)
    message = _only_message()
    for part in (message.body, message.alternatives[0][0]):
        assert "104 deleted" in part
        assert "2 retained for legal reasons; they will be deleted when the hold ends" in part
        assert "104 of the 106 parse runs" in part
        assert "all 106 parse runs" not in part
        assert "already gone" not in part  # only the outcomes that happened
    assert message.subject == (
        f"Deletion request #{req.pk} completed: 104 of 106 parse runs gone, "
        "2 retained for legal reasons"
    )


def test_the_completion_email_names_deletions_whose_answer_was_lost_and_runs_already_gone(
    workspace, customer, member, approver, committed
):
    req = submitted_request(workspace, customer, member, runs=6)
    _work_through(req, approver, deleted=3, answer_lost=2, gone=1)
    with committed():
        drive.finish(req)
    message = _only_message()
    assert "all 6 parse runs of" in message.body
    assert "- 3 deleted\n" in message.body
    assert (
        "- 2 deleted (the answer to our request was lost; Extend confirms they are gone)"
        in message.body
    )
    assert "- 1 already gone at Extend" in message.body
    assert "<li>1 already gone at Extend</li>" in message.alternatives[0][0]


def test_the_completion_email_with_failures_never_says_all_are_gone(
    workspace, customer, member, approver, committed
):
    req = submitted_request(workspace, customer, member, runs=5)
    _work_through(req, approver, deleted=2, gone=1, failed=1, held=1)
    with committed():
        drive.finish(req)
    message = _only_message()
    assert "1 parse run could not be deleted" in message.subject
    for part in (message.body, message.alternatives[0][0]):
        assert "all 5" not in part
        assert "2 deleted" in part
        assert "1 already gone at Extend" in part
        assert "1 failed" in part
        assert "1 retained for legal reasons; it will be deleted when the hold ends" in part


def test_the_approval_email_names_the_cooling_off_window_and_how_to_cancel(
    req, customer, approver, committed
):
    customer.cooling_off_hours = 24
    customer.save()
    with committed():
        drive.approve(req, approver)
    req.refresh_from_db()
    message = _only_message()
    at = timezone.localtime(req.execute_after).strftime("%-d %b %Y, %H:%M")
    assert f"after {at} UTC" in message.subject
    for part in (message.body, message.alternatives[0][0]):
        assert "24-hour cooling-off window" in part
        assert "nothing is deleted before" in part
        assert f"{at} (UTC)" in part
        assert f"/requests/{req.pk}/cancel/" in part
        assert "starts shortly" not in part


def test_the_approval_email_without_a_cooling_off_window_says_it_starts_shortly(
    req, approver, committed
):
    with committed():
        drive.approve(req, approver)
    message = _only_message()
    assert "The deletion starts shortly" in message.body
    assert "cooling-off" not in message.body
    assert "cooling-off" not in message.alternatives[0][0]
