"""Extend organisations in the console: admins create and edit them (audited), workspaces are put
in them, and every workspace page says which rate limits apply."""

from __future__ import annotations

import pytest
from django.db.models import ProtectedError
from django.urls import reverse

from deletions.models import AuditEvent, Organization, Source, Workspace
from deletions.workspaces import ratelimit

ORG_FORM = {
    "name": "Acme at Extend",
    "extend_organization_id": "org_acme",
    "write_rate_limit": "25",
    "get_rate_limit": "40",
}


def workspace_form(ws: Workspace, **changes: str) -> dict[str, str]:
    """The workspace form as the page would post it, with *changes*."""
    data = {
        "name": ws.name,
        "region": "custom",
        "custom_url": ws.base_url,
        "api_version": ws.api_version,
        "key_scope": ws.key_scope,
        "extend_workspace_id": ws.extend_workspace_id,
        "organization": str(ws.organization_id or ""),
        "customer_metadata_key": ws.customer_metadata_key,
        "rate_limit": str(ws.rate_limit),
        "get_rate_limit": str(ws.get_rate_limit),
        "verify_deletions": "on" if ws.verify_deletions else "",
    }
    data.update(changes)
    return data


@pytest.fixture
def org(db):
    return Organization.objects.create(
        name="Globex at Extend", extend_organization_id="org_globex", write_rate_limit=7
    )


def test_an_admin_creates_an_organisation_and_it_is_audited(client, staff_admin):
    client.force_login(staff_admin)

    response = client.post(reverse("console:organization_create"), ORG_FORM)

    org = Organization.objects.get(name="Acme at Extend")
    assert response.status_code == 302
    assert response["Location"] == reverse("console:organization_detail", args=[org.pk])
    assert (org.extend_organization_id, org.write_rate_limit, org.get_rate_limit) == (
        "org_acme",
        25,
        40,
    )
    event = AuditEvent.objects.get(action="organization.created")
    assert (event.actor, event.source, event.object_id) == (staff_admin, Source.WEB, str(org.pk))
    assert event.after == {
        "name": "Acme at Extend",
        "extend_organization_id": "org_acme",
        "write_rate_limit": "25",
        "get_rate_limit": "40",
    }


def test_an_admin_changes_an_organisations_limits_and_the_change_is_audited(
    client, staff_admin, org
):
    client.force_login(staff_admin)
    data = {"name": org.name, "extend_organization_id": "org_globex", "write_rate_limit": "3"}

    response = client.post(
        reverse("console:organization_edit", args=[org.pk]), {**data, "get_rate_limit": "10"}
    )

    assert response.status_code == 302
    org.refresh_from_db()
    assert org.write_rate_limit == 3
    event = AuditEvent.objects.get(action="organization.updated")
    assert event.before == {"write_rate_limit": "7"}
    assert event.after == {"write_rate_limit": "3"}
    assert event.actor == staff_admin


def test_saving_an_organisation_unchanged_records_nothing(client, staff_admin, org):
    client.force_login(staff_admin)
    data = {
        "name": org.name,
        "extend_organization_id": org.extend_organization_id,
        "write_rate_limit": str(org.write_rate_limit),
        "get_rate_limit": str(org.get_rate_limit),
    }

    response = client.post(reverse("console:organization_edit", args=[org.pk]), data, follow=True)

    assert b"Nothing was changed." in response.content
    assert not AuditEvent.objects.filter(action="organization.updated").exists()


def test_two_organisations_cannot_have_the_same_extend_id_but_may_both_have_none(
    client, staff_admin, org
):
    client.force_login(staff_admin)

    response = client.post(
        reverse("console:organization_create"),
        {**ORG_FORM, "extend_organization_id": "org_globex"},
    )

    assert response.status_code == 200
    assert b"Another organisation has this Extend organisation id." in response.content
    assert not Organization.objects.filter(name="Acme at Extend").exists()
    for name in ("No id one", "No id two"):
        client.post(
            reverse("console:organization_create"),
            {**ORG_FORM, "name": name, "extend_organization_id": ""},
        )
    assert Organization.objects.filter(extend_organization_id="").count() == 2


def test_a_limit_below_one_per_second_is_refused(client, staff_admin):
    client.force_login(staff_admin)

    response = client.post(
        reverse("console:organization_create"), {**ORG_FORM, "write_rate_limit": "0"}
    )

    assert response.status_code == 200
    assert not Organization.objects.exists()
    assert not AuditEvent.objects.exists()


def test_a_viewer_sees_organisations_but_may_not_create_or_edit_them(client, viewer, org):
    client.force_login(viewer)

    listing = client.get(reverse("console:organization_list"))
    detail = client.get(reverse("console:organization_detail", args=[org.pk]))

    assert listing.status_code == detail.status_code == 200
    assert org.name in listing.content.decode()
    assert reverse("console:organization_create") not in listing.content.decode()
    assert client.get(reverse("console:organization_create")).status_code == 403
    assert client.post(reverse("console:organization_create"), ORG_FORM).status_code == 403
    edit = reverse("console:organization_edit", args=[org.pk])
    assert client.post(edit, {**ORG_FORM, "write_rate_limit": "1"}).status_code == 403
    org.refresh_from_db()
    assert org.write_rate_limit == 7
    assert not AuditEvent.objects.exists()


@pytest.mark.parametrize("who", ["member", "customer_admin", "outsider"])
def test_customers_cannot_see_organisations(client, request, who, org):
    client.force_login(request.getfixturevalue(who))

    for url in (
        reverse("console:organization_list"),
        reverse("console:organization_detail", args=[org.pk]),
        reverse("console:organization_edit", args=[org.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert org.name not in response.content.decode()


def test_an_admin_puts_a_workspace_in_an_organisation_and_it_is_audited(
    client, staff_admin, workspace, org
):
    client.force_login(staff_admin)

    response = client.post(
        reverse("console:workspace_edit", args=[workspace.pk]),
        workspace_form(workspace, organization=str(org.pk)),
    )

    assert response.status_code == 302
    workspace.refresh_from_db()
    assert workspace.organization == org
    assert workspace.rate_limit_key == f"org:{org.pk}"
    event = AuditEvent.objects.get(action="workspace.updated")
    assert event.before == {"organization": "None"}
    assert event.after == {"organization": org.name}


def test_the_workspace_form_says_its_own_limits_are_ignored_in_an_organisation(
    client, staff_admin, workspace
):
    client.force_login(staff_admin)

    body = client.get(reverse("console:workspace_edit", args=[workspace.pk])).content.decode()

    assert "None: this workspace has its own limits" in body
    assert "the organisation&#x27;s limit applies and this is ignored" in body


def test_a_workspace_without_an_organisation_shows_that_it_has_its_own_limits(
    client, viewer, workspace
):
    Workspace.objects.filter(pk=workspace.pk).update(rate_limit=12, get_rate_limit=34)
    client.force_login(viewer)

    body = client.get(reverse("console:workspace_detail", args=[workspace.pk])).content.decode()

    assert "Not in an organisation: this workspace has its own limits" in body
    assert "12 deletes/s, 34 reads/s" in body


def test_a_workspace_in_an_organisation_shows_the_organisations_limits(
    client, viewer, workspace, org
):
    Workspace.objects.filter(pk=workspace.pk).update(
        organization=org, rate_limit=99, get_rate_limit=98
    )
    client.force_login(viewer)

    body = client.get(reverse("console:workspace_detail", args=[workspace.pk])).content.decode()

    assert "Not in an organisation" not in body
    assert reverse("console:organization_detail", args=[org.pk]) in body
    assert "7 deletes/s, 10 reads/s" in body
    assert "(99/98) are ignored" in body


def test_the_limiter_uses_the_organisations_limits_and_key(workspace, org):
    assert (ratelimit.key_for(workspace, ratelimit.GET), ratelimit.limit_for(workspace, "get")) == (
        f"ws:{workspace.pk}:get",
        10.0,
    )
    workspace.organization = org
    workspace.rate_limit = 1000

    assert ratelimit.key_for(workspace, ratelimit.WRITE) == f"org:{org.pk}:write"
    assert ratelimit.limit_for(workspace, ratelimit.WRITE) == 7.0
    assert ratelimit.limit_for(workspace, ratelimit.GET) == 10.0


def test_an_organisation_with_workspaces_cannot_be_deleted(workspace, org):
    Workspace.objects.filter(pk=workspace.pk).update(organization=org)

    with pytest.raises(ProtectedError):
        org.delete()


def test_the_django_admin_shows_organisations_but_cannot_change_them(client, staff_admin, org):
    staff_admin.is_superuser = True
    staff_admin.save()
    client.force_login(staff_admin)
    url = reverse("admin:deletions_organization_change", args=[org.pk])
    data = {
        "name": org.name,
        "extend_organization_id": org.extend_organization_id,
        "write_rate_limit": "2",
        "get_rate_limit": "10",
    }

    assert client.get(url).status_code == 200
    assert client.post(url, data).status_code == 403
    org.refresh_from_db()
    assert org.write_rate_limit == 7
    assert not AuditEvent.objects.filter(action="organization.updated").exists()
