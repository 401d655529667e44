"""A parse run and its file as the simulator keeps them, the lists' filters, a workspace's runs.

A ``Run`` knows more than any one answer shows; it writes Extend's wire objects itself (the list
summary, the full run, the webhook status payload), so every endpoint shows a run the same way.
A ``StoredFile`` is the document a run processed; several runs may carry the same one. It sits at
a *position*: the index of the run that uploaded it, so files list in upload order without a
table of their own.
"""

from __future__ import annotations

import bisect
import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

STATUSES: Final = ("PENDING", "PROCESSING", "PROCESSED", "FAILED")
SOURCES: Final = (
    "API",
    "STUDIO",
    "WORKFLOW_RUN",
    "ADMIN",
    "BATCH_PARSER_RUN",
    "EDIT_RUN",
    "DOCUMENT_PROCESSOR_RUN",
)


def iso(timestamp: float) -> str:
    """ISO-8601 in UTC with milliseconds, as Extend writes timestamps."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class RunFilters:
    """The filters of ``GET /parse_runs`` (already validated)."""

    status: str | None = None
    batch_id: str | None = None
    source: str | None = None
    source_id: str | None = None
    file_name_contains: str | None = None

    def is_empty(self) -> bool:
        """True when nothing is filtered."""
        return not any(
            (self.status, self.batch_id, self.source, self.source_id, self.file_name_contains)
        )


@dataclass(frozen=True)
class FileFilters:
    """The query of ``GET /files`` (already validated)."""

    name_contains: str | None = None
    ascending: bool = False  # ``sortDir=asc``: oldest first


@dataclass(frozen=True)
class StoredFile:
    """An uploaded file: where it sits in its workspace and what Extend shows of it."""

    id: str
    workspace: int
    position: int  # index of the run that uploaded it
    name: str
    type: str | None
    page_count: int
    created_at: float

    def matches(self, filters: FileFilters) -> bool:
        """Whether the file passes ``nameContains`` (case-insensitive, as for runs)."""
        needle = filters.name_contains
        return not needle or needle.casefold() in self.name.casefold()

    def summary(self) -> dict[str, Any]:
        """The FileSummary wire object: in ``GET /files`` and embedded in every run."""
        body: dict[str, Any] = {"object": "file", "id": self.id, "name": self.name}
        if self.type:
            body["type"] = self.type
        body["metadata"] = {"pageCount": self.page_count}
        body["createdAt"] = iso(self.created_at)
        body["updatedAt"] = iso(self.created_at)
        return body

    def full(self, presigned_url: str) -> dict[str, Any]:
        """The File wire object of ``GET /files/{id}`` (only it carries ``presignedUrl``)."""
        body = self.summary()
        body["presignedUrl"] = presigned_url
        return body


@dataclass
class Run:
    """Everything the simulator knows about one run (more than a summary shows)."""

    id: str
    workspace: int
    index: int
    status: str
    source: str
    source_id: str | None
    batch_id: str | None
    file: StoredFile | None  # None: Extend sends ``"file": null`` (ingestion failed)
    page_count: int
    created_at: float
    updated_at: float
    metadata: dict[str, Any] | None
    failure_reason: str | None = None
    failure_message: str | None = None
    processing_time_ms: int = 0

    def matches(self, filters: RunFilters) -> bool:
        """Whether this run passes the filters (``batchId`` takes precedence over ``source``)."""
        if filters.status and self.status != filters.status:
            return False
        if filters.batch_id:
            if self.batch_id != filters.batch_id:
                return False
        elif filters.source and self.source != filters.source:
            return False
        if filters.source_id and self.source_id != filters.source_id:
            return False
        if filters.file_name_contains:
            # Case-insensitive: undocumented at Extend; a search box user expects this.
            needle = filters.file_name_contains.casefold()
            if self.file is None or needle not in self.file.name.casefold():
                return False
        return True

    def summary(self) -> dict[str, Any]:
        """The ParseRunSummary wire object of ``GET /parse_runs``."""
        body: dict[str, Any] = {"object": "parse_run", "id": self.id}
        if self.batch_id:
            body["batchId"] = self.batch_id
        # The run keeps showing its file after DELETE /files/{id}: Extend documents that runs
        # which processed a deleted file keep their outputs and never says the run's ``file``
        # changes, so the reference stays (C). A client must not read it as "the file exists".
        body["file"] = self.file.summary() if self.file is not None else None
        body["status"] = self.status
        if self.status == "FAILED":
            body["failureReason"] = self.failure_reason
            body["failureMessage"] = self.failure_message
        if self.metadata is not None:
            body["metadata"] = self.metadata
        if self.status == "PROCESSED":
            body["metrics"] = {
                "processingTimeMs": self.processing_time_ms,
                "pageCount": self.page_count,
            }
            body["usage"] = {"credits": self._credits()}
        body["createdAt"] = iso(self.created_at)
        body["updatedAt"] = iso(self.updated_at)
        return body

    def full(self, output_url: str | None = None) -> dict[str, Any]:
        """The ParseRun wire object of ``GET /parse_runs/{id}``."""
        body = self.summary()
        body["config"] = {
            "target": "markdown",
            "chunkingStrategy": {"type": "page"},
            "engine": "parse_performance",
        }
        if self.status == "PROCESSED":
            if output_url is not None:
                body["outputUrl"] = output_url
            else:
                body["output"] = self.output()
            body["usage"] = {
                "credits": self._credits(),
                "breakdown": [{"type": "parse", "credits": self._credits()}],
            }
        return body

    def output(self) -> dict[str, Any]:
        """A small parse output: one chunk per page (at most three)."""
        title = self.file.name if self.file is not None else "document"
        chunks = [
            {
                "object": "chunk",
                "type": "page",
                "content": f"# {title}\n\nPage {page} of {self.page_count}.",
                "metadata": {"pageRange": {"start": page, "end": page}},
                "blocks": [],
            }
            for page in range(1, min(self.page_count, 3) + 1)
        ]
        return {"chunks": chunks}

    def status_payload(self) -> dict[str, Any]:
        """The ``parse_run_status`` object that webhook events carry."""
        body: dict[str, Any] = {"object": "parse_run_status", "id": self.id, "status": self.status}
        if self.status == "FAILED":
            body["failureReason"] = self.failure_reason
            body["failureMessage"] = self.failure_message
        if self.metadata is not None:
            body["metadata"] = self.metadata
        return body

    def _credits(self) -> float:
        return round(self.page_count * 1.5, 2)


@dataclass
class WorkspaceData:
    """A workspace's runs: ``seeded`` generated ones, then ``added`` explicit ones."""

    number: int
    id: str
    org_id: str
    seeded: int
    customers: tuple[str, ...]
    added: list[Run] = field(default_factory=list)
    _customer_cumulative: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        # Zipf-like shares: the first customer has the most runs, as real accounts do.
        weights = [1 / (rank + 1) for rank in range(len(self.customers))]
        self._customer_cumulative = tuple(itertools.accumulate(weights))

    @property
    def total(self) -> int:
        """Index one past the newest run."""
        return self.seeded + len(self.added)

    def pick_customer(self, hashed: int) -> str | None:
        """A customer chosen by a 64-bit hash with the Zipf-like shares."""
        if not self.customers:
            return None
        point = (hashed / 2**64) * self._customer_cumulative[-1]
        position = bisect.bisect_right(self._customer_cumulative, point)
        return self.customers[min(position, len(self.customers) - 1)]
