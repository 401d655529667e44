"""Extend's parse-run API as the simulator answers it, independent of the HTTP server.

Choices where Extend's documentation is silent (marked C in EXTEND_API.md), all deliberate:

- Check order: route, authentication (401), workspace (400/403), rate limit (429), version header
  (400), then the endpoint. Every authenticated call takes a rate-limit token, even a 4xx.
- An organisation-scoped key without ``x-extend-workspace-id`` gets **400 INVALID_REQUEST**: the
  docs call the header *required*, the key itself is valid, so the request is malformed rather
  than unauthenticated. A workspace header naming a workspace the key may not use (another
  organisation's, or a workspace key pointed at a different workspace) gets 403 FORBIDDEN.
- A run of another workspace, an unknown id and a deleted run all answer 404 NOT_FOUND.
- Page size: ``limit`` wins over ``maxPageSize``; default 25; above 100 is clamped to 100; below 1
  or not a number is 400. Invalid filter values and foreign page tokens are 400.
- Listing is newest first; ``fileNameContains`` is case-insensitive.
- DELETE answers 200 ``{"id": ...}``; the run then answers 404 and leaves the list.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import unquote

from .config import SimulatorConfig
from .data import SOURCES, STATUSES, Run, RunFilters, RunStore, WorkspaceData
from .faults import CallInfo, Decision, FaultInjector
from .ids import to_base62
from .ledger import Ledger, LedgerEntry, key_last4
from .ratelimit import RateLimiter, category_of
from .tokens import PageTokens
from .webhooks import SignedUrlStore

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


def _foreign_success(kind: str, run_id: str) -> Response:
    """A success that is not Extend's (a proxy's page, an empty 204, another run's id)."""
    if kind == "empty":
        return Response(204)
    if kind == "other_id":
        return Response(200, json.dumps({"id": run_id + "_other"}).encode())
    if kind == "ignored":
        return Response(200, json.dumps({"id": run_id}).encode())
    page = b"<html><body><h1>Down for maintenance</h1></body></html>"
    return Response(200, page, content_type="text/html")


@dataclass
class Response:
    """What to send back; ``drop`` closes the connection without answering."""

    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False
    delay_after: float = 0.0


@dataclass(frozen=True)
class KeyInfo:
    """Who an API key belongs to; ``workspace_id`` None means organisation-scoped."""

    org_id: str
    workspace_id: str | None


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


def new_request_id() -> str:
    """A fresh ``req_...`` id."""
    return "req_" + to_base62(secrets.randbits(128), 22)[-22:]


def json_body(data: Any) -> bytes:
    """Compact UTF-8 JSON."""
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


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


class SimulatorApp:
    """All simulator state and the Extend API logic. Thread-safe."""

    def __init__(self, config: SimulatorConfig) -> None:
        config.validate()
        self.config = config
        self.lock = threading.Lock()  # guards the run store
        self.store = RunStore(
            seed=config.seed,
            customer_key=config.customer_metadata_key,
            untagged_rate=config.untagged_rate,
            history_days=config.history_days,
            history_end=config.history_end,
        )
        self.limiter = RateLimiter(minimum_wait=config.retry_after_minimum)
        self.faults = FaultInjector(seed=config.seed)
        self.faults.set_rules(list(config.faults))
        self.ledger = Ledger(config.max_ledger_entries)
        self.signed = SignedUrlStore(config.signed_url_ttl)
        self.tokens = PageTokens(config.seed)
        self.keys: dict[str, KeyInfo] = {}
        self.org_of_workspace: dict[str, str] = {}
        self.base_url = ""  # set by the server once it listens
        for org in config.organisations:
            for key in org.api_keys:
                self.keys[key] = KeyInfo(org.id, None)
            self.limiter.configure(f"org:{org.id}", "GET", org.get_rate, org.get_burst)
            self.limiter.configure(f"org:{org.id}", "WRITE", org.write_rate, org.write_burst)
            for ws in org.workspaces:
                self.store.add_workspace(ws.id, org.id, ws.runs, ws.customers)
                self.org_of_workspace[ws.id] = org.id
                for key in ws.api_keys:
                    self.keys[key] = KeyInfo(org.id, ws.id)
                if ws.get_rate:
                    self.limiter.configure(f"ws:{ws.id}", "GET", ws.get_rate)
                if ws.write_rate:
                    self.limiter.configure(f"ws:{ws.id}", "WRITE", ws.write_rate)

    # -- entry point --------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Answer one Extend API call, applying faults and recording it in the ledger."""
        arrived, started = time.time(), time.monotonic()
        request_id = new_request_id()
        api_key = _bearer(request.headers.get("Authorization"))
        key = self.keys.get(api_key) if api_key else None
        workspace_header = request.headers.get("x-extend-workspace-id") or None
        version = request.headers.get("x-extend-api-version")
        call = CallInfo(
            method=request.method,
            path=request.path,
            key_last4=key_last4(api_key),
            workspace_id=(key.workspace_id if key and key.workspace_id else workspace_header),
        )
        decision = self.faults.decide(call)
        if decision.latency:
            time.sleep(decision.latency)

        outcome = _Outcome()
        try:
            response = self._process(request, request_id, key, decision, outcome)
        except ApiError as error:
            outcome.fault = outcome.fault or error.fault
            body_format = decision.error_body if error.fault == "error_rate" else "json"
            response = error_response(
                error.status,
                error.message,
                request_id,
                body_format=body_format,
                retry_after=error.retry_after,
            )
        if decision.drop:
            response.drop = True
            outcome.fault = "drop"
        elif decision.slow:
            response.delay_after = decision.slow
            outcome.fault = outcome.fault or "slow"
        self.ledger.record(
            LedgerEntry(
                seq=self.ledger.next_seq(),
                time=arrived,
                monotonic=started,
                method=request.method,
                path=request.path,
                query=_query_string(request.query),
                key_last4=call.key_last4,
                workspace_header=workspace_header,
                version_header=version,
                org_id=key.org_id if key else None,
                workspace_id=outcome.workspace_id,
                category=category_of(request.method),
                status=None if response.drop else response.status,
                request_id=request_id,
                run_id=outcome.run_id,
                fault=outcome.fault,
                applied=outcome.applied,
                duration_ms=round((time.monotonic() - started) * 1000, 3),
            )
        )
        return response

    # -- pipeline -----------------------------------------------------------------------------

    def _process(
        self,
        request: Request,
        request_id: str,
        key: KeyInfo | None,
        decision: Decision,
        outcome: _Outcome,
    ) -> Response:
        # Split before unquoting: a run id may contain an encoded "/".
        segments = request.path.split("/")
        if segments == ["", "parse_runs"]:
            run_id = None
        elif len(segments) == 3 and segments[1] == "parse_runs" and segments[2]:
            run_id = unquote(segments[2])
        else:
            raise ApiError(404, f"No route for {request.method} {request.path}.")
        allowed = ("GET", "DELETE") if run_id is not None else ("GET",)
        if request.method not in allowed:
            raise ApiError(405, f"{request.method} is not allowed on {request.path}")
        if run_id is not None:
            outcome.run_id = run_id

        if request.headers.get("Authorization") is None:
            raise ApiError(401, "Missing Authorization header. Use 'Authorization: Bearer <key>'.")
        if key is None:
            raise ApiError(401, "Invalid API key.")
        if decision.revoked:
            raise ApiError(401, "This API key has been revoked.", fault="revoked")

        workspace = self._workspace(key, request.headers.get("x-extend-workspace-id") or None)
        outcome.workspace_id = workspace.id

        category = category_of(request.method)
        if decision.storm_retry_after is not None:
            raise ApiError(
                429,
                "Rate limit exceeded. Please retry after the time given in Retry-After.",
                fault="storm",
                retry_after=decision.storm_retry_after,
            )
        wait = self.limiter.acquire([f"org:{key.org_id}", f"ws:{workspace.id}"], category)
        if wait is not None:
            raise ApiError(
                429,
                f"Rate limit exceeded for {category} requests. Retry after {wait} s.",
                retry_after=wait,
            )

        version = request.headers.get("x-extend-api-version")
        if not version:
            raise ApiError(400, "Missing required header x-extend-api-version.")
        if version not in self.config.api_versions:
            raise ApiError(400, f"Unsupported API version {version!r}.")

        if decision.payment_required:
            raise ApiError(
                402, "Usage is blocked for this organization. Check billing.", fault="payment"
            )
        if decision.error_status is not None:
            status = decision.error_status
            raise ApiError(
                status,
                f"Simulated error {status}.",
                fault="error_rate",
                retry_after=1 if status == 429 else None,
            )

        if run_id is None:
            return self._list(request, request_id, workspace)
        if request.method == "GET":
            return self._retrieve(request, request_id, workspace, run_id)
        if decision.delete_not_found:
            outcome.fault = "delete_not_found"
            raise ApiError(404, _not_found_message(run_id), fault="delete_not_found")
        if decision.delete_success_body:
            outcome.fault = "delete_success_body"
            return _foreign_success(decision.delete_success_body, run_id)
        return self._delete(request_id, workspace, run_id, outcome)

    def _workspace(self, key: KeyInfo, header: str | None) -> WorkspaceData:
        if key.workspace_id is not None:
            if header is not None and header != key.workspace_id:
                raise ApiError(403, "This API key does not have access to the requested workspace.")
            return self.store.by_id[key.workspace_id]
        if header is None:
            raise ApiError(
                400,
                "The x-extend-workspace-id header is required when using an "
                "organization-scoped API key.",
            )
        if self.org_of_workspace.get(header) != key.org_id:
            raise ApiError(403, "This API key does not have access to the requested workspace.")
        return self.store.by_id[header]

    # -- endpoints ----------------------------------------------------------------------------

    def _list(self, request: Request, request_id: str, workspace: WorkspaceData) -> Response:
        filters = RunFilters(
            status=request.param("status") or None,
            batch_id=request.param("batchId") or None,
            source=request.param("source") or None,
            source_id=request.param("sourceId") or None,
            file_name_contains=request.param("fileNameContains") or None,
        )
        if filters.status and filters.status not in STATUSES:
            raise ApiError(400, f"Invalid status {filters.status!r}.")
        if filters.source and filters.source not in SOURCES:
            raise ApiError(400, f"Invalid source {filters.source!r}.")
        size = self._page_size(request)
        before: int | None = None
        token = request.param("nextPageToken")
        if token:
            decoded = self.tokens.decode(token, filters)
            if decoded is None or decoded[0] != workspace.number:
                raise ApiError(400, "Invalid nextPageToken.")
            before = decoded[1]
        with self.lock:
            runs, next_before = self.store.page(workspace.number, filters, before, size)
            data = [run.summary() for run in runs]
        next_token = (
            None
            if next_before is None
            else self.tokens.encode(workspace.number, next_before, filters)
        )
        return _ok({"object": "list", "data": data, "nextPageToken": next_token}, request_id)

    def _page_size(self, request: Request) -> int:
        raw = request.param("limit") or request.param("maxPageSize")
        if raw is None:
            return self.config.default_page_size
        try:
            size = int(raw)
        except ValueError:
            raise ApiError(400, f"Page size must be an integer, got {raw!r}.") from None
        if size < 1:
            raise ApiError(400, "Page size must be at least 1.")
        return min(size, self.config.max_page_size)

    def _retrieve(
        self, request: Request, request_id: str, workspace: WorkspaceData, run_id: str
    ) -> Response:
        response_type = request.param("responseType") or "json"
        if response_type not in ("json", "url", "inline"):
            raise ApiError(400, f"Invalid responseType {response_type!r}.")
        with self.lock:
            run = self._find(workspace, run_id)
        output_url = None
        if response_type == "url" and run.status == "PROCESSED":
            output_url = f"{self.base_url}/_sim/signed/{self.signed.put(run.output())}"
        return _ok(run.full(output_url), request_id)

    def _delete(
        self, request_id: str, workspace: WorkspaceData, run_id: str, outcome: _Outcome
    ) -> Response:
        with self.lock:
            run = self._find(workspace, run_id)
            self.store.delete(run.workspace, run.index)
        outcome.applied = True
        return _ok({"id": run_id}, request_id)

    def _find(self, workspace: WorkspaceData, run_id: str) -> Run:
        """The live run ``run_id`` of ``workspace``; 404 otherwise. Call with the lock held."""
        found = self.store.locate(run_id)
        if found is None or found[0] != workspace.number:
            raise ApiError(404, _not_found_message(run_id))
        return self.store.run(*found)


@dataclass
class _Outcome:
    """What request processing learned, for the ledger."""

    workspace_id: str | None = None
    run_id: str | None = None
    applied: bool = False
    fault: str | None = None


def _ok(data: Any, request_id: str) -> Response:
    return Response(200, json_body(data), headers={"x-extend-request-id": request_id})


def _not_found_message(run_id: str) -> str:
    return f"Parse run {run_id!r} doesn't exist or belongs to a different workspace."


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _query_string(query: dict[str, list[str]]) -> str:
    return "&".join(f"{name}={value}" for name, values in query.items() for value in values)
