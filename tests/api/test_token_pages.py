"""The token pages: everyone's own tokens; admins and customer admins list and revoke tokens of
their scope and issue tokens of their own service accounts, never of another person."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User

from deletions.accounts import service_accounts
from deletions.api import tokens
from deletions.models import ApiToken, AuditEvent, Membership, ServiceAccount, Source
from tests.factories import customer_user, staff_user
from tests.helpers import bearer, token_works

pytestmark = pytest.mark.django_db


# A whole raw token (the lists show only its first characters).
RAW_TOKEN = re.compile(rb"dpk_[A-Za-z0-9_-]{20,}")


def no_token_shown(page) -> bool:
    return not RAW_TOKEN.search(page.content) and not page.context.get("created")


# --- The finding: one admin could mint working tokens of other people ---


@pytest.mark.parametrize(
    ("admin", "url", "victim", "old_field"),
    [
        ("staff_admin", "/console/api/tokens/", "member", "username"),
        ("staff_admin", "/console/api/tokens/", "approver", "username"),
        ("customer_admin", "/team/api-tokens/", "member", "user"),
    ],
)
def test_no_admin_can_mint_a_token_of_another_person(
    admin, url, victim, old_field, request, client
):
    person = request.getfixturevalue(victim)
    client.force_login(request.getfixturevalue(admin))
    old_value = person.username if old_field == "username" else person.pk
    for body in (
        {old_field: old_value, "name": "x"},  # the form the attack used
        {"what": "token", "account": person.pk, "name": "x"},
    ):
        page = client.post(url, body)
        assert page.status_code == 200
        assert no_token_shown(page)
    assert not ApiToken.objects.exists()
    assert not AuditEvent.objects.filter(action="api_token.issued").exists()


def test_the_domain_refuses_a_token_of_another_person_whoever_asks(member, staff_admin):
    from deletions.core.errors import RuleViolation

    with pytest.raises(RuleViolation, match="belongs to the person who creates it"):
        tokens.issue(member, name="x", created_by=staff_admin, source=Source.WEB)
    with pytest.raises(RuleViolation, match="command line"):
        tokens.issue(member, name="x", created_by=None, source=Source.API)
    assert not ApiToken.objects.exists()


# --- Everyone's own tokens ---


@pytest.mark.parametrize("who", ["member", "customer_admin", "viewer", "approver", "staff_admin"])
def test_every_user_creates_their_own_token_shown_once_and_revokes_it(who, request, client):
    user = request.getfixturevalue(who)
    client.force_login(user)
    assert client.get("/account/api-tokens/").status_code == 200
    page = client.post("/account/api-tokens/", {"name": "laptop script"})
    raw = page.context["created"][1]
    assert raw.encode() in page.content
    token = ApiToken.objects.get()
    assert (token.user, token.created_by, token.name) == (user, user, "laptop script")
    assert token_works(raw)
    issued = AuditEvent.objects.get(action="api_token.issued")
    assert (issued.actor_id, issued.source) == (user.pk, Source.WEB)

    again = client.get("/account/api-tokens/")
    assert raw.encode() not in again.content
    assert token.prefix.encode() in again.content
    assert b"will get 401" in client.get(f"/account/api-tokens/{token.pk}/revoke/").content
    client.post(f"/account/api-tokens/{token.pk}/revoke/")
    assert not token_works(raw)


def test_nobody_sees_or_revokes_another_persons_token_on_their_own_page(
    client, member, customer_admin
):
    theirs, raw = ApiToken.issue(customer_admin, name="theirs", created_by=customer_admin)
    client.force_login(member)
    assert theirs.prefix.encode() not in client.get("/account/api-tokens/").content
    assert client.get(f"/account/api-tokens/{theirs.pk}/revoke/").status_code == 404
    assert client.post(f"/account/api-tokens/{theirs.pk}/revoke/").status_code == 404
    assert token_works(raw)


def test_a_user_without_any_role_is_told_a_token_would_be_useless(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="plain"))
    page = client.post("/account/api-tokens/", {"name": "x"})
    assert b"neither a customer membership nor a staff role" in page.content
    assert not ApiToken.objects.exists()


def test_the_own_tokens_page_is_in_every_signed_in_users_menu(client, member, viewer):
    for user, home in ((member, "/runs/"), (viewer, "/console/")):
        client.force_login(user)
        assert b'href="/account/api-tokens/"' in client.get(home).content
        client.logout()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get("/account/api-tokens/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# --- Console admins: every token, the operator's service accounts ---


def test_a_console_admin_creates_an_operator_service_account_and_its_token(client, staff_admin):
    client.force_login(staff_admin)
    client.post("/console/api/tokens/", {"what": "account", "account_name": "Monitoring"})
    account = ServiceAccount.objects.get()
    robot = account.user
    assert (account.name, account.customer, account.issued_by) == ("Monitoring", None, staff_admin)
    assert not robot.has_usable_password() and not robot.email
    assert not Membership.objects.filter(user=robot).exists()
    assert not robot.groups.exists()  # no staff role: it is nobody's colleague
    created = AuditEvent.objects.get(action="service_account.created")
    assert created.actor_id == staff_admin.pk

    page = client.post(
        "/console/api/tokens/", {"what": "token", "account": account.pk, "name": "grafana"}
    )
    raw = page.context["created"][1]
    token = ApiToken.objects.get()
    assert (token.user, token.created_by, token.customer) == (robot, staff_admin, None)
    assert AuditEvent.objects.get(action="api_token.issued").actor_id == staff_admin.pk
    assert bearer(raw).get("/api/v1/queue").status_code == 200
    listing = client.get("/console/api/tokens/")
    assert raw.encode() not in listing.content
    assert b"service account of olga" in listing.content


def test_only_the_creator_issues_a_service_accounts_tokens_other_admins_revoke_them(
    client, staff_admin
):
    account = service_accounts.create(
        name="Monitoring", customer=None, issued_by=staff_admin, source=Source.WEB
    )
    token, raw = tokens.issue(
        account.user, name="grafana", created_by=staff_admin, source=Source.WEB
    )
    other_admin = staff_user("admin", username="oscar")
    client.force_login(other_admin)
    page = client.post(
        "/console/api/tokens/", {"what": "token", "account": account.pk, "name": "mine now"}
    )
    assert page.context["token_form"].errors["account"]
    assert no_token_shown(page)
    assert ApiToken.objects.count() == 1

    client.post(f"/console/api/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert not token_works(raw)
    assert AuditEvent.objects.get(action="api_token.revoked").actor_id == other_admin.pk


def test_a_console_admin_lists_and_revokes_any_token(client, staff_admin, member):
    theirs, raw = ApiToken.issue(member, name="alice's", created_by=member)
    client.force_login(staff_admin)
    assert theirs.prefix.encode() in client.get("/console/api/tokens/").content
    client.post(f"/console/api/tokens/{theirs.pk}/revoke/")
    assert not token_works(raw)


def test_a_console_admin_cannot_issue_tokens_of_a_customers_service_account(
    client, staff_admin, customer_admin, customer
):
    account = service_accounts.create(
        name="CI", customer=customer, issued_by=customer_admin, source=Source.WEB
    )
    client.force_login(staff_admin)
    page = client.post("/console/api/tokens/", {"what": "token", "account": account.pk})
    assert no_token_shown(page)
    assert not ApiToken.objects.exists()


# --- Customer admins: their customer's tokens and service accounts ---


def test_a_customer_admin_creates_a_service_account_whose_token_files_requests(
    client, customer_admin, customer, workspace
):
    from tests.factories import make_runs

    ids = make_runs(workspace, customer, 2)
    client.force_login(customer_admin)
    client.post("/team/api-tokens/", {"what": "account", "account_name": "Nightly clean-up"})
    account = ServiceAccount.objects.get()
    assert account.customer == customer and account.issued_by == customer_admin
    assert account.user.membership.role == Membership.Role.MEMBER
    page = client.post("/team/api-tokens/", {"what": "token", "account": account.pk, "name": "ci"})
    raw = page.context["created"][1]
    filed = bearer(raw).post(
        "/api/v1/requests",
        {"scope": "explicit", "run_ids": ids, "reason": "cleanup"},
        format="json",
    )
    assert filed.status_code == 201
    assert filed.json()["requested_by"] == account.user.username
    assert b"service account of carol" in client.get("/team/api-tokens/").content


def test_a_customer_admin_revokes_their_customers_tokens_only(
    client, customer, customer_admin, member, outsider, staff_admin
):
    members_token, members_raw = ApiToken.issue(member, name="alice's", created_by=member)
    outsiders, _ = ApiToken.issue(outsider, name="theirs", created_by=outsider)
    operator = service_accounts.create(
        name="Monitoring", customer=None, issued_by=staff_admin, source=Source.WEB
    )
    operators, _ = tokens.issue(operator.user, name="m", created_by=staff_admin, source="web")
    client.force_login(customer_admin)
    listing = client.get("/team/api-tokens/").content
    assert members_token.prefix.encode() in listing
    assert outsiders.prefix.encode() not in listing
    assert operators.prefix.encode() not in listing
    for foreign in (outsiders, operators):
        assert client.get(f"/team/api-tokens/{foreign.pk}/revoke/").status_code == 404
        assert client.post(f"/team/api-tokens/{foreign.pk}/revoke/").status_code == 404
    client.post(f"/team/api-tokens/{members_token.pk}/revoke/")
    assert not token_works(members_raw)
    assert ApiToken.objects.filter(revoked_at__isnull=False).count() == 1


def test_a_customer_admin_issues_tokens_of_their_own_service_accounts_only(
    client, customer, customer_admin, other_customer
):
    colleague = customer_user(customer, role=Membership.Role.ADMIN, username="claire")
    theirs = service_accounts.create(
        name="CI", customer=customer, issued_by=colleague, source=Source.WEB
    )
    boris = customer_user(other_customer, role=Membership.Role.ADMIN, username="boris")
    elsewhere = service_accounts.create(
        name="CI", customer=other_customer, issued_by=boris, source=Source.WEB
    )
    client.force_login(customer_admin)
    for account in (theirs, elsewhere):
        page = client.post("/team/api-tokens/", {"what": "token", "account": account.pk})
        assert no_token_shown(page)
    assert not ApiToken.objects.exists()
    choices = client.get("/team/api-tokens/").context["token_form"].fields["account"].queryset
    assert list(choices) == []


def test_members_cannot_manage_their_customers_tokens(client, member):
    client.force_login(member)
    assert client.get("/team/api-tokens/").status_code == 403
    posted = client.post("/team/api-tokens/", {"what": "account", "account_name": "x"})
    assert posted.status_code == 403
    assert not ServiceAccount.objects.exists()


def test_service_accounts_are_not_team_members_and_never_sign_in(client, customer, customer_admin):
    account = service_accounts.create(
        name="CI", customer=customer, issued_by=customer_admin, source=Source.WEB
    )
    client.force_login(customer_admin)
    assert account.user.username.encode() not in client.get("/team/").content
    assert client.get(f"/team/{account.user.pk}/deactivate/").status_code == 404
    client.logout()
    for password in ("", "!", account.user.password):
        client.post("/accounts/login/", {"username": account.user.username, "password": password})
        assert "_auth_user_id" not in client.session
    assert User.objects.get(pk=account.user.pk).last_login is None
