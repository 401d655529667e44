"""The controller's confirmation of public intakes over the API, with the pages' rules.

- ``GET gdpr/confirmations``: a customer admin's intakes awaiting confirmation, with the
  subject's clear reference and address (each one listed is recorded as a read).
- ``POST gdpr/intakes/{id}/confirm``: a customer admin of the intake's customer, or a staff
  approver on its behalf; a reason either way.
- ``POST gdpr/intakes/{id}/refuse``: a customer admin only (staff dismiss instead); the intake
  ends and the subject is told by e-mail.
- ``POST gdpr/intakes/{id}/reveal``: a staff approver sees the clear values after stating a
  purpose (recorded as a read).

Another customer's intake is a 404, as on the pages.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api.auth import api_membership
from deletions.api.gdpr import IntakeSerializer
from deletions.api.staff_base import (
    WRITE_ERRORS,
    CanApprove,
    IsCustomerAdminPerson,
    Text,
    checked_body,
    form_data,
    form_values,
)
from deletions.api.views import READ_ERRORS, ApiView, _errors
from deletions.forms.controller import ConfirmForm, OnBehalfConfirmForm, RefuseForm, RevealForm
from deletions.gdpr import controller
from deletions.gdpr import deadlines as gdpr
from deletions.models import ErasureIntake, Source

SHOWN = 100


class DecisionSerializer(serializers.Serializer[Any]):
    reason = Text(
        max_length=controller.MAX_REASON_LENGTH,
        help_text="Confirming: how the customer checked the person (a customer admin) or why "
        "staff confirm on its behalf. Refusing: why the person cannot be confirmed (audited; "
        "the person is told only that they could not be confirmed).",
    )


class RevealSerializer(serializers.Serializer[Any]):
    purpose = Text(
        max_length=controller.MAX_REASON_LENGTH,
        help_text="Why you need the clear values; recorded with the read.",
    )


class ClearValuesSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = Text(help_text="The data subject's reference, in clear.")
    email = Text(help_text="The address they verified, in clear.")


class ConfirmationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    reference = Text(help_text="The data subject's reference, in clear.")
    email = Text(help_text="The address they verified, in clear.")
    received_on = serializers.DateField()
    due_on = serializers.DateField(help_text="One month from receipt (Art. 12(3)).")
    verified_at = serializers.DateTimeField(allow_null=True)
    wants_recipients = serializers.BooleanField(
        help_text="The person asked to be told who their data was disclosed to (Art. 19)."
    )


class ConfirmationListSerializer(serializers.Serializer[Any]):
    results = ConfirmationSerializer(many=True)


def _intakes_for(request: Request) -> QuerySet[ErasureIntake]:
    """Every intake for staff; the token's customer's only for a customer admin."""
    rows = ErasureIntake.objects.select_related("customer")
    membership = api_membership(request)
    if membership is not None:
        rows = rows.filter(customer_id=membership.customer_id)
    return rows


def _answer(pk: int) -> Response:
    item = get_object_or_404(ErasureIntake.objects.select_related("customer"), pk=pk)
    return Response(IntakeSerializer(item).data)


class Confirmations(ApiView):
    permission_classes = [IsCustomerAdminPerson]

    @extend_schema(
        operation_id="list_intakes_to_confirm",
        summary="Erasure requests awaiting your confirmation (customer admins)",
        description="The intakes of your customer whose e-mail the person verified, oldest "
        f"first (at most {SHOWN}), with the reference and address in clear: check them "
        "against your records, then confirm_intake or refuse_intake. Each intake listed is "
        "recorded in the audit trail as read by you.",
        responses={200: ConfirmationListSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        membership = api_membership(request)
        assert membership is not None  # the permission says so
        rows = []
        for item in controller.awaiting_confirmation(membership.customer_id)[:SHOWN]:
            clear = controller.show_to_customer_admin(item, actor=request.user, source=Source.API)
            rows.append(
                {
                    "id": item.pk,
                    "reference": clear.reference,
                    "email": clear.email,
                    "received_on": item.received_on,
                    "due_on": gdpr.due_date(item.received_on),
                    "verified_at": item.verified_at,
                    "wants_recipients": item.wants_recipients,
                }
            )
        return Response(ConfirmationListSerializer({"results": rows}).data)


class IntakeConfirm(ApiView):
    permission_classes = [CanApprove | IsCustomerAdminPerson]

    @extend_schema(
        operation_id="confirm_intake",
        summary="Confirm that an intake's person is the customer's data subject",
        description="A customer admin of the intake's customer, or a staff approver on the "
        "customer's behalf (the reason says why). Only an intake awaiting confirmation (409 "
        "otherwise); a confirmed intake may then be frozen into a request (freeze_intake).",
        request=DecisionSerializer,
        responses={200: IntakeSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(_intakes_for(request), pk=pk)
        data = checked_body(request, DecisionSerializer)
        form = ConfirmForm if api_membership(request) is not None else OnBehalfConfirmForm
        values = form_values(form(form_data(data)))
        controller.confirm_intake(
            item, reason=values["reason"], actor=request.user, source=Source.API
        )
        return _answer(pk)


class IntakeRefuse(ApiView):
    permission_classes = [IsCustomerAdminPerson]

    @extend_schema(
        operation_id="refuse_intake",
        summary="Refuse an intake: the person is not the customer's data subject (customer admins)",
        description="The intake ends as refused, its reference and address are erased, and "
        "the person is told by e-mail that the company could not confirm them. Staff dismiss "
        "an intake instead (dismiss_intake).",
        request=DecisionSerializer,
        responses={200: IntakeSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(_intakes_for(request), pk=pk)
        data = checked_body(request, DecisionSerializer)
        values = form_values(RefuseForm(form_data(data)))
        controller.refuse_intake(
            item, reason=values["reason"], actor=request.user, source=Source.API
        )
        return _answer(pk)


class IntakeReveal(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="reveal_intake",
        summary="An intake's clear reference and address, for a stated purpose (approvers)",
        description="Recorded in the audit trail as a read with your purpose. 403 once the "
        "intake no longer holds them (closed).",
        request=RevealSerializer,
        responses={200: ClearValuesSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        item = get_object_or_404(_intakes_for(request), pk=pk)
        data = checked_body(request, RevealSerializer)
        values = form_values(RevealForm(form_data(data)))
        clear = controller.reveal_to_staff(
            item, purpose=values["purpose"], actor=request.user, source=Source.API
        )
        return Response(
            ClearValuesSerializer(
                {"id": item.pk, "reference": clear.reference, "email": clear.email}
            ).data
        )
