"""Receipts of finished deletion requests: what was deleted, when, and by whose approval.

Rows are read with an iterator in chunks, so a 100,000-run receipt streams in bounded memory.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import chain

from deletions.core import csv_safe
from deletions.models import Approval, DeletionItem, DeletionRequest
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


def _iso(value: datetime | None) -> str:
    return value.isoformat() if value else ""


def csv_rows(req: DeletionRequest) -> Iterator[str]:
    """The receipt as CSV lines: one row per run, each carrying the request's facts."""
    facts = summary(req)
    head: list[csv_safe.Cell] = [
        facts.request_id,
        facts.customer,
        _iso(facts.submitted_at),
        _iso(facts.approved_at),
        _iso(facts.finished_at),
        "; ".join(facts.approved_by),
    ]
    rows = (
        [
            *head,
            item.parse_run.run_id,
            item.run_file_name,
            outcome_of(item).value,
            _iso(item.confirmed_at),
            item.last_request_id,
        ]
        for item in items(req)
    )
    return csv_safe.lines(chain([CSV_COLUMNS], rows))
