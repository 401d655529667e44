"""Pausing a GDPR deadline while waiting on the data subject, under controlled time: the due
date moves by the calendar days paused, pauses accumulate, the rules, the permissions, the
audit trail, the subject's answer link, the digest and the pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from deletions.core.errors import RuleViolation
from deletions.gdpr import deadlines as gdpr
from deletions.gdpr import intake
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, Source
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import confirm
from tests.helpers import finish, submitted_request

LINK = re.compile(r"https?://\S+/erasure/verify/\S+/")


def gdpr_request_received(day: str, workspace, customer, member, **kwargs) -> DeletionRequest:
    with time_machine.travel(f"{day} 10:00Z", tick=False):
        return submitted_request(
            workspace,
            customer,
            member,
            kind=DeletionRequest.Kind.GDPR,
            subject_ref=SUBJECT,
            **kwargs,
        )


@pytest.fixture
def gdpr_request(workspace, customer, member):
    """Received 10 January 2027, due 10 February 2027."""
    return gdpr_request_received("2027-01-10", workspace, customer, member)


def pause(req, actor, day: str, reason: str = "Proof of identity", capture=None, **kwargs):
    """Pause on *day*; with *capture* (django_capture_on_commit_callbacks), the e-mail to the
    data subject is sent on that day too."""
    with time_machine.travel(f"{day} 09:00Z", tick=False):
        if capture is None:
            return gdpr.pause_deadline(req, reason=reason, actor=actor, source=Source.WEB, **kwargs)
        with capture(execute=True):
            return gdpr.pause_deadline(req, reason=reason, actor=actor, source=Source.WEB, **kwargs)


def resume(req, actor, day: str, source=Source.WEB):
    with time_machine.travel(f"{day} 16:00Z", tick=False):
        return gdpr.resume_deadline(req, actor=actor, source=source)


# --- The due date moves by the days paused -----------------------------------------------


def test_pausing_on_20_january_and_resuming_on_3_february_moves_the_due_date_14_days(
    gdpr_request, approver
):
    assert gdpr_request.due_on == date(2027, 2, 10)
    paused = pause(gdpr_request, approver, "2027-01-20")
    assert paused.deadline_paused_at is not None
    assert paused.due_on == date(2027, 2, 10)  # unchanged while paused
    req = resume(gdpr_request, approver, "2027-02-03")
    assert req.due_on == date(2027, 2, 24)
    assert req.effective_due_on == date(2027, 2, 24)
    assert req.deadline_paused_days == 14
    assert req.deadline_paused_at is None


@pytest.mark.parametrize(
    ("day", "due", "moved"),
    [
        ("2028-01-31", date(2028, 2, 29), date(2028, 3, 14)),  # leap year
        ("2027-01-31", date(2027, 2, 28), date(2027, 3, 14)),
    ],
)
def test_a_pause_moves_a_month_end_due_date_across_february(
    workspace, customer, member, approver, day, due, moved
):
    req = gdpr_request_received(day, workspace, customer, member)
    assert req.due_on == due
    year = day[:4]
    pause(req, approver, f"{year}-02-05")
    req = resume(req, approver, f"{year}-02-19")
    assert req.deadline_paused_days == 14
    assert req.due_on == moved


def test_two_pauses_accumulate(gdpr_request, approver):
    pause(gdpr_request, approver, "2027-01-12")
    resume(gdpr_request, approver, "2027-01-15")  # 3 days
    pause(gdpr_request, approver, "2027-01-20", reason="Still missing the account number")
    req = resume(gdpr_request, approver, "2027-01-25")  # 5 days
    assert req.deadline_paused_days == 8
    assert req.due_on == date(2027, 2, 18)


def test_a_pause_resumed_the_same_day_moves_nothing(gdpr_request, approver):
    pause(gdpr_request, approver, "2027-01-20")
    req = resume(gdpr_request, approver, "2027-01-20")
    assert req.due_on == date(2027, 2, 10)
    assert req.deadline_paused_days == 0


def test_an_extended_deadline_moves_too_and_stays_counted_as_extended(gdpr_request, approver):
    with time_machine.travel("2027-01-15 09:00Z", tick=False):
        gdpr.extend_deadline(
            gdpr_request, months=1, reason="Many runs", actor=approver, source=Source.WEB
        )
    pause(gdpr_request, approver, "2027-01-20")
    req = resume(gdpr_request, approver, "2027-02-03")
    assert req.extended_due_on == date(2027, 3, 24)
    assert req.effective_due_on == date(2027, 3, 24)
    assert gdpr.extension_months(req) == 1
    with time_machine.travel("2027-02-05 09:00Z", tick=False):
        req = gdpr.extend_deadline(req, months=1, reason="More", actor=approver, source=Source.WEB)
    assert req.extended_due_on == date(2027, 4, 24)  # 10 April + the 14 days paused


# --- Rules ---------------------------------------------------------------------------------


def test_resuming_a_deadline_that_is_not_paused_is_refused(gdpr_request, approver):
    with pytest.raises(RuleViolation, match="not paused"):
        resume(gdpr_request, approver, "2027-01-20")
    assert not AuditEvent.objects.filter(action="gdpr.deadline_resumed").exists()


def test_pausing_twice_is_refused(gdpr_request, approver):
    pause(gdpr_request, approver, "2027-01-20")
    with pytest.raises(RuleViolation, match="already paused"):
        pause(gdpr_request, approver, "2027-01-21")


def test_a_non_gdpr_request_has_no_deadline_to_pause(workspace, customer, member, approver):
    req = submitted_request(workspace, customer, member)
    with pytest.raises(RuleViolation, match="Only GDPR"):
        pause(req, approver, "2027-01-20")
    req.refresh_from_db()
    assert req.deadline_paused_at is None


def test_a_finished_request_cannot_be_paused(workspace, customer, member, approver):
    req = finish(gdpr_request_received("2027-01-10", workspace, customer, member))
    with pytest.raises(RuleViolation, match="finished"):
        pause(req, approver, "2027-01-20")


def test_a_reason_is_required(gdpr_request, approver):
    with pytest.raises(RuleViolation, match="waiting for"):
        pause(gdpr_request, approver, "2027-01-20", reason="   ")
    gdpr_request.refresh_from_db()
    assert gdpr_request.deadline_paused_at is None


def test_a_viewer_may_not_pause_or_resume(gdpr_request, viewer, approver):
    with pytest.raises(RuleViolation, match="approver or an admin"):
        pause(gdpr_request, viewer, "2027-01-20")
    pause(gdpr_request, approver, "2027-01-20")
    with pytest.raises(RuleViolation, match="approver or an admin"):
        resume(gdpr_request, viewer, "2027-01-22")


def test_an_admin_may_pause_and_resume(gdpr_request, staff_admin):
    pause(gdpr_request, staff_admin, "2027-01-20")
    assert resume(gdpr_request, staff_admin, "2027-01-21").deadline_paused_days == 1


def test_pause_and_resume_are_audited_with_actor_source_and_request(gdpr_request, approver):
    pause(gdpr_request, approver, "2027-01-20", reason="Copy of ID")
    resume(gdpr_request, approver, "2027-02-03")
    paused = AuditEvent.objects.get(action="gdpr.deadline_paused")
    assert paused.actor == approver
    assert paused.source == Source.WEB
    assert paused.request_id == gdpr_request.pk
    assert paused.detail["reason"] == "Copy of ID"
    resumed = AuditEvent.objects.get(action="gdpr.deadline_resumed")
    assert resumed.actor == approver
    assert resumed.request_id == gdpr_request.pk
    assert resumed.before == {"due_on": "2027-02-10"}
    assert resumed.after == {"due_on": "2027-02-24"}
    assert resumed.detail["days_paused"] == 14


def test_days_left_stand_still_while_paused(gdpr_request, approver):
    pause(gdpr_request, approver, "2027-01-20")
    gdpr_request.refresh_from_db()
    # Due 10 February, paused on 20 January: 21 days left, whatever the day it is read.
    assert gdpr.days_left(gdpr_request, date(2027, 3, 1)) == 21
    assert gdpr.is_paused(gdpr_request)


# --- The digest ----------------------------------------------------------------------------


def test_the_overdue_digest_ignores_a_paused_request(
    gdpr_request, approver, workspace, customer, member
):
    other = gdpr_request_received("2027-01-11", workspace, customer, member, prefix="o_")
    pause(gdpr_request, approver, "2027-01-20")
    mail.outbox.clear()
    with time_machine.travel("2027-02-20 07:00Z", tick=False):
        gdpr.send_deadline_digest()
    digest = AuditEvent.objects.get(action="gdpr.digest_sent")
    assert digest.detail["overdue"] == [other.pk]
    assert gdpr_request.pk not in digest.detail["due_soon"]


# --- The subject's answer link ----------------------------------------------------------------


@pytest.fixture
def public_request(customer, subject_runs, approver):
    """A request filed by the data subject on the public form, frozen by staff."""
    with time_machine.travel("2027-01-10 08:00Z", tick=False):
        found = intake.create_intake(customer, email="jane@example.org", reference=SUBJECT)
        intake.verify_intake(intake.make_token(found))
        found = confirm(found)
        req = intake.freeze_intake(
            found, run_ids=[], reason="Art. 17", actor=approver, source=Source.WEB
        )
    mail.outbox.clear()
    return req


def test_the_subject_resumes_the_deadline_through_the_emailed_link(
    client, public_request, approver, django_capture_on_commit_callbacks
):
    pause(
        public_request,
        approver,
        "2027-01-20",
        reason="Your account number",
        ask_subject=True,
        capture=django_capture_on_commit_callbacks,
    )
    message = mail.outbox[-1]
    assert message.to == ["jane@example.org"]
    assert "Your account number" in message.body
    path = LINK.search(str(message.body)).group(0).split("://", 1)[1]
    path = path[path.index("/") :]
    with time_machine.travel("2027-02-03 12:00Z", tick=False):
        page = client.get(path)
        assert page.status_code == 200
        assert "you have answered" in page.content.decode()
        public_request.refresh_from_db()
        assert public_request.deadline_paused_at is not None  # GET changes nothing
        answered = client.post(path)
    assert answered.status_code == 200
    assert "Thank you for answering" in answered.content.decode()
    public_request.refresh_from_db()
    assert public_request.deadline_paused_at is None
    assert public_request.due_on == date(2027, 2, 24)
    event = AuditEvent.objects.get(action="gdpr.deadline_resumed")
    assert event.source == Source.PUBLIC
    assert event.actor is None
    assert event.request_id == public_request.pk
    with time_machine.travel("2027-02-04 12:00Z", tick=False):
        again = client.post(path)
    assert again.status_code == 410  # used


def test_an_answer_link_from_an_earlier_pause_does_not_resume_a_later_one(
    client, public_request, approver, django_capture_on_commit_callbacks
):
    pause(
        public_request,
        approver,
        "2027-01-20",
        ask_subject=True,
        capture=django_capture_on_commit_callbacks,
    )
    old = LINK.search(str(mail.outbox[-1].body)).group(0)
    old = old[old.index("/erasure/") :]
    resume(public_request, approver, "2027-01-22")
    pause(public_request, approver, "2027-01-25")
    with time_machine.travel("2027-01-26 12:00Z", tick=False):
        assert client.post(old).status_code == 410
    public_request.refresh_from_db()
    assert public_request.deadline_paused_at is not None


def test_asking_the_subject_needs_an_address_from_the_public_form(gdpr_request, approver):
    with pytest.raises(RuleViolation, match="public form"):
        pause(gdpr_request, approver, "2027-01-20", ask_subject=True)


def test_a_forged_answer_link_is_refused(client, public_request):
    assert client.post("/erasure/verify/forged:abc:def/").status_code == 400
    assert ErasureIntake.objects.get().status == ErasureIntake.Status.CONVERTED


# --- Console pages -------------------------------------------------------------------------


def test_the_console_pause_page_confirms_then_pauses(client_of, approver, gdpr_request):
    url = reverse("console:request_deadline_pause", args=[gdpr_request.pk])
    with time_machine.travel("2027-01-20 09:00Z", tick=False):
        client = client_of(approver)  # signed in on the day: sessions expire
        page = client.get(url)
        assert "the due date moves by the calendar days it was paused" in page.content.decode()
        gdpr_request.refresh_from_db()
        assert gdpr_request.deadline_paused_at is None
        empty = client.post(url, {"reason": ""})
        assert empty.status_code == 200
        assert "This field is required" in empty.content.decode()
        done = client.post(url, {"reason": "Proof of identity"})
    assert done.status_code == 302
    gdpr_request.refresh_from_db()
    assert gdpr_request.deadline_pause_reason == "Proof of identity"
    detail = client.get(reverse("console:request_detail", args=[gdpr_request.pk])).content.decode()
    assert "Resume deadline" in detail
    assert "gdpr.deadline_paused" in detail  # on the timeline
    queue = client.get(reverse("console:queue") + "?status=any").content.decode()
    assert ">paused</span>" in queue


def test_the_console_resume_page_says_how_far_the_due_date_moves(client_of, approver, gdpr_request):
    pause(gdpr_request, approver, "2027-01-20")
    url = reverse("console:request_deadline_resume", args=[gdpr_request.pk])
    with time_machine.travel("2027-02-03 09:00Z", tick=False):
        client = client_of(approver)
        page = client.get(url).content.decode()
        assert "14 days" in page
        assert "24 Feb 2027" in page
        assert client.post(url).status_code == 302
    gdpr_request.refresh_from_db()
    assert gdpr_request.due_on == date(2027, 2, 24)
    detail = client.get(reverse("console:request_detail", args=[gdpr_request.pk])).content.decode()
    assert "gdpr.deadline_resumed" in detail


def test_resuming_an_unpaused_deadline_in_the_console_is_explained(
    client_of, approver, gdpr_request
):
    client = client_of(approver)
    url = reverse("console:request_deadline_resume", args=[gdpr_request.pk])
    assert "not paused" in client.get(url).content.decode()
    answer = client.post(url)
    assert answer.status_code == 200
    assert "is not paused" in answer.content.decode()


def test_a_viewer_sees_the_pause_button_disabled_and_is_refused(client_of, viewer, gdpr_request):
    client = client_of(viewer)
    detail = client.get(reverse("console:request_detail", args=[gdpr_request.pk])).content.decode()
    assert "Only an approver or an admin can pause" in detail
    url = reverse("console:request_deadline_pause", args=[gdpr_request.pk])
    assert client.post(url, {"reason": "x"}).status_code == 403
    gdpr_request.refresh_from_db()
    assert gdpr_request.deadline_paused_at is None


@pytest.mark.parametrize("name", ["request_deadline_pause", "request_deadline_resume"])
def test_customer_users_get_403_on_the_deadline_urls(client_of, member, gdpr_request, name):
    url = reverse(f"console:{name}", args=[gdpr_request.pk])
    assert client_of(member).get(url).status_code == 403
    assert client_of(member).post(url, {"reason": "x"}).status_code == 403


def test_the_pause_page_of_a_non_gdpr_request_explains_why_not(
    client_of, approver, workspace, customer, member
):
    req = submitted_request(workspace, customer, member)
    page = client_of(approver).get(reverse("console:request_deadline_pause", args=[req.pk]))
    assert "Only GDPR erasure requests" in page.content.decode()


def test_the_customer_sees_a_neutral_notice_and_the_moved_due_date(
    client_of, member, approver, gdpr_request
):
    pause(gdpr_request, approver, "2027-01-20", reason="Internal: check passport scan")
    url = reverse("customer:request", args=[gdpr_request.pk])
    with time_machine.travel("2027-01-25 09:00Z", tick=False):
        page = client_of(member).get(url).content.decode()
    assert "Deadline paused while waiting for the data subject" in page
    assert "passport" not in page  # the staff reason stays in the console
    resume(gdpr_request, approver, "2027-02-03")
    with time_machine.travel("2027-02-04 09:00Z", tick=False):
        page = client_of(member).get(url).content.decode()
    assert "24 Feb 2027" in page
    assert "Moved by 14 days while waiting for the data subject" in page


def test_the_customer_request_list_says_the_deadline_is_paused(
    client_of, member, approver, gdpr_request
):
    pause(gdpr_request, approver, "2027-01-20")
    page = client_of(member).get(reverse("customer:requests")).content.decode()
    assert "paused while waiting for the data subject" in page


def test_a_paused_request_is_neither_overdue_on_the_dashboard_nor_in_the_overdue_queue(
    client_of, viewer, approver, gdpr_request, workspace, customer, member
):
    other = gdpr_request_received("2027-01-11", workspace, customer, member, prefix="o_")
    pause(gdpr_request, approver, "2027-01-20")
    with time_machine.travel("2027-03-01 09:00Z", tick=False):
        client = client_of(viewer)
        dashboard = client.get(reverse("console:dashboard"))
        queue = client.get(reverse("console:queue") + "?status=any&overdue=on")
    assert [r.pk for r in dashboard.context["overdue"]] == [other.pk]
    assert [r.pk for r in queue.context["page"].objects] == [other.pk]
