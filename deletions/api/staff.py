"""Staff endpoints for the engine's safety levers: legal holds and pausing a workspace.

The same rules as the console's pages (``console_holds``, ``console_workspaces``): every staff
role reads holds, only admins place and lift them, approvers and admins pause and resume
workspaces. The domain functions check those rules again, write the audit record with
``source=Source.API`` and commit before the view answers (no outer transaction here).
"""

from __future__ import annotations

from django.db.models import Count
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api import hold_serializers as hs
from deletions.api.auth import IsStaff, StaffWith
from deletions.api.errors import ApiError
from deletions.api.views import ACTION_ERRORS, READ_ERRORS, ApiView, _errors, _page, _query
from deletions.core.errors import TransitionError
from deletions.models import LegalHold, Source, Workspace
from deletions.requests import holds
from deletions.workspaces import health as workspace_health

PLACE_ERRORS = (400, 401, 403, 413, 415, 429)


class CanManageHolds(StaffWith):
    perm = holds.ADMINISTER_PERMISSION
    message = "Only staff administrators may place or lift legal holds."


class CanPauseWorkspaces(StaffWith):
    perm = workspace_health.OPERATE_PERMISSION
    message = "You are not allowed to pause or resume workspaces."


def _hold_response(hold: LegalHold, *, http_status: int = status.HTTP_200_OK) -> Response:
    hold = LegalHold.objects.select_related("customer", "workspace", "placed_by", "lifted_by").get(
        pk=hold.pk
    )
    return Response(hs.HoldSerializer(hold).data, status=http_status)


class HoldList(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [CanManageHolds()] if self.request.method == "POST" else [IsStaff()]

    @extend_schema(
        operation_id="list_holds",
        summary="List legal holds (staff), newest first",
        description="Every staff role reads holds. Active holds are those neither lifted nor "
        "past their end date.",
        parameters=[hs.HoldQuerySerializer],
        responses={200: hs.HoldPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, hs.HoldQuerySerializer)
        rows = LegalHold.objects.select_related(
            "customer", "workspace", "placed_by", "lifted_by"
        ).annotate(runs_listed=Count("runs"))
        active = holds.active_holds().values("pk")
        if params.get("state") == "active":
            rows = rows.filter(pk__in=active)
        elif params.get("state") == "lifted":
            rows = rows.exclude(pk__in=active)
        return _page(request, rows, params, hs.HoldSerializer, field="placed_at", descending=True)

    @extend_schema(
        operation_id="place_hold",
        summary="Place a legal hold (staff admins) on a customer, a workspace or listed runs",
        description="Waiting items of open and running requests that the hold covers are held "
        "at once; the engine sends no deletion for a covered run until the hold is lifted or "
        "its end date passes. Run ids are Extend's; any that the inventory does not know make "
        "the whole call a 400 that names them, and nothing is held.",
        request=hs.HoldCreateSerializer,
        responses={201: hs.HoldSerializer, **_errors(*PLACE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        ser = hs.HoldCreateSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        data = ser.validated_data
        hold = holds.place_hold(
            scope=data["scope"],
            customer=data.get("customer"),
            workspace=data.get("workspace"),
            runs=data["runs"],
            reason=data["reason"],
            reference=data["reference"],
            ends_on=data.get("ends_on"),
            actor=request.user,
            source=Source.API,
        )
        return _hold_response(hold, http_status=status.HTTP_201_CREATED)


class HoldLift(ApiView):
    permission_classes = [CanManageHolds]

    @extend_schema(
        operation_id="lift_hold",
        summary="Lift a legal hold (staff admins): the items it held go back to work",
        description="Items that no other active hold covers become pending again, and a request "
        "that had finished meanwhile runs again for them. Lifting a hold that was lifted or has "
        "ended is a 409.",
        request=hs.HoldLiftSerializer,
        responses={200: hs.HoldSerializer, **_errors(*ACTION_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        hold = get_object_or_404(LegalHold, pk=pk)
        ser = hs.HoldLiftSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        if hold.lifted_at is None and not hold.is_active:
            # Past its end date, it holds nothing; the reconciler records its end. The console
            # refuses to lift it too.
            raise TransitionError(f"This hold ended on {hold.ends_on}; there is nothing to lift.")
        holds.lift_hold(
            hold, actor=request.user, source=Source.API, reason=ser.validated_data["reason"]
        )
        return _hold_response(hold)


def _workspace_response(workspace: Workspace) -> Response:
    workspace.refresh_from_db()
    return Response(hs.WorkspaceSerializer(workspace).data)


class WorkspacePause(ApiView):
    permission_classes = [CanPauseWorkspaces]

    @extend_schema(
        operation_id="pause_workspace",
        summary="Pause all work for a workspace (staff approvers and admins)",
        description="The engine sends nothing more for the workspace; its pending items wait "
        "(none is marked failed) until it is resumed. Pausing a paused workspace is a 409.",
        request=hs.WorkspacePauseSerializer,
        responses={200: hs.WorkspaceSerializer, **_errors(*ACTION_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        workspace = get_object_or_404(Workspace, pk=pk)
        ser = hs.WorkspacePauseSerializer(data=request.data)
        ser.is_valid(raise_exception=True)
        changed = workspace_health.pause_workspace(
            workspace,
            actor=request.user,
            source=Source.API,
            reason=ser.validated_data.get("reason", ""),
        )
        if not changed:
            raise ApiError(
                f"Workspace {workspace.name} is already paused.",
                status_code=status.HTTP_409_CONFLICT,
                code="invalid_transition",
            )
        return _workspace_response(workspace)


class WorkspaceResume(ApiView):
    permission_classes = [CanPauseWorkspaces]

    @extend_schema(
        operation_id="resume_workspace",
        summary="Let a stopped workspace work again (staff approvers and admins)",
        description="For a workspace paused by staff, or stopped by Extend's answers (key, "
        "payment, too many 404s) once the cause is fixed. Resuming an active one is a 409.",
        request=None,
        responses={200: hs.WorkspaceSerializer, **_errors(*ACTION_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        workspace = get_object_or_404(Workspace, pk=pk)
        workspace_health.resume_workspace(workspace, actor=request.user, source=Source.API)
        return _workspace_response(workspace)
