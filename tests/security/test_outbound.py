"""RELIABILITY 22: outbound calls follow a policy. Workspace base URLs and customer notification
URLs are https at public addresses unless their host is listed in OUTBOUND_ALLOWED_HOSTS, when
saved and again when called; a stored key never goes to a new URL without being re-entered;
what answered is shown as a status and a code, never as its own words."""

from __future__ import annotations

import ipaddress
import json

import pytest
import requests
from django.urls import reverse
from django.utils.html import escape

from deletions.core import outbound
from deletions.models import AuditEvent, NotificationDelivery, NotificationEndpoint, Workspace
from deletions.notifications import signed_posts as notifications
from tests.factories import WorkspaceFactory
from tests.helpers import submitted_request
from tests.local_server import LocalServer

pytestmark = pytest.mark.django_db

KEY = "sk_live_outbound_key_7d6c5b4a"
BANNER = "INTERNAL-SERVICE-BANNER-5f3a"  # what an internal service would say back
PUBLIC = "93.184.215.14"

INTERNAL_URLS = [
    "http://127.0.0.1:8100",
    "http://169.254.169.254/latest/meta-data",
    "http://[::1]:8000",
    "https://127.0.0.1:8443",
    "https://169.254.169.254/latest",
    "https://[::1]:8443",
    "https://[::ffff:127.0.0.1]",
    "https://0.0.0.0",
    "https://10.0.0.5",
]


@pytest.fixture
def production(settings):
    """The policy as deployed: no host is exempt."""
    settings.OUTBOUND_ALLOWED_HOSTS = []
    return settings


def _workspace_form(**overrides: str) -> dict[str, str]:
    return {
        "name": "Moved",
        "region": "custom",
        "custom_url": "https://extend.example",
        "api_version": "2026-02-09",
        "key_scope": "workspace",
        "customer_metadata_key": "customer_id",
        "rate_limit": "10",
        "get_rate_limit": "10",
        **overrides,
    }


# --- What counts as public ---


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 (an address to refuse, not one to bind)
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::",
        "::1",
        "fe80::1",
        "fd00::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "64:ff9b::7f00:1",
        "2002:7f00:1::",
    ],
)
def test_internal_addresses_are_not_public(address):
    assert outbound.address_problem(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", [PUBLIC, "2606:4700::1111", "::ffff:93.184.215.14"])
def test_public_addresses_are(address):
    assert outbound.address_problem(ipaddress.ip_address(address)) is None


# --- Workspace base URLs, when saved ---


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_admin_cannot_create_a_workspace_at_an_internal_url(
    url, client, staff_admin, production
):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_create"), _workspace_form(custom_url=url, api_key=KEY)
    )
    assert response.status_code == 200
    assert response.context["form"].errors["custom_url"]
    assert not Workspace.objects.filter(name="Moved").exists()


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_admin_cannot_move_a_workspace_to_an_internal_url_even_with_its_key(
    url, client, staff_admin, production
):
    ws = WorkspaceFactory(name="Moved", base_url="https://api.extend.ai", api_key=KEY)
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_edit", args=[ws.pk]),
        _workspace_form(custom_url=url, api_key=KEY),
    )
    assert response.status_code == 200
    assert response.context["form"].errors["custom_url"]
    ws.refresh_from_db()
    assert ws.base_url == "https://api.extend.ai"


def test_a_name_that_resolves_inside_is_refused_with_the_reason(
    client, staff_admin, production, dns
):
    dns["extend.example"] = [PUBLIC, "10.0.0.7"]  # one private address is enough
    client.force_login(staff_admin)
    response = client.post(reverse("console:workspace_create"), _workspace_form(api_key=KEY))
    [error] = response.context["form"].errors["custom_url"]
    assert "extend.example resolves to 10.0.0.7 is a private address" in error
    assert "OUTBOUND_ALLOWED_HOSTS" in error
    assert not Workspace.objects.filter(name="Moved").exists()


def test_a_name_that_does_not_resolve_is_refused(client, staff_admin, production, dns):
    client.force_login(staff_admin)
    response = client.post(reverse("console:workspace_create"), _workspace_form(api_key=KEY))
    assert response.context["form"].errors["custom_url"] == [
        "The host extend.example could not be resolved."
    ]


def test_a_public_https_url_is_accepted(client, staff_admin, production, dns):
    dns["extend.example"] = [PUBLIC, "2606:4700::1111"]
    client.force_login(staff_admin)
    response = client.post(reverse("console:workspace_create"), _workspace_form(api_key=KEY))
    assert response.status_code == 302
    assert Workspace.objects.get(name="Moved").base_url == "https://extend.example"


def test_a_public_address_still_needs_https(client, staff_admin, production, dns):
    dns["extend.example"] = [PUBLIC]
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_create"),
        _workspace_form(custom_url="http://extend.example", api_key=KEY),
    )
    assert "Use https" in response.context["form"].errors["custom_url"][0]


def test_a_listed_host_may_be_private_and_plain_http(client, staff_admin, production, dns):
    """An on-premises Extend: the operator lists its host, and only that host."""
    production.OUTBOUND_ALLOWED_HOSTS = ["extend.onprem.internal"]
    dns["extend.onprem.internal"] = ["10.20.30.40"]
    dns["other.onprem.internal"] = ["10.20.30.41"]
    client.force_login(staff_admin)
    url = reverse("console:workspace_create")
    listed = client.post(url, _workspace_form(custom_url="http://extend.onprem.internal:8080"))
    assert listed.status_code == 302
    assert Workspace.objects.get(name="Moved").base_url == "http://extend.onprem.internal:8080"
    other = client.post(
        url, _workspace_form(name="Other", custom_url="https://other.onprem.internal")
    )
    assert other.context["form"].errors["custom_url"]


# --- A new URL takes the key again ---


def test_moving_a_workspace_without_its_key_is_refused(client, staff_admin, dns):
    dns["extend.example"] = [PUBLIC]
    ws = WorkspaceFactory(name="Moved", base_url="https://api.extend.ai", api_key=KEY)
    client.force_login(staff_admin)
    response = client.post(reverse("console:workspace_edit", args=[ws.pk]), _workspace_form())
    assert response.status_code == 200
    [error] = response.context["form"].errors["api_key"]
    assert error.startswith("The URL changes: enter the workspace's API key again.")
    assert escape(error) in response.content.decode()
    ws.refresh_from_db()
    assert (ws.base_url, ws.reveal_api_key()) == ("https://api.extend.ai", KEY)
    assert not AuditEvent.objects.filter(action="workspace.updated").exists()


def test_moving_a_workspace_to_another_region_also_needs_its_key(client, staff_admin):
    ws = WorkspaceFactory(name="Moved", base_url="https://api.extend.ai", api_key=KEY)
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_edit", args=[ws.pk]),
        _workspace_form(region=Workspace.Region.EU1, custom_url=""),
    )
    assert response.context["form"].errors["api_key"]
    ws.refresh_from_db()
    assert ws.base_url == "https://api.extend.ai"


def test_moving_a_workspace_with_its_key_reentered_is_saved_and_audited(client, staff_admin, dns):
    dns["extend.example"] = [PUBLIC]
    ws = WorkspaceFactory(name="Moved", base_url="https://api.extend.ai", api_key=KEY)
    version = ws.credentials_version
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_edit", args=[ws.pk]),
        _workspace_form(api_key="sk_live_key_for_the_new_url_9z"),
    )
    assert response.status_code == 302
    ws.refresh_from_db()
    assert ws.base_url == "https://extend.example"
    assert ws.reveal_api_key() == "sk_live_key_for_the_new_url_9z"
    assert ws.credentials_version > version
    rotated = AuditEvent.objects.get(action="workspace.key_rotated")
    assert rotated.actor == staff_admin
    assert "sk_live_key_for_the_new_url_9z" not in f"{rotated.before}{rotated.after}"
    updated = AuditEvent.objects.get(action="workspace.updated")
    assert (updated.after or {}).get("base_url") == "https://extend.example"


def test_other_settings_change_without_the_key(client, staff_admin):
    ws = WorkspaceFactory(name="Moved", base_url="http://127.0.0.1:9", api_key=KEY)
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:workspace_edit", args=[ws.pk]),
        _workspace_form(custom_url="http://127.0.0.1:9", rate_limit="3"),
    )
    assert response.status_code == 302
    ws.refresh_from_db()
    assert (ws.rate_limit, ws.reveal_api_key()) == (3, KEY)


# --- Workspace calls, when sent ---


def test_test_connection_refuses_a_host_that_now_resolves_inside(client, approver, production, dns):
    """DNS changed since the URL was saved: the key is not sent, and the page says why."""
    with LocalServer(body=b'{"data": [], "nextPageToken": null}') as srv:
        ws = WorkspaceFactory(base_url=f"https://extend.example:{srv.port}", api_key=KEY)
        dns["extend.example"] = ["127.0.0.1"]
        client.force_login(approver)
        response = client.post(reverse("console:workspace_test", args=[ws.pk]))
    result = response.context["connection"]
    assert not result.ok
    assert result.summary == (
        "Nothing was sent: extend.example resolves to 127.0.0.1 is a loopback address. The "
        "portal only calls public addresses, unless the host is listed in "
        "OUTBOUND_ALLOWED_HOSTS (for an on-premises Extend)."
    )
    assert srv.connections == 0
    assert result.summary in response.content.decode()


def test_the_connection_is_made_to_the_checked_address_with_the_hosts_name_for_tls(dns):
    """Resolve once, check, connect there: a second lookup cannot swap in another address."""
    dns["extend.example"] = [PUBLIC]
    request = requests.Request("GET", "https://extend.example/parse_runs").prepare()
    host_params, pool_kwargs = outbound.PolicyAdapter().build_connection_pool_key_attributes(
        request, True
    )
    assert host_params["host"] == PUBLIC
    assert pool_kwargs["server_hostname"] == "extend.example"  # type: ignore[typeddict-item]
    assert pool_kwargs["assert_hostname"] == "extend.example"  # type: ignore[typeddict-item]
    assert request.headers["Host"] == "extend.example"


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, f"<html><body>{BANNER}</body></html>"),
        (401, json.dumps({"code": "UNAUTHORIZED", "message": BANNER, "requestId": "req_1"})),
        (404, f"<h1>{BANNER}</h1>"),
        (500, json.dumps({"code": f"<b>{BANNER}</b>", "message": BANNER})),
    ],
)
def test_test_connection_never_shows_what_answered(status, body, client, approver, staff_admin):
    """The host is allowed (127.0.0.1 in the tests): whatever it says stays off the page."""
    with LocalServer(status=status, body=body.encode()) as srv:
        ws = WorkspaceFactory(base_url=f"http://127.0.0.1:{srv.port}", api_key=KEY)
        for user in (approver, staff_admin):
            client.force_login(user)
            response = client.post(reverse("console:workspace_test", args=[ws.pk]))
            page = response.content.decode()
            assert response.context["connection"].ok is False
            assert BANNER not in page
            assert "Connection failed" in page
    if status == 401:
        assert "<code>UNAUTHORIZED</code>" in page  # Extend's error code is shown
        assert "HTTP status</dt><dd>401" in page
    events = AuditEvent.objects.filter(action="workspace.connection_tested")
    assert BANNER not in str([(e.detail, e.after) for e in events])


# --- Notification URLs ---


@pytest.mark.parametrize("url", INTERNAL_URLS)
def test_an_admin_cannot_set_an_internal_notification_url(
    url, client, staff_admin, customer, production
):
    client.force_login(staff_admin)
    response = client.post("/console/api/notifications/", {"customer": customer.pk, "url": url})
    assert response.status_code == 200
    assert response.context["form"].errors["url"]
    assert not response.context["new_secret"]
    assert not NotificationEndpoint.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="notification_endpoint").exists()


def test_setting_and_changing_a_notification_url_is_audited_without_the_secret(
    client, staff_admin, customer, dns
):
    dns["hooks.example"] = [PUBLIC]
    dns["new-hooks.example"] = [PUBLIC]
    client.force_login(staff_admin)
    first = client.post(
        "/console/api/notifications/", {"customer": customer.pk, "url": "https://hooks.example/a"}
    )
    second = client.post(
        "/console/api/notifications/",
        {"customer": customer.pk, "url": "https://new-hooks.example/b"},
    )
    secrets = [first.context["new_secret"], second.context["new_secret"]]
    assert all(secrets) and secrets[0] != secrets[1]
    created = AuditEvent.objects.get(action="notification_endpoint.set")
    assert (created.actor, created.customer) == (staff_admin, customer)
    assert created.before is None
    assert created.after == {"url_host": "hooks.example", "is_active": True}
    changed = AuditEvent.objects.get(action="notification_endpoint.changed")
    assert changed.before == {"url_host": "hooks.example", "is_active": True}
    assert changed.after == {"url_host": "new-hooks.example", "is_active": True}
    assert changed.detail == {"secret_rotated": True, "url_changed": True}
    # Setting the same URL again makes a new secret: a rotation, audited too.
    third = client.post(
        "/console/api/notifications/",
        {"customer": customer.pk, "url": "https://new-hooks.example/b"},
    )
    secrets.append(third.context["new_secret"])
    rotated = AuditEvent.objects.filter(action="notification_endpoint.changed").latest("pk")
    assert rotated.detail == {"secret_rotated": True, "url_changed": False}
    trail = str([(e.before, e.after, e.detail) for e in AuditEvent.objects.all()])
    for secret in secrets:
        assert secret not in trail


@pytest.fixture
def delivery_to(customer, workspace, member):
    def make(url: str) -> NotificationDelivery:
        endpoint = NotificationEndpoint(customer=customer, url=url)
        endpoint.set_secret("whsec_outbound_test_0001")
        endpoint.save()
        req = submitted_request(workspace, customer, member, runs=1)
        delivery = notifications.record(req, "pending_approval", "approved")
        assert delivery is not None
        return delivery

    return make


def test_a_notification_is_not_sent_to_a_host_that_now_resolves_inside(
    production, dns, delivery_to, client, viewer
):
    with LocalServer(status=204) as srv:
        dns["hooks.example"] = [PUBLIC]
        delivery = delivery_to(f"https://hooks.example:{srv.port}/hook")
        dns["hooks.example"] = ["169.254.169.254"]
        outcome = notifications.deliver(delivery.pk)
    assert srv.connections == 0
    assert outcome is not None and outcome.status == NotificationDelivery.Status.PENDING
    assert outcome.last_status_code is None
    assert outcome.last_error.startswith(
        "Not sent: hooks.example resolves to 169.254.169.254 is a link-local address."
    )
    client.force_login(viewer)
    assert "is a link-local address" in client.get("/console/api/notifications/").content.decode()


def test_a_stored_internal_notification_url_is_refused_at_send_time(production, delivery_to):
    with LocalServer(status=204) as srv:
        delivery = delivery_to(f"http://127.0.0.1:{srv.port}/hook")  # saved before the policy
        outcome = notifications.deliver(delivery.pk)
    assert srv.connections == 0
    assert outcome is not None and outcome.last_error.startswith("Not sent: Use https")


@pytest.mark.parametrize("who", ["viewer", "approver", "staff_admin"])
def test_the_delivery_log_shows_the_status_not_what_the_receiver_said(
    who, request, delivery_to, client
):
    with LocalServer(status=503, body=BANNER.encode()) as srv:
        delivery = delivery_to(f"http://127.0.0.1:{srv.port}/hook")
        outcome = notifications.deliver(delivery.pk)
    assert [path for path, _h, _b in srv.received] == ["/hook"]
    assert outcome is not None and outcome.last_status_code == 503
    assert BANNER not in outcome.last_error
    client.force_login(request.getfixturevalue(who))
    page = client.get("/console/api/notifications/").content.decode()
    assert "HTTP 503" in page
    assert BANNER not in page


def test_a_redirect_is_not_followed(delivery_to):
    with LocalServer(status=204) as target:
        location = {"Location": f"http://127.0.0.1:{target.port}/elsewhere"}
        with LocalServer(status=302, headers=location) as bouncer:
            delivery = delivery_to(f"http://127.0.0.1:{bouncer.port}/hook")
            outcome = notifications.deliver(delivery.pk)
        assert target.connections == 0
    assert outcome is not None and outcome.last_status_code == 302
    assert outcome.last_error == "HTTP 302"
