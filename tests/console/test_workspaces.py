"""Workspaces in the console: settings, secrets that are never shown, a real connection test
against the Extend simulator, and stopping and resuming work."""

from __future__ import annotations

import pytest
from django.urls import reverse

from deletions.models import AuditEvent, Organization, Source, Workspace
from deletions.requests import transitions
from deletions.workspaces import health as workspace_health
from deletions.workspaces import ratelimit
from extend_simulator import Simulator
from tests.factories import WorkspaceFactory
from tests.helpers import force_status, submitted_request

SENTINEL_KEY = "sk_live_SENTINEL_9f8e7d6c5b4a"


@pytest.fixture
def sim():
    with Simulator(api_key="sk_sim_good_key_1234", runs=5) as simulator:
        yield simulator


@pytest.fixture
def sim_workspace(sim, db):
    return WorkspaceFactory(name="Simulated", base_url=sim.url, api_key="sk_sim_good_key_1234")


def test_an_admin_creates_a_workspace_with_a_custom_url_and_a_key(client, staff_admin):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_create"),
        {
            "name": "EU production",
            "region": "custom",
            "custom_url": "http://127.0.0.1:8100/",
            "api_version": "2026-02-09",
            "key_scope": "workspace",
            "customer_metadata_key": "customer_id",
            "rate_limit": "25",
            "get_rate_limit": "10",
            "verify_deletions": "on",
            "api_key": SENTINEL_KEY,
        },
    )
    ws = Workspace.objects.get(name="EU production")
    assert response.status_code == 302
    assert ws.base_url == "http://127.0.0.1:8100"
    assert ws.rate_limit == 25
    assert ws.reveal_api_key() == SENTINEL_KEY
    event = AuditEvent.objects.get(action="workspace.created")
    assert SENTINEL_KEY not in str(event.after) + str(event.detail)
    page = client.get(reverse("console:workspace_detail", args=[ws.pk])).content.decode()
    assert SENTINEL_KEY not in page
    assert "••••5b4a" in page


def test_a_region_is_stored_as_its_base_url(client, staff_admin, workspace):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_edit", args=[workspace.pk]),
        {
            "name": workspace.name,
            "region": Workspace.Region.EU1,
            "api_version": "2026-02-09",
            "key_scope": "workspace",
            "customer_metadata_key": "customer_id",
            "rate_limit": "10",
            "get_rate_limit": "10",
            "api_key": "sk_eu1_key_for_the_new_url",  # a new URL takes the key again
        },
    )
    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.base_url == Workspace.Region.EU1
    assert workspace.verify_deletions is False
    assert workspace.reveal_api_key() == "sk_eu1_key_for_the_new_url"
    event = AuditEvent.objects.get(action="workspace.updated")
    assert event.after == {"base_url": Workspace.Region.EU1, "verify_deletions": "False"}
    assert AuditEvent.objects.get(action="workspace.key_rotated").after == {"api_key": "••••_url"}


def test_an_organisation_key_needs_a_workspace_id(client, staff_admin):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_create"),
        {
            "name": "Org",
            "region": Workspace.Region.US,
            "api_version": "2026-02-09",
            "key_scope": "organization",
            "customer_metadata_key": "customer_id",
            "rate_limit": "10",
            "get_rate_limit": "10",
        },
    )
    assert response.status_code == 200
    assert b"An organisation key needs the Extend workspace id." in response.content
    assert not Workspace.objects.filter(name="Org").exists()


def test_rotating_the_key_never_shows_it_and_is_audited(client, staff_admin, workspace):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_secrets", args=[workspace.pk]),
        {"api_key": SENTINEL_KEY},
        follow=True,
    )
    body = response.content.decode()
    assert "The new API key of" in body
    assert SENTINEL_KEY not in body
    assert "••••5b4a" in body
    workspace.refresh_from_db()
    assert workspace.reveal_api_key() == SENTINEL_KEY
    assert workspace.reveal_webhook_secret() == "wss_test_secret_wxyz"  # untouched
    event = AuditEvent.objects.get(action="workspace.key_rotated")
    assert event.actor == staff_admin
    assert event.source == Source.WEB
    assert SENTINEL_KEY not in f"{event.before}{event.after}{event.detail}"
    # The secret fields never render a value back.
    assert 'value="sk_' not in body


def test_rotating_the_webhook_secret_alone(client, staff_admin, workspace):
    client.force_login(staff_admin)
    client.post(
        reverse("console:workspace_secrets", args=[workspace.pk]),
        {"webhook_secret": "wss_brand_new_secret"},
    )
    workspace.refresh_from_db()
    assert workspace.reveal_webhook_secret() == "wss_brand_new_secret"
    assert workspace.reveal_api_key() == "sk_test_key_abcd"
    assert AuditEvent.objects.get(action="workspace.key_rotated").detail == {
        "secret": "webhook_secret"
    }


def test_an_empty_or_odd_secret_is_refused(client, staff_admin, workspace):
    client.force_login(staff_admin)
    url = reverse("console:workspace_secrets", args=[workspace.pk])
    response = client.post(url, {"api_key": ""})
    assert response.status_code == 400
    assert b"Enter a new API key" in response.content
    response = client.post(url, {"api_key": "sk x y"})
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="workspace.key_rotated").exists()


def test_the_page_shows_the_webhook_url(client, viewer, workspace, settings):
    client.force_login(viewer)
    body = client.get(reverse("console:workspace_detail", args=[workspace.pk])).content.decode()
    assert f"{settings.SITE_URL}/webhooks/extend/{workspace.webhook_token}/" in body


def test_a_viewer_sees_the_workspace_but_no_secret_form(client, viewer, workspace):
    client.force_login(viewer)
    body = client.get(reverse("console:workspace_detail", args=[workspace.pk])).content.decode()
    assert "Only a console admin can do this." in body
    assert reverse("console:workspace_secrets", args=[workspace.pk]) not in body


def test_test_connection_succeeds_against_the_simulator(client, approver, sim, sim_workspace):
    client.force_login(approver)
    response = client.post(reverse("console:workspace_test", args=[sim_workspace.pk]))
    assert response.status_code == 200
    result = response.context["connection"]
    assert result.ok
    assert result.runs_seen == 1
    assert b"Connection works" in response.content
    assert len(sim.ledger()) == 1
    assert AuditEvent.objects.get(action="workspace.connection_tested").detail["ok"] is True


def test_test_connection_takes_a_slot_of_the_organisations_read_limit(
    client, approver, sim, sim_workspace
):
    org = Organization.objects.create(name="Org", get_rate_limit=1)
    sim_workspace.organization = org
    sim_workspace.save()
    key = ratelimit.key_for(sim_workspace, ratelimit.GET)
    ratelimit.store().reset(key)
    client.force_login(approver)
    try:
        client.post(reverse("console:workspace_test", args=[sim_workspace.pk]))
        # The slot is taken: the organisation's next read (1/s) is not due yet.
        assert not ratelimit.reserve(key, 1).granted
    finally:
        ratelimit.store().reset(key)


def test_test_connection_sends_nothing_while_the_organisations_reads_must_wait(
    client, approver, sim, sim_workspace
):
    key = ratelimit.key_for(sim_workspace, ratelimit.GET)
    ratelimit.block(key, 30)  # as after a 429 with Retry-After: 30 on another call
    client.force_login(approver)
    try:
        response = client.post(reverse("console:workspace_test", args=[sim_workspace.pk]))

        result = response.context["connection"]
        assert not result.ok
        assert result.summary.startswith("Not tested")
        assert sim.ledger() == []
    finally:
        ratelimit.store().reset(key)


def test_a_429_on_the_connection_test_pushes_back_every_read_of_the_organisation(
    client, approver, sim, sim_workspace
):
    org = Organization.objects.create(name="Org")
    sim_workspace.organization = org
    sim_workspace.save()
    other = Workspace.objects.create(name="Other workspace of the organisation", organization=org)
    keys = [ratelimit.key_for(other, category) for category in (ratelimit.GET, ratelimit.WRITE)]
    sim.set_faults({"storm_seconds": 60, "storm_retry_after": 7})
    client.force_login(approver)
    try:
        response = client.post(reverse("console:workspace_test", args=[sim_workspace.pk]))

        result = response.context["connection"]
        assert (result.ok, result.status) == (False, 429)
        assert "every read of this organisation now waits 7 s" in response.content.decode()
        # Every GET caller of the organisation waits (another workspace's sync, verification...);
        # its deletes (another category at Extend) do not.
        assert not ratelimit.reserve(keys[0], 10).granted
        assert ratelimit.reserve(keys[1], 10).granted
    finally:
        for key in keys:
            ratelimit.store().reset(key)


def test_test_connection_reports_a_revoked_key_exactly(client, approver, sim, sim_workspace):
    sim.set_faults({"revoked": True})
    client.force_login(approver)
    response = client.post(reverse("console:workspace_test", args=[sim_workspace.pk]))
    result = response.context["connection"]
    assert not result.ok
    assert result.status == 401
    body = response.content.decode()
    assert "Connection failed" in body
    assert "401" in body
    assert result.code and f"<code>{result.code}</code>" in body  # Extend's code, not its words
    assert "revoked" not in body.lower()
    if result.request_id:
        assert result.request_id in body
    assert "sk_sim_good_key_1234" not in body


def test_test_connection_reports_a_wrong_key(client, approver, sim, db):
    ws = WorkspaceFactory(base_url=sim.url, api_key="sk_wrong_key_0000")
    client.force_login(approver)
    result = client.post(reverse("console:workspace_test", args=[ws.pk])).context["connection"]
    assert (result.ok, result.status) == (False, 401)
    assert result.code


def test_test_connection_without_a_key_says_so(client, approver, db):
    ws = Workspace.objects.create(name="Bare", base_url="http://127.0.0.1:9")
    client.force_login(approver)
    result = client.post(reverse("console:workspace_test", args=[ws.pk])).context["connection"]
    assert not result.ok
    assert "No API key" in result.summary


def test_test_connection_reports_an_unreachable_server(client, approver, workspace):
    client.force_login(approver)
    result = client.post(reverse("console:workspace_test", args=[workspace.pk])).context[
        "connection"
    ]
    assert not result.ok
    assert result.status is None
    assert "Transient" in result.summary


def test_a_stopped_workspace_shows_why_and_resumes(client, approver, workspace):
    workspace_health.mark_workspace(
        workspace,
        Workspace.Health.CREDENTIALS_INVALID,
        reason="HTTP 401: This API key has been revoked.",
        source=Source.SYSTEM,
    )
    client.force_login(approver)
    body = client.get(reverse("console:workspace_detail", args=[workspace.pk])).content.decode()
    assert "Work is stopped: Credentials invalid" in body
    assert "This API key has been revoked." in body
    assert "Enter a new key below" in body
    url = reverse("console:workspace_resume", args=[workspace.pk])
    assert b"pending items continue" in client.get(url).content
    client.post(url)
    workspace.refresh_from_db()
    assert workspace.health == Workspace.Health.ACTIVE
    event = AuditEvent.objects.get(action="workspace.resumed")
    assert event.actor == approver


def test_resuming_an_active_workspace_is_an_error_message(client, approver, workspace):
    client.force_login(approver)
    response = client.post(reverse("console:workspace_resume", args=[workspace.pk]), follow=True)
    assert b"is already active" in response.content


def test_staff_pause_a_workspace_with_a_reason(client, approver, workspace):
    client.force_login(approver)
    client.post(reverse("console:workspace_pause", args=[workspace.pk]), {"reason": "incident"})
    workspace.refresh_from_db()
    assert workspace.health == Workspace.Health.PAUSED
    assert workspace.health_reason == "incident"


def test_sync_now_starts_a_sync(client, approver, workspace, django_capture_on_commit_callbacks):
    client.force_login(approver)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client.post(reverse("console:workspace_sync", args=[workspace.pk]), follow=True)
    assert b"is starting" in response.content
    assert callbacks  # the sync task is enqueued after commit
    assert AuditEvent.objects.filter(action="workspace.sync_requested").exists()
    page = client.get(reverse("console:workspace_detail", args=[workspace.pk])).content
    assert b"Inventory sync" in page
    assert b"Last full sync" in page


def test_pending_counts_exclude_rejected_cancelled_and_expired_requests(
    client, staff_admin, approver, workspace, customer, member
):
    submitted_request(workspace, customer, member, runs=2, prefix="open_")  # counts
    rejected = submitted_request(workspace, customer, member, runs=3, prefix="rej_")
    transitions.reject_request(rejected, actor=approver, source=Source.WEB, reason="no")
    cancelled = submitted_request(workspace, customer, member, runs=4, prefix="can_")
    transitions.cancel_request(cancelled, actor=member, source=Source.WEB)
    expired = submitted_request(workspace, customer, member, runs=5, prefix="exp_")
    force_status(expired, "expired")

    client.force_login(staff_admin)
    listed = client.get(reverse("console:workspace_list")).context["workspaces"]
    assert [ws.pending_items for ws in listed if ws.pk == workspace.pk] == [2]
    detail = client.get(reverse("console:workspace_detail", args=[workspace.pk]))
    assert detail.context["pending_items"] == 2
    pause = client.get(reverse("console:workspace_pause", args=[workspace.pk])).content.decode()
    assert "Its 2 pending items wait" in pause
