"""The inventory's rows: mapping a run Extend listed (or a webhook described) to a ``ParseRun``
row, and upserting those rows without undoing what the engine or staff did. Shared by the sync
and the webhooks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Case, DateTimeField, F, Value, When
from django.utils.dateparse import parse_datetime

from deletions.models import (
    Customer,
    OwnershipConflict,
    ParseRun,
    Workspace,
)
from deletions.requests import tombstones

logger = logging.getLogger(__name__)

MAX_FILE_NAME = 1024
MAX_RUN_ID = 255
MAX_FILE_ID = 255

# A sync refreshes only the fields in ``RunRow.known_fields``. Never ``state``, ``open_request``
# or the deletion fields: a page fetched before the engine deleted a run must not bring it back.
# Nor ``processed_at``, which is set once (``_date_processing``).
PROCESSED = "PROCESSED"


@dataclass
class RunRow:
    """One run as the inventory stores it; None marks a field the source did not carry."""

    run_id: str
    customer_ref: str | None
    file_name: str | None
    extend_status: str | None
    extend_created_at: datetime | None
    metadata: dict[str, Any] | None
    # When it was processed: Extend's updatedAt on a PROCESSED run, else when the portal
    # learned it was; None while it is not (known to be) processed.
    processed_at: datetime | None = None
    # Extend's file.id: "" for a run that has no file, None when the source did not say (a
    # webhook's parse_run_status carries no file).
    file_id: str | None = None

    def known_fields(self) -> tuple[str, ...]:
        """The stored fields this row may overwrite on a known run."""
        present = {
            "file_name": self.file_name is not None,
            "file_id": self.file_id is not None,
            "extend_status": self.extend_status is not None,
            "extend_created_at": self.extend_created_at is not None,
            "metadata": self.metadata is not None,
        }
        return (*(name for name, known in present.items() if known), "last_seen_at")


def customer_ref_of(workspace: Workspace, metadata: object) -> str | None:
    """The customer reference a run's metadata carries under the workspace's key, if any."""
    if not isinstance(metadata, Mapping):
        return None
    value = metadata.get(workspace.customer_metadata_key)
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def _moment(value: object) -> datetime | None:
    try:
        return parse_datetime(value) if isinstance(value, str) else None
    except ValueError:
        return None


def file_id_of(file: object) -> str | None:
    """The id of a run's ``file`` object, or None if it carries no usable one.

    Loosely validated, as Extend documents ids: an opaque string of up to 255 characters
    (``file_`` is a convention, not a guarantee).
    """
    if not isinstance(file, Mapping):
        return None
    value = file.get("id")
    if not isinstance(value, str) or not 1 <= len(value) <= MAX_FILE_ID:
        return None
    return value


def run_row(
    workspace: Workspace,
    run: Mapping[str, Any],
    *,
    learned_at: datetime,
    complete: bool = False,
) -> RunRow | None:
    """A ParseRunSummary (or webhook ``parse_run_status``) as a row; None if it has no usable id.

    *learned_at*: when the portal learned what the object says (the sync's page, the webhook's
    delivery); a PROCESSED run without an ``updatedAt`` (webhooks carry none) was processed by
    then. *complete*: the object is a full summary (from the list endpoint), so a missing file
    or metadata means there is none, not that it was left out.
    """
    run_id = run.get("id")
    if not isinstance(run_id, str) or not 1 <= len(run_id) <= MAX_RUN_ID:
        return None
    metadata = run.get("metadata")
    file = run.get("file")
    file_name = file.get("name") if isinstance(file, Mapping) else None
    status = run.get("status")
    created_at = _moment(run.get("createdAt"))
    processed_at = None
    if status == PROCESSED:
        processed_at = _moment(run.get("updatedAt")) or learned_at
    row = RunRow(
        run_id=run_id,
        customer_ref=customer_ref_of(workspace, metadata),
        file_name=file_name[:MAX_FILE_NAME] if isinstance(file_name, str) else None,
        extend_status=status[:20] if isinstance(status, str) else None,
        extend_created_at=created_at,
        metadata=dict(metadata) if isinstance(metadata, Mapping) else None,
        processed_at=processed_at,
        file_id=file_id_of(file),
    )
    if complete:
        row.file_name = row.file_name or ""
        row.file_id = row.file_id or ""
        row.extend_status = row.extend_status or ""
        row.metadata = row.metadata or {}
    return row


def upsert_runs(
    workspace: Workspace,
    rows: Iterable[RunRow],
    *,
    now: datetime,
    customers: dict[str, int | None] | None = None,
    count_known: bool = True,
    revive: bool = True,
    source: str = OwnershipConflict.Seen.SYNC,
) -> int:
    """Insert or refresh *rows* in bulk; return how many were already known (if *count_known*).

    Runs whose reference names a customer are (re)assigned to it; the others are inserted
    unassigned and keep whatever customer they have. Fields a row does not carry (a webhook has
    no file name nor file id) are left as they are. Vanished runs seen again are present (if
    *revive*). *customers* caches reference lookups across calls. A run in an open request keeps
    its customer: a new one Extend names is recorded as a conflict (*source* says who saw it) and
    applied when the request ends.
    """
    unique_rows = list({row.run_id: row for row in rows}.values())
    if not unique_rows:
        return 0
    ids = [row.run_id for row in unique_rows]
    known = 0
    if count_known:
        known = ParseRun.objects.filter(workspace=workspace, run_id__in=ids).count()
    if customers is None:
        customers = {}
    missing = {row.customer_ref for row in unique_rows if row.customer_ref} - customers.keys()
    if missing:
        customers.update(dict.fromkeys(missing))
        customers.update(
            Customer.objects.filter(external_ref__in=missing).values_list("external_ref", "pk")
        )
    # One bulk upsert per shape of row (which fields it may overwrite); a sync page has one or two.
    groups: dict[tuple[str, ...], list[ParseRun]] = {}
    for row in unique_rows:
        customer_id = customers.get(row.customer_ref) if row.customer_ref else None
        fields = row.known_fields() + (("customer",) if customer_id else ())
        groups.setdefault(fields, []).append(
            ParseRun(
                workspace=workspace,
                run_id=row.run_id,
                customer_id=customer_id,
                file_name=row.file_name or "",
                file_id=row.file_id or "",
                extend_status=row.extend_status or "",
                extend_created_at=row.extend_created_at,
                metadata=row.metadata or {},
                processed_at=row.processed_at,
                first_seen_at=now,
                last_seen_at=now,
            )
        )
    with transaction.atomic():
        for fields, objs in groups.items():
            ParseRun.objects.bulk_create(
                objs,
                update_conflicts=True,
                unique_fields=["workspace", "run_id"],
                update_fields=list(fields),
            )
        # Same transaction: nobody ever sees a run of an open request with another customer,
        # nor a tombstone given back the file name and metadata it forgot.
        freeze_owners(workspace, ids, source=source)
        tombstones.keep_forgotten(workspace.pk, ids)
        _date_processing(workspace, unique_rows)
    if revive:
        ParseRun.objects.filter(
            workspace=workspace, run_id__in=ids, state=ParseRun.State.VANISHED
        ).update(state=ParseRun.State.PRESENT)
    return known


def _date_processing(workspace: Workspace, rows: list[RunRow]) -> int:
    """Give known runs that had no processing time the one *rows* bring (one UPDATE).

    Set once, never cleared nor moved: an "after processing" policy counts its hours from it,
    and the customer's admins were told when their runs go. A later ``updatedAt`` (a metadata
    change at Extend) would only postpone the deletion; an earlier one (Extend's own date of a
    run first learned from a webhook) would bring it forward unannounced.
    """
    dated = {row.run_id: row.processed_at for row in rows if row.processed_at is not None}
    if not dated:
        return 0
    moment = Case(
        *(When(run_id=run_id, then=Value(at)) for run_id, at in dated.items()),
        output_field=DateTimeField(),
    )
    return ParseRun.objects.filter(
        workspace=workspace, run_id__in=list(dated), processed_at__isnull=True
    ).update(processed_at=moment)


def freeze_owners(workspace: Workspace, run_ids: list[str], *, source: str) -> int:
    """Put back the customer of every run among *run_ids* that sits in an open request and was
    just given another one, recording the change as a conflict for staff. Returns how many.

    Ownership is frozen while a run is in an open request: the request's customer approved
    its deletion, so the engine's gate would refuse a run that moved, and the change waits.
    """
    moved = list(
        ParseRun.objects.filter(workspace=workspace, run_id__in=run_ids, open_request__isnull=False)
        .exclude(customer_id=F("open_request__customer_id"))
        .values_list("pk", "customer_id", "open_request_id", "open_request__customer_id")
    )
    for run_pk, observed, request_id, owner in moved:
        ParseRun.objects.filter(pk=run_pk).update(customer_id=owner)
        OwnershipConflict.objects.get_or_create(
            parse_run_id=run_pk,
            request_id=request_id,
            observed_customer_id=observed,
            resolved_at=None,
            defaults={"current_customer_id": owner, "source": source},
        )
    if moved:
        logger.warning("%s runs of open requests were named for another customer", len(moved))
    return len(moved)
