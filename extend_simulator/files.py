"""The file endpoints: ``GET /files``, ``GET`` and ``DELETE /files/{id}``.

Called by :class:`.app.SimulatorApp` once a request has passed routing, authentication, the
workspace check, the rate limit and the version header, exactly as the parse-run endpoints are.
Documented (EXTEND_API.md, "Files"): ``DELETE`` answers 200 ``{"id": ...}`` and removes the file
for good; runs that processed it keep their outputs. Choices where Extend is silent (C):

- An unknown id, a deleted file and a file of another workspace all answer 404 NOT_FOUND, with
  the parse runs' wording.
- The list pages as ``GET /parse_runs`` does (``nextPageToken``, ``maxPageSize`` or ``limit``,
  default 25, at most 100); ``sortDir`` is ``desc`` (newest first, the default) or ``asc``,
  anything else is 400; ``nameContains`` is case-insensitive.
- Deleting a file changes no run: each keeps its ``file`` object and output (see ``runs.Run``).
- ``presignedUrl`` (``GET /files/{id}`` only) is served under ``/_sim/signed/`` for 15 minutes,
  as Extend's SDK documents, and stops answering once the file is deleted, as an object store's
  presigned URL does. It serves a JSON stand-in for the bytes.
"""

from __future__ import annotations

import threading
from collections import defaultdict

from .config import SimulatorConfig
from .runs import FileFilters, StoredFile, WorkspaceData
from .store import RunStore
from .tokens import PageTokens
from .webhooks import SignedUrlStore
from .wire import ApiError, Request, Response, ok, page_size

PRESIGNED_URL_TTL = 15 * 60.0
SORT_DIRECTIONS = ("asc", "desc")


def file_not_found_message(file_id: str) -> str:
    """Extend's message for a file that is not there (also used by the delete faults)."""
    return f"File {file_id!r} doesn't exist or belongs to a different workspace."


class FileEndpoints:
    """Answers the file calls from the run store, holding the app's lock around it."""

    def __init__(
        self,
        config: SimulatorConfig,
        store: RunStore,
        lock: threading.Lock,
        signed: SignedUrlStore,
    ) -> None:
        self.config = config
        self.store = store
        self.lock = lock
        self.tokens = PageTokens(config.seed, purpose="files")
        self.signed = signed
        self._presigned: defaultdict[int, list[str]] = defaultdict(list)

    def list_files(self, request: Request, request_id: str, workspace: WorkspaceData) -> Response:
        """One page of the workspace's live files."""
        direction = request.param("sortDir") or "desc"
        if direction not in SORT_DIRECTIONS:
            raise ApiError(400, f"Invalid sortDir {direction!r}.")
        filters = FileFilters(
            name_contains=request.param("nameContains") or None, ascending=direction == "asc"
        )
        size = page_size(request, self.config.default_page_size, self.config.max_page_size)
        cursor: int | None = None
        token = request.param("nextPageToken")
        if token:
            decoded = self.tokens.decode_files(token, filters)
            if decoded is None or decoded[0] != workspace.number:
                raise ApiError(400, "Invalid nextPageToken.")
            cursor = decoded[1]
        with self.lock:
            files, next_cursor = self.store.file_page(workspace.number, filters, cursor, size)
        next_token = (
            None
            if next_cursor is None
            else self.tokens.encode_files(workspace.number, next_cursor, filters)
        )
        data = [file.summary() for file in files]
        return ok({"object": "list", "data": data, "nextPageToken": next_token}, request_id)

    def get_file(
        self, request_id: str, workspace: WorkspaceData, file_id: str, base_url: str
    ) -> Response:
        """One live file, with a fresh presigned download URL."""
        with self.lock:
            file = self._find(workspace, file_id)
            token = self.signed.put(_download(file), ttl=PRESIGNED_URL_TTL)
            self._presigned[_key(file)].append(token)
        return ok(file.full(f"{base_url}/_sim/signed/{token}"), request_id)

    def delete_file(self, request_id: str, workspace: WorkspaceData, file_id: str) -> Response:
        """Delete a live file for good; raises 404 (deleting nothing) when there is none."""
        with self.lock:
            file = self._find(workspace, file_id)
            self.store.delete_file(file.workspace, file.position)
            for token in self._presigned.pop(_key(file), []):
                self.signed.revoke(token)
        return ok({"id": file_id}, request_id)

    def _find(self, workspace: WorkspaceData, file_id: str) -> StoredFile:
        """The live file ``file_id`` of ``workspace``; 404 otherwise. Call with the lock held."""
        found = self.store.locate_file(file_id)
        file = self.store.file(*found) if found is not None else None
        if file is None or file.workspace != workspace.number:
            raise ApiError(404, file_not_found_message(file_id))
        return file


def _key(file: StoredFile) -> int:
    return file.workspace << 32 | file.position


def _download(file: StoredFile) -> dict[str, object]:
    return {"object": "file_download", "id": file.id, "name": file.name, "type": file.type}
