"""One error shape for every API answer that is not a success.

``{"error": {"code": "...", "message": "...", "details": {...}}}``. Domain errors carry the same
user-facing messages as on the pages: an illegal move is 409, a rule (four eyes, roles) is 403,
a submission that cannot be made as asked is 422.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from deletions.core.errors import DomainError, RuleViolation, SubmissionError, TransitionError
from deletions.requests.grounds import GroundError


class ApiError(exceptions.APIException):
    """An API answer with an explicit status, code and message."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        code: str = "bad_request",
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.details = details or {}


class PayloadTooLarge(ApiError):
    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(
            message,
            status_code=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE,
            code="too_large",
            details=details,
        )


_DOMAIN_STATUS: list[tuple[type[DomainError], int, str]] = [
    (GroundError, status.HTTP_422_UNPROCESSABLE_ENTITY, "unprocessable"),
    (TransitionError, status.HTTP_409_CONFLICT, "invalid_transition"),
    (RuleViolation, status.HTTP_403_FORBIDDEN, "forbidden"),
    (SubmissionError, status.HTTP_422_UNPROCESSABLE_ENTITY, "unprocessable"),
    (DomainError, status.HTTP_409_CONFLICT, "conflict"),
]

_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "throttled",
}


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def domain_error_response(exc: DomainError) -> Response:
    for cls, http_status, code in _DOMAIN_STATUS:
        if isinstance(exc, cls):
            # Some domain errors say more than their message (UnknownRuns: how many, which).
            details = getattr(exc, "details", None)
            return Response(error_body(code, str(exc), details), status=http_status)
    raise AssertionError("unreachable")  # pragma: no cover


def _message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        text = _message(value)
        return text if key == "non_field_errors" else f"{key}: {text}"
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler (status, Retry-After, WWW-Authenticate), reshaped into our error body."""
    if isinstance(exc, DomainError):
        return domain_error_response(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("Not found.")
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    # Imported here: rest_framework.views reads DEFAULT_PARSER_CLASSES when it is first imported,
    # and our parser (deletions.api.parsers) raises this module's PayloadTooLarge, so importing
    # it at the top would load the parser while this module is still half-defined.
    from rest_framework.views import exception_handler as drf_exception_handler

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        response.data = error_body(exc.error_code, str(exc.detail), exc.details)
        return response
    detail = response.data
    details: dict[str, Any] = {}
    if isinstance(exc, exceptions.ValidationError):
        message = "The request is not valid: " + _message(detail)
        details = {"fields": detail} if isinstance(detail, dict) else {"errors": detail}
    else:
        message = _message(detail.get("detail", detail) if isinstance(detail, dict) else detail)
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        details["retry_after_seconds"] = int(wait + 0.999)
    code = _CODES.get(response.status_code, "error")
    response.data = error_body(code, message, details)
    return response
