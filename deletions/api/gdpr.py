"""Staff endpoints for GDPR erasure: intakes from the public form and requests filed on a data
subject's behalf (a request's statutory deadline is :mod:`deletions.api.deadlines`).

The console's rules (``console_gdpr``, ``console_deadline``): every staff role reads intakes,
approvers and admins act. Bodies are checked with the console's forms, and every change goes
through :mod:`deletions.gdpr.intake` and :mod:`deletions.gdpr.deadlines` with source ``api``.
Whoever freezes an intake or files a request becomes its requester, so another approver must
approve it.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api import serializers as s
from deletions.api.auth import IsStaff
from deletions.api.idempotency import idempotent
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    CanApprove,
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
    _detail,
    _errors,
    _page,
    _query,
)
from deletions.forms.gdpr import OnBehalfForm, ScopeForm
from deletions.gdpr import controller, intake, no_data
from deletions.gdpr import deadlines as gdpr
from deletions.models import DeletionRequest, ErasureIntake, Source
from deletions.requests.submission import MAX_REASON_LENGTH


class SubjectRunIdsField(s.RunIdsField):
    """Parse-run ids, none of them empty (as the schema says); an empty list or none at all
    means every run that carries the subject's reference."""

    def to_internal_value(self, data: Any) -> list[str]:
        ids = super().to_internal_value(data)
        if not all(ids):
            raise serializers.ValidationError("A parse-run id cannot be empty.")
        return ids


def _run_ids_field() -> SubjectRunIdsField:
    return SubjectRunIdsField(
        required=False,
        help_text="Parse-run ids; empty or absent: every run whose metadata carries the "
        "subject's reference (GDPR_SUBJECT_METADATA_KEY).",
    )


class IntakeSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    customer_name = Text(source="customer.name")
    status = serializers.ChoiceField(choices=ErasureIntake.Status.choices)
    email_hint = Text(help_text="The data subject's address, masked.")
    subject_ref_hint = Text(help_text="Their reference, masked.")
    received_on = serializers.DateField()
    due_on = serializers.SerializerMethodField(help_text="One month from receipt (Art. 12(3)).")
    created_at = serializers.DateTimeField()
    verified_at = serializers.DateTimeField(allow_null=True)
    closed_at = serializers.DateTimeField(allow_null=True)
    staff_note = Text()
    decided_at = serializers.DateTimeField(
        allow_null=True, help_text="When the customer confirmed or refused the person."
    )
    decided_on_behalf = serializers.BooleanField(
        help_text="Confirmed by staff on the customer's behalf."
    )
    decision_reason = Text()
    wants_recipients = serializers.BooleanField(
        help_text="The person asked to be told who their data was disclosed to (Art. 19)."
    )
    request = serializers.IntegerField(source="request_id", allow_null=True)

    @extend_schema_field(serializers.DateField())
    def get_due_on(self, item: ErasureIntake) -> date:
        return gdpr.due_date(item.received_on)


IntakePageSerializer = page_of(IntakeSerializer)


class IntakeQuerySerializer(s.PageQuerySerializer):
    show = serializers.ChoiceField(
        choices=list(intake.LIST_FILTERS),
        required=False,
        help_text="confirmed (default): confirmed by the customer, to handle; verified: "
        "awaiting the customer's confirmation; awaiting: not yet verified; closed.",
    )


class FreezeSerializer(serializers.Serializer[Any]):
    run_ids = _run_ids_field()
    reason = Text(max_length=MAX_REASON_LENGTH)


class DismissSerializer(serializers.Serializer[Any]):
    note = Text(
        max_length=2000,
        required=False,
        allow_blank=True,
        help_text="Why it is dismissed; audited. Required unless no_data.",
    )
    no_data = serializers.BooleanField(
        required=False,
        default=False,
        help_text="Close it as 'no data found': refused (403) while any of the customer's runs "
        "carries the reference; the data subject is told by e-mail.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("no_data") and not (attrs.get("note") or "").strip():
            raise serializers.ValidationError({"note": ["Say why the intake is dismissed."]})
        return attrs


class OnBehalfSerializer(serializers.Serializer[Any]):
    customer = Whole(min_value=1, max_value=s.PK_MAX)
    reference = Text(max_length=200, help_text="Stored only as a keyed hash and a masked hint.")
    run_ids = _run_ids_field()
    received_on = serializers.DateField(help_text="Day one of the one-month deadline.")
    reason = Text(max_length=MAX_REASON_LENGTH)


class SampleRunSerializer(serializers.Serializer[Any]):
    run_id = Text()
    file_name = Text()
    file_id = Text(help_text="Extend's id of the run's uploaded file; empty if unknown.")
    workspace = serializers.IntegerField(source="workspace_id")


class PreviewSerializer(serializers.Serializer[Any]):
    count = serializers.IntegerField(help_text="Runs the request would take.")
    busy = serializers.IntegerField(help_text="Matching runs already in another open request.")
    sample = SampleRunSerializer(many=True)


def _intakes() -> QuerySet[ErasureIntake]:
    return ErasureIntake.objects.select_related("customer")


def _scope(data: dict[str, Any]) -> dict[str, Any]:
    """The console's scope form's data: the ids as its text field takes them."""
    return {"run_ids": "\n".join(data.get("run_ids") or []), "reason": data["reason"]}


def _preview(customer: Any, reference: str, run_ids: list[str]) -> Response:
    found = intake.preview(customer, intake.selection_for(reference, run_ids))
    return Response(PreviewSerializer(found).data)


def _created(req: DeletionRequest) -> Response:
    return _detail(req, http_status=status.HTTP_201_CREATED)


# --- Intakes ---


class IntakeList(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="list_intakes",
        summary="GDPR erasure intakes from the public form (staff), oldest first",
        parameters=[IntakeQuerySerializer],
        responses={200: IntakePageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, IntakeQuerySerializer)
        statuses = intake.LIST_FILTERS[params.get("show", "confirmed")][1]
        rows = _intakes().filter(status__in=statuses)
        return _page(request, rows, params, IntakeSerializer, field="id", descending=False)


class IntakeDetail(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="get_intake",
        summary="A GDPR erasure intake (staff)",
        responses={200: IntakeSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(_intakes(), pk=pk)
        controller.record_view(item, actor=request.user, source=Source.API)
        return Response(IntakeSerializer(item).data)


class IntakePreview(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="preview_intake",
        summary="What freezing an intake would take (staff approvers and admins)",
        description="Changes nothing: how many of the customer's runs the subject's reference "
        "(or the given ids) selects, with a sample. The body of freeze_intake.",
        request=FreezeSerializer,
        responses={200: PreviewSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(_intakes(), pk=pk)
        data = checked_body(request, FreezeSerializer)
        values = form_values(ScopeForm(_scope(data)))
        return _preview(item.customer, intake.intake_reference(item), values["run_ids"])


class IntakeFreeze(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="freeze_intake",
        summary="Turn a confirmed intake into a GDPR request (staff approvers and admins)",
        description="The subject's runs (or the given ids) are frozen into a request with the "
        "intake's date received; you become its requester, so another approver must approve "
        "it. The intake is closed as converted.",
        request=FreezeSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.RequestSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(_intakes(), pk=pk)

        def work() -> Response:
            data = checked_body(request, FreezeSerializer)
            values = form_values(ScopeForm(_scope(data)))
            req = intake.freeze_intake(
                item,
                run_ids=values["run_ids"],
                reason=values["reason"],
                actor=request.user,
                source=Source.API,
            )
            return _created(req)

        return idempotent(request, work)


class IntakeDismiss(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="dismiss_intake",
        summary="Dismiss an open intake, saying why (staff approvers and admins)",
        description="Its clear values are erased; a closed intake is a 409. With no_data, the "
        "portal checks that no run of the customer carries the reference, closes it as 'no data "
        "found' and tells the data subject by e-mail (recorded as subject.notified).",
        request=DismissSerializer,
        responses={200: IntakeSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(_intakes(), pk=pk)
        data = checked_body(request, DismissSerializer)
        if data.get("no_data"):
            no_data.close_no_data(
                item, note=data.get("note", ""), actor=request.user, source=Source.API
            )
        else:
            intake.dismiss_intake(
                item, note=data.get("note", ""), actor=request.user, source=Source.API
            )
        return Response(IntakeSerializer(get_object_or_404(_intakes(), pk=pk)).data)


# --- Filing on a data subject's behalf ---


def _on_behalf(data: dict[str, Any]) -> dict[str, Any]:
    """The console's form checks the customer (active), the date and the ids."""
    fields = {**data, **_scope(data)}
    return form_values(OnBehalfForm(form_data(fields)))


class OnBehalfPreview(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="preview_gdpr_request",
        summary="What a GDPR request filed for a data subject would take (approvers, admins)",
        description="Changes nothing. The body of file_gdpr_request.",
        request=OnBehalfSerializer,
        responses={200: PreviewSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        data = checked_body(request, OnBehalfSerializer)
        values = _on_behalf(data)
        return _preview(values["customer"], values["reference"], values["run_ids"])


class OnBehalf(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="file_gdpr_request",
        summary="File a GDPR erasure request for a data subject who asked staff directly",
        description="Staff approvers and admins. The subject's runs (those whose metadata "
        "carries the reference, or the given ids) are frozen into a request due one month "
        "after the date received; you become its requester, so another approver must "
        "approve it.",
        request=OnBehalfSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: s.RequestSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, OnBehalfSerializer)
            values = _on_behalf(data)
            req = intake.file_on_behalf(
                values["customer"],
                reference=values["reference"],
                received_on=values["received_on"],
                run_ids=values["run_ids"],
                reason=values["reason"],
                actor=request.user,
                source=Source.API,
            )
            return _created(req)

        return idempotent(request, work)
