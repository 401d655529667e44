"""What every API endpoint shares: the base view, the error responses the schema lists, query
parameters checked by a serializer, keyset pages, and loading a request through the same
ownership helper as the pages (another customer's request is a 404)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, cast

from django.conf import settings
from django.db.models import QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import (
    OpenApiResponse,
)
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from deletions.api import serializers as s
from deletions.api.auth import (
    IsStaff,
    api_membership,
)
from deletions.api.errors import ApiError, PayloadTooLarge
from deletions.core.request_limits import declared_length
from deletions.models import DeletionRequest
from deletions.views.customer import CustomerRequest, get_request_for_user, keyset_page

# --- Parse runs ---

DEFAULT_PAGE_SIZE = 50


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    descriptions = {
        400: "The request is not valid.",
        401: "No valid token was given.",
        403: "The token may not do this (staff actions need a staff member's own token, "
        "never a service account's).",
        404: "No such object, or not yours.",
        409: "The object's state does not allow this.",
        413: "The request is too large.",
        415: "The body is not JSON.",
        422: "The request cannot be carried out as asked.",
        429: "Too many requests; see Retry-After.",
    }
    return {
        code: OpenApiResponse(s.ErrorSerializer, description=descriptions[code]) for code in codes
    }


READ_ERRORS = (400, 401, 403, 429)
OBJECT_ERRORS = (400, 401, 403, 404, 429)
ACTION_ERRORS = (400, 401, 403, 404, 409, 413, 415, 429)


class ApiView(APIView):
    """Our base: refuses oversized bodies before reading them."""

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        length = declared_length(request.META)
        if length > settings.API_MAX_BODY_BYTES:
            raise PayloadTooLarge(
                f"The body is {length:,} bytes; at most {settings.API_MAX_BODY_BYTES:,} "
                "are accepted.",
                details={"limit_bytes": settings.API_MAX_BODY_BYTES},
            )
        super().initial(request, *args, **kwargs)


def _query(request: Request, serializer_class: type[serializers.Serializer[Any]]) -> Any:
    # A plain dict, not the QueryDict: DRF would take "?limit=" for an absent parameter, but an
    # empty value is not a valid one.
    data = dict(request.query_params.items())
    ser = serializer_class(data=data)
    unknown = sorted(set(data) - set(ser.fields))
    if unknown:
        # A misspelt filter would otherwise be ignored and match everything.
        raise serializers.ValidationError({name: ["Unknown parameter."] for name in unknown})
    ser.is_valid(raise_exception=True)
    return ser.validated_data


def _page(
    request: Request,
    rows: QuerySet[Any],
    params: dict[str, Any],
    serializer_class: type[serializers.Serializer[Any]],
    *,
    field: str,
    descending: bool,
) -> Response:
    """One keyset page: opaque cursor of (field, id), one query, no COUNT."""
    try:
        page = keyset_page(
            rows,
            field=field,
            descending=descending,
            after=params.get("cursor", ""),
            size=params.get("limit") or DEFAULT_PAGE_SIZE,
        )
    except Http404 as exc:
        raise ApiError(
            "The cursor is not valid; use next_cursor from a previous page.", code="bad_cursor"
        ) from exc
    return Response(
        {
            "results": serializer_class(page.rows, many=True).data,
            "next_cursor": page.next_cursor,
        }
    )


def load_request(request: Request, pk: int) -> DeletionRequest:
    """The ownership helper: the customer pages' one for customer tokens, any request for staff."""
    membership = api_membership(request)
    if membership is not None:
        shim = SimpleNamespace(user=request.user, membership=membership)
        return get_request_for_user(cast(CustomerRequest, shim), pk)
    if IsStaff().has_permission(request, cast(APIView, None)):
        return get_object_or_404(
            DeletionRequest.objects.select_related("customer", "requested_by"), pk=pk
        )
    raise Http404


def _detail(req: DeletionRequest, *, http_status: int = status.HTTP_200_OK) -> Response:
    req.refresh_from_db()
    return Response(s.RequestSerializer(req).data, status=http_status)
