"""GDPR deadlines under controlled time: the due date, extensions, and the staff digest."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from deletions.core.errors import RuleViolation
from deletions.gdpr import deadlines as gdpr
from deletions.models import AuditEvent, DeletionRequest, Source
from tests.gdpr.conftest import SUBJECT
from tests.helpers import submitted_request

RS = DeletionRequest.Status


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (date(2028, 1, 31), date(2028, 2, 29)),  # leap year
        (date(2027, 1, 31), date(2027, 2, 28)),  # other years
        (date(2100, 1, 31), date(2100, 2, 28)),  # not a leap year (century)
        (date(2027, 1, 15), date(2027, 2, 15)),
        (date(2027, 12, 31), date(2028, 1, 31)),
        (date(2027, 3, 31), date(2027, 4, 30)),
    ],
)
def test_the_due_date_is_one_calendar_month_after_receipt(received, due):
    assert gdpr.due_date(received) == due


@pytest.fixture
def gdpr_request(workspace, customer, member):
    with time_machine.travel("2028-01-31 10:00Z", tick=False):
        return submitted_request(
            workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref=SUBJECT
        )


def test_a_gdpr_request_gets_received_and_due_dates(gdpr_request):
    assert gdpr_request.received_on == date(2028, 1, 31)
    assert gdpr_request.due_on == date(2028, 2, 29)
    assert gdpr_request.effective_due_on == date(2028, 2, 29)
    assert gdpr_request.subject_ref_hint == "••••7731"
    assert SUBJECT not in gdpr_request.subject_ref_hash


def test_staff_can_extend_before_the_due_date_and_the_subject_is_told(
    gdpr_request, approver, member, django_capture_on_commit_callbacks
):
    with time_machine.travel("2028-02-10 09:00Z"), django_capture_on_commit_callbacks(execute=True):
        req = gdpr.extend_deadline(
            gdpr_request, months=2, reason="Thousands of runs", actor=approver, source=Source.WEB
        )
    assert req.extended_due_on == date(2028, 4, 30)
    assert req.effective_due_on == date(2028, 4, 30)
    assert req.extension_reason == "Thousands of runs"
    assert req.extended_at is not None
    event = AuditEvent.objects.get(action="request.deadline_extended")
    assert event.after == {"due_on": "2028-04-30"}
    assert event.actor_label == approver.username
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert "30 April 2028" in mail.outbox[0].body
    assert "Thousands of runs" in mail.outbox[0].body


def test_an_extension_on_the_due_date_itself_is_allowed(gdpr_request, approver):
    with time_machine.travel("2028-02-29 23:00Z"):
        req = gdpr.extend_deadline(
            gdpr_request, months=1, reason="complex", actor=approver, source=Source.WEB
        )
    assert req.extended_due_on == date(2028, 3, 31)


def test_an_extension_after_the_due_date_is_refused(gdpr_request, approver):
    with time_machine.travel("2028-03-01 08:00Z"), pytest.raises(RuleViolation, match="passed"):
        gdpr.extend_deadline(
            gdpr_request, months=1, reason="late", actor=approver, source=Source.WEB
        )
    gdpr_request.refresh_from_db()
    assert gdpr_request.extended_due_on is None
    assert not AuditEvent.objects.filter(action="request.deadline_extended").exists()


def test_more_than_three_months_in_total_is_refused(
    gdpr_request, approver, workspace, customer, member
):
    with time_machine.travel("2028-02-01 08:00Z"):
        gdpr.extend_deadline(
            gdpr_request, months=1, reason="first", actor=approver, source=Source.WEB
        )
        gdpr.extend_deadline(
            gdpr_request, months=1, reason="second", actor=approver, source=Source.WEB
        )
        with pytest.raises(RuleViolation, match="at most two further months"):
            gdpr.extend_deadline(
                gdpr_request, months=1, reason="third", actor=approver, source=Source.WEB
            )
        with pytest.raises(RuleViolation, match="at most two further months"):
            gdpr.extend_deadline(
                submitted_request(
                    workspace,
                    customer,
                    member,
                    prefix="other_",
                    kind=DeletionRequest.Kind.GDPR,
                    subject_ref="x-1",
                ),
                months=3,
                reason="too much",
                actor=approver,
                source=Source.WEB,
            )
    gdpr_request.refresh_from_db()
    assert gdpr_request.extended_due_on == date(2028, 4, 30)


def test_standard_and_finished_requests_have_no_deadline_to_extend(
    workspace, customer, member, approver
):
    standard = submitted_request(workspace, customer, member)
    with pytest.raises(RuleViolation, match="Only GDPR"):
        gdpr.extend_deadline(standard, months=1, reason="x", actor=approver, source=Source.WEB)


def test_the_extension_needs_a_reason(gdpr_request, approver):
    with time_machine.travel("2028-02-01 08:00Z"), pytest.raises(RuleViolation, match="reason"):
        gdpr.extend_deadline(gdpr_request, months=1, reason=" ", actor=approver, source=Source.WEB)


def test_the_digest_lists_overdue_and_due_soon_requests_once_a_day(
    workspace, customer, member, approver, settings
):
    settings.STAFF_ALERT_EMAILS = ["dpo@operator.example"]
    with time_machine.travel("2028-01-01 10:00Z", tick=False):
        old = submitted_request(
            workspace,
            customer,
            member,
            prefix="old_",
            kind=DeletionRequest.Kind.GDPR,
            subject_ref="s-1",
        )
    with time_machine.travel("2028-01-28 10:00Z", tick=False):
        soon = submitted_request(
            workspace,
            customer,
            member,
            prefix="soon_",
            kind=DeletionRequest.Kind.GDPR,
            subject_ref="s-2",
        )
    with time_machine.travel("2028-02-20 10:00Z", tick=False):
        later = submitted_request(
            workspace,
            customer,
            member,
            prefix="later_",
            kind=DeletionRequest.Kind.GDPR,
            subject_ref="s-3",
        )
    with time_machine.travel("2028-02-21 07:00Z", tick=False):
        assert gdpr.send_deadline_digest() == 1
        assert gdpr.send_deadline_digest() == 0  # the same day: nothing more
    assert len(mail.outbox) == 1
    body = mail.outbox[0].body
    assert f"#{old.pk}" in body and f"#{soon.pk}" in body
    assert f"#{later.pk}" not in body
    assert "1 overdue, 1 due within 7 days" in mail.outbox[0].subject
    assert set(mail.outbox[0].to) == {"dpo@operator.example", approver.email}
    event = AuditEvent.objects.get(action="gdpr.digest_sent")
    assert event.detail == {"overdue": [old.pk], "due_soon": [soon.pk], "intakes": []}
    with time_machine.travel("2028-02-22 07:00Z", tick=False):
        assert gdpr.send_deadline_digest() == 1  # the next day: again
    assert AuditEvent.objects.filter(action="gdpr.digest_sent").count() == 2


def test_the_digest_ignores_finished_and_extended_requests(
    workspace, customer, member, approver, settings
):
    settings.STAFF_ALERT_EMAILS = ["dpo@operator.example"]
    with time_machine.travel("2028-01-01 10:00Z", tick=False):
        req = submitted_request(
            workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref="s-1"
        )
        gdpr.extend_deadline(req, months=2, reason="big", actor=approver, source=Source.WEB)
    with time_machine.travel("2028-02-05 10:00Z", tick=False):
        assert gdpr.send_deadline_digest() == 0
    assert not AuditEvent.objects.filter(action="gdpr.digest_sent").exists()


def test_the_daily_task_sends_the_digest_once(workspace, customer, member, settings):
    from deletions.tasks.gdpr import gdpr_daily_task

    settings.STAFF_ALERT_EMAILS = ["dpo@operator.example"]
    with time_machine.travel("2028-01-01 10:00Z", tick=False):
        submitted_request(
            workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref="s-1"
        )
    with time_machine.travel("2028-03-01 06:00Z", tick=False):
        gdpr_daily_task()
    with time_machine.travel("2028-03-01 18:00Z", tick=False):
        gdpr_daily_task()
    assert len(mail.outbox) == 1


def test_the_queue_badge_counts_days_to_the_extended_date(gdpr_request, approver, client_of):
    with time_machine.travel("2028-02-20 10:00Z", tick=False):
        gdpr.extend_deadline(
            gdpr_request, months=1, reason="big", actor=approver, source=Source.WEB
        )
        page = client_of(approver).get(reverse("console:queue")).content.decode()
        detail = (
            client_of(approver)
            .get(reverse("console:request_detail", args=[gdpr_request.pk]))
            .content.decode()
        )
    assert "40 d left" in page  # 31 March, not 29 February (9 days)
    assert "9 d left" not in page
    assert "31 Mar 2028" in detail and "big" in detail


def test_the_customer_sees_the_deadline_in_their_list_and_on_the_request(
    workspace, customer, member, client_of
):
    with time_machine.travel("2028-01-10 10:00Z", tick=False):
        req = submitted_request(
            workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref=SUBJECT
        )
    with time_machine.travel("2028-01-20 10:00Z", tick=False):
        client = client_of(member)
        listing = client.get(reverse("customer:requests")).content.decode()
        detail = client.get(reverse("customer:request", args=[req.pk])).content.decode()
    assert "due 10 Feb 2028" in listing and "left)" in listing
    assert "21 days left" in detail
    with time_machine.travel("2028-02-12 10:00Z", tick=False):
        client = client_of(member)
        listing = client.get(reverse("customer:requests")).content.decode()
        detail = client.get(reverse("customer:request", args=[req.pk])).content.decode()
    assert "(overdue)" in listing
    assert "overdue" in detail


def test_the_digest_includes_verified_intakes_whose_month_is_running_out(customer, settings):
    from deletions.gdpr import intake

    settings.STAFF_ALERT_EMAILS = ["dpo@operator.example"]
    with time_machine.travel("2028-01-10 10:00Z", tick=False):
        waiting = intake.create_intake(customer, email="a@example.org", reference="R-1")
        intake.verify_intake(intake.make_token(waiting))
        recent = intake.create_intake(customer, email="b@example.org", reference="R-2")
    with time_machine.travel("2028-02-05 10:00Z", tick=False):
        recent.received_on = date(2028, 2, 1)
        recent.save()
        intake.verify_intake(intake.make_token(recent))
        mail.outbox.clear()
        assert gdpr.send_deadline_digest() == 1
    message = mail.outbox[0]
    assert f"intake #{waiting.pk}" in message.body
    assert f"intake #{recent.pk}" not in message.body
    assert "1 intake waiting" in message.subject
    assert "10 Feb 2028 (5 days left)" in message.body
