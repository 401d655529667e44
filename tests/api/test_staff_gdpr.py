"""GDPR erasure over the API (intakes, requests filed for a data subject, deadlines) and bulk
decisions: the console's rules and domain functions, audited as API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from deletions.gdpr import deadlines as gdpr
from deletions.gdpr import intake
from deletions.models import AuditEvent, DeletionRequest, ErasureIntake, ParseRun, Source
from tests.factories import make_runs
from tests.gdpr.intakes import confirm
from tests.helpers import force_status, submitted_request

pytestmark = pytest.mark.django_db

RS = DeletionRequest.Status
SUBJECT = "subject-7781"
INTAKES = "/api/v1/gdpr/intakes"


@pytest.fixture
def subject_runs(workspace, customer):
    """Three of the customer's runs carry the subject's reference, two someone else's."""
    ids = make_runs(workspace, customer, 5, prefix="subj_")
    key = settings.GDPR_SUBJECT_METADATA_KEY
    ParseRun.objects.filter(run_id__in=ids[:3]).update(metadata={key: SUBJECT})
    ParseRun.objects.filter(run_id__in=ids[3:]).update(metadata={key: "someone-else"})
    return ids


@pytest.fixture
def verified(customer):
    found = intake.create_intake(customer, email="jane@example.org", reference=SUBJECT)
    return intake.verify_intake(intake.make_token(found))


@pytest.fixture
def gdpr_request(workspace, customer, member):
    return submitted_request(
        workspace,
        customer,
        member,
        runs=2,
        kind=DeletionRequest.Kind.GDPR,
        subject_ref=SUBJECT,
        received_on=timezone.localdate(),
    )


# --- Intakes ---


def test_every_staff_role_reads_intakes(viewer_api, operator_service_api, verified, customer):
    waiting = intake.create_intake(customer, email="w@example.org", reference="WAIT-1")
    for client in (viewer_api, operator_service_api):
        assert client.get(INTAKES).json()["results"] == []  # none confirmed yet
        listed = client.get(INTAKES, {"show": "verified"}).json()["results"]
        assert [row["id"] for row in listed] == [verified.pk]
        assert [r["id"] for r in client.get(INTAKES, {"show": "awaiting"}).json()["results"]] == [
            waiting.pk
        ]
        one = client.get(f"{INTAKES}/{verified.pk}").json()
        assert one["due_on"] == gdpr.due_date(verified.received_on).isoformat()
        assert "jane@example.org" not in str(one)
        assert SUBJECT not in str(one)


def test_customer_tokens_see_no_intakes(member_api, admin_api, verified):
    for client in (member_api, admin_api):
        assert client.get(INTAKES).status_code == 403
        assert client.get(f"{INTAKES}/{verified.pk}").status_code == 403


def test_an_approver_previews_and_freezes_an_intake(
    approver_api, approver, second_approver_api, verified, subject_runs
):
    body = {"reason": "Art. 17 request from the data subject."}
    refused = approver_api.post(f"{INTAKES}/{verified.pk}/freeze", body, format="json")
    assert refused.status_code == 403  # the customer has not confirmed the person yet
    assert "not confirmed by the customer" in refused.json()["error"]["message"]
    confirm(verified)
    preview = approver_api.post(f"{INTAKES}/{verified.pk}/preview", body, format="json")
    assert preview.status_code == 200, preview.content
    assert (preview.json()["count"], preview.json()["busy"]) == (3, 0)
    assert not DeletionRequest.objects.exists()
    frozen = approver_api.post(f"{INTAKES}/{verified.pk}/freeze", body, format="json")
    assert frozen.status_code == 201, frozen.content
    req = DeletionRequest.objects.get()
    assert (req.kind, req.item_count, req.requested_by, req.source) == (
        DeletionRequest.Kind.GDPR,
        3,
        approver,
        Source.API,
    )
    verified.refresh_from_db()
    assert verified.status == ErasureIntake.Status.CONVERTED
    converted = AuditEvent.objects.get(action="intake.converted")
    assert (converted.source, converted.actor_id) == (Source.API, approver.pk)
    # Four eyes: the one who froze it is its requester and cannot approve it.
    assert approver_api.post(f"/api/v1/requests/{req.pk}/approve").status_code == 403
    assert second_approver_api.post(f"/api/v1/requests/{req.pk}/approve").status_code == 200


def test_an_intake_is_dismissed_once_with_a_note(approver_api, approver, viewer_api, verified):
    url = f"{INTAKES}/{verified.pk}/dismiss"
    assert viewer_api.post(url, {"note": "Spam"}, format="json").status_code == 403
    assert approver_api.post(url, {"note": ""}, format="json").status_code == 400
    done = approver_api.post(url, {"note": "Not a customer of ours"}, format="json")
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "dismissed"
    event = AuditEvent.objects.get(action="intake.dismissed")
    assert (event.source, event.actor_id) == (Source.API, approver.pk)
    again = approver_api.post(url, {"note": "Again"}, format="json")
    assert again.status_code == 409


def test_staff_actions_on_intakes_refuse_service_tokens(operator_service_api, verified):
    url = f"{INTAKES}/{verified.pk}"
    assert operator_service_api.post(f"{url}/dismiss", {"note": "x"}).status_code == 403
    assert operator_service_api.post(f"{url}/freeze", {"reason": "x"}).status_code == 403
    verified.refresh_from_db()
    assert verified.status == ErasureIntake.Status.VERIFIED


# --- Filing for a data subject ---


def _on_behalf(customer, **fields):
    return {
        "customer": customer.pk,
        "reference": SUBJECT,
        "received_on": timezone.localdate().isoformat(),
        "reason": "The subject wrote to our DPO.",
        **fields,
    }


def test_an_approver_files_a_gdpr_request_for_a_subject(
    approver_api, approver, customer, subject_runs
):
    preview = approver_api.post(
        "/api/v1/gdpr/requests/preview", _on_behalf(customer), format="json"
    )
    assert preview.json()["count"] == 3
    assert {r["file_id"] for r in preview.json()["sample"]} == {""}
    response = approver_api.post(
        "/api/v1/gdpr/requests", _on_behalf(customer), format="json", HTTP_IDEMPOTENCY_KEY="g-1"
    )
    assert response.status_code == 201, response.content
    again = approver_api.post(
        "/api/v1/gdpr/requests", _on_behalf(customer), format="json", HTTP_IDEMPOTENCY_KEY="g-1"
    )
    assert again.json()["id"] == response.json()["id"]
    req = DeletionRequest.objects.get()
    assert (req.kind, req.item_count, req.source, req.requested_by) == (
        DeletionRequest.Kind.GDPR,
        3,
        Source.API,
        approver,
    )
    assert req.due_on == gdpr.due_date(timezone.localdate())


def test_filing_keeps_the_consoles_rules(approver_api, viewer_api, customer, subject_runs):
    tomorrow = (timezone.localdate() + timedelta(days=1)).isoformat()
    future = approver_api.post(
        "/api/v1/gdpr/requests", _on_behalf(customer, received_on=tomorrow), format="json"
    )
    customer.is_active = False
    customer.save()
    inactive = approver_api.post("/api/v1/gdpr/requests", _on_behalf(customer), format="json")
    by_viewer = viewer_api.post("/api/v1/gdpr/requests", _on_behalf(customer), format="json")
    assert (future.status_code, inactive.status_code, by_viewer.status_code) == (422, 422, 403)
    assert "received_on" in future.json()["error"]["details"]["fields"]
    assert not DeletionRequest.objects.exists()


# --- Deadlines ---


def test_an_approver_extends_a_deadline_audited_as_api(approver_api, approver, gdpr_request):
    url = f"/api/v1/requests/{gdpr_request.pk}/deadline/extend"
    response = approver_api.post(url, {"months": 2, "reason": "Many systems"}, format="json")
    assert response.status_code == 200, response.content
    gdpr_request.refresh_from_db()
    assert response.json()["extended_due_on"] == gdpr_request.extended_due_on.isoformat()
    event = AuditEvent.objects.get(action="request.deadline_extended")
    assert (event.source, event.actor_id) == (Source.API, approver.pk)
    # Two further months in all: a third is refused with the rule's reason.
    third = approver_api.post(url, {"months": 1, "reason": "More"}, format="json")
    assert third.status_code == 403
    assert "at most two further months" in third.json()["error"]["message"]


def test_a_standard_request_has_no_deadline_to_extend(approver_api, workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=1)
    url = f"/api/v1/requests/{req.pk}/deadline/extend"
    response = approver_api.post(url, {"months": 1, "reason": "x"}, format="json")
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="request.deadline_extended").exists()


def test_an_approver_pauses_and_resumes_a_deadline(approver_api, approver, gdpr_request):
    base = f"/api/v1/requests/{gdpr_request.pk}/deadline"
    paused = approver_api.post(f"{base}/pause", {"reason": "Proof of identity"}, format="json")
    assert paused.status_code == 200, paused.content
    assert paused.json()["paused"] is True
    assert approver_api.post(f"{base}/pause", {"reason": "Again"}, format="json").status_code == (
        403
    )
    resumed = approver_api.post(f"{base}/resume")
    assert resumed.status_code == 200
    assert approver_api.get(base).json()["paused"] is False
    events = AuditEvent.objects.filter(action__startswith="gdpr.deadline_").order_by("id")
    assert [(e.action, e.source, e.actor_id) for e in events] == [
        ("gdpr.deadline_paused", Source.API, approver.pk),
        ("gdpr.deadline_resumed", Source.API, approver.pk),
    ]


def test_asking_the_subject_needs_their_address(approver_api, gdpr_request):
    url = f"/api/v1/requests/{gdpr_request.pk}/deadline/pause"
    response = approver_api.post(url, {"reason": "ID", "ask_subject": True}, format="json")
    assert response.status_code == 403
    assert not gdpr.is_paused(DeletionRequest.objects.get(pk=gdpr_request.pk))


@pytest.mark.parametrize("client_name", ["viewer_api", "member_api", "operator_service_api"])
def test_only_approvers_and_admins_change_deadlines(request, client_name, gdpr_request):
    client = request.getfixturevalue(client_name)
    base = f"/api/v1/requests/{gdpr_request.pk}/deadline"
    assert client.post(f"{base}/extend", {"months": 1, "reason": "x"}).status_code == 403
    assert client.post(f"{base}/pause", {"reason": "x"}).status_code == 403
    assert client.post(f"{base}/resume").status_code == 403
    assert not AuditEvent.objects.filter(request=gdpr_request, source=Source.API).exists()


# --- Bulk decisions ---

BULK = "/api/v1/requests/bulk"


def test_bulk_approval_decides_each_request_on_its_own(
    approver_api, approver, workspace, customer, member
):
    theirs = [submitted_request(workspace, customer, member, runs=1, prefix=p) for p in "ab"]
    own = submitted_request(workspace, customer, approver, runs=1, prefix="own_")
    done = force_status(
        submitted_request(workspace, customer, member, runs=1, prefix="d"), RS.COMPLETED
    )
    ids = [r.pk for r in (*theirs, own, done)]
    dry = approver_api.post(BULK, {"action": "approve", "ids": ids, "dry_run": True}, format="json")
    assert [r["ok"] for r in dry.json()["results"]] == [True, True, False, False]
    assert DeletionRequest.objects.filter(status=RS.APPROVED).count() == 0
    response = approver_api.post(BULK, {"action": "approve", "ids": ids}, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["succeeded"] == 2
    assert [r["ok"] for r in response.json()["results"]] == [True, True, False, False]
    assert set(DeletionRequest.objects.filter(status=RS.APPROVED).values_list("pk", flat=True)) == {
        r.pk for r in theirs
    }
    approvals = AuditEvent.objects.filter(action="request.approved")
    assert {(e.source, e.actor_id) for e in approvals} == {(Source.API, approver.pk)}


def test_bulk_rejection_needs_a_reason(approver_api, workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=1)
    response = approver_api.post(BULK, {"action": "reject", "ids": [req.pk]}, format="json")
    assert response.status_code == 403
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL
    done = approver_api.post(
        BULK, {"action": "reject", "ids": [req.pk], "reason": "Duplicate"}, format="json"
    )
    assert done.json()["succeeded"] == 1
    req.refresh_from_db()
    assert req.status == RS.REJECTED


@pytest.mark.parametrize("client_name", ["viewer_api", "member_api", "operator_service_api"])
def test_only_approvers_decide_in_bulk(request, client_name, workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=1)
    client = request.getfixturevalue(client_name)
    response = client.post(BULK, {"action": "approve", "ids": [req.pk]}, format="json")
    assert response.status_code == 403
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL
