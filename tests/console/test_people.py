"""Customers, their users and staff roles: admins only, every change audited, invitations by
e-mail with a signed expiring link."""

from __future__ import annotations

import re

from django.contrib.auth.models import User
from django.core import mail
from django.urls import reverse

from deletions.models import AuditEvent, Customer, Membership


def test_an_admin_creates_and_edits_a_customer(client, staff_admin):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:customer_create"),
        {"name": "Initech", "external_ref": "initech", "slug": "initech", "is_active": "on"},
    )
    customer = Customer.objects.get(slug="initech")
    assert response.status_code == 302
    assert AuditEvent.objects.get(action="customer.created").customer_id == customer.pk
    client.post(
        reverse("console:customer_edit", args=[customer.pk]),
        {"name": "Initech Ltd", "external_ref": "initech", "slug": "initech", "is_active": "on"},
    )
    customer.refresh_from_db()
    assert customer.name == "Initech Ltd"
    event = AuditEvent.objects.get(action="customer.updated")
    assert event.before == {"name": "Initech"}
    assert event.after == {"name": "Initech Ltd"}


def test_a_duplicate_external_reference_is_refused(client, staff_admin, customer):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:customer_create"),
        {"name": "Copy", "external_ref": customer.external_ref, "slug": "copy"},
    )
    assert response.status_code == 200
    assert b"already exists" in response.content


def test_inviting_a_customer_user_sends_a_set_password_link(
    client, staff_admin, customer, django_capture_on_commit_callbacks
):
    client.force_login(staff_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("console:customer_detail", args=[customer.pk]),
            {"email": "bob@acme.example", "first_name": "Bob", "role": "admin"},
        )
    assert response.status_code == 302
    user = User.objects.get(username="bob@acme.example")
    assert not user.has_usable_password()
    assert user.membership.customer == customer
    assert user.membership.role == Membership.Role.ADMIN
    assert not user.is_staff
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["bob@acme.example"]
    assert "Acme Health" in message.subject
    link = re.search(r"https?://\S+/accounts/invitation/\S+/", str(message.body)).group(0)
    path = link.split("://", 1)[1].split("/", 1)[1]
    client.logout()
    page = client.get("/" + path)
    assert page.status_code == 200  # the accounts pages accept the link
    event = AuditEvent.objects.get(action="user.invited")
    assert event.customer_id == customer.pk
    assert event.after == {"username": "bob@acme.example", "role": "admin"}


def test_inviting_an_existing_address_is_refused(client, staff_admin, customer, member):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:customer_detail", args=[customer.pk]),
        {"email": member.email, "role": "member"},
    )
    assert response.status_code == 200
    assert b"already exists" in response.content
    assert len(mail.outbox) == 0


def test_inviting_a_staff_user_gives_the_role(
    client, staff_admin, django_capture_on_commit_callbacks
):
    client.force_login(staff_admin)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            reverse("console:staff_list"),
            {"email": "sam@operator.example", "username": "sam", "role": "approver"},
        )
    sam = User.objects.get(username="sam")
    assert sam.has_perm("deletions.approve_request")
    assert not sam.has_perm("deletions.administer_portal")
    assert not hasattr(sam, "membership") or not Membership.objects.filter(user=sam).exists()
    assert "staff console" in mail.outbox[0].subject


def test_an_admin_changes_a_staff_role_and_it_is_audited(client, staff_admin, viewer):
    client.force_login(staff_admin)
    client.post(reverse("console:staff_role", args=[viewer.pk]), {"role": "admin"})
    viewer = User.objects.get(pk=viewer.pk)
    assert viewer.has_perm("deletions.administer_portal")
    event = AuditEvent.objects.get(action="user.role_changed")
    assert (event.before, event.after) == ({"role": "viewer"}, {"role": "admin"})
    client.post(reverse("console:staff_role", args=[viewer.pk]), {"role": "none"})
    viewer = User.objects.get(pk=viewer.pk)
    assert not viewer.has_perm("deletions.view_console")


def test_an_admin_cannot_change_their_own_role(client, staff_admin):
    client.force_login(staff_admin)
    response = client.post(
        reverse("console:staff_role", args=[staff_admin.pk]), {"role": "viewer"}, follow=True
    )
    assert b"You cannot change your own role" in response.content
    assert User.objects.get(pk=staff_admin.pk).has_perm("deletions.administer_portal")


def test_a_customer_user_cannot_be_given_a_staff_role(client, staff_admin, member):
    client.force_login(staff_admin)
    response = client.post(reverse("console:staff_role", args=[member.pk]), {"role": "admin"})
    assert response.status_code == 404
    assert not User.objects.get(pk=member.pk).has_perm("deletions.view_console")


def test_the_staff_list_shows_roles(client, staff_admin, viewer, approver):
    client.force_login(staff_admin)
    body = client.get(reverse("console:staff_list")).content.decode()
    assert "victor" in body
    assert "anna" in body
    assert "This is you" in body


def test_removing_console_access_from_a_superuser_removes_superuser_status(client, staff_admin):
    root = User.objects.create_superuser("root_admin", "root@operator.example", "pw-not-used")
    client.force_login(staff_admin)
    response = client.post(reverse("console:staff_role", args=[root.pk]), {"role": "none"})
    assert response.status_code == 302
    root = User.objects.get(pk=root.pk)
    assert not root.is_superuser
    assert not root.is_staff
    assert not root.has_perm("deletions.view_console")
    event = AuditEvent.objects.get(action="user.role_changed")
    assert event.actor == staff_admin
    assert event.before == {"role": None, "is_superuser": True, "is_staff": True}
    assert event.after == {"role": None, "is_superuser": False, "is_staff": False}
    staff_page = client.get(reverse("console:staff_list")).content.decode()
    assert reverse("console:staff_role", args=[root.pk]) not in staff_page


def test_a_role_below_admin_takes_superuser_status_away(client, staff_admin):
    root = User.objects.create_superuser("root_admin", "root@operator.example", "pw-not-used")
    client.force_login(staff_admin)
    client.post(reverse("console:staff_role", args=[root.pk]), {"role": "viewer"})
    root = User.objects.get(pk=root.pk)
    assert not root.is_superuser
    assert root.has_perm("deletions.view_console")
    assert not root.has_perm("deletions.administer_portal")
    event = AuditEvent.objects.get(action="user.role_changed")
    assert (event.before, event.after) == (
        {"role": None, "is_superuser": True},
        {"role": "viewer", "is_superuser": False},
    )


def test_the_staff_list_shows_superusers_and_staff_accounts_without_a_role(client, staff_admin):
    User.objects.create_superuser("root_admin", "root@operator.example", "pw-not-used")
    User.objects.create_user("raw_admin_reader", "reader@operator.example", is_staff=True)
    client.force_login(staff_admin)
    body = client.get(reverse("console:staff_list")).content.decode()
    assert "root_admin" in body
    assert "superuser" in body
    assert "raw_admin_reader" in body
