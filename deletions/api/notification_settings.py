"""Staff endpoints for the customers' notification URLs and the delivery log.

The console's rules (``console_notifications``): every staff role reads both, console admins set
a URL, through :func:`deletions.notifications.signed_posts.set_endpoint` (the outbound URL policy,
a new signing secret, audited). The new secret is in that answer only: it is kept encrypted and
never shown again, so no Idempotency-Key is taken there (a replay would have to keep it).
"""

from __future__ import annotations

from typing import Any

from django.views.decorators.debug import sensitive_variables
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api.auth import IsStaff
from deletions.api.pages import EndpointForm
from deletions.api.serializers import PK_MAX, PageQuerySerializer
from deletions.api.staff_base import (
    WRITE_ERRORS,
    CanAdminister,
    Flag,
    Text,
    Whole,
    checked_body,
    form_data,
    form_values,
    page_of,
    person,
)
from deletions.api.views import READ_ERRORS, ApiView, _errors, _page, _query
from deletions.models import NotificationDelivery, NotificationEndpoint, Source
from deletions.notifications import signed_posts as notifications


class EndpointSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    customer_name = Text(source="customer.name")
    url = Text()
    is_active = Flag()
    created_at = serializers.DateTimeField()


class NewEndpointSerializer(EndpointSerializer):
    signing_secret = Text(
        help_text="Signs every notification (X-Portal-Signature): shown this once, never again."
    )


EndpointPageSerializer = page_of(EndpointSerializer)


class EndpointSetSerializer(serializers.Serializer[Any]):
    customer = Whole(min_value=1, max_value=PK_MAX)
    url = Text(
        max_length=500,
        help_text="https, at a public address (the outbound URL policy). Setting it again "
        "rotates the signing secret.",
    )


class DeliverySerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="endpoint.customer_id")
    request = serializers.IntegerField(source="request_id", allow_null=True)
    event = Text()
    status = serializers.ChoiceField(choices=NotificationDelivery.Status.choices)
    attempts = serializers.IntegerField()
    last_status_code = serializers.IntegerField(allow_null=True)
    last_error = Text(help_text="The kind of failure; never the answer's body.")
    created_at = serializers.DateTimeField()
    delivered_at = serializers.DateTimeField(allow_null=True)
    next_attempt_at = serializers.DateTimeField(allow_null=True)


DeliveryPageSerializer = page_of(DeliverySerializer)


class DeliveryQuerySerializer(PageQuerySerializer):
    customer = serializers.IntegerField(required=False, min_value=1, max_value=PK_MAX)


class Endpoints(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [CanAdminister()] if self.request.method == "POST" else [IsStaff()]

    @extend_schema(
        operation_id="list_notification_endpoints",
        summary="The customers' notification URLs (staff), by id",
        parameters=[PageQuerySerializer],
        responses={200: EndpointPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, PageQuerySerializer)
        rows = NotificationEndpoint.objects.select_related("customer")
        return _page(request, rows, params, EndpointSerializer, field="id", descending=False)

    @extend_schema(
        operation_id="set_notification_endpoint",
        summary="Set or change a customer's notification URL (staff admins)",
        description="A new signing secret is made each time and is in this answer only. The "
        "URL must pass the outbound URL policy. Audited (the URL's host, never the secret).",
        request=EndpointSetSerializer,
        responses={200: NewEndpointSerializer, **_errors(*WRITE_ERRORS)},
    )
    @sensitive_variables("secret", "body")
    def post(self, request: Request) -> Response:
        data = checked_body(request, EndpointSetSerializer)
        values = form_values(EndpointForm(form_data(data)))
        endpoint, secret = notifications.set_endpoint(
            values["customer"], values["url"], actor=person(request), source=Source.API
        )
        endpoint = NotificationEndpoint.objects.select_related("customer").get(pk=endpoint.pk)
        body = dict(EndpointSerializer(endpoint).data)
        body["signing_secret"] = secret
        return Response(body)


class Deliveries(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="list_notification_deliveries",
        summary="The notification delivery log (staff), newest first",
        parameters=[DeliveryQuerySerializer],
        responses={200: DeliveryPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, DeliveryQuerySerializer)
        rows = NotificationDelivery.objects.select_related("endpoint")
        if params.get("customer"):
            rows = rows.filter(endpoint__customer_id=params["customer"])
        return _page(request, rows, params, DeliverySerializer, field="id", descending=True)
