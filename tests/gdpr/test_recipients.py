"""Art. 19 recipients: staff keep each customer's list (audited, console and API), mark each
recipient informed of a finished GDPR erasure, the public form's checkbox reaches the request,
and recipients_for_notice lists them for the subject's completion notice."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from deletions.core.errors import RuleViolation
from deletions.gdpr import intake, recipients
from deletions.models import AuditEvent, ErasureIntake, Recipient, RecipientNotice, Source
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import confirm
from tests.helpers import client_for


@pytest.fixture
def billing(customer, staff_admin):
    return recipients.add_recipient(
        customer,
        name="Acme Billing Ltd",
        contact="dpo@billing.example",
        means="e-mail to dpo@billing.example",
        actor=staff_admin,
        source=Source.WEB,
    )


def test_admins_add_and_remove_recipients_on_the_customers_page(
    client_of, staff_admin, approver, customer
):
    page = reverse("console:customer_detail", args=[customer.pk])
    add = reverse("console:customer_recipient_add", args=[customer.pk])
    fields = {"name": "Acme Billing Ltd", "contact": "dpo@billing.example", "means": "e-mail"}
    assert client_of(approver).post(add, fields).status_code == 403
    assert client_of(staff_admin).post(add, fields).status_code == 302
    text = client_of(staff_admin).get(page).content.decode()
    assert "Acme Billing Ltd" in text and "dpo@billing.example" in text
    assert "Extend (the operator&#x27;s processor)" in text  # always there, no row
    recipient = Recipient.objects.get()
    added = AuditEvent.objects.get(action="recipient.added")
    assert (added.actor_id, added.customer_id, added.after) == (
        staff_admin.pk,
        customer.pk,
        {"name": "Acme Billing Ltd", "contact": "dpo@billing.example", "means": "e-mail"},
    )
    again = client_of(staff_admin).post(add, fields, follow=True).content.decode()
    assert "already has a recipient named" in again
    extend = client_of(staff_admin).post(add, {**fields, "name": "Extend Inc"}, follow=True)
    assert "needs no row" in extend.content.decode()
    assert Recipient.objects.count() == 1
    remove = reverse("console:recipient_remove", args=[recipient.pk])
    assert client_of(approver).post(remove).status_code == 403
    assert client_of(staff_admin).post(remove).status_code == 302
    assert not Recipient.objects.exists()
    removed = AuditEvent.objects.get(action="recipient.removed")
    assert removed.before == {
        "name": "Acme Billing Ltd",
        "contact": "dpo@billing.example",
        "means": "e-mail",
    }


def test_recipients_over_the_api(staff_admin, approver, customer):
    admin_api = client_for(staff_admin)
    url = f"/api/v1/customers/{customer.pk}/recipients"
    body = {"name": "Archive GmbH", "contact": "archive@example.de", "means": "contract portal"}
    assert client_for(approver).post(url, body, format="json").status_code == 403
    created = admin_api.post(url, body, format="json")
    assert created.status_code == 201, created.content
    listed = admin_api.get(url).json()
    assert listed["processor"] == recipients.PROCESSOR_NAME
    assert [r["name"] for r in listed["results"]] == ["Archive GmbH"]
    assert AuditEvent.objects.get(action="recipient.added").source == Source.API
    gone = admin_api.post(f"/api/v1/recipients/{created.json()['id']}/remove")
    assert gone.status_code == 200 and gone.json()["results"] == []
    assert AuditEvent.objects.get(action="recipient.removed").source == Source.API


def test_staff_mark_recipients_informed_on_a_finished_erasure(
    client_of, approver, viewer, finished_request, billing
):
    req = finished_request
    page = client_of(approver).get(reverse("console:request_detail", args=[req.pk]))
    text = page.content.decode()
    assert "Recipients informed (GDPR Art. 19)" in text
    assert "Acme Billing Ltd" in text and "Mark informed" in text
    url = reverse("console:request_recipient_informed", args=[req.pk])
    today = timezone.localdate()
    fields = {"recipient": billing.pk, "informed_on": today.isoformat(), "means": "e-mail"}
    assert client_of(viewer).post(url, fields).status_code == 403
    future = {**fields, "informed_on": (today + timedelta(days=1)).isoformat()}
    client_of(approver).post(url, future)
    assert not RecipientNotice.objects.exists()
    assert client_of(approver).post(url, fields).status_code == 302
    notice = RecipientNotice.objects.get()
    assert (notice.request, notice.recipient_name, notice.informed_on, notice.means) == (
        req,
        "Acme Billing Ltd",
        today,
        "e-mail",
    )
    event = AuditEvent.objects.get(action="recipient.informed")
    assert (event.request_id, event.actor_id, event.detail["recipient"]) == (
        req.pk,
        approver.pk,
        billing.pk,
    )
    shown = client_of(approver).get(reverse("console:request_detail", args=[req.pk]))
    assert today.strftime("%-d %b %Y") in shown.content.decode()
    # Over the API, the same rule: approvers only, and a correction is audited with before.
    api = client_for(approver)
    api_url = f"/api/v1/requests/{req.pk}/recipients/informed"
    again = api.post(api_url, {**fields, "means": "registered letter"}, format="json")
    assert again.status_code == 200, again.content
    rows = again.json()["results"]
    assert rows[0]["processor"] is True
    assert rows[1]["informed_means"] == "registered letter"
    assert AuditEvent.objects.filter(action="recipient.informed").order_by("id").last().before == {
        "informed_on": today.isoformat(),
        "means": "e-mail",
    }


def test_recipients_are_informed_only_of_a_finished_gdpr_erasure(
    approver, pending_request, billing
):
    with pytest.raises(RuleViolation, match="not a finished GDPR erasure"):
        recipients.mark_informed(
            pending_request,
            billing,
            informed_on=timezone.localdate(),
            means="e-mail",
            actor=approver,
            source=Source.WEB,
        )


def test_another_customers_recipient_cannot_be_marked(
    approver, finished_request, other_customer, staff_admin
):
    theirs = recipients.add_recipient(
        other_customer,
        name="Globex Payroll",
        contact="x",
        means="y",
        actor=staff_admin,
        source=Source.WEB,
    )
    answer = client_for(approver).post(
        f"/api/v1/requests/{finished_request.pk}/recipients/informed",
        {"recipient": theirs.pk, "informed_on": timezone.localdate().isoformat(), "means": "e"},
        format="json",
    )
    assert answer.status_code == 403
    assert not RecipientNotice.objects.exists()


def test_the_public_forms_checkbox_is_stored_and_reaches_the_request(
    client, customer, subject_runs, approver
):
    url = reverse("public:form", args=[customer.slug])
    form = client.get(url).content.decode()
    assert "Tell me who my data was disclosed to" in form
    client.post(url, {"email": "jane@example.org", "reference": SUBJECT, "wants_recipients": "on"})
    client.post(url, {"email": "joe@example.org", "reference": "OTHER-1"})
    asked, not_asked = ErasureIntake.objects.order_by("id")
    assert (asked.wants_recipients, not_asked.wants_recipients) == (True, False)
    intake.verify_intake(intake.make_token(asked))
    req = intake.freeze_intake(
        confirm(asked), run_ids=[], reason="Art. 17", actor=approver, source=Source.WEB
    )
    req.refresh_from_db()
    assert req.subject_wants_recipients is True


def test_recipients_for_notice_lists_them_when_asked(finished_request, billing, approver):
    req = finished_request
    assert recipients.recipients_for_notice(req) == []  # not asked for
    req.subject_wants_recipients = True
    req.save(update_fields=["subject_wants_recipients"])
    assert recipients.recipients_for_notice(req) == [
        "Extend (the operator's processor): your data was erased there by the portal itself",
        "Acme Billing Ltd",
    ]
    day = timezone.localdate()
    recipients.mark_informed(
        req, billing, informed_on=day, means="e-mail", actor=approver, source=Source.WEB
    )
    billing_line = recipients.recipients_for_notice(req)[1]
    assert billing_line == f"Acme Billing Ltd, informed on {day:%-d %B %Y} by e-mail"
