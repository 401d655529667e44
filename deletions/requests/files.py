"""The uploaded files a request erases with its runs: their plan and every move they make.

A request with ``erase_files`` lists, when it starts running, every file its runs use (one
:class:`~deletions.models.FileErasure` per workspace and file id; the inventory may have learned a
run's file id after the request was submitted, so the list is made from what is known when the
approved work begins). The files wait until every run of the request is done
(:func:`release`): then a file whose runs were all erased becomes due, and one whose runs were
not all erased (a run held, or failed) is kept and says why. The engine's gate asks, right
before the DELETE, whether a present run outside the request still uses the file (then it is
kept: "still used by 2 runs not in this request"). A request finishes only when its files are
done too (:func:`counts`).

The moves of a claimed file are conditional updates that double as the claim check (the claim
token fences a runner whose claim was taken over); rescheduling and waiting for proof are the
very same moves as a run's item's (:func:`transitions.reschedule_item`,
:func:`transitions.unconfirm_item`), completing and unverifying differ (a file has no counters
on its request and no tombstone).
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from deletions import audit
from deletions.models import DeletionItem, DeletionRequest, FileErasure, ParseRun, Source
from deletions.requests.hold_coverage import covered

FS = FileErasure.Status
IS = DeletionItem.Status
Reason = FileErasure.KeptReason

# How many file rows one INSERT carries when a request's files are planned.
PLAN_BATCH = 2000


def erases_files_by_default(kind: str, scope: str, customer_default: bool) -> bool:
    """Whether a new request erases its runs' files unless the requester says otherwise.

    GDPR requests: always (the document is the personal data). Requests for all runs: yes.
    Selected or filtered runs: the customer's default.
    """
    if kind == DeletionRequest.Kind.GDPR or scope == DeletionRequest.Scope.ALL:
        return True
    return customer_default


def plan(req: DeletionRequest) -> int:
    """List the files of *req*'s runs (once; returns how many were listed now)."""
    if not req.erase_files or FileErasure.objects.filter(request=req).exists():
        return 0
    rows = (
        ParseRun.objects.filter(items__request=req)
        .exclude(file_id="")
        .order_by()
        .values("workspace_id", "file_id")
        .annotate(runs=Count("pk"))
        .values_list("workspace_id", "file_id", "runs")
    )
    created = FileErasure.objects.bulk_create(
        (
            FileErasure(request=req, workspace_id=ws, file_id=file_id, run_count=runs)
            for ws, file_id, runs in rows.iterator()
        ),
        batch_size=PLAN_BATCH,
    )
    return len(created)


def release(request_id: int) -> int:
    """Every run of the request is done: its waiting files become due, or are kept.

    A file is kept when a run of the request that uses it was not erased: held (a hold on a run
    holds its file) or failed. Returns how many files became due. Safe to call again: only
    waiting files move.
    """
    waiting = FileErasure.objects.filter(request_id=request_id, status=FS.WAITING)
    if not waiting.exists():
        return 0
    unerased = (
        DeletionItem.objects.filter(request_id=request_id)
        .exclude(parse_run__file_id="")
        .exclude(status__in=[IS.DELETED, IS.ALREADY_GONE])
        .order_by()
        .values("workspace_id", "parse_run__file_id")
        .annotate(held=Count("pk", filter=Q(status=IS.HELD)))
        .values_list("workspace_id", "parse_run__file_id", "held")
    )
    now = timezone.now()
    with transaction.atomic():
        for workspace_id, file_id, held in unerased:
            reason = Reason.RUN_HELD if held else Reason.RUN_NOT_DELETED
            waiting.filter(workspace_id=workspace_id, file_id=file_id).update(
                status=FS.KEPT, kept_reason=reason, last_error=""
            )
        return waiting.update(status=FS.PENDING, next_attempt_at=now, kept_reason="")


def release_if_runs_done(request_id: int) -> int:
    """:func:`release` if the request runs, erases files and has every run done (its row
    locked meanwhile); returns how many files became due."""
    with transaction.atomic():
        req = (
            DeletionRequest.objects.select_for_update()
            .filter(pk=request_id, status=DeletionRequest.Status.RUNNING, erase_files=True)
            .first()
        )
        if req is None or req.remaining_count:
            return 0
        return release(request_id)


def reopen(request_id: int) -> int:
    """The request runs again (a hold lifted, failed work retried): the files kept for runs
    that were not erased wait for them once more, and the files that failed are due again."""
    files = FileErasure.objects.filter(request_id=request_id)
    waiting = files.filter(
        status=FS.KEPT, kept_reason__in=[Reason.RUN_HELD, Reason.RUN_NOT_DELETED]
    ).update(status=FS.WAITING, kept_reason="", last_error="")
    return waiting + files.filter(status=FS.FAILED).update(
        status=FS.PENDING, attempts=0, next_attempt_at=timezone.now(), last_error=""
    )


def used_outside(erasure: FileErasure) -> int:
    """Present runs outside the erasure's request that use its file, in its workspace (any
    customer, or none): the gate's question right before the DELETE. The request's own runs are
    deleted by then, so every present run using the file is outside it, except one the request
    holds still (never: a file waits for all its runs)."""
    return (
        ParseRun.objects.filter(
            workspace_id=erasure.workspace_id, file_id=erasure.file_id, state=ParseRun.State.PRESENT
        )
        .exclude(items__request_id=erasure.request_id)
        .count()
    )


def runs_held(erasure: FileErasure) -> bool:
    """Whether a run of the request that uses the file is held (now, by a hold on it)."""
    return (
        ParseRun.objects.filter(
            items__request_id=erasure.request_id,
            workspace_id=erasure.workspace_id,
            file_id=erasure.file_id,
        )
        .filter(covered(""))
        .exists()
    )


# --- Moves of a claimed file (the claim token fences them, as for a run's item). ---


def _claimed(erasure: FileErasure) -> QuerySet[FileErasure]:
    return FileErasure.objects.filter(
        pk=erasure.pk, status=FS.IN_FLIGHT, claim_token=erasure.claim_token
    )


def keep(erasure: FileErasure, reason: str, *, used_by: int | None = None) -> bool:
    """The gate found the claimed file still needed: it is kept, nothing is sent."""
    with transaction.atomic():
        moved = _claimed(erasure).update(
            status=FS.KEPT,
            kept_reason=reason,
            used_outside=used_by,
            lease_expires_at=None,
            next_attempt_at=None,
            claim_token=None,
            attempts=F("attempts") - 1,
            last_error="",
        )
        if moved:
            audit.record(
                "file.kept",
                obj=erasure.request,
                actor=None,
                source=Source.WORKER,
                detail={"file_id": erasure.file_id, "reason": reason, "used_outside": used_by},
            )
        return bool(moved)


def complete(
    erasure: FileErasure,
    target: str,
    *,
    http_status: int | None,
    extend_request_id: str = "",
    error: str = "",
    at: datetime | None = None,
    answer_lost: bool = False,
) -> bool:
    """Move a claimed file to deleted, already gone or failed."""
    if target not in (FS.DELETED, FS.ALREADY_GONE, FS.FAILED):
        raise ValueError(f"An in-flight file cannot become {target}.")
    fields: dict[str, object] = {
        "status": target,
        "last_http_status": http_status,
        "last_request_id": extend_request_id,
        "last_error": error,
        "lease_expires_at": None,
        "next_attempt_at": None,
        "claim_token": None,
    }
    if target != FS.FAILED:
        fields["confirmed_at"] = at or timezone.now()
    if answer_lost:
        fields["answer_lost"] = True
    return bool(_claimed(erasure).update(**fields))


def confirm_unconfirmed(workspace_id: int, *, version: int, proven_at: datetime) -> int:
    """The workspace answered well after these 404s, under the same credentials: the files are
    gone (already gone: Extend may remove a run's file with the run, undocumented)."""
    return FileErasure.objects.filter(
        workspace_id=workspace_id,
        status=FS.UNCONFIRMED,
        claim_version=version,
        unconfirmed_at__lt=proven_at,
    ).update(status=FS.ALREADY_GONE, confirmed_at=proven_at, last_error="")


def requeue_unconfirmed(workspace_id: int, *, version: int | None = None) -> int:
    """404s that prove nothing now (other credentials than *version*, or, with no version, a
    workspace stopped for its 404s): the files are sent again."""
    files = FileErasure.objects.filter(workspace_id=workspace_id, status=FS.UNCONFIRMED)
    if version is not None:
        files = files.exclude(claim_version=version)
    return files.update(status=FS.PENDING, next_attempt_at=timezone.now(), unconfirmed_at=None)


def unverify(erasure: FileErasure, *, give_up: bool) -> bool:
    """Extend acknowledged the file's DELETE, yet a GET still finds it: sent again, or failed."""
    return bool(
        FileErasure.objects.filter(pk=erasure.pk, status=FS.DELETED).update(
            status=FS.FAILED if give_up else FS.PENDING,
            confirmed_at=None,
            verified_at=None,
            verify_due_at=None,
            verify_failures=F("verify_failures") + 1,
            next_attempt_at=None if give_up else timezone.now(),
            last_error=(
                "Extend acknowledged the DELETE, but the file is still there"
                + ("; given up after repeated checks." if give_up else "; sending it again.")
            ),
        )
    )


def counts(request_id: int) -> dict[str, int]:
    """The request's files per status (one grouped query), every status present."""
    found = dict(
        FileErasure.objects.filter(request_id=request_id)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    return {status: found.get(status, 0) for status in FS.values}
