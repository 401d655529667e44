"""Receipts of finished deletion requests: what was deleted, when, and by whose approval; and,
for a request that erases uploaded files, each file: erased (with the Extend request id of the
DELETE that erased it and when), kept and why, or failed. A request that does not erase files
says so (:data:`~deletions.requests.file_results.NOT_IN_REQUEST`).

Rows are read with an iterator in chunks, so a 100,000-run receipt streams in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain
from typing import NamedTuple

from deletions.core import csv_safe
from deletions.models import Approval, DeletionItem, DeletionRequest, FileErasure
from deletions.requests import file_results
from deletions.requests.file_results import FileTally
from deletions.requests.results import MEANINGS, Outcome, outcome_label, outcome_of

CHUNK = 2000

CSV_COLUMNS = [
    "request_id",
    "customer",
    "submitted_at",
    "approved_at",
    "finished_at",
    "approved_by",
    "run_id",
    "file_name",
    "outcome",
    "confirmed_at",
    "extend_request_id",
    # Added with uploaded files, after the columns above so that readers of those keep working:
    # whether the request erased files (a fact of the request, on every row), what the row is
    # ("run" or "file"), the run's file or the file itself, and why a file was kept.
    "uploaded_files",
    "record",
    "file_id",
    "why_kept",
]


@dataclass
class Summary:
    request_id: int
    customer: str
    requested_by: str
    submitted_at: datetime
    approved_at: datetime | None
    finished_at: datetime | None
    approved_by: list[str]
    total: int
    deleted: int
    already_gone: int
    failed: int
    # Of ``deleted``: those whose DELETE's answer was lost (Extend confirms they are gone).
    answer_lost: int
    retained: int
    # The request's uploaded files; None when it does not erase them.
    files: FileTally | None = None
    files_text: str = ""

    @property
    def outcome_text(self) -> str:
        """'104 deleted, 2 already gone, 2 retained for legal reasons, of 108'."""
        parts = [f"{self.deleted:,} deleted"]
        if self.answer_lost:
            parts[0] += f" ({self.answer_lost:,} with the answer to our request lost)"
        parts.append(f"{self.already_gone:,} already gone")
        parts.append(f"{self.failed:,} failed")
        if self.retained:
            parts.append(f"{self.retained:,} retained for legal reasons")
        return f"{', '.join(parts)}, of {self.total:,}"


def summary(req: DeletionRequest) -> Summary:
    """The request-level facts of the receipt."""
    approvers = [
        a.approver.get_full_name() or a.approver.get_username()
        for a in req.approvals.filter(decision=Approval.Decision.APPROVE).select_related("approver")
    ]
    requester = req.requested_by
    files = file_results.tally(req)
    return Summary(
        request_id=req.pk,
        customer=req.customer.name,
        requested_by=(requester.get_full_name() or requester.get_username()) if requester else "",
        submitted_at=req.submitted_at,
        approved_at=req.approved_at,
        finished_at=req.finished_at,
        approved_by=approvers,
        total=req.item_count,
        deleted=req.deleted_count,
        already_gone=req.already_gone_count,
        failed=req.failed_count,
        answer_lost=answer_lost_count(req),
        retained=req.held_count,
        files=files,
        # '5 of 5 files done: 4 erased, 1 kept, 0 failed, of 5 uploaded files.', or that
        # files were not part of the request.
        files_text=file_results.files_text(req, files),
    )


def answer_lost_count(req: DeletionRequest) -> int:
    """Deleted items whose DELETE's answer was lost (no counter on the request: it is needed only
    when a request has finished)."""
    return DeletionItem.objects.filter(
        request=req, status=DeletionItem.Status.DELETED, answer_lost=True
    ).count()


def legend(facts: Summary) -> list[tuple[str, str]]:
    """The outcomes this receipt shows, each with what it means."""
    present = {
        Outcome.DELETED: facts.deleted > facts.answer_lost,
        Outcome.DELETED_ANSWER_LOST: facts.answer_lost > 0,
        Outcome.ALREADY_GONE: facts.already_gone > 0,
        Outcome.FAILED: facts.failed > 0,
        Outcome.RETAINED: facts.retained > 0,
    }
    return [(str(o.label), text) for o, text in MEANINGS.items() if present.get(o, False)]


def items(req: DeletionRequest) -> Iterator[DeletionItem]:
    """The request's items with their runs, in a stable order, fetched in chunks; each carries
    ``outcome_label``, what the customer may be told of it."""
    for item in (
        DeletionItem.objects.filter(request=req)
        .select_related("parse_run")
        .order_by("id")
        .iterator(chunk_size=CHUNK)
    ):
        # For the template; a legal hold is never named as such.
        setattr(item, "outcome_label", outcome_label(item))  # noqa: B010
        yield item


def file_legend(facts: Summary) -> list[tuple[str, str]]:
    """The file outcomes this receipt shows, each with what it means."""
    if facts.files is None:
        return []
    present = {
        file_results.DELETED: facts.files.deleted > 0,
        file_results.ALREADY_GONE: facts.files.already_gone > 0,
        file_results.KEPT: facts.files.kept > 0,
        file_results.FAILED: facts.files.failed > 0,
    }
    return [
        (file_results.OUTCOME_LABELS[code], text)
        for code, text in file_results.MEANINGS.items()
        if present.get(code, False)
    ]


class FileLine(NamedTuple):
    """One uploaded file of a receipt, with what the customer is told of it."""

    erasure: FileErasure
    outcome: str  # file_results' outcome code
    label: str
    why: str  # why it was kept, in the customer's words; empty otherwise


def files(req: DeletionRequest) -> Iterator[FileLine]:
    """The request's uploaded files in a stable order, fetched in chunks (none when it does not
    erase files)."""
    for erasure in (
        FileErasure.objects.filter(request=req).order_by("id").iterator(chunk_size=CHUNK)
    ):
        yield FileLine(
            erasure,
            file_results.outcome(erasure),
            file_results.label(erasure),
            file_results.kept_why(erasure),
        )


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def csv_rows(req: DeletionRequest) -> Iterator[str]:
    """The receipt as CSV lines: one row per run, then one per uploaded file the request erases,
    each carrying the request's facts."""
    facts = summary(req)
    head: list[csv_safe.Cell] = [
        facts.request_id,
        facts.customer,
        _iso(facts.submitted_at),
        _iso(facts.approved_at),
        _iso(facts.finished_at),
        "; ".join(facts.approved_by),
    ]
    uploaded = "erased with the runs" if facts.files is not None else "not part of this request"
    run_rows = (
        [
            *head,
            item.parse_run.run_id,
            item.run_file_name,
            outcome_of(item).value,
            _iso(item.confirmed_at),
            item.last_request_id,
            uploaded,
            "run",
            item.parse_run.file_id,
            "",
        ]
        for item in items(req)
    )
    file_rows = (
        [
            *head,
            "",
            "",
            line.outcome,
            _iso(line.erasure.confirmed_at),
            line.erasure.last_request_id,
            uploaded,
            "file",
            line.erasure.file_id,
            line.why,
        ]
        for line in files(req)
    )
    return csv_safe.lines(chain([CSV_COLUMNS], run_rows, file_rows))
