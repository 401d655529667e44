"""The inventory over the API: unassigned runs and assigning them, CSV import with a preview;
every staff role lists, only admins change; audited as API."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from deletions.inventory import imports
from deletions.models import AuditEvent, ParseRun, Source
from tests.factories import make_runs

pytestmark = pytest.mark.django_db

UNASSIGNED = "/api/v1/inventory/unassigned"
ASSIGN = "/api/v1/inventory/unassigned/assign"
PREVIEW = "/api/v1/inventory/imports/preview"
IMPORT = "/api/v1/inventory/imports"


@pytest.fixture
def unassigned(workspace):
    """Six runs without a customer; the odd ones carry the metadata value "initech"."""
    ids = make_runs(workspace, None, 6, prefix="pr_un_")
    for position, run_id in enumerate(ids):
        metadata = {"customer_id": "initech"} if position % 2 else {"other": "x"}
        ParseRun.objects.filter(run_id=run_id).update(metadata=metadata)
    return ids


def test_every_staff_role_lists_unassigned_runs(
    viewer_api, operator_service_api, unassigned, workspace, customer
):
    make_runs(workspace, customer, 2, prefix="pr_owned_")
    for client in (viewer_api, operator_service_api):
        rows = client.get(UNASSIGNED, {"limit": 200}).json()["results"]
        assert sorted(r["run_id"] for r in rows) == sorted(unassigned)
    matching = viewer_api.get(UNASSIGNED, {"value": "initech"}).json()["results"]
    assert {r["customer_value"] for r in matching} == {"initech"}
    assert len(matching) == 3
    unknown = viewer_api.get(UNASSIGNED, {"workspace": 987654}).json()["results"]
    assert unknown == []


def test_unassigned_runs_and_the_import_preview_show_file_ids(
    viewer_api, staff_admin_api, unassigned, workspace, customer
):
    ParseRun.objects.filter(run_id=unassigned[0]).update(file_id="file_a1")

    rows = viewer_api.get(UNASSIGNED, {"limit": 200}).json()["results"]
    data = f"run_id,customer,file_id\npr_new,{customer.external_ref},file_b2\n".encode()
    preview = _upload(staff_admin_api, PREVIEW, workspace, data)

    assert {r["run_id"]: r["file_id"] for r in rows}[unassigned[0]] == "file_a1"
    assert {r["file_id"] for r in rows} == {"file_a1", ""}
    assert preview.status_code == 200, preview.content
    assert [r["file_id"] for r in preview.json()["sample"]] == ["file_b2"]


def test_customer_tokens_see_no_unassigned_runs(member_api, admin_api, unassigned):
    for client in (member_api, admin_api):
        assert client.get(UNASSIGNED).status_code == 403


def test_an_admin_assigns_listed_runs_audited_as_api(
    staff_admin_api, staff_admin, viewer_api, unassigned, customer
):
    rows = viewer_api.get(UNASSIGNED, {"value": "initech"}).json()["results"]
    ids = [row["id"] for row in rows[:2]]
    response = staff_admin_api.post(ASSIGN, {"customer": customer.pk, "ids": ids}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"assigned": 2}
    assert set(ParseRun.objects.filter(customer=customer).values_list("pk", flat=True)) == set(ids)
    event = AuditEvent.objects.get(action="inventory.assigned")
    assert (event.source, event.actor_id, event.detail["count"]) == (Source.API, staff_admin.pk, 2)


def test_an_admin_assigns_every_run_matching_a_filter(staff_admin_api, unassigned, customer):
    response = staff_admin_api.post(
        ASSIGN, {"customer": customer.pk, "scope": "all", "value": "initech"}, format="json"
    )
    assert response.json() == {"assigned": 3}
    again = staff_admin_api.post(
        ASSIGN, {"customer": customer.pk, "scope": "all", "value": "initech"}, format="json"
    )
    assert again.json() == {"assigned": 0}


def test_assigning_keeps_the_consoles_rules(staff_admin_api, unassigned, customer):
    pk = ParseRun.objects.first().pk
    customer.is_active = False
    customer.save()
    inactive = staff_admin_api.post(ASSIGN, {"customer": customer.pk, "ids": [pk]}, format="json")
    nothing = staff_admin_api.post(ASSIGN, {"customer": customer.pk}, format="json")
    bad_key = staff_admin_api.post(
        ASSIGN,
        {"customer": customer.pk, "scope": "all", "value": "x", "key": "a__b"},
        format="json",
    )
    assert (inactive.status_code, nothing.status_code, bad_key.status_code) == (422, 422, 422)
    assert not ParseRun.objects.filter(customer__isnull=False).exists()


@pytest.mark.parametrize(
    "client_name", ["viewer_api", "approver_api", "admin_api", "operator_service_api"]
)
def test_only_admins_assign(request, client_name, unassigned, customer):
    client = request.getfixturevalue(client_name)
    pk = ParseRun.objects.first().pk
    response = client.post(ASSIGN, {"customer": customer.pk, "ids": [pk]}, format="json")
    assert response.status_code == 403
    assert not ParseRun.objects.filter(customer=customer).exists()


# --- CSV import ---


def _upload(client, url, workspace, data, **extra):
    body = {"workspace": workspace.pk, "file": SimpleUploadedFile("runs.csv", data, "text/csv")}
    return client.post(url, {**body, **extra}, format="multipart")


def _csv(customer, *run_ids):
    lines = ["run_id,customer_ref,file_name"]
    lines += [f"{run_id},{customer.external_ref},{run_id}.pdf" for run_id in run_ids]
    return ("\n".join(lines) + "\n").encode()


def test_an_admin_previews_then_imports_a_file(staff_admin_api, staff_admin, workspace, customer):
    data = _csv(customer, "pr_csv_1", "pr_csv_2")
    preview = _upload(staff_admin_api, PREVIEW, workspace, data)
    assert preview.status_code == 200, preview.content
    body = preview.json()
    assert (body["ok"], body["rows"], body["new_count"]) == (True, 2, 2)
    assert body["sha256"] == imports.digest(data)
    assert not ParseRun.objects.exists()
    imported = _upload(staff_admin_api, IMPORT, workspace, data, sha256=body["sha256"])
    assert imported.status_code == 201, imported.content
    assert set(ParseRun.objects.filter(customer=customer).values_list("run_id", flat=True)) == {
        "pr_csv_1",
        "pr_csv_2",
    }
    event = AuditEvent.objects.get(action="inventory.imported")
    assert (event.source, event.actor_id) == (Source.API, staff_admin.pk)
    assert event.detail["file_sha256"] == body["sha256"]


def test_a_file_with_problems_imports_nothing(staff_admin_api, workspace, customer):
    data = b"run_id,customer_ref\npr_ok,%s\npr_bad,no-such-customer\n" % (
        customer.external_ref.encode()
    )
    preview = _upload(staff_admin_api, PREVIEW, workspace, data).json()
    assert preview["ok"] is False
    assert preview["error_count"] == 1
    response = _upload(staff_admin_api, IMPORT, workspace, data)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "import_invalid"
    assert not ParseRun.objects.exists()


def test_an_import_of_another_file_than_the_previewed_one_is_refused(
    staff_admin_api, workspace, customer
):
    previewed = imports.digest(_csv(customer, "pr_a"))
    response = _upload(staff_admin_api, IMPORT, workspace, _csv(customer, "pr_b"), sha256=previewed)
    assert response.status_code == 409
    assert not ParseRun.objects.exists()


@pytest.mark.parametrize("client_name", ["viewer_api", "approver_api", "operator_service_api"])
def test_only_admins_import(request, client_name, workspace, customer):
    client = request.getfixturevalue(client_name)
    data = _csv(customer, "pr_x")
    assert _upload(client, PREVIEW, workspace, data).status_code == 403
    assert _upload(client, IMPORT, workspace, data).status_code == 403
    assert not ParseRun.objects.exists()
