"""Deterministic, lazily generated parse runs.

Run ``i`` of a workspace is a pure function of ``(seed, workspace number, i)``: nothing is stored
for seeded runs except the set of deleted ones, so a workspace of a million runs costs nothing
until it is listed. Runs added at run time are kept as explicit records after the seeded ones.

Seeded data has the shape of a real account: a year of history, newest runs still PROCESSING or
PENDING, about 7 % FAILED with Extend's failure reasons, runs submitted in batches (same
``batchId``, same customer) or by workflows, a handful of customers with a skewed share of the
runs (first customer biggest), and file names of every type Extend parses, some with accents.
Listing is newest first (Extend does not document an order; newest first is what its dashboard
shows).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from .ids import MAX_INDEX, IdCodec, derive_key, mix64

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
BLOCK: Final = 50  # runs per batch or workflow block

# (document type, name pattern, Extend file type, max pages); weights in _DOC_WEIGHTS.
_DOCUMENTS: Final = (
    ("invoice", "Invoice_{n:05d}.pdf", "PDF", 4),
    ("bank_statement", "Bank Statement {month} {year}.pdf", "PDF", 12),
    ("receipt", "IMG_{n:04d}.jpg", "IMG", 1),
    ("tax_form", "W-2 {year} copy B.pdf", "PDF", 2),
    ("contract", "Master Services Agreement v{v}.docx", "DOCX", 40),
    ("claims", "claims_export_{date}.xlsx", "EXCEL", 9),
    ("payroll", "payroll_{date}.csv", "CSV", 3),
    ("email", "Fwd_ Purchase order {n}.html", "HTML", 2),
    ("purchase_order", "PO-{n:06d}.xml", "XML", 2),
    ("intake_notes", "intake_notes_{n}.txt", "TXT", 1),
    ("invoice", "Facture_Société_{n:05d}.pdf", "PDF", 3),
    ("delivery_note", "Lieferschein Nr. {n} (Müller).pdf", "PDF", 2),
    ("id_document", "drivers_license_scan_{n}.png", "IMG", 1),
)
_DOC_WEIGHTS: Final = (22, 10, 12, 5, 6, 5, 5, 5, 6, 4, 4, 4, 3)
_DOC_CUMULATIVE: Final = tuple(itertools.accumulate(_DOC_WEIGHTS))
_MONTHS: Final = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip
FAILURES: Final = (
    ("UNABLE_TO_DOWNLOAD_FILE", "The file could not be downloaded from the provided URL."),
    ("FILE_TYPE_NOT_SUPPORTED", "The file type is not supported for parsing."),
    ("CORRUPT_FILE", "The file appears to be corrupted or malformed."),
    ("PASSWORD_PROTECTED_FILE", "The file is password protected and cannot be processed."),
    ("OCR_ERROR", "An error occurred during optical character recognition."),
    ("FILE_SIZE_TOO_LARGE", "The file exceeds the maximum allowed size."),
)


def iso(timestamp: float) -> str:
    """ISO-8601 in UTC with milliseconds, as Extend writes timestamps."""
    moment = datetime.fromtimestamp(timestamp, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class _Traits(NamedTuple):
    hash: int
    block_hash: int
    source: str
    status: str
    created: float
    document: int


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
    file_id: str | None
    file_name: str | None
    file_type: str | None
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
            if self.file_name is None or needle not in self.file_name.casefold():
                return False
        return True

    def summary(self) -> dict[str, Any]:
        """The ParseRunSummary wire object of ``GET /parse_runs``."""
        body: dict[str, Any] = {"object": "parse_run", "id": self.id}
        if self.batch_id:
            body["batchId"] = self.batch_id
        body["file"] = self._file()
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
        title = self.file_name or "document"
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

    def _file(self) -> dict[str, Any] | None:
        if self.file_id is None:
            return None
        file: dict[str, Any] = {"object": "file", "id": self.file_id, "name": self.file_name}
        if self.file_type:
            file["type"] = self.file_type
        file["metadata"] = {"pageCount": self.page_count}
        file["createdAt"] = iso(self.created_at)
        file["updatedAt"] = iso(self.created_at)
        return file

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


class RunStore:
    """All workspaces' runs, deletions and lookups. Not thread-safe: the server holds a lock."""

    def __init__(
        self,
        *,
        seed: int,
        customer_key: str,
        untagged_rate: float,
        history_days: float,
        history_end: float,
    ) -> None:
        self.seed = seed
        self.customer_key = customer_key
        self.untagged_rate = untagged_rate
        self.history_span = history_days * 86400
        self.history_end = history_end
        self.runs = IdCodec(seed, "pr_")
        self.files = IdCodec(seed, "file_")
        self.batches = IdCodec(seed, "bpar_")
        self.workflow_runs = IdCodec(seed, "workflow_run_")
        self._key = derive_key(seed, "runs")
        self.workspaces: list[WorkspaceData] = []
        self.by_id: dict[str, WorkspaceData] = {}
        self.deleted: set[int] = set()
        self._added_ids: dict[str, tuple[int, int]] = {}

    def add_workspace(
        self, workspace_id: str, org_id: str, runs: int, customers: tuple[str, ...]
    ) -> WorkspaceData:
        """Register a workspace with ``runs`` seeded runs."""
        if runs > MAX_INDEX:
            raise ValueError("too many runs")
        data = WorkspaceData(len(self.workspaces), workspace_id, org_id, runs, customers)
        self.workspaces.append(data)
        self.by_id[workspace_id] = data
        return data

    # -- lookups -----------------------------------------------------------------------------

    def resolve(self, run_id: str) -> tuple[int, int] | None:
        """``(workspace number, index)`` of a run that exists or existed, else None."""
        found = self._added_ids.get(run_id) or self.runs.decode(run_id)
        if found is None:
            return None
        workspace, index = found
        if workspace >= len(self.workspaces):
            return None
        data = self.workspaces[workspace]
        if index >= data.total or self.run_id(workspace, index) != run_id:
            return None
        return found

    def locate(self, run_id: str) -> tuple[int, int] | None:
        """``(workspace number, index)`` of a live (not deleted) run, else None."""
        found = self.resolve(run_id)
        if found is None or self.is_deleted(*found):
            return None
        return found

    def is_deleted(self, workspace: int, index: int) -> bool:
        """Whether run ``index`` of the workspace has been deleted."""
        return (workspace << 32 | index) in self.deleted

    def delete(self, workspace: int, index: int) -> None:
        """Mark a run deleted: it disappears from GET and list for good."""
        self.deleted.add(workspace << 32 | index)

    def run(self, workspace: int, index: int) -> Run:
        """Run ``index`` of workspace number ``workspace`` (deleted or not)."""
        data = self.workspaces[workspace]
        if index >= data.seeded:
            return data.added[index - data.seeded]
        return self._generate(data, index)

    def run_id(self, workspace: int, index: int) -> str:
        """The id of run ``index`` without generating the rest of it."""
        data = self.workspaces[workspace]
        if index >= data.seeded:
            return data.added[index - data.seeded].id
        return self.runs.encode(workspace, index)

    # -- listing -----------------------------------------------------------------------------

    def page(
        self, workspace: int, filters: RunFilters, before: int | None, size: int
    ) -> tuple[list[Run], int | None]:
        """Up to ``size`` live runs matching ``filters`` with index < ``before``, newest first.

        Returns the runs and the ``before`` for the next page (None when there is none).
        """
        found: list[Run] = []
        last_index: int | None = None
        data = self.workspaces[workspace]
        prefilter = not filters.is_empty()
        for index in self._candidates(workspace, filters, before):
            if self.is_deleted(workspace, index):
                continue
            if prefilter and index < data.seeded and not self._may_match(data, index, filters):
                continue
            run = self.run(workspace, index)
            if not run.matches(filters):
                continue
            if len(found) == size:
                # One more match exists: there is a next page, starting below the last shown.
                return found, last_index
            found.append(run)
            last_index = index
        return found, None

    def _candidates(self, workspace: int, filters: RunFilters, before: int | None) -> Iterator[int]:
        """Indices that may match, descending; narrowed by ids that encode their block."""
        data = self.workspaces[workspace]
        top = data.total if before is None else min(before, data.total)
        added = range(top - 1, data.seeded - 1, -1)
        seeded_top = min(top, data.seeded)
        narrowed = self._narrow(workspace, filters)
        if narrowed is None:
            yield from added
            yield from range(seeded_top - 1, -1, -1)
            return
        yield from added
        start, stop = narrowed
        yield from range(min(stop, seeded_top) - 1, start - 1, -1)

    def _narrow(self, workspace: int, filters: RunFilters) -> tuple[int, int] | None:
        """Seeded index range that can match a batch or source id filter, or None for all."""
        for value in (filters.batch_id, filters.source_id):
            if not value:
                continue
            block = self.batches.decode(value)
            if block is not None:
                ws, number = block
                return (number * BLOCK, (number + 1) * BLOCK) if ws == workspace else (0, 0)
            single = self.workflow_runs.decode(value)
            if single is not None:
                ws, index = single
                return (index, index + 1) if ws == workspace else (0, 0)
            return (0, 0)  # not an id the seeded data uses: only added runs can match
        return None

    # -- generation --------------------------------------------------------------------------

    def _hash(self, *parts: int) -> int:
        value = self._key
        for part in parts:
            value = mix64(value ^ part)
        return value

    def _traits(self, data: WorkspaceData, index: int) -> _Traits:
        """The cheap part of a seeded run: enough to filter without building it."""
        ws = data.number
        h = self._hash(ws, index)
        block_hash = self._hash(ws, index // BLOCK, 0xB10C)
        block_kind = block_hash % 100
        if block_kind < 12:
            source = "BATCH_PARSER_RUN"
        elif block_kind < 22:
            source = "WORKFLOW_RUN"
        else:
            source = "API" if (h >> 8) % 100 < 88 else "STUDIO"

        # Runs created in the last ~1 % of history may still be in flight.
        recent = index >= data.seeded - max(3, data.seeded // 100)
        roll = (h >> 16) % 1000
        if recent and roll < 400:
            in_batch = source == "BATCH_PARSER_RUN"
            status = "PENDING" if in_batch and roll < 150 else "PROCESSING"
        elif roll < 930 or recent:
            status = "PROCESSED"
        else:
            status = "FAILED"

        step = self.history_span / max(data.seeded, 1)
        created = self.history_end - self.history_span + (index + ((h >> 24) % 1000) / 1000) * step
        document = bisect.bisect_right(_DOC_CUMULATIVE, (h >> 40) % _DOC_CUMULATIVE[-1])
        return _Traits(h, block_hash, source, status, created, document)

    def _file_name(self, traits: _Traits) -> str:
        pattern = _DOCUMENTS[traits.document][1]
        h = traits.hash
        if "{month}" in pattern or "{year}" in pattern or "{date}" in pattern:
            moment = datetime.fromtimestamp(traits.created, tz=UTC)
            return pattern.format(
                n=(h >> 20) % 100_000,
                v=1 + (h >> 12) % 5,
                month=_MONTHS[moment.month - 1],
                year=moment.year,
                date=moment.strftime("%Y-%m-%d"),
            )
        return pattern.format(n=(h >> 20) % 100_000, v=1 + (h >> 12) % 5)

    def _may_match(self, data: WorkspaceData, index: int, filters: RunFilters) -> bool:
        """False when a seeded run surely fails the status, source or file name filter."""
        traits = self._traits(data, index)
        if filters.status and traits.status != filters.status:
            return False
        if not filters.batch_id and filters.source and traits.source != filters.source:
            return False
        if filters.file_name_contains:
            return filters.file_name_contains.casefold() in self._file_name(traits).casefold()
        return True

    def _generate(self, data: WorkspaceData, index: int) -> Run:
        ws = data.number
        traits = self._traits(data, index)
        h, source, status, created = traits.hash, traits.source, traits.status, traits.created

        batch_id: str | None = None
        source_id: str | None = None
        customer_hash = traits.block_hash
        if source == "BATCH_PARSER_RUN":
            batch_id = self.batches.encode(ws, index // BLOCK)
            source_id = batch_id
        elif source == "WORKFLOW_RUN":
            source_id = self.workflow_runs.encode(ws, index)
        else:
            customer_hash = h

        processing_ms = 800 + (h >> 34) % 90_000
        doc_type, _, file_type, max_pages = _DOCUMENTS[traits.document]
        page_count = 1 + (h >> 48) % max_pages

        failure_reason = failure_message = None
        file_id: str | None = self.files.encode(ws, index)
        if status == "FAILED":
            failure_reason, failure_message = FAILURES[(h >> 4) % len(FAILURES)]
            if batch_id and failure_reason == "UNABLE_TO_DOWNLOAD_FILE":
                # Extend: file may be null for batch runs whose file ingestion failed.
                file_id = None

        metadata: dict[str, Any] | None = None
        customer = data.pick_customer(mix64(customer_hash ^ 0xC057))
        if customer is not None and ((h >> 2) % 10_000) >= self.untagged_rate * 10_000:
            metadata = {self.customer_key: customer, "document_type": doc_type}

        finished = status in ("PROCESSED", "FAILED")
        return Run(
            id=self.runs.encode(ws, index),
            workspace=ws,
            index=index,
            status=status,
            source=source,
            source_id=source_id,
            batch_id=batch_id,
            file_id=file_id,
            file_name=self._file_name(traits) if file_id else None,
            file_type=file_type if file_id else None,
            page_count=int(page_count),
            created_at=created,
            updated_at=created + processing_ms / 1000 if finished else created,
            metadata=metadata,
            failure_reason=failure_reason,
            failure_message=failure_message,
            processing_time_ms=int(processing_ms) if status == "PROCESSED" else 0,
        )

    # -- runs added at run time --------------------------------------------------------------

    def add_run(self, workspace: int, spec: dict[str, Any], now: float) -> Run:
        """Append an explicit run to a workspace; ``spec`` may set any wire-level field."""
        data = self.workspaces[workspace]
        index = data.total
        if index > MAX_INDEX:
            raise ValueError("workspace is full")
        run_id = spec.get("id")
        if run_id is None:
            run_id = self.runs.encode(workspace, index)
        elif not isinstance(run_id, str) or not 1 <= len(run_id) <= 255:
            raise ValueError("id must be a string of 1 to 255 characters")
        elif run_id in self._added_ids or self.runs.decode(run_id) is not None:
            raise ValueError(f"run {run_id} already exists")
        status = spec.get("status", "PROCESSED")
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        source = spec.get("source", "API")
        if source not in SOURCES:
            raise ValueError(f"unknown source {source!r}")
        metadata = spec.get("metadata")
        customer = spec.get("customer")
        if customer is not None:
            metadata = {**(metadata or {}), self.customer_key: customer}
        if metadata is not None and not isinstance(metadata, dict):
            raise ValueError("metadata must be an object")
        file_name = spec.get("file_name", spec.get("fileName", f"upload_{index}.pdf"))
        created = float(spec.get("created_at", now))
        failure_reason = failure_message = None
        if status == "FAILED":
            failure_reason = spec.get("failure_reason", "CORRUPT_FILE")
            failure_message = spec.get("failure_message", "The file appears to be corrupted.")
        pages = int(spec.get("page_count", 1))
        run = Run(
            id=run_id,
            workspace=workspace,
            index=index,
            status=status,
            source=source,
            source_id=spec.get("source_id", spec.get("sourceId")),
            batch_id=spec.get("batch_id", spec.get("batchId")),
            file_id=self.files.encode(workspace, index),
            file_name=str(file_name),
            file_type=spec.get("file_type", _guess_type(str(file_name))),
            page_count=pages,
            created_at=created,
            updated_at=created,
            metadata=metadata,
            failure_reason=failure_reason,
            failure_message=failure_message,
            processing_time_ms=1200 if status == "PROCESSED" else 0,
        )
        data.added.append(run)
        self._added_ids[run_id] = (workspace, index)
        return run

    def live_count(self, workspace: int) -> int:
        """Runs of a workspace that are not deleted (deleted ones are counted, not scanned)."""
        data = self.workspaces[workspace]
        lo, hi = workspace << 32, (workspace + 1) << 32
        gone = sum(1 for key in self.deleted if lo <= key < hi)
        return data.total - gone


def _guess_type(file_name: str) -> str | None:
    extension = file_name.rsplit(".", 1)[-1].lower() if "." in file_name else ""
    return {
        "pdf": "PDF",
        "png": "IMG",
        "jpg": "IMG",
        "jpeg": "IMG",
        "tif": "IMG",
        "tiff": "IMG",
        "docx": "DOCX",
        "doc": "DOCX",
        "xlsx": "EXCEL",
        "xls": "EXCEL",
        "csv": "CSV",
        "txt": "TXT",
        "html": "HTML",
        "xml": "XML",
    }.get(extension)
