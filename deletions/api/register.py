"""GET /api/v1/gdpr/register: the register of erasure requests (staff), as the console's page
and exports give it (:mod:`deletions.gdpr.register`): every GDPR erasure request received in a
period and of one customer if asked, oldest received first, one keyset page at a time.

Every staff role reads it, as it reads GDPR requests in the queue (operator service accounts
included). Each page is recorded in the audit trail as a read of the register.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api import serializers as s
from deletions.api.auth import IsStaff
from deletions.api.staff_base import page_of, person, unknown, unprocessable
from deletions.api.views import READ_ERRORS, ApiView, _errors, _page, _query
from deletions.gdpr import register
from deletions.models import Customer, DeletionRequest, Source
from deletions.requests.grounds import RefusalGround


class RegisterQuerySerializer(s.PageQuerySerializer):
    received_from = serializers.DateField(
        required=False, help_text="Requests received on or after this day."
    )
    received_to = serializers.DateField(
        required=False, help_text="Requests received on or before this day."
    )
    customer = s.StrictIntegerField(
        required=False, min_value=1, max_value=s.PK_MAX, help_text="One customer's requests."
    )


class RegisterEntrySerializer(serializers.Serializer[Any]):
    """One GDPR erasure request in the register: the console's CSV and JSON rows, field for
    field."""

    request_id = serializers.IntegerField()
    customer = serializers.CharField(help_text="The customer's name.")
    customer_ref = serializers.CharField(help_text="The customer's external reference.")
    received_on = serializers.DateField(allow_null=True, help_text="Day one of the deadline.")
    due_on = serializers.DateField(
        allow_null=True, help_text="One month from receipt, moved by the days paused."
    )
    extended_due_on = serializers.DateField(
        allow_null=True, help_text="The due date after an Art. 12(3) extension."
    )
    extension_reason = serializers.CharField(help_text="Why it was extended; empty if it was not.")
    paused_days = serializers.IntegerField(
        help_text="Days the deadline was paused in total, an ongoing pause counted to today."
    )
    paused_since = serializers.DateField(
        allow_null=True, help_text="While the deadline is paused: since when."
    )
    status = serializers.ChoiceField(choices=DeletionRequest.Status.choices)
    outcome = serializers.ChoiceField(
        choices=list(register.OUTCOMES.items()),
        help_text="open, erased, partly_erased (runs retained or failed), refused, cancelled, "
        "expired.",
    )
    finished_on = serializers.DateField(allow_null=True)
    ground = serializers.ChoiceField(
        choices=RefusalGround.choices,
        allow_blank=True,
        help_text="A refused request's ground (Art. 17(3)(a)-(e), or identity not verified).",
    )
    ground_label = serializers.CharField(help_text="The ground in words; empty without one.")
    runs_total = serializers.IntegerField()
    runs_erased = serializers.IntegerField(help_text="Runs Extend confirmed deleted.")
    runs_already_gone = serializers.IntegerField(help_text="Runs Extend no longer had.")
    runs_retained = serializers.IntegerField(help_text="Runs retained for legal reasons.")
    runs_failed = serializers.IntegerField()
    certificate_id = serializers.IntegerField(
        allow_null=True, help_text="The latest certificate of erasure, if one was issued."
    )
    certificate_version = serializers.IntegerField(allow_null=True)

    def to_representation(self, instance: DeletionRequest) -> dict[str, Any]:
        # The register's own row: the API, the CSV and the JSON export cannot disagree.
        return register.entry(instance)


RegisterPageSerializer = page_of(RegisterEntrySerializer)


class Register(ApiView):
    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="list_gdpr_register",
        summary="The register of GDPR erasure requests (staff), oldest received first",
        description="Every GDPR erasure request received in the period (both days included) "
        "and of the customer asked for: deadline, extension, pauses, outcome, the ground of a "
        "refusal, runs erased and the certificate. Standard requests are not in it. Each call "
        "is recorded in the audit trail as a read of the register.",
        parameters=[RegisterQuerySerializer],
        responses={200: RegisterPageSerializer, **_errors(*READ_ERRORS, 422)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, RegisterQuerySerializer)
        filters = register.Filters(
            received_from=params.get("received_from"),
            received_to=params.get("received_to"),
            customer=_customer(params.get("customer")),
        )
        start, end = filters.received_from, filters.received_to
        if start and end and start > end:
            raise unprocessable("received_to", "The period ends before it starts.")
        register.record_export(
            filters,
            fmt="api",
            actor=person(request),
            source=Source.API,
            page="next" if params.get("cursor") else "first",
        )
        return _page(
            request,
            register.requests(filters),
            params,
            RegisterEntrySerializer,
            field="received_on",
            descending=False,
        )


def _customer(pk: int | None) -> Customer | None:
    # Well-formed but naming no customer: a 422 rather than an empty register that looks true.
    if pk is None:
        return None
    found = Customer.objects.filter(pk=pk).first()
    if found is None:
        raise unknown("customer", "customer", pk)
    return found
