from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deletions.gdpr import certificate_checks
from deletions.models import AuditEvent, DeletionRequest, ParseRun, Source
from tests import drive
from tests.factories import customer_user, make_runs
from tests.helpers import force_status, submitted_request

pytestmark = pytest.mark.django_db

RS = DeletionRequest.Status


def test_a_member_files_a_request_by_explicit_ids(member_api, member, workspace, customer):
    ids = make_runs(workspace, customer, 3)
    response = member_api.post(
        "/api/v1/requests",
        {"run_ids": ids[:2], "reason": "contract ended", "kind": "standard"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    req = DeletionRequest.objects.get(pk=body["id"])
    assert response["Location"] == f"/api/v1/requests/{req.pk}"
    assert req.source == Source.API
    assert req.requested_by == member
    assert req.item_count == 2
    assert body["status"] == RS.PENDING_APPROVAL
    assert body["counts"]["total"] == 2
    assert body["counts"]["pending"] == 2
    assert "cancel" in body["allowed_actions"]
    assert AuditEvent.objects.filter(action="request.submitted", source=Source.API).exists()


def test_it_files_all_runs_and_filters(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 3)
    ParseRun.objects.filter(run_id=ids[0]).update(file_name="contract.pdf")
    by_filter = member_api.post(
        "/api/v1/requests",
        {"scope": "filter", "filter": {"file_name_contains": "contract"}, "reason": "r"},
        format="json",
    )
    assert by_filter.status_code == 201, by_filter.json()
    assert by_filter.json()["item_count"] == 1
    assert by_filter.json()["scope_filter"] == {"file_name_contains": "contract"}
    everything = member_api.post("/api/v1/requests", {"scope": "all", "reason": "r"}, format="json")
    assert everything.status_code == 201
    assert everything.json()["item_count"] == 2
    assert everything.json()["required_approvals"] == 2


def test_all_and_filter_scopes_over_the_cap_are_a_422_naming_the_count(
    member_api, settings, workspace, customer
):
    make_runs(workspace, customer, 4)
    settings.MAX_RUNS_PER_REQUEST = 3
    for body in ({"scope": "all"}, {"scope": "filter", "filter": {"file_name_contains": "inv"}}):
        response = member_api.post("/api/v1/requests", {**body, "reason": "r"}, format="json")
        assert response.status_code == 422, response.json()
        assert "matches 4 parse runs; one request can hold at most 3" in str(response.json())
    assert not DeletionRequest.objects.exists()


def test_a_gdpr_request_keeps_only_a_hint_of_the_subject(member_api, workspace, customer):
    ids = make_runs(workspace, customer, 1)
    body = member_api.post(
        "/api/v1/requests",
        {"run_ids": ids, "reason": "Art. 17", "kind": "gdpr", "subject_ref": "jane@example.com"},
        format="json",
    ).json()
    assert body["kind"] == "gdpr"
    assert body["due_on"]
    assert "jane@example.com" not in str(body)


def test_it_refuses_ids_that_are_not_the_customers(member_api, workspace, other_customer):
    ids = make_runs(workspace, other_customer, 2, prefix="theirs_")
    response = member_api.post("/api/v1/requests", {"run_ids": ids, "reason": "r"}, format="json")
    assert response.status_code == 422
    assert response.json()["error"]["message"].startswith("Not among your parse runs")
    assert not DeletionRequest.objects.exists()


def _post_counting_queries(api, ids):
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/requests", {"run_ids": ids, "reason": "r"}, format="json")
    return response, len(queries)


def test_unknown_ids_cost_one_lookup_whatever_their_number(member_api, workspace, customer):
    mine = make_runs(workspace, customer, 3)
    member_api.get("/api/v1/requests")  # the token's first use is recorded once, not counted here
    few, few_queries = _post_counting_queries(member_api, [*mine, "pr_unknown_a", "pr_unknown_b"])
    unknown = [f"pr_unknown_{i:06d}" for i in range(99_997)]
    many, many_queries = _post_counting_queries(member_api, [*mine, *unknown])
    over, over_queries = _post_counting_queries(member_api, [*mine, *unknown, "pr_x", "pr_y"])

    assert few.status_code == many.status_code == 422
    assert many_queries == few_queries
    error = many.json()["error"]
    assert error["details"] == {"unknown": 99_997, "given": 100_000, "examples": unknown[:5]}
    assert error["message"] == (
        f"Not among your parse runs: {', '.join(unknown[:5])} and 99,992 more "
        "(99,997 of the 100,000 ids given)."
    )
    # Past the cap nothing is looked up at all.
    assert over.status_code == 413
    assert over_queries < few_queries
    assert not DeletionRequest.objects.exists()
    assert not ParseRun.objects.filter(open_request__isnull=False).exists()


def test_it_refuses_a_run_already_in_an_open_request(member_api, member, workspace, customer):
    req = submitted_request(workspace, customer, member, runs=1)
    run_id = req.items.get().parse_run.run_id
    response = member_api.post(
        "/api/v1/requests", {"run_ids": [run_id], "reason": "again"}, format="json"
    )
    assert response.status_code == 422
    assert f"open request #{req.pk}" in response.json()["error"]["message"]


def test_it_explains_missing_fields(member_api):
    response = member_api.post("/api/v1/requests", {"scope": "explicit"}, format="json")
    assert response.status_code == 400
    fields = response.json()["error"]["details"]["fields"]
    assert fields == {"reason": ["This field is required."]}
    no_ids = member_api.post("/api/v1/requests", {"reason": "r"}, format="json")
    assert no_ids.status_code == 422
    assert no_ids.json()["error"]["details"]["fields"] == {
        "run_ids": ["Give the ids to delete (scope explicit)."]
    }


def test_it_refuses_a_non_json_body(member_api):
    response = member_api.post("/api/v1/requests", "reason=x", content_type="text/plain")
    assert response.status_code == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


@pytest.mark.parametrize("who", ["viewer_api", "approver_api", "staff_admin_api"])
def test_staff_tokens_cannot_file_requests(who, request):
    response = request.getfixturevalue(who).post(
        "/api/v1/requests", {"scope": "all", "reason": "r"}, format="json"
    )
    assert response.status_code == 403


def test_members_list_their_own_requests_and_admins_all(
    member_api, admin_api, outsider_api, member, customer_admin, workspace, customer
):
    own = submitted_request(workspace, customer, member, runs=1, prefix="a_")
    colleague = submitted_request(workspace, customer, customer_admin, runs=1, prefix="b_")
    listed = lambda client: [r["id"] for r in client.get("/api/v1/requests").json()["results"]]  # noqa: E731
    assert listed(member_api) == [own.pk]
    assert listed(admin_api) == [colleague.pk, own.pk]
    assert listed(outsider_api) == []


@pytest.mark.parametrize("who", ["viewer_api", "approver_api", "staff_admin_api"])
def test_staff_list_every_request_and_filter_by_status(who, request, member, workspace, customer):
    req = submitted_request(workspace, customer, member, runs=1)
    client = request.getfixturevalue(who)
    assert [r["id"] for r in client.get("/api/v1/requests").json()["results"]] == [req.pk]
    assert client.get("/api/v1/requests", {"status": "completed"}).json()["results"] == []


def test_request_lists_page_by_cursor(admin_api, customer_admin, workspace, customer):
    made = [
        submitted_request(workspace, customer, customer_admin, runs=1, prefix=f"p{i}_")
        for i in range(3)
    ]
    first = admin_api.get("/api/v1/requests", {"limit": 2}).json()
    second = admin_api.get("/api/v1/requests", {"limit": 2, "cursor": first["next_cursor"]}).json()
    seen = [r["id"] for r in first["results"] + second["results"]]
    assert seen == [r.pk for r in reversed(made)]
    assert second["next_cursor"] is None


@pytest.mark.parametrize("who", ["member_api", "admin_api", "viewer_api", "staff_admin_api"])
def test_the_request_detail_shows_counts_approvals_and_estimate(
    who, request, member, approver, workspace, customer
):
    req = submitted_request(workspace, customer, member, runs=2)
    req.required_approvals = 2
    req.save(update_fields=["required_approvals"])
    from deletions.requests import transitions

    transitions.approve_request(req, actor=approver, source=Source.WEB, comment="fine")
    body = request.getfixturevalue(who).get(f"/api/v1/requests/{req.pk}").json()
    assert body["id"] == req.pk
    assert body["counts"] == {
        "total": 2,
        "pending": 2,
        "in_flight": 0,
        "unconfirmed": 0,
        "held": 0,
        "deleted": 0,
        "already_gone": 0,
        "failed": 0,
    }
    assert [(a["approver"], a["decision"], a["comment"]) for a in body["approvals"]] == [
        ("anna", "approve", "fine")
    ]
    assert set(body["estimate"]) == {
        "percent",
        "rate_per_second",
        "seconds_left",
        "text",
        "duration_seconds",
    }


def test_another_customers_user_gets_404_on_every_object_url(
    outsider_api, member, workspace, customer
):
    req = submitted_request(workspace, customer, member, runs=1)
    for url in (f"/api/v1/requests/{req.pk}", f"/api/v1/requests/{req.pk}/items"):
        response = outsider_api.get(url)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert outsider_api.post(f"/api/v1/requests/{req.pk}/cancel").status_code == 404
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL


def test_a_member_cannot_see_a_colleagues_request(member_api, customer, workspace):
    colleague = customer_user(customer, username="bob")
    req = submitted_request(workspace, customer, colleague, runs=1)
    assert member_api.get(f"/api/v1/requests/{req.pk}").status_code == 404


def test_items_are_listed_in_pages(admin_api, member, workspace, customer):
    req = submitted_request(workspace, customer, member, runs=3)
    first = admin_api.get(f"/api/v1/requests/{req.pk}/items", {"limit": 2}).json()
    second = admin_api.get(
        f"/api/v1/requests/{req.pk}/items", {"limit": 2, "cursor": first["next_cursor"]}
    ).json()
    run_ids = [i["run_id"] for i in first["results"] + second["results"]]
    assert sorted(run_ids) == sorted(req.items.values_list("parse_run__run_id", flat=True))
    assert {i["status"] for i in first["results"]} == {"pending"}
    failed = admin_api.get(f"/api/v1/requests/{req.pk}/items", {"status": "failed"}).json()
    assert failed["results"] == []


def test_the_requester_cancels_and_the_runs_are_free_again(member_api, member, workspace, customer):
    req = submitted_request(workspace, customer, member, runs=2)
    response = member_api.post(f"/api/v1/requests/{req.pk}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == RS.CANCELLED
    assert not ParseRun.objects.filter(open_request=req).exists()
    assert AuditEvent.objects.filter(action="request.cancelled", source=Source.API).exists()


def test_cancelling_a_running_request_is_a_conflict(member_api, member, workspace, customer):
    req = force_status(submitted_request(workspace, customer, member, runs=1), RS.RUNNING)
    response = member_api.post(f"/api/v1/requests/{req.pk}/cancel")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "invalid_transition",
        "message": f"Request #{req.pk} is running; it cannot be cancelled now.",
        "details": {},
    }


def test_a_viewer_cannot_cancel_but_an_approver_can(
    viewer_api, approver_api, member, workspace, customer
):
    req = submitted_request(workspace, customer, member, runs=1)
    assert viewer_api.post(f"/api/v1/requests/{req.pk}/cancel").status_code == 403
    assert approver_api.post(f"/api/v1/requests/{req.pk}/cancel").status_code == 200


def test_the_certificate_is_there_once_the_request_has_finished(
    member_api, outsider_api, staff_admin_api, member, workspace, customer
):
    req = submitted_request(workspace, customer, member, runs=1)
    early = member_api.get(f"/api/v1/requests/{req.pk}/certificate")
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "not_finished"
    force_status(req, RS.COMPLETED)
    assert outsider_api.get(f"/api/v1/requests/{req.pk}/certificate").status_code == 404
    response = member_api.get(f"/api/v1/requests/{req.pk}/certificate")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["signature"]["algorithm"] == "Ed25519"
    pdf = staff_admin_api.get(f"/api/v1/requests/{req.pk}/certificate.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_the_api_gives_seconds_left_only_while_running_and_the_duration_once_finished(
    member_api, workspace, customer, member, approver
):
    api = member_api
    req = submitted_request(workspace, customer, member, runs=4)
    estimate = api.get(f"/api/v1/requests/{req.pk}").json()["estimate"]
    assert (estimate["seconds_left"], estimate["text"]) == (None, "Waiting for approval")
    drive.approve(req, approver)
    drive.start(req)
    estimate = api.get(f"/api/v1/requests/{req.pk}").json()["estimate"]
    assert estimate["seconds_left"] > 0 and estimate["rate_per_second"] == 10.0
    drive.complete(req, 4)
    drive.finish(req)
    estimate = api.get(f"/api/v1/requests/{req.pk}").json()["estimate"]
    assert estimate["seconds_left"] is None
    assert estimate["duration_seconds"] is not None
    assert estimate["text"].startswith("Finished in")


def test_the_certificate_is_the_latest_version_and_version_fetches_an_earlier_one(
    member_api, outsider_api, staff_admin_api, member, workspace, customer
):
    from django.utils import timezone

    from deletions.models import DeletionItem
    from tests.helpers import finish

    req = finish(submitted_request(workspace, customer, member, runs=2), failed=1)
    url = f"/api/v1/requests/{req.pk}/certificate"
    first = member_api.get(url).json()
    assert first["version"] == 1
    # Staff retried the failed run and it was deleted: the request finished again.
    now = timezone.now()
    DeletionItem.objects.filter(request=req, status="failed").update(
        status="deleted", confirmed_at=now, verified_at=now
    )
    force_status(req, RS.COMPLETED, failed_count=0, deleted_count=2, finished_at=now)
    latest = member_api.get(url)
    assert latest.status_code == 200
    assert latest.json()["version"] == 2
    assert latest.json()["supersedes"]["version"] == 1
    assert 'filename="certificate-of-erasure-' in latest["Content-Disposition"]
    assert f'{req.pk}-v2.json"' in latest["Content-Disposition"]

    old = member_api.get(url, {"version": 1})
    assert old.status_code == 200
    body = old.json()
    assert body["version"] == 1
    assert body["superseded_by"]["version"] == 2
    result = certificate_checks.verify(old.content)
    assert result.valid and result.version == 1 and result.superseded_by == 2
    assert member_api.get(url, {"version": 2}).json()["version"] == 2
    pdf = staff_admin_api.get(f"{url}.pdf", {"version": 1})
    assert pdf.status_code == 200
    assert pdf.content.startswith(b"%PDF")
    assert f'{req.pk}.pdf"' in pdf["Content-Disposition"]

    missing = member_api.get(url, {"version": 3})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    for bad in ("0", "abc", "-1", "99999999999"):
        assert member_api.get(url, {"version": bad}).status_code == 400, bad
    assert member_api.get(url, {"versoin": 1}).status_code == 400
    assert outsider_api.get(url, {"version": 1}).status_code == 404


def test_the_schema_documents_the_version_parameter(member_api):
    schema = member_api.get("/api/v1/schema", {"format": "json"}).json()
    for path in ("/api/v1/requests/{id}/certificate", "/api/v1/requests/{id}/certificate.pdf"):
        parameters = schema["paths"][path]["get"]["parameters"]
        version = next(p for p in parameters if p["name"] == "version")
        assert version["in"] == "query"
        assert version.get("required", False) is False
        assert version["schema"]["minimum"] == 1
