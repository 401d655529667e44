"""The controller's confirmation of public intakes: the customer's admins are told, see the
person in clear (a recorded read), confirm or refuse with a reason; staff confirm on the
customer's behalf and see the clear values only after stating a purpose; only confirmed intakes
become requests; reads of intakes, certificates and receipts are in the audit trail."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from deletions.core.errors import RuleViolation
from deletions.gdpr import intake
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, Membership, Source
from tests.factories import customer_user
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import confirm, verified_intake
from tests.helpers import client_for

EMAIL = "jane@example.org"


@pytest.fixture
def waiting(customer):
    return verified_intake(customer, email=EMAIL)


@pytest.fixture
def other_admin(other_customer):
    return customer_user(other_customer, role=Membership.Role.ADMIN, username="otto")


def test_verifying_e_mails_the_customers_admins_after_commit(
    customer, customer_admin, member, django_capture_on_commit_callbacks
):
    found = intake.create_intake(customer, email=EMAIL, reference=SUBJECT)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        intake.verify_intake(intake.make_token(found))
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [customer_admin.email]  # admins only, not members
    assert "waits for your confirmation" in message.subject
    assert reverse("customer:intake", args=[found.pk]) in message.body
    # The e-mail names neither the person nor their reference: the signed-in page does.
    assert SUBJECT not in message.body and EMAIL not in message.body


def test_the_customer_admin_sees_a_badge_and_the_task_in_clear(client_of, customer_admin, waiting):
    client = client_of(customer_admin)
    runs_page = client.get(reverse("customer:runs")).content.decode()
    assert 'aria-label="1 awaiting your confirmation">1</span>' in runs_page
    listing = client.get(reverse("customer:intakes")).content.decode()
    assert f"#{waiting.pk}" in listing and SUBJECT not in listing  # masked in the list
    page = client.get(reverse("customer:intake", args=[waiting.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert f'Confirm this person is your data subject: <span id="clear-reference">{SUBJECT}' in text
    assert EMAIL in text
    assert page["Cache-Control"] == "no-store"
    read = AuditEvent.objects.get(action="intake.viewed")
    assert (read.actor_id, read.source, read.detail) == (
        customer_admin.pk,
        Source.WEB,
        {"clear_values": True},
    )


def test_the_customer_admin_confirms_with_a_reason(client_of, customer_admin, waiting):
    client = client_of(customer_admin)
    url = reverse("customer:intake_confirm", args=[waiting.pk])
    blank = client.post(url, {"reason": " "})
    assert blank.status_code == 400
    waiting.refresh_from_db()
    assert waiting.status == ErasureIntake.Status.VERIFIED
    done = client.post(url, {"reason": "Patient record 4711 has this address."})
    assert done.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == ErasureIntake.Status.CONFIRMED
    assert (waiting.decided_by, waiting.decided_on_behalf) == (customer_admin, False)
    assert waiting.subject_ref_encrypted  # kept until staff freeze the scope
    event = AuditEvent.objects.get(action="intake.confirmed")
    assert event.detail == {
        "reason": "Patient record 4711 has this address.",
        "on_behalf_of_customer": False,
    }
    assert client.post(url, {"reason": "again"}).status_code == 400  # decided once
    nav = client.get(reverse("customer:runs")).content.decode()
    assert "awaiting your confirmation" not in nav


def test_the_customer_admin_refuses_and_the_subject_is_told(
    client_of, customer_admin, waiting, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client_of(customer_admin).post(
            reverse("customer:intake_refuse", args=[waiting.pk]),
            {"reason": "No patient with this reference has this address."},
        )
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == ErasureIntake.Status.REFUSED
    assert waiting.closed_at is not None
    assert waiting.email_encrypted == "" and waiting.subject_ref_encrypted == ""
    assert waiting.decision_reason == "No patient with this reference has this address."
    assert len(mail.outbox) == 1
    told = mail.outbox[0]
    assert told.to == [EMAIL]
    assert "could not confirm that the reference you gave belongs to you" in told.body
    assert "No patient" not in told.body  # the customer's reason stays with the customer
    event = AuditEvent.objects.get(action="intake.refused")
    assert event.actor_id == customer_admin.pk
    assert event.detail == {"reason": "No patient with this reference has this address."}
    with pytest.raises(RuleViolation, match="refused by the customer"):
        intake.freeze_intake(
            waiting, run_ids=[], reason="x", actor=customer_admin, source=Source.WEB
        )


def test_members_get_403_and_other_customers_admins_404(client_of, member, other_admin, waiting):
    for name in ("customer:intake", "customer:intake_confirm", "customer:intake_refuse"):
        url = reverse(name, args=[waiting.pk])
        call = client_of(member).get if name == "customer:intake" else client_of(member).post
        assert call(url, {"reason": "x"}).status_code == 403
        other = client_of(other_admin)
        answer = other.get(url) if name == "customer:intake" else other.post(url, {"reason": "x"})
        assert answer.status_code == 404
    assert client_of(member).get(reverse("customer:intakes")).status_code == 403
    listing = client_of(other_admin).get(reverse("customer:intakes")).content.decode()
    assert f"#{waiting.pk}" not in listing
    waiting.refresh_from_db()
    assert waiting.status == ErasureIntake.Status.VERIFIED
    assert not AuditEvent.objects.filter(action="intake.viewed").exists()


def test_freezing_is_refused_until_the_customer_confirms(
    client_of, approver, customer_admin, waiting, subject_runs
):
    with pytest.raises(RuleViolation, match="not confirmed by the customer yet"):
        intake.freeze_intake(waiting, run_ids=[], reason="x", actor=approver, source=Source.WEB)
    page = client_of(approver).post(
        reverse("console:intake_detail", args=[waiting.pk]),
        {"action": "freeze", "reason": "Art. 17"},
    )
    assert "not confirmed by the customer yet" in page.content.decode()
    assert not DeletionRequest.objects.exists()
    confirmed = confirm(waiting, customer_admin)
    req = intake.freeze_intake(
        confirmed, run_ids=[], reason="Art. 17", actor=approver, source=Source.WEB
    )
    assert req.item_count == 3


def test_staff_confirm_on_the_customers_behalf_with_a_reason(client_of, approver, viewer, waiting):
    url = reverse("console:intake_confirm", args=[waiting.pk])
    assert client_of(viewer).post(url, {"reason": "x"}).status_code == 403
    assert client_of(approver).post(url, {"reason": ""}).status_code == 400
    response = client_of(approver).post(url, {"reason": "Acme's DPO confirmed by phone."})
    assert response.status_code == 302
    waiting.refresh_from_db()
    assert waiting.status == ErasureIntake.Status.CONFIRMED
    assert (waiting.decided_by, waiting.decided_on_behalf) == (approver, True)
    event = AuditEvent.objects.get(action="intake.confirmed")
    assert event.detail["on_behalf_of_customer"] is True
    # Refusing is the customer's call: staff dismiss instead.
    second = verified_intake(waiting.customer, reference="OTHER-9", email="o@example.org")
    from deletions.gdpr import controller

    with pytest.raises(RuleViolation, match="staff dismiss"):
        controller.refuse_intake(second, reason="no", actor=approver, source=Source.WEB)


def test_staff_see_clear_values_only_after_stating_a_purpose(client_of, approver, viewer, waiting):
    detail = client_of(approver).get(reverse("console:intake_detail", args=[waiting.pk]))
    text = detail.content.decode()
    assert SUBJECT not in text and EMAIL not in text
    assert "See the clear reference and e-mail address" in text
    masked_read = AuditEvent.objects.get(action="intake.viewed")
    assert masked_read.detail == {"clear_values": False}

    url = reverse("console:intake_reveal", args=[waiting.pk])
    assert client_of(viewer).post(url, {"purpose": "curious"}).status_code == 403
    no_purpose = client_of(approver).post(url, {"purpose": ""})
    assert no_purpose.status_code == 400 and SUBJECT not in no_purpose.content.decode()
    shown = client_of(approver).post(url, {"purpose": "Check against Acme's patient list"})
    assert shown.status_code == 200
    assert SUBJECT in shown.content.decode() and EMAIL in shown.content.decode()
    assert shown["Cache-Control"] == "no-store"
    reads = AuditEvent.objects.filter(action="intake.viewed").order_by("id")
    assert [r.detail for r in reads] == [
        {"clear_values": False},
        {"clear_values": True, "purpose": "Check against Acme's patient list"},
    ]
    assert reads.last().actor_id == approver.pk


def test_certificate_and_receipt_reads_are_audited(client_of, member, approver, finished_request):
    req = finished_request
    client_of(member).get(reverse("customer:receipt", args=[req.pk]))
    b"".join(client_of(member).get(reverse("customer:receipt_csv", args=[req.pk])))
    client_of(member).get(reverse("customer:certificate_json", args=[req.pk]))
    client_of(approver).get(reverse("console:request_certificate_pdf", args=[req.pk]))
    client_for(approver).get(f"/api/v1/requests/{req.pk}/certificate")
    reads = AuditEvent.objects.filter(action__endswith=".viewed", request=req).order_by("id")
    assert [(e.action, e.actor_id, e.source, e.detail.get("format")) for e in reads] == [
        ("receipt.viewed", member.pk, Source.WEB, "html"),
        ("receipt.viewed", member.pk, Source.WEB, "csv"),
        ("certificate.viewed", member.pk, Source.WEB, "json"),
        ("certificate.viewed", approver.pk, Source.WEB, "pdf"),
        ("certificate.viewed", approver.pk, Source.API, "json"),
    ]
    assert all(e.detail.get("version", 1) == 1 for e in reads)


# --- Over the API ---------------------------------------------------------------------------

INTAKES = "/api/v1/gdpr/intakes"


def test_a_customer_admin_lists_and_confirms_over_the_api(customer_admin, waiting, member):
    client = client_for(customer_admin)
    listed = client.get("/api/v1/gdpr/confirmations")
    assert listed.status_code == 200, listed.content
    assert [(r["id"], r["reference"], r["email"]) for r in listed.json()["results"]] == [
        (waiting.pk, SUBJECT, EMAIL)
    ]
    read = AuditEvent.objects.get(action="intake.viewed")
    assert (read.source, read.actor_id) == (Source.API, customer_admin.pk)
    assert client_for(member).get("/api/v1/gdpr/confirmations").status_code == 403
    confirmed = client.post(
        f"{INTAKES}/{waiting.pk}/confirm", {"reason": "Matches record 4711"}, format="json"
    )
    assert confirmed.status_code == 200, confirmed.content
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["decided_on_behalf"] is False


def test_a_customer_admin_refuses_over_the_api(
    customer_admin, waiting, django_capture_on_commit_callbacks
):
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        refused = client_for(customer_admin).post(
            f"{INTAKES}/{waiting.pk}/refuse", {"reason": "Unknown to us"}, format="json"
        )
    assert refused.status_code == 200, refused.content
    assert refused.json()["status"] == "refused"
    assert [m.to for m in mail.outbox] == [[EMAIL]]


def test_the_api_keeps_the_pages_rules(approver, viewer, other_admin, waiting):
    approver_api, other = client_for(approver), client_for(other_admin)
    url = f"{INTAKES}/{waiting.pk}"
    assert other.post(f"{url}/confirm", {"reason": "x"}, format="json").status_code == 404
    assert other.post(f"{url}/refuse", {"reason": "x"}, format="json").status_code == 404
    assert approver_api.post(f"{url}/refuse", {"reason": "x"}, format="json").status_code == 403
    assert client_for(viewer).post(f"{url}/confirm", {"reason": "x"}).status_code == 403
    assert approver_api.post(f"{url}/reveal", {"purpose": ""}, format="json").status_code == 400
    shown = approver_api.post(f"{url}/reveal", {"purpose": "DPO check"}, format="json")
    assert shown.json() == {"id": waiting.pk, "reference": SUBJECT, "email": EMAIL}
    assert AuditEvent.objects.get(action="intake.viewed").detail == {
        "clear_values": True,
        "purpose": "DPO check",
    }
    on_behalf = approver_api.post(f"{url}/confirm", {"reason": "DPO by phone"}, format="json")
    assert on_behalf.status_code == 200, on_behalf.content
    assert on_behalf.json()["decided_on_behalf"] is True
    assert (
        approver_api.post(f"{url}/confirm", {"reason": "again"}, format="json").status_code == 409
    )
