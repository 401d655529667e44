"""What a deleted run keeps: only what the proof of its erasure needs.

A run the portal deleted (deleted, deleted with the answer lost, already gone) stays as a
tombstone with its run id, workspace, customer, state, dates and the request that deleted it
(whose items and attempts hold Extend's request ids), plus a keyed hash of the data subject's
reference, the same hash ``DeletionRequest.subject_ref_hash`` stores, so "were this subject's
runs erased?" can still be answered without the reference in clear. Its file name and its
Extend metadata are cleared by the very statement that marks it deleted.

Its file id stays: an opaque id Extend gave the uploaded file, not personal data, and the proof
that the run's file was erased (or why it was kept) has to name it. A tombstone does not count as
a user of its file (``deletions.inventory.files`` counts present runs only).

The file name moves to the request's item instead: the customer's receipt and, with
``CERTIFICATE_INCLUDE_FILE_NAMES``, the certificate name the files they erased. It goes with
the item when the request's records are purged (``RETENTION_REQUEST_DAYS``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Q, Subquery

from deletions.core import crypto
from deletions.models import DeletionItem, ParseRun


def subject_hash(metadata: object) -> str:
    """The keyed hash of the subject reference in a run's *metadata*, or "" if it has none."""
    if not isinstance(metadata, Mapping):
        return ""
    value = metadata.get(settings.GDPR_SUBJECT_METADATA_KEY)
    if value is None or value == "":
        return ""
    return crypto.keyed_hash(str(value), purpose="subject")


def bury(run_pks: Iterable[int], *, request_id: int, at: datetime) -> None:
    """Mark the runs *run_pks* deleted by request *request_id* at *at*, forgetting all but the
    proof in the same statement. The caller has moved their items to a deleted outcome."""
    _forget(
        list(run_pks),
        request_id,
        state=ParseRun.State.DELETED,
        deleted_at=at,
        deleted_by_request_id=request_id,
        open_request=None,
    )


def _forget(run_pks: list[int], request_id: int | None, **also: object) -> None:
    if not run_pks:
        return
    with transaction.atomic():
        # Locked, so a sync cannot write other metadata between the read and the clearing.
        rows = ParseRun.objects.select_for_update().filter(pk__in=run_pks)
        hashes: dict[str, list[int]] = {}
        for pk, metadata in rows.values_list("pk", "metadata"):
            hashes.setdefault(subject_hash(metadata), []).append(pk)
        if request_id is not None:
            DeletionItem.objects.filter(
                request_id=request_id, parse_run_id__in=run_pks, file_name=""
            ).update(
                file_name=Subquery(
                    ParseRun.objects.filter(pk=OuterRef("parse_run_id")).values("file_name")[:1]
                )
            )
        # One statement per distinct subject: usually one (a GDPR request) or none at all.
        for digest, pks in hashes.items():
            ParseRun.objects.filter(pk__in=pks).update(
                file_name="", metadata={}, subject_ref_hash=digest, **also
            )


def _remembering() -> Q:
    return ~Q(file_name="") | ~Q(metadata={})


def keep_forgotten(workspace_id: int, run_ids: Iterable[str]) -> int:
    """Clear again what a sync or a webhook just wrote into tombstones among *run_ids*
    (Extend may still list a run for a moment after its DELETE). Call it in the transaction of
    that write, so nobody ever reads it back. Returns how many were cleared."""
    return (
        ParseRun.objects.filter(
            workspace_id=workspace_id, run_id__in=list(run_ids), state=ParseRun.State.DELETED
        )
        .filter(_remembering())
        .update(file_name="", metadata={})
    )


def forget_remembering_tombstones(limit: int = 5000) -> int:
    """Forget what tombstones deleted before this rule existed still hold (the daily purge calls
    this until none is left). Returns how many were forgotten."""
    rows = list(
        ParseRun.objects.filter(state=ParseRun.State.DELETED)
        .filter(_remembering())
        .order_by("pk")
        .values_list("pk", "deleted_by_request_id")[:limit]
    )
    per_request: dict[int | None, list[int]] = {}
    for pk, deleted_by in rows:
        per_request.setdefault(deleted_by, []).append(pk)
    for request_id, pks in per_request.items():
        _forget(pks, request_id)
    return len(rows)
