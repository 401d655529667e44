"""Turning a selection of parse runs into a deletion request with one item per run.

The selection is frozen at submission: whatever matches now is what will be deleted. It is done
in a handful of statements whatever its size: one conditional UPDATE per chunk of ids claims the
runs for the request (``open_request`` from NULL to the request: a run already in another open
request is not claimed), then one INSERT ... SELECT creates the items.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from deletions import audit
from deletions.core import crypto
from deletions.core.dates import due_date
from deletions.core.errors import SubmissionError, UnknownRuns
from deletions.models import Customer, DeletionItem, DeletionRequest, ParseRun, Source
from deletions.requests.files import erases_files_by_default

if TYPE_CHECKING:
    from deletions.audit import Actor

# Ids per UPDATE: under SQLite's and PostgreSQL's bind-parameter limits.
ID_CHUNK = 5000
# Unknown ids named in the refusal; the rest are counted.
UNKNOWN_EXAMPLES = 5
MAX_ID_LENGTH = 255
MAX_REASON_LENGTH = 5000


@dataclass(frozen=True)
class RunFilter:
    """The filters a customer can apply to their runs; also frozen into filter-scoped requests."""

    status: str = ""
    file_name_contains: str = ""
    created_from: date | None = None
    created_to: date | None = None
    metadata_key: str = ""
    metadata_value: str = ""

    def apply(self, runs: QuerySet[ParseRun]) -> QuerySet[ParseRun]:
        if self.status:
            runs = runs.filter(extend_status=self.status)
        if self.file_name_contains:
            runs = runs.filter(file_name__icontains=self.file_name_contains)
        if self.created_from:
            runs = runs.filter(extend_created_at__date__gte=self.created_from)
        if self.created_to:
            runs = runs.filter(extend_created_at__date__lte=self.created_to)
        if self.metadata_key:
            runs = runs.filter(**{f"metadata__{self.metadata_key}": self.metadata_value})
        return runs

    def as_record(self) -> dict[str, Any]:
        """A JSON-able description, kept on the request. Metadata values are not kept."""
        record: dict[str, Any] = {
            "status": self.status,
            "file_name_contains": self.file_name_contains,
            "created_from": self.created_from.isoformat() if self.created_from else "",
            "created_to": self.created_to.isoformat() if self.created_to else "",
        }
        if self.metadata_key:
            record["metadata_key"] = self.metadata_key
        return {k: v for k, v in record.items() if v}


@dataclass
class Selection:
    """What the requester chose: explicit ids, all runs, or a filter."""

    scope: str
    run_ids: Sequence[str] = ()
    run_filter: RunFilter = field(default_factory=RunFilter)


def clean_run_ids(raw_ids: Sequence[str]) -> list[str]:
    """Strip, drop blanks and duplicates (keeping order), and refuse malformed or too many ids."""
    seen: dict[str, None] = {}
    for raw in raw_ids:
        run_id = str(raw).strip()
        if not run_id:
            continue
        if (
            len(run_id) > MAX_ID_LENGTH
            or not run_id.isprintable()
            or any(c.isspace() for c in run_id)
        ):
            shown = run_id[:40] + ("…" if len(run_id) > 40 else "")
            raise SubmissionError(f"{shown!r} is not a valid parse-run id.")
        seen[run_id] = None
    if len(seen) > settings.MAX_RUNS_PER_REQUEST:
        raise SubmissionError(
            f"{len(seen):,} runs were given; one request can hold at most "
            f"{settings.MAX_RUNS_PER_REQUEST:,}. Split it into several requests."
        )
    return list(seen)


def refuse_over_cap(count: int) -> None:
    """Refuse a selection of *count* runs beyond ``MAX_RUNS_PER_REQUEST``, whatever its scope
    ("all" and filters too: one request is one approval, one certificate, one receipt)."""
    if count > settings.MAX_RUNS_PER_REQUEST:
        raise SubmissionError(
            f"This selection matches {count:,} parse runs; one request can hold at most "
            f"{settings.MAX_RUNS_PER_REQUEST:,}. Narrow it (for example by creation date) and "
            "send several requests."
        )


def customer_runs(customer: Customer) -> QuerySet[ParseRun]:
    """The customer's runs that still exist at Extend, as far as the portal knows."""
    return ParseRun.objects.filter(customer=customer, state=ParseRun.State.PRESENT)


def submit_request(
    *,
    customer: Customer,
    selection: Selection,
    reason: str,
    requested_by: Actor,
    source: Source | str,
    kind: str = DeletionRequest.Kind.STANDARD,
    subject_ref: str = "",
    received_on: date | None = None,
    awaiting_verification: bool = False,
    erase_files: bool | None = None,
) -> DeletionRequest:
    """Create a request for *selection* of *customer*'s runs, frozen into items.

    Explicit ids that are not the customer's present runs, or that are already in another open
    request, are refused with a message naming them (and the other request). "All" and filter
    scopes take the matching runs that are free and say how many were left to other requests.

    *erase_files* says whether the runs' uploaded files go too (when nothing else uses them);
    None takes the default (:func:`~deletions.requests.files.erases_files_by_default`). A GDPR
    request always erases them, whatever is passed: the document is the personal data.
    """
    reason = reason.strip()
    if not reason:
        raise SubmissionError("Please give a reason for the deletion.")
    if len(reason) > MAX_REASON_LENGTH:
        raise SubmissionError(f"The reason is too long (at most {MAX_REASON_LENGTH} characters).")
    if selection.scope not in DeletionRequest.Scope.values:
        raise SubmissionError(f"Unknown scope {selection.scope!r}.")
    ids = (
        clean_run_ids(selection.run_ids)
        if selection.scope == DeletionRequest.Scope.EXPLICIT
        else []
    )
    if selection.scope == DeletionRequest.Scope.EXPLICIT and not ids:
        raise SubmissionError("No parse runs were selected.")
    if ids:
        _refuse_unknown(customer, ids)

    user_id = (
        requested_by.pk if requested_by is not None and requested_by.is_authenticated else None
    )
    status = (
        DeletionRequest.Status.AWAITING_VERIFICATION
        if awaiting_verification
        else DeletionRequest.Status.PENDING_APPROVAL
    )
    is_gdpr = kind == DeletionRequest.Kind.GDPR
    if erase_files is None or is_gdpr:
        erase_files = erases_files_by_default(kind, selection.scope, customer.erase_files_default)
    with transaction.atomic():
        req = DeletionRequest.objects.create(
            customer=customer,
            requested_by_id=user_id,
            source=source,
            kind=kind,
            scope=selection.scope,
            scope_filter=selection.run_filter.as_record()
            if selection.scope == DeletionRequest.Scope.FILTER
            else {},
            reason=reason,
            status=status,
            erase_files=erase_files,
            received_on=(received_on or timezone.localdate()) if is_gdpr else None,
            subject_ref_hash=crypto.keyed_hash(subject_ref, purpose="subject")
            if subject_ref
            else "",
            subject_ref_hint=crypto.mask(subject_ref) if subject_ref else "",
        )
        if is_gdpr:
            req.due_on = due_date(req.received_on or timezone.localdate())
        skipped = 0
        if selection.scope == DeletionRequest.Scope.EXPLICIT:
            claimed = _claim_explicit(req, customer, ids)
        else:
            runs = customer_runs(customer)
            if selection.scope == DeletionRequest.Scope.FILTER:
                runs = selection.run_filter.apply(runs)
            claimed = runs.filter(open_request__isnull=True).update(open_request=req)
            # Over the cap, the claim is rolled back with the refusal (the common case, under
            # it, costs no extra count).
            refuse_over_cap(claimed)
            skipped = runs.exclude(open_request=req).count()
        if not claimed:
            raise SubmissionError(
                "Nothing to delete: no matching parse runs are free"
                + (f" ({skipped:,} are already in other open requests)." if skipped else ".")
            )
        _create_items(req)
        req.item_count = claimed
        req.required_approvals = (
            2
            if selection.scope == DeletionRequest.Scope.ALL
            or claimed > settings.LARGE_REQUEST_THRESHOLD
            else 1
        )
        req.save(update_fields=["item_count", "required_approvals", "due_on"])
        audit.record(
            "request.submitted",
            obj=req,
            actor=requested_by,
            source=source,
            after={"status": status},
            detail={
                "scope": req.scope,
                "items": claimed,
                "kind": kind,
                "skipped_in_other_requests": skipped,
                "required_approvals": req.required_approvals,
                "erase_files": req.erase_files,
            },
        )
    return req


def _refuse_unknown(customer: Customer, ids: list[str]) -> None:
    """Refuse *ids* if any is not among *customer*'s present runs, naming how many and the
    first few. One query whatever their number, so 100,000 made-up ids cost what counting them
    does: the ids travel as one JSON array, unpacked by the database, and each is looked up in
    the (customer, run_id) index by a scalar subquery, which no planner turns into a join (a
    join planned on stale statistics can compare every id with every run). The state is read,
    not matched, so that no index on (customer, state, ...) looks like the better lookup."""
    runs = ParseRun._meta.db_table
    if connection.vendor == "postgresql":
        given = "jsonb_array_elements_text(%s::jsonb) WITH ORDINALITY AS given(value, position)"
    else:
        given = "(SELECT value, key AS position FROM json_each(%s)) AS given"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT checked.value, COUNT(*) OVER () FROM ("  # noqa: S608
            f"SELECT given.value, given.position, (SELECT MAX(CASE WHEN run.state = %s "
            f"THEN 1 ELSE 0 END) FROM {runs} AS run "
            f"WHERE run.customer_id = %s AND run.run_id = given.value) AS known FROM {given}"
            f") AS checked WHERE COALESCE(checked.known, 0) = 0 "
            f"ORDER BY checked.position LIMIT %s",
            [ParseRun.State.PRESENT, customer.pk, json.dumps(ids), UNKNOWN_EXAMPLES],
        )
        found = cursor.fetchall()
    if found:
        raise UnknownRuns(count=found[0][1], given=len(ids), examples=[row[0] for row in found])


def _claim_explicit(req: DeletionRequest, customer: Customer, ids: list[str]) -> int:
    claimed = 0
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        claimed += (
            customer_runs(customer)
            .filter(run_id__in=chunk, open_request__isnull=True)
            .update(open_request=req)
        )
    if claimed >= len(ids):
        return claimed
    _explain_missing(req, customer, ids)
    raise AssertionError("unreachable")  # pragma: no cover


def _explain_missing(req: DeletionRequest, customer: Customer, ids: list[str]) -> None:
    """Raise a SubmissionError saying which ids could not be claimed and why."""
    busy: dict[str, int] = {}
    found: set[str] = set()
    for start in range(0, len(ids), ID_CHUNK):
        chunk = ids[start : start + ID_CHUNK]
        for run_id, open_request_id in (
            customer_runs(customer)
            .filter(run_id__in=chunk)
            .values_list("run_id", "open_request_id")
        ):
            found.add(run_id)
            if open_request_id is not None and open_request_id != req.pk:
                busy[run_id] = open_request_id
    if busy:
        run_id, other = next(iter(busy.items()))
        more = f" and {len(busy) - 1:,} more" if len(busy) > 1 else ""
        raise SubmissionError(
            f"Parse run {run_id}{more} is already in open request #{other}; "
            "a run can be in only one open request."
        )
    unknown = [i for i in ids if i not in found]
    raise UnknownRuns(count=len(unknown), given=len(ids), examples=unknown[:UNKNOWN_EXAMPLES])


def claim_runs_into_items(req: DeletionRequest, runs: QuerySet[ParseRun], limit: int) -> int:
    """Claim for *req* at most *limit* of *runs* (in their order) that are in no open request,
    and make their items; return how many. On PostgreSQL one statement does both (the UPDATE's
    RETURNING feeds the INSERT), so the claimed rows are not read back through the index; on
    SQLite the claim's UPDATE is followed by the usual INSERT ... SELECT."""
    first = runs.values("pk")[:limit]
    if connection.vendor != "postgresql":
        claimed = ParseRun.objects.filter(pk__in=first, open_request__isnull=True).update(
            open_request=req
        )
        if claimed:
            _create_items(req)
        return claimed
    chosen, params = first.query.sql_with_params()
    table = ParseRun._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH claimed AS (UPDATE {table} SET open_request_id = %s "  # noqa: S608
            f"WHERE open_request_id IS NULL AND id IN ({chosen}) RETURNING id, workspace_id) "
            f"{_insert_items_from('claimed')}",
            [req.pk, *params, req.pk, DeletionItem.Status.PENDING],
        )
        return int(cursor.rowcount)


def release_claimed(req: DeletionRequest, runs: QuerySet[ParseRun]) -> int:
    """Give back those of *runs* that *req* claimed, with their items (nothing was sent for
    them: the request is not approved yet); return how many."""
    ids = list(runs.filter(open_request=req).values_list("pk", flat=True))
    if not ids:
        return 0
    DeletionItem.objects.filter(request=req, parse_run_id__in=ids).delete()
    return ParseRun.objects.filter(pk__in=ids, open_request=req).update(open_request=None)


def _create_items(req: DeletionRequest) -> None:
    """One INSERT ... SELECT for all the runs claimed by *req*."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_insert_items_from(ParseRun._meta.db_table)} WHERE open_request_id = %s",
            [req.pk, DeletionItem.Status.PENDING, req.pk],
        )


def _insert_items_from(source: str) -> str:
    """``INSERT ... SELECT`` of a pending item per row of *source* (its ``id`` and
    ``workspace_id``); parameters: the request's id, then the pending status."""
    items = DeletionItem._meta.db_table
    return (
        f"INSERT INTO {items} (request_id, parse_run_id, workspace_id, status, attempts, "  # noqa: S608
        f"last_error, last_request_id, answer_lost, verify_failures) "
        f"SELECT %s, id, workspace_id, %s, 0, '', '', FALSE, 0 FROM {source}"
    )


def matching_runs(customer: Customer, run_filter: RunFilter) -> QuerySet[ParseRun]:
    """The customer's present runs that *run_filter* selects (for previews)."""
    return run_filter.apply(customer_runs(customer))
