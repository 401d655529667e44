"""Executing approved deletions at Extend: claim an item, call DELETE, record what Extend said.

The database is the only record of work. A *runner* (one Celery task per workspace at a time)
claims due items one by one under a short lease (``FOR UPDATE SKIP LOCKED``), spends a slot of
the workspace's shared rate limiter, calls Extend and moves the item on through
:mod:`deletions.transitions`. Several threads share a runner so that Extend's latency does not
cap throughput below the rate limit. A killed runner's items come back when their lease expires;
the reconciler (:func:`reconcile`) re-enqueues whatever the database says is unfinished.

What each answer means is DESIGN.md's table: 2xx deleted, 404 already gone (unless too many in a
row: then the workspace stops for a human), 429 wait and slow down, 5xx/timeouts retry with
backoff then fail, 401/403/402 stop the workspace with items left pending, 400/422 fail the item.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.core.cache import cache
from django.db import close_old_connections, connection, transaction
from django.db.models import Q
from django.utils import timezone

from deletions import holds, ratelimit, transitions
from deletions.engine_health import LAST_RECONCILE_KEY
from deletions.errors import TransitionError
from deletions.extend_client import (
    Deleted,
    ExtendClient,
    ExtendError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    Transient,
    Unauthorized,
)
from deletions.extend_connection import credentials_for
from deletions.models import (
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    Source,
    Workspace,
)
from deletions.workspace_health import mark_workspace

log = logging.getLogger(__name__)

IS = DeletionItem.Status
RS = DeletionRequest.Status

HEARTBEAT_KEY = "engine:heartbeat"


@dataclass(frozen=True)
class EngineSettings:
    """Tunables, from Django settings (see README, Configuration)."""

    lease_seconds: float
    max_attempts: int
    backoff_base: float
    backoff_cap: float
    not_found_burst: int
    runner_seconds: float
    runner_threads: int
    read_timeout: float

    @classmethod
    def current(cls) -> EngineSettings:
        return cls(
            lease_seconds=settings.ITEM_LEASE_SECONDS,
            max_attempts=settings.MAX_DELETE_ATTEMPTS,
            backoff_base=settings.RETRY_BACKOFF_BASE_SECONDS,
            backoff_cap=settings.RETRY_BACKOFF_CAP_SECONDS,
            not_found_burst=settings.NOT_FOUND_BURST_THRESHOLD,
            runner_seconds=settings.RUNNER_SECONDS,
            runner_threads=settings.RUNNER_THREADS,
            read_timeout=settings.EXTEND_READ_TIMEOUT_SECONDS,
        )


def backoff_delay(attempt: int, cfg: EngineSettings) -> float:
    """Exponential backoff with jitter: about base * 2^(attempt-1), capped, never below half."""
    ceiling: float = min(cfg.backoff_cap, cfg.backoff_base * 2.0 ** max(attempt - 1, 0))
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311 (jitter, not security)


# --- Claiming ---


def claim_item(workspace_id: int, cfg: EngineSettings) -> DeletionItem | None:
    """Take the next due item of *workspace_id* from a running request, under a lease."""
    now = timezone.now()
    with transaction.atomic():
        item = (
            DeletionItem.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(
                workspace_id=workspace_id,
                status=IS.PENDING,
                next_attempt_at__lte=now,
                request__status=RS.RUNNING,
            )
            .order_by("next_attempt_at", "id")
            .select_related("parse_run")
            .first()
        )
        if item is None:
            return None
        item.status = IS.IN_FLIGHT
        item.attempts += 1
        item.lease_expires_at = now + timedelta(seconds=cfg.lease_seconds)
        item.save(update_fields=["status", "attempts", "lease_expires_at"])
        return item


def release_expired_leases(now: datetime | None = None) -> int:
    """Items whose runner died mid-call go back to pending, due now.

    Their DELETE may have reached Extend: the retry then gets 404 and the item ends already gone,
    with both attempts on record.
    """
    now = now or timezone.now()
    return DeletionItem.objects.filter(status=IS.IN_FLIGHT, lease_expires_at__lt=now).update(
        status=IS.PENDING, lease_expires_at=None, next_attempt_at=now
    )


# --- One call and its outcome ---


def _record_attempt(
    item: DeletionItem,
    kind: str,
    started: datetime,
    duration: float,
    outcome: str,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
    error: str = "",
) -> None:
    DeletionAttempt.objects.create(
        item=item,
        kind=kind,
        started_at=started,
        duration_ms=int(duration * 1000),
        http_status=http_status,
        outcome=outcome,
        extend_request_id=request_id or "",
        error=error[:2000],
    )


def _not_found_key(workspace: Workspace) -> str:
    return f"engine:404-streak:{workspace.pk}"


def _note_success(workspace: Workspace) -> None:
    cache.set(_not_found_key(workspace), 0, timeout=None)


# The runner's threads share one counter per workspace (one runner per workspace at a time);
# the lock makes the count exact where the cache's incr is not atomic (the file-based cache).
_streak_lock = threading.Lock()


def _note_not_found(workspace: Workspace) -> int:
    """Count a 404 in the workspace's current streak; return the streak length."""
    key = _not_found_key(workspace)
    with _streak_lock:
        cache.add(key, 0, timeout=None)
        try:
            return cache.incr(key)
        except ValueError:  # the key vanished (cache flushed) between add and incr
            cache.set(key, 1, timeout=None)
            return 1


def reset_not_found_streak(workspace: Workspace) -> None:
    """Staff resumed the workspace: start counting 404s afresh."""
    cache.delete(_not_found_key(workspace))


def execute_item(
    item: DeletionItem,
    workspace: Workspace,
    client: ExtendClient,
    cfg: EngineSettings,
    *,
    deadline: float,
) -> str:
    """Send the DELETE for a claimed item and record its outcome. Returns the outcome name.

    The rate-limit slot is taken last, right before the call, so the spacing the limiter grants
    is the spacing Extend sees (no database work in between to jitter it).
    """
    # A hold placed since the claim wins: checked here, right before the irreversible call.
    if holds.is_held(item.parse_run):
        transitions.hold_item(item)
        return "held"
    if not ratelimit.acquire_for(workspace, ratelimit.WRITE, deadline=deadline):
        transitions.reschedule_item(
            item, next_attempt_at=timezone.now(), http_status=None, count_attempt=False
        )
        return "deferred"
    run_id = item.parse_run.run_id
    started, t0 = timezone.now(), time.monotonic()
    try:
        result: Deleted | ExtendError = client.delete_parse_run(run_id)
    except ExtendError as exc:
        result = exc
    duration = time.monotonic() - t0
    handler = _HANDLERS.get(type(result), _handle_unexpected)
    return handler(Call(item, workspace, client, cfg, result, started, duration))


class Call(NamedTuple):
    """One DELETE and its answer, as the outcome handlers see it."""

    item: DeletionItem
    workspace: Workspace
    client: ExtendClient
    cfg: EngineSettings
    result: Deleted | ExtendError
    started: datetime
    duration: float


def _handle_deleted(call: Call) -> str:
    assert isinstance(call.result, Deleted)
    _record_attempt(
        call.item,
        "delete",
        call.started,
        call.duration,
        "deleted",
        http_status=call.result.status,
        request_id=call.result.request_id,
    )
    _note_success(call.workspace)
    transitions.complete_item(
        call.item,
        IS.DELETED,
        http_status=call.result.status,
        extend_request_id=call.result.request_id or "",
    )
    if call.workspace.verify_deletions:
        verify_deleted(call.item, call.workspace, call.client)
    return "deleted"


def _handle_not_found(call: Call) -> str:
    assert isinstance(call.result, NotFound)
    # A 404 on a retry is expected when the earlier call may have reached Extend (lost answer,
    # killed worker): only first attempts count towards the "everything is 404" alarm.
    streak = _note_not_found(call.workspace) if call.item.attempts <= 1 else 0
    if streak > call.cfg.not_found_burst:
        # Extend says "not found" to everything: more likely a wrong workspace id or key than
        # hundreds of runs deleted behind our back. Stop and ask a human; mark nothing gone.
        _record_attempt(
            call.item,
            "delete",
            call.started,
            call.duration,
            "not_found_burst",
            http_status=404,
            request_id=call.result.request_id,
            error=str(call.result),
        )
        mark_workspace(
            call.workspace,
            Workspace.Health.NOT_FOUND_BURST,
            reason=(
                f"{streak} DELETEs in a row answered 404 (not found). Check the workspace id "
                "and API key: a run of another workspace also answers 404. Resume once checked."
            ),
        )
        transitions.reschedule_item(
            call.item,
            next_attempt_at=timezone.now(),
            http_status=404,
            count_attempt=False,
            extend_request_id=call.result.request_id or "",
            error="Paused: burst of 404s",
        )
        return "not_found_burst"
    _record_attempt(
        call.item,
        "delete",
        call.started,
        call.duration,
        "already_gone",
        http_status=404,
        request_id=call.result.request_id,
    )
    transitions.complete_item(
        call.item, IS.ALREADY_GONE, http_status=404, extend_request_id=call.result.request_id or ""
    )
    return "already_gone"


def _handle_rate_limited(call: Call) -> str:
    assert isinstance(call.result, RateLimited)
    wait = max(call.result.retry_after, 1.0)
    ratelimit.block_for(call.workspace, ratelimit.WRITE, wait)
    _record_attempt(
        call.item,
        "delete",
        call.started,
        call.duration,
        "rate_limited",
        http_status=429,
        request_id=call.result.request_id,
        error=f"Retry after {wait:.1f} s",
    )
    transitions.reschedule_item(
        call.item,
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        http_status=429,
        extend_request_id=call.result.request_id or "",
        error=str(call.result),
        count_attempt=False,
    )
    return "rate_limited"


def _handle_transient(call: Call) -> str:
    assert isinstance(call.result, ExtendError)
    _record_attempt(
        call.item,
        "delete",
        call.started,
        call.duration,
        "transient",
        http_status=call.result.status,
        request_id=call.result.request_id,
        error=str(call.result),
    )
    if call.item.attempts >= call.cfg.max_attempts:
        transitions.complete_item(
            call.item,
            IS.FAILED,
            http_status=call.result.status,
            extend_request_id=call.result.request_id or "",
            error=f"Gave up after {call.item.attempts} attempts: {call.result}",
        )
        return "failed"
    delay = backoff_delay(call.item.attempts, call.cfg)
    transitions.reschedule_item(
        call.item,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        http_status=call.result.status,
        extend_request_id=call.result.request_id or "",
        error=str(call.result),
    )
    return "retry_scheduled"


_STOPPING: dict[type[ExtendError], str] = {
    Unauthorized: Workspace.Health.CREDENTIALS_INVALID,
    Forbidden: Workspace.Health.FORBIDDEN,
    PaymentRequired: Workspace.Health.PAYMENT_REQUIRED,
}


def _handle_workspace_refused(call: Call) -> str:
    assert isinstance(call.result, ExtendError)
    health = _STOPPING[type(call.result)]
    _record_attempt(
        call.item,
        "delete",
        call.started,
        call.duration,
        health,
        http_status=call.result.status,
        request_id=call.result.request_id,
        error=str(call.result),
    )
    mark_workspace(
        call.workspace,
        health,
        reason=(
            f"Extend answered {call.result.status} {call.result.code or ''}: {call.result.message}"
        ).strip(),
    )
    # The item did nothing wrong: it waits, with its attempt given back, for the fix.
    transitions.reschedule_item(
        call.item,
        next_attempt_at=timezone.now(),
        http_status=call.result.status,
        count_attempt=False,
        extend_request_id=call.result.request_id or "",
        error=str(call.result),
    )
    return health


def _handle_invalid(call: Call) -> str:
    assert isinstance(call.result, ExtendError)
    _record_attempt(
        call.item,
        "delete",
        call.started,
        call.duration,
        "invalid_request",
        http_status=call.result.status,
        request_id=call.result.request_id,
        error=str(call.result),
    )
    transitions.complete_item(
        call.item,
        IS.FAILED,
        http_status=call.result.status,
        extend_request_id=call.result.request_id or "",
        error=f"Extend refused the request: {call.result.message}",
    )
    return "failed"


def _handle_unexpected(call: Call) -> str:
    # An answer Extend does not document (a proxy page, an unknown status): retried like a
    # transient error, so a passing glitch heals and a lasting one ends failed with its status.
    return _handle_transient(call)


Handler = Callable[[Call], str]
_HANDLERS: dict[type, Handler] = {
    Deleted: _handle_deleted,
    NotFound: _handle_not_found,
    RateLimited: _handle_rate_limited,
    Transient: _handle_transient,
    Unauthorized: _handle_workspace_refused,
    Forbidden: _handle_workspace_refused,
    PaymentRequired: _handle_workspace_refused,
    InvalidRequest: _handle_invalid,
}


def verify_deleted(item: DeletionItem, workspace: Workspace, client: ExtendClient) -> bool:
    """Confirm with a GET (its own budget at Extend) that a deleted run now answers 404."""
    deadline = time.monotonic() + 30
    if not ratelimit.acquire_for(workspace, ratelimit.GET, deadline=deadline):
        return False
    started, t0 = timezone.now(), time.monotonic()
    try:
        client.get_parse_run(item.parse_run.run_id)
    except NotFound as exc:
        _record_attempt(
            item,
            "verify",
            started,
            time.monotonic() - t0,
            "confirmed_gone",
            http_status=404,
            request_id=exc.request_id,
        )
        DeletionItem.objects.filter(pk=item.pk).update(verified_at=timezone.now())
        return True
    except ExtendError as exc:
        if isinstance(exc, RateLimited):  # every GET caller of the organisation waits
            ratelimit.block_for(workspace, ratelimit.GET, max(exc.retry_after, 1.0))
        _record_attempt(
            item,
            "verify",
            started,
            time.monotonic() - t0,
            "verify_error",
            http_status=exc.status,
            request_id=exc.request_id,
            error=str(exc),
        )
        return False
    _record_attempt(
        item,
        "verify",
        started,
        time.monotonic() - t0,
        "still_present",
        http_status=200,
        error="Extend still returns the run after answering its DELETE with success.",
    )
    log.warning("run %s still present after delete (item %s)", item.parse_run.run_id, item.pk)
    return False


# --- The runner: one per workspace at a time ---


@dataclass
class RunSummary:
    """What one runner did, for logs and tests."""

    outcomes: dict[str, int] = field(default_factory=dict)
    stopped_because: str = ""
    more_work: bool = False

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _runner_lock_key(workspace_id: int) -> str:
    return f"engine:runner:{workspace_id}"


def _lock_ttl(cfg: EngineSettings) -> int:
    """Long enough to outlast one call; short, so a killed runner's lock soon lapses.

    The runner's threads renew it after every item.
    """
    return int(2 * cfg.read_timeout + 5)


def run_workspace(workspace_id: int, cfg: EngineSettings | None = None) -> RunSummary:
    """Delete due items of *workspace_id* for up to ``cfg.runner_seconds``, several at a time.

    Only one runner per workspace works at once (a short-lived lock in the cache); a second
    wake-up finds it taken and returns at once. Returns what was done and whether work remains.
    """
    cfg = cfg or EngineSettings.current()
    summary = RunSummary()
    lock_key, token = _runner_lock_key(workspace_id), f"{time.time()}:{threading.get_ident()}"
    if not cache.add(lock_key, token, timeout=_lock_ttl(cfg)):
        summary.stopped_because = "another runner is active"
        return summary
    try:
        workspace = Workspace.objects.get(pk=workspace_id)
        if not workspace.is_runnable:
            summary.stopped_because = f"workspace {workspace.get_health_display().lower()}"
            return summary
        _run_threads(workspace, cfg, summary)
        summary.more_work = has_due_work(workspace_id)
    finally:
        if cache.get(lock_key) == token:
            cache.delete(lock_key)
    return summary


def _run_threads(workspace: Workspace, cfg: EngineSettings, summary: RunSummary) -> None:
    deadline = time.monotonic() + cfg.runner_seconds
    stop = threading.Event()
    lock = threading.Lock()
    lock_key = _runner_lock_key(workspace.pk)
    client = ExtendClient(
        credentials_for(workspace),
        read_timeout=cfg.read_timeout,
        pool_size=cfg.runner_threads,
    )

    def worker() -> None:
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                cache.set(HEARTBEAT_KEY, time.time(), timeout=None)
                cache.touch(lock_key, _lock_ttl(cfg))
                item = claim_item(workspace.pk, cfg)
                if item is None:
                    stop.set()  # nothing due: the reconciler or a retry wakes us again
                    return
                outcome = execute_item(item, workspace, client, cfg, deadline=deadline)
                if outcome == "deferred":
                    return
                with lock:
                    summary.add(outcome)
                _finish_if_done(item.request_id)
                if outcome in (*_STOPPING.values(), "not_found_burst"):
                    stop.set()
                    summary.stopped_because = outcome
        except Exception:
            log.exception("runner thread for workspace %s failed", workspace.pk)
            stop.set()
            raise
        finally:
            connection.close()

    try:
        with ThreadPoolExecutor(max_workers=cfg.runner_threads) as pool:
            futures = [pool.submit(worker) for _ in range(cfg.runner_threads)]
            for future in futures:
                future.result()
    finally:
        client.close()
        close_old_connections()


def _finish_if_done(request_id: int) -> None:
    req = DeletionRequest.objects.only(
        "status", "item_count", "deleted_count", "already_gone_count", "failed_count"
    ).get(pk=request_id)
    if req.status == RS.RUNNING and req.remaining_count == 0:
        # Another thread may finish it first, or an item may be retried meanwhile.
        with contextlib.suppress(TransitionError):
            transitions.finish_request(req, actor=None, source=Source.WORKER)


def has_due_work(workspace_id: int) -> bool:
    return DeletionItem.objects.filter(
        workspace_id=workspace_id,
        status=IS.PENDING,
        next_attempt_at__lte=timezone.now(),
        request__status=RS.RUNNING,
    ).exists()


def next_due_in(workspace_id: int) -> float | None:
    """Seconds until the workspace's next scheduled retry, or None if nothing is scheduled."""
    nxt = (
        DeletionItem.objects.filter(
            workspace_id=workspace_id,
            status=IS.PENDING,
            next_attempt_at__isnull=False,
            request__status=RS.RUNNING,
        )
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if nxt is None:
        return None
    return max((nxt - timezone.now()).total_seconds(), 0.0)


# --- The reconciler ---


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


def workspaces_with_due_work() -> list[int]:
    now = timezone.now()
    return sorted(
        set(
            DeletionItem.objects.filter(
                status=IS.PENDING,
                next_attempt_at__lte=now,
                request__status=RS.RUNNING,
                workspace__health=Workspace.Health.ACTIVE,
            )
            .values_list("workspace_id", flat=True)
            .distinct()
        )
    )


def reconcile(wake: Callable[[int], object]) -> ReconcileSummary:
    """Bring the queue back in line with the database; *wake* enqueues a runner for a workspace.

    Runs every ``RECONCILE_INTERVAL_SECONDS`` on beat. Safe to run any number of times at once.
    """
    summary = ReconcileSummary()
    summary.holds_ended = holds.expire_holds()
    summary.started = start_approved_requests()
    summary.leases_released = release_expired_leases()
    summary.finished = finish_done_requests()
    for workspace_id in workspaces_with_due_work():
        wake(workspace_id)
        summary.workspaces_woken.append(workspace_id)
    stuck_before = timezone.now() - timedelta(seconds=settings.STUCK_AFTER_SECONDS)
    summary.stuck_items = DeletionItem.objects.filter(
        status=IS.PENDING,
        next_attempt_at__lt=stuck_before,
        request__status=RS.RUNNING,
        workspace__health=Workspace.Health.ACTIVE,
    ).count()
    if summary.stuck_items:
        log.warning(
            "%s items have been due for over %s s",
            summary.stuck_items,
            settings.STUCK_AFTER_SECONDS,
        )
    cache.set(LAST_RECONCILE_KEY, time.time(), timeout=None)
    return summary
