"""A thin, typed client for Extend's parse-run endpoints.

It turns every HTTP outcome into either a typed result or a typed exception that keeps what the
rest of the portal needs to decide and to prove: the HTTP status, Extend's error ``code``, the
``x-extend-request-id`` and whether retrying can help. It deliberately does *not* retry: the
deletion engine owns the retry policy and the shared rate limit, and a hidden retry inside the
client would break both (and could send a second DELETE the engine never recorded).

No Django imports here, so the simulator, benchmarks and scripts can use it as is.

Mapping of answers (see EXTEND_API.md):

======================================  =====================================================
answer                                  result
======================================  =====================================================
2xx                                     the parsed body (``Deleted`` for DELETE)
400, 422                                ``InvalidRequest``
401                                     ``Unauthorized``
402                                     ``PaymentRequired``
403                                     ``Forbidden``
404 with Extend's JSON error body       ``NotFound``
404 without it (proxy, wrong base URL)  ``Unexpected``: a 404 must only ever mean "this run is
                                        gone" when Extend itself said so
429                                     ``RateLimited`` with ``retry_after`` in seconds
408, 5xx, timeout, connection error     ``Transient`` (``status`` is None for network errors)
not sent: an invalid URL, or a          ``DestinationRefused`` (``status`` is None)
destination the session's adapter
refused (an outbound URL policy)
anything else                           ``Unexpected``
======================================  =====================================================
"""

from __future__ import annotations

import email.utils
import logging
import math
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

import requests
import requests.auth
from requests.adapters import HTTPAdapter

from deletions import bounded_json

logger = logging.getLogger(__name__)

US_BASE_URL: Final = "https://api.extend.ai"
US2_BASE_URL: Final = "https://api.us2.extend.app"
EU1_BASE_URL: Final = "https://api.eu1.extend.ai"
REGION_BASE_URLS: Final[Mapping[str, str]] = {
    "US": US_BASE_URL,
    "US2": US2_BASE_URL,
    "EU1": EU1_BASE_URL,
}

DEFAULT_API_VERSION: Final = "2026-02-09"
MAX_PAGE_SIZE: Final = 100
MAX_RUN_ID_LENGTH: Final = 255
# Extend's SDKs never wait longer than this on a Retry-After; neither should we.
MAX_RETRY_AFTER_SECONDS: Final = 60.0
# When a 429 names no delay at all, wait one second: the limits are per second.
DEFAULT_RETRY_AFTER_SECONDS: Final = 1.0

PARSE_RUN_STATUSES: Final = frozenset({"PENDING", "PROCESSING", "PROCESSED", "FAILED"})

_USER_AGENT: Final = "parse-run-deletion-portal/0.1 (+requests)"


def key_hint(api_key: str) -> str:
    """Return a harmless hint of an API key (its last four characters) for display and logs."""
    return "…" + api_key[-4:] if len(api_key) > 8 else "…"


@dataclass(frozen=True)
class Credentials:
    """Where and as whom to call Extend.

    ``org_scoped`` keys must name a workspace; workspace-scoped keys may. When a workspace id is
    given it is always sent, so Extend can refuse a key/workspace mismatch instead of silently
    acting on the key's own workspace.
    """

    base_url: str
    api_key: str = field(repr=False)
    api_version: str = DEFAULT_API_VERSION
    workspace_id: str | None = None
    org_scoped: bool = False

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key is empty")
        if self.org_scoped and not self.workspace_id:
            raise ValueError("an organisation-scoped key needs a workspace_id")
        if not self.base_url.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")

    def __repr__(self) -> str:
        return (
            f"Credentials(base_url={self.base_url!r}, api_key={key_hint(self.api_key)!r}, "
            f"api_version={self.api_version!r}, workspace_id={self.workspace_id!r}, "
            f"org_scoped={self.org_scoped!r})"
        )

    __str__ = __repr__


@dataclass(frozen=True)
class Deleted:
    """Extend confirmed the deletion (2xx)."""

    run_id: str
    request_id: str | None
    status: int


@dataclass(frozen=True)
class ParseRunPage:
    """One page of ``GET /parse_runs``; pass ``next_page_token`` back to resume from here."""

    runs: list[dict[str, Any]]
    next_page_token: str | None
    request_id: str | None


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

    ``kind`` tells them apart: ``"http"`` (an answer with a status), ``"connect_timeout"`` (the
    request was never sent), ``"read_timeout"`` and ``"connection"`` (the request may have been
    applied: a DELETE may have happened, so verify before concluding anything).
    """

    retryable_default = True

    def __init__(self, message: str, *, kind: str = "http", **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.kind = kind

    def __repr__(self) -> str:
        return super().__repr__()[:-1] + f", kind={self.kind!r})"


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


class _BearerAuth(requests.auth.AuthBase):
    """Adds the bearer key to each request; its repr shows only a hint of the key."""

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self._api_key}"
        return request

    def __repr__(self) -> str:
        return f"_BearerAuth({key_hint(self._api_key)!r})"


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


def encode_run_id(run_id: str) -> str:
    """Percent-encode an opaque run id for use as one URL path segment."""
    if not run_id or len(run_id) > MAX_RUN_ID_LENGTH:
        raise ValueError(f"a parse run id has 1 to {MAX_RUN_ID_LENGTH} characters")
    return quote(run_id, safe="")


class ExtendClient:
    """Calls Extend's parse-run endpoints for one workspace's credentials.

    Thread-safe as far as ``requests.Session`` is (one client per thread is the safe choice for a
    worker pool); connections are pooled and kept alive.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        connect_timeout: float = 3.05,
        read_timeout: float = 15.0,
        session: requests.Session | None = None,
        pool_size: int = 10,
        adapter_class: type[HTTPAdapter] = HTTPAdapter,
    ) -> None:
        self.credentials = credentials
        self.timeout = (connect_timeout, read_timeout)
        self._owns_session = session is None
        if session is None:
            session = requests.Session()
            # max_retries=0: no hidden retries, in particular never a second DELETE.
            # adapter_class lets a caller check every destination before connecting (the
            # portal's outbound URL policy) without this module knowing the policy.
            adapter = adapter_class(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
            session.mount("https://", adapter)
            session.mount("http://", adapter)
        self.session = session
        # Sent as per-request auth, so requests never swaps in ~/.netrc credentials for ours.
        self._auth = _BearerAuth(credentials.api_key)
        self._base_url = credentials.base_url.rstrip("/")

    def __repr__(self) -> str:
        return f"ExtendClient({self.credentials!r})"

    def __enter__(self) -> ExtendClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections if this client created the session."""
        if self._owns_session:
            self.session.close()

    # -- endpoints -------------------------------------------------------------------------

    def list_parse_runs(
        self,
        *,
        status: str | None = None,
        batch_id: str | None = None,
        source: str | None = None,
        source_id: str | None = None,
        file_name_contains: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        page_token: str | None = None,
    ) -> Iterator[ParseRunPage]:
        """Yield every page of parse runs matching the filters, starting at ``page_token``.

        Pages are fetched lazily, one request per page, so a caller can stop early or store
        ``page.next_page_token`` and resume later.
        """
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
        if status is not None and status not in PARSE_RUN_STATUSES:
            raise ValueError(f"unknown parse run status {status!r}")
        filters = {
            "status": status,
            "batchId": batch_id,
            "source": source,
            "sourceId": source_id,
            "fileNameContains": file_name_contains,
        }
        token = page_token
        while True:
            # Extend's API definition names maxPageSize, its CLI says the server reads limit:
            # send both so either reading gives the page size we want.
            params: dict[str, str | int] = {"maxPageSize": page_size, "limit": page_size}
            params.update({name: value for name, value in filters.items() if value is not None})
            if token:
                params["nextPageToken"] = token
            response = self._request("GET", "/parse_runs", params=params)
            body = _json_object(response)
            data = body.get("data")
            if not isinstance(data, list) or not all(isinstance(run, dict) for run in data):
                raise _unexpected(response, "list body has no 'data' list of objects")
            next_token = body.get("nextPageToken")
            if next_token is not None and not isinstance(next_token, str):
                raise _unexpected(response, "nextPageToken is not a string")
            yield ParseRunPage(
                runs=data, next_page_token=next_token or None, request_id=_request_id(response)
            )
            if not next_token:
                return
            token = next_token

    def iter_parse_runs(self, **filters: Any) -> Iterator[dict[str, Any]]:
        """Yield every parse run matching the filters (same arguments as ``list_parse_runs``)."""
        for page in self.list_parse_runs(**filters):
            yield from page.runs

    def get_parse_run(self, run_id: str, *, response_type: str | None = None) -> dict[str, Any]:
        """Return one parse run; raise ``NotFound`` if it is gone or in another workspace."""
        params = {"responseType": response_type} if response_type else None
        response = self._request("GET", f"/parse_runs/{encode_run_id(run_id)}", params=params)
        return _json_object(response)

    def delete_parse_run(self, run_id: str) -> Deleted:
        """Delete one parse run permanently.

        A lost answer (connection cut, read timeout) raises ``Transient``: the delete may or may
        not have happened, and only a later call can tell (a 404 then means it did).
        """
        response = self._request("DELETE", f"/parse_runs/{encode_run_id(run_id)}")
        # Deleted only on Extend's own answer: a JSON object naming this run. A maintenance page,
        # an empty 204 or another run's id proves nothing about this one.
        body = _error_body(response)
        if body is None:
            raise _unexpected_success(response, "a success without Extend's JSON body")
        if body.get("id") != run_id:
            raise _unexpected_success(
                response, f"a success naming {str(body.get('id'))[:80]!r}, not this run"
            )
        return Deleted(run_id=run_id, request_id=_request_id(response), status=response.status_code)

    # -- plumbing --------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        creds = self.credentials
        headers = {
            "x-extend-api-version": creds.api_version,
            "Accept": "application/json",
            "User-Agent": _USER_AGENT,
        }
        if creds.workspace_id:
            headers["x-extend-workspace-id"] = creds.workspace_id
        return headers

    def _request(
        self, method: str, path: str, *, params: Mapping[str, str | int] | None = None
    ) -> requests.Response:
        url = self._base_url + path
        started = time.monotonic()
        try:
            response = self.session.request(
                method,
                url,
                params=params,
                headers=self._headers(),
                auth=self._auth,
                timeout=self.timeout,
                allow_redirects=False,
            )
        except requests.ConnectTimeout as exc:
            raise Transient(f"connect timeout: {_safe(exc)}", kind="connect_timeout") from None
        except requests.ReadTimeout as exc:
            raise Transient(f"read timeout: {_safe(exc)}", kind="read_timeout") from None
        except requests.exceptions.InvalidURL as exc:
            raise DestinationRefused(_safe(exc)) from None
        except requests.exceptions.SSLError as exc:
            # A certificate problem is configuration, not bad luck: do not retry blindly.
            raise Unexpected(f"TLS error: {_safe(exc)}") from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise Transient(f"connection error: {_safe(exc)}", kind="connection") from None
        except requests.RequestException as exc:
            raise Unexpected(f"request failed: {_safe(exc)}") from None
        # Only method, path, status and request id: never headers, never the key.
        logger.debug(
            "extend %s %s -> %s in %.0f ms (request %s)",
            method,
            path,
            response.status_code,
            (time.monotonic() - started) * 1000,
            _request_id(response),
        )
        if 200 <= response.status_code < 300:
            return response
        raise error_from_response(response)


def error_from_response(response: requests.Response) -> ExtendError:
    """Translate a non-2xx response into the matching ``ExtendError`` subclass."""
    status = response.status_code
    body = _error_body(response)
    code = _str_or_none(body.get("code")) if body is not None else None
    message = (_str_or_none(body.get("message")) if body is not None else None) or (
        f"{status} {response.reason or ''}".strip()
    )
    request_id = _request_id(response) or (
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
        return Transient(message, kind="http", **kwargs)
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


def _error_body(response: requests.Response) -> dict[str, Any] | None:
    """Extend's JSON error object, or None for HTML, text or empty bodies from proxies."""
    try:
        # Bounded in depth like every JSON the portal reads: a body nested thousands deep would
        # raise RecursionError (a crashed task), not a ValueError.
        body = bounded_json.loads(response.content, max_bytes=None)
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = bounded_json.loads(response.content, max_bytes=None)
    except ValueError:
        raise _unexpected(response, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _unexpected(response, "the body is not a JSON object")
    return body


def _unexpected(response: requests.Response, why: str) -> Unexpected:
    return Unexpected(why, status=response.status_code, request_id=_request_id(response))


def _unexpected_success(response: requests.Response, why: str) -> UnexpectedSuccess:
    return UnexpectedSuccess(
        f"DELETE answered {response.status_code} with {why}",
        status=response.status_code,
        request_id=_request_id(response),
    )


def _request_id(response: requests.Response) -> str | None:
    return response.headers.get("x-extend-request-id")


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _safe(exc: BaseException) -> str:
    """Describe a transport error without anything that could echo request headers."""
    return type(exc).__name__ if not str(exc) else str(exc).splitlines()[0][:300]
