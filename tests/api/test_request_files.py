"""Uploaded files in the API: the request's counts (null when files were not part of it) and a
page of its files, under the same ownership rules as its items, documented in the schema."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deletions.models import FileErasure
from tests.factories import customer_user
from tests.file_outcomes import erased, failed, settle, shared, started_with_files
from tests.helpers import client_for, submitted_request

FS = FileErasure.Status


@pytest.fixture
def with_files(workspace, customer, member, approver):
    req = started_with_files(submitted_request(workspace, customer, member, runs=5), approver)
    settle(
        req,
        {
            "file_0": erased(0),
            "file_1": erased(1, status=FS.ALREADY_GONE),
            "file_2": shared(2),
            "file_3": {"status": FS.KEPT, "kept_reason": FileErasure.KeptReason.RUN_HELD},
        },
    )
    return req


@pytest.mark.parametrize("who", ["member_api", "admin_api", "viewer_api", "staff_admin_api"])
def test_the_request_detail_counts_its_files(who, request, with_files):
    body = request.getfixturevalue(who).get(f"/api/v1/requests/{with_files.pk}").json()
    assert body["erase_files"] is True
    assert body["files"] == {"total": 5, "erased": 2, "kept": 2, "failed": 0, "in_progress": 1}


def test_a_request_without_files_has_null_counts_not_zeros(member_api, member, workspace, customer):
    req = submitted_request(workspace, customer, member, runs=2)
    body = member_api.get(f"/api/v1/requests/{req.pk}").json()
    assert body["erase_files"] is False
    assert body["files"] is None
    assert member_api.get(f"/api/v1/requests/{req.pk}/files").json() == {
        "results": [],
        "next_cursor": None,
    }
    listed = member_api.get("/api/v1/requests").json()["results"]
    assert [r["erase_files"] for r in listed] == [False]


def test_files_are_listed_in_pages_and_filtered(admin_api, with_files):
    url = f"/api/v1/requests/{with_files.pk}/files"
    first = admin_api.get(url, {"limit": 3}).json()
    second = admin_api.get(url, {"limit": 3, "cursor": first["next_cursor"]}).json()
    assert second["next_cursor"] is None
    rows = {f["file_id"]: f for f in first["results"] + second["results"]}
    assert sorted(rows) == [f"file_{n}" for n in range(5)]
    assert rows["file_0"]["outcome"] == "deleted"
    assert rows["file_0"]["extend_request_id"] == "xfile_0"
    assert rows["file_0"]["confirmed_at"] and rows["file_0"]["verified_at"]
    assert rows["file_1"]["outcome"] == "already_gone"
    assert rows["file_2"]["kept_reason"] == "shared"
    assert rows["file_2"]["used_outside"] == 2
    assert rows["file_2"]["kept_why"] == "Still used by 2 runs not in this request"
    assert rows["file_3"]["kept_why"] == "A run using it is retained for legal reasons"
    assert rows["file_4"]["outcome"] == "in_progress"
    assert rows["file_4"]["status"] == "pending"
    assert rows["file_4"]["runs"] == 1
    kept = admin_api.get(url, {"status": "kept"}).json()["results"]
    assert sorted(f["file_id"] for f in kept) == ["file_2", "file_3"]
    assert admin_api.get(url, {"status": "bogus"}).status_code == 400
    assert admin_api.get(url, {"sort": "id"}).status_code == 400


def test_another_customers_user_and_a_colleague_get_404(outsider_api, customer, with_files):
    url = f"/api/v1/requests/{with_files.pk}/files"
    response = outsider_api.get(url)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    colleague = client_for(customer_user(customer, username="bob"))
    assert colleague.get(url).status_code == 404


def test_a_page_of_files_costs_the_same_queries_whatever_its_size(
    admin_api, workspace, customer, member, approver
):
    small = started_with_files(submitted_request(workspace, customer, member, runs=2), approver)
    large = started_with_files(
        submitted_request(workspace, customer, member, runs=40, prefix="big_"), approver
    )
    for req in (small, large):
        settle(req, {"file_0": failed()})
    admin_api.get(f"/api/v1/requests/{small.pk}/files")
    counts = []
    for req in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert admin_api.get(f"/api/v1/requests/{req.pk}/files").status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_schema_documents_the_files_endpoint_and_counts(member_api):
    schema = member_api.get("/api/v1/schema", {"format": "json"}).json()
    operation = schema["paths"]["/api/v1/requests/{id}/files"]["get"]
    assert operation["operationId"] == "list_request_files"
    assert {p["name"] for p in operation["parameters"]} >= {"id", "status", "cursor", "limit"}
    detail = schema["components"]["schemas"]["Request"]["properties"]
    assert {"erase_files", "files"} <= set(detail)
    counts = schema["components"]["schemas"]["FileCounts"]["properties"]
    assert set(counts) == {"total", "erased", "kept", "failed", "in_progress"}
