from __future__ import annotations

from datetime import UTC, datetime

import pytest

from deletions.models import ParseRun
from tests.factories import make_runs
from tests.helpers import submitted_request

pytestmark = pytest.mark.django_db


def test_it_lists_the_customers_runs_newest_first(member_api, workspace, customer, other_customer):
    ids = make_runs(workspace, customer, 3)
    make_runs(workspace, other_customer, 2, prefix="other_")
    body = member_api.get("/api/v1/runs").json()
    assert [r["id"] for r in body["results"]] == sorted(ids, reverse=True)
    assert body["next_cursor"] is None
    assert {r["state"] for r in body["results"]} == {"present"}


def test_it_pages_with_an_opaque_cursor(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 5)
    first = member_api.get("/api/v1/runs", {"limit": 2}).json()
    assert len(first["results"]) == 2
    second = member_api.get("/api/v1/runs", {"limit": 2, "cursor": first["next_cursor"]}).json()
    third = member_api.get("/api/v1/runs", {"limit": 2, "cursor": second["next_cursor"]}).json()
    seen = [r["id"] for page in (first, second, third) for r in page["results"]]
    assert seen == sorted(ids, reverse=True)
    assert third["next_cursor"] is None


@pytest.mark.parametrize("limit", ["6.0", "2e1", "true", " ", "0x10"])
def test_a_limit_that_is_not_a_whole_number_is_refused(member_api, limit):
    # The schema says integer; DRF's own field would take "6.0" and answer 200.
    response = member_api.get("/api/v1/runs", {"limit": limit})
    assert response.status_code == 400
    assert "limit" in response.json()["error"]["details"]["fields"]


def test_it_refuses_a_bad_cursor(member_api):
    response = member_api.get("/api/v1/runs", {"cursor": "not-a-cursor"})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_cursor"


def test_it_filters_by_file_name_status_and_state(member_api, workspace, customer, member):
    ids = make_runs(workspace, customer, 4)
    ParseRun.objects.filter(run_id=ids[0]).update(
        file_name="contract-7.pdf", extend_status="FAILED"
    )
    req = submitted_request(workspace, customer, member, runs=2, prefix="held_")
    by_name = member_api.get("/api/v1/runs", {"file_name_contains": "CONTRACT"}).json()
    assert [r["id"] for r in by_name["results"]] == [ids[0]]
    by_status = member_api.get("/api/v1/runs", {"status": "FAILED"}).json()
    assert [r["id"] for r in by_status["results"]] == [ids[0]]
    pending = member_api.get("/api/v1/runs", {"state": "pending"}).json()["results"]
    assert {r["open_request"] for r in pending} == {req.pk}
    assert len(pending) == 2


def test_it_filters_by_creation_dates(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 3)  # all created on 2026-01-01
    ParseRun.objects.filter(run_id=ids[1]).update(
        extend_created_at=datetime(2026, 2, 3, tzinfo=UTC)
    )
    response = member_api.get(
        "/api/v1/runs", {"created_from": "2026-02-01", "created_to": "2026-02-28"}
    )
    assert [r["id"] for r in response.json()["results"]] == [ids[1]]
    earlier = member_api.get("/api/v1/runs", {"created_to": "2026-01-31"}).json()["results"]
    assert {r["id"] for r in earlier} == {ids[0], ids[2]}


def test_it_refuses_invalid_filters_in_the_error_shape(member_api):
    response = member_api.get("/api/v1/runs", {"created_from": "yesterday", "state": "odd"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "bad_request"
    assert set(error["details"]["fields"]) == {"created_from", "state"}


@pytest.mark.parametrize("who", ["viewer_api", "approver_api", "staff_admin_api"])
def test_staff_tokens_cannot_list_runs(who, request):
    response = request.getfixturevalue(who).get("/api/v1/runs")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == "This endpoint is for customer tokens."


def test_it_refuses_unknown_parameters(member_api):
    response = member_api.get("/api/v1/runs", {"file_name": "x"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"] == {"file_name": ["Unknown parameter."]}


def test_runs_carry_their_file_id_even_once_deleted(member_api, workspace, customer):
    shared, unknown, deleted = make_runs(workspace, customer, 3)
    ParseRun.objects.filter(run_id__in=[shared, deleted]).update(file_id="file_7c2e")
    ParseRun.objects.filter(run_id=deleted).update(state=ParseRun.State.DELETED, file_name="")

    rows = member_api.get("/api/v1/runs").json()["results"]

    assert {r["id"]: r["file_id"] for r in rows} == {
        shared: "file_7c2e",
        unknown: "",
        deleted: "file_7c2e",
    }
