"""The runner: one per workspace at a time, several threads, each DELETE through the gate.

A runner takes the workspace's lease (:mod:`.lease`), gives back whatever a dead runner left in
flight there, and lets ``RUNNER_THREADS`` threads work for ``RUNNER_SECONDS``. Each thread
claims a due item (:mod:`.claim`), then, inside the workspace's dispatch fence
(:mod:`deletions.workspaces.fence`), passes it through the gate (:mod:`.gate`, which writes the
outbox attempt), waits for a rate-limit slot of its organisation and sends the DELETE at once, with
no database work between slot and call. The fence is released when the answer is back, and the
answer is recorded (:mod:`.outcomes`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass, field

from django.db import close_old_connections, connection
from django.utils import timezone

from deletions.core.errors import TransitionError
from deletions.engine import breaker, evidence, gate, lease, outcomes, targets, verification
from deletions.engine.claim import claim_item, claim_items, release_orphans, release_unsent
from deletions.engine.config import EngineSettings
from deletions.engine.due import MODELS, has_due_work
from deletions.extend_client import Deleted, ExtendClient, ExtendError
from deletions.models import DeletionItem, DeletionRequest, Source, Workspace
from deletions.requests import files, transitions
from deletions.workspaces import fence, ratelimit
from deletions.workspaces.extend_connection import client_for

log = logging.getLogger(__name__)

ANOTHER_RUNNER = "another runner is active"
IS = DeletionItem.Status


@dataclass
class RunSummary:
    """What one runner did, for logs and tests."""

    outcomes: dict[str, int] = field(default_factory=dict)
    stopped_because: str = ""
    more_work: bool = False
    taken_over: int = 0
    handed_over: bool = False  # the successor was enqueued before this runner stopped

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


# A runner asks for its successor this long before it stops, and the successor waits up to
# twice this long for the lease: the hand-over costs the time the last calls take to finish,
# not a trip through the queue and a cold start.
HANDOVER_SECONDS = 1.5

# Items a runner thread claims at once (:func:`.claim.claim_items`). Each still passes the gate
# right before its DELETE; a few per claim spare most of the claim's cost per DELETE while
# keeping what one thread holds small (it is sent within a few answers' time, well inside the
# item lease, and given back if the thread stops first).
CLAIM_BATCH = 4


def run_workspace(
    workspace_id: int,
    cfg: EngineSettings | None = None,
    *,
    successor: Callable[[], object] | None = None,
    wait_for_lease: float = 0.0,
) -> RunSummary:
    """Delete due items of *workspace_id* for up to ``cfg.runner_seconds``, several at a time.

    Only one runner per workspace works at once; a second wake-up finds the lease taken and
    returns (after waiting up to *wait_for_lease* seconds for it). *successor*, if given, is
    called shortly before this runner stops with work left, to enqueue the next one. Returns
    what was done and whether work remains.
    """
    cfg = cfg or EngineSettings.current()
    summary = RunSummary()
    owner = _owner()
    give_up_at = time.monotonic() + wait_for_lease
    while not lease.take(workspace_id, owner, cfg.runner_lease_seconds):
        if time.monotonic() >= give_up_at:
            summary.stopped_because = ANOTHER_RUNNER
            return summary
        time.sleep(0.05)
    heartbeat = lease.Heartbeat(workspace_id, owner, cfg.runner_lease_seconds)
    heartbeat.start()
    try:
        # One runner per workspace: whatever is still in flight here was a dead runner's.
        summary.taken_over = release_orphans(workspace_id)
        workspace = Workspace.objects.get(pk=workspace_id)
        if not workspace.is_runnable:
            summary.stopped_because = f"workspace {workspace.get_health_display().lower()}"
            return summary
        version = workspace.credentials_version
        if transitions.requeue_unconfirmed(
            workspace_id, version=version
        ) + files.requeue_unconfirmed(workspace_id, version=version):
            # 404s under credentials that have changed since prove nothing: count afresh.
            Workspace.objects.filter(pk=workspace_id).update(unexplained_404s=0)
        # After an outage (breaker) or a stop for 404s, one DELETE alone decides first: a resume
        # that fixed nothing costs one call, not one per thread.
        suspect = workspace.unexplained_404s >= cfg.not_found_burst
        if (breaker.half_open(workspace) or suspect) and not _probe_first(workspace, cfg, summary):
            return summary
        _run_threads(workspace, cfg, summary, heartbeat.lost, successor)
        summary.more_work = has_due_work(workspace_id)
        if not summary.stopped_because:
            with client_for(workspace, read_timeout=cfg.read_timeout) as client:
                # Verifications that could not run before, then the 404s nothing has proved yet
                # (nothing else to send may prove the workspace healthy: ask Extend).
                verification.retry_verifications(workspace, client)
                waiting = _requests_awaiting_proof(workspace_id)
                if waiting and evidence.probe(workspace, client):
                    _finish_all_done(waiting)  # what the proof settled may end them
    finally:
        heartbeat.stop()
        lease.give_up(workspace_id, owner)
    return summary


def _requests_awaiting_proof(workspace_id: int) -> set[int]:
    """The requests with unconfirmed 404s (items or files) in the workspace."""
    return {
        request_id
        for model in MODELS
        for request_id in model.objects.filter(workspace_id=workspace_id, status=IS.UNCONFIRMED)
        .order_by()
        .values_list("request_id", flat=True)
        .distinct()
    }


def _probe_first(workspace: Workspace, cfg: EngineSettings, summary: RunSummary) -> bool:
    """Send one DELETE alone before the threads start. True if Extend answered well."""
    item = claim_item(workspace.pk, workspace.credentials_version, cfg)
    if item is None:
        return True  # nothing to probe with: the runner finds nothing either
    with client_for(workspace, read_timeout=cfg.read_timeout) as client:
        outcome = send(item, workspace, client, cfg, deadline=time.monotonic() + cfg.slot_wait)
    summary.add(outcome)
    _finish_if_done(item.request_id)
    if breaker.is_open(workspace.pk) or outcome not in ("deleted", "held", *gate.PUT_BACK):
        summary.stopped_because = outcome
        return False
    return True


def send(
    item: targets.Work,
    workspace: Workspace,
    client: ExtendClient,
    cfg: EngineSettings,
    *,
    deadline: float,
) -> str:
    """Gate, rate-limit and send the DELETE for a claimed item (or file), then record the
    answer."""
    target = targets.of(item)
    with fence.sending(workspace.pk):
        verdict = gate.check(item)
        if isinstance(verdict, gate.Refused):
            return verdict.reason
        slot_deadline = min(deadline, time.monotonic() + cfg.slot_wait)
        if not ratelimit.acquire_for(workspace, ratelimit.WRITE, deadline=slot_deadline):
            # Nothing was sent: the outbox record goes and the item waits, attempt given back.
            verdict.delete()
            target.reschedule(
                item, next_attempt_at=timezone.now(), http_status=None, count_attempt=False
            )
            return "deferred"
        started, t0 = timezone.now(), time.monotonic()
        try:
            result: Deleted | ExtendError = target.delete(client, target.resource_id(item))
        except ExtendError as exc:
            result = exc
        duration = time.monotonic() - t0
    # The fence is open again before the answer is recorded: stopping the workspace (401, a
    # burst of 404s) closes it, and must not wait for this thread.
    return outcomes.handle(
        outcomes.Call(item, verdict, workspace, client, cfg, result, started, duration)
    )


def _run_threads(
    workspace: Workspace,
    cfg: EngineSettings,
    summary: RunSummary,
    lost: threading.Event,
    successor: Callable[[], object] | None,
) -> None:
    deadline = time.monotonic() + cfg.runner_seconds
    stop = threading.Event()
    lock = threading.Lock()
    handover = threading.Timer(max(cfg.runner_seconds - HANDOVER_SECONDS, 0.0), _hand_over)
    handover.args = (stop, lost, summary, successor)
    handover.daemon = True
    if successor is not None:
        handover.start()
    client = client_for(workspace, read_timeout=cfg.read_timeout, pool_size=cfg.runner_threads)

    def worker() -> None:
        batch: deque[targets.Work] = deque()
        touched: set[int] = set()  # requests whose items this thread settled since it checked
        try:
            while not stop.is_set() and not lost.is_set() and time.monotonic() < deadline:
                if not batch:
                    _finish_all_done(touched)  # a request done with its runs releases its files
                    batch.extend(_claim_next(workspace, cfg))
                    if not batch:
                        # Nothing due: this thread is done (the others finish what they hold,
                        # then find nothing too); the reconciler or a retry wakes the runner.
                        return
                item = batch.popleft()
                outcome = send(item, workspace, client, cfg, deadline=deadline)
                touched.add(item.request_id)
                with lock:
                    summary.add(outcome)
                    if outcome in outcomes.STOPPING_OUTCOMES or outcome in gate.STOPS_RUNNER:
                        stop.set()
                        _note_stop(summary, outcome)
        except Exception:
            log.exception("runner thread for workspace %s failed", workspace.pk)
            stop.set()
            raise
        finally:
            try:
                release_unsent(list(batch))
                _finish_all_done(touched)
            finally:
                connection.close()

    try:
        with ThreadPoolExecutor(max_workers=cfg.runner_threads) as pool:
            futures = [pool.submit(worker) for _ in range(cfg.runner_threads)]
            for future in futures:
                future.result()
    finally:
        handover.cancel()
        client.close()
        close_old_connections()
    if lost.is_set() and not summary.stopped_because:
        summary.stopped_because = "lease lost"


def _claim_next(workspace: Workspace, cfg: EngineSettings) -> list[targets.Work]:
    """Due runs' items first; with none due, the files their requests leave."""
    for model in MODELS:
        claimed = claim_items(
            workspace.pk, workspace.credentials_version, cfg, limit=CLAIM_BATCH, model=model
        )
        if claimed:
            return claimed
    return []


def _note_stop(summary: RunSummary, outcome: str) -> None:
    """Record why the runner stops: Extend's answer that stopped it, not its echo.

    When one thread's 401 stops the workspace, another thread's gate may refuse its next item
    ("workspace stopped") before the first thread has returned: the cause is the 401.
    """
    if outcome in outcomes.STOPPING_OUTCOMES or not summary.stopped_because:
        summary.stopped_because = outcome


def _hand_over(
    stop: threading.Event,
    lost: threading.Event,
    summary: RunSummary,
    successor: Callable[[], object] | None,
) -> None:
    """Shortly before the deadline, with the runner still busy: enqueue the next runner."""
    if successor is None or stop.is_set() or lost.is_set():
        return
    summary.handed_over = True
    successor()


def _finish_all_done(request_ids: set[int]) -> None:
    for request_id in sorted(request_ids):
        _finish_if_done(request_id)
    request_ids.clear()


def _finish_if_done(request_id: int) -> None:
    counts = (
        DeletionRequest.objects.filter(pk=request_id, status=DeletionRequest.Status.RUNNING)
        .values_list(
            "item_count", "deleted_count", "already_gone_count", "failed_count", "held_count"
        )
        .first()
    )
    if counts is not None and counts[0] - sum(counts[1:]) <= 0:
        # Another thread may finish it first, or an item may be retried meanwhile.
        with suppress(TransitionError):
            transitions.finish_request(
                DeletionRequest(pk=request_id), actor=None, source=Source.WORKER
            )
