"""Every endpoint for every role, in two tables (reads, staff actions): who gets what."""

from __future__ import annotations

import pytest

from deletions.models import DeletionRequest, LegalHold, Source
from deletions.requests import holds
from deletions.workspaces import health as workspace_health
from tests.factories import new_workspace
from tests.helpers import force_status, submitted_request

pytestmark = pytest.mark.django_db

ROLES = [
    "member_api",
    "admin_api",
    "outsider_api",
    "viewer_api",
    "approver_api",
    "staff_admin_api",
    # Service accounts: customer A's acts as a member of it; the operator's only reads.
    "customer_service_api",
    "operator_service_api",
]

# endpoint -> status per role, in ROLES order. {id} is a finished request filed by the member.
EXPECTED = {
    "/api/v1/runs": (200, 200, 200, 403, 403, 403, 200, 403),
    "/api/v1/requests": (200, 200, 200, 200, 200, 200, 200, 200),
    "/api/v1/queue": (403, 403, 403, 200, 200, 200, 403, 200),
    "/api/v1/holds": (403, 403, 403, 200, 200, 200, 403, 200),
    "/api/v1/gdpr/register": (403, 403, 403, 200, 200, 200, 403, 200),
    "/api/v1/retention-policies": (200, 200, 200, 200, 200, 200, 200, 200),
    "/api/v1/retention-exemptions": (200, 200, 200, 200, 200, 200, 200, 200),
    "/api/v1/retention-policies/switch": (403, 403, 403, 200, 200, 200, 403, 200),
    "/api/v1/requests/{id}": (200, 200, 404, 200, 200, 200, 404, 200),
    "/api/v1/requests/{id}/items": (200, 200, 404, 200, 200, 200, 404, 200),
    "/api/v1/requests/{id}/files": (200, 200, 404, 200, 200, 200, 404, 200),
    "/api/v1/requests/{id}/certificate": (200, 200, 404, 200, 200, 200, 404, 200),
}


@pytest.mark.parametrize("url", list(EXPECTED))
def test_each_role_gets_the_right_answer(url, request, member, workspace, customer):
    req = force_status(
        submitted_request(workspace, customer, member, runs=1), DeletionRequest.Status.COMPLETED
    )
    got = tuple(
        request.getfixturevalue(role).get(url.format(id=req.pk)).status_code for role in ROLES
    )
    assert dict(zip(ROLES, got, strict=True)) == dict(zip(ROLES, EXPECTED[url], strict=True))


def test_the_outsider_sees_none_of_the_customers_requests_or_runs(
    outsider_api, member, workspace, customer
):
    submitted_request(workspace, customer, member, runs=2)
    assert outsider_api.get("/api/v1/requests").json()["results"] == []
    assert outsider_api.get("/api/v1/runs").json()["results"] == []


# Staff actions on holds and workspaces: endpoint -> status per role, in ROLES order. Each role
# acts on objects of its own, in the state the action starts from.
ACTIONS = {
    "place_hold": (403, 403, 403, 403, 403, 201, 403, 403),
    "lift_hold": (403, 403, 403, 403, 403, 200, 403, 403),
    "pause_workspace": (403, 403, 403, 403, 200, 200, 403, 403),
    "resume_workspace": (403, 403, 403, 403, 200, 200, 403, 403),
}


def _action(name, customer, staff_admin):
    """A fresh (url, body) for one call of the action *name*."""
    if name == "place_hold":
        return "/api/v1/holds", {
            "scope": "customer",
            "customer": customer.external_ref,
            "reason": "Litigation",
            "reference": "LIT-1",
        }
    if name == "lift_hold":
        hold = holds.place_hold(
            scope=LegalHold.Scope.CUSTOMER, customer=customer, reason="Litigation",
            reference="LIT-1", actor=staff_admin, source=Source.WEB,
        )  # fmt: skip
        return f"/api/v1/holds/{hold.pk}/lift", {"reason": "Settled"}
    workspace = new_workspace()
    if name == "resume_workspace":
        workspace_health.pause_workspace(workspace, actor=staff_admin, source=Source.WEB)
    verb = name.split("_")[0]
    return f"/api/v1/workspaces/{workspace.pk}/{verb}", {}


@pytest.mark.parametrize("name", list(ACTIONS))
def test_each_role_gets_the_right_answer_from_the_staff_actions(
    name, request, customer, staff_admin
):
    got = []
    for role in ROLES:
        url, body = _action(name, customer, staff_admin)
        got.append(request.getfixturevalue(role).post(url, body, format="json").status_code)
    assert dict(zip(ROLES, got, strict=True)) == dict(zip(ROLES, ACTIONS[name], strict=True))
