"""Workspaces and organisations over the API: the console's rules (roles, the outbound URL
policy, the key re-entered with a new URL), secrets that are never returned, audit as API."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from deletions.api.auth import SERVICE_ACCOUNT_REFUSED
from deletions.models import AuditEvent, Organization, Source, Workspace, WorkspaceSync
from deletions.workspaces.changes import KEY_REENTRY_MESSAGE
from extend_simulator import Simulator
from tests.factories import WorkspaceFactory

pytestmark = pytest.mark.django_db

KEY = "sk_live_API_SENTINEL_1f2e3d4c"
NEW_KEY = "sk_live_API_NEW_KEY_9a8b7c6d"
SECRET = "wss_API_SENTINEL_5e6f7a8b"
WORKSPACES = "/api/v1/workspaces"


def _create(client, **fields):
    body = {"name": "EU production", "base_url": "http://127.0.0.1:8100", **fields}
    return client.post(WORKSPACES, body, format="json")


def _patch(client, ws, **fields):
    return client.patch(f"{WORKSPACES}/{ws.pk}", fields, format="json")


@pytest.fixture
def sim():
    with Simulator(api_key="sk_sim_good_key_1234", runs=5) as simulator:
        yield simulator


# --- Reading ---


def test_every_staff_role_reads_workspaces_without_their_secrets(
    viewer_api, approver_api, staff_admin_api, operator_service_api, workspace
):
    workspace.set_api_key(KEY)
    workspace.save()
    for client in (viewer_api, approver_api, staff_admin_api, operator_service_api):
        listed = client.get(WORKSPACES)
        one = client.get(f"{WORKSPACES}/{workspace.pk}")
        assert (listed.status_code, one.status_code) == (200, 200)
        assert KEY not in listed.content.decode() + one.content.decode()
        assert KEY[-4:] not in one.content.decode()
    body = viewer_api.get(f"{WORKSPACES}/{workspace.pk}").json()
    assert body["api_key_set"] is True
    assert body["webhook_secret_set"] is True
    assert "api_key" not in body
    assert body["sync"]["status"] == "idle"


def test_customer_tokens_cannot_read_workspaces(member_api, admin_api, workspace):
    for client in (member_api, admin_api):
        assert client.get(WORKSPACES).status_code == 403
        assert client.get(f"{WORKSPACES}/{workspace.pk}").status_code == 403


# --- Creating ---


def test_an_admin_creates_a_workspace_with_secrets_that_are_never_returned(
    staff_admin_api, staff_admin
):
    response = _create(staff_admin_api, api_key=KEY, webhook_secret=SECRET, rate_limit=25)
    assert response.status_code == 201, response.content
    ws = Workspace.objects.get(name="EU production")
    assert (ws.base_url, ws.rate_limit) == ("http://127.0.0.1:8100", 25)
    assert ws.reveal_api_key() == KEY
    assert ws.reveal_webhook_secret() == SECRET
    assert KEY not in response.content.decode()
    assert SECRET not in response.content.decode()
    assert response.json()["api_key_set"] is True
    event = AuditEvent.objects.get(action="workspace.created")
    assert (event.source, event.actor_id) == (Source.API, staff_admin.pk)
    assert KEY not in str(event.after) + str(event.detail)
    assert event.detail == {"api_key_set": True, "webhook_secret_set": True}


@pytest.mark.parametrize("client_name", ["viewer_api", "approver_api", "member_api"])
def test_only_admins_create_workspaces(request, client_name):
    response = _create(request.getfixturevalue(client_name))
    assert response.status_code == 403
    assert not Workspace.objects.filter(name="EU production").exists()


def test_an_operator_service_token_cannot_create_a_workspace(operator_service_api):
    response = _create(operator_service_api)
    assert response.status_code == 403
    assert response.json()["error"]["message"] == SERVICE_ACCOUNT_REFUSED


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.5:8100",
        "http://169.254.169.254/latest",
        "http://[::1]:8100",
        "https://internal.example",
    ],
)
def test_a_workspace_url_the_outbound_policy_refuses_is_not_created(staff_admin_api, dns, url):
    dns["internal.example"] = ["10.1.2.3"]
    response = _create(staff_admin_api, base_url=url, api_key=KEY)
    assert response.status_code == 422
    assert "base_url" in response.json()["error"]["details"]["fields"]
    assert not Workspace.objects.filter(name="EU production").exists()


def test_a_public_https_url_and_a_region_are_accepted(staff_admin_api, dns):
    dns["extend.example"] = ["93.184.216.34"]
    assert _create(staff_admin_api, base_url="https://extend.example/").status_code == 201
    assert Workspace.objects.get(name="EU production").base_url == "https://extend.example"
    response = _create(staff_admin_api, name="US", base_url=Workspace.Region.US2)
    assert response.status_code == 201
    assert response.json()["base_url"] == Workspace.Region.US2


def test_the_consoles_other_rules_apply(staff_admin_api, workspace):
    taken = _create(staff_admin_api, name=workspace.name)
    org_key = _create(staff_admin_api, key_scope="organization")
    short_key = _create(staff_admin_api, api_key="short")
    assert (taken.status_code, org_key.status_code, short_key.status_code) == (422, 422, 422)
    assert "extend_workspace_id" in org_key.json()["error"]["details"]["fields"]
    assert Workspace.objects.count() == 1


def test_an_idempotency_key_creates_one_workspace(staff_admin_api):
    first = staff_admin_api.post(
        WORKSPACES, {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="ws-1"
    )
    again = staff_admin_api.post(
        WORKSPACES, {"name": "Once"}, format="json", HTTP_IDEMPOTENCY_KEY="ws-1"
    )
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert Workspace.objects.filter(name="Once").count() == 1


# --- Editing ---


def test_a_new_url_needs_the_key_again(staff_admin_api, workspace):
    before = workspace.credentials_version
    response = _patch(staff_admin_api, workspace, base_url="http://127.0.0.1:8200")
    assert response.status_code == 422
    assert response.json()["error"]["details"]["fields"]["api_key"] == [KEY_REENTRY_MESSAGE]
    workspace.refresh_from_db()
    assert (workspace.base_url, workspace.credentials_version) == ("http://127.0.0.1:9", before)


def test_a_new_url_with_the_key_is_saved_fenced_and_audited(
    staff_admin_api, staff_admin, workspace
):
    before = workspace.credentials_version
    response = _patch(staff_admin_api, workspace, base_url="http://127.0.0.1:8200", api_key=NEW_KEY)
    assert response.status_code == 200, response.content
    assert NEW_KEY not in response.content.decode()
    workspace.refresh_from_db()
    assert workspace.base_url == "http://127.0.0.1:8200"
    assert workspace.reveal_api_key() == NEW_KEY
    assert workspace.credentials_version > before
    updated = AuditEvent.objects.get(action="workspace.updated")
    assert (updated.source, updated.actor_id) == (Source.API, staff_admin.pk)
    assert updated.after == {"base_url": "http://127.0.0.1:8200"}
    rotated = AuditEvent.objects.get(action="workspace.key_rotated")
    assert rotated.source == Source.API
    assert NEW_KEY not in str(rotated.before) + str(rotated.after)


def test_a_refused_url_is_not_saved_even_with_the_key(staff_admin_api, workspace):
    response = _patch(
        staff_admin_api, workspace, base_url="http://169.254.169.254", api_key=NEW_KEY
    )
    assert response.status_code == 422
    workspace.refresh_from_db()
    assert workspace.base_url == "http://127.0.0.1:9"
    assert workspace.reveal_api_key() != NEW_KEY
    assert not AuditEvent.objects.filter(action__startswith="workspace.").exists()


def test_an_edit_changes_only_what_is_given(staff_admin_api, workspace):
    org = Organization.objects.create(name="Acme org")
    response = _patch(staff_admin_api, workspace, name="Renamed", organization=org.pk)
    assert response.status_code == 200, response.content
    workspace.refresh_from_db()
    assert (workspace.name, workspace.organization_id) == ("Renamed", org.pk)
    assert workspace.base_url == "http://127.0.0.1:9"
    assert workspace.reveal_api_key() == "sk_test_key_abcd"
    event = AuditEvent.objects.get(action="workspace.updated")
    assert set(event.after or {}) == {"name", "organization"}


@pytest.mark.parametrize("client_name", ["viewer_api", "approver_api", "operator_service_api"])
def test_only_admin_people_edit_workspaces(request, client_name, workspace):
    response = _patch(request.getfixturevalue(client_name), workspace, name="Mine now")
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert workspace.name != "Mine now"


# --- Secrets ---


def test_rotating_secrets_stores_them_and_returns_neither(staff_admin_api, workspace):
    url = f"{WORKSPACES}/{workspace.pk}/secrets"
    response = staff_admin_api.post(
        url, {"api_key": NEW_KEY, "webhook_secret": SECRET}, format="json"
    )
    assert response.status_code == 200, response.content
    assert NEW_KEY not in response.content.decode()
    assert SECRET not in response.content.decode()
    workspace.refresh_from_db()
    assert (workspace.reveal_api_key(), workspace.reveal_webhook_secret()) == (NEW_KEY, SECRET)
    events = AuditEvent.objects.filter(action="workspace.key_rotated", source=Source.API)
    assert sorted(e.detail["secret"] for e in events) == ["api_key", "webhook_secret"]


def test_rotating_nothing_or_a_bad_secret_is_refused(staff_admin_api, approver_api, workspace):
    url = f"{WORKSPACES}/{workspace.pk}/secrets"
    assert staff_admin_api.post(url, {}, format="json").status_code == 422
    assert staff_admin_api.post(url, {"api_key": "a b"}, format="json").status_code == 422
    assert approver_api.post(url, {"api_key": NEW_KEY}, format="json").status_code == 403
    workspace.refresh_from_db()
    assert workspace.reveal_api_key() == "sk_test_key_abcd"


# --- Connection test and sync ---


def test_an_approver_tests_the_connection(approver_api, approver, sim):
    ws = WorkspaceFactory(base_url=sim.url, api_key="sk_sim_good_key_1234")
    response = approver_api.post(f"{WORKSPACES}/{ws.pk}/test")
    assert response.status_code == 200
    assert response.json()["ok"] is True
    assert response.json()["runs_seen"] == 1
    event = AuditEvent.objects.get(action="workspace.connection_tested")
    assert (event.source, event.actor_id, event.detail["ok"]) == (Source.API, approver.pk, True)


def test_a_failed_connection_test_gives_status_and_code_only(approver_api, sim):
    sim.set_faults({"revoked": True})
    ws = WorkspaceFactory(base_url=sim.url, api_key="sk_sim_good_key_1234")
    body = approver_api.post(f"{WORKSPACES}/{ws.pk}/test").json()
    assert (body["ok"], body["status"]) == (False, 401)
    assert body["code"]
    assert "revoked" not in str(body).lower()
    assert "sk_sim_good_key_1234" not in str(body)


def test_viewers_and_service_tokens_cannot_test_or_sync(
    viewer_api, operator_service_api, workspace
):
    for client in (viewer_api, operator_service_api):
        assert client.post(f"{WORKSPACES}/{workspace.pk}/test").status_code == 403
        assert client.post(f"{WORKSPACES}/{workspace.pk}/sync").status_code == 403
    assert not AuditEvent.objects.filter(action__startswith="workspace.").exists()


def test_a_sync_is_started_once(
    approver_api, approver, workspace, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = approver_api.post(f"{WORKSPACES}/{workspace.pk}/sync")
    assert response.status_code == 202
    assert len(callbacks) == 1
    event = AuditEvent.objects.get(action="workspace.sync_requested")
    assert (event.source, event.actor_id) == (Source.API, approver.pk)
    WorkspaceSync.objects.filter(workspace=workspace).update(
        status=WorkspaceSync.Status.RUNNING, lease_expires_at=timezone.now() + timedelta(hours=1)
    )
    assert approver_api.post(f"{WORKSPACES}/{workspace.pk}/sync").status_code == 409


# --- Organisations ---

ORGS = "/api/v1/organisations"


def test_an_admin_creates_and_changes_an_organisation(staff_admin_api, viewer_api, staff_admin):
    created = staff_admin_api.post(
        ORGS, {"name": "Acme org", "write_rate_limit": 20}, format="json"
    )
    assert created.status_code == 201, created.content
    org = Organization.objects.get(name="Acme org")
    assert org.write_rate_limit == 20
    changed = staff_admin_api.patch(f"{ORGS}/{org.pk}", {"get_rate_limit": 5}, format="json")
    assert changed.status_code == 200
    org.refresh_from_db()
    assert (org.write_rate_limit, org.get_rate_limit) == (20, 5)
    events = AuditEvent.objects.filter(action__startswith="organization.").order_by("id")
    assert [(e.action, e.source, e.actor_id) for e in events] == [
        ("organization.created", Source.API, staff_admin.pk),
        ("organization.updated", Source.API, staff_admin.pk),
    ]
    assert events[1].after == {"get_rate_limit": "5"}
    assert viewer_api.get(f"{ORGS}/{org.pk}").json()["write_rate_limit"] == 20


def test_organisations_keep_the_consoles_rules(staff_admin_api, approver_api):
    Organization.objects.create(name="Taken", extend_organization_id="org_1")
    same_name = staff_admin_api.post(ORGS, {"name": "Taken"}, format="json")
    same_id = staff_admin_api.post(
        ORGS, {"name": "Other", "extend_organization_id": "org_1"}, format="json"
    )
    by_approver = approver_api.post(ORGS, {"name": "Approver's"}, format="json")
    assert (same_name.status_code, same_id.status_code) == (422, 422)
    assert by_approver.status_code == 403
    assert Organization.objects.count() == 1


def test_a_refused_secret_is_not_repeated_in_the_answer(staff_admin_api, workspace):
    odd = "sk live with spaces 4242"
    created = _create(staff_admin_api, api_key=odd)
    rotated = staff_admin_api.post(
        f"{WORKSPACES}/{workspace.pk}/secrets", {"webhook_secret": odd}, format="json"
    )
    moved = _patch(staff_admin_api, workspace, base_url="http://10.9.9.9", api_key=NEW_KEY)
    assert (created.status_code, rotated.status_code, moved.status_code) == (422, 422, 422)
    for response in (created, rotated):
        assert odd not in response.content.decode()
    assert NEW_KEY not in moved.content.decode()
