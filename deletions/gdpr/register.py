"""The register of erasure requests: every GDPR erasure request with its deadline, outcome and
proof, for the record of processing or a regulator's question (GDPR Art. 5(2), 30).

One row per GDPR request (standard requests are not exercises of a data subject's right and are
left out), received within a period and of one customer if asked: when it was received and due,
how and why the deadline was extended, how long it was paused, how it ended, the ground of a
refusal (:mod:`deletions.requests.grounds`), how many runs were erased and which certificate
proves it.
The console exports it as CSV or JSON and the API pages through it; both are streamed from one
query with ``iterator()``, so memory stays bounded whatever the size, and every export is
recorded in the audit trail as a read (``gdpr.register_exported``) before a row is read.

Ongoing pauses count up to today. The extension's "why" is the staff member's free text: there is
no reason category.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from itertools import chain
from typing import Any

from django.contrib.auth.models import User
from django.db.models import OuterRef, QuerySet, Subquery
from django.utils import timezone

from deletions import audit
from deletions.core import csv_safe
from deletions.gdpr import deadlines as gdpr
from deletions.models import Certificate, Customer, DeletionRequest, Source
from deletions.requests import grounds

RS = DeletionRequest.Status

# How a request ended, as the register says it.
OPEN = "open"
ERASED = "erased"
PARTLY_ERASED = "partly_erased"
REFUSED = "refused"
CANCELLED = "cancelled"
EXPIRED = "expired"
OUTCOMES = {
    OPEN: "Open (not decided or not finished)",
    ERASED: "Erased",
    PARTLY_ERASED: "Partly erased (runs retained for legal reasons, or failed)",
    REFUSED: "Refused (on the ground given)",
    CANCELLED: "Cancelled",
    EXPIRED: "Expired (the data subject never confirmed their address)",
}

# The columns, in order; each row (CSV and JSON) has exactly these.
COLUMNS = (
    "request_id",
    "customer",
    "customer_ref",
    "received_on",
    "due_on",
    "extended_due_on",
    "extension_reason",
    "paused_days",
    "paused_since",
    "status",
    "outcome",
    "finished_on",
    "ground",
    "ground_label",
    "runs_total",
    "runs_erased",
    "runs_already_gone",
    "runs_retained",
    "runs_failed",
    "certificate_id",
    "certificate_version",
)

# Rows read from the database at a time while streaming.
CHUNK_SIZE = 500


@dataclass(frozen=True)
class Filters:
    """Which requests: received between two days (both included) and of one customer."""

    received_from: date | None = None
    received_to: date | None = None
    customer: Customer | None = None

    def describe(self) -> dict[str, Any]:
        """The filters as the audit trail and the JSON export record them."""
        return {
            "received_from": _iso(self.received_from),
            "received_to": _iso(self.received_to),
            "customer": self.customer.pk if self.customer is not None else None,
        }


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def requests(filters: Filters) -> QuerySet[DeletionRequest]:
    """The GDPR erasure requests *filters* select, oldest received first, each annotated with
    its latest certificate (``certificate_id``, ``certificate_version``)."""
    latest = Certificate.objects.filter(request=OuterRef("pk")).order_by("-version")
    qs = (
        DeletionRequest.objects.filter(kind=DeletionRequest.Kind.GDPR)
        .select_related("customer")
        .annotate(
            certificate_id=Subquery(latest.values("pk")[:1]),
            certificate_version=Subquery(latest.values("version")[:1]),
        )
    )
    if filters.received_from is not None:
        qs = qs.filter(received_on__gte=filters.received_from)
    if filters.received_to is not None:
        qs = qs.filter(received_on__lte=filters.received_to)
    if filters.customer is not None:
        qs = qs.filter(customer=filters.customer)
    return qs.order_by("received_on", "id")


def outcome(req: DeletionRequest) -> str:
    """How *req* ended (one of :data:`OUTCOMES`)."""
    if req.status == RS.REJECTED:
        return REFUSED
    if req.status == RS.CANCELLED:
        return CANCELLED
    if req.status == RS.EXPIRED:
        return EXPIRED
    if req.status in (RS.COMPLETED, RS.COMPLETED_WITH_FAILURES):
        return PARTLY_ERASED if req.failed_count or req.held_count else ERASED
    return OPEN


def entry(req: DeletionRequest, today: date | None = None) -> dict[str, Any]:
    """*req*'s row of the register, with JSON values (dates as ISO strings, counts as ints).

    *req* comes from :func:`requests` (its certificate annotations are read)."""
    today = today or timezone.localdate()
    ongoing = gdpr.days_paused(req, today)
    paused_since = req.deadline_paused_at
    return {
        "request_id": req.pk,
        "customer": req.customer.name,
        "customer_ref": req.customer.external_ref,
        "received_on": _iso(req.received_on),
        "due_on": _iso(req.due_on),
        "extended_due_on": _iso(req.extended_due_on),
        "extension_reason": req.extension_reason if req.extended_due_on else "",
        "paused_days": req.deadline_paused_days + ongoing,
        "paused_since": _iso(timezone.localdate(paused_since)) if paused_since else None,
        "status": req.status,
        "outcome": outcome(req),
        "finished_on": _iso(timezone.localdate(req.finished_at)) if req.finished_at else None,
        "ground": req.refusal_ground,
        "ground_label": grounds.label(req.refusal_ground),
        "runs_total": req.item_count,
        "runs_erased": req.deleted_count,
        "runs_already_gone": req.already_gone_count,
        "runs_retained": req.held_count,
        "runs_failed": req.failed_count,
        "certificate_id": getattr(req, "certificate_id", None),
        "certificate_version": getattr(req, "certificate_version", None),
    }


def _entries(filters: Filters, today: date) -> Iterator[dict[str, Any]]:
    for req in requests(filters).iterator(chunk_size=CHUNK_SIZE):
        yield entry(req, today)


def csv_lines(filters: Filters, today: date | None = None) -> Iterator[str]:
    """The register as CSV, a header line then one line per request, every cell neutralised
    against spreadsheet formulas (:mod:`deletions.csv_safe`)."""
    today = today or timezone.localdate()
    rows = ([row[name] for name in COLUMNS] for row in _entries(filters, today))
    return csv_safe.lines(chain([list(COLUMNS)], rows))


def json_chunks(filters: Filters, today: date | None = None) -> Iterator[str]:
    """The register as one JSON document, written a request at a time: when and for what it
    was made, what the outcome codes mean, then ``requests``."""
    # Dated when asked for, not when the response is read out.
    today = today or timezone.localdate()
    head = {
        "register": "GDPR Art. 17 erasure requests",
        "generated_at": timezone.now().isoformat(),
        "filters": filters.describe(),
        "outcomes": OUTCOMES,
        "grounds": dict(grounds.RefusalGround.choices),
    }
    return _json_stream(head, _entries(filters, today))


def _json_stream(head: dict[str, Any], rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    # The head's closing brace gives way to the list, which is written a row at a time.
    yield json.dumps(head)[:-1] + ', "requests": ['
    for n, row in enumerate(rows):
        yield ("," if n else "") + "\n" + json.dumps(row)
    yield "\n]}\n"


def record_export(
    filters: Filters, *, fmt: str, actor: User, source: Source | str, page: str = ""
) -> None:
    """Record that *actor* read the register (who, which filters, in what form): a read of
    personal data about data subjects, audited like any export."""
    detail: dict[str, Any] = {"format": fmt, **filters.describe()}
    if page:
        detail["page"] = page
    audit.record(
        "gdpr.register_exported",
        obj=actor,
        actor=actor,
        source=source,
        customer=filters.customer,
        detail=detail,
    )
