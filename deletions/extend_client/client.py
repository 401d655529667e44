"""The calls: list, get and delete parse runs (and get and delete their files), with typed
results.

It deliberately does *not* retry: the deletion engine owns the retry policy and the shared rate
limit, and a hidden retry inside the client would break both (and could send a second DELETE the
engine never recorded).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote

import requests
from requests.adapters import HTTPAdapter

from deletions.core import bounded_json

from .credentials import Credentials
from .errors import Unexpected, UnexpectedSuccess, extend_json_body, request_id_of
from .transport import Transport

MAX_PAGE_SIZE: Final = 100
MAX_RUN_ID_LENGTH: Final = 255

PARSE_RUN_STATUSES: Final = frozenset({"PENDING", "PROCESSING", "PROCESSED", "FAILED"})


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
        self.transport = Transport(
            credentials,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            session=session,
            pool_size=pool_size,
            adapter_class=adapter_class,
        )

    def __repr__(self) -> str:
        return f"ExtendClient({self.credentials!r})"

    def __enter__(self) -> ExtendClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections if this client created the session."""
        self.transport.close()

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
            response = self.transport.request("GET", "/parse_runs", params=params)
            body = _json_object(response)
            data = body.get("data")
            if not isinstance(data, list) or not all(isinstance(run, dict) for run in data):
                raise _unexpected(response, "list body has no 'data' list of objects")
            next_token = body.get("nextPageToken")
            if next_token is not None and not isinstance(next_token, str):
                raise _unexpected(response, "nextPageToken is not a string")
            yield ParseRunPage(
                runs=data, next_page_token=next_token or None, request_id=request_id_of(response)
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
        response = self.transport.request(
            "GET", f"/parse_runs/{encode_run_id(run_id)}", params=params
        )
        return _json_object(response)

    def delete_parse_run(self, run_id: str) -> Deleted:
        """Delete one parse run permanently.

        A lost answer (connection cut, read timeout) raises ``Transient``: the delete may or may
        not have happened, and only a later call can tell (a 404 then means it did).
        """
        return self._delete("/parse_runs", run_id, "run")

    def get_file(self, file_id: str) -> dict[str, Any]:
        """Return one uploaded file; raise ``NotFound`` if it is gone or in another workspace."""
        return _json_object(self.transport.request("GET", f"/files/{encode_run_id(file_id)}"))

    def delete_file(self, file_id: str) -> Deleted:
        """Delete one uploaded file permanently ("a file and all associated data"); runs that
        processed it keep their outputs. Same answers and the same strictness as a run's."""
        return self._delete("/files", file_id, "file")

    def _delete(self, collection: str, resource_id: str, noun: str) -> Deleted:
        response = self.transport.request("DELETE", f"{collection}/{encode_run_id(resource_id)}")
        # Deleted only on Extend's own answer: a JSON object naming this resource. A maintenance
        # page, an empty 204 or another id proves nothing about this one.
        body = extend_json_body(response)
        if body is None:
            raise _unexpected_success(response, "a success without Extend's JSON body")
        if body.get("id") != resource_id:
            raise _unexpected_success(
                response, f"a success naming {str(body.get('id'))[:80]!r}, not this {noun}"
            )
        return Deleted(
            run_id=resource_id, request_id=request_id_of(response), status=response.status_code
        )


def _json_object(response: requests.Response) -> dict[str, Any]:
    try:
        body = bounded_json.loads(response.content, max_bytes=None)
    except ValueError:
        raise _unexpected(response, "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _unexpected(response, "the body is not a JSON object")
    return body


def _unexpected(response: requests.Response, why: str) -> Unexpected:
    return Unexpected(why, status=response.status_code, request_id=request_id_of(response))


def _unexpected_success(response: requests.Response, why: str) -> UnexpectedSuccess:
    return UnexpectedSuccess(
        f"DELETE answered {response.status_code} with {why}",
        status=response.status_code,
        request_id=request_id_of(response),
    )
