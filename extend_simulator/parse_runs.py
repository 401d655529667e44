"""The parse-run endpoints: ``GET /parse_runs``, ``GET`` and ``DELETE /parse_runs/{id}``.

Called by :class:`.app.SimulatorApp` once a request has passed routing, authentication, the
workspace check, the rate limit and the version header. Choices where Extend's documentation is
silent (marked C in EXTEND_API.md), all deliberate:

- A run of another workspace, an unknown id and a deleted run all answer 404 NOT_FOUND.
- Page size: ``limit`` wins over ``maxPageSize``; default 25; above 100 is clamped to 100; below 1
  or not a number is 400. Invalid filter values and foreign page tokens are 400.
- Listing is newest first; ``fileNameContains`` is case-insensitive.
- DELETE answers 200 ``{"id": ...}``; the run then answers 404 and leaves the list.
"""

from __future__ import annotations

import threading

from .config import SimulatorConfig
from .runs import SOURCES, STATUSES, Run, RunFilters, WorkspaceData
from .store import RunStore
from .tokens import PageTokens
from .webhooks import SignedUrlStore
from .wire import ApiError, Request, Response, ok, page_size


def not_found_message(run_id: str) -> str:
    """Extend's message for a run that is not there (also used by the delete faults)."""
    return f"Parse run {run_id!r} doesn't exist or belongs to a different workspace."


class ParseRunEndpoints:
    """Answers the parse-run calls from the run store, holding the app's lock around it."""

    def __init__(
        self,
        config: SimulatorConfig,
        store: RunStore,
        lock: threading.Lock,
        tokens: PageTokens,
        signed: SignedUrlStore,
    ) -> None:
        self.config = config
        self.store = store
        self.lock = lock
        self.tokens = tokens
        self.signed = signed

    def list_runs(self, request: Request, request_id: str, workspace: WorkspaceData) -> Response:
        """One page of the workspace's live runs, newest first."""
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
        size = page_size(request, self.config.default_page_size, self.config.max_page_size)
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
        return ok({"object": "list", "data": data, "nextPageToken": next_token}, request_id)

    def get_run(
        self,
        request: Request,
        request_id: str,
        workspace: WorkspaceData,
        run_id: str,
        base_url: str,
    ) -> Response:
        """One live run in full; ``responseType=url`` serves its output at a signed URL."""
        response_type = request.param("responseType") or "json"
        if response_type not in ("json", "url", "inline"):
            raise ApiError(400, f"Invalid responseType {response_type!r}.")
        with self.lock:
            run = self._find(workspace, run_id)
        output_url = None
        if response_type == "url" and run.status == "PROCESSED":
            output_url = f"{base_url}/_sim/signed/{self.signed.put(run.output())}"
        return ok(run.full(output_url), request_id)

    def delete_run(self, request_id: str, workspace: WorkspaceData, run_id: str) -> Response:
        """Delete a live run for good; raises 404 (deleting nothing) when there is none."""
        with self.lock:
            run = self._find(workspace, run_id)
            self.store.delete(run.workspace, run.index)
        return ok({"id": run_id}, request_id)

    def _find(self, workspace: WorkspaceData, run_id: str) -> Run:
        """The live run ``run_id`` of ``workspace``; 404 otherwise. Call with the lock held."""
        found = self.store.locate(run_id)
        if found is None or found[0] != workspace.number:
            raise ApiError(404, not_found_message(run_id))
        return self.store.run(*found)
