"""The reconciler and the takeover watch: bring the queue back in line with the database.

The queue only carries wake-ups; these periodic tasks (on beat) re-create whatever a lost
message, a killed worker or a Redis restart dropped. Safe to run any number of times at once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q
from django.utils import timezone

from deletions.core.errors import TransitionError
from deletions.engine import lease
from deletions.engine.claim import release_expired_leases
from deletions.engine.due import MODELS, due_items, workspaces_with_due_work
from deletions.engine.health import LAST_RECONCILE_KEY
from deletions.models import DeletionItem, DeletionRequest, Source
from deletions.requests import holds, transitions

log = logging.getLogger(__name__)

RS = DeletionRequest.Status
IS = DeletionItem.Status


@dataclass
class ReconcileSummary:
    holds_ended: int = 0
    started: int = 0
    leases_released: int = 0
    finished: int = 0
    workspaces_woken: list[int] = field(default_factory=list)
    stuck_items: int = 0


def start_approved_requests() -> int:
    """Approved requests whose cooling-off window has ended begin running."""
    started = 0
    due = DeletionRequest.objects.filter(status=RS.APPROVED).filter(
        Q(execute_after__isnull=True) | Q(execute_after__lte=timezone.now())
    )
    for req in due.order_by("approved_at"):
        try:
            transitions.start_request(req, actor=None, source=Source.SYSTEM)
            started += 1
        except TransitionError:
            continue  # cancelled or started meanwhile
    return started


def finish_done_requests() -> int:
    """Running requests whose items are all terminal are completed (a lost finish is redone)."""
    finished = 0
    for req in DeletionRequest.objects.filter(status=RS.RUNNING):
        if req.remaining_count == 0:
            try:
                transitions.finish_request(req, actor=None, source=Source.SYSTEM)
                finished += 1
            except TransitionError:
                continue
    return finished


def reconcile(wake: Callable[[int], object]) -> ReconcileSummary:
    """Re-enqueue unfinished work; *wake* enqueues a runner for a workspace.

    Runs every ``RECONCILE_INTERVAL_SECONDS`` on beat.
    """
    summary = ReconcileSummary()
    summary.holds_ended = holds.expire_holds()
    summary.started = start_approved_requests()
    summary.leases_released = release_expired_leases()
    summary.finished = finish_done_requests()
    # Due work, and unconfirmed 404s that only a probe by the runner may prove.
    others: set[int] = set()
    for model in MODELS:
        unconfirmed = model.objects.filter(
            status=IS.UNCONFIRMED, workspace__health="active"
        ).values_list("workspace_id", flat=True)
        unverified = model.objects.filter(
            status=IS.DELETED,
            verified_at__isnull=True,
            verify_due_at__lte=timezone.now(),
            workspace__health="active",
        ).values_list("workspace_id", flat=True)
        others |= set(unconfirmed.distinct()) | set(unverified.distinct())
    for workspace_id in sorted(set(workspaces_with_due_work()) | others):
        wake(workspace_id)
        summary.workspaces_woken.append(workspace_id)
    stuck_before = timezone.now() - timedelta(seconds=settings.STUCK_AFTER_SECONDS)
    summary.stuck_items = due_items(now=stuck_before).count()
    if summary.stuck_items:
        log.warning(
            "%s items have been due for over %s s",
            summary.stuck_items,
            settings.STUCK_AFTER_SECONDS,
        )
    cache.set(LAST_RECONCILE_KEY, time.time(), timeout=None)
    return summary


def watch_runners(wake: Callable[[int], object]) -> list[int]:
    """Wake a runner for every workspace that has work (due, or left in flight) and no live
    runner: a worker that died is taken over within one lease lifetime plus one watch period.
    Runs every ``RUNNER_WATCH_SECONDS`` on beat; two cheap queries."""
    needing = set(workspaces_with_due_work())
    for model in MODELS:
        needing |= set(
            model.objects.filter(status=IS.IN_FLIGHT)
            .order_by()
            .values_list("workspace_id", flat=True)
            .distinct()
        )
    woken = sorted(needing - lease.live_workspaces())
    for workspace_id in woken:
        wake(workspace_id)
    return woken
