"""The data subject is told: completion (with the certificate and where to verify it),
rejection (the ground, the explanation, where to complain), cancellation (by role, and why), no
data found, extension and pause; after commit only, recorded on the request's timeline, and the
console claims a notice only when one was sent. Requests with no address from the public form
(standard ones, or GDPR ones filed on the subject's behalf) send nothing to anyone but the
customer."""

from __future__ import annotations

import json

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.test import override_settings
from django.urls import reverse

from deletions.core.errors import RuleViolation
from deletions.gdpr import certificate_checks, certificates, intake, subject_notices
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, Recipient, Source
from deletions.requests import transitions
from deletions.tasks.gdpr_notices import notify_subject_completed_task
from tests.file_outcomes import erased, finished_with_files, shared
from tests.gdpr.conftest import SUBJECT
from tests.gdpr.intakes import confirm
from tests.helpers import finish, submitted_request

SUBJECT_ADDRESS = "jane@example.org"

# Pages answer after their transaction committed, and notices are sent on commit: these tests
# commit for real, as the portal does, so that what a page claims is checked against what left.
COMMITS = pytest.mark.django_db(transaction=True)
RS = DeletionRequest.Status


@pytest.fixture
def public_request(customer, subject_runs, approver):
    """A request filed by the data subject on the public form, frozen by staff."""
    with time_machine.travel("2027-01-10 08:00Z", tick=False):
        found = intake.create_intake(customer, email=SUBJECT_ADDRESS, reference=SUBJECT)
        intake.verify_intake(intake.make_token(found))
        found.refresh_from_db()
        found = confirm(found)  # the customer (the controller) confirms the person
        req = intake.freeze_intake(
            found, run_ids=[], reason="Art. 17", actor=approver, source=Source.WEB
        )
    mail.outbox.clear()
    return req


@pytest.fixture
def on_behalf_request(workspace, customer, member):
    """A GDPR request a customer user filed for the data subject: no address to write to."""
    return submitted_request(
        workspace, customer, member, prefix="ob_", kind=DeletionRequest.Kind.GDPR, subject_ref="X1"
    )


def to_subject() -> list[mail.EmailMessage]:
    return [m for m in mail.outbox if m.to == [SUBJECT_ADDRESS]]


def notices(req) -> list[str]:
    return list(
        AuditEvent.objects.filter(request=req, action="subject.notified")
        .order_by("id")
        .values_list("detail__notice", flat=True)
    )


def address_kept(req) -> bool:
    return bool(ErasureIntake.objects.get(request=req).email_encrypted)


# --- Completion -------------------------------------------------------------------------------


def test_the_subject_is_told_what_was_erased_with_the_certificate_and_its_verify_link(
    public_request, client_of, viewer
):
    req = finish(public_request)
    notify_subject_completed_task.apply(args=(req.pk,))
    [message] = to_subject()
    assert message.subject == f"Your erasure request to {req.customer.name} is done"
    assert "3 documents erased" in message.body
    assert certificates.verify_page_url() in message.body
    assert certificates.verify_page_url() in message.alternatives[0][0]
    [(name, content, mimetype)] = message.attachments
    assert (name, mimetype) == (f"certificate-of-erasure-{req.pk}.json", "application/json")
    check = certificate_checks.verify(content)
    assert check.valid and check.request_number == req.pk
    assert json.loads(content)["request"]["id"] == req.pk
    # Recorded on the timeline, and the address is gone with the final notice.
    assert notices(req) == ["completed"]
    assert not address_kept(req)
    page = client_of(viewer).get(reverse("console:request_detail", args=[req.pk]))
    assert "subject.notified" in page.content.decode()
    assert "notice: completed" in page.content.decode()


def test_the_completion_notice_is_sent_once(public_request):
    req = finish(public_request)
    notify_subject_completed_task.apply(args=(req.pk,))
    notify_subject_completed_task.apply(args=(req.pk,))
    assert subject_notices.send_pending_final_notices() == 0
    assert len(to_subject()) == 1


def test_finishing_a_gdpr_request_asks_for_the_completion_notice(
    public_request, monkeypatch, django_capture_on_commit_callbacks
):
    asked: list[int] = []
    monkeypatch.setattr(notify_subject_completed_task, "delay", asked.append)
    req = DeletionRequest.objects.get(pk=public_request.pk)
    DeletionRequest.objects.filter(pk=req.pk).update(status=RS.RUNNING, item_count=0)
    req.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        transitions.finish_request(req, actor=None, source=Source.WORKER)
    assert asked == [req.pk]


def test_a_completion_with_failures_says_what_could_not_be_erased(public_request):
    req = finish(public_request, failed=1)
    notify_subject_completed_task.apply(args=(req.pk,))
    [message] = to_subject()
    assert "2 documents erased" in message.body
    assert "1 document could not be erased yet" in message.body


# --- Rejection --------------------------------------------------------------------------------


def reject(req, actor, capture, ground="legal_claims", reason="Pending litigation, case 42."):
    with capture(execute=True):
        return transitions.reject_request(
            req, actor=actor, source=Source.WEB, reason=reason, ground=ground
        )


def test_a_refused_subject_is_told_the_ground_the_explanation_and_where_to_complain(
    public_request, second_approver, django_capture_on_commit_callbacks
):
    reject(public_request, second_approver, django_capture_on_commit_callbacks)
    [message] = to_subject()
    assert "refused" in message.subject
    assert "Art. 17(3)(e): the establishment, exercise or defence of legal claims" in message.body
    assert "Pending litigation, case 42." in message.body
    assert "supervisory authority of the country where you live" in message.body
    assert second_approver.username not in message.body
    assert notices(public_request) == ["rejected"]
    assert not address_kept(public_request)


@override_settings(
    GDPR_SUPERVISORY_AUTHORITY_NAME="the Information Commissioner's Office",
    GDPR_SUPERVISORY_AUTHORITY_URL="https://ico.org.uk/make-a-complaint/",
)
def test_the_supervisory_authority_is_named_when_configured(
    public_request, second_approver, django_capture_on_commit_callbacks
):
    reject(public_request, second_approver, django_capture_on_commit_callbacks)
    [message] = to_subject()
    assert "complain to the Information Commissioner's Office" in message.body
    assert "https://ico.org.uk/make-a-complaint/" in message.body
    assert 'href="https://ico.org.uk/make-a-complaint/"' in message.alternatives[0][0]


def test_no_notice_leaves_when_the_rejection_rolls_back(
    public_request, second_approver, django_capture_on_commit_callbacks
):
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(ZeroDivisionError),
        transaction.atomic(),
    ):
        transitions.reject_request(
            public_request,
            actor=second_approver,
            source=Source.WEB,
            reason="x",
            ground="legal_claims",
        )
        1 / 0  # noqa: B018
    assert to_subject() == []
    assert notices(public_request) == []
    assert address_kept(public_request)


@COMMITS
def test_the_console_says_the_subject_was_told_only_when_they_were(
    client_of, second_approver, public_request, on_behalf_request
):
    client = client_of(second_approver)
    data = {"ground": "legal_claims", "reason": "Litigation."}
    answer = client.post(
        reverse("console:request_reject", args=[public_request.pk]), data, follow=True
    )
    assert "The data subject was told the ground and your reason by e-mail." in (
        answer.content.decode()
    )
    answer = client.post(
        reverse("console:request_reject", args=[on_behalf_request.pk]), data, follow=True
    )
    page = answer.content.decode()
    assert f"Request #{on_behalf_request.pk} is rejected" in page
    assert "The data subject was told" not in page
    assert notices(on_behalf_request) == []


# --- Cancellation -----------------------------------------------------------------------------


@COMMITS
def test_a_customer_admin_cancels_a_public_request_with_a_reason_and_the_subject_is_told_by_role(
    client_of, customer_admin, public_request
):
    client = client_of(customer_admin)
    url = reverse("customer:cancel", args=[public_request.pk])
    form = client.get(url).content.decode()
    assert "The data subject is told by e-mail" in form
    client.post(url, {"reason": "The person withdrew the request by phone."})
    public_request.refresh_from_db()
    assert public_request.status == RS.CANCELLED
    [message] = to_subject()
    assert f"cancelled by an administrator at {public_request.customer.name}" in message.body
    assert "The person withdrew the request by phone." in message.body
    assert customer_admin.username not in message.body
    event = AuditEvent.objects.get(request=public_request, action="request.cancelled")
    assert event.detail == {"reason": "The person withdrew the request by phone."}
    assert notices(public_request) == ["cancelled"]


def test_a_gdpr_request_is_not_cancelled_without_a_reason(
    client_of, customer_admin, public_request, approver_api
):
    answer = client_of(customer_admin).post(
        reverse("customer:cancel", args=[public_request.pk]), {"reason": "  "}
    )
    assert "Say why this GDPR erasure request is cancelled" in answer.content.decode()
    with pytest.raises(RuleViolation, match="Say why"):
        transitions.cancel_request(public_request, actor=customer_admin, source=Source.WEB)
    answer = approver_api.post(f"/api/v1/requests/{public_request.pk}/cancel", {}, format="json")
    assert answer.status_code == 403
    assert "Say why" in answer.json()["error"]["message"]
    public_request.refresh_from_db()
    assert public_request.status == RS.PENDING_APPROVAL
    assert to_subject() == []


@COMMITS
def test_staff_cancel_through_the_api_and_the_subject_is_told_it_was_operator_staff(
    approver_api, public_request
):
    answer = approver_api.post(
        f"/api/v1/requests/{public_request.pk}/cancel",
        {"reason": "Duplicate of an earlier request."},
        format="json",
    )
    assert answer.status_code == 200, answer.content
    [message] = to_subject()
    assert "staff of" in message.body and "Duplicate of an earlier request." in message.body


def test_a_standard_request_is_cancelled_without_a_reason_and_no_subject_is_told(
    client_of, member, pending_request
):
    client_of(member).post(reverse("customer:cancel", args=[pending_request.pk]))
    pending_request.refresh_from_db()
    assert pending_request.status == RS.CANCELLED
    assert notices(pending_request) == []


@COMMITS
def test_the_console_cancel_page_says_who_will_be_told(
    client_of, approver, public_request, on_behalf_request
):
    client = client_of(approver)
    page = client.get(reverse("console:request_cancel", args=[public_request.pk]))
    assert "The data subject is told by e-mail" in page.content.decode()
    page = client.get(reverse("console:request_cancel", args=[on_behalf_request.pk]))
    assert "nobody is e-mailed: tell them yourself" in page.content.decode()
    answer = client.post(
        reverse("console:request_cancel", args=[public_request.pk]),
        {"reason": "Filed twice."},
        follow=True,
    )
    assert "The data subject was told by e-mail." in answer.content.decode()


# --- No data found ----------------------------------------------------------------------------


@pytest.fixture
def nobody_intake(customer, subject_runs):
    found = intake.create_intake(customer, email=SUBJECT_ADDRESS, reference="NOT-A-REFERENCE")
    intake.verify_intake(intake.make_token(found))
    # The customer confirms the person before staff look for their runs.
    confirm(ErasureIntake.objects.get(pk=found.pk))
    mail.outbox.clear()
    return ErasureIntake.objects.get(pk=found.pk)


@COMMITS
def test_an_intake_with_no_data_is_closed_and_the_subject_is_told(
    client_of, approver, nobody_intake
):
    client = client_of(approver)
    preview = client.post(
        reverse("console:intake_detail", args=[nobody_intake.pk]),
        {"action": "preview", "reason": "x"},
    )
    assert "Close: no data found" in preview.content.decode()
    answer = client.post(
        reverse("console:intake_dismiss", args=[nobody_intake.pk]), {"no_data": "1"}, follow=True
    )
    assert "closed: no data found. The data subject was told by e-mail." in (
        answer.content.decode()
    )
    [message] = to_subject()
    assert "no data found" in message.subject
    assert "We found none, so there was nothing to erase." in message.body
    assert "NOT-A-REFERENCE" not in message.body  # only its masked hint
    nobody_intake.refresh_from_db()
    assert nobody_intake.status == ErasureIntake.Status.DISMISSED
    assert nobody_intake.email_encrypted == "" and nobody_intake.subject_ref_encrypted == ""
    assert AuditEvent.objects.filter(
        action="subject.notified", object_id=str(nobody_intake.pk), detail__notice="no_data"
    ).exists()


def test_no_data_is_refused_while_runs_carry_the_reference(customer, subject_runs, approver_api):
    found = intake.create_intake(customer, email=SUBJECT_ADDRESS, reference=SUBJECT)
    intake.verify_intake(intake.make_token(found))
    found = confirm(ErasureIntake.objects.get(pk=found.pk))
    mail.outbox.clear()
    answer = approver_api.post(
        f"/api/v1/gdpr/intakes/{found.pk}/dismiss", {"no_data": True}, format="json"
    )
    assert answer.status_code == 403
    assert "3 parse runs of the customer carry this reference" in answer.json()["error"]["message"]
    assert to_subject() == []


@COMMITS
def test_no_data_through_the_api(approver_api, nobody_intake):
    answer = approver_api.post(
        f"/api/v1/gdpr/intakes/{nobody_intake.pk}/dismiss", {"no_data": True}, format="json"
    )
    assert answer.status_code == 200, answer.content
    assert answer.json()["status"] == "dismissed"
    assert len(to_subject()) == 1


# --- Extension and pause ----------------------------------------------------------------------


@COMMITS
def test_an_extension_is_told_to_the_subject_and_the_console_says_so(
    client_of, approver, public_request
):
    with time_machine.travel("2027-01-20 09:00Z", tick=False):
        answer = client_of(approver).post(
            reverse("console:request_extend", args=[public_request.pk]),
            {"months": 1, "reason": "Thousands of documents to check."},
            follow=True,
        )
    assert "the data subject was told why by e-mail." in answer.content.decode()
    [message] = to_subject()
    assert "Thousands of documents to check." in message.body
    assert notices(public_request) == ["extended"]
    assert address_kept(public_request)  # not a final notice


@COMMITS
def test_an_extension_filed_on_behalf_does_not_claim_the_subject_was_told(
    client_of, approver, member, on_behalf_request
):
    url = reverse("console:request_extend", args=[on_behalf_request.pk])
    client = client_of(approver)
    assert "nobody e-mails them" in client.get(url).content.decode()
    answer = client.post(url, {"months": 1, "reason": "Complex."}, follow=True)
    page = answer.content.decode()
    assert "the data subject left no address here, so tell them yourself why." in page
    assert "the data subject was told" not in page
    assert [m.to for m in mail.outbox] == [[member.email]]  # the customer user who filed it
    assert notices(on_behalf_request) == []


@COMMITS
def test_a_pause_is_told_to_the_subject(client_of, approver, public_request):
    answer = client_of(approver).post(
        reverse("console:request_deadline_pause", args=[public_request.pk]),
        {"reason": "A copy of your customer number."},
        follow=True,
    )
    assert "The data subject was told why by e-mail." in answer.content.decode()
    [message] = to_subject()
    assert "A copy of your customer number." in message.body
    assert notices(public_request) == ["paused"]


@COMMITS
def test_asking_the_subject_is_recorded_as_a_notice(client_of, approver, public_request):
    answer = client_of(approver).post(
        reverse("console:request_deadline_pause", args=[public_request.pk]),
        {"reason": "Your customer number.", "ask_subject": "on"},
        follow=True,
    )
    assert "The data subject was e-mailed a link to answer." in answer.content.decode()
    assert len(to_subject()) == 1
    assert notices(public_request) == ["more_information_asked"]


# --- Standard requests ------------------------------------------------------------------------


def test_a_standard_request_never_notifies_a_data_subject(
    pending_request, approver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        transitions.reject_request(pending_request, actor=approver, source=Source.WEB, reason="No")
    assert notices(pending_request) == []
    assert all(m.to != [SUBJECT_ADDRESS] for m in mail.outbox)


def test_a_final_notice_that_failed_is_sent_again_by_the_sweep(
    public_request, second_approver, django_capture_on_commit_callbacks, monkeypatch
):
    from deletions.core import emails

    real_send = emails.send

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("SMTP down")

    monkeypatch.setattr(emails, "send", broken)
    reject(public_request, second_approver, django_capture_on_commit_callbacks)
    assert address_kept(public_request) and notices(public_request) == []
    monkeypatch.setattr(emails, "send", real_send)
    assert subject_notices.send_pending_final_notices() == 1
    assert len(to_subject()) == 1 and not address_kept(public_request)


def test_no_data_waits_for_the_customer_to_confirm_the_person(customer, approver_api):
    found = intake.create_intake(customer, email=SUBJECT_ADDRESS, reference="NOT-A-REFERENCE")
    intake.verify_intake(intake.make_token(found))
    answer = approver_api.post(
        f"/api/v1/gdpr/intakes/{found.pk}/dismiss", {"no_data": True}, format="json"
    )
    assert answer.status_code == 403
    assert "only an intake the customer confirmed" in answer.json()["error"]["message"]
    assert ErasureIntake.objects.get(pk=found.pk).status == ErasureIntake.Status.VERIFIED


def test_the_completion_notice_lists_the_recipients_when_the_subject_asked(public_request):
    Recipient.objects.create(customer=public_request.customer, name="Payroll Ltd", contact="x@p.io")
    DeletionRequest.objects.filter(pk=public_request.pk).update(subject_wants_recipients=True)
    req = finish(public_request)
    notify_subject_completed_task.apply(args=(req.pk,))
    [message] = to_subject()
    assert "You asked who your data was disclosed to." in message.body
    assert "- Extend (the operator's processor)" in message.body
    assert "- Payroll Ltd" in message.body


def test_the_completion_notice_lists_no_recipients_unless_asked(public_request):
    Recipient.objects.create(customer=public_request.customer, name="Payroll Ltd", contact="x@p.io")
    req = finish(public_request)
    notify_subject_completed_task.apply(args=(req.pk,))
    [message] = to_subject()
    assert "disclosed" not in message.body and "Payroll Ltd" not in message.body


def test_the_subject_is_told_which_uploaded_files_were_erased_and_which_were_kept(
    public_request, second_approver
):
    req = finished_with_files(
        public_request,
        second_approver,
        {"file_0": erased(0), "file_1": erased(1), "file_2": shared(2)},
    )
    notify_subject_completed_task.apply(args=(req.pk,))
    [message] = to_subject()
    assert "3 documents erased" in message.body
    assert "2 uploaded files (the documents as they were sent) erased" in message.body
    assert "1 uploaded file kept: Still used by runs not in this request" in message.body
    assert "permanently erased as set out below" in message.body
