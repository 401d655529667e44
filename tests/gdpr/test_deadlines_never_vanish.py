"""Deadlines never vanish: a paused GDPR request stays in the overdue and due-soon lists (with a
"paused" badge) as its clock stood when paused; a pause has a maximum, with a reminder to staff
before it ends and an end by itself; the customer's cooling-off window never delays a GDPR
request past its due date, and the timeline says when it was shortened."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from deletions.core.errors import RuleViolation
from deletions.gdpr import deadlines as gdpr
from deletions.gdpr import pause_watch
from deletions.models import AuditEvent, DeletionRequest, Source
from deletions.requests import transitions
from tests.gdpr.conftest import SUBJECT
from tests.helpers import submitted_request


def received(day: str, workspace, customer, member, **kwargs) -> DeletionRequest:
    with time_machine.travel(f"{day} 10:00Z", tick=False):
        return submitted_request(
            workspace,
            customer,
            member,
            kind=DeletionRequest.Kind.GDPR,
            subject_ref=SUBJECT,
            **kwargs,
        )


def pause(req, actor, day: str, reason: str = "Proof of identity"):
    with time_machine.travel(f"{day} 09:00Z", tick=False):
        return gdpr.pause_deadline(req, reason=reason, actor=actor, source=Source.WEB)


@pytest.fixture
def overdue_then_paused(workspace, customer, member, approver):
    """Received 10 January 2027, due 10 February, paused on 15 February: 5 days overdue."""
    req = received("2027-01-10", workspace, customer, member)
    return pause(req, approver, "2027-02-15")


@pytest.fixture
def due_soon_then_paused(workspace, customer, member, approver):
    """Received 20 January 2027, due 20 February, paused on 15 February: 5 days left."""
    req = received("2027-01-20", workspace, customer, member, prefix="soon_")
    return pause(req, approver, "2027-02-15")


# --- The lists -------------------------------------------------------------------------------


def test_a_request_paused_when_overdue_stays_overdue_on_the_dashboard_with_a_paused_badge(
    client_of, viewer, overdue_then_paused, due_soon_then_paused
):
    with time_machine.travel("2027-02-25 09:00Z", tick=False):
        answer = client_of(viewer).get(reverse("console:dashboard"))
    assert [r.pk for r in answer.context["overdue"]] == [overdue_then_paused.pk]
    assert [r.pk for r in answer.context["due_soon"]] == [due_soon_then_paused.pk]
    page = answer.content.decode()
    assert "overdue 5 d" in page and "5 d left" in page
    assert page.count('title="Deadline paused since 15 Feb 2027') == 2


def test_a_request_paused_when_overdue_stays_in_the_overdue_queue(
    client_of, viewer, overdue_then_paused, due_soon_then_paused
):
    with time_machine.travel("2027-02-25 09:00Z", tick=False):
        answer = client_of(viewer).get(reverse("console:queue") + "?status=any&overdue=on")
    assert [r.pk for r in answer.context["page"].objects] == [overdue_then_paused.pk]
    assert ">paused</span>" in answer.content.decode()


def test_the_digest_lists_paused_requests_and_says_they_are_paused(
    overdue_then_paused, due_soon_then_paused
):
    mail.outbox.clear()
    with time_machine.travel("2027-02-25 07:00Z", tick=False):
        gdpr.send_deadline_digest()
    digest = AuditEvent.objects.get(action="gdpr.digest_sent")
    assert digest.detail["overdue"] == [overdue_then_paused.pk]
    assert digest.detail["due_soon"] == [due_soon_then_paused.pk]
    [message] = mail.outbox
    assert "1 overdue, 1 due within 7 days" in message.subject
    assert "PAUSED since 15 Feb 2027: 5 days overdue when paused" in message.body
    assert "(5 days left; PAUSED since 15 Feb 2027)" in message.body


def test_the_request_page_shows_overdue_and_paused(client_of, viewer, overdue_then_paused):
    with time_machine.travel("2027-02-25 09:00Z", tick=False):
        page = client_of(viewer).get(
            reverse("console:request_detail", args=[overdue_then_paused.pk])
        )
    html = page.content.decode()
    assert (
        '<span class="status status-overdue">overdue</span> '
        '<span class="status status-paused">paused</span>' in html
    )
    assert "the pause ends by itself on 17 Mar 2027 at the latest" in html


# --- The maximum pause -------------------------------------------------------------------------


def test_a_deadline_is_paused_for_at_most_the_maximum_in_all(
    workspace, customer, member, approver, settings
):
    settings.GDPR_MAX_PAUSE_DAYS = 30
    req = received("2027-01-10", workspace, customer, member)
    pause(req, approver, "2027-01-12")
    with time_machine.travel("2027-03-01 09:00Z", tick=False):  # 48 days later
        req = gdpr.resume_deadline(req, actor=approver, source=Source.WEB)
    assert req.deadline_paused_days == 30
    assert req.due_on == date(2027, 2, 10) + timedelta(days=30)
    with pytest.raises(RuleViolation, match=r"already been paused for 30 days, the most allowed"):
        pause(req, approver, "2027-03-02")


def test_the_console_refuses_a_pause_beyond_the_maximum_with_a_clear_message(
    client_of, workspace, customer, member, approver, settings
):
    settings.GDPR_MAX_PAUSE_DAYS = 10
    req = received("2027-01-10", workspace, customer, member)
    pause(req, approver, "2027-01-12")
    with time_machine.travel("2027-01-22 16:00Z", tick=False):
        gdpr.resume_deadline(req, actor=approver, source=Source.WEB)
    url = reverse("console:request_deadline_pause", args=[req.pk])
    client = client_of(approver)
    page = client.get(url).content.decode()
    assert "It has already been paused for 10 days, the most allowed (10 in all)." in page
    answer = client.post(url, {"reason": "More"})
    assert "the most allowed (10 in all)" in answer.content.decode()
    req.refresh_from_db()
    assert req.deadline_paused_at is None


def test_staff_are_reminded_once_before_a_pause_ends(
    workspace, customer, member, approver, staff_admin, settings
):
    settings.GDPR_MAX_PAUSE_DAYS = 30
    settings.GDPR_PAUSE_REMINDER_DAYS = 3
    req = received("2027-01-10", workspace, customer, member)
    pause(req, approver, "2027-01-12")  # ends on 11 February
    mail.outbox.clear()
    assert pause_watch.remind_pauses_ending(date(2027, 2, 7)) == 0  # 4 days before
    assert pause_watch.remind_pauses_ending(date(2027, 2, 8)) == 1
    assert pause_watch.remind_pauses_ending(date(2027, 2, 9)) == 0
    [message] = mail.outbox
    assert staff_admin.email in message.to
    assert f"Request #{req.pk}" in message.subject and "11 Feb 2027" in message.subject
    assert "in 3 days" in message.body
    assert AuditEvent.objects.filter(request=req, action="gdpr.pause_reminder_sent").count() == 1


def test_a_pause_that_reaches_the_maximum_ends_by_itself(
    workspace, customer, member, approver, settings
):
    settings.GDPR_MAX_PAUSE_DAYS = 30
    req = received("2027-01-10", workspace, customer, member)
    pause(req, approver, "2027-01-12")
    assert pause_watch.end_overlong_pauses(date(2027, 2, 10)) == 0
    with time_machine.travel("2027-02-11 05:00Z", tick=False):
        assert pause_watch.end_overlong_pauses() == 1
    req.refresh_from_db()
    assert req.deadline_paused_at is None
    assert req.due_on == date(2027, 3, 12)  # 10 February + 30 days
    event = AuditEvent.objects.get(request=req, action="gdpr.deadline_resumed")
    assert event.source == Source.SYSTEM and event.detail["days_paused"] == 30


# --- Cooling-off -------------------------------------------------------------------------------


def test_cooling_off_is_shortened_so_a_gdpr_request_runs_by_its_due_date(
    workspace, customer, member, approver, client_of, viewer
):
    customer.cooling_off_hours = 72
    customer.save()
    req = received("2027-01-10", workspace, customer, member)  # due 10 February
    with time_machine.travel("2027-02-08 12:00Z", tick=False):
        req = transitions.approve_request(req, actor=approver, source=Source.WEB)
    due_start = datetime(2027, 2, 10, tzinfo=timezone.get_current_timezone())
    assert req.execute_after == due_start
    event = AuditEvent.objects.get(request=req, action="request.cooling_off_shortened")
    assert event.after == {"execute_after": due_start.isoformat()}
    assert "the GDPR due date is 10 February 2027" in event.detail["why"]
    page = client_of(viewer).get(reverse("console:request_detail", args=[req.pk]))
    assert "request.cooling_off_shortened" in page.content.decode()


def test_an_overdue_gdpr_request_runs_at_once_after_approval(workspace, customer, member, approver):
    customer.cooling_off_hours = 24
    customer.save()
    req = received("2027-01-10", workspace, customer, member)
    moment = datetime(2027, 2, 20, 12, tzinfo=timezone.get_current_timezone())
    with time_machine.travel(moment, tick=False):
        req = transitions.approve_request(req, actor=approver, source=Source.WEB)
    assert req.execute_after == moment


def test_cooling_off_is_kept_when_the_due_date_is_far_and_for_standard_requests(
    workspace, customer, member, approver
):
    customer.cooling_off_hours = 72
    customer.save()
    gdpr_req = received("2027-01-10", workspace, customer, member)
    standard = submitted_request(workspace, customer, member, prefix="std_")
    moment = datetime(2027, 1, 12, 12, tzinfo=timezone.get_current_timezone())
    with time_machine.travel(moment, tick=False):
        gdpr_req = transitions.approve_request(gdpr_req, actor=approver, source=Source.WEB)
        standard = transitions.approve_request(standard, actor=approver, source=Source.WEB)
    assert gdpr_req.execute_after == moment + timedelta(hours=72)
    assert standard.execute_after == moment + timedelta(hours=72)
    assert not AuditEvent.objects.filter(action="request.cooling_off_shortened").exists()
