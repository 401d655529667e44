"""Tokens, service accounts and notification settings over the API: the token pages' rules
(credentials are personal; admins manage their scope), secrets shown once, audited as API."""

from __future__ import annotations

import pytest

from deletions.accounts import service_accounts
from deletions.models import (
    ApiToken,
    AuditEvent,
    NotificationDelivery,
    NotificationEndpoint,
    ServiceAccount,
    Source,
)
from tests.factories import customer_user
from tests.helpers import bearer, client_for

pytestmark = pytest.mark.django_db

MINE = "/api/v1/me/tokens"
TOKENS = "/api/v1/tokens"
ACCOUNTS = "/api/v1/service-accounts"
ENDPOINTS = "/api/v1/notifications/endpoints"


# --- Your own tokens ---


@pytest.mark.parametrize("client_name", ["member_api", "approver_api", "staff_admin_api"])
def test_anyone_creates_a_token_of_their_own_shown_once(request, client_name):
    client = request.getfixturevalue(client_name)
    response = client.post(MINE, {"name": "CI"}, format="json")
    assert response.status_code == 201, response.content
    raw = response.json()["token"]
    token = ApiToken.objects.get(pk=response.json()["id"])
    assert token.user.username == response.json()["user"]
    assert bearer(raw).get(MINE).status_code == 200
    listed = client.get(MINE)
    assert raw not in listed.content.decode()
    assert token.pk in [row["id"] for row in listed.json()["results"]]
    event = AuditEvent.objects.get(action="api_token.issued", object_id=str(token.pk))
    assert (event.source, event.actor_id) == (Source.API, token.user_id)
    assert raw not in str(event.detail)


def test_a_service_token_cannot_create_tokens(customer_service_api, operator_service_api):
    for client in (customer_service_api, operator_service_api):
        before = ApiToken.objects.count()
        assert client.post(MINE, {"name": "more"}, format="json").status_code == 403
        assert ApiToken.objects.count() == before


def test_you_revoke_only_your_own_tokens(member_api, approver_api, member):
    theirs = ApiToken.objects.filter(user=member).first()
    assert approver_api.post(f"{MINE}/{theirs.pk}/revoke").status_code == 404
    response = member_api.post(f"{MINE}/{theirs.pk}/revoke")
    assert response.status_code == 200
    assert response.json()["revoked_at"]
    assert member_api.get(MINE).status_code == 401
    assert AuditEvent.objects.get(action="api_token.revoked").source == Source.API


# --- Tokens of a scope ---


def test_console_admins_see_every_token_customer_admins_their_customers(
    staff_admin_api, admin_api, member, outsider, approver
):
    mine = ApiToken.issue(member, name="m")[0]
    other = ApiToken.issue(outsider, name="o")[0]
    staff = ApiToken.issue(approver, name="a")[0]
    every = {r["id"] for r in staff_admin_api.get(TOKENS, {"limit": 200}).json()["results"]}
    theirs = {r["id"] for r in admin_api.get(TOKENS, {"limit": 200}).json()["results"]}
    assert {mine.pk, other.pk, staff.pk} <= every
    assert mine.pk in theirs
    assert not {other.pk, staff.pk} & theirs


@pytest.mark.parametrize(
    "client_name", ["member_api", "viewer_api", "approver_api", "customer_service_api"]
)
def test_others_do_not_manage_tokens(request, client_name, member):
    client = request.getfixturevalue(client_name)
    token = ApiToken.issue(member, name="m")[0]
    assert client.get(TOKENS).status_code == 403
    assert client.post(f"{TOKENS}/{token.pk}/revoke").status_code == 403
    assert client.get(ACCOUNTS).status_code == 403
    assert client.post(ACCOUNTS, {"name": "Bot"}, format="json").status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None


def test_an_operator_service_token_manages_nothing(operator_service_api, member):
    token = ApiToken.issue(member, name="m")[0]
    assert operator_service_api.get(TOKENS).status_code == 403
    assert operator_service_api.post(f"{TOKENS}/{token.pk}/revoke").status_code == 403


def test_a_customer_admin_revokes_their_customers_tokens_only(admin_api, member, outsider):
    ours = ApiToken.issue(member, name="m")[0]
    theirs = ApiToken.issue(outsider, name="o")[0]
    assert admin_api.post(f"{TOKENS}/{theirs.pk}/revoke").status_code == 404
    assert admin_api.post(f"{TOKENS}/{ours.pk}/revoke").status_code == 200
    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert ours.revoked_at is not None and theirs.revoked_at is None


# --- Service accounts ---


def test_a_customer_admin_creates_a_service_account_and_issues_its_token(
    admin_api, customer_admin, customer
):
    created = admin_api.post(ACCOUNTS, {"name": "Nightly clean-up"}, format="json")
    assert created.status_code == 201, created.content
    account = ServiceAccount.objects.get(pk=created.json()["id"])
    assert (account.customer, account.issued_by) == (customer, customer_admin)
    issued = admin_api.post(f"{ACCOUNTS}/{account.pk}/tokens", {"name": "cron"}, format="json")
    assert issued.status_code == 201, issued.content
    robot = bearer(issued.json()["token"])
    assert robot.get("/api/v1/runs").status_code == 200
    actions = AuditEvent.objects.filter(source=Source.API).values_list("action", flat=True)
    assert {"service_account.created", "api_token.issued"} <= set(actions)


def test_only_its_creator_issues_a_service_accounts_tokens(customer_admin, customer):
    account = service_accounts.create(
        name="Bot", customer=customer, issued_by=customer_admin, source=Source.WEB
    )
    colleague = customer_user(customer, role="admin", username="dora")
    response = client_for(colleague).post(
        f"{ACCOUNTS}/{account.pk}/tokens", {"name": "mine"}, format="json"
    )
    assert response.status_code == 403
    assert not ApiToken.objects.filter(user=account.user).exists()


def test_another_customers_service_account_is_not_found(admin_api, outsider, other_customer):
    boss = customer_user(other_customer, role="admin", username="boss")
    account = service_accounts.create(
        name="Theirs", customer=other_customer, issued_by=boss, source=Source.WEB
    )
    response = admin_api.post(f"{ACCOUNTS}/{account.pk}/tokens", {"name": "x"}, format="json")
    assert response.status_code == 404
    assert account.pk not in [r["id"] for r in admin_api.get(ACCOUNTS).json()["results"]]


def test_a_console_admins_service_account_is_the_operators_and_only_reads(staff_admin_api):
    created = staff_admin_api.post(ACCOUNTS, {"name": "Reporting"}, format="json")
    account = ServiceAccount.objects.get(pk=created.json()["id"])
    assert account.customer is None
    issued = staff_admin_api.post(
        f"{ACCOUNTS}/{account.pk}/tokens", {"name": "r"}, format="json"
    ).json()
    robot = bearer(issued["token"])
    assert robot.get("/api/v1/workspaces").status_code == 200
    assert robot.post(ACCOUNTS, {"name": "More"}, format="json").status_code == 403


# --- Notification settings ---


def test_an_admin_sets_a_notification_url_and_sees_its_secret_once(
    staff_admin_api, staff_admin, viewer_api, customer, dns
):
    dns["hooks.example"] = ["93.184.216.34"]
    body = {"customer": customer.pk, "url": "https://hooks.example/portal"}
    response = staff_admin_api.post(ENDPOINTS, body, format="json")
    assert response.status_code == 200, response.content
    secret = response.json()["signing_secret"]
    endpoint = NotificationEndpoint.objects.get(customer=customer)
    assert endpoint.reveal_secret() == secret
    listed = viewer_api.get(ENDPOINTS)
    assert listed.json()["results"][0]["url"] == "https://hooks.example/portal"
    assert secret not in listed.content.decode()
    event = AuditEvent.objects.get(action="notification_endpoint.set")
    assert (event.source, event.actor_id) == (Source.API, staff_admin.pk)
    assert secret not in str(event.before) + str(event.after) + str(event.detail)


@pytest.mark.parametrize(
    "url", ["http://10.0.0.7/hook", "https://internal.example/hook", "http://169.254.169.254/"]
)
def test_an_internal_notification_url_is_refused(staff_admin_api, customer, dns, url):
    dns["internal.example"] = ["192.168.1.20"]
    response = staff_admin_api.post(ENDPOINTS, {"customer": customer.pk, "url": url}, format="json")
    assert response.status_code == 422
    assert not NotificationEndpoint.objects.exists()


@pytest.mark.parametrize("client_name", ["viewer_api", "approver_api", "operator_service_api"])
def test_only_admins_set_notification_urls(request, client_name, customer, dns):
    dns["hooks.example"] = ["93.184.216.34"]
    client = request.getfixturevalue(client_name)
    body = {"customer": customer.pk, "url": "https://hooks.example/portal"}
    assert client.post(ENDPOINTS, body, format="json").status_code == 403
    assert not NotificationEndpoint.objects.exists()


def test_staff_read_the_delivery_log(viewer_api, customer, other_customer):
    ours = NotificationEndpoint.objects.create(customer=customer, url="https://a.example/")
    theirs = NotificationEndpoint.objects.create(customer=other_customer, url="https://b.example/")
    for endpoint in (ours, theirs):
        NotificationDelivery.objects.create(endpoint=endpoint, event="e", payload={})
    every = viewer_api.get("/api/v1/notifications/deliveries").json()["results"]
    one = viewer_api.get("/api/v1/notifications/deliveries", {"customer": customer.pk}).json()
    assert len(every) == 2
    assert [row["customer"] for row in one["results"]] == [customer.pk]


def test_customers_see_no_notification_settings(admin_api):
    assert admin_api.get(ENDPOINTS).status_code == 403
    assert admin_api.get("/api/v1/notifications/deliveries").status_code == 403
