"""The Django admin shows raw data and changes nothing: every change goes through the console or
the API, which go through the domain and the audit trail."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.test import RequestFactory
from django.urls import reverse

from deletions.accounts import roles
from deletions.models import AuditEvent, Membership, ParseRun
from tests.factories import make_runs


@pytest.fixture
def superuser(db):
    return User.objects.create_superuser("root_admin", "root@operator.example", "pw-not-used")


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser, backend="django.contrib.auth.backends.ModelBackend")
    return client


def test_every_model_in_the_admin_is_read_only_even_for_a_superuser(superuser):
    request = RequestFactory().get("/admin/")
    request.user = superuser
    writable = [
        model._meta.label
        for model, model_admin in admin.site._registry.items()
        # django-axes' own admin: its lockout records are no domain data (deleting one is
        # axes' documented way to unlock a login).
        if model._meta.app_label != "axes"
        and (
            model_admin.has_add_permission(request)
            or model_admin.has_change_permission(request)
            or model_admin.has_delete_permission(request)
        )
    ]
    assert writable == []


def test_a_superuser_can_still_read_a_workspace_in_the_admin(admin_client, workspace):
    url = reverse("admin:deletions_workspace_change", args=[workspace.pk])
    response = admin_client.get(url)
    assert response.status_code == 200
    assert workspace.name in response.content.decode()
    assert "sk_test_key_abcd" not in response.content.decode()


def test_a_superuser_cannot_repoint_a_workspace_in_the_admin(admin_client, workspace):
    url = reverse("admin:deletions_workspace_change", args=[workspace.pk])
    response = admin_client.post(
        url,
        {
            "name": workspace.name,
            "base_url": "http://169.254.169.254/latest",
            "api_version": workspace.api_version,
            "key_scope": workspace.key_scope,
            "customer_metadata_key": workspace.customer_metadata_key,
            "rate_limit": "5",
            "health": workspace.health,
        },
    )
    assert response.status_code == 403
    workspace.refresh_from_db()
    assert workspace.base_url == "http://127.0.0.1:9"
    assert workspace.reveal_api_key() == "sk_test_key_abcd"


def test_a_superuser_cannot_change_a_membership_in_the_admin(admin_client, customer, member):
    membership = member.membership
    url = reverse("admin:deletions_customer_change", args=[customer.pk])
    response = admin_client.post(
        url,
        {
            "name": customer.name,
            "external_ref": customer.external_ref,
            "slug": customer.slug,
            "is_active": "on",
            "memberships-TOTAL_FORMS": "1",
            "memberships-INITIAL_FORMS": "1",
            "memberships-MIN_NUM_FORMS": "0",
            "memberships-MAX_NUM_FORMS": "1000",
            "memberships-0-id": str(membership.pk),
            "memberships-0-customer": str(customer.pk),
            "memberships-0-user": str(member.pk),
            "memberships-0-role": Membership.Role.ADMIN,
        },
    )
    assert response.status_code == 403
    assert Membership.objects.get(pk=membership.pk).role == Membership.Role.MEMBER


def test_a_superuser_cannot_move_a_run_to_another_customer_in_the_admin(
    admin_client, workspace, customer, other_customer
):
    [run_id] = make_runs(workspace, customer, 1)
    run = ParseRun.objects.get(run_id=run_id)
    url = reverse("admin:deletions_parserun_change", args=[run.pk])
    response = admin_client.post(
        url,
        {
            "workspace": str(workspace.pk),
            "customer": str(other_customer.pk),
            "run_id": run.run_id,
            "file_name": run.file_name,
            "extend_status": run.extend_status,
            "state": run.state,
        },
    )
    assert response.status_code == 403
    assert ParseRun.objects.get(pk=run.pk).customer_id == customer.pk


def test_a_superuser_cannot_hand_out_roles_or_superuser_status_in_the_admin(admin_client, viewer):
    url = reverse("admin:auth_user_change", args=[viewer.pk])
    admin_group = Group.objects.get(name=roles.ADMIN)
    response = admin_client.post(
        url,
        {
            "username": viewer.username,
            "email": viewer.email,
            "is_active": "on",
            "is_staff": "on",
            "is_superuser": "on",
            "groups": [str(admin_group.pk)],
            "date_joined_0": "2026-01-01",
            "date_joined_1": "10:00:00",
        },
    )
    assert response.status_code == 403
    viewer = User.objects.get(pk=viewer.pk)
    assert not viewer.is_superuser
    assert not viewer.has_perm("deletions.administer_portal")
    add = admin_client.post(reverse("admin:auth_user_add"), {"username": "ghost"})
    assert add.status_code == 403
    assert not User.objects.filter(username="ghost").exists()
    assert not AuditEvent.objects.exists()


def test_a_superuser_can_still_read_a_user_in_the_admin_without_the_password_hash(
    admin_client, viewer
):
    response = admin_client.get(reverse("admin:auth_user_change", args=[viewer.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert viewer.username in body
    assert viewer.password.split("$")[-1] not in body
