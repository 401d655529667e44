"""Execution tasks. They carry only ids: the database says what to do, so a lost or repeated
message costs at most a delay (the reconciler re-sends what is unfinished)."""

from __future__ import annotations

import contextlib
import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from deletions.core.errors import TransitionError
from deletions.engine import due, reconciler, runner
from deletions.engine import health as engine_health
from deletions.models import DeletionItem, DeletionRequest, Source
from deletions.requests import transitions
from deletions.signals import work_due

log = logging.getLogger(__name__)

# A runner that found retries due within this many seconds asks to be woken then; later ones
# are left to the reconciler (no long countdowns: they would outlive a Redis restart anyway).
SHORT_COUNTDOWN_SECONDS = 60


@shared_task(name="deletions.run_workspace", ignore_result=True)
def run_workspace_task(workspace_id: int, wait_for_lease: float = 0.0) -> None:
    """Work through a workspace's due items for a while, then hand over to the next runner."""

    def successor() -> None:
        # Enqueued before this runner stops, it waits for the lease: no gap at the hand-over.
        run_workspace_task.apply_async(
            (workspace_id,), {"wait_for_lease": 2 * runner.HANDOVER_SECONDS}
        )

    summary = runner.run_workspace(workspace_id, successor=successor, wait_for_lease=wait_for_lease)
    log.info("runner for workspace %s: %s", workspace_id, summary)
    if summary.stopped_because == runner.ANOTHER_RUNNER:
        return
    if summary.more_work:
        if not summary.handed_over:
            run_workspace_task.delay(workspace_id)
        return
    due_in = due.next_due_in(workspace_id)
    if not summary.stopped_because and due_in is not None and due_in <= SHORT_COUNTDOWN_SECONDS:
        run_workspace_task.apply_async((workspace_id,), countdown=max(due_in, 0.5))


def wake_workspace(workspace_id: int) -> None:
    """Ask a worker to look at *workspace_id*'s due items now."""
    run_workspace_task.delay(workspace_id)


@shared_task(name="deletions.start_request", ignore_result=True)
def start_request_task(request_id: int) -> None:
    """An approved request starts running (its items become due)."""
    # Cancelled or already started meanwhile: nothing to do.
    with contextlib.suppress(TransitionError, DeletionRequest.DoesNotExist):
        transitions.start_request(
            DeletionRequest.objects.get(pk=request_id), actor=None, source=Source.SYSTEM
        )


@shared_task(name="deletions.reconcile", ignore_result=True)
def reconcile_task() -> None:
    """Periodic safety net: re-enqueue unfinished work, release dead leases, finish requests."""
    engine_health.note_worker_alive()
    summary = reconciler.reconcile(wake=wake_workspace)
    log.info("reconciler: %s", summary)


@shared_task(name="deletions.watch_runners", ignore_result=True)
def watch_runners_task() -> None:
    """Takeover: wake a runner wherever work waits and no runner's lease is alive."""
    woken = reconciler.watch_runners(wake=wake_workspace)
    if woken:
        log.info("takeover watch woke workspaces %s", woken)


def on_request_transition(request: DeletionRequest, before: str, after: str) -> None:
    """Wake the engine when a request is approved or (re)starts running. Runs after commit."""
    if after == DeletionRequest.Status.APPROVED:
        # During a cooling-off window the reconciler starts it when the window ends.
        if request.execute_after is None or request.execute_after <= timezone.now():
            start_request_task.delay(request.pk)
    elif after == DeletionRequest.Status.RUNNING:
        workspace_ids = (
            DeletionItem.objects.filter(request_id=request.pk)
            .values_list("workspace_id", flat=True)
            .distinct()
        )
        for workspace_id in set(workspace_ids):
            transaction.on_commit(lambda w=workspace_id: wake_workspace(w))  # type: ignore[misc]


transitions.on_transition(on_request_transition)


def _on_work_due(sender: object, workspace_ids: list[int], **kwargs: object) -> None:
    for workspace_id in workspace_ids:
        wake_workspace(workspace_id)


work_due.connect(_on_work_due, dispatch_uid="wake-on-work-due")
