"""What each answer to a DELETE means (DESIGN.md's table), recorded on its outbox attempt.

2xx deleted (then a GET confirms it, if the workspace verifies); 404 already gone, or deleted
with its answer lost when an earlier DELETE of ours may have reached Extend, unless too many
first 404s in a row (then the workspace stops for a human); 429 everyone of the category waits;
5xx, timeouts and lost answers retry with backoff then fail; 401/403/402 stop the workspace with
items left pending; 400/422 fail the item.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from django.db import transaction
from django.utils import timezone

from deletions.engine import breaker, evidence, targets, verification
from deletions.engine.config import EngineSettings, backoff_delay
from deletions.extend_client import (
    Deleted,
    DestinationRefused,
    ExtendClient,
    ExtendError,
    Forbidden,
    InvalidRequest,
    NotFound,
    PaymentRequired,
    RateLimited,
    Transient,
    Unauthorized,
    UnexpectedSuccess,
)
from deletions.models import DeletionAttempt, DeletionItem, FileAttempt, Workspace
from deletions.workspaces import ratelimit
from deletions.workspaces.health import mark_workspace

log = logging.getLogger(__name__)

IS = DeletionItem.Status

# Earlier outcomes after which a DELETE of ours may have reached Extend: sent without an answer
# (a killed runner's outbox row), or answered with an error that does not rule it out.
MAY_HAVE_REACHED = frozenset({DeletionAttempt.SENDING, "transient", "unexpected_answer"})


class Call(NamedTuple):
    """One DELETE (of a run's item or of a file) and its answer, as the outcome handlers see it."""

    item: targets.Work
    attempt: DeletionAttempt | FileAttempt
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
    targets.of(call.item).attempts.objects.filter(pk=call.attempt.pk).update(
        started_at=call.started,
        duration_ms=int(call.duration * 1000),
        http_status=http_status,
        outcome=outcome,
        extend_request_id=request_id or "",
        error=error[:2000],
    )


def record_error(call: Call, outcome: str) -> ExtendError:
    """Complete the outbox attempt of a call Extend answered with an error; return the error."""
    assert isinstance(call.result, ExtendError)
    record(
        call,
        outcome,
        http_status=call.result.status,
        request_id=call.result.request_id,
        error=str(call.result),
    )
    return call.result


def give_back(call: Call) -> None:
    """The item did nothing wrong (the workspace stopped, Extend is down): it is due again at
    once, with its attempt given back; what stops the workspace decides when it is sent."""
    assert isinstance(call.result, ExtendError)
    targets.of(call.item).reschedule(
        call.item,
        next_attempt_at=timezone.now(),
        http_status=call.result.status,
        count_attempt=False,
        extend_request_id=call.result.request_id or "",
        error=str(call.result),
    )


def _may_have_reached_before(call: Call) -> bool:
    return (
        targets.of(call.item)
        .attempts.objects.filter(
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
        targets.of(call.item).complete(
            call.item,
            IS.DELETED,
            http_status=call.result.status,
            extend_request_id=call.result.request_id or "",
        )
    # A well-formed success: the workspace is healthy (its earlier 404s are confirmed) and
    # Extend is up (the breaker closes). The gate read the workspace's row just before the call:
    # a success proves what was there when it was sent, and when nothing was (every success
    # of a healthy workspace) it costs no statement. What came in meanwhile waits for the next.
    seen = call.attempt.item.workspace
    if seen.unexplained_404s:
        evidence.prove_healthy(call.workspace.pk, call.item.claim_version or 0)
    if seen.breaker_failures:
        breaker.note_success(call.workspace.pk)
    if call.workspace.verify_deletions:
        verification.verify_deleted(call.item, call.workspace, call.client)
    return "deleted"


def handle_not_found(call: Call) -> str:
    assert isinstance(call.result, ExtendError) and call.result.status == 404
    request_id = call.result.request_id or ""
    if _may_have_reached_before(call):
        # Our own earlier DELETE reached Extend and its answer was lost (killed runner, cut
        # connection, a 5xx that had done the work): the run is gone because we deleted it.
        record(call, "deleted_answer_lost", http_status=404, request_id=request_id)
        targets.of(call.item).complete(
            call.item,
            IS.DELETED,
            http_status=404,
            extend_request_id=request_id,
            error="Deleted; the answer to our first DELETE was lost, the retry found it gone.",
            answer_lost=True,
        )
        return "deleted"
    # Evidence, not proof: the run may be gone, or the workspace may point elsewhere.
    record(call, "not_found", http_status=404, request_id=request_id, error=str(call.result))
    target = targets.of(call.item)
    target.unconfirm(call.item, http_status=404, extend_request_id=request_id)
    if target is targets.FILES:
        # Extend may remove a run's file with the run: a file's 404 is common on a healthy
        # workspace and is not counted towards a burst; the probe alone decides (a wrong URL or
        # key fails it and stops the workspace).
        return (
            "not_found_burst"
            if evidence.probe(call.workspace, call.client) is False
            else ("unconfirmed")
        )
    count = evidence.note_unexplained_404(call.workspace.pk)
    if count >= call.cfg.not_found_burst:
        # Extend says "not found" again and again: more likely a wrong URL, workspace id or key
        # than runs deleted behind our back. Stop and ask a human; nothing is marked gone.
        evidence.stop_for_404s(
            call.workspace,
            f"{count} DELETEs answered 404 (not found) since the workspace last answered a "
            "success. Check its URL, workspace id and API key: a run of another workspace also "
            "answers 404. Nothing was marked gone; resume once checked.",
        )
        return "not_found_burst"
    if evidence.probe(call.workspace, call.client) is False:
        return "not_found_burst"
    return "unconfirmed"


def handle_unexpected_success(call: Call) -> str:
    """A 2xx that is not Extend's answer (HTML, empty, another run's id): nothing is marked, the
    workspace stops for a human (it may be answering from somewhere else entirely)."""
    error = record_error(call, "unexpected_answer")
    mark_workspace(
        call.workspace,
        Workspace.Health.UNEXPECTED_ANSWERS,
        reason=(
            f"Extend's DELETE answered {error}. Nothing was marked deleted: check the "
            "workspace's URL (a proxy or maintenance page answers like this), then resume."
        ),
    )
    give_back(call)
    return "unexpected_answers"


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
    targets.of(call.item).reschedule(
        call.item,
        next_attempt_at=timezone.now() + timedelta(seconds=wait),
        http_status=429,
        extend_request_id=call.result.request_id or "",
        error=str(call.result),
        count_attempt=False,
    )
    return "rate_limited"


def _extend_answers(call: Call) -> bool:
    """Whether Extend answers a plain GET (the list, one run) for this workspace right now."""
    if not ratelimit.acquire_for(call.workspace, ratelimit.GET, deadline=time.monotonic() + 3):
        return False
    try:
        next(iter(call.client.list_parse_runs(page_size=1)))
    except ExtendError:
        return False
    return True


def handle_transient(call: Call) -> str:
    error = record_error(call, "transient")
    run = breaker.note_failure(call.workspace.pk)
    opened = breaker.opens_at(run)
    if run > 1 and not opened and _extend_answers(call):
        # Failures in a row, yet Extend answers a GET: the trouble is this run's own, and it
        # uses up the item's attempts as usual.
        breaker.note_success(call.workspace.pk)
        run = 1
    if run > 1 or opened:
        # Not this item's fault: Extend (or the way to it) fails for every run. The item keeps
        # its attempt; the breaker decides when to try again.
        give_back(call)
        return "breaker_open" if opened else "retry_scheduled"
    if call.item.attempts >= call.cfg.max_attempts:
        targets.of(call.item).complete(
            call.item,
            IS.FAILED,
            http_status=error.status,
            extend_request_id=error.request_id or "",
            error=f"Gave up after {call.item.attempts} attempts: {error}",
        )
        return "failed"
    delay = backoff_delay(call.item.attempts, call.cfg)
    targets.of(call.item).reschedule(
        call.item,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        http_status=error.status,
        extend_request_id=error.request_id or "",
        error=str(error),
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
    error = record_error(call, health)
    mark_workspace(
        call.workspace,
        health,
        reason=(f"Extend answered {error.status} {error.code or ''}: {error.message}").strip(),
    )
    give_back(call)  # it waits for the fix
    return health


def handle_invalid(call: Call) -> str:
    error = record_error(call, "invalid_request")
    targets.of(call.item).complete(
        call.item,
        IS.FAILED,
        http_status=error.status,
        extend_request_id=error.request_id or "",
        error=f"Extend refused the request: {error.message}",
    )
    return "failed"


def handle_unexpected(call: Call) -> str:
    # An answer Extend does not document (a proxy page, an unknown status): retried like a
    # transient error, so a passing glitch heals and a lasting one ends failed with its status.
    return handle_transient(call)


def handle_not_sent(call: Call) -> str:
    # The outbound URL policy refused the workspace's address at connection time (its host now
    # resolves inside the network): nothing left the portal, so the attempt proves nothing
    # either way ("not_sent" is not a may-have-reached outcome). The item keeps its attempt
    # and waits with the reason as its error; the runner stops until the address is fixed.
    record_error(call, "not_sent")
    give_back(call)
    return "not_sent"


Handler = Callable[[Call], str]
HANDLERS: dict[type, Handler] = {
    Deleted: handle_deleted,
    NotFound: handle_not_found,
    UnexpectedSuccess: handle_unexpected_success,
    RateLimited: handle_rate_limited,
    Transient: handle_transient,
    Unauthorized: handle_workspace_refused,
    Forbidden: handle_workspace_refused,
    PaymentRequired: handle_workspace_refused,
    InvalidRequest: handle_invalid,
    DestinationRefused: handle_not_sent,
}

# Outcomes after which the runner stops: the workspace needs a human, or Extend is down.
STOPPING_OUTCOMES = frozenset(
    {*STOPPING.values(), "not_found_burst", "unexpected_answers", "breaker_open", "not_sent"}
)


def handle(call: Call) -> str:
    """Record *call*'s answer and move its item on; return the outcome's name."""
    if isinstance(call.result, ExtendError) and call.result.status == 404:
        return handle_not_found(call)  # any 404, whatever its body, is the same evidence
    return HANDLERS.get(type(call.result), handle_unexpected)(call)
