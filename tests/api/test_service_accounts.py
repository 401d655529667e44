"""Service accounts over HTTP: staff actions refuse their tokens, and four eyes counts them as the
person who created them."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from deletions.accounts import roles
from deletions.api.auth import SERVICE_ACCOUNT_REFUSED
from deletions.models import ApiToken, Approval, DeletionRequest, LegalHold, Source
from deletions.requests import holds
from deletions.workspaces import health as workspace_health
from tests.api.test_token_pages import no_token_shown
from tests.factories import ensure_staff_groups, make_runs, new_workspace
from tests.helpers import bearer, force_status, service_client_for, submitted_request

pytestmark = pytest.mark.django_db

RS = DeletionRequest.Status


def _grant(user, role: str) -> None:
    ensure_staff_groups()
    user.groups.add(Group.objects.get(name=role))


def _staff_actions(customer, workspace, member, staff_admin):
    """(url, body) of every staff action over the API, each on an object in a state it may
    start from."""
    pending = submitted_request(workspace, customer, member, runs=1, prefix="p_")
    running = force_status(
        submitted_request(workspace, customer, member, runs=1, prefix="r_"), RS.RUNNING
    )
    paused = force_status(
        submitted_request(workspace, customer, member, runs=1, prefix="s_"), RS.PAUSED
    )
    failed = force_status(
        submitted_request(workspace, customer, member, runs=1, prefix="f_"),
        RS.COMPLETED_WITH_FAILURES,
    )
    hold = holds.place_hold(
        scope=LegalHold.Scope.CUSTOMER, customer=customer, reason="Litigation",
        reference="LIT-1", actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    stopped = new_workspace()
    workspace_health.pause_workspace(stopped, actor=staff_admin, source=Source.WEB)
    return [
        (f"/api/v1/requests/{pending.pk}/approve", {}),
        (f"/api/v1/requests/{pending.pk}/reject", {"reason": "no"}),
        (f"/api/v1/requests/{pending.pk}/cancel", {}),
        (f"/api/v1/requests/{running.pk}/pause", {}),
        (f"/api/v1/requests/{paused.pk}/resume", {}),
        (f"/api/v1/requests/{failed.pk}/retry", {}),
        (
            "/api/v1/holds",
            {
                "scope": "customer",
                "customer": customer.external_ref,
                "reason": "x",
                "reference": "y",
            },
        ),
        (f"/api/v1/holds/{hold.pk}/lift", {"reason": "Settled"}),
        (f"/api/v1/workspaces/{new_workspace().pk}/pause", {}),
        (f"/api/v1/workspaces/{stopped.pk}/resume", {}),
    ]


def test_staff_actions_refuse_an_operator_service_token_even_with_every_permission(
    customer, workspace, member, staff_admin
):
    robot_api = service_client_for(staff_admin)
    # Even if someone gave it the admin role, a service account is not a staff member.
    _grant(robot_api.user, roles.ADMIN)
    for url, body in _staff_actions(customer, workspace, member, staff_admin):
        response = robot_api.post(url, body, format="json")
        assert response.status_code == 403, url
        assert response.json()["error"]["message"] == SERVICE_ACCOUNT_REFUSED, url
    assert not Approval.objects.exists()
    assert not DeletionRequest.objects.filter(status=RS.CANCELLED).exists()
    assert LegalHold.objects.count() == 1


def test_the_same_staff_actions_work_with_the_admins_own_token(
    customer, workspace, member, staff_admin, staff_admin_api
):
    for url, body in _staff_actions(customer, workspace, member, staff_admin):
        if url.endswith("/reject") or url.endswith("/cancel"):
            continue  # the pending request is approved by the first call
        assert staff_admin_api.post(url, body, format="json").status_code in (200, 201), url


def test_an_operator_service_token_reads_what_staff_read(staff_admin):
    robot_api = service_client_for(staff_admin)
    for url in ("/api/v1/queue", "/api/v1/requests", "/api/v1/holds"):
        assert robot_api.get(url).status_code == 200, url


def test_a_service_token_stops_working_when_its_creator_is_deactivated(customer_admin, customer):
    robot_api = service_client_for(customer_admin, customer)
    assert robot_api.get("/api/v1/requests").status_code == 200
    customer_admin.is_active = False
    customer_admin.save(update_fields=["is_active"])
    refused = robot_api.get("/api/v1/requests")
    assert refused.status_code == 401
    assert "deactivated" in refused.json()["error"]["message"]


def test_a_customer_service_token_cancels_its_own_request(customer_admin, customer, workspace):
    robot_api = service_client_for(customer_admin, customer)
    ids = make_runs(workspace, customer, 1)
    filed = robot_api.post(
        "/api/v1/requests", {"scope": "explicit", "run_ids": ids, "reason": "x"}, format="json"
    ).json()
    cancelled = robot_api.post(f"/api/v1/requests/{filed['id']}/cancel", {}, format="json")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == RS.CANCELLED


# --- Four eyes compares the people behind the actions ---


def test_the_creator_of_a_service_account_cannot_approve_what_it_filed(
    client, customer_admin, customer, workspace
):
    # Carol is her organisation's admin and (unusually) an operator approver as well.
    _grant(customer_admin, roles.APPROVER)
    robot_api = service_client_for(customer_admin, customer)
    make_runs(workspace, customer, 2)
    filed = robot_api.post(
        "/api/v1/requests", {"scope": "all", "reason": "everything"}, format="json"
    )
    assert filed.status_code == 201
    req = DeletionRequest.objects.get(pk=filed.json()["id"])
    assert req.requested_by == robot_api.user

    client.force_login(customer_admin)
    approve = reverse("console:request_approve", args=[req.pk])
    assert b"You made this request yourself" in client.get(approve).content
    refused = client.post(approve, {}, follow=True)
    assert b"You cannot approve a request you made yourself." in refused.content
    client.post(reverse("console:request_reject", args=[req.pk]), {"reason": "mine"})
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL
    assert not req.approvals.exists()


def test_the_attack_of_issue_16_fails_at_every_step(
    client, staff_admin, member, approver, customer, workspace
):
    """An admin tried to file an "all" request as alice and approve it as anna and themself."""
    make_runs(workspace, customer, 3)
    client.force_login(staff_admin)
    for person in (member, approver):
        page = client.post("/console/api/tokens/", {"username": person.username, "name": "x"})
        assert no_token_shown(page)
    # What the admin can get: their own token and an operator service token. Neither files a
    # request for the customer, and the service token decides nothing.
    own = client.post("/account/api-tokens/", {"name": "mine"}).context["created"][1]
    for admins_api in (bearer(own), service_client_for(staff_admin)):
        filed = admins_api.post("/api/v1/requests", {"scope": "all", "reason": "x"}, format="json")
        assert filed.status_code == 403
    assert not DeletionRequest.objects.exists()
    assert not ApiToken.objects.filter(user__in=[member, approver]).exists()
