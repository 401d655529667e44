"""Staff endpoints for a GDPR request's statutory deadline: read it, extend it, pause it while
waiting for the data subject, resume it. The console's rules (``console_deadline``): approvers
and admins act, with the console's forms checking the bodies, through
:mod:`deletions.gdpr.deadlines` with source ``api``."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api.auth import IsStaff
from deletions.api.staff_base import (
    WRITE_ERRORS,
    CanApprove,
    Flag,
    Text,
    Whole,
    checked_body,
    form_data,
    form_values,
)
from deletions.api.views import (
    OBJECT_ERRORS,
    ApiView,
    _errors,
    load_request,
)
from deletions.forms.gdpr import ExtendForm, PauseForm
from deletions.gdpr import deadlines as gdpr
from deletions.models import DeletionRequest, Source


class ExtendSerializer(serializers.Serializer[Any]):
    months = Whole(min_value=1, max_value=2, help_text="1 or 2.")
    reason = Text(max_length=5000, help_text="Sent to the data subject.")


class DeadlinePauseSerializer(serializers.Serializer[Any]):
    reason = Text(max_length=2000, help_text="What you are waiting for from the data subject.")
    ask_subject = Flag(
        default=False,
        help_text="E-mail the data subject this, with a link to answer that resumes the "
        "deadline (only for requests from the public form).",
    )


class DeadlineSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=DeletionRequest.Kind.choices)
    received_on = serializers.DateField(allow_null=True)
    due_on = serializers.DateField(allow_null=True)
    extended_due_on = serializers.DateField(allow_null=True)
    effective_due_on = serializers.DateField(allow_null=True)
    extension_reason = Text()
    extended_at = serializers.DateTimeField(allow_null=True)
    paused = serializers.SerializerMethodField()
    deadline_paused_at = serializers.DateTimeField(allow_null=True)
    deadline_pause_reason = Text()
    deadline_paused_days = serializers.IntegerField()

    def get_paused(self, req: DeletionRequest) -> bool:
        return gdpr.is_paused(req)


def _deadline(req: DeletionRequest) -> Response:
    req.refresh_from_db()
    return Response(DeadlineSerializer(req).data)


class Deadline(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="get_request_deadline",
        summary="A request's statutory deadline: due date, extension, pause (staff)",
        responses={200: DeadlineSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _deadline(load_request(request, pk))


class DeadlineExtend(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="extend_request_deadline",
        summary="Extend a GDPR request's deadline by one or two months (approvers, admins)",
        description="Art. 12(3): within the first month only, by at most two further months in "
        "all, with a reason the data subject is told by e-mail (if they gave an address on the "
        "public form; the request's timeline records each notice as subject.notified). "
        "Otherwise a 403 that says why.",
        request=ExtendSerializer,
        responses={200: DeadlineSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        req = load_request(request, pk)
        data = checked_body(request, ExtendSerializer)
        values = form_values(ExtendForm(form_data(data)))
        gdpr.extend_deadline(
            req,
            months=values["months"],
            reason=values["reason"],
            actor=request.user,
            source=Source.API,
        )
        return _deadline(req)


class DeadlinePause(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="pause_request_deadline",
        summary="Pause a GDPR request's deadline while waiting on the data subject (approvers)",
        description="The due date moves by the days it stays paused, GDPR_MAX_PAUSE_DAYS in all "
        "at most (a pause then ends by itself; pausing beyond it is a 403). The data subject, if "
        "they gave an address, is told the reason; with ask_subject, also sent a link whose use "
        "resumes the deadline.",
        request=DeadlinePauseSerializer,
        responses={200: DeadlineSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        req = load_request(request, pk)
        data = checked_body(request, DeadlinePauseSerializer)
        values = form_values(PauseForm(form_data(data)))
        gdpr.pause_deadline(
            req,
            reason=values["reason"],
            actor=request.user,
            source=Source.API,
            ask_subject=bool(values.get("ask_subject")),
        )
        return _deadline(req)


class DeadlineResume(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="resume_request_deadline",
        summary="Resume a paused deadline: it moves by the days it was paused (approvers)",
        request=None,
        responses={200: DeadlineSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        req = gdpr.resume_deadline(load_request(request, pk), actor=request.user, source=Source.API)
        return _deadline(req)
