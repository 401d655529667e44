"""What each answer to a DELETE means (DESIGN.md's table), recorded on its outbox attempt.

2xx deleted (then a GET confirms it, if the workspace verifies); 404 already gone, or deleted
with its answer lost when an earlier DELETE of ours may have reached Extend, unless too many
first 404s in a row (then the workspace stops for a human); 429 everyone of the category waits;
5xx, timeouts and lost answers retry with backoff then fail; 401/403/402 stop the workspace with
items left pending; 400/422 fail the item.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from deletions import ratelimit, signals, transitions
from deletions.engine.config import EngineSettings, backoff_delay
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
from deletions.models import DeletionAttempt, DeletionItem, Workspace
from deletions.workspace_health import mark_workspace

log = logging.getLogger(__name__)

IS = DeletionItem.Status

# Earlier outcomes after which a DELETE of ours may have reached Extend: sent without an answer
# (a killed runner's outbox row), or answered with an error that does not rule it out.
MAY_HAVE_REACHED = frozenset({DeletionAttempt.SENDING, "transient"})


class Call(NamedTuple):
    """One DELETE and its answer, as the outcome handlers see it."""

    item: DeletionItem
    attempt: DeletionAttempt
    workspace: Workspace
    client: ExtendClient
    cfg: EngineSettings
    result: Deleted | ExtendError
    started: datetime
    duration: float


def record(
    call: Call,
    outcome: str,
    *,
    http_status: int | None = None,
    request_id: str | None = None,
    error: str = "",
) -> None:
    """Complete the call's outbox attempt with what Extend answered."""
    DeletionAttempt.objects.filter(pk=call.attempt.pk).update(
        started_at=call.started,
        duration_ms=int(call.duration * 1000),
        http_status=http_status,
        outcome=outcome,
        extend_request_id=request_id or "",
        error=error[:2000],
    )


# --- The 404 streak: a workspace that answers 404 to everything is misconfigured ---


def _not_found_key(workspace_id: int) -> str:
    return f"engine:404-streak:{workspace_id}"


# The runner's threads share one counter per workspace (one runner per workspace at a time);
# the lock makes the count exact where the cache's incr is not atomic (the file-based cache).
_streak_lock = threading.Lock()


def _note_success(workspace: Workspace) -> None:
    cache.set(_not_found_key(workspace.pk), 0, timeout=None)


def _note_not_found(workspace: Workspace) -> int:
    """Count a 404 in the workspace's current streak; return the streak length."""
    key = _not_found_key(workspace.pk)
    with _streak_lock:
        cache.add(key, 0, timeout=None)
        try:
            return int(cache.incr(key))
        except ValueError:  # the key vanished (cache flushed) between add and incr
            cache.set(key, 1, timeout=None)
            return 1


def reset_not_found_streak(workspace_id: int) -> None:
    """Staff resumed the workspace: start counting 404s afresh."""
    cache.delete(_not_found_key(workspace_id))


def _may_have_reached_before(call: Call) -> bool:
    return (
        DeletionAttempt.objects.filter(
            item_id=call.item.pk, kind=DeletionAttempt.Kind.DELETE, outcome__in=MAY_HAVE_REACHED
        )
        .exclude(pk=call.attempt.pk)
        .exists()
    )


# --- Handlers ---


def handle_deleted(call: Call) -> str:
    assert isinstance(call.result, Deleted)
    with transaction.atomic():  # one commit for the answer and the item's move
        record(call, "deleted", http_status=call.result.status, request_id=call.result.request_id)
        transitions.complete_item(
            call.item,
            IS.DELETED,
            http_status=call.result.status,
            extend_request_id=call.result.request_id or "",
        )
    _note_success(call.workspace)
    if call.workspace.verify_deletions:
        verify_deleted(call.item, call.workspace, call.client)
    return "deleted"


def handle_not_found(call: Call) -> str:
    assert isinstance(call.result, NotFound)
    request_id = call.result.request_id or ""
    if _may_have_reached_before(call):
        # Our own earlier DELETE reached Extend and its answer was lost (killed runner, cut
        # connection, a 5xx that had done the work): the run is gone because we deleted it.
        record(call, "deleted_answer_lost", http_status=404, request_id=request_id)
        transitions.complete_item(
            call.item,
            IS.DELETED,
            http_status=404,
            extend_request_id=request_id,
            error="Deleted; the answer to our first DELETE was lost, the retry found it gone.",
            answer_lost=True,
        )
        return "deleted"
    streak = _note_not_found(call.workspace)
    if streak > call.cfg.not_found_burst:
        # Extend says "not found" to everything: more likely a wrong workspace id or key than
        # hundreds of runs deleted behind our back. Stop and ask a human; mark nothing gone.
        record(
            call, "not_found_burst", http_status=404, request_id=request_id, error=str(call.result)
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
            extend_request_id=request_id,
            error="Paused: burst of 404s",
        )
        return "not_found_burst"
    record(call, "already_gone", http_status=404, request_id=request_id)
    transitions.complete_item(
        call.item, IS.ALREADY_GONE, http_status=404, extend_request_id=request_id
    )
    return "already_gone"


def handle_rate_limited(call: Call) -> str:
    assert isinstance(call.result, RateLimited)
    wait = max(call.result.retry_after, 1.0)
    ratelimit.block_for(call.workspace, ratelimit.WRITE, wait)
    record(
        call,
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


def handle_transient(call: Call) -> str:
    assert isinstance(call.result, ExtendError)
    record(
        call,
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


STOPPING: dict[type[ExtendError], str] = {
    Unauthorized: Workspace.Health.CREDENTIALS_INVALID,
    Forbidden: Workspace.Health.FORBIDDEN,
    PaymentRequired: Workspace.Health.PAYMENT_REQUIRED,
}


def handle_workspace_refused(call: Call) -> str:
    assert isinstance(call.result, ExtendError)
    health = STOPPING[type(call.result)]
    record(
        call,
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


def handle_invalid(call: Call) -> str:
    assert isinstance(call.result, ExtendError)
    record(
        call,
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


def handle_unexpected(call: Call) -> str:
    # An answer Extend does not document (a proxy page, an unknown status): retried like a
    # transient error, so a passing glitch heals and a lasting one ends failed with its status.
    return handle_transient(call)


Handler = Callable[[Call], str]
HANDLERS: dict[type, Handler] = {
    Deleted: handle_deleted,
    NotFound: handle_not_found,
    RateLimited: handle_rate_limited,
    Transient: handle_transient,
    Unauthorized: handle_workspace_refused,
    Forbidden: handle_workspace_refused,
    PaymentRequired: handle_workspace_refused,
    InvalidRequest: handle_invalid,
}

# Outcomes after which the runner stops: the workspace needs a human.
STOPPING_OUTCOMES = frozenset({*STOPPING.values(), "not_found_burst"})


def handle(call: Call) -> str:
    """Record *call*'s answer and move its item on; return the outcome's name."""
    return HANDLERS.get(type(call.result), handle_unexpected)(call)


def _verify_record(
    item: DeletionItem,
    started: datetime,
    t0: float,
    outcome: str,
    *,
    http_status: int | None,
    request_id: str | None = None,
    error: str = "",
) -> None:
    DeletionAttempt.objects.create(
        item=item,
        kind=DeletionAttempt.Kind.VERIFY,
        started_at=started,
        duration_ms=int((time.monotonic() - t0) * 1000),
        http_status=http_status,
        outcome=outcome,
        extend_request_id=request_id or "",
        error=error[:2000],
    )


def verify_deleted(item: DeletionItem, workspace: Workspace, client: ExtendClient) -> bool:
    """Confirm with a GET (its own budget at Extend) that a deleted run now answers 404."""
    if not ratelimit.acquire_for(workspace, ratelimit.GET, deadline=time.monotonic() + 30):
        return False
    started, t0 = timezone.now(), time.monotonic()
    try:
        client.get_parse_run(item.parse_run.run_id)
    except NotFound as exc:
        with transaction.atomic():
            _verify_record(
                item, started, t0, "confirmed_gone", http_status=404, request_id=exc.request_id
            )
            DeletionItem.objects.filter(pk=item.pk).update(verified_at=timezone.now())
            # A verification that comes in after the request finished changes its certificate.
            signals.announce_outcome_changed([item.request_id])
        return True
    except RateLimited as exc:
        ratelimit.block_for(workspace, ratelimit.GET, max(exc.retry_after, 1.0))
        _verify_record(
            item, started, t0, "verify_error", http_status=429, request_id=exc.request_id,
            error=str(exc),
        )  # fmt: skip
        return False
    except ExtendError as exc:
        _verify_record(
            item, started, t0, "verify_error", http_status=exc.status, request_id=exc.request_id,
            error=str(exc),
        )  # fmt: skip
        return False
    _verify_record(
        item,
        started,
        t0,
        "still_present",
        http_status=200,
        error="Extend still returns the run after answering its DELETE with success.",
    )
    log.warning("run %s still present after delete (item %s)", item.parse_run.run_id, item.pk)
    return False
