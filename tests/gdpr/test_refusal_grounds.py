"""Refusing a GDPR erasure request names its ground (Art. 17(3)(a)-(e), or an identity not
verified) beside the explanation, in the domain, the console (one request and in bulk) and the
API; a customer's standard request keeps its free reason and takes no ground."""

from __future__ import annotations

import pytest
from django.core import mail
from django.urls import reverse

from deletions.models import AuditEvent, DeletionRequest, Source
from deletions.notifications import customer_emails as notifications
from deletions.requests import transitions
from deletions.requests.grounds import GroundError, RefusalGround
from tests.gdpr.conftest import SUBJECT
from tests.helpers import submitted_request

pytestmark = pytest.mark.django_db

RS = DeletionRequest.Status
CLAIMS = RefusalGround.LEGAL_CLAIMS
CLAIMS_LABEL = "Art. 17(3)(e): the establishment, exercise or defence of legal claims"
EXPLANATION = "The invoices are evidence in Smith v Acme."


@pytest.fixture(autouse=True)
def _customer_notifications():
    # The requester's rejection e-mail is sent by this transition hook.
    notifications.register()


@pytest.fixture
def gdpr_request(workspace, customer, member):
    return submitted_request(
        workspace,
        customer,
        member,
        runs=2,
        prefix="g_",
        kind=DeletionRequest.Kind.GDPR,
        subject_ref=SUBJECT,
    )


@pytest.fixture
def standard_request(workspace, customer, member):
    return submitted_request(workspace, customer, member, runs=2, prefix="s_")


def _rejections(req):
    return AuditEvent.objects.filter(request=req, action="request.rejected")


# --- The domain ----------------------------------------------------------------------------


def test_the_domain_refuses_a_gdpr_rejection_without_a_ground(approver, gdpr_request):
    with pytest.raises(GroundError, match="Choose the ground"):
        transitions.reject_request(
            gdpr_request, actor=approver, source=Source.WEB, reason=EXPLANATION
        )
    gdpr_request.refresh_from_db()
    assert gdpr_request.status == RS.PENDING_APPROVAL
    assert gdpr_request.approvals.count() == 0
    assert not _rejections(gdpr_request).exists()


def test_the_domain_refuses_a_ground_that_is_not_on_the_list(approver, gdpr_request):
    with pytest.raises(GroundError, match="'too_expensive' is not a ground"):
        transitions.reject_request(
            gdpr_request,
            actor=approver,
            source=Source.WEB,
            reason=EXPLANATION,
            ground="too_expensive",
        )
    gdpr_request.refresh_from_db()
    assert gdpr_request.status == RS.PENDING_APPROVAL


def test_a_gdpr_rejection_records_its_ground_and_audits_it(approver, gdpr_request):
    transitions.reject_request(
        gdpr_request, actor=approver, source=Source.WEB, reason=EXPLANATION, ground=CLAIMS
    )
    gdpr_request.refresh_from_db()
    assert gdpr_request.status == RS.REJECTED
    assert gdpr_request.refusal_ground == CLAIMS
    assert gdpr_request.decision_comment == EXPLANATION
    event = _rejections(gdpr_request).get()
    assert event.detail == {"reason": EXPLANATION, "ground": "legal_claims"}


def test_a_standard_rejection_needs_no_ground_and_takes_none(
    approver, standard_request, workspace, customer, member
):
    transitions.reject_request(
        standard_request, actor=approver, source=Source.WEB, reason="duplicate"
    )
    standard_request.refresh_from_db()
    assert standard_request.status == RS.REJECTED
    assert standard_request.refusal_ground == ""
    assert _rejections(standard_request).get().detail == {"reason": "duplicate"}

    other = submitted_request(workspace, customer, member, runs=1, prefix="o_")
    with pytest.raises(GroundError, match="Grounds apply to GDPR erasure requests only"):
        transitions.reject_request(
            other, actor=approver, source=Source.WEB, reason="duplicate", ground=CLAIMS
        )
    other.refresh_from_db()
    assert other.status == RS.PENDING_APPROVAL


# --- The console ---------------------------------------------------------------------------


def test_the_console_asks_for_the_ground_of_a_gdpr_refusal(client, approver, gdpr_request):
    client.force_login(approver)
    url = reverse("console:request_reject", args=[gdpr_request.pk])
    page = client.get(url).content.decode()
    assert 'name="ground"' in page
    for ground in RefusalGround:
        assert str(ground.label) in page

    response = client.post(url, {"reason": EXPLANATION})
    assert response.status_code == 200
    assert "Choose the ground for refusing this GDPR erasure request" in response.content.decode()
    gdpr_request.refresh_from_db()
    assert gdpr_request.status == RS.PENDING_APPROVAL


def test_the_console_rejects_on_the_ground_and_shows_it(
    client, approver, gdpr_request, django_capture_on_commit_callbacks
):
    client.force_login(approver)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("console:request_reject", args=[gdpr_request.pk]),
            {"ground": CLAIMS, "reason": EXPLANATION},
        )
    assert response.status_code == 302
    gdpr_request.refresh_from_db()
    assert (gdpr_request.status, gdpr_request.refusal_ground) == (RS.REJECTED, CLAIMS)
    event = _rejections(gdpr_request).get()
    assert (event.source, event.actor_id, event.detail["ground"]) == (
        Source.WEB,
        approver.pk,
        "legal_claims",
    )
    page = client.get(reverse("console:request_detail", args=[gdpr_request.pk])).content.decode()
    assert "Ground for refusal" in page
    assert CLAIMS_LABEL in page
    assert "legal_claims" not in page
    # The requester is told the ground with the explanation.
    sent = [m for m in mail.outbox if "alice@example.com" in m.to]
    assert len(sent) == 1
    assert f"Ground: {CLAIMS_LABEL}" in sent[0].body
    assert EXPLANATION in sent[0].body


def test_the_customer_sees_the_ground_of_their_refused_request(
    client, approver, member, gdpr_request
):
    transitions.reject_request(
        gdpr_request, actor=approver, source=Source.WEB, reason=EXPLANATION, ground=CLAIMS
    )
    client.force_login(member)
    page = client.get(reverse("customer:request", args=[gdpr_request.pk])).content.decode()
    assert f"Ground: {CLAIMS_LABEL}" in page
    assert EXPLANATION in page


def test_the_console_rejects_a_standard_request_without_a_ground(
    client, approver, standard_request
):
    client.force_login(approver)
    url = reverse("console:request_reject", args=[standard_request.pk])
    assert 'name="ground"' not in client.get(url).content.decode()
    assert client.post(url, {"reason": "duplicate"}).status_code == 302
    standard_request.refresh_from_db()
    assert (standard_request.status, standard_request.refusal_ground) == (RS.REJECTED, "")


def test_bulk_rejection_asks_for_a_ground_when_gdpr_requests_are_among_them(
    client, approver, gdpr_request, standard_request
):
    client.force_login(approver)
    url = reverse("console:bulk")
    ids = [gdpr_request.pk, standard_request.pk]
    confirm = client.post(url, {"action": "reject", "ids": ids}).content.decode()
    assert 'name="ground"' in confirm
    missing = client.post(
        url, {"action": "reject", "ids": ids, "confirmed": "yes", "reason": "duplicate"}
    )
    assert "Choose the ground for refusing" in missing.content.decode()
    assert not DeletionRequest.objects.filter(status=RS.REJECTED).exists()

    done = client.post(
        url,
        {
            "action": "reject",
            "ids": ids,
            "confirmed": "yes",
            "reason": "duplicate",
            "ground": RefusalGround.IDENTITY_NOT_VERIFIED,
        },
    )
    assert b"2 of 2 requests rejected" in done.content
    grounds = dict(DeletionRequest.objects.values_list("pk", "refusal_ground"))
    assert grounds == {gdpr_request.pk: "identity_not_verified", standard_request.pk: ""}


def test_bulk_rejection_of_standard_requests_alone_asks_for_no_ground(
    client, approver, standard_request
):
    client.force_login(approver)
    confirm = client.post(
        reverse("console:bulk"), {"action": "reject", "ids": [standard_request.pk]}
    )
    assert 'name="ground"' not in confirm.content.decode()


# --- The API -------------------------------------------------------------------------------


def test_the_api_refuses_a_gdpr_rejection_without_a_ground(approver_api, gdpr_request):
    url = f"/api/v1/requests/{gdpr_request.pk}/reject"
    response = approver_api.post(url, {"reason": EXPLANATION}, format="json")
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "unprocessable"
    assert list(error["details"]["fields"]) == ["ground"]
    bad = approver_api.post(url, {"reason": EXPLANATION, "ground": "whim"}, format="json")
    assert bad.status_code == 400
    gdpr_request.refresh_from_db()
    assert gdpr_request.status == RS.PENDING_APPROVAL


def test_the_api_rejects_a_gdpr_request_on_its_ground(approver, approver_api, gdpr_request):
    response = approver_api.post(
        f"/api/v1/requests/{gdpr_request.pk}/reject",
        {"reason": EXPLANATION, "ground": "legal_claims"},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["status"], body["refusal_ground"]) == ("rejected", "legal_claims")
    event = _rejections(gdpr_request).get()
    assert (event.source, event.actor_id, event.detail["ground"]) == (
        Source.API,
        approver.pk,
        "legal_claims",
    )


def test_the_api_rejects_a_standard_request_without_a_ground_only(approver_api, standard_request):
    url = f"/api/v1/requests/{standard_request.pk}/reject"
    given = approver_api.post(url, {"reason": "duplicate", "ground": "legal_claims"}, format="json")
    assert given.status_code == 422
    response = approver_api.post(url, {"reason": "duplicate"}, format="json")
    assert response.status_code == 200
    assert response.json()["refusal_ground"] == ""


def test_the_api_bulk_rejection_gives_the_ground_to_gdpr_requests(
    approver_api, gdpr_request, standard_request
):
    ids = [gdpr_request.pk, standard_request.pk]
    body = {"action": "reject", "ids": ids, "reason": "duplicate"}
    without = approver_api.post("/api/v1/requests/bulk", body, format="json").json()
    assert [(r["id"], r["ok"]) for r in without["results"]] == [
        (gdpr_request.pk, False),
        (standard_request.pk, True),
    ]
    assert "Choose the ground" in without["results"][0]["message"]
    gdpr_request.refresh_from_db()
    assert gdpr_request.status == RS.PENDING_APPROVAL
    body = {"action": "reject", "ids": [gdpr_request.pk], "reason": "dup"}
    body["ground"] = "public_health"
    done = approver_api.post("/api/v1/requests/bulk", body, format="json").json()
    assert done["succeeded"] == 1
    gdpr_request.refresh_from_db()
    assert (gdpr_request.status, gdpr_request.refusal_ground) == (RS.REJECTED, "public_health")
