"""E-mails about requests, through mail.outbox: each one after its transition commits."""

from __future__ import annotations

import pytest
from django.core import mail

from deletions import transitions
from deletions.models import DeletionRequest
from tests.customer import drive
from tests.factories import customer_user
from tests.helpers import submitted_request


@pytest.fixture
def committed(django_capture_on_commit_callbacks):
    """``with committed():`` runs the after-commit hooks (where e-mails are sent) at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


@pytest.fixture
def req(workspace, customer, member):
    return submitted_request(workspace, customer, member, runs=3)


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
