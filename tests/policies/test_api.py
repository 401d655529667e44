"""The retention-policy API through its HTTP client with real tokens: propose, approve (four
eyes), evaluate, read back; change, pause, resume, retire; exemptions; the console's switch;
who may do what, and that no customer sees or touches another's policies."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests
import schemathesis
import time_machine
from django.test import override_settings

from deletions.models import (
    AuditEvent,
    DeletionRequest,
    Membership,
    ParseRun,
    RetentionExemption,
    RetentionPolicy,
    Source,
)
from deletions.notifications import retention_emails
from deletions.policies import evaluation, exemptions, rules
from portal.wsgi import application
from tests.factories import WorkspaceFactory, customer_user
from tests.helpers import client_for
from tests.policies.conftest import NOW, aged_runs

pytestmark = pytest.mark.django_db

POLICIES = "/api/v1/retention-policies"
EXEMPTIONS = "/api/v1/retention-exemptions"
SWITCH = f"{POLICIES}/switch"
ST = RetentionPolicy.Status
# The API's own schema (public, loaded once), to check answers against.
SPEC = schemathesis.openapi.from_wsgi("/api/v1/schema", application)
# Policies are proposed eight days before NOW: their first action (seven days' notice after
# approval) is then past at NOW.
PROPOSED = NOW - timedelta(days=8)


@pytest.fixture(autouse=True)
def _fresh_throttle(fresh_throttle):
    """Every API test starts from zero requests counted."""


@pytest.fixture
def clock():
    with time_machine.travel(PROPOSED, tick=False) as traveller:
        yield traveller


@pytest.fixture
def runs(workspace, customer, other_customer):
    """The customer's runs 40, 31, 29 and 5 days old at NOW; another customer's, 400 days."""
    aged_runs(workspace, customer, [40, 31, 29, 5], prefix="a_")
    aged_runs(workspace, other_customer, [400], prefix="o_")


@pytest.fixture
def outsider_admin_api(other_customer):
    return client_for(customer_user(other_customer, role=Membership.Role.ADMIN, username="otto"))


def _body(**fields):
    return {"name": "Thirty days", "reason": "Contract 7.2: kept 30 days", **fields}


def _propose(client, **fields):
    return client.post(POLICIES, _body(**fields), format="json")


def _act(client, policy_id, action, **body):
    return client.post(f"{POLICIES}/{policy_id}/{action}", body, format="json")


def _documented(response, method, path):
    """*response* (of *method* on the schema's *path*), checked against the schema: its status
    documented, its body of the documented shape; returned for further checks."""
    answer = schemathesis.Response(
        status_code=response.status_code,
        headers={name.lower(): [value] for name, value in response.headers.items()},
        content=response.content,
        request=requests.Request(
            method, f"http://testserver{response.request['PATH_INFO']}"
        ).prepare(),
        elapsed=0.0,
        verify=False,
    )
    SPEC[path][method].validate_response(answer)
    return response


def _after_notice(policy):
    """A minute after the policy may first act: its notice sent now (as beat's tick would) and
    its notice period over."""
    retention_emails.send_first_action_notices()
    policy.refresh_from_db()
    assert policy.first_action_at is not None
    return policy.first_action_at + timedelta(minutes=1)


def _error(response):
    return response.json()["error"]


def _policy(customer, proposer, **values):
    values = {"name": "Thirty days", "reason": "Contract 7.2", "older_than_days": 30, **values}
    return rules.propose_policy(
        customer, rules.PolicyValues(**values), actor=proposer, source=Source.WEB
    )


def _active(customer, proposer, approvers, **values):
    policy = _policy(customer, proposer, **values)
    for approver in approvers[: policy.required_approvals]:
        policy = rules.approve_policy(policy, actor=approver, source=Source.WEB)
    return policy


# --- The whole flow ---


def test_a_policy_proposed_approved_by_two_and_evaluated_shows_its_request(
    clock, runs, admin_api, approver_api, second_approver_api, customer
):
    proposed = _propose(admin_api, older_than_days=30)
    assert proposed.status_code == 201
    body = proposed.json()
    assert body["status"] == "pending_approval"
    assert body["customer"] == customer.pk
    # Unnarrowed: it covers every run of the customer, so two approvers.
    assert (body["required_approvals"], body["approvals_given"]) == (2, 0)
    assert proposed["Location"] == f"{POLICIES}/{body['id']}"
    # At proposal (NOW - 8 days) only the 40-day-old run is past 30 days.
    preview = body["preview"]
    assert (preview["count"], preview["more"]) == (1, False)
    assert [run["id"] for run in preview["first_page"]] == ["a_40d_0"]
    assert body["not_acting_because"] == "the policy is pending approval"
    assert body["allowed_actions"] == ["change", "approve", "reject", "retire"]

    first = _act(approver_api, body["id"], "approve", comment="Matches the contract")
    assert first.status_code == 200
    assert (first.json()["status"], first.json()["approvals_given"]) == ("pending_approval", 1)
    second = _act(second_approver_api, body["id"], "approve")
    assert second.json()["status"] == "active"
    assert [a["approver"] for a in second.json()["approvals"]] == ["anna", "arthur"]

    policy = RetentionPolicy.objects.get(pk=body["id"])
    clock.move_to(_after_notice(policy))
    outcome = evaluation.evaluate(policy)
    assert outcome.evaluation is not None

    shown = admin_api.get(f"{POLICIES}/{body['id']}").json()
    [evaluated] = shown["evaluations"]
    assert evaluated["selected"] == 2
    request_id = evaluated["request"]
    assert request_id == outcome.evaluation.request_id
    assert evaluated["request_status"] in ("approved", "running")
    req = admin_api.get(f"/api/v1/requests/{request_id}").json()
    assert req["kind"] == DeletionRequest.Kind.RETENTION
    assert req["item_count"] == 2
    items = admin_api.get(f"/api/v1/requests/{request_id}/items").json()["results"]
    assert {item["run_id"] for item in items} == {"a_40d_0", "a_31d_1"}


def test_every_change_is_audited_as_made_through_the_api(clock, runs, admin_api, approver):
    policy_id = _propose(
        admin_api, older_than_days=30, filter={"file_name_contains": "doc"}
    ).json()["id"]
    _act(client_for(approver), policy_id, "approve")
    _act(admin_api, policy_id, "pause", reason="Audit next week")
    actions = list(
        AuditEvent.objects.filter(object_id=str(policy_id), source=Source.API)
        .order_by("at", "id")
        .values_list("action", flat=True)
    )
    assert actions == [
        "policy.proposed",
        "policy.approval_given",
        "policy.active",
        "policy.paused",
    ]


# --- Proposing ---


def test_a_narrowed_policy_needs_one_approver(clock, runs, admin_api, workspace):
    body = _propose(admin_api, older_than_days=30, workspace=workspace.pk).json()
    assert (body["required_approvals"], body["workspaces"]) == (1, [workspace.pk])


def test_the_filter_and_workspaces_list_narrow_the_policy(clock, runs, admin_api, workspace):
    body = _propose(
        admin_api,
        hours_after_processed=0,
        workspaces=[workspace.pk],
        filter={"file_name_contains": "doc", "status": "processed", "metadata_key": "kind"},
    ).json()
    assert body["basis"] == "after_processing"
    assert body["rule"] == "runs as soon as they are processed"
    assert body["filter"] == {
        "file_name_contains": "doc",
        "status": "PROCESSED",
        "metadata_key": "kind",
        "metadata_value": "",
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"older_than_days": 30, "hours_after_processed": 2},
            "Say either after how many days runs expire (older_than_days) or how many hours "
            "after processing (hours_after_processed), not both.",
        ),
        ({"older_than_days": 30, "reason": "  "}, "Please give a reason"),
        ({"older_than_days": 30, "filter": {"metadata_value": "x"}}, "A metadata value needs"),
    ],
)
def test_values_that_cannot_make_a_policy_are_refused_with_the_domains_message(
    clock, admin_api, fields, message
):
    response = admin_api.post(POLICIES, {**_body(), **fields}, format="json")
    assert response.status_code == 422
    assert _error(response)["message"].startswith(message)
    assert not RetentionPolicy.objects.exists()


def test_a_workspace_without_the_customers_runs_is_refused(clock, runs, admin_api, customer):
    elsewhere = WorkspaceFactory(name="Elsewhere")
    response = _propose(admin_api, older_than_days=30, workspace=elsewhere.pk)
    assert response.status_code == 422
    assert _error(response)["message"] == (
        f"Workspace {elsewhere.pk} holds none of {customer.name}'s runs."
    )


def test_a_body_that_does_not_match_the_schema_is_a_400(admin_api):
    response = admin_api.post(POLICIES, _body(older_than_days="30"), format="json")
    assert response.status_code == 400
    assert "older_than_days" in _error(response)["details"]["fields"]


def test_a_misspelt_narrowing_is_refused_not_dropped(admin_api):
    """Dropped, it would leave a policy over every run of the customer."""
    top = _propose(admin_api, older_than_days=30, file_name_contains="doc")
    assert (top.status_code, _error(top)["details"]["fields"]) == (
        400,
        {"file_name_contains": ["Unknown field."]},
    )
    nested = _propose(admin_api, older_than_days=30, filter={"file_name": "doc"})
    assert nested.status_code == 400
    assert _error(nested)["details"]["fields"] == {"filter": {"file_name": ["Unknown field."]}}
    assert not RetentionPolicy.objects.exists()


@pytest.mark.parametrize("who", ["member_api", "customer_service_api", "viewer_api"])
def test_members_service_accounts_and_viewers_may_not_propose(who, request, clock, customer):
    response = request.getfixturevalue(who).post(
        POLICIES, _body(older_than_days=30, customer=customer.pk), format="json"
    )
    assert response.status_code == 403
    assert not RetentionPolicy.objects.exists()


def test_the_operators_service_account_may_not_propose(operator_service_api, customer):
    response = _propose(operator_service_api, older_than_days=30, customer=customer.pk)
    assert response.status_code == 403
    assert "service account" in _error(response)["message"]


def test_staff_propose_for_the_customer_they_name(clock, runs, approver_api, customer):
    missing = _propose(approver_api, older_than_days=30)
    assert missing.status_code == 422
    assert _error(missing)["details"]["fields"] == {
        "customer": ["Staff tokens name the customer (its id)."]
    }
    unknown = _propose(approver_api, older_than_days=30, customer=customer.pk + 1000)
    assert unknown.status_code == 422
    made = _propose(approver_api, older_than_days=30, customer=customer.pk)
    assert made.status_code == 201
    assert made.json()["customer"] == customer.pk
    assert made.json()["proposed_by"] == "anna"


def test_a_retry_with_the_same_idempotency_key_gets_the_first_answer(clock, admin_api):
    first = admin_api.post(
        POLICIES, _body(older_than_days=30), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    again = admin_api.post(
        POLICIES, _body(older_than_days=30), format="json", HTTP_IDEMPOTENCY_KEY="k1"
    )
    assert first.status_code == again.status_code == 201
    assert again.json()["id"] == first.json()["id"]
    assert again["Idempotent-Replayed"] == "true"
    assert RetentionPolicy.objects.count() == 1


# --- Four eyes ---


def test_nobody_approves_their_own_proposal(clock, approver_api, customer):
    policy_id = _propose(approver_api, older_than_days=30, customer=customer.pk).json()["id"]
    response = _act(approver_api, policy_id, "approve")
    assert response.status_code == 403
    assert (
        _error(response)["message"] == "You cannot approve a policy you proposed or last changed."
    )


def test_one_approver_cannot_approve_twice(clock, admin_api, approver_api):
    policy_id = _propose(admin_api, older_than_days=30).json()["id"]
    assert _act(approver_api, policy_id, "approve").status_code == 200
    again = _act(approver_api, policy_id, "approve")
    assert again.status_code == 403
    assert _error(again)["message"] == (
        "You have already approved this policy; another approver must."
    )
    assert RetentionPolicy.objects.get(pk=policy_id).status == ST.PENDING_APPROVAL


@pytest.mark.parametrize("action", ["approve", "reject"])
@pytest.mark.parametrize("who", ["admin_api", "member_api", "viewer_api"])
def test_only_approvers_decide(who, action, request, clock, customer_admin, customer):
    policy = _policy(customer, customer_admin)
    body = {"comment": "Fine"} if action == "approve" else {"reason": "No"}
    response = _act(request.getfixturevalue(who), policy.pk, action, **body)
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.status == ST.PENDING_APPROVAL


def test_a_rejection_needs_a_reason_and_ends_the_policy(clock, admin_api, approver_api):
    policy_id = _propose(admin_api, older_than_days=30).json()["id"]
    blank = _act(approver_api, policy_id, "reject", reason="  ")
    assert (blank.status_code, _error(blank)["message"]) == (
        403,
        "Please give a reason for the rejection.",
    )
    rejected = _act(approver_api, policy_id, "reject", reason="Clause 7.2 says 90 days")
    assert rejected.status_code == 200
    body = rejected.json()
    assert (body["status"], body["decision_comment"]) == ("rejected", "Clause 7.2 says 90 days")
    assert body["preview"] is None
    assert body["allowed_actions"] == []
    assert _act(approver_api, policy_id, "approve").status_code == 409


# --- Changing, pausing, resuming, retiring ---


def test_a_new_name_needs_no_new_approval_but_a_new_period_does(
    clock, runs, customer, customer_admin, approver, second_approver, admin_api
):
    policy = _active(customer, customer_admin, (approver, second_approver))
    url = f"{POLICIES}/{policy.pk}"
    renamed = admin_api.patch(url, {"name": "Contract retention"}, format="json")
    assert renamed.status_code == 200
    body = renamed.json()
    assert (body["needs_approval"], body["status"], body["version"]) == (False, "active", 1)
    assert body["older_than_days"] == 30

    longer = admin_api.patch(url, {"older_than_days": 90}, format="json").json()
    assert (longer["needs_approval"], longer["status"], longer["version"]) == (
        True,
        "pending_approval",
        2,
    )
    assert longer["name"] == "Contract retention"
    assert longer["approvals_given"] == 0


def test_a_period_given_replaces_the_other_kind(clock, customer, customer_admin, admin_api):
    policy = _policy(customer, customer_admin)
    body = admin_api.patch(
        f"{POLICIES}/{policy.pk}", {"hours_after_processed": 6}, format="json"
    ).json()
    assert (body["basis"], body["older_than_days"], body["hours_after_processed"]) == (
        "after_processing",
        None,
        6,
    )


def test_members_may_not_change_a_policy(clock, customer, customer_admin, member_api):
    policy = _policy(customer, customer_admin)
    response = member_api.patch(f"{POLICIES}/{policy.pk}", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.name == "Thirty days"


def test_pause_resume_and_retire_follow_the_domains_moves(
    clock, customer, customer_admin, approver, second_approver, admin_api
):
    policy = _active(customer, customer_admin, (approver, second_approver))
    assert _act(admin_api, policy.pk, "resume").status_code == 409
    paused = _act(admin_api, policy.pk, "pause", reason="Audit next week")
    assert paused.status_code == 200
    body = paused.json()
    assert (body["status"], body["paused_by"], body["pause_reason"]) == (
        "paused",
        "carol",
        "Audit next week",
    )
    assert body["not_acting_because"] == "the policy is paused"
    again = _act(admin_api, policy.pk, "pause")
    assert again.status_code == 409
    assert _error(again)["code"] == "invalid_transition"
    assert _act(admin_api, policy.pk, "resume").json()["status"] == "active"
    assert _act(admin_api, policy.pk, "retire", reason="Contract ended").json()["status"] == (
        "retired"
    )
    assert _act(admin_api, policy.pk, "retire").status_code == 409
    changed = admin_api.patch(f"{POLICIES}/{policy.pk}", {"name": "Back"}, format="json")
    assert changed.status_code == 409


@pytest.mark.parametrize("action", ["pause", "retire"])
def test_members_may_not_pause_or_retire(action, clock, customer, customer_admin, member_api):
    policy = _policy(customer, customer_admin)
    assert _act(member_api, policy.pk, action).status_code == 403


def test_staff_operators_pause_any_customers_policy(
    clock, customer, customer_admin, approver, second_approver, staff_admin_api
):
    policy = _active(customer, customer_admin, (approver, second_approver))
    assert _act(staff_admin_api, policy.pk, "pause").json()["status"] == "paused"


# --- Reading ---


def test_members_and_service_accounts_read_their_customers_policies(
    clock, runs, customer, customer_admin, member_api, customer_service_api
):
    policy = _policy(customer, customer_admin)
    listed = member_api.get(POLICIES).json()
    assert [p["id"] for p in listed["results"]] == [policy.pk]
    assert listed["next_cursor"] is None
    assert [p["id"] for p in customer_service_api.get(POLICIES).json()["results"]] == [policy.pk]
    detail = member_api.get(f"{POLICIES}/{policy.pk}").json()
    assert detail["preview"]["count"] == 1


def test_staff_list_every_policy_and_filter_by_customer_and_status(
    clock, customer, other_customer, customer_admin, approver, viewer_api
):
    mine = _policy(customer, customer_admin)
    other = _policy(other_customer, approver)
    listed = viewer_api.get(POLICIES).json()["results"]
    assert [p["id"] for p in listed] == [other.pk, mine.pk]
    only = viewer_api.get(POLICIES, {"customer": customer.pk}).json()["results"]
    assert [p["id"] for p in only] == [mine.pk]
    assert viewer_api.get(POLICIES, {"status": "active"}).json()["results"] == []
    assert len(viewer_api.get(POLICIES, {"status": "pending_approval"}).json()["results"]) == 2
    assert viewer_api.get(POLICIES, {"status": "nonsense"}).status_code == 400


def test_the_list_costs_the_same_queries_for_one_policy_as_for_many(
    clock, workspace, customer, customer_admin, admin_api, django_assert_max_num_queries
):
    _policy(customer, customer_admin, workspace_ids=[])
    with django_assert_max_num_queries(20) as one:
        admin_api.get(POLICIES)
    aged_runs(workspace, customer, [50], prefix="q_")
    for n in range(5):
        _policy(customer, customer_admin, name=f"P{n}", workspace_ids=[workspace.pk])
    with django_assert_max_num_queries(len(one.captured_queries)):
        admin_api.get(POLICIES)


def test_the_detail_shows_skipped_runs_and_exemptions(
    clock, runs, customer, customer_admin, admin_api
):
    policy = _policy(customer, customer_admin, older_than_days=1)
    exemptions.exempt_run(
        ParseRun.objects.get(run_id="a_31d_1"),
        actor=customer_admin,
        source=Source.WEB,
        reason="Audit copy",
    )
    preview = admin_api.get(f"{POLICIES}/{policy.pk}").json()["preview"]
    assert preview["skipped"] == {"exempt": 1, "open_request": 0, "held": 0}
    assert preview["count"] == 2
    assert [run["id"] for run in preview["first_page"]] == ["a_40d_0", "a_29d_2"]


@override_settings(RETENTION_POLICY_CAP=1)
def test_the_preview_says_when_the_cap_spreads_the_work(
    clock, runs, customer, customer_admin, admin_api
):
    policy = _policy(customer, customer_admin, older_than_days=1)
    preview = admin_api.get(f"{POLICIES}/{policy.pk}").json()["preview"]
    assert (preview["count"], preview["more"], preview["cap"]) == (2, True, 1)


# --- Tenant isolation ---


def test_another_customers_policy_is_not_found_on_every_endpoint(
    clock, customer, customer_admin, outsider_api, outsider_admin_api
):
    policy = _policy(customer, customer_admin)
    url = f"{POLICIES}/{policy.pk}"
    for client in (outsider_api, outsider_admin_api):
        assert client.get(url).status_code == 404
        assert client.get(POLICIES).json()["results"] == []
        assert client.get(POLICIES, {"customer": customer.pk}).json()["results"] == []
    assert outsider_admin_api.patch(url, {"name": "Mine"}, format="json").status_code == 404
    for action in ("pause", "resume", "retire"):
        assert _act(outsider_admin_api, policy.pk, action).status_code == 404
    # Approving is for staff: a customer token is refused before anything is looked up.
    for action in ("approve", "reject"):
        assert _act(outsider_admin_api, policy.pk, action, reason="x").status_code == 403
    policy.refresh_from_db()
    assert (policy.name, policy.status) == ("Thirty days", ST.PENDING_APPROVAL)


def test_a_customer_admin_cannot_propose_for_another_customer(clock, admin_api, other_customer):
    response = _propose(admin_api, older_than_days=30, customer=other_customer.pk)
    assert response.status_code == 403
    assert _error(response)["message"] == "A customer token acts for its own customer only."
    assert not RetentionPolicy.objects.exists()


def test_exemptions_stay_within_their_customer(
    clock, runs, customer, customer_admin, other_customer, admin_api, outsider_admin_api
):
    theirs = outsider_admin_api.post(
        EXEMPTIONS, {"run_id": "a_40d_0", "reason": "Keep"}, format="json"
    )
    assert theirs.status_code == 422
    assert _error(theirs)["message"] == (f"run_id: {other_customer.name} has no parse run a_40d_0.")
    mine = admin_api.post(EXEMPTIONS, {"run_id": "a_40d_0", "reason": "Keep"}, format="json")
    exemption_id = mine.json()["id"]
    assert outsider_admin_api.get(EXEMPTIONS).json()["results"] == []
    assert outsider_admin_api.delete(f"{EXEMPTIONS}/{exemption_id}").status_code == 404
    other_policy = _policy(other_customer, admin_of(other_customer))
    naming = admin_api.post(
        EXEMPTIONS,
        {"run_id": "a_31d_1", "reason": "Keep", "policy": other_policy.pk},
        format="json",
    )
    assert naming.status_code == 422
    assert RetentionExemption.objects.count() == 1


def admin_of(customer):
    return customer_user(customer, role=Membership.Role.ADMIN)


# --- Exemptions ---


def test_an_admin_exempts_a_run_lists_it_and_removes_it(
    clock, runs, customer, customer_admin, admin_api, member_api
):
    policy = _policy(customer, customer_admin)
    made = admin_api.post(
        EXEMPTIONS,
        {"run_id": "a_40d_0", "reason": "Evidence for an audit", "policy": policy.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="ex-1",
    )
    assert made.status_code == 201
    body = made.json()
    assert (body["run_id"], body["policy"], body["created_by"], body["outcome"]) == (
        "a_40d_0",
        policy.pk,
        "carol",
        "",
    )
    listed = member_api.get(EXEMPTIONS).json()["results"]
    assert [e["id"] for e in listed] == [body["id"]]
    assert admin_api.get(f"{POLICIES}/{policy.pk}").json()["preview"]["count"] == 0
    again = admin_api.post(EXEMPTIONS, {"run_id": "a_40d_0", "reason": "Evidence"}, format="json")
    assert (again.status_code, _error(again)["message"]) == (
        422,
        "Parse run a_40d_0 is already exempted.",
    )
    assert member_api.delete(f"{EXEMPTIONS}/{body['id']}").status_code == 403
    assert admin_api.delete(f"{EXEMPTIONS}/{body['id']}").status_code == 204
    assert not RetentionExemption.objects.exists()
    assert AuditEvent.objects.filter(action="policy.exemption_removed", source=Source.API).exists()


def test_exempting_a_run_in_a_retention_request_takes_it_out(
    clock, runs, customer, customer_admin, approver, second_approver, admin_api
):
    policy = _active(customer, customer_admin, (approver, second_approver))
    clock.move_to(_after_notice(policy))
    req = evaluation.evaluate(policy).evaluation.request
    DeletionRequest.objects.filter(pk=req.pk).update(status=DeletionRequest.Status.APPROVED)
    made = admin_api.post(EXEMPTIONS, {"run_id": "a_31d_1", "reason": "Keep"}, format="json")
    assert made.json()["outcome"] == (
        f"It was taken out of retention request #{req.pk} before anything was sent."
    )


def test_staff_name_the_customer_of_the_run_they_exempt(clock, runs, customer, approver_api):
    missing = approver_api.post(EXEMPTIONS, {"run_id": "a_40d_0", "reason": "Keep"}, format="json")
    assert missing.status_code == 422
    made = approver_api.post(
        EXEMPTIONS,
        {"run_id": "a_40d_0", "reason": "Keep", "customer": customer.pk},
        format="json",
    )
    assert made.status_code == 201
    assert made.json()["customer"] == customer.pk


@pytest.mark.parametrize("who", ["member_api", "viewer_api"])
def test_members_and_viewers_may_not_exempt(who, request, clock, runs, customer):
    response = request.getfixturevalue(who).post(
        EXEMPTIONS, {"run_id": "a_40d_0", "reason": "Keep", "customer": customer.pk}, format="json"
    )
    assert response.status_code == 403
    assert not RetentionExemption.objects.exists()


# --- The console's switch ---


def test_approvers_stop_and_restart_every_policy(
    clock, customer, customer_admin, approver, second_approver, approver_api, admin_api
):
    policy = _active(customer, customer_admin, (approver, second_approver))
    assert approver_api.get(SWITCH).json() == {
        "stopped": False,
        "stopped_at": None,
        "stopped_by": None,
        "reason": "",
    }
    no_reason = approver_api.post(SWITCH, {"stopped": True}, format="json")
    assert no_reason.status_code == 422
    stopped = approver_api.post(SWITCH, {"stopped": True, "reason": "Incident 42"}, format="json")
    assert stopped.status_code == 200
    assert (stopped.json()["stopped"], stopped.json()["stopped_by"]) == (True, "anna")
    detail = admin_api.get(f"{POLICIES}/{policy.pk}").json()
    assert detail["not_acting_because"] == "every retention policy is stopped (console switch)"
    again = approver_api.post(SWITCH, {"stopped": True, "reason": "Again"}, format="json")
    assert again.status_code == 409
    assert approver_api.post(SWITCH, {"stopped": False}, format="json").json()["stopped"] is False
    assert approver_api.post(SWITCH, {"stopped": False}, format="json").status_code == 409


@pytest.mark.parametrize(
    ("who", "read", "write"),
    [
        ("viewer_api", 200, 403),
        ("operator_service_api", 200, 403),
        ("admin_api", 403, 403),
        ("member_api", 403, 403),
        ("staff_admin_api", 200, 200),
    ],
)
def test_only_operator_staff_work_the_switch(who, read, write, request):
    client = request.getfixturevalue(who)
    assert client.get(SWITCH).status_code == read
    response = client.post(SWITCH, {"stopped": True, "reason": "Incident"}, format="json")
    assert response.status_code == write


# --- The schema ---


def test_the_answers_have_the_documented_shape(
    clock, runs, workspace, customer, customer_admin, admin_api, approver_api, second_approver_api
):
    one = "/api/v1/retention-policies/{id}"
    proposed = _documented(
        _propose(admin_api, older_than_days=30), "POST", "/api/v1/retention-policies"
    )
    policy_id = proposed.json()["id"]
    _documented(_act(approver_api, policy_id, "approve", comment="ok"), "POST", one + "/approve")
    _documented(_act(second_approver_api, policy_id, "approve"), "POST", one + "/approve")
    exempted = admin_api.post(EXEMPTIONS, {"run_id": "a_31d_1", "reason": "Keep"}, format="json")
    _documented(exempted, "POST", EXEMPTIONS)
    _documented(admin_api.get(EXEMPTIONS), "GET", EXEMPTIONS)
    policy = RetentionPolicy.objects.get(pk=policy_id)
    clock.move_to(_after_notice(policy))
    evaluation.evaluate(policy)
    detail = _documented(admin_api.get(f"{POLICIES}/{policy_id}"), "GET", one).json()
    assert detail["evaluations"][0]["request"] is not None
    assert detail["preview"]["skipped"]["exempt"] == 1
    _documented(admin_api.get(POLICIES), "GET", POLICIES)
    changed = admin_api.patch(f"{POLICIES}/{policy_id}", {"name": "Renamed"}, format="json")
    _documented(changed, "PATCH", one)
    _documented(_act(admin_api, policy_id, "pause"), "POST", one + "/pause")
    _documented(approver_api.get(SWITCH), "GET", SWITCH)
    stopped = approver_api.post(SWITCH, {"stopped": True, "reason": "Incident"}, format="json")
    _documented(stopped, "POST", SWITCH)
    _documented(_act(admin_api, policy_id, "approve"), "POST", one + "/approve")
    deleted = admin_api.delete(f"{EXEMPTIONS}/{exempted.json()['id']}")
    _documented(deleted, "DELETE", EXEMPTIONS + "/{id}")


def test_every_retention_operation_is_in_the_schema_with_its_bodies(client):
    schema = client.get("/api/v1/schema").json()
    operations = {
        op["operationId"]: (path, method, op)
        for path, ops in schema["paths"].items()
        if "/retention-" in path
        for method, op in ops.items()
    }
    assert set(operations) == {
        "list_retention_policies",
        "propose_retention_policy",
        "get_retention_policy",
        "change_retention_policy",
        "approve_retention_policy",
        "reject_retention_policy",
        "pause_retention_policy",
        "resume_retention_policy",
        "retire_retention_policy",
        "get_retention_switch",
        "set_retention_switch",
        "list_retention_exemptions",
        "create_retention_exemption",
        "delete_retention_exemption",
    }
    for _path, method, op in operations.values():
        assert op["summary"] and op["security"]
        answers = {code: r for code, r in op["responses"].items() if code.startswith("2")}
        assert answers, op["operationId"]
        for code, answer in answers.items():
            assert code == "204" or "schema" in answer["content"]["application/json"]
        if method in ("post", "patch") and op["operationId"] != "resume_retention_policy":
            assert "schema" in op["requestBody"]["content"]["application/json"]
    propose = schema["components"]["schemas"]["PolicyCreateRequest"]
    assert {"name", "older_than_days", "hours_after_processed", "workspace", "filter"} <= set(
        propose["properties"]
    )
    assert "preview" in schema["components"]["schemas"]["PolicyDetail"]["properties"]
