"""The API's erase_files: asked for on submission (optional, the default rule when left out, GDPR
always), shown on every request to its customer and to staff, and documented in the schema."""

from __future__ import annotations

import pytest

from deletions.models import AuditEvent, DeletionRequest
from tests.factories import make_runs

pytestmark = pytest.mark.django_db

URL = "/api/v1/requests"


def _file(api, **body):
    response = api.post(URL, {"reason": "contract ended", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_left_out_it_follows_the_rule(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 4)
    assert _file(member_api, run_ids=ids[:1])["erase_files"] is False
    customer.erase_files_default = True
    customer.save()
    assert _file(member_api, run_ids=ids[1:2])["erase_files"] is True
    assert _file(member_api, scope="all")["erase_files"] is True


def test_the_requester_says_whether_the_files_go(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 2)
    body = _file(member_api, run_ids=ids[:1], erase_files=True)
    assert body["erase_files"] is True
    assert DeletionRequest.objects.get(pk=body["id"]).erase_files
    event = AuditEvent.objects.get(action="request.submitted", request_id=body["id"])
    assert event.detail["erase_files"] is True
    assert _file(member_api, scope="all", erase_files=False)["erase_files"] is False


def test_a_gdpr_request_erases_the_files_even_when_asked_not_to(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 1)
    body = _file(member_api, run_ids=ids, kind="gdpr", subject_ref="ticket-9", erase_files=False)
    assert body["erase_files"] is True


def test_only_json_booleans_are_taken(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 1)
    for wrong in ("yes", 1, "true", None):
        response = member_api.post(
            URL, {"run_ids": ids, "reason": "r", "erase_files": wrong}, format="json"
        )
        assert response.status_code == 400, wrong
    assert not DeletionRequest.objects.exists()


def test_the_customer_and_staff_read_it_on_the_request_and_in_lists(
    member_api, viewer_api, workspace, customer
):
    ids = make_runs(workspace, customer, 1)
    pk = _file(member_api, run_ids=ids, erase_files=True)["id"]
    for api in (member_api, viewer_api):
        assert api.get(f"{URL}/{pk}").json()["erase_files"] is True
        assert api.get(URL).json()["results"][0]["erase_files"] is True


def test_the_schema_documents_it(client):
    schemas = client.get("/api/v1/schema").json()["components"]["schemas"]
    asked = schemas["RequestCreateRequest"]["properties"]["erase_files"]
    assert asked["type"] == "boolean"
    assert "GDPR requests always erase them" in asked["description"]
    assert "erase_files" not in schemas["RequestCreateRequest"].get("required", [])
    assert schemas["Request"]["properties"]["erase_files"]["type"] == "boolean"
    assert "erase_files" in schemas["Request"]["required"]
