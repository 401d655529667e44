"""Exempting parse runs from their customer's retention policies over the API.

The rules of :mod:`deletions.policies.exemptions` (who may exempt: those who manage the
customer's policies), with ``source=Source.API``. A customer token sees and exempts its own
customer's runs only; another customer's exemption is a 404, another customer's run id is
unknown (422), as if it did not exist.
"""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api import policy_serializers as ps
from deletions.api.auth import IsCustomerOrStaff, IsStaff, api_membership
from deletions.api.base import OBJECT_ERRORS, READ_ERRORS, ApiView, _errors
from deletions.api.base import _page as page
from deletions.api.base import _query as query
from deletions.api.idempotency import idempotent
from deletions.api.retention_policies import MayManagePolicies, customer_for
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    checked_body,
    person,
    unknown,
    unprocessable,
)
from deletions.models import ParseRun, RetentionExemption, RetentionPolicy, Source
from deletions.policies import exemptions


def visible_exemptions(request: Request) -> QuerySet[RetentionExemption]:
    """The token's customer's exemptions, or every one for staff."""
    rows = RetentionExemption.objects.select_related("parse_run", "created_by")
    membership = api_membership(request)
    if membership is not None:
        return rows.filter(customer_id=membership.customer_id)
    if IsStaff().has_permission(request, None):  # type: ignore[arg-type]
        return rows
    raise Http404


def _created(exemption: RetentionExemption, *, outcome: str) -> Response:
    body = dict(ps.ExemptionSerializer(exemption).data) | {"outcome": outcome}
    return Response(body, status=status.HTTP_201_CREATED)


class ExemptionList(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [MayManagePolicies()] if self.request.method == "POST" else [IsCustomerOrStaff()]

    @extend_schema(
        operation_id="list_retention_exemptions",
        summary="List runs exempted from retention policies, newest first",
        description="A customer token sees its customer's exemptions; staff every customer's, "
        "optionally one customer's (customer).",
        parameters=[ps.CustomerQuerySerializer],
        responses={200: ps.ExemptionPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = query(request, ps.CustomerQuerySerializer)
        rows = visible_exemptions(request)
        if params.get("customer"):
            rows = rows.filter(customer_id=params["customer"])
        return page(
            request, rows, params, ps.ExemptionSerializer, field="created_at", descending=True
        )

    @extend_schema(
        operation_id="create_retention_exemption",
        summary="Exempt a run from every retention policy of its customer (customer admins, "
        "staff approvers and admins)",
        description="Recorded with who and why; it lasts until removed. A run already taken "
        "into a retention request is taken out of it while nothing was sent for it (outcome "
        "says what happened). A run that is not the customer's, or already deleted or "
        "exempted, is a 422.",
        request=ps.ExemptionCreateSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: ps.ExemptionCreatedSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, ps.ExemptionCreateSerializer)
            customer = customer_for(request, data.get("customer"))
            runs = list(
                ParseRun.objects.select_related("customer").filter(
                    customer=customer, run_id=data["run_id"]
                )[:2]
            )
            if not runs:
                raise unprocessable("run_id", f"{customer.name} has no parse run {data['run_id']}.")
            if len(runs) > 1:
                raise unprocessable(
                    "run_id", f"Parse run {data['run_id']} is in more than one workspace."
                )
            policy = None
            if data.get("policy") is not None:
                policy = RetentionPolicy.objects.filter(
                    pk=data["policy"], customer=customer
                ).first()
                if policy is None:
                    raise unknown("policy", f"retention policy of {customer.name}", data["policy"])
            exemption, outcome = exemptions.exempt_run(
                runs[0],
                actor=person(request),
                source=Source.API,
                reason=data["reason"],
                policy=policy,
            )
            return _created(exemption, outcome=outcome)

        return idempotent(request, work)


class ExemptionDetail(ApiView):
    permission_classes = [MayManagePolicies]

    @extend_schema(
        operation_id="delete_retention_exemption",
        summary="Remove an exemption (customer admins, staff approvers and admins)",
        description="The run is subject to its customer's policies again from their next "
        "evaluation. Audited with what the exemption said.",
        responses={
            204: OpenApiResponse(description="Removed."),
            **_errors(*OBJECT_ERRORS),
        },
    )
    def delete(self, request: Request, pk: int) -> Response:
        exemption = get_object_or_404(visible_exemptions(request).select_related("customer"), pk=pk)
        exemptions.remove_exemption(exemption, actor=person(request), source=Source.API)
        return Response(status=status.HTTP_204_NO_CONTENT)
