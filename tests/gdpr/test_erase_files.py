"""GDPR requests always erase their runs' uploaded files (the document is the personal data),
whether frozen from an intake or filed on the subject's behalf, whatever the customer's default;
the console's preview says so before anything is frozen."""

from __future__ import annotations

from django.urls import reverse

from deletions.gdpr import intake
from deletions.models import AuditEvent, DeletionRequest, Source
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import confirmed_intake

FILES_SENTENCE = "a GDPR request always erases them, as the document is the personal data."


def test_an_intake_frozen_into_a_request_erases_the_files(
    client_of, approver, customer, subject_runs
):
    assert not customer.erase_files_default
    found = confirmed_intake(customer)
    url = reverse("console:intake_detail", args=[found.pk])
    preview = client_of(approver).post(url, {"action": "preview", "reason": "Art. 17"})
    assert FILES_SENTENCE in preview.content.decode()
    req = intake.freeze_intake(
        found, run_ids=[], reason="Art. 17", actor=approver, source=Source.WEB
    )
    assert req.erase_files
    event = AuditEvent.objects.get(action="request.submitted", request=req)
    assert event.detail["erase_files"] is True


def test_a_request_filed_on_the_subjects_behalf_erases_the_files(
    client_of, approver, customer, subject_runs
):
    client = client_of(approver)
    data = {
        "customer": customer.pk,
        "reference": SUBJECT,
        "received_on": "2026-11-20",
        "reason": "Letter from the data subject",
    }
    preview = client.post(reverse("console:gdpr_new"), {**data, "action": "preview"})
    assert FILES_SENTENCE in preview.content.decode()
    client.post(reverse("console:gdpr_new"), {**data, "action": "freeze"})
    req = DeletionRequest.objects.get()
    assert (req.kind, req.erase_files) == (DeletionRequest.Kind.GDPR, True)
