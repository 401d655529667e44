"""Extend's parse-run and file API as the simulator answers it, independent of the HTTP server.

``SimulatorApp`` holds all simulator state and runs each call through one pipeline, so a file
call meets the same authentication, rate limits (a file DELETE is a WRITE), faults and ledger as
a run call; the endpoints themselves are in :mod:`.parse_runs` and :mod:`.files`. Choices where
Extend's documentation is silent (marked C in EXTEND_API.md), all deliberate:

- Check order: route, authentication (401), workspace (400/403), rate limit (429), version header
  (400), then the endpoint. Every authenticated call takes a rate-limit token, even a 4xx.
- An organisation-scoped key without ``x-extend-workspace-id`` gets **400 INVALID_REQUEST**: the
  docs call the header *required*, the key itself is valid, so the request is malformed rather
  than unauthenticated. A workspace header naming a workspace the key may not use (another
  organisation's, or a workspace key pointed at a different workspace) gets 403 FORBIDDEN.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote

from .config import SimulatorConfig
from .faults import CallInfo, Decision, FaultInjector
from .files import FileEndpoints, file_not_found_message
from .ledger import Ledger, LedgerEntry, key_last4
from .parse_runs import ParseRunEndpoints, not_found_message
from .ratelimit import RateLimiter, category_of
from .runs import WorkspaceData
from .seeding import SeededRuns
from .store import RunStore
from .tokens import PageTokens
from .webhooks import SignedUrlStore
from .wire import ApiError, Request, Response, error_response, new_request_id

_RESOURCES = ("parse_runs", "files")


@dataclass(frozen=True)
class KeyInfo:
    """Who an API key belongs to; ``workspace_id`` None means organisation-scoped."""

    org_id: str
    workspace_id: str | None


class SimulatorApp:
    """All simulator state and the Extend API logic. Thread-safe."""

    def __init__(self, config: SimulatorConfig) -> None:
        config.validate()
        self.config = config
        self.lock = threading.Lock()  # guards the run store
        seeded_runs = SeededRuns(
            seed=config.seed,
            customer_key=config.customer_metadata_key,
            untagged_rate=config.untagged_rate,
            history_days=config.history_days,
            history_end=config.history_end,
            shared_file_every=config.shared_file_every,
            shared_file_runs=config.shared_file_runs,
        )
        self.store = RunStore(seeded_runs)
        self.limiter = RateLimiter(minimum_wait=config.retry_after_minimum)
        self.faults = FaultInjector(seed=config.seed)
        self.faults.set_rules(list(config.faults))
        self.ledger = Ledger(config.max_ledger_entries)
        self.signed = SignedUrlStore(config.signed_url_ttl)
        self.tokens = PageTokens(config.seed)
        self.parse_runs = ParseRunEndpoints(config, self.store, self.lock, self.tokens, self.signed)
        self.files = FileEndpoints(config, self.store, self.lock, self.signed)
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
                resource=outcome.resource,
                run_id=outcome.run_id,
                file_id=outcome.file_id,
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
        # Split before unquoting: an id may contain an encoded "/".
        segments = request.path.split("/")
        if len(segments) == 2 and segments[1] in _RESOURCES:
            item_id = None
        elif len(segments) == 3 and segments[1] in _RESOURCES and segments[2]:
            item_id = unquote(segments[2])
        else:
            raise ApiError(404, f"No route for {request.method} {request.path}.")
        resource = outcome.resource = segments[1]
        allowed = ("GET", "DELETE") if item_id is not None else ("GET",)
        if request.method not in allowed:
            raise ApiError(405, f"{request.method} is not allowed on {request.path}")
        if resource == "files":
            outcome.file_id = item_id
        else:
            outcome.run_id = item_id

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

        files = resource == "files"
        if item_id is None:
            if files:
                return self.files.list_files(request, request_id, workspace)
            return self.parse_runs.list_runs(request, request_id, workspace)
        if request.method == "GET":
            if files:
                return self.files.get_file(request_id, workspace, item_id, self.base_url)
            return self.parse_runs.get_run(request, request_id, workspace, item_id, self.base_url)
        if decision.delete_not_found:
            outcome.fault = "delete_not_found"
            message = file_not_found_message(item_id) if files else not_found_message(item_id)
            raise ApiError(404, message, fault="delete_not_found")
        if decision.delete_success_body:
            outcome.fault = "delete_success_body"
            return _foreign_success(decision.delete_success_body, item_id)
        if files:
            response = self.files.delete_file(request_id, workspace, item_id)
        else:
            response = self.parse_runs.delete_run(request_id, workspace, item_id)
        outcome.applied = True
        return response

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


@dataclass
class _Outcome:
    """What request processing learned, for the ledger."""

    workspace_id: str | None = None
    resource: str | None = None
    run_id: str | None = None
    file_id: str | None = None
    applied: bool = False
    fault: str | None = None


def _foreign_success(kind: str, item_id: str) -> Response:
    """A success that is not Extend's (a proxy's page, an empty 204, another item's id)."""
    if kind == "empty":
        return Response(204)
    if kind == "other_id":
        return Response(200, json.dumps({"id": item_id + "_other"}).encode())
    if kind == "ignored":
        return Response(200, json.dumps({"id": item_id}).encode())
    page = b"<html><body><h1>Down for maintenance</h1></body></html>"
    return Response(200, page, content_type="text/html")


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _query_string(query: dict[str, list[str]]) -> str:
    return "&".join(f"{name}={value}" for name, values in query.items() for value in values)
