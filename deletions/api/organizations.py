"""Staff endpoints for Extend organisations, whose rate limits their workspaces share.

The console's rules (``console_organizations``): every staff role reads, admins create and
edit, through the console's form and :mod:`deletions.workspaces.organizations` (audited).
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response

from deletions.api.auth import IsStaff
from deletions.api.idempotency import idempotent
from deletions.api.serializers import PageQuerySerializer
from deletions.api.staff_base import (
    IDEMPOTENCY_PARAMETER,
    WRITE_ERRORS,
    CanAdminister,
    Text,
    Whole,
    checked_body,
    checked_values,
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
from deletions.forms.console import OrganizationForm
from deletions.models import Organization, Source
from deletions.workspaces import organizations

RATE_MAX = 2_147_483_647


class OrganizationSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = Text()
    extend_organization_id = Text()
    write_rate_limit = serializers.IntegerField(help_text="DELETEs per second, shared.")
    get_rate_limit = serializers.IntegerField(help_text="GETs per second, shared.")
    workspaces = serializers.SerializerMethodField(help_text="The ids of its workspaces.")

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_workspaces(self, org: Organization) -> list[int]:
        return [ws.pk for ws in org.workspaces.all()]


OrganizationPageSerializer = page_of(OrganizationSerializer)


class OrganizationWriteSerializer(serializers.Serializer[Any]):
    """An organisation's settings; on an edit, only those given change."""

    name = Text(max_length=100)
    extend_organization_id = Text(
        max_length=255,
        required=False,
        allow_blank=True,
        help_text="Optional (org_...); unique when given.",
    )
    write_rate_limit = Whole(min_value=1, max_value=RATE_MAX, required=False)
    get_rate_limit = Whole(min_value=1, max_value=RATE_MAX, required=False)


def _response(org: Organization, http_status: int = status.HTTP_200_OK) -> Response:
    org = Organization.objects.prefetch_related("workspaces").get(pk=org.pk)
    return Response(OrganizationSerializer(org).data, status=http_status)


class OrganizationList(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [CanAdminister()] if self.request.method == "POST" else [IsStaff()]

    @extend_schema(
        operation_id="list_organizations",
        summary="List Extend organisations (staff), by id",
        parameters=[PageQuerySerializer],
        responses={200: OrganizationPageSerializer, **_errors(*READ_ERRORS)},
    )
    def get(self, request: Request) -> Response:
        params = _query(request, PageQuerySerializer)
        rows = Organization.objects.prefetch_related("workspaces")
        return _page(request, rows, params, OrganizationSerializer, field="id", descending=False)

    @extend_schema(
        operation_id="create_organization",
        summary="Create an Extend organisation (staff admins)",
        description="Choose it in its workspaces' settings (update_workspace, organization).",
        request=OrganizationWriteSerializer,
        parameters=[IDEMPOTENCY_PARAMETER],
        responses={201: OrganizationSerializer, **_errors(*WRITE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        def work() -> Response:
            data = checked_body(request, OrganizationWriteSerializer)
            values = checked_values(OrganizationForm, organizations.FIELDS, None, data)
            org = organizations.create_organization(values, actor=request.user, source=Source.API)
            return _response(org, status.HTTP_201_CREATED)

        return idempotent(request, work)


class OrganizationDetail(ApiView):
    def get_permissions(self) -> list[BasePermission]:
        return [CanAdminister()] if self.request.method == "PATCH" else [IsStaff()]

    @extend_schema(
        operation_id="get_organization",
        summary="An Extend organisation and its workspaces (staff)",
        responses={200: OrganizationSerializer, **_errors(*OBJECT_ERRORS)},
    )
    def get(self, request: Request, pk: int) -> Response:
        return _response(get_object_or_404(Organization, pk=pk))

    @extend_schema(
        operation_id="update_organization",
        summary="Change an Extend organisation's name, id or shared limits (staff admins)",
        request=OrganizationWriteSerializer(partial=True),
        responses={200: OrganizationSerializer, **_errors(*WRITE_ERRORS)},
    )
    def patch(self, request: Request, pk: int) -> Response:
        org = get_object_or_404(Organization, pk=pk)
        data = checked_body(request, OrganizationWriteSerializer, partial=True)
        values = checked_values(OrganizationForm, organizations.FIELDS, org, data)
        organizations.update_organization(
            get_object_or_404(Organization, pk=pk), values, actor=request.user, source=Source.API
        )
        return _response(org)
