"""Importing parse runs from a CSV file staff upload: parsing, validation and the import itself.

The file needs a header row naming a run-id column and a customer-reference column, and may
name a file-name column and a file-id column (``run_id,customer_ref,file_name,file_id``; common
variants such as ``id``, ``parse_run_id`` or ``customer`` are accepted). An empty file name or
file id leaves what the inventory knows as it is. Validation finds every problem before anything
is written, and ``apply_import`` writes all rows in one transaction or none.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from deletions import audit
from deletions.models import Customer, ParseRun, Source, Workspace

MAX_ROWS = 100_000
MAX_FILE_BYTES = 32 * 1024 * 1024
MAX_RUN_ID = 255
MAX_REF = 255
MAX_FILE_NAME = 1024
MAX_FILE_ID = 255
# Problems beyond this many are counted, not listed: nobody reads 100,000 messages.
MAX_LISTED_ERRORS = 500
_CHUNK = 5000

COLUMNS: dict[str, frozenset[str]] = {
    "run_id": frozenset(
        {"run_id", "id", "parse_run_id", "parse_run", "run", "runid", "parserunid", "parserun_id"}
    ),
    "customer_ref": frozenset(
        {
            "customer_ref",
            "customer",
            "customer_id",
            "customer_reference",
            "external_ref",
            "customer_external_ref",
            "reference",
            "ref",
        }
    ),
    "file_name": frozenset({"file_name", "filename", "file", "name", "document"}),
    "file_id": frozenset({"file_id", "fileid", "extend_file_id"}),
}
REQUIRED = ("run_id", "customer_ref")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ImportRow:
    line: int
    run_id: str
    customer_ref: str
    file_name: str | None
    file_id: str | None = None


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class ImportPreview:
    """What an uploaded file would import, or why it cannot be imported."""

    workspace: Workspace
    rows: list[ImportRow] = field(default_factory=list)
    file_errors: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    new_count: int = 0
    update_count: int = 0
    per_customer: Counter[str] = field(default_factory=Counter)
    columns: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.file_errors and not self.error_count and bool(self.rows)

    def add_error(self, line: int, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_LISTED_ERRORS:
            self.errors.append(RowError(line, message))

    @property
    def customer_counts(self) -> list[tuple[str, int]]:
        """Rows per customer reference, most first (templates cannot call ``most_common``)."""
        return self.per_customer.most_common()

    @property
    def unlisted_errors(self) -> int:
        return self.error_count - len(self.errors)


def normalise_header(name: str) -> str:
    return re.sub(r"[\s\-.]+", "_", name.strip().lower()).strip("_")


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _decode(data: bytes, preview: ImportPreview) -> str | None:
    if not data.strip():
        preview.file_errors.append("The file is empty.")
        return None
    if len(data) > MAX_FILE_BYTES:
        preview.file_errors.append(
            f"The file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it."
        )
        return None
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        preview.file_errors.append(
            "The file is saved as UTF-16. Save it as “CSV UTF-8” and upload it again."
        )
        return None
    if b"\x00" in data:
        preview.file_errors.append("This is not a CSV text file (it contains binary data).")
        return None
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
        preview.notes.append("The file starts with a byte-order mark (BOM); it was ignored.")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        preview.file_errors.append(
            f"The file is not UTF-8 text (line {line} has bytes that are not). "
            "Save it as “CSV UTF-8” and upload it again."
        )
        return None


def _records(text: str, preview: ImportPreview) -> Iterator[tuple[int, list[str]]]:
    """Rows with their line numbers; a CSV syntax error becomes a file error."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for record in reader:
            yield reader.line_num, record
    except csv.Error as error:
        preview.file_errors.append(f"Line {reader.line_num + 1} is not valid CSV: {error}.")


def _map_columns(header: Sequence[str], preview: ImportPreview) -> dict[str, int] | None:
    mapping: dict[str, int] = {}
    unknown = []
    for position, raw in enumerate(header):
        name = normalise_header(raw)
        column = next((col for col, names in COLUMNS.items() if name in names), None)
        if column is None:
            unknown.append(raw.strip() or f"(empty, column {position + 1})")
        elif column in mapping:
            preview.file_errors.append(f"Two columns mean {column}: keep one.")
        else:
            mapping[column] = position
    if unknown:
        preview.file_errors.append(
            "Unknown column" + ("s" if len(unknown) > 1 else "") + ": "
            f"{', '.join(unknown[:5])}. Expected a header row with run_id, customer_ref "
            "and optionally file_name and file_id."
        )
    missing = [column for column in REQUIRED if column not in mapping]
    if missing:
        preview.file_errors.append(
            f"Missing column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}. "
            "The first row must be a header such as run_id,customer_ref,file_name."
        )
    if preview.file_errors:
        return None
    preview.columns = [column for column in COLUMNS if column in mapping]
    return mapping


def _check_row(
    line: int, record: list[str], mapping: dict[str, int], width: int, preview: ImportPreview
) -> ImportRow | None:
    if len(record) != width:
        preview.add_error(line, f"Expected {width} fields, found {len(record)}.")
        return None
    run_id = record[mapping["run_id"]].strip()
    ref = record[mapping["customer_ref"]].strip()
    name = record[mapping["file_name"]].strip() if "file_name" in mapping else None
    file_id = record[mapping["file_id"]].strip() if "file_id" in mapping else None
    problems = []
    if not run_id:
        problems.append("the run id is empty")
    elif len(run_id) > MAX_RUN_ID:
        problems.append(f"the run id is longer than {MAX_RUN_ID} characters")
    elif _CONTROL.search(run_id) or " " in run_id:
        problems.append("the run id contains spaces or control characters")
    if not ref:
        problems.append("the customer reference is empty")
    elif len(ref) > MAX_REF:
        problems.append(f"the customer reference is longer than {MAX_REF} characters")
    if name is not None and len(name) > MAX_FILE_NAME:
        problems.append(f"the file name is longer than {MAX_FILE_NAME} characters")
    elif name is not None and _CONTROL.search(name):
        problems.append("the file name contains control characters")
    # Loosely, as Extend documents ids: opaque, up to 255 characters, "file_" only a convention.
    if file_id is not None and len(file_id) > MAX_FILE_ID:
        problems.append(f"the file id is longer than {MAX_FILE_ID} characters")
    elif file_id is not None and (_CONTROL.search(file_id) or " " in file_id):
        problems.append("the file id contains spaces or control characters")
    if problems:
        preview.add_error(line, "; ".join(problems).capitalize() + ".")
        return None
    return ImportRow(line, run_id, ref, name or None, file_id or None)


def parse(data: bytes, workspace: Workspace) -> ImportPreview:
    """Parse and validate *data* for an import into *workspace*; nothing is written."""
    preview = ImportPreview(workspace=workspace)
    text = _decode(data, preview)
    if text is None:
        return preview
    mapping: dict[str, int] | None = None
    width = 0
    seen: dict[str, int] = {}
    rows: list[ImportRow] = []
    for line, record in _records(text, preview):
        if not any(value.strip() for value in record):
            continue
        if mapping is None:
            mapping = _map_columns(record, preview)
            if mapping is None:
                return preview
            width = len(record)
            continue
        if len(rows) + preview.error_count >= MAX_ROWS:
            preview.file_errors.append(
                f"The file has more than {MAX_ROWS:,} rows; split it into smaller files."
            )
            return preview
        row = _check_row(line, record, mapping, width, preview)
        if row is None:
            continue
        first = seen.get(row.run_id)
        if first is not None:
            preview.add_error(line, f"Run {row.run_id} is already on line {first}.")
            continue
        seen[row.run_id] = line
        rows.append(row)
    if preview.file_errors:
        return preview
    if mapping is None:
        preview.file_errors.append("The file has no header row and no data.")
        return preview
    if not rows and not preview.error_count:
        preview.file_errors.append("The file has a header row but no data rows.")
        return preview
    _check_against_database(rows, preview)
    return preview


def _chunks(items: Sequence[Any], size: int = _CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _check_against_database(rows: list[ImportRow], preview: ImportPreview) -> None:
    workspace = preview.workspace
    refs = sorted({row.customer_ref for row in rows})
    customers: dict[str, int] = {}
    for chunk in _chunks(refs):
        customers.update(
            Customer.objects.filter(external_ref__in=chunk).values_list("external_ref", "pk")
        )
    known: dict[str, dict[str, Any]] = {}
    for chunk in _chunks([row.run_id for row in rows]):
        for found in ParseRun.objects.filter(run_id__in=chunk).values(
            "run_id", "workspace_id", "workspace__name", "customer_id", "state", "open_request_id"
        ):
            # A run id may exist in several workspaces; this one's row is the one that counts.
            if found["workspace_id"] == workspace.pk or found["run_id"] not in known:
                known[found["run_id"]] = dict(found)
    valid: list[ImportRow] = []
    for row in rows:
        customer_id = customers.get(row.customer_ref)
        existing = known.get(row.run_id)
        if customer_id is None:
            preview.add_error(row.line, f"No customer has the reference “{row.customer_ref}”.")
        elif existing is not None and existing["workspace_id"] != workspace.pk:
            preview.add_error(
                row.line,
                f"Run {row.run_id} is already known in workspace “{existing['workspace__name']}”.",
            )
        elif existing is not None and existing["state"] != ParseRun.State.PRESENT:
            preview.add_error(row.line, f"Run {row.run_id} is already deleted or gone at Extend.")
        elif existing is not None and existing["open_request_id"] is not None:
            preview.add_error(row.line, f"Run {row.run_id} is part of an open deletion request.")
        elif existing is not None and existing["customer_id"] not in (None, customer_id):
            preview.add_error(row.line, f"Run {row.run_id} already belongs to another customer.")
        else:
            valid.append(row)
            preview.per_customer[row.customer_ref] += 1
            if existing is None:
                preview.new_count += 1
            else:
                preview.update_count += 1
    preview.rows = valid


def apply_import(
    data: bytes, workspace: Workspace, *, actor: Any, source: Source | str = Source.WEB
) -> ImportPreview:
    """Validate *data* again and import every row in one transaction, or nothing.

    Returns the preview; if ``preview.ok`` is False nothing was written.
    """
    with transaction.atomic():
        preview = parse(data, workspace)
        if not preview.ok:
            return preview
        now = timezone.now()
        customers = dict(
            Customer.objects.filter(
                external_ref__in={row.customer_ref for row in preview.rows}
            ).values_list("external_ref", "pk")
        )
        # A known run gets only what its row carries: an empty cell keeps what a sync stored.
        shapes: dict[tuple[str, ...], list[ImportRow]] = {}
        for row in preview.rows:
            carried = {"file_name": row.file_name is not None, "file_id": row.file_id is not None}
            fields = ("customer", *(name for name, known in carried.items() if known))
            shapes.setdefault(fields, []).append(row)
        for fields, rows in shapes.items():
            for chunk in _chunks(rows):
                ParseRun.objects.bulk_create(
                    [
                        ParseRun(
                            workspace=workspace,
                            run_id=row.run_id,
                            customer_id=customers[row.customer_ref],
                            file_name=row.file_name or "",
                            file_id=row.file_id or "",
                            first_seen_at=now,
                            last_seen_at=now,
                        )
                        for row in chunk
                    ],
                    update_conflicts=True,
                    unique_fields=["workspace", "run_id"],
                    update_fields=list(fields),
                )
        audit.record(
            "inventory.imported",
            obj=workspace,
            actor=actor,
            source=source,
            detail={
                "rows": len(preview.rows),
                "created": preview.new_count,
                "updated": preview.update_count,
                "per_customer": dict(preview.per_customer.most_common(100)),
                "file_sha256": digest(data),
            },
        )
    return preview
