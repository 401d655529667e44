"""Staff endpoints for the parse-run inventory: runs no customer owns yet and assigning them,
and importing runs from a CSV file.

The console's rules (``views/inventory.py``): every staff role lists unassigned runs, admins
assign and import, through :mod:`deletions.inventory.run_assignment` and
:mod:`deletions.inventory.imports` with source ``api``. The console previews an upload, then
confirms it; here a preview changes nothing and says the file's SHA-256, and an import may name
that digest to be sure it imports the very file that was previewed. Either way the file is
validated again, and imported whole or not at all.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api.auth import IsStaff
from deletions.api.errors import ApiError
from deletions.api.idempotency import idempotent
from deletions.api.serializers import PK_MAX, PageQuerySerializer
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    CanAdminister,
    Flag,
    Text,
    Whole,
    checked_body,
    page_of,
    unknown,
    unprocessable,
)
from deletions.api.views import READ_ERRORS, ApiView, _errors, _page, _query
from deletions.inventory import imports, run_assignment
from deletions.models import Customer, ParseRun, Source, Workspace

# The console's limits: runs ticked at once, rows of a preview's sample, problems listed.
MAX_SELECTED = 500
SAMPLE_ROWS = 20
LISTED_ERRORS = 100
SCOPES = (("selected", "The runs listed in ids"), ("all", "Every run matching the filter"))


def _workspace(pk: int) -> Workspace:
    workspace = Workspace.objects.filter(pk=pk).first()
    if workspace is None:
        raise unknown("workspace", "workspace", pk)
    return workspace


class UnassignedFilterSerializer(serializers.Serializer[Any]):
    workspace = serializers.IntegerField(required=False, min_value=1, max_value=PK_MAX)
    value = Text(
        required=False,
        allow_blank=True,
        max_length=255,
        help_text="Runs whose metadata has this value (under key).",
    )
    key = Text(
        required=False,
        allow_blank=True,
        max_length=100,
        help_text="The metadata key (letters, digits, - and _); default: each workspace's "
        "customer key. A key no run can have matches nothing.",
    )


class UnassignedQuerySerializer(UnassignedFilterSerializer, PageQuerySerializer):
    pass


class UnassignedRunSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The inventory's id (for assign_runs' ids).")
    run_id = Text(help_text="Extend's parse-run id.")
    workspace = serializers.IntegerField(source="workspace_id")
    file_name = Text()
    file_id = Text(help_text="Extend's id of the run's uploaded file; empty if unknown.")
    created_at = serializers.DateTimeField(source="extend_created_at", allow_null=True)
    customer_value = serializers.SerializerMethodField(
        help_text="What the run carries under its workspace's customer key."
    )

    def get_customer_value(self, run: ParseRun) -> str:
        return run_assignment.customer_value(run)


UnassignedPageSerializer = page_of(UnassignedRunSerializer)


class AssignSerializer(UnassignedFilterSerializer):
    workspace = Whole(required=False, min_value=1, max_value=PK_MAX)
    customer = Whole(min_value=1, max_value=PK_MAX)
    scope = serializers.ChoiceField(choices=SCOPES, default="selected")
    ids = serializers.ListField(
        child=Whole(min_value=1, max_value=PK_MAX),
        required=False,
        max_length=MAX_SELECTED,
        help_text="Inventory ids (scope selected), from list_unassigned_runs.",
    )

    def validate_customer(self, pk: int) -> Customer:
        customer = Customer.objects.filter(pk=pk, is_active=True).first()
        if customer is None:
            raise unknown("customer", "active customer", pk)
        return customer

    def validate_workspace(self, pk: int) -> Workspace:
        return _workspace(pk)

    def validate_key(self, key: str) -> str:
        key = key.strip()
        if key and (problem := run_assignment.key_problem(key)):
            raise unprocessable("key", problem)
        return key

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["scope"] == "selected" and not attrs.get("ids"):
            raise unprocessable("ids", "List at least one run, or choose scope all.")
        return attrs


class AssignedSerializer(serializers.Serializer[Any]):
    assigned = serializers.IntegerField(
        help_text="Runs that changed hands (0 if someone else assigned them meanwhile)."
    )


class ImportUploadSerializer(serializers.Serializer[Any]):
    workspace = serializers.IntegerField(min_value=1, max_value=PK_MAX)
    file = serializers.FileField(
        help_text="UTF-8 CSV with a header row: run_id, customer_ref and optionally "
        f"file_name and file_id (at most {imports.MAX_ROWS:,} rows)."
    )

    def validate_workspace(self, pk: int) -> Workspace:
        return _workspace(pk)


class ImportSerializer(ImportUploadSerializer):
    sha256 = serializers.RegexField(
        r"^[0-9a-f]{64}$",
        required=False,
        help_text="The preview's sha256: import only if the file is that one.",
    )


class RowErrorSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField()
    message = Text()


class ImportRowSerializer(serializers.Serializer[Any]):
    line = serializers.IntegerField()
    run_id = Text()
    customer_ref = Text()
    file_name = Text(allow_null=True)
    file_id = Text(allow_null=True, help_text="Extend's id of the run's uploaded file, if given.")


class CustomerCountSerializer(serializers.Serializer[Any]):
    customer_ref = Text()
    rows = serializers.IntegerField()


class ImportPreviewSerializer(serializers.Serializer[Any]):
    ok = Flag(help_text="Whether the file can be imported as it is.")
    sha256 = Text()
    workspace = serializers.IntegerField()
    rows = serializers.IntegerField()
    new_count = serializers.IntegerField(help_text="Runs the inventory does not know yet.")
    update_count = serializers.IntegerField(help_text="Known runs that get their customer.")
    per_customer = CustomerCountSerializer(many=True)
    columns = serializers.ListField(child=Text())
    notes = serializers.ListField(child=Text())
    file_errors = serializers.ListField(child=Text())
    error_count = serializers.IntegerField()
    problems = RowErrorSerializer(many=True, help_text=f"The first {LISTED_ERRORS} row problems.")
    sample = ImportRowSerializer(many=True)


def _preview_body(preview: imports.ImportPreview, data: bytes) -> dict[str, Any]:
    return {
        "ok": preview.ok,
        "sha256": imports.digest(data),
        "workspace": preview.workspace.pk,
        "rows": len(preview.rows),
        "new_count": preview.new_count,
        "update_count": preview.update_count,
        "per_customer": [
            {"customer_ref": ref, "rows": n} for ref, n in preview.customer_counts[:100]
        ],
        "columns": preview.columns,
        "notes": preview.notes,
        "file_errors": preview.file_errors,
        "error_count": preview.error_count,
        "problems": RowErrorSerializer(preview.errors[:LISTED_ERRORS], many=True).data,
        "sample": ImportRowSerializer(preview.rows[:SAMPLE_ROWS], many=True).data,
    }


def _upload(request: Request, serializer_class: type[ImportUploadSerializer]) -> Any:
    data = checked_body(request, serializer_class)
    return data, data["file"].read(imports.MAX_FILE_BYTES + 1)


class Unassigned(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="list_unassigned_runs",
        summary="Parse runs no customer owns yet (staff), newest first",
        parameters=[UnassignedQuerySerializer],
        responses={200: UnassignedPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, UnassignedQuerySerializer)
        workspace = Workspace.objects.filter(pk=params.get("workspace", 0)).first()
        rows = run_assignment.unassigned_runs(
            workspace=workspace, value=params.get("value", ""), key=params.get("key", "").strip()
        ).select_related("workspace")
        if "workspace" in params and workspace is None:
            # An unknown workspace has no runs: an empty page, as for any filter.
            rows = rows.none()
        return _page(request, rows, params, UnassignedRunSerializer, field="id", descending=True)


class Assign(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="assign_runs",
        summary="Give unassigned parse runs to a customer (staff admins)",
        description="The listed runs (scope selected) or every run matching the filter "
        "(scope all), of those still unassigned when the change commits. The customer's users "
        "then see them and may delete them. Audited with the runs' ids.",
        request=AssignSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={200: AssignedSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, AssignSerializer)
            runs = run_assignment.unassigned_runs(
                workspace=data.get("workspace"),
                value=data.get("value", ""),
                key=data.get("key", ""),
            )
            if data["scope"] == "selected":
                runs = runs.filter(pk__in=data["ids"])
            workspace = data.get("workspace")
            filters = {
                "workspace": str(workspace.pk) if workspace else "",
                "value": data.get("value", ""),
                "key": data.get("key", ""),
            }
            count = run_assignment.assign(
                runs,
                data["customer"],
                actor=request.user,
                source=Source.API,
                scope=data["scope"],
                filters={name: value for name, value in filters.items() if value},
            )
            return Response({"assigned": count})

        return idempotent(request, work)


class ImportPreview(ApiView):
    permission_classes = [CanAdminister]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="preview_run_import",
        summary="Check a CSV file of parse runs for an import (staff admins); nothing is written",
        description="Says what the file would import, every problem with it, and its sha256.",
        request={"multipart/form-data": ImportUploadSerializer},
        responses={200: ImportPreviewSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data, content = _upload(request, ImportUploadSerializer)
        return Response(_preview_body(imports.parse(content, data["workspace"]), content))


class Import(ApiView):
    permission_classes = [CanAdminister]
    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="import_runs",
        summary="Import parse runs from a CSV file (staff admins): every row, or none",
        description="The file is validated again; a file with any problem imports nothing "
        "(400, with the problems). With sha256, a different file is refused (409). Audited "
        "with the file's digest.",
        request={"multipart/form-data": ImportSerializer},
        responses={201: ImportPreviewSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data, content = _upload(request, ImportSerializer)
        if data.get("sha256") and data["sha256"] != imports.digest(content):
            raise ApiError(
                "This is not the file that was previewed (its sha256 differs); nothing was "
                "imported.",
                status_code=status.HTTP_409_CONFLICT,
                code="conflict",
            )
        preview = imports.apply_import(
            content, data["workspace"], actor=request.user, source=Source.API
        )
        body = _preview_body(preview, content)
        if not preview.ok:
            raise ApiError(
                "The file cannot be imported as it is; nothing was imported.",
                code="import_invalid",
                details=body,
            )
        return Response(body, status=status.HTTP_201_CREATED)
