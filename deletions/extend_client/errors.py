"""What an answer from Extend means: the typed failures, and the translation of a non-2xx answer.

Each failure keeps what the portal needs to decide and to prove: the HTTP status, Extend's error
``code``, the ``x-extend-request-id`` and whether retrying can help. None ever carries the key.
"""

from __future__ import annotations

import email.utils
import math
import time
from collections.abc import Mapping
from typing import Any, Final

import requests

from deletions.core import bounded_json

# Extend's SDKs never wait longer than this on a Retry-After; neither should we.
MAX_RETRY_AFTER_SECONDS: Final = 60.0
# When a 429 names no delay at all, wait one second: the limits are per second.
DEFAULT_RETRY_AFTER_SECONDS: Final = 1.0


class ExtendError(Exception):
    """Base of every failure the client reports. Never carries the API key."""

    retryable_default: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.request_id = request_id
        self.retryable = self.retryable_default if retryable is None else retryable

    def __str__(self) -> str:
        parts = [f"HTTP {self.status}" if self.status is not None else "no HTTP status"]
        if self.code:
            parts.append(self.code)
        text = f"{' '.join(parts)}: {self.message}"
        if self.request_id:
            text += f" (request {self.request_id})"
        return text

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, code={self.code!r}, "
            f"message={self.message!r}, request_id={self.request_id!r}, "
            f"retryable={self.retryable!r})"
        )


class NotFound(ExtendError):
    """404 from Extend: the run does not exist *in this workspace* (or is already deleted)."""


class RateLimited(ExtendError):
    """429: wait ``retry_after`` seconds before the next call in this category."""

    retryable_default = True

    def __init__(self, message: str, *, retry_after: float, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", retry_after={self.retry_after!r})"


class Transient(ExtendError):
    """5xx, 408, timeout or connection error: retrying later may succeed.

    Without a status (a timeout or a cut connection) the request may have been applied: a DELETE
    may have happened, so verify before concluding anything. The message says which it was.
    """

    retryable_default = True


class Unauthorized(ExtendError):
    """401: key missing, malformed or revoked."""


class Forbidden(ExtendError):
    """403: the key may not act on this workspace or resource."""


class PaymentRequired(ExtendError):
    """402: usage blocked on the account."""


class InvalidRequest(ExtendError):
    """400 or 422: the request itself is wrong; retrying it unchanged cannot help."""


class Unexpected(ExtendError):
    """Any other answer, including a 2xx whose body is not what Extend sends."""


class DestinationRefused(ExtendError):
    """Nothing was sent: the URL is invalid, or the session's transport adapter refused its
    destination (the portal's outbound URL policy raises ``requests.exceptions.InvalidURL``)."""


class UnexpectedSuccess(Unexpected):
    """A 2xx to a DELETE whose body is not Extend's ``{"id": <this run's id>}``: an HTML page, an
    empty body, another run's id. Whatever answered, it did not prove this run deleted."""


def error_from_response(response: requests.Response) -> ExtendError:
    """Translate a non-2xx response into the matching ``ExtendError`` subclass."""
    status = response.status_code
    body = extend_json_body(response)
    code = _str_or_none(body.get("code")) if body is not None else None
    message = (_str_or_none(body.get("message")) if body is not None else None) or (
        f"{status} {response.reason or ''}".strip()
    )
    request_id = request_id_of(response) or (
        _str_or_none(body.get("requestId")) if body is not None else None
    )
    retryable = body.get("retryable") if body is not None else None
    kwargs: dict[str, Any] = {"status": status, "code": code, "request_id": request_id}
    if isinstance(retryable, bool):
        kwargs["retryable"] = retryable

    if status == 429:
        delay = parse_retry_after(response.headers)
        return RateLimited(
            message,
            retry_after=DEFAULT_RETRY_AFTER_SECONDS if delay is None else delay,
            **kwargs,
        )
    if status == 408 or status >= 500:
        return Transient(message, **kwargs)
    if status in (400, 422):
        return InvalidRequest(message, **kwargs)
    if status == 401:
        return Unauthorized(message, **kwargs)
    if status == 402:
        return PaymentRequired(message, **kwargs)
    if status == 403:
        return Forbidden(message, **kwargs)
    if status == 404 and body is not None:
        return NotFound(message, **kwargs)
    if status == 404:
        return Unexpected(f"404 without Extend's error body: {message}", **kwargs)
    return Unexpected(message, **kwargs)


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait according to a response's headers, or None if they name no delay.

    Order as in Extend's SDKs: ``retry-after-ms``, then ``Retry-After`` (seconds or an HTTP
    date), then ``X-RateLimit-Reset`` (a Unix time, or seconds if it is small). Capped at 60 s.
    ``headers`` must look up names case-insensitively (``requests`` headers do).
    """
    current = time.time() if now is None else now
    seconds: float | None = None

    raw_ms = headers.get("retry-after-ms")
    if raw_ms is not None:
        try:
            seconds = float(raw_ms.strip()) / 1000
        except ValueError:
            seconds = None

    raw = headers.get("retry-after")
    if seconds is None and raw is not None:
        raw = raw.strip()
        try:
            seconds = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                when = None
            if when is not None:
                seconds = when.timestamp() - current

    raw_reset = headers.get("x-ratelimit-reset")
    if seconds is None and raw_reset is not None:
        try:
            reset = float(raw_reset.strip())
        except ValueError:
            reset = None
        if reset is not None:
            # Large values are Unix times (what Extend's SDK expects); small ones are deltas.
            seconds = reset - current if reset > 1_000_000_000 else reset

    if seconds is None or math.isnan(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_SECONDS)


def extend_json_body(response: requests.Response) -> dict[str, Any] | None:
    """The body as a JSON object (Extend's error or DELETE answer), or None for the HTML, text or
    empty bodies of whatever else may answer (a proxy, a maintenance page)."""
    try:
        # Bounded in depth like every JSON the portal reads: a body nested thousands deep would
        # raise RecursionError (a crashed task), not a ValueError.
        body = bounded_json.loads(response.content, max_bytes=None)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def request_id_of(response: requests.Response) -> str | None:
    """The ``x-extend-request-id`` of an answer (quote it to Extend's support)."""
    return response.headers.get("x-extend-request-id")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
