"""Art. 19 recipients over the API, with the console's rules: admins keep each customer's list
(``customers/{id}/recipients``, ``recipients/{id}/remove``); staff read a GDPR request's
recipients and whether each was informed (``requests/{id}/recipients``), approvers record that
one was (``requests/{id}/recipients/informed``). Extend, the processor, is always the first of a
request's recipients and is no row of a customer's list. Every change is audited with source
``api`` (deletions.gdpr.recipients).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api import serializers as s
from deletions.api.auth import IsStaff
from deletions.api.staff_base import (
    WRITE_ERRORS,
    CanAdminister,
    CanApprove,
    Text,
    Whole,
    checked_body,
    form_data,
    form_values,
)
from deletions.api.views import OBJECT_ERRORS, ApiView, _errors, load_request
from deletions.core.errors import RuleViolation
from deletions.forms.controller import InformedForm, RecipientForm
from deletions.gdpr import recipients
from deletions.models import Customer, Recipient, Source


class RecipientSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    name = Text()
    contact = Text()
    means = Text(help_text="How they are informed of an erasure.")
    created_at = serializers.DateTimeField()


class RecipientListSerializer(serializers.Serializer[Any]):
    processor = Text(
        help_text="Extend, the processor: always a recipient, informed by the "
        "erasure itself; not in results."
    )
    results = RecipientSerializer(many=True)


class RecipientWriteSerializer(serializers.Serializer[Any]):
    name = Text(max_length=200)
    contact = Text(max_length=254, help_text="Who to write to there.")
    means = Text(max_length=200, help_text='e.g. an e-mail address, or "contract portal".')


class InformedSerializer(serializers.Serializer[Any]):
    recipient = Whole(min_value=1, max_value=s.PK_MAX, help_text="The recipient's id.")
    informed_on = serializers.DateField(help_text="Not in the future.")
    means = Text(max_length=200, help_text="How they were informed.")


class RequestRecipientSerializer(serializers.Serializer[Any]):
    recipient = serializers.IntegerField(
        source="recipient.pk", allow_null=True, help_text="None for Extend or a removed one."
    )
    name = Text()
    processor = serializers.BooleanField(help_text="Extend, the processor.")
    informed_on = serializers.DateField(allow_null=True)
    informed_means = Text()


class RequestRecipientsSerializer(serializers.Serializer[Any]):
    subject_wants_recipients = serializers.BooleanField(
        help_text="The data subject asked on the public form to be told who they are."
    )
    can_mark_informed = serializers.BooleanField(
        help_text="A finished GDPR erasure: recipients may be marked informed."
    )
    results = RequestRecipientSerializer(many=True)


def _list(customer: Customer) -> Response:
    body = {
        "processor": recipients.PROCESSOR_NAME,
        "results": list(recipients.customer_recipients(customer)),
    }
    return Response(RecipientListSerializer(body).data)


class CustomerRecipients(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="list_recipients",
        summary="The recipients a customer's data was disclosed to (staff admins)",
        responses={200: RecipientListSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _list(get_object_or_404(Customer, pk=pk))

    @extend_schema(
        operation_id="create_recipient",
        summary="Add a recipient of a customer's data (staff admins)",
        description="Audited. A name the customer already has is a 403; Extend needs no row.",
        request=RecipientWriteSerializer,
        responses={201: RecipientSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        customer = get_object_or_404(Customer, pk=pk)
        data = checked_body(request, RecipientWriteSerializer)
        values = form_values(RecipientForm(form_data(data)))
        recipient = recipients.add_recipient(
            customer, **values, actor=request.user, source=Source.API
        )
        return Response(RecipientSerializer(recipient).data, status=status.HTTP_201_CREATED)


class RecipientRemove(ApiView):
    permission_classes = [CanAdminister]

    @extend_schema(
        operation_id="delete_recipient",
        summary="Remove a recipient from its customer's list (staff admins)",
        description="Audited; the records of erasures it was informed of keep its name. "
        "Answers with the customer's list.",
        request=None,
        responses={200: RecipientListSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        recipient = get_object_or_404(Recipient.objects.select_related("customer"), pk=pk)
        customer = recipient.customer
        recipients.remove_recipient(recipient, actor=request.user, source=Source.API)
        return _list(customer)


def _request_recipients(req: Any) -> Response:
    body = {
        "subject_wants_recipients": req.subject_wants_recipients,
        "can_mark_informed": recipients.can_record_informed(req),
        "results": recipients.for_request(req),
    }
    return Response(RequestRecipientsSerializer(body).data)


class RequestRecipients(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="list_request_recipients",
        summary="A GDPR request's recipients and whether each was informed (staff)",
        responses={200: RequestRecipientsSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _request_recipients(load_request(request, pk))


class RequestRecipientInformed(ApiView):
    permission_classes = [CanApprove]

    @extend_schema(
        operation_id="mark_recipient_informed",
        summary="Record that a recipient was informed of a finished GDPR erasure (approvers)",
        description="With the date and the means; recording it again corrects them. Audited. "
        "A request that is not a finished GDPR erasure is a 403.",
        request=InformedSerializer,
        responses={200: RequestRecipientsSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request, pk: int) -> Response:
        req = load_request(request, pk)
        data = checked_body(request, InformedSerializer)
        values = form_values(InformedForm(form_data(data)))
        recipient = Recipient.objects.filter(
            pk=values["recipient"], customer_id=req.customer_id
        ).first()
        if recipient is None:
            raise RuleViolation("This recipient is not one of the request's customer's.")
        informed_on: date = values["informed_on"]
        recipients.mark_informed(
            req,
            recipient,
            informed_on=informed_on,
            means=values["means"],
            actor=request.user,
            source=Source.API,
        )
        req.refresh_from_db()
        return _request_recipients(req)
