"""The parse-run inventory: syncing a workspace's runs from Extend's list endpoint.

A sync walks ``GET /parse_runs`` page by page, newest first, each call in a slot of the shared
limiter (:mod:`deletions.workspaces.ratelimit`: the GET limit of the workspace's organisation,
shared with every other caller), and upserts each page in one statement together with the saved
page token, so a sync that dies resumes where it stopped. Memory stays bounded by one page.

Modes:

- **full**: every page; when it completes, present runs of the workspace that were not listed
  since the sync started are marked ``VANISHED`` (deleted at Extend outside the portal), except
  runs in an open request, which the engine owns.
- **incremental**: from the newest run until a page holds only runs already known; catches new
  runs between full syncs (webhooks keep statuses current).

Mapping: ``metadata[workspace.customer_metadata_key]`` equal to a ``Customer.external_ref``
assigns the run to that customer; otherwise it stays unassigned (customer NULL) for staff,
and a later sync never takes away an assignment staff made.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from deletions import audit, signals
from deletions.extend_client import (
    MAX_PAGE_SIZE,
    ExtendError,
    InvalidRequest,
    ParseRunPage,
)
from deletions.inventory.pages import MAX_BATCH as MAX_BATCH
from deletions.inventory.pages import MAX_PAGE_RETRIES as MAX_PAGE_RETRIES
from deletions.inventory.pages import PageFetcher, page_batches
from deletions.inventory.runs import run_row, upsert_runs
from deletions.models import (
    ParseRun,
    Source,
    Workspace,
    WorkspaceSync,
)
from deletions.workspaces.extend_connection import client_for

if TYPE_CHECKING:
    from deletions.audit import Actor

logger = logging.getLogger(__name__)

# A worker holds a sync this long after its last stored page (long enough for a page's retries
# and 429 waits); an expired lease can be taken over.
LEASE = timedelta(seconds=240)
# One task call works this long, then hands over to a fresh task (tasks must stay short).
TIME_BUDGET_SECONDS = 180.0
# A full sync refuses to mark more than this share of a workspace's present runs as vanished
# (when there are more than VANISH_GUARD_MINIMUM): an empty list usually means a wrong
# workspace id or key scope, not mass deletion. Staff see the refusal in the last result.
VANISH_GUARD_SHARE = 0.5
VANISH_GUARD_MINIMUM = 100
# Periodic syncs are incremental, and full when the last full one is older than this.
FULL_SYNC_EVERY = timedelta(hours=24)


class SyncBusy(Exception):
    """Another worker holds this workspace's sync."""


@dataclass
class SyncOutcome:
    """What one call of ``sync_workspace`` did."""

    status: str
    pages: int
    runs: int
    finished: bool
    vanished: int = 0
    error: str = ""


ProgressCallback = Callable[[WorkspaceSync], None]


def state_for(workspace: Workspace) -> WorkspaceSync:
    """The workspace's sync record, created idle on first use."""
    sync, _ = WorkspaceSync.objects.get_or_create(workspace=workspace)
    return sync


def _claim(workspace: Workspace, mode: str, *, restart: bool) -> WorkspaceSync:
    """Take the sync lease; resume an unfinished sync, or start a new one in *mode*."""
    now = timezone.now()
    with transaction.atomic():
        state_for(workspace)
        sync = WorkspaceSync.objects.select_for_update().get(workspace=workspace)
        held = (
            sync.status == WorkspaceSync.Status.RUNNING
            and sync.lease_expires_at is not None
            and sync.lease_expires_at > now
        )
        if held:
            raise SyncBusy(f"a sync of {workspace} is already running")
        unfinished = sync.status in (WorkspaceSync.Status.RUNNING, WorkspaceSync.Status.FAILED)
        if restart or not unfinished or sync.started_at is None:
            sync.mode = mode
            sync.page_token = ""
            sync.pages_done = 0
            sync.runs_seen = 0
            sync.started_at = now
            sync.finished_at = None
        sync.status = WorkspaceSync.Status.RUNNING
        sync.lease_expires_at = now + LEASE
        sync.last_error = ""
        sync.save()
    return sync


def sync_workspace(
    workspace: Workspace,
    *,
    mode: str = WorkspaceSync.Mode.FULL,
    restart: bool = False,
    page_size: int = MAX_PAGE_SIZE,
    time_budget: float | None = TIME_BUDGET_SECONDS,
    progress: ProgressCallback | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> SyncOutcome:
    """Sync *workspace* from Extend until done, failed, or *time_budget* seconds have passed.

    An unfinished sync (failed, or its worker gone) is resumed from its saved page token unless
    *restart*. Returns what happened; when ``finished`` is False and the status is still
    running, call again to continue (the task does). Raises ``SyncBusy`` if another worker holds
    the sync.

    A full sync fetches pages in a second thread, up to ``MAX_BATCH`` pages ahead, and stores
    whatever has arrived in one transaction, so its speed is set by the rate limit rather than
    by the database, in bounded memory. Only the stored token counts: pages fetched but not
    stored are fetched again on resume.
    """
    sync = _claim(workspace, mode, restart=restart)
    started = clock()
    pages = runs = 0
    context = _PageContext(workspace)

    def out_of_time() -> bool:
        return time_budget is not None and clock() - started >= time_budget

    try:
        with client_for(workspace) as client:
            fetcher = PageFetcher(client, workspace, page_size, sleep)
            ahead = sync.mode == WorkspaceSync.Mode.FULL
            batches = page_batches(fetcher, sync.page_token or None, out_of_time, ahead=ahead)
            try:
                while True:
                    try:
                        batch = next(batches)
                    except InvalidRequest:
                        if not sync.page_token:
                            raise
                        # Extend may no longer accept an old page token: start over.
                        logger.warning("page token of %s refused; restarting its sync", workspace)
                        _restart_from_top(sync)
                        batches = page_batches(fetcher, None, out_of_time, ahead=ahead)
                        continue
                    except StopIteration:
                        # Out of time: hand over with the token of the last stored page.
                        _release(sync)
                        return SyncOutcome(sync.status, pages, runs, finished=False)
                    known_before = _store_pages(context, sync, batch)
                    pages += len(batch)
                    runs += sum(len(page.runs) for page in batch)
                    if progress is not None:
                        progress(sync)
                    last = batch[-1]
                    incremental_done = (
                        sync.mode == WorkspaceSync.Mode.INCREMENTAL
                        and known_before == len(last.runs)
                    )
                    if not last.next_page_token or incremental_done:
                        vanished = _complete(workspace, sync)
                        return SyncOutcome(
                            sync.status, pages, runs, finished=True, vanished=vanished
                        )
            finally:
                # Stop the prefetch thread whatever happened (it holds no database state).
                batches.close()
    except ExtendError as error:
        _fail(sync, str(error))
        return SyncOutcome(sync.status, pages, runs, finished=True, error=str(error))
    except ValueError as error:
        # Credentials that cannot be used (no key, organisation key without workspace id).
        _fail(sync, f"Workspace is not configured for Extend: {error}")
        return SyncOutcome(sync.status, pages, runs, finished=True, error=sync.last_error)
    except BaseException:
        # Interrupted (Ctrl-C, time limit): keep the token, let the lease expire to resume.
        _release(sync)
        raise


def _release(sync: WorkspaceSync) -> None:
    """Hand the sync over: still running, but any worker may take it and resume."""
    sync.lease_expires_at = None
    sync.save(update_fields=["lease_expires_at", "updated_at"])


def _restart_from_top(sync: WorkspaceSync) -> None:
    sync.page_token = ""
    sync.pages_done = 0
    sync.runs_seen = 0
    sync.started_at = timezone.now()
    sync.lease_expires_at = timezone.now() + LEASE
    sync.save()


def _fail(sync: WorkspaceSync, error: str) -> None:
    now = timezone.now()
    sync.status = WorkspaceSync.Status.FAILED
    sync.last_error = error[:2000]
    sync.finished_at = now
    sync.lease_expires_at = None
    sync.last_result = {
        "mode": sync.mode,
        "outcome": "failed",
        "pages": sync.pages_done,
        "runs_seen": sync.runs_seen,
        "error": sync.last_error,
        "resumable": bool(sync.page_token),
    }
    sync.save()
    logger.warning("sync of workspace %s failed: %s", sync.workspace_id, error)


class _PageContext:
    """What a sync keeps between pages so each page costs a couple of statements."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.customers: dict[str, int | None] = {}
        # Vanished runs come back to life only if there are any: skip the UPDATE otherwise.
        self.has_vanished = ParseRun.objects.filter(
            workspace=workspace, state=ParseRun.State.VANISHED
        ).exists()


def _store_pages(context: _PageContext, sync: WorkspaceSync, batch: list[ParseRunPage]) -> int:
    """Upsert some pages and save the token after the last in the same transaction.

    Returns how many of the runs were known before (incremental syncs only; else 0).
    """
    now = timezone.now()
    workspace = context.workspace
    rows = [
        row
        for page in batch
        for row in (run_row(workspace, run, learned_at=now, complete=True) for run in page.runs)
        if row
    ]
    with transaction.atomic():
        known_before = upsert_runs(
            workspace,
            rows,
            now=now,
            customers=context.customers,
            count_known=sync.mode == WorkspaceSync.Mode.INCREMENTAL,
            revive=context.has_vanished,
        )
        sync.page_token = batch[-1].next_page_token or ""
        sync.pages_done += len(batch)
        sync.runs_seen += sum(len(page.runs) for page in batch)
        sync.lease_expires_at = now + LEASE
        sync.save(
            update_fields=[
                "page_token",
                "pages_done",
                "runs_seen",
                "lease_expires_at",
                "updated_at",
            ]
        )
    return known_before


def _complete(workspace: Workspace, sync: WorkspaceSync) -> int:
    """Finish the sync; for a full one, mark runs not listed since it started as vanished."""
    now = timezone.now()
    vanished = 0
    guarded = False
    with transaction.atomic():
        if sync.mode == WorkspaceSync.Mode.FULL and sync.started_at is not None:
            candidates = ParseRun.objects.filter(
                workspace=workspace,
                state=ParseRun.State.PRESENT,
                open_request__isnull=True,
                last_seen_at__lt=sync.started_at,
            )
            count = candidates.count()
            present = ParseRun.objects.filter(
                workspace=workspace, state=ParseRun.State.PRESENT
            ).count()
            if count > VANISH_GUARD_MINIMUM and count > VANISH_GUARD_SHARE * present:
                guarded = True
            elif count:
                vanished = candidates.update(state=ParseRun.State.VANISHED)
            sync.last_full_sync_at = now
        sync.status = WorkspaceSync.Status.COMPLETED
        sync.page_token = ""
        sync.finished_at = now
        sync.lease_expires_at = None
        started = sync.started_at or now
        sync.last_result = {
            "mode": sync.mode,
            "outcome": "completed",
            "pages": sync.pages_done,
            "runs_seen": sync.runs_seen,
            "vanished": vanished,
            "vanish_refused": guarded,
            "seconds": round((now - started).total_seconds(), 1),
            "unassigned": ParseRun.objects.filter(
                workspace=workspace, customer__isnull=True, state=ParseRun.State.PRESENT
            ).count(),
        }
        if guarded:
            sync.last_error = (
                "Not marking runs as vanished: Extend listed far fewer runs than the portal "
                "knows. Check the workspace id and key scope."
            )
        sync.save()
    return vanished


def is_held(sync: WorkspaceSync) -> bool:
    """Whether a worker is running this sync right now (its lease has not expired)."""
    return (
        sync.status == WorkspaceSync.Status.RUNNING
        and sync.lease_expires_at is not None
        and sync.lease_expires_at > timezone.now()
    )


def sync_status(workspace: Workspace) -> dict[str, Any]:
    """What the console shows about the workspace's inventory and its sync."""
    sync = state_for(workspace)
    active = is_held(sync)
    runs = ParseRun.objects.filter(workspace=workspace)
    return {
        "status": sync.status,
        "status_label": sync.get_status_display(),
        "mode": sync.mode,
        "is_running": sync.status == WorkspaceSync.Status.RUNNING,
        "is_active": active,
        "pages_done": sync.pages_done,
        "runs_seen": sync.runs_seen,
        "started_at": sync.started_at,
        "finished_at": sync.finished_at,
        "last_full_sync_at": sync.last_full_sync_at,
        "last_error": sync.last_error,
        "last_result": sync.last_result,
        "resumable": bool(sync.page_token) and sync.status != WorkspaceSync.Status.COMPLETED,
        "present": runs.filter(state=ParseRun.State.PRESENT).count(),
        "unassigned": runs.filter(state=ParseRun.State.PRESENT, customer__isnull=True).count(),
        "vanished": runs.filter(state=ParseRun.State.VANISHED).count(),
    }


def start_sync(workspace: Workspace, *, mode: str = WorkspaceSync.Mode.FULL) -> bool:
    """Ask for a sync of *workspace* after the current transaction commits
    (:data:`deletions.signals.sync_requested`; the task layer enqueues it).

    Returns False (and asks for nothing) if one is already running and held by a worker.
    """
    if is_held(state_for(workspace)):
        return False
    signals.announce_sync_requested(workspace.pk, mode)
    return True


def request_sync(workspace: Workspace, *, actor: Actor, source: Source | str) -> bool:
    """Start a sync of *workspace*'s inventory (after commit), audited; False if one is
    already running."""
    with transaction.atomic():
        if not start_sync(workspace):
            return False
        audit.record("workspace.sync_requested", obj=workspace, actor=actor, source=source)
    return True


def due_mode(workspace: Workspace) -> str:
    """The mode a periodic sync of *workspace* should use now."""
    sync = state_for(workspace)
    last_full = sync.last_full_sync_at
    if last_full is None or timezone.now() - last_full >= FULL_SYNC_EVERY:
        return WorkspaceSync.Mode.FULL
    return WorkspaceSync.Mode.INCREMENTAL


def syncable_workspaces() -> Iterable[Workspace]:
    """Workspaces a periodic sync should visit: active and with a key."""
    return Workspace.objects.filter(health=Workspace.Health.ACTIVE).exclude(Q(api_key_encrypted=""))
