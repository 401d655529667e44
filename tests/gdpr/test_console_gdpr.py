"""Console GDPR pages: the intake list, preview and freeze, dismissal, filing on a data
subject's behalf, and extending a deadline."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from deletions.core.errors import RuleViolation
from deletions.gdpr import intake
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, ParseRun, Source
from deletions.requests import transitions
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import confirmed_intake, verified_intake
from tests.helpers import submitted_request

RS = DeletionRequest.Status


def test_the_intake_list_shows_confirmed_intakes_by_default(client_of, viewer, customer):
    confirmed = confirmed_intake(customer)
    verified = verified_intake(customer, reference="VERI-2", email="v@example.org")
    waiting = intake.create_intake(customer, email="w@example.org", reference="WAIT-1")
    page = client_of(viewer).get(reverse("console:intake_list")).content.decode()
    assert f"#{confirmed.pk}" in page
    assert f"#{verified.pk}" not in page and f"#{waiting.pk}" not in page
    assert "••••7731" in page and SUBJECT not in page
    at_customer = client_of(viewer).get(reverse("console:intake_list") + "?show=verified")
    assert f"#{verified.pk}" in at_customer.content.decode()
    awaiting = client_of(viewer).get(reverse("console:intake_list") + "?show=awaiting")
    assert f"#{waiting.pk}" in awaiting.content.decode()


def test_the_empty_intake_list_explains_itself(client_of, viewer):
    page = client_of(viewer).get(reverse("console:intake_list")).content.decode()
    assert "No confirmed intake is waiting" in page


def test_the_preview_counts_the_subjects_runs_without_freezing(
    client_of, approver, customer, subject_runs
):
    found = confirmed_intake(customer)
    url = reverse("console:intake_detail", args=[found.pk])
    response = client_of(approver).post(url, {"action": "preview", "reason": "Art. 17"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "3 parse runs" in page
    for run_id in subject_runs:
        assert run_id in page
    assert "Freeze 3 runs into a GDPR request" in page
    assert not DeletionRequest.objects.exists()


def test_freezing_creates_a_gdpr_request_the_freezer_cannot_approve(
    client_of, approver, second_approver, customer, subject_runs
):
    with time_machine.travel("2028-01-31 10:00Z"):
        found = confirmed_intake(customer)
    url = reverse("console:intake_detail", args=[found.pk])
    response = client_of(approver).post(url, {"action": "freeze", "reason": "Art. 17"})
    req = DeletionRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:request_detail", args=[req.pk])
    assert req.kind == DeletionRequest.Kind.GDPR
    assert req.scope == DeletionRequest.Scope.FILTER
    assert req.scope_filter == {"metadata_key": "subject_ref"}
    assert req.item_count == 3
    assert req.received_on == date(2028, 1, 31)
    assert req.due_on == date(2028, 2, 29)
    assert req.subject_ref_hash == intake.subject_hash(SUBJECT)
    assert req.requested_by == approver
    found.refresh_from_db()
    assert found.status == ErasureIntake.Status.CONVERTED
    assert found.request == req
    assert found.subject_ref_encrypted == ""
    with pytest.raises(RuleViolation):
        transitions.approve_request(req, actor=approver, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL
    transitions.approve_request(req, actor=second_approver, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.APPROVED


def test_freezing_an_explicit_list(client_of, approver, customer, subject_runs):
    found = confirmed_intake(customer)
    client_of(approver).post(
        reverse("console:intake_detail", args=[found.pk]),
        {"action": "freeze", "reason": "Art. 17", "run_ids": subject_runs[0]},
    )
    req = DeletionRequest.objects.get()
    assert req.scope == DeletionRequest.Scope.EXPLICIT
    assert req.item_count == 1


def test_a_reference_matching_nothing_is_explained(client_of, approver, customer, subject_runs):
    found = confirmed_intake(customer, reference="NOBODY-1")
    page = client_of(approver).post(
        reverse("console:intake_detail", args=[found.pk]), {"action": "freeze", "reason": "x"}
    )
    assert "Nothing to delete" in page.content.decode()
    assert not DeletionRequest.objects.exists()
    found.refresh_from_db()
    assert found.status == ErasureIntake.Status.CONFIRMED


def test_a_viewer_cannot_freeze(client_of, viewer, customer, subject_runs):
    found = confirmed_intake(customer)
    response = client_of(viewer).post(
        reverse("console:intake_detail", args=[found.pk]), {"action": "freeze", "reason": "x"}
    )
    assert response.status_code == 302
    assert not DeletionRequest.objects.exists()


def test_dismissing_erases_the_clear_values(client_of, approver, customer):
    found = verified_intake(customer)
    client_of(approver).post(
        reverse("console:intake_dismiss", args=[found.pk]), {"note": "not our customer"}
    )
    found.refresh_from_db()
    assert found.status == ErasureIntake.Status.DISMISSED
    assert found.email_encrypted == "" and found.subject_ref_encrypted == ""
    assert AuditEvent.objects.filter(action="intake.dismissed").exists()


def test_staff_file_a_request_on_a_subjects_behalf(client_of, approver, customer, subject_runs):
    client = client_of(approver)
    url = reverse("console:gdpr_new")
    assert client.get(url).status_code == 200
    data = {
        "customer": customer.pk,
        "reference": SUBJECT,
        "received_on": "2026-11-20",
        "reason": "Letter from the data subject",
    }
    ParseRun.objects.filter(run_id=subject_runs[0]).update(file_id="file_of_subject_1")
    preview = client.post(url, {**data, "action": "preview"}).content.decode()
    assert "3 parse runs" in preview
    assert "<code>file_of_subject_1</code>" in preview
    response = client.post(url, {**data, "action": "freeze"})
    req = DeletionRequest.objects.get()
    assert response.status_code == 302
    assert req.received_on == date(2026, 11, 20)
    assert req.due_on == date(2026, 12, 20)
    assert req.subject_ref_hint == "••••7731"


def test_a_future_date_received_is_refused(client_of, approver, customer, subject_runs):
    page = client_of(approver).post(
        reverse("console:gdpr_new"),
        {
            "customer": customer.pk,
            "reference": SUBJECT,
            "received_on": "2999-01-01",
            "reason": "x",
            "action": "freeze",
        },
    )
    assert "cannot be in the future" in page.content.decode()
    assert not DeletionRequest.objects.exists()


def test_the_extend_page_extends_and_notifies(
    client_of, approver, workspace, customer, member, django_capture_on_commit_callbacks
):
    with time_machine.travel("2028-01-10 10:00Z", tick=False):
        req = submitted_request(
            workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref=SUBJECT
        )
        client = client_of(approver)
        url = reverse("console:request_extend", args=[req.pk])
        page = client.get(url).content.decode()
        assert "10 Apr 2028" in page  # two months more
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(url, {"months": "2", "reason": "Many systems to search"})
    assert response.status_code == 302
    req.refresh_from_db()
    assert req.extended_due_on == date(2028, 4, 10)
    assert len(mail.outbox) == 1
    assert "Many systems to search" in mail.outbox[0].body


def test_the_extend_page_refuses_after_the_first_month(
    client_of, approver, workspace, customer, member
):
    with time_machine.travel("2028-01-10 10:00Z", tick=False):
        req = submitted_request(
            workspace, customer, member, kind=DeletionRequest.Kind.GDPR, subject_ref=SUBJECT
        )
    with time_machine.travel("2028-02-11 10:00Z", tick=False):
        client = client_of(approver)
        url = reverse("console:request_extend", args=[req.pk])
        assert "cannot be extended" in client.get(url).content.decode()
        page = client.post(url, {"months": "1", "reason": "late"}).content.decode()
    assert "it has passed" in page
    req.refresh_from_db()
    assert req.extended_due_on is None


def test_the_navigation_counts_confirmed_intakes(client_of, viewer, customer):
    url = reverse("console:dashboard")
    assert "confirmed to handle" not in client_of(viewer).get(url).content.decode()
    confirmed_intake(customer)
    confirmed_intake(customer, reference="OTHER-2", email="o@example.org")
    verified_intake(customer, reference="OTHER-3", email="p@example.org")
    page = client_of(viewer).get(url).content.decode()
    assert 'aria-label="2 confirmed to handle">2</span>' in page
