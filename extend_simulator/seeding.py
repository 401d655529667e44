"""Seeded parse runs: run ``i`` of a workspace is a pure function of ``(seed, workspace, i)``.

Nothing is stored for seeded runs, so a workspace of a million runs costs nothing until it is
listed; the run store keeps only which ones were deleted.

Seeded data has the shape of a real account: a year of history, newest runs still PROCESSING or
PENDING, about 7 % FAILED with Extend's failure reasons, runs submitted in batches (same
``batchId``, same customer) or by workflows, a handful of customers with a skewed share of the
runs (first customer biggest), and file names of every type Extend parses, some with accents.

Each run uploads its own file, unless sharing is asked for: with ``shared_file_every=N`` and
``shared_file_runs=K``, the last K runs of every N consecutive ones process one file (the file of
the first of them that has one), as when a customer re-parses a document. Neighbours may belong
to different customers, so a file can be shared across customers too.
"""

from __future__ import annotations

import bisect
import itertools
from datetime import UTC, datetime
from typing import Any, Final, NamedTuple

from .ids import IdCodec, derive_key, mix64
from .runs import Run, RunFilters, StoredFile, WorkspaceData

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


class _Traits(NamedTuple):
    hash: int
    block_hash: int
    source: str
    status: str
    created: float
    document: int


class SeededRuns:
    """Generates seeded runs and the ids they carry; cheap traits let a listing skip most runs."""

    def __init__(
        self,
        *,
        seed: int,
        customer_key: str,
        untagged_rate: float,
        history_days: float,
        history_end: float,
        shared_file_every: int = 0,
        shared_file_runs: int = 2,
    ) -> None:
        self.customer_key = customer_key
        self.shared_file_every = shared_file_every
        self.shared_file_runs = shared_file_runs
        self.untagged_rate = untagged_rate
        self.history_span = history_days * 86400
        self.history_end = history_end
        # Runs added at run time take their run and file ids from the same codecs.
        self.run_ids = IdCodec(seed, "pr_")
        self.file_ids = IdCodec(seed, "file_")
        self.batch_ids = IdCodec(seed, "bpar_")
        self.workflow_run_ids = IdCodec(seed, "workflow_run_")
        self._key = derive_key(seed, "runs")

    def index_range(self, workspace: int, filters: RunFilters) -> tuple[int, int] | None:
        """Seeded index range that can match a batch or source id filter, or None for all."""
        for value in (filters.batch_id, filters.source_id):
            if not value:
                continue
            block = self.batch_ids.decode(value)
            if block is not None:
                ws, number = block
                return (number * BLOCK, (number + 1) * BLOCK) if ws == workspace else (0, 0)
            single = self.workflow_run_ids.decode(value)
            if single is not None:
                ws, index = single
                return (index, index + 1) if ws == workspace else (0, 0)
            return (0, 0)  # not an id the seeded data uses: only added runs can match
        return None

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

    def may_match(self, data: WorkspaceData, index: int, filters: RunFilters) -> bool:
        """False when a seeded run surely fails the status, source or file name filter."""
        traits = self._traits(data, index)
        if filters.status and traits.status != filters.status:
            return False
        if not filters.batch_id and filters.source and traits.source != filters.source:
            return False
        if filters.file_name_contains:
            position = self.file_position(data, index, traits)
            if position is None:
                return False
            name = self._file_name(self._traits(data, position) if position != index else traits)
            return filters.file_name_contains.casefold() in name.casefold()
        return True

    def file_position(
        self, data: WorkspaceData, index: int, traits: _Traits | None = None
    ) -> int | None:
        """Position of the file seeded run ``index`` processed; None when its file is null."""
        if not _has_file(traits if traits is not None else self._traits(data, index)):
            return None
        every, size = self.shared_file_every, self.shared_file_runs
        if every < 2 or index % every < every - size:
            return index
        for position in range(index - index % every + every - size, index):
            if _has_file(self._traits(data, position)):
                return position
        return index

    def file(self, data: WorkspaceData, position: int) -> StoredFile | None:
        """The seeded file uploaded at ``position``, None when no file sits there."""
        traits = self._traits(data, position)
        if self.file_position(data, position, traits) != position:
            return None
        return self._stored_file(data, position, traits)

    def _stored_file(self, data: WorkspaceData, position: int, traits: _Traits) -> StoredFile:
        _, _, file_type, max_pages = _DOCUMENTS[traits.document]
        return StoredFile(
            id=self.file_ids.encode(data.number, position),
            workspace=data.number,
            position=position,
            name=self._file_name(traits),
            type=file_type,
            page_count=1 + (traits.hash >> 48) % max_pages,
            created_at=traits.created,
        )

    def run(self, data: WorkspaceData, index: int) -> Run:
        """Seeded run ``index`` of the workspace (the caller checks it is a seeded index)."""
        ws = data.number
        traits = self._traits(data, index)
        h, source, status, created = traits.hash, traits.source, traits.status, traits.created

        batch_id: str | None = None
        source_id: str | None = None
        customer_hash = traits.block_hash
        if source == "BATCH_PARSER_RUN":
            batch_id = self.batch_ids.encode(ws, index // BLOCK)
            source_id = batch_id
        elif source == "WORKFLOW_RUN":
            source_id = self.workflow_run_ids.encode(ws, index)
        else:
            customer_hash = h

        processing_ms = 800 + (h >> 34) % 90_000
        position = self.file_position(data, index, traits)
        file_traits = traits
        if position is not None and position != index:
            file_traits = self._traits(data, position)
        file = None if position is None else self._stored_file(data, position, file_traits)
        doc_type, _, _, max_pages = _DOCUMENTS[file_traits.document]
        page_count = file.page_count if file is not None else 1 + (h >> 48) % max_pages

        failure_reason = failure_message = None
        if status == "FAILED":
            failure_reason, failure_message = FAILURES[(h >> 4) % len(FAILURES)]

        metadata: dict[str, Any] | None = None
        customer = data.pick_customer(mix64(customer_hash ^ 0xC057))
        if customer is not None and ((h >> 2) % 10_000) >= self.untagged_rate * 10_000:
            metadata = {self.customer_key: customer, "document_type": doc_type}

        finished = status in ("PROCESSED", "FAILED")
        return Run(
            id=self.run_ids.encode(ws, index),
            workspace=ws,
            index=index,
            status=status,
            source=source,
            source_id=source_id,
            batch_id=batch_id,
            file=file,
            page_count=int(page_count),
            created_at=created,
            updated_at=created + processing_ms / 1000 if finished else created,
            metadata=metadata,
            failure_reason=failure_reason,
            failure_message=failure_message,
            processing_time_ms=int(processing_ms) if status == "PROCESSED" else 0,
        )


def _has_file(traits: _Traits) -> bool:
    """False for a batch run whose file could not be downloaded.

    Extend: ``file`` may be null for batch runs whose file ingestion failed.
    """
    if traits.status != "FAILED" or traits.source != "BATCH_PARSER_RUN":
        return True
    return FAILURES[(traits.hash >> 4) % len(FAILURES)][0] != "UNABLE_TO_DOWNLOAD_FILE"
