from __future__ import annotations

from datetime import date

import pytest

from deletions.models import AuditEvent, DeletionItem, DeletionRequest, Source
from tests.helpers import force_status, submitted_request

pytestmark = pytest.mark.django_db

RS = DeletionRequest.Status


@pytest.fixture
def req(member, workspace, customer):
    return submitted_request(workspace, customer, member, runs=2)


@pytest.mark.parametrize("who", ["member_api", "admin_api", "outsider_api"])
@pytest.mark.parametrize("action", ["approve", "reject", "retry", "pause", "resume"])
def test_customer_tokens_cannot_use_staff_actions(who, action, request, req):
    response = request.getfixturevalue(who).post(
        f"/api/v1/requests/{req.pk}/{action}", {"reason": "r"}, format="json"
    )
    assert response.status_code == 403
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL


@pytest.mark.parametrize("who", ["member_api", "admin_api"])
def test_customer_tokens_cannot_see_the_queue(who, request):
    assert request.getfixturevalue(who).get("/api/v1/queue").status_code == 403


def test_the_queue_lists_pending_requests_most_urgent_first(
    viewer_api, member, workspace, customer
):
    plain = submitted_request(workspace, customer, member, runs=1, prefix="a_")
    urgent = submitted_request(workspace, customer, member, runs=1, prefix="b_")
    DeletionRequest.objects.filter(pk=urgent.pk).update(due_on=date(2026, 1, 5))
    force_status(submitted_request(workspace, customer, member, runs=1, prefix="c_"), RS.RUNNING)
    body = viewer_api.get("/api/v1/queue").json()
    assert [r["id"] for r in body["results"]] == [urgent.pk, plain.pk]
    running = viewer_api.get("/api/v1/queue", {"status": "running"}).json()["results"]
    assert len(running) == 1


def test_a_viewer_cannot_approve(viewer_api, req):
    response = viewer_api.post(f"/api/v1/requests/{req.pk}/approve", {}, format="json")
    assert response.status_code == 403
    assert (
        response.json()["error"]["message"] == "You are not allowed to approve deletion requests."
    )


def test_an_approver_approves_with_a_comment(approver_api, req):
    response = approver_api.post(
        f"/api/v1/requests/{req.pk}/approve", {"comment": "checked"}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == RS.APPROVED
    assert body["approvals"][0]["comment"] == "checked"
    assert AuditEvent.objects.filter(action="request.approved", source=Source.API).exists()


def test_four_eyes_two_approvers_for_a_large_request(approver_api, second_approver_api, req):
    DeletionRequest.objects.filter(pk=req.pk).update(required_approvals=2)
    first = approver_api.post(f"/api/v1/requests/{req.pk}/approve", {}, format="json")
    assert first.json()["status"] == RS.PENDING_APPROVAL
    again = approver_api.post(f"/api/v1/requests/{req.pk}/approve", {}, format="json")
    assert again.status_code == 403
    assert "already approved" in again.json()["error"]["message"]
    second = second_approver_api.post(f"/api/v1/requests/{req.pk}/approve", {}, format="json")
    assert second.json()["status"] == RS.APPROVED


def test_staff_cannot_approve_their_own_request(approver, approver_api, workspace, customer):
    own = submitted_request(workspace, customer, approver, runs=1)
    response = approver_api.post(f"/api/v1/requests/{own.pk}/approve", {}, format="json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "You cannot approve a request you made yourself."


def test_a_rejection_needs_a_reason(approver_api, req):
    missing = approver_api.post(f"/api/v1/requests/{req.pk}/reject", {}, format="json")
    assert missing.status_code == 400
    blank = approver_api.post(f"/api/v1/requests/{req.pk}/reject", {"reason": "  "}, format="json")
    assert blank.status_code == 403
    assert "needs a reason" in blank.json()["error"]["message"]
    ok = approver_api.post(f"/api/v1/requests/{req.pk}/reject", {"reason": "no"}, format="json")
    assert ok.status_code == 200
    assert ok.json()["status"] == RS.REJECTED
    assert ok.json()["decision_comment"] == "no"


def test_approving_a_rejected_request_is_a_conflict(approver_api, req):
    force_status(req, RS.REJECTED)
    response = approver_api.post(f"/api/v1/requests/{req.pk}/approve", {}, format="json")
    assert response.status_code == 409


def test_a_viewer_cannot_pause_but_an_approver_or_admin_can(viewer_api, staff_admin_api, req):
    force_status(req, RS.RUNNING)
    refused = viewer_api.post(f"/api/v1/requests/{req.pk}/pause", {}, format="json")
    assert refused.status_code == 403
    paused = staff_admin_api.post(
        f"/api/v1/requests/{req.pk}/pause", {"reason": "maintenance"}, format="json"
    )
    assert paused.status_code == 200
    assert paused.json()["status"] == RS.PAUSED
    assert paused.json()["counts"]["held"] == 2
    resumed = staff_admin_api.post(f"/api/v1/requests/{req.pk}/resume")
    assert resumed.json()["status"] == RS.RUNNING
    assert staff_admin_api.post(f"/api/v1/requests/{req.pk}/resume").status_code == 409


def test_an_admin_retries_failed_items(staff_admin_api, viewer_api, req):
    force_status(req, RS.COMPLETED_WITH_FAILURES, failed_count=2)
    DeletionItem.objects.filter(request=req).update(status=DeletionItem.Status.FAILED)
    assert viewer_api.post(f"/api/v1/requests/{req.pk}/retry").status_code == 403
    response = staff_admin_api.post(f"/api/v1/requests/{req.pk}/retry")
    assert response.status_code == 200
    assert response.json()["status"] == RS.RUNNING
    assert response.json()["counts"]["failed"] == 0


def test_staff_get_404_for_a_request_that_does_not_exist(staff_admin_api):
    assert staff_admin_api.post("/api/v1/requests/999999/approve").status_code == 404
    assert staff_admin_api.get("/api/v1/requests/999999").status_code == 404
