"""CSV import: parsing and validation edge cases, then the pages (preview, confirm, permissions)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from deletions.inventory import imports
from deletions.models import AuditEvent, ParseRun
from tests.factories import make_runs, new_workspace
from tests.helpers import request_for


@pytest.fixture(autouse=True)
def private_var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def csv_bytes(*lines: str, bom: bool = False) -> bytes:
    data = "\r\n".join(lines).encode("utf-8") + b"\r\n"
    return (b"\xef\xbb\xbf" + data) if bom else data


def messages_of(preview):
    return preview.file_errors + [f"{e.line}: {e.message}" for e in preview.errors]


def test_a_valid_file_previews_new_runs_per_customer(workspace, customer, other_customer):
    data = csv_bytes(
        "run_id,customer_ref,file_name",
        f"pr_1,{customer.external_ref},a.pdf",
        f"pr_2,{other_customer.external_ref},",
        f"pr_3,{customer.external_ref},c.pdf",
    )

    preview = imports.parse(data, workspace)

    assert preview.ok, messages_of(preview)
    assert preview.new_count == 3 and preview.update_count == 0
    assert preview.per_customer == {customer.external_ref: 2, other_customer.external_ref: 1}
    assert [r.file_name for r in preview.rows] == ["a.pdf", None, "c.pdf"]
    assert not ParseRun.objects.exists()


@pytest.mark.parametrize(
    "header", ["id,customer", "parse_run_id,Customer ID", "Run ID,customer-ref,File Name"]
)
def test_flexible_header_names_are_accepted(workspace, customer, header):
    width = header.count(",") + 1
    row = ",".join(["pr_1", customer.external_ref, "x.pdf"][:width])

    assert imports.parse(csv_bytes(header, row), workspace).ok


def test_a_utf8_bom_is_ignored(workspace, customer):
    preview = imports.parse(
        csv_bytes("run_id,customer_ref", f"pr_1,{customer.external_ref}", bom=True), workspace
    )

    assert preview.ok and preview.rows[0].run_id == "pr_1"
    assert "byte-order mark" in preview.notes[0]


def test_unicode_file_names_are_kept(workspace, customer):
    data = csv_bytes(
        "run_id,customer_ref,file_name", f"pr_1,{customer.external_ref},Rechnung-März-日本.pdf"
    )

    preview = imports.parse(data, workspace)

    assert preview.ok and preview.rows[0].file_name == "Rechnung-März-日本.pdf"


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", "empty"),
        (b"\r\n \r\n", "empty"),
        (b"run_id,customer_ref\r\n", "no data rows"),
        ("run_id,customer_ref\r\npr_1,a\r\n".encode("utf-16"), "UTF-16"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary"),
        (b"run_id,customer_ref\r\npr_1,caf\xe9\r\n", "not UTF-8 text (line 2"),
        (b"pr_1,cust_1\r\npr_2,cust_2\r\n", "Unknown columns"),
        (b"run_id,file_name\r\npr_1,a.pdf\r\n", "Missing column: customer_ref"),
        (b"run_id,customer_ref,colour\r\npr_1,c,red\r\n", "Unknown column: colour"),
        (b"run_id,id,customer\r\npr_1,pr_1,c\r\n", "Two columns mean run_id"),
        (b'run_id,customer_ref\r\n"pr_1,c\r\n', "not valid CSV"),
    ],
)
def test_files_that_cannot_be_read_say_why(workspace, data, expected):
    preview = imports.parse(data, workspace)

    assert not preview.ok
    assert any(expected in message for message in preview.file_errors), preview.file_errors


def test_row_problems_are_listed_with_their_line_numbers(workspace, customer):
    ref = customer.external_ref
    data = csv_bytes(
        "run_id,customer_ref,file_name",
        f"pr_ok,{ref},a.pdf",
        f",{ref},",
        f"pr_dup,{ref},",
        f"pr_dup,{ref},",
        "pr_who,nobody-known,",
        f"{'x' * 256},{ref},",
        f"pr_long_name,{ref},{'n' * 1025}",
        f"pr_short,{ref}",
        f"pr with space,{ref},",
        f"pr_ref,{'r' * 256},",
    )

    preview = imports.parse(data, workspace)

    assert not preview.ok
    errors = {e.line: e.message for e in preview.errors}
    assert errors[3] == "The run id is empty."
    assert errors[5] == "Run pr_dup is already on line 4."
    assert "longer than 255" in errors[7]
    assert "file name is longer than 1024" in errors[8]
    assert errors[9] == "Expected 3 fields, found 2."
    assert "spaces" in errors[10]
    assert "customer reference is longer" in errors[11]
    assert errors[6] == "No customer has the reference “nobody-known”."
    assert 2 not in errors and 4 not in errors


def test_ids_known_in_another_workspace_are_refused(workspace, customer):
    other = new_workspace(name="Elsewhere")
    make_runs(other, None, 1, prefix="pr_elsewhere_")
    run_id = ParseRun.objects.get().run_id

    preview = imports.parse(
        csv_bytes("run_id,customer", f"{run_id},{customer.external_ref}"), workspace
    )

    assert [e.message for e in preview.errors] == [
        f"Run {run_id} is already known in workspace “Elsewhere”."
    ]


def test_known_runs_are_assigned_only_if_unassigned_and_free(
    workspace, customer, other_customer, member
):
    [free] = make_runs(workspace, None, 1, prefix="free_")
    [theirs] = make_runs(workspace, other_customer, 1, prefix="theirs_")
    [mine] = make_runs(workspace, customer, 1, prefix="mine_")
    [busy] = make_runs(workspace, customer, 1, prefix="busy_")
    [gone] = make_runs(workspace, None, 1, prefix="gone_")
    ParseRun.objects.filter(run_id=gone).update(state=ParseRun.State.DELETED)
    request_for(customer, member, [busy], reason="x")
    ref = customer.external_ref
    data = csv_bytes("run_id,customer", *(f"{r},{ref}" for r in (free, theirs, mine, busy, gone)))

    preview = imports.parse(data, workspace)

    assert [r.run_id for r in preview.rows] == [free, mine]
    assert preview.update_count == 2
    messages = [e.message for e in preview.errors]
    assert any("another customer" in m for m in messages)
    assert any("open deletion request" in m for m in messages)
    assert any("deleted or gone" in m for m in messages)


def test_more_than_the_row_limit_is_refused(workspace, customer, monkeypatch):
    monkeypatch.setattr(imports, "MAX_ROWS", 5)
    data = csv_bytes("run_id,customer", *(f"pr_{i},{customer.external_ref}" for i in range(6)))

    preview = imports.parse(data, workspace)

    assert not preview.ok and "more than 5 rows" in preview.file_errors[0]


def test_a_hundred_thousand_rows_are_checked_and_imported_at_once(workspace, customer, staff_admin):
    data = csv_bytes(
        "run_id,customer_ref", *(f"pr_{i:06d},{customer.external_ref}" for i in range(100_000))
    )

    preview = imports.apply_import(data, workspace, actor=staff_admin)

    assert preview.ok and ParseRun.objects.filter(customer=customer).count() == 100_000
    assert not imports.parse(data + f"pr_x,{customer.external_ref}\r\n".encode(), workspace).ok


def test_apply_imports_everything_or_nothing_and_audits(workspace, customer, staff_admin):
    good = csv_bytes(
        "run_id,customer", f"pr_1,{customer.external_ref}", f"pr_2,{customer.external_ref}"
    )
    bad = csv_bytes("run_id,customer", f"pr_3,{customer.external_ref}", "pr_4,unknown")

    assert not imports.apply_import(bad, workspace, actor=staff_admin).ok
    assert (
        not ParseRun.objects.exists()
        and not AuditEvent.objects.filter(action="inventory.imported").exists()
    )

    preview = imports.apply_import(good, workspace, actor=staff_admin)

    assert preview.ok
    assert set(ParseRun.objects.values_list("run_id", "customer_id")) == {
        ("pr_1", customer.pk),
        ("pr_2", customer.pk),
    }
    event = AuditEvent.objects.get(action="inventory.imported")
    assert event.actor == staff_admin and event.detail["created"] == 2


def test_a_file_id_column_is_read_loosely_and_checked(workspace, customer):
    ref = customer.external_ref
    data = csv_bytes(
        "run_id,customer_ref,File ID",
        f"pr_1,{ref},file_abc",
        f"pr_2,{ref},doc-7",  # "file_" is Extend's convention, not a rule
        f"pr_3,{ref},",
        f"pr_4,{ref},{'f' * 256}",
        f"pr_5,{ref},file with space",
    )

    preview = imports.parse(data, workspace)

    assert preview.columns == ["run_id", "customer_ref", "file_id"]
    assert [(r.run_id, r.file_id) for r in preview.rows] == [
        ("pr_1", "file_abc"),
        ("pr_2", "doc-7"),
        ("pr_3", None),
    ]
    errors = {e.line: e.message for e in preview.errors}
    assert errors[5] == "The file id is longer than 255 characters."
    assert errors[6] == "The file id contains spaces or control characters."


def test_an_import_stores_file_ids_and_an_empty_cell_keeps_the_known_one(
    workspace, customer, staff_admin
):
    [known] = make_runs(workspace, None, 1, prefix="known_")
    ParseRun.objects.filter(run_id=known).update(file_id="file_synced")
    [renamed] = make_runs(workspace, None, 1, prefix="renamed_")
    ref = customer.external_ref
    data = csv_bytes(
        "run_id,customer_ref,file_name,file_id",
        f"pr_new,{ref},new.pdf,file_new",
        f"pr_bare,{ref},,",
        f"{known},{ref},,",
        f"{renamed},{ref},,file_given",
    )

    assert imports.apply_import(data, workspace, actor=staff_admin).ok

    stored = {
        run_id: (file_name, file_id, customer_id)
        for run_id, file_name, file_id, customer_id in ParseRun.objects.values_list(
            "run_id", "file_name", "file_id", "customer_id"
        )
    }
    assert stored["pr_new"] == ("new.pdf", "file_new", customer.pk)
    assert stored["pr_bare"] == ("", "", customer.pk)
    assert stored[known] == ("invoice-00000.pdf", "file_synced", customer.pk)
    assert stored[renamed] == ("invoice-00000.pdf", "file_given", customer.pk)


# -- the pages ----------------------------------------------------------------------------------

IMPORT_URL = "/console/inventory/import/"
CONFIRM_URL = "/console/inventory/import/confirm/"


def upload(client, workspace, data, name="runs.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(
        IMPORT_URL,
        {"workspace": workspace.pk, "file": SimpleUploadedFile(name, data, "text/csv")},
    )


def test_the_urls_are_where_the_console_expects_them():
    assert reverse("console:inventory_import") == IMPORT_URL
    assert reverse("console:inventory_import_confirm") == CONFIRM_URL


def test_an_admin_uploads_previews_and_confirms(client, staff_admin, workspace, customer):
    client.force_login(staff_admin)
    assert client.get(IMPORT_URL).status_code == 200

    response = upload(
        client,
        workspace,
        csv_bytes("run_id,customer_ref,file_name", f"pr_1,{customer.external_ref},ü.pdf"),
    )

    assert response.status_code == 200
    assert b"Import 1 parse runs?" in response.content
    assert not ParseRun.objects.exists()
    token = response.context["token"]

    confirmed = client.post(CONFIRM_URL, {"token": token})

    assert confirmed.status_code == 302
    run = ParseRun.objects.get()
    assert (run.run_id, run.customer, run.file_name) == ("pr_1", customer, "ü.pdf")
    assert AuditEvent.objects.filter(action="inventory.imported", actor_id=staff_admin.pk).exists()
    # The preview is used up: confirming twice imports nothing more.
    assert client.post(CONFIRM_URL, {"token": token}).status_code == 400


def test_the_preview_page_shows_file_ids_when_the_file_has_them(
    client, staff_admin, workspace, customer
):
    client.force_login(staff_admin)

    with_ids = upload(
        client,
        workspace,
        csv_bytes("run_id,customer_ref,file_id", f"pr_1,{customer.external_ref},file_9f2c"),
    )

    assert b"<code>file_9f2c</code>" in with_ids.content and b"File id" in with_ids.content
    assert client.post(CONFIRM_URL, {"token": with_ids.context["token"]}).status_code == 302
    assert ParseRun.objects.get(run_id="pr_1").file_id == "file_9f2c"
    without = upload(
        client, workspace, csv_bytes("run_id,customer_ref", f"pr_2,{customer.external_ref}")
    )
    assert b"File id" not in without.content


def test_a_preview_with_problems_is_a_400_without_a_confirm_button(client, staff_admin, workspace):
    client.force_login(staff_admin)

    response = upload(client, workspace, b"\x00\x01\x02junk")

    assert response.status_code == 400
    assert b"binary data" in response.content
    assert b"inventory/import/confirm" not in response.content


def test_confirm_validates_again_and_imports_nothing_if_things_changed(
    client, staff_admin, workspace, customer
):
    client.force_login(staff_admin)
    data = csv_bytes(
        "run_id,customer_ref", f"pr_1,{customer.external_ref}", f"pr_2,{customer.external_ref}"
    )
    token = upload(client, workspace, data).context["token"]
    make_runs(new_workspace(), None, 1, prefix="pr_2_elsewhere")
    ParseRun.objects.filter(run_id__startswith="pr_2_elsewhere").update(run_id="pr_2")

    response = client.post(CONFIRM_URL, {"token": token})

    assert response.status_code == 409
    assert ParseRun.objects.count() == 1  # only the one made elsewhere


def test_a_forged_or_foreign_token_is_refused(client, staff_admin, approver, workspace, customer):
    client.force_login(staff_admin)
    token = upload(
        client, workspace, csv_bytes("run_id,customer", f"pr_1,{customer.external_ref}")
    ).context["token"]
    assert client.post(CONFIRM_URL, {"token": "../../etc/passwd"}).status_code == 400

    from django.test import Client

    other = Client()
    other.force_login(approver)
    assert other.post(CONFIRM_URL, {"token": token}).status_code == 403
    assert not ParseRun.objects.exists()


@pytest.mark.parametrize("who", ["member", "customer_admin", "viewer", "approver"])
def test_customers_viewers_and_approvers_cannot_import(client, request, who, workspace, customer):
    client.force_login(request.getfixturevalue(who))
    data = csv_bytes("run_id,customer", f"pr_1,{customer.external_ref}")

    assert client.get(IMPORT_URL).status_code == 403
    assert upload(client, workspace, data).status_code == 403
    assert client.post(CONFIRM_URL, {"token": "x" * 32}).status_code == 403
    assert not ParseRun.objects.exists()


def test_anonymous_visitors_are_sent_to_sign_in(client):
    response = client.get(IMPORT_URL)

    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
