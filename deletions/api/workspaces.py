"""Staff endpoints for workspaces: list, read, create, edit, enter secrets, test the connection,
sync the inventory (pausing and resuming are in :mod:`deletions.api.staff`).

The console's rules, through the console's form and :mod:`deletions.workspaces.changes`: every staff
role reads, admins create, edit and enter secrets, approvers and admins test and sync. A base
URL must pass the outbound URL policy, and a new URL is only accepted with the API key entered
again. Secrets are write-only: no answer contains them (only whether one is set), and the
methods that hold them keep them out of error reports.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
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
    CanOperate,
    Flag,
    Text,
    Whole,
    checked_body,
    form_data,
    form_values,
    page_of,
)
from deletions.api.views import (
    OBJECT_ERRORS,
    READ_ERRORS,
    ApiView,
    _errors,
    _page,
    _query,
)
from deletions.engine.due import open_pending_items
from deletions.forms.console import CUSTOM_REGION, SecretsForm, WorkspaceForm
from deletions.inventory import sync
from deletions.models import Source, Workspace
from deletions.workspaces import changes as workspaces
from deletions.workspaces import connection_check

MAX_SECRET_LENGTH = 500
WRITE_ONLY_HELP = "Write-only: stored encrypted, never returned."


class SyncStateSerializer(serializers.Serializer[Any]):
    status = Text()
    mode = Text()
    is_active = Flag(help_text="A worker holds the sync now.")
    pages_done = serializers.IntegerField()
    runs_seen = serializers.IntegerField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    last_full_sync_at = serializers.DateTimeField(allow_null=True)
    present = serializers.IntegerField(help_text="Runs in the inventory that exist at Extend.")
    unassigned = serializers.IntegerField(help_text="Of those, runs no customer owns.")


class WorkspaceDetailSerializer(serializers.Serializer[Any]):
    """A workspace's settings and health; of its secrets, only whether each is set."""

    id = serializers.IntegerField()
    name = Text()
    base_url = Text()
    api_version = Text()
    key_scope = serializers.ChoiceField(choices=Workspace.KeyScope.choices)
    extend_workspace_id = Text()
    organization = serializers.IntegerField(source="organization_id", allow_null=True)
    customer_metadata_key = Text()
    rate_limit = serializers.IntegerField()
    get_rate_limit = serializers.IntegerField()
    verify_deletions = Flag()
    health = serializers.ChoiceField(choices=Workspace.Health.choices)
    health_reason = Text()
    health_changed_at = serializers.DateTimeField(allow_null=True)
    api_key_set = Flag(source="has_api_key")
    webhook_secret_set = serializers.SerializerMethodField()
    webhook_url = serializers.SerializerMethodField(
        help_text="Where Extend sends this workspace's webhooks."
    )

    def get_webhook_secret_set(self, ws: Workspace) -> bool:
        return bool(ws.webhook_secret_encrypted)

    def get_webhook_url(self, ws: Workspace) -> str:
        return f"{settings.SITE_URL}/webhooks/extend/{ws.webhook_token}/"


class WorkspaceStateSerializer(WorkspaceDetailSerializer):
    pending_items = serializers.IntegerField(help_text="Items waiting to be sent to Extend.")
    sync = SyncStateSerializer()


WorkspacePageSerializer = page_of(WorkspaceDetailSerializer)


class WorkspaceWriteSerializer(serializers.Serializer[Any]):
    """The settings of a workspace; on an edit, only those given change."""

    name = Text(max_length=100)
    base_url = Text(
        max_length=200,
        help_text="One of Extend's regions (https://api.extend.ai, https://api.us2.extend.app, "
        "https://api.eu1.extend.ai) or any URL the outbound URL policy allows (https, public "
        "address, unless its host is in OUTBOUND_ALLOWED_HOSTS). Changing it on an edit needs "
        "api_key too: a stored key is never sent to a new address.",
    )
    api_version = Text(max_length=20)
    key_scope = serializers.ChoiceField(choices=Workspace.KeyScope.choices)
    extend_workspace_id = Text(
        max_length=255, allow_blank=True, help_text="Required with an organisation key."
    )
    organization = Whole(
        min_value=1, max_value=PK_MAX, allow_null=True, help_text="The organisation's id, or null."
    )
    customer_metadata_key = Text(max_length=100)
    rate_limit = Whole(min_value=0, max_value=2_147_483_647)
    get_rate_limit = Whole(min_value=0, max_value=2_147_483_647)
    verify_deletions = Flag()
    api_key = Text(
        max_length=MAX_SECRET_LENGTH, write_only=True, required=False, help_text=WRITE_ONLY_HELP
    )


class WorkspaceCreateSerializer(WorkspaceWriteSerializer):
    webhook_secret = Text(
        max_length=MAX_SECRET_LENGTH, write_only=True, required=False, help_text=WRITE_ONLY_HELP
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # On creation, what the console's form leaves to its defaults may be left out.
        for name in ("api_version", "key_scope", "extend_workspace_id", "organization"):
            self.fields[name].required = False
        for name in ("customer_metadata_key", "rate_limit", "get_rate_limit"):
            self.fields[name].required = False
        self.fields["verify_deletions"].required = False
        self.fields["base_url"].required = False


class SecretsSerializer(serializers.Serializer[Any]):
    api_key = Text(
        max_length=MAX_SECRET_LENGTH, required=False, allow_blank=True, help_text=WRITE_ONLY_HELP
    )
    webhook_secret = Text(
        max_length=MAX_SECRET_LENGTH, required=False, allow_blank=True, help_text=WRITE_ONLY_HELP
    )


class ConnectionResultSerializer(serializers.Serializer[Any]):
    ok = Flag()
    summary = Text(help_text="In the portal's words, never the answer's text.")
    status = serializers.IntegerField(allow_null=True, help_text="Extend's HTTP status.")
    code = Text(allow_null=True, help_text="Extend's error code, if any.")
    request_id = Text(allow_null=True)
    runs_seen = serializers.IntegerField()


class SyncStartedSerializer(serializers.Serializer[Any]):
    started = Flag()
    sync = SyncStateSerializer()


def get_workspace(pk: int) -> Workspace:
    return get_object_or_404(Workspace.objects.select_related("organization"), pk=pk)


def _state(ws: Workspace) -> dict[str, Any]:
    data = dict(WorkspaceDetailSerializer(ws).data)
    data["pending_items"] = open_pending_items(ws.pk).count()
    data["sync"] = SyncStateSerializer(sync.sync_status(ws)).data
    return data


def _form_data(ws: Workspace | None, values: dict[str, Any]) -> dict[str, Any]:
    """The console form's data for *ws* (None: a new one) with *values* given over the API."""
    current = ws if ws is not None else Workspace()
    merged = {name: getattr(current, name) for name in workspaces.SETTINGS_FIELDS}
    merged.update(organization=current.organization_id, base_url=current.base_url)
    merged.update(values)
    base_url = merged.pop("base_url")
    if base_url in Workspace.Region.values:
        merged.update(region=base_url, custom_url="")
    else:
        merged.update(region=CUSTOM_REGION, custom_url=base_url)
    return form_data(merged)


def _checked(form: WorkspaceForm) -> dict[str, Any]:
    """The form's values, its region and custom URL errors reported under base_url."""
    for name in ("region", "custom_url"):
        if name in form.errors:
            form.errors.setdefault("base_url", form.error_class()).extend(form.errors.pop(name))
    return form_values(form)


class WorkspaceList(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [CanAdminister()] if self.request.method == "POST" else [IsStaff()]

    @extend_schema(
        operation_id="list_workspaces",
        summary="List workspaces (staff), by id",
        parameters=[PageQuerySerializer],
        responses={200: WorkspacePageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, PageQuerySerializer)
        rows = Workspace.objects.all()
        return _page(request, rows, params, WorkspaceDetailSerializer, field="id", descending=False)

    @extend_schema(
        operation_id="create_workspace",
        summary="Create a workspace (staff admins), with its secrets if given",
        description="The console's rules: a unique name, a base URL the outbound URL policy "
        "allows, an organisation key needs the Extend workspace id. Omitted settings take the "
        "console's defaults. The secrets may also be entered later (rotate_workspace_secrets).",
        request=WorkspaceCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: WorkspaceStateSerializer, **_errors(*WRITE_ERRORS)},
    )
    @sensitive_variables("data", "secrets", "values")
    def post(self, request: Request) -> Response:
        @sensitive_variables("data", "secrets", "values")
        def work() -> Response:
            data = checked_body(request, WorkspaceCreateSerializer)
            secrets = {n: data.pop(n, "") for n in ("api_key", "webhook_secret")}
            values = _checked(WorkspaceForm(_form_data(None, data)))
            if any(secrets.values()):
                form_values(SecretsForm(secrets))
            ws = workspaces.create_workspace(
                {name: values[name] for name in workspaces.AUDITED_FIELDS},
                api_key=secrets["api_key"],
                webhook_secret=secrets["webhook_secret"],
                actor=request.user,
                source=Source.API,
            )
            return Response(_state(ws), status=status.HTTP_201_CREATED)

        return idempotent(request, work)


class WorkspaceDetail(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [CanAdminister()] if self.request.method == "PATCH" else [IsStaff()]

    @extend_schema(
        operation_id="get_workspace",
        summary="A workspace (staff): settings, health, pending items and its sync",
        responses={200: WorkspaceStateSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return Response(_state(get_workspace(pk)))

    @extend_schema(
        operation_id="update_workspace",
        summary="Change a workspace's settings (staff admins)",
        description="Only the fields given change. A new base_url is accepted only with "
        "api_key (the stored key is never sent to an address it was not entered for) and only "
        "if the outbound URL policy allows it. Once the change commits, nothing claimed under "
        "the old settings is sent to Extend.",
        request=WorkspaceWriteSerializer(partial=True),
        responses={200: WorkspaceStateSerializer, **_errors(*WRITE_ERRORS)},
    )
    @sensitive_variables("data", "api_key", "values")
    def patch(self, request: Request, pk: int) -> Response:
        ws = get_workspace(pk)
        data = checked_body(request, WorkspaceWriteSerializer, partial=True)
        api_key = data.pop("api_key", "")
        form = WorkspaceForm({**_form_data(ws, data), "api_key": api_key}, instance=ws)
        values = _checked(form)
        workspaces.update_workspace(
            get_workspace(pk),
            {name: values[name] for name in workspaces.AUDITED_FIELDS},
            api_key=api_key,
            actor=request.user,
            source=Source.API,
        )
        return Response(_state(get_workspace(pk)))


class WorkspaceSecrets(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="rotate_workspace_secrets",
        summary="Enter or replace a workspace's API key and/or webhook secret (staff admins)",
        description="Write-only: the answer says only that each is set. A new key binds from "
        "its commit on: nothing claimed under the old one is sent.",
        request=SecretsSerializer,
        responses={200: WorkspaceStateSerializer, **_errors(*WRITE_ERRORS)},
    )
    @sensitive_variables("data")
    def post(self, request: Request, pk: int) -> Response:
        ws = get_workspace(pk)
        data = checked_body(request, SecretsSerializer)
        data = form_values(SecretsForm(data))
        workspaces.rotate_secrets(
            ws,
            api_key=data.get("api_key") or "",
            webhook_secret=data.get("webhook_secret") or "",
            actor=request.user,
            source=Source.API,
        )
        return Response(_state(get_workspace(pk)))


class WorkspaceTest(ApiView):
    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="test_workspace_connection",
        summary="Test a workspace's connection to Extend (staff approvers and admins)",
        description="One real, rate-limited call to Extend (the first page of runs) with the "
        "stored key. The answer gives the HTTP status and Extend's error code, never the text "
        "of what answered. Audited.",
        request=None,
        responses={200: ConnectionResultSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        ws = get_workspace(pk)
        result = connection_check.check_and_record(ws, actor=request.user, source=Source.API)
        return Response(ConnectionResultSerializer(result).data)


class WorkspaceSync(ApiView):
    permission_classes = [CanOperate]

    @extend_schema(
        operation_id="sync_workspace",
        summary="Start a sync of a workspace's inventory from Extend (staff approvers, admins)",
        description="The sync runs in the background (202). A sync already running is a 409.",
        request=None,
        responses={202: SyncStartedSerializer, **_errors(*OBJECT_ERRORS, 409)},
    )
    def post(self, request: Request, pk: int) -> Response:
        ws = get_workspace(pk)
        if not sync.request_sync(ws, actor=request.user, source=Source.API):
            raise ApiError(
                f"A sync of {ws.name} is already running.",
                status_code=status.HTTP_409_CONFLICT,
                code="conflict",
            )
        body = {"started": True, "sync": SyncStateSerializer(sync.sync_status(ws)).data}
        return Response(body, status=status.HTTP_202_ACCEPTED)
