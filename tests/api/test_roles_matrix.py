"""Every read endpoint for every role, in one table: who gets what."""

from __future__ import annotations

import pytest

from deletions.models import DeletionRequest
from tests.helpers import force_status, submitted_request

pytestmark = pytest.mark.django_db

ROLES = ["member_api", "admin_api", "outsider_api", "viewer_api", "approver_api", "staff_admin_api"]

# endpoint -> status per role, in ROLES order. {id} is a finished request filed by the member.
EXPECTED = {
    "/api/v1/runs": (200, 200, 200, 403, 403, 403),
    "/api/v1/requests": (200, 200, 200, 200, 200, 200),
    "/api/v1/queue": (403, 403, 403, 200, 200, 200),
    "/api/v1/requests/{id}": (200, 200, 404, 200, 200, 200),
    "/api/v1/requests/{id}/items": (200, 200, 404, 200, 200, 200),
    "/api/v1/requests/{id}/certificate": (200, 200, 404, 200, 200, 200),
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
