"""Customers, their users and staff roles over the API: console admins only, the console's
rules and invitations, audited as API."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core import mail

from deletions.accounts import roles
from deletions.api.auth import SERVICE_ACCOUNT_REFUSED
from deletions.models import AuditEvent, Customer, Membership, Source
from tests.factories import staff_user

pytestmark = pytest.mark.django_db

CUSTOMERS = "/api/v1/customers"
STAFF = "/api/v1/staff"
NOT_ADMINS = ["viewer_api", "approver_api", "member_api", "admin_api", "operator_service_api"]


def _new_customer(client, **fields):
    body = {"name": "Initech", "external_ref": "cust_initech", "slug": "initech", **fields}
    return client.post(CUSTOMERS, body, format="json")


def test_an_admin_creates_and_edits_a_customer(staff_admin_api, staff_admin):
    created = _new_customer(staff_admin_api, cooling_off_hours=24)
    assert created.status_code == 201, created.content
    customer = Customer.objects.get(slug="initech")
    assert (customer.cooling_off_hours, customer.is_active) == (24, True)
    assert created.json()["members"] == []
    changed = staff_admin_api.patch(
        f"{CUSTOMERS}/{customer.pk}", {"is_active": False}, format="json"
    )
    assert changed.status_code == 200, changed.content
    customer.refresh_from_db()
    assert (customer.is_active, customer.name) == (False, "Initech")
    events = AuditEvent.objects.filter(action__startswith="customer.").order_by("id")
    assert [(e.action, e.source, e.actor_id) for e in events] == [
        ("customer.created", Source.API, staff_admin.pk),
        ("customer.updated", Source.API, staff_admin.pk),
    ]
    assert events[1].after == {"is_active": "False"}


def test_a_taken_reference_or_slug_is_refused(staff_admin_api, customer):
    same_ref = _new_customer(staff_admin_api, external_ref=customer.external_ref)
    same_slug = _new_customer(staff_admin_api, slug=customer.slug)
    too_long = _new_customer(staff_admin_api, cooling_off_hours=169)
    assert (same_ref.status_code, same_slug.status_code, too_long.status_code) == (422, 422, 400)
    assert not Customer.objects.filter(name="Initech").exists()


@pytest.mark.parametrize("client_name", NOT_ADMINS)
def test_only_console_admins_manage_customers(request, client_name, customer):
    client = request.getfixturevalue(client_name)
    assert client.get(CUSTOMERS).status_code == 403
    assert client.get(f"{CUSTOMERS}/{customer.pk}").status_code == 403
    assert _new_customer(client).status_code == 403
    patched = client.patch(f"{CUSTOMERS}/{customer.pk}", {"name": "X"}, format="json")
    assert patched.status_code == 403
    invited = client.post(
        f"{CUSTOMERS}/{customer.pk}/users", {"email": "new@example.com"}, format="json"
    )
    assert invited.status_code == 403
    assert not Customer.objects.filter(name__in=["Initech", "X"]).exists()
    assert not User.objects.filter(email="new@example.com").exists()


def test_the_refusal_names_service_tokens(operator_service_api):
    response = _new_customer(operator_service_api)
    assert response.json()["error"]["message"] == SERVICE_ACCOUNT_REFUSED


def test_a_customer_lists_its_people_not_its_service_accounts(
    staff_admin_api, customer, member, customer_admin, customer_service_api
):
    body = staff_admin_api.get(f"{CUSTOMERS}/{customer.pk}").json()
    assert [m["username"] for m in body["members"]] == ["alice", "carol"]
    assert body["users"] == 3
    found = staff_admin_api.get(CUSTOMERS, {"q": customer.external_ref}).json()["results"]
    assert [c["id"] for c in found] == [customer.pk]


def test_an_admin_invites_a_customer_user(
    staff_admin_api, staff_admin, customer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_admin_api.post(
            f"{CUSTOMERS}/{customer.pk}/users",
            {"email": "dave@example.com", "role": "admin", "first_name": "Dave"},
            format="json",
        )
    assert response.status_code == 201, response.content
    user = User.objects.get(username="dave@example.com")
    assert (user.membership.customer, user.membership.role) == (customer, Membership.Role.ADMIN)
    assert not user.has_usable_password()
    assert [m.to for m in mail.outbox] == [["dave@example.com"]]
    event = AuditEvent.objects.get(action="user.invited")
    assert (event.source, event.actor_id, event.customer_id) == (
        Source.API,
        staff_admin.pk,
        customer.pk,
    )


def test_an_address_in_use_is_refused(staff_admin_api, customer, member):
    response = staff_admin_api.post(
        f"{CUSTOMERS}/{customer.pk}/users", {"email": member.email}, format="json"
    )
    assert response.status_code == 422
    assert not mail.outbox


# --- Staff ---


def test_an_admin_lists_staff_with_superusers(staff_admin_api, viewer, approver, staff_admin):
    root = User.objects.create_superuser("root", "root@example.com", "x")
    body = staff_admin_api.get(STAFF).json()["results"]
    got = {row["username"]: row["role"] for row in body}
    assert got == {"victor": "viewer", "anna": "approver", "olga": "admin", "root": ""}
    assert next(r for r in body if r["id"] == root.pk)["is_superuser"] is True


def test_an_admin_invites_a_staff_user(staff_admin_api):
    response = staff_admin_api.post(
        STAFF, {"email": "sam@example.com", "role": "approver"}, format="json"
    )
    assert response.status_code == 201, response.content
    user = User.objects.get(username="sam@example.com")
    assert roles.staff_role_of(user) == roles.APPROVER
    assert user.is_staff
    assert AuditEvent.objects.get(action="user.invited").source == Source.API


def test_an_admin_changes_a_role_audited_as_api(staff_admin_api, staff_admin, viewer):
    response = staff_admin_api.post(
        f"{STAFF}/{viewer.pk}/role", {"role": "approver"}, format="json"
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "approver"
    event = AuditEvent.objects.get(action="user.role_changed")
    assert (event.source, event.actor_id) == (Source.API, staff_admin.pk)
    assert (event.before, event.after) == ({"role": "viewer"}, {"role": "approver"})


def test_taking_access_away_takes_superuser_status_too(staff_admin_api):
    root = User.objects.create_superuser("root", "root@example.com", "x")
    response = staff_admin_api.post(f"{STAFF}/{root.pk}/role", {"role": "none"}, format="json")
    assert response.status_code == 200
    root.refresh_from_db()
    assert (root.is_superuser, root.is_staff, roles.staff_role_of(root)) == (False, False, "")
    again = staff_admin_api.post(f"{STAFF}/{root.pk}/role", {"role": "viewer"}, format="json")
    assert again.status_code == 200


def test_nobody_changes_their_own_role(staff_admin_api, staff_admin):
    response = staff_admin_api.post(
        f"{STAFF}/{staff_admin.pk}/role", {"role": "viewer"}, format="json"
    )
    assert response.status_code == 403
    assert roles.staff_role_of(staff_admin) == roles.ADMIN


def test_customer_users_and_service_accounts_get_no_staff_role(
    staff_admin_api, member, operator_service_api
):
    for user in (member, operator_service_api.user):
        response = staff_admin_api.post(f"{STAFF}/{user.pk}/role", {"role": "admin"}, format="json")
        assert response.status_code == 404
        assert roles.staff_role_of(user) == ""


@pytest.mark.parametrize("client_name", NOT_ADMINS)
def test_only_console_admins_manage_staff(request, client_name):
    client = request.getfixturevalue(client_name)
    target = staff_user(roles.VIEWER, username="target")
    assert client.get(STAFF).status_code == 403
    assert (
        client.post(f"{STAFF}/{target.pk}/role", {"role": "admin"}, format="json").status_code
        == 403
    )
    assert client.post(STAFF, {"email": "x@example.com"}, format="json").status_code == 403
    assert roles.staff_role_of(target) == roles.VIEWER
