"""The simulator's HTTP vocabulary: a parsed request, a response, and Extend's error answers.

Independent of the HTTP server, so the API logic (:mod:`.app`) and the control surface
(:mod:`.control`) can be called with a ``Request`` and checked on the ``Response`` they return.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Protocol

from .ids import to_base62

ERROR_CODES = {
    400: "INVALID_REQUEST",
    401: "UNAUTHORIZED",
    402: "USAGE_BLOCKED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    408: "REQUEST_TIMEOUT",
    409: "CONFLICT",
    422: "INVALID_REQUEST",
    429: "RATE_LIMIT_EXCEEDED",
    500: "INTERNAL_ERROR",
    502: "BAD_GATEWAY",
    503: "SERVICE_UNAVAILABLE",
    504: "GATEWAY_TIMEOUT",
}
_GATEWAY_STATUSES = (502, 503, 504)


class HeaderLookup(Protocol):
    """Case-insensitive header access (``http.client.HTTPMessage``, a ``requests`` dict...)."""

    def get(self, name: str, /) -> str | None:
        """The header's value, or None."""


@dataclass
class Request:
    """An incoming HTTP request, as the server parsed it."""

    method: str
    path: str  # raw path, still percent-encoded, without the query
    query: dict[str, list[str]]
    headers: HeaderLookup  # must look names up case-insensitively
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """The first value of a query parameter."""
        values = self.query.get(name)
        return values[0] if values else None


@dataclass
class Response:
    """What to send back; ``drop`` closes the connection without answering."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay_after: float = 0.0


class ApiError(Exception):
    """An Extend-style error answer raised inside request processing."""

    def __init__(
        self, status: int, message: str, *, fault: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fault = fault
        self.retry_after = retry_after


def page_size(request: Request, default: int, maximum: int) -> int:
    """A list's page size: ``limit`` wins over ``maxPageSize``; above ``maximum`` is clamped.

    Extend's CLI says the server reads ``limit`` and ignores ``maxPageSize``; the SDK sends only
    ``maxPageSize``: accept both. Below 1 or not a number is 400 (C).
    """
    raw = request.param("limit") or request.param("maxPageSize")
    if raw is None:
        return default
    try:
        size = int(raw)
    except ValueError:
        raise ApiError(400, f"Page size must be an integer, got {raw!r}.") from None
    if size < 1:
        raise ApiError(400, "Page size must be at least 1.")
    return min(size, maximum)


def new_request_id() -> str:
    """A fresh ``req_...`` id."""
    return "req_" + to_base62(secrets.randbits(128), 22)[-22:]


def json_body(data: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def ok(data: Any, request_id: str) -> Response:
    """A 200 with a JSON body and Extend's request id header."""
    return Response(200, json_body(data), headers={"x-extend-request-id": request_id})


def error_response(
    status: int,
    message: str,
    request_id: str,
    *,
    body_format: str = "json",
    retry_after: int | None = None,
) -> Response:
    """Extend's error body, or what a gateway in front of it would send."""
    if body_format == "auto":
        body_format = "html" if status in _GATEWAY_STATUSES else "json"
    headers: dict[str, str] = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if body_format == "json":
        headers["x-extend-request-id"] = request_id
        body = {
            "code": ERROR_CODES.get(status, "ERROR"),
            "message": message,
            "retryable": status in (408, 429) or status >= 500,
            "requestId": request_id,
        }
        return Response(status, json_body(body), headers=headers)
    if body_format == "html":
        html = f"<html><head><title>{status}</title></head><body><h1>{status}</h1></body></html>"
        return Response(status, html.encode(), "text/html; charset=utf-8", headers)
    if body_format == "text":
        return Response(status, f"upstream error {status}".encode(), "text/plain", headers)
    return Response(status, b"", "text/plain", headers)
