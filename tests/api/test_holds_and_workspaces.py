"""The staff API for legal holds and workspace pausing: the console's rules, audited as API."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from deletions.models import (
    AuditEvent,
    DeletionItem,
    DeletionRequest,
    LegalHold,
    Source,
    Workspace,
)
from deletions.requests import holds, transitions
from deletions.workspaces import health as workspace_health
from tests.factories import WorkspaceFactory, make_runs
from tests.helpers import HOLD_REASON as REASON
from tests.helpers import HOLD_REFERENCE as REFERENCE
from tests.helpers import submitted_request

pytestmark = pytest.mark.django_db

IS = DeletionItem.Status
RS = DeletionRequest.Status
HOLDS = "/api/v1/holds"


def _hold_body(**fields):
    return {"reason": REASON, "reference": REFERENCE, **fields}


def _place(client, **fields):
    return client.post(HOLDS, _hold_body(**fields), format="json")


def _lift(client, hold, reason="Case settled"):
    return client.post(f"{HOLDS}/{hold.pk}/lift", {"reason": reason}, format="json")


def _pause(client, workspace, reason="Extend maintenance tonight"):
    return client.post(
        f"/api/v1/workspaces/{workspace.pk}/pause", {"reason": reason}, format="json"
    )


def _resume(client, workspace):
    return client.post(f"/api/v1/workspaces/{workspace.pk}/resume", {}, format="json")


def _running(req):
    """Approve and start *req* as the engine would (its items pending, due now)."""
    DeletionRequest.objects.filter(pk=req.pk).update(status=RS.APPROVED)
    return transitions.start_request(req, actor=None, source=Source.SYSTEM)


def _statuses(req):
    return sorted(req.items.values_list("status", flat=True))


@pytest.fixture
def other_workspace(db):
    return WorkspaceFactory(name="Other workspace")


# --- Placing a hold ---------------------------------------------------------------------------


def test_an_admin_places_a_customer_hold_and_the_audit_says_api(
    staff_admin_api, staff_admin, customer, pending_request
):
    response = _place(staff_admin_api, scope="customer", customer=customer.external_ref)
    assert response.status_code == 201, response.json()
    hold = LegalHold.objects.get()
    body = response.json()
    assert body["id"] == hold.pk
    assert {k: body[k] for k in ("active", "scope", "customer", "workspace", "run_count")} == {
        "active": True,
        "scope": "customer",
        "customer": customer.external_ref,
        "workspace": None,
        "run_count": None,
    }
    assert (body["reason"], body["reference"], body["placed_by"]) == (
        REASON,
        REFERENCE,
        staff_admin.username,
    )
    assert body["ends_on"] is None and body["lifted_at"] is None
    event = AuditEvent.objects.get(action="hold.placed")
    assert (event.source, event.actor_id, event.object_id) == ("api", staff_admin.pk, str(hold.pk))
    assert _statuses(pending_request) == [IS.HELD] * 3


def test_placing_a_hold_moves_the_covered_pending_items_of_a_running_request_to_held(
    staff_admin_api, workspace, customer, member
):
    req = _running(submitted_request(workspace, customer, member, runs=4))
    done, sent, *waiting = req.items.order_by("id")
    DeletionItem.objects.filter(pk=done.pk).update(status=IS.DELETED)
    DeletionItem.objects.filter(pk=sent.pk).update(status=IS.IN_FLIGHT)

    response = _place(staff_admin_api, scope="customer", customer=customer.external_ref)

    assert response.status_code == 201
    req.refresh_from_db()
    assert req.status == RS.RUNNING
    assert set(req.items.filter(status=IS.HELD)) == set(waiting)
    assert req.held_count == 2
    # What was deleted or already sent to Extend stays as it was.
    assert DeletionItem.objects.get(pk=done.pk).status == IS.DELETED
    assert DeletionItem.objects.get(pk=sent.pk).status == IS.IN_FLIGHT


def test_a_workspace_hold_holds_the_waiting_items_of_every_customer_in_it(
    staff_admin_api, workspace, other_workspace, customer, other_customer, member, outsider
):
    mine = submitted_request(workspace, customer, member, runs=2, prefix="m_")
    theirs = submitted_request(workspace, other_customer, outsider, runs=2, prefix="t_")
    elsewhere = submitted_request(other_workspace, customer, member, runs=1, prefix="e_")
    response = _place(staff_admin_api, scope="workspace", workspace=workspace.pk)
    assert response.status_code == 201
    assert (response.json()["workspace"], response.json()["customer"]) == (workspace.pk, None)
    assert _statuses(mine) == _statuses(theirs) == [IS.HELD] * 2
    assert _statuses(elsewhere) == [IS.PENDING]


def test_a_hold_on_listed_runs_takes_extend_run_ids_and_holds_only_those(
    staff_admin_api, pending_request
):
    items = list(pending_request.items.select_related("parse_run").order_by("id"))
    run_ids = [items[0].parse_run.run_id, items[2].parse_run.run_id]
    response = _place(staff_admin_api, scope="runs", run_ids=[*run_ids, run_ids[0]])
    assert response.status_code == 201, response.json()
    assert response.json()["run_count"] == 2
    hold = LegalHold.objects.get()
    assert set(hold.runs.values_list("run_id", flat=True)) == set(run_ids)
    held = pending_request.items.filter(status=IS.HELD)
    assert set(held.values_list("parse_run__run_id", flat=True)) == set(run_ids)
    assert pending_request.items.get(pk=items[1].pk).status == IS.PENDING


def test_unknown_run_ids_are_a_400_naming_them_and_nothing_is_held(
    staff_admin_api, pending_request
):
    known = pending_request.items.first().parse_run.run_id
    response = _place(staff_admin_api, scope="runs", run_ids=[known, "pr_nope_1", "pr_nope_2"])
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "unknown_run_ids"
    assert "2 of these run ids are not in the inventory: pr_nope_1, pr_nope_2" in error["message"]
    assert error["details"]["run_ids"] == ["pr_nope_1", "pr_nope_2"]
    assert not LegalHold.objects.exists()
    assert _statuses(pending_request) == [IS.PENDING] * 3
    assert not AuditEvent.objects.filter(action="hold.placed").exists()


def test_a_run_id_known_in_two_workspaces_needs_the_workspace(
    staff_admin_api, workspace, other_workspace, customer
):
    other = other_workspace
    (run_id,) = make_runs(workspace, customer, 1, prefix="dup_")
    make_runs(other, customer, 1, prefix="dup_")

    response = _place(staff_admin_api, scope="runs", run_ids=[run_id])
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "ambiguous_run_ids"
    assert "say which with workspace" in response.json()["error"]["message"]
    assert not LegalHold.objects.exists()

    response = _place(staff_admin_api, scope="runs", run_ids=[run_id], workspace=other.pk)
    assert response.status_code == 201
    assert LegalHold.objects.get().runs.get().workspace == other


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({}, "scope"),
        ({"scope": "everything"}, "scope"),
        ({"scope": "customer"}, "customer"),
        ({"scope": "customer", "customer": "cust_unknown"}, "customer"),
        ({"scope": "workspace", "workspace": 987654321}, "workspace"),
        ({"scope": "workspace"}, "workspace"),
        ({"scope": "runs"}, "run_ids"),
        ({"scope": "runs", "run_ids": []}, "run_ids"),
        ({"scope": "runs", "run_ids": "pr_1"}, "run_ids"),
        ({"scope": "customer", "customer": "{ref}", "run_ids": ["pr_1"]}, "run_ids"),
        ({"scope": "workspace", "workspace": "{ws}", "customer": "{ref}"}, "customer"),
        ({"scope": "customer", "customer": "{ref}", "reason": "   "}, "reason"),
        ({"scope": "customer", "customer": "{ref}", "reference": ""}, "reference"),
        ({"scope": "customer", "customer": "{ref}", "ends_on": "{yesterday}"}, "ends_on"),
        ({"scope": "customer", "customer": "{ref}", "ends_on": "soon"}, "ends_on"),
    ],
)
def test_bad_input_to_place_a_hold_is_a_400_and_creates_nothing(
    fields, field, staff_admin_api, customer, workspace, pending_request
):
    values = {
        "{ref}": customer.external_ref,
        "{ws}": workspace.pk,
        "{yesterday}": str(timezone.localdate() - timedelta(days=1)),
    }
    body = {k: values.get(v, v) if isinstance(v, str) else v for k, v in fields.items()}
    response = staff_admin_api.post(HOLDS, {**_hold_body(), **body}, format="json")
    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["message"].startswith(f"The request is not valid: {field}: ")
    assert field in error["details"]["fields"]
    assert not LegalHold.objects.exists()
    assert _statuses(pending_request) == [IS.PENDING] * 3


@pytest.mark.parametrize("who", ["viewer_api", "approver_api"])
def test_viewers_and_approvers_cannot_place_or_lift_a_hold(who, request, customer, hold):
    client = request.getfixturevalue(who)
    response = _place(client, scope="customer", customer=customer.external_ref)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == (
        "Only staff administrators may place or lift legal holds."
    )
    assert _lift(client, hold).status_code == 403
    assert LegalHold.objects.count() == 1
    hold.refresh_from_db()
    assert hold.lifted_at is None


# --- Lifting a hold ---------------------------------------------------------------------------


def test_an_admin_lifts_a_hold_and_its_items_go_back_to_work(
    staff_admin_api, staff_admin, hold, pending_request
):
    assert _statuses(pending_request) == [IS.HELD] * 3
    response = _lift(staff_admin_api, hold, reason="Case settled")
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["active"], body["lift_reason"]) == (hold.pk, False, "Case settled")
    assert body["lifted_by"] == staff_admin.username and body["lifted_at"]
    assert _statuses(pending_request) == [IS.PENDING] * 3
    event = AuditEvent.objects.get(action="hold.lifted")
    assert (event.source, event.actor_id) == ("api", staff_admin.pk)
    assert event.detail["reason"] == "Case settled"


def test_lifting_a_hold_twice_is_a_409(staff_admin_api, hold):
    assert _lift(staff_admin_api, hold).status_code == 200
    again = _lift(staff_admin_api, hold)
    assert again.status_code == 409
    assert again.json()["error"] == {
        "code": "invalid_transition",
        "message": "This hold has already been lifted.",
        "details": {},
    }
    assert AuditEvent.objects.filter(action="hold.lifted").count() == 1


def test_lifting_a_hold_past_its_end_date_is_a_409(staff_admin_api, hold):
    LegalHold.objects.filter(pk=hold.pk).update(ends_on=timezone.localdate() - timedelta(days=1))
    response = _lift(staff_admin_api, hold)
    assert response.status_code == 409
    assert "nothing to lift" in response.json()["error"]["message"]
    assert not AuditEvent.objects.filter(action="hold.lifted").exists()


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "  "}])
def test_lifting_a_hold_needs_a_reason(body, staff_admin_api, hold, pending_request):
    response = staff_admin_api.post(f"{HOLDS}/{hold.pk}/lift", body, format="json")
    assert response.status_code == 400
    assert "reason" in response.json()["error"]["details"]["fields"]
    hold.refresh_from_db()
    assert hold.lifted_at is None
    assert _statuses(pending_request) == [IS.HELD] * 3


def test_lifting_an_unknown_hold_is_a_404(staff_admin_api, db):
    response = staff_admin_api.post(f"{HOLDS}/987654321/lift", {"reason": "x"}, format="json")
    assert response.status_code == 404


# --- Listing holds ----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["viewer_api", "approver_api", "staff_admin_api"])
def test_every_staff_role_lists_the_holds_newest_first(who, request, hold, staff_admin, workspace):
    run_ids = make_runs(workspace, None, 2, prefix="listed_")
    newer = holds.place_hold(
        scope=LegalHold.Scope.RUNS,
        runs=list(workspace.parse_runs.filter(run_id__in=run_ids)),
        reason="Regulator inquiry",
        reference="REG-7",
        ends_on=timezone.localdate() + timedelta(days=30),
        actor=staff_admin,
        source=Source.WEB,
    )
    response = request.getfixturevalue(who).get(HOLDS)
    assert response.status_code == 200
    results = response.json()["results"]
    assert [h["id"] for h in results] == [newer.pk, hold.pk]
    assert results[0]["run_count"] == 2
    assert results[0]["ends_on"] == str(newer.ends_on)
    assert results[1]["customer"] == hold.customer.external_ref
    assert {h["placed_by"] for h in results} == {staff_admin.username}
    assert all(h["active"] for h in results)


def test_the_hold_list_filters_active_and_lifted_holds(staff_admin_api, staff_admin, hold):
    ended = LegalHold.objects.create(
        scope=LegalHold.Scope.CUSTOMER,
        customer=hold.customer,
        reason="Old matter",
        reference="OLD-1",
        ends_on=timezone.localdate() - timedelta(days=3),
        placed_by=staff_admin,
        placed_at=timezone.now() - timedelta(days=10),
    )

    def ids(state):
        return [h["id"] for h in staff_admin_api.get(HOLDS, {"state": state}).json()["results"]]

    assert ids("active") == [hold.pk]
    assert ids("lifted") == [ended.pk]
    _lift(staff_admin_api, hold)
    assert ids("active") == []
    assert ids("lifted") == [hold.pk, ended.pk]


def test_the_hold_list_pages_with_a_constant_number_of_queries(
    staff_admin_api, staff_admin, customer, workspace
):
    def place(n):
        for i in range(n):
            run_ids = make_runs(workspace, customer, 2, prefix=f"q{LegalHold.objects.count()}_")
            holds.place_hold(
                scope=LegalHold.Scope.RUNS,
                runs=list(workspace.parse_runs.filter(run_id__in=run_ids)),
                reason="r",
                reference=f"R-{i}",
                actor=staff_admin,
                source=Source.WEB,
            )

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert staff_admin_api.get(HOLDS, {"limit": 50}).status_code == 200
        return len(ctx.captured_queries)

    staff_admin_api.get(HOLDS)  # the token's first use is written down once
    place(2)
    few = count()
    place(6)
    assert count() == few
    first = staff_admin_api.get(HOLDS, {"limit": 5}).json()
    rest = staff_admin_api.get(HOLDS, {"limit": 5, "cursor": first["next_cursor"]}).json()
    assert len(first["results"]) == 5 and len(rest["results"]) == 3
    assert rest["next_cursor"] is None


# --- Pausing and resuming a workspace ---------------------------------------------------------


@pytest.mark.parametrize("who", ["approver_api", "staff_admin_api"])
def test_an_approver_or_admin_pauses_a_workspace_and_its_health_says_paused(
    who, request, workspace
):
    response = _pause(request.getfixturevalue(who), workspace, reason="Extend maintenance")
    assert response.status_code == 200
    assert response.json() == {
        "id": workspace.pk,
        "name": workspace.name,
        "health": "paused",
        "health_reason": "Extend maintenance",
        "health_changed_at": response.json()["health_changed_at"],
    }
    workspace.refresh_from_db()
    assert (workspace.health, workspace.health_reason) == (
        Workspace.Health.PAUSED,
        "Extend maintenance",
    )
    event = AuditEvent.objects.get(action="workspace.stopped")
    assert event.source == "api"
    assert event.after == {"health": "paused"}


def test_pausing_without_a_reason_says_paused_by_staff(approver_api, workspace):
    response = approver_api.post(f"/api/v1/workspaces/{workspace.pk}/pause", {}, format="json")
    assert response.status_code == 200
    assert response.json()["health_reason"] == "Paused by staff"


def test_pausing_a_paused_workspace_is_a_409(approver_api, workspace):
    assert _pause(approver_api, workspace).status_code == 200
    again = _pause(approver_api, workspace)
    assert again.status_code == 409
    assert again.json()["error"]["message"] == f"Workspace {workspace.name} is already paused."
    assert AuditEvent.objects.filter(action="workspace.stopped").count() == 1


def test_an_approver_resumes_a_paused_workspace(approver_api, approver, workspace):
    workspace_health.pause_workspace(workspace, actor=approver, source=Source.WEB)
    response = _resume(approver_api, workspace)
    assert response.status_code == 200
    assert (response.json()["health"], response.json()["health_reason"]) == ("active", "")
    workspace.refresh_from_db()
    assert workspace.health == Workspace.Health.ACTIVE
    event = AuditEvent.objects.get(action="workspace.resumed")
    assert (event.source, event.actor_id) == ("api", approver.pk)


def test_resuming_an_active_workspace_is_a_409(approver_api, workspace):
    response = _resume(approver_api, workspace)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invalid_transition"
    assert not AuditEvent.objects.filter(action="workspace.resumed").exists()


def test_a_viewer_cannot_pause_or_resume_a_workspace(viewer_api, approver, workspace):
    assert _pause(viewer_api, workspace).status_code == 403
    workspace.refresh_from_db()
    assert workspace.health == Workspace.Health.ACTIVE
    workspace_health.pause_workspace(workspace, actor=approver, source=Source.WEB)
    assert _resume(viewer_api, workspace).status_code == 403
    workspace.refresh_from_db()
    assert workspace.health == Workspace.Health.PAUSED


def test_pausing_an_unknown_workspace_is_a_404(approver_api, db):
    assert approver_api.post("/api/v1/workspaces/987654321/pause", {}).status_code == 404


def test_a_workspace_answer_never_shows_its_secrets(approver_api, approver):
    workspace = WorkspaceFactory(api_key="sk_live_never_shown_9876")
    paused = _pause(approver_api, workspace)
    resumed = _resume(approver_api, workspace)
    for response in (paused, resumed):
        text = response.content.decode()
        for secret in ("sk_live_never_shown_9876", "wss_test_secret_wxyz", "9876", "wxyz"):
            assert secret not in text
        assert set(response.json()) == {
            "id",
            "name",
            "health",
            "health_reason",
            "health_changed_at",
        }


# --- Who may call at all ----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["member_api", "admin_api", "outsider_api"])
def test_customer_tokens_get_403_from_every_hold_and_workspace_endpoint(
    who, request, hold, workspace, customer
):
    client = request.getfixturevalue(who)
    assert client.get(HOLDS).status_code == 403
    assert _place(client, scope="customer", customer=customer.external_ref).status_code == 403
    assert _lift(client, hold).status_code == 403
    assert _pause(client, workspace).status_code == 403
    assert _resume(client, workspace).status_code == 403
    assert LegalHold.objects.count() == 1
    workspace.refresh_from_db()
    assert workspace.health == Workspace.Health.ACTIVE


# --- Committed before the answer --------------------------------------------------------------


def _seen_from_another_connection(query):
    """Run *query* on a fresh database connection (another thread): it sees committed rows only."""
    seen = []

    def look():
        try:
            seen.append(query())
        finally:
            connections.close_all()

    thread = threading.Thread(target=look)
    thread.start()
    thread.join(timeout=30)
    return seen[0]


@pytest.mark.django_db(transaction=True)
def test_the_hold_and_the_pause_are_committed_when_the_call_answers(
    staff_admin_api, customer, workspace, pending_request
):
    def item_statuses():
        return _statuses(DeletionRequest.objects.get(pk=pending_request.pk))

    assert _seen_from_another_connection(item_statuses) == [IS.PENDING] * 3
    response = _place(staff_admin_api, scope="customer", customer=customer.external_ref)
    assert response.status_code == 201
    assert _seen_from_another_connection(item_statuses) == [IS.HELD] * 3
    assert _pause(staff_admin_api, workspace).status_code == 200
    assert (
        _seen_from_another_connection(lambda: Workspace.objects.get(pk=workspace.pk).health)
        == Workspace.Health.PAUSED
    )
