"""The gate: the last check before a DELETE leaves, and its outbox record.

It runs inside the workspace's dispatch fence (:mod:`deletions.workspaces.fence`), right before
the call, in one short transaction that holds the item's row lock. It checks that the item is still
claimed by *this* claim, its request still runs, its workspace is runnable (breaker closed) with
the credentials the claim was made under, no active legal hold covers the run, and the run still
belongs to the request's customer and workspace. Passing, it writes the attempt row (outcome
``sending``) in the same transaction, so every DELETE that reaches Extend has its record
before it is sent. Refused, the item goes back (pending, held, or failed for a changed owner)
without spending an attempt, and nothing is sent.

A file (:class:`~deletions.models.FileErasure`) passes the same request and workspace checks,
then two of its own: no hold covers a run of the request that uses it, and no present run
outside the request uses it (else it is kept, and its receipt says why).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from deletions.engine import targets
from deletions.models import (
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    FileAttempt,
    FileErasure,
)
from deletions.requests import files, transitions
from deletions.requests.hold_coverage import is_held

IS = DeletionItem.Status

# Why a claim did not pass. The runner stops on the workspace-level ones: its client is stale
# or the workspace may not be called.
CLAIM_LOST = "claim_lost"
REQUEST_NOT_RUNNING = "request_not_running"
WORKSPACE_STOPPED = "workspace_stopped"
CREDENTIALS_CHANGED = "credentials_changed"
HELD = "held"
OWNER_CHANGED = "owner_changed"
# A file still used by a present run outside the request: kept, never sent.
SHARED = "kept_shared"
# The same name as the outcome that opens the breaker: either way, Extend is failing.
BREAKER_OPEN = "breaker_open"
STOPS_RUNNER = frozenset({WORKSPACE_STOPPED, CREDENTIALS_CHANGED, BREAKER_OPEN})
# Refusals about the item alone: the runner goes on with the next one.
PUT_BACK = frozenset({CLAIM_LOST, REQUEST_NOT_RUNNING, HELD, OWNER_CHANGED, SHARED})


@dataclass(frozen=True)
class Refused:
    reason: str


def check(item: targets.Work) -> DeletionAttempt | FileAttempt | Refused:
    """Pass *item* (return its outbox attempt, to be sent now) or refuse it (put it back)."""
    if isinstance(item, FileErasure):
        return _check_file(item)
    with transaction.atomic():
        # One statement reads the item (locked), its run, request and workspace.
        locked = (
            DeletionItem.objects.select_for_update(of=("self",))
            .select_related("parse_run", "request", "workspace")
            .filter(pk=item.pk, status=IS.IN_FLIGHT, claim_token=item.claim_token)
            .first()
        )
        if locked is None:
            return Refused(CLAIM_LOST)  # taken over since: the new claim decides
        run = locked.parse_run
        if refused := _refusal(locked):
            return refused
        if is_held(run):
            transitions.hold_item(locked)
            return Refused(HELD)
        if run.customer_id != locked.request.customer_id or run.workspace_id != locked.workspace_id:
            transitions.complete_item(
                locked,
                IS.FAILED,
                http_status=None,
                error=(
                    "Not sent: the run no longer belongs to this request's customer or workspace."
                ),
            )
            return Refused(OWNER_CHANGED)
        return DeletionAttempt.objects.create(
            item=locked,
            kind=DeletionAttempt.Kind.DELETE,
            started_at=timezone.now(),
            outcome=DeletionAttempt.SENDING,
        )


def _check_file(erasure: FileErasure) -> FileAttempt | Refused:
    """The gate for a file: the request's and workspace's checks as for a run, then whether
    anything still needs the file. A hold on a run of the request that uses it (placed even
    after the run was deleted) keeps it, and so does a present run outside the request that
    uses it; both are asked here, in the transaction that writes the outbox record."""
    with transaction.atomic():
        locked = (
            FileErasure.objects.select_for_update(of=("self",))
            .select_related("request", "workspace")
            .filter(pk=erasure.pk, status=IS.IN_FLIGHT, claim_token=erasure.claim_token)
            .first()
        )
        if locked is None:
            return Refused(CLAIM_LOST)
        if refused := _refusal(locked):
            return refused
        if files.runs_held(locked):
            files.keep(locked, FileErasure.KeptReason.RUN_HELD)
            return Refused(HELD)
        if used := files.used_outside(locked):
            files.keep(locked, FileErasure.KeptReason.SHARED, used_by=used)
            return Refused(SHARED)
        return FileAttempt.objects.create(
            item=locked,
            kind=FileAttempt.Kind.DELETE,
            started_at=timezone.now(),
            outcome=FileAttempt.SENDING,
        )


def _refusal(locked: targets.Work) -> Refused | None:
    """The checks a run's item and a file share: the claim's request still runs, and its
    workspace may be called with the credentials the claim was made under. Refused, the item
    goes back (pending, its attempt given back)."""
    req, ws = locked.request, locked.workspace
    if req.status != DeletionRequest.Status.RUNNING:
        return _put_back(locked, REQUEST_NOT_RUNNING, f"Not sent: the request is {req.status}")
    if not ws.is_runnable:
        return _put_back(locked, WORKSPACE_STOPPED, "Not sent: the workspace is stopped")
    if ws.breaker_open_until is not None and ws.breaker_open_until > timezone.now():
        # Opened since the claim (by another thread's failures): an item claimed before
        # must not be sent through an outage either.
        return _put_back(locked, BREAKER_OPEN, "Not sent: Extend is failing; waiting to retry")
    if ws.credentials_version != locked.claim_version:
        return _put_back(
            locked, CREDENTIALS_CHANGED, "Not sent: the workspace's key or URL changed"
        )
    return None


def _put_back(item: targets.Work, reason: str, error: str) -> Refused:
    targets.of(item).reschedule(
        item, next_attempt_at=timezone.now(), http_status=None, count_attempt=False, error=error
    )
    return Refused(reason)
