"""The API's endpoints. Every change goes through the same domain functions as the pages
(``submission.submit_request`` and ``deletions.requests.transitions``), with ``source=Source.API``;
every object is loaded through the same ownership helper, so another customer's request is a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Model
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api import serializers as s
from deletions.api.auth import (
    IsCustomerOrStaff,
    IsCustomerUser,
    IsStaff,
    IsStaffPerson,
    api_membership,
    refuse_service_account,
)
from deletions.api.base import ACTION_ERRORS as ACTION_ERRORS
from deletions.api.base import DEFAULT_PAGE_SIZE as DEFAULT_PAGE_SIZE
from deletions.api.base import OBJECT_ERRORS as OBJECT_ERRORS
from deletions.api.base import READ_ERRORS as READ_ERRORS
from deletions.api.base import ApiView as ApiView
from deletions.api.base import _detail as _detail
from deletions.api.base import _errors as _errors
from deletions.api.base import _page as _page
from deletions.api.base import _query as _query
from deletions.api.base import load_request as load_request
from deletions.api.errors import error_body
from deletions.api.idempotency import HEADER, idempotent
from deletions.core.errors import RuleViolation
from deletions.models import DeletionItem, DeletionRequest, FileErasure, ParseRun, Source
from deletions.notifications import customer_emails as notifications
from deletions.reporting import console_queries
from deletions.requests import transitions
from deletions.requests.submission import RunFilter, Selection, submit_request

# --- Parse runs ---


class RunList(ApiView):
    permission_classes = [IsCustomerUser]

    @extend_schema(
        operation_id="list_runs",
        summary="List your parse runs, newest first",
        parameters=[s.RunQuerySerializer],
        responses={200: s.RunPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, s.RunQuerySerializer)
        membership = api_membership(request)
        assert membership is not None
        runs = ParseRun.objects.filter(customer_id=membership.customer_id)
        runs = RunFilter(
            status=params.get("status", ""),
            file_name_contains=params.get("file_name_contains", ""),
            created_from=params.get("created_from"),
            created_to=params.get("created_to"),
        ).apply(runs)
        state = params.get("state", "")
        if state == "present":
            runs = runs.filter(state=ParseRun.State.PRESENT, open_request__isnull=True)
        elif state == "pending":
            runs = runs.filter(state=ParseRun.State.PRESENT, open_request__isnull=False)
        elif state == "deleted":
            runs = runs.exclude(state=ParseRun.State.PRESENT)
        return _page(
            request, runs, params, s.RunSerializer, field="extend_created_at", descending=True
        )


# --- Requests ---


class RequestList(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [IsCustomerUser()] if self.request.method == "POST" else [IsCustomerOrStaff()]

    @extend_schema(
        operation_id="list_requests",
        summary="List deletion requests, newest first",
        description="Customer members see their own requests, customer admins all of their "
        "customer's, staff everyone's.",
        parameters=[s.RequestQuerySerializer],
        responses={200: s.RequestPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, s.RequestQuerySerializer)
        membership = api_membership(request)
        rows = DeletionRequest.objects.select_related("customer", "requested_by")
        if membership is not None:
            rows = rows.filter(customer_id=membership.customer_id)
            if not membership.is_customer_admin:
                rows = rows.filter(requested_by=cast(User, request.user))
        if params.get("status"):
            rows = rows.filter(status=params["status"])
        if params.get("kind"):
            rows = rows.filter(kind=params["kind"])
        return _page(
            request,
            rows,
            params,
            s.RequestSummarySerializer,
            field="submitted_at",
            descending=True,
        )

    @extend_schema(
        operation_id="create_request",
        summary="File a deletion request",
        description="Explicit run ids, all your runs, or a filter (frozen into a list now). "
        f"Send an {HEADER} header to make retries safe: the same key and body give the "
        "same answer; the same key with another body is refused (422).",
        request=s.RequestCreateSerializer,
        parameters=[
            OpenApiParameter(
                HEADER,
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Any unique string of at most 255 printable characters.",
                # What the server accepts (idempotency.MAX_KEY_LENGTH, printable), as ASCII.
                pattern=r"^[\x21-\x7e]([\x20-\x7e]{0,253}[\x21-\x7e])?$",
            )
        ],
        responses={201: s.RequestSerializer, **_errors(*ACTION_ERRORS, 422)},
    )
    def post(self, request: Request) -> Response:
        membership = api_membership(request)
        assert membership is not None

        def work() -> Response:
            ser = s.RequestCreateSerializer(data=request.data)
            ser.is_valid(raise_exception=True)
            data = ser.validated_data
            filt = data.get("filter") or {}
            selection = Selection(
                scope=data["scope"],
                run_ids=data.get("run_ids") or [],
                run_filter=RunFilter(
                    status=filt.get("status") or "",
                    file_name_contains=filt.get("file_name_contains") or "",
                    created_from=filt.get("created_from"),
                    created_to=filt.get("created_to"),
                ),
            )
            with transaction.atomic():
                req = submit_request(
                    customer=membership.customer,
                    selection=selection,
                    reason=data["reason"],
                    requested_by=request.user,
                    source=Source.API,
                    kind=data["kind"],
                    subject_ref=(data.get("subject_ref") or "").strip(),
                    erase_files=data.get("erase_files"),
                )
                transaction.on_commit(lambda: notifications.request_submitted(req))
            response = _detail(req, http_status=status.HTTP_201_CREATED)
            response["Location"] = reverse("api:request", args=[req.pk])
            return response

        return idempotent(request, work)


class RequestDetail(ApiView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        operation_id="get_request",
        summary="A request: status, counts per item state, approvals, estimate",
        responses={200: s.RequestSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _detail(load_request(request, pk))


class ItemList(ApiView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        operation_id="list_request_items",
        summary="A request's items (one per parse run), in order",
        parameters=[s.ItemQuerySerializer],
        responses={200: s.ItemPageSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        req = load_request(request, pk)
        params = _query(request, s.ItemQuerySerializer)
        items = DeletionItem.objects.filter(request=req).select_related("parse_run")
        if params.get("status"):
            items = items.filter(status=params["status"])
        return _page(request, items, params, s.ItemSerializer, field="id", descending=False)


class FileList(ApiView):
    permission_classes = [IsCustomerOrStaff]

    @extend_schema(
        operation_id="list_request_files",
        summary="The uploaded files a request erases, in order",
        description="One per uploaded file of the request's runs: erased, kept (and why), failed "
        "or in progress. Empty when the request does not erase files (erase_files false on the "
        "request) or before deletion starts.",
        parameters=[s.FileQuerySerializer],
        responses={200: s.FilePageSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        req = load_request(request, pk)
        params = _query(request, s.FileQuerySerializer)
        erasures = FileErasure.objects.filter(request=req)
        if params.get("status"):
            erasures = erasures.filter(status=params["status"])
        return _page(request, erasures, params, s.FileSerializer, field="id", descending=False)


class Action(ApiView):
    """POST /requests/{id}/<action>: one transition, with its body."""

    permission_classes: list[type[BasePermission]] = [IsStaffPerson]
    body: type[serializers.Serializer[Any]] | None = None

    def act(self, request: Request, req: DeletionRequest, data: dict[str, Any]) -> Model:
        raise NotImplementedError

    def post(self, request: Request, pk: int) -> Response:
        req = load_request(request, pk)
        data: dict[str, Any] = {}
        if self.body is not None:
            ser = self.body(data=request.data)
            ser.is_valid(raise_exception=True)
            data = dict(ser.validated_data)
        self.act(request, req, data)
        return _detail(req)


def _action_schema(
    name: str, summary: str, body: type[serializers.Serializer[Any]] | None
) -> Callable[[type[Action]], type[Action]]:
    return extend_schema_view(
        post=extend_schema(
            operation_id=f"{name}_request",
            summary=summary,
            request=body,
            responses={200: s.RequestSerializer, **_errors(*ACTION_ERRORS)},
        )
    )


@_action_schema(
    "cancel",
    "Cancel a request that has not started (its requester or staff); a GDPR erasure request "
    "with a reason",
    s.CancelSerializer,
)
class Cancel(Action):
    permission_classes = [IsCustomerOrStaff]
    body = s.CancelSerializer

    def act(self, request: Request, req: DeletionRequest, data: dict[str, Any]) -> Model:
        if api_membership(request) is None:
            refuse_service_account(request)
            if not request.user.has_perm(transitions.APPROVE_PERMISSION):
                raise RuleViolation("You are not allowed to cancel deletion requests.")
        return transitions.cancel_request(
            req, actor=request.user, source=Source.API, reason=data.get("reason", "")
        )


@_action_schema("approve", "Approve (staff approvers; never your own request)", s.CommentSerializer)
class Approve(Action):
    body = s.CommentSerializer

    def act(self, request: Request, req: DeletionRequest, data: dict[str, Any]) -> Model:
        return transitions.approve_request(
            req, actor=request.user, source=Source.API, comment=data.get("comment", "")
        )


@_action_schema(
    "reject",
    "Reject with a reason the requester will see (a GDPR erasure request also with its ground)",
    s.RejectSerializer,
)
class Reject(Action):
    body = s.RejectSerializer

    def act(self, request: Request, req: DeletionRequest, data: dict[str, Any]) -> Model:
        return transitions.reject_request(
            req,
            actor=request.user,
            source=Source.API,
            reason=data["reason"],
            ground=data.get("ground", ""),
        )


@_action_schema("retry", "Send a finished request's failed items round again", None)
class Retry(Action):
    def act(self, request: Request, req: DeletionRequest, data: dict[str, Any]) -> Model:
        return transitions.retry_failed_items(req, actor=request.user, source=Source.API)


@_action_schema("pause", "Pause a running request", s.PauseSerializer)
class Pause(Action):
    body = s.PauseSerializer

    def act(self, request: Request, req: DeletionRequest, data: dict[str, Any]) -> Model:
        return transitions.pause_request(
            req, actor=request.user, source=Source.API, reason=data.get("reason", "")
        )


@_action_schema("resume", "Resume a paused request", None)
class Resume(Action):
    def act(self, request: Request, req: DeletionRequest, data: dict[str, Any]) -> Model:
        return transitions.resume_request(req, actor=request.user, source=Source.API)


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Anything else under /api/v1/: a 404 in the API's error shape, not the HTML page."""
    return JsonResponse(
        error_body("not_found", f"There is no API endpoint at {request.path}."), status=404
    )


class Queue(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="list_queue",
        summary="The approval queue (staff): GDPR due date first, then oldest",
        parameters=[s.RequestQuerySerializer],
        responses={200: s.RequestPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, s.RequestQuerySerializer)
        filters = {"status": params.get("status", ""), "kind": params.get("kind", "")}
        rows = console_queries.queue(filters).order_by()
        return _page(
            request, rows, params, s.RequestSummarySerializer, field="due_on", descending=False
        )
