"""Chaos: a large request runs while workers are killed at random, Redis is flushed and restarted
empty, and Extend (the simulator) throws errors, latency and a 429 storm. Afterwards the ledger
must show that nothing unapproved was deleted, everything approved was, no run was deleted twice,
every request reached a final state and the audit trail is complete. The approved request
erases its runs' files too: each is deleted once, after its run, and recorded.

``make chaos`` runs only this; ``make test`` runs it too."""

from __future__ import annotations

import random
import time

import pytest

from deletions.models import (
    AuditEvent,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    FileAttempt,
    FileErasure,
    ParseRun,
    Source,
)
from deletions.requests import transitions
from tests.engine.conftest import assert_every_delete_recorded
from tests.live import wait_until

IS = DeletionItem.Status
RS = DeletionRequest.Status

pytestmark = [pytest.mark.chaos, pytest.mark.worker, pytest.mark.django_db(transaction=True)]

RUNS = 400
CHAOS_SECONDS = 25


def test_the_engine_survives_chaos_and_the_ledger_proves_it(
    live_engine, redis_server, sim, make_request, approver, second_approver, settings
):
    rng = random.Random(20261128)
    settings.LARGE_REQUEST_THRESHOLD = 100
    # Injected errors hit ~1 call in 8: allow enough attempts that no item runs out by chance.
    live_engine.env["MAX_DELETE_ATTEMPTS"] = "10"
    sim.set_faults(
        {
            "latency": {"distribution": "normal", "mean_ms": 40, "jitter_ms": 20},
            "error_rates": {"500": 0.04, "502": 0.03, "503": 0.03},
            "drop_rate": 0.02,
            "scope": {"methods": ["DELETE"]},
        }
    )
    approved = make_request(RUNS, approve=False)
    DeletionRequest.objects.filter(pk=approved.pk).update(erase_files=True)
    never = make_request(30, approve=False)  # stays pending approval
    rejected = make_request(20, approve=False)
    transitions.reject_request(rejected, actor=approver, source=Source.WEB, reason="Keep")
    cancelled = make_request(20, approve=False)
    transitions.cancel_request(cancelled, actor=None, source=Source.WEB)

    files_of = _learn_files(sim, [approved, never])
    workers = [live_engine.start_worker(), live_engine.start_worker()]
    live_engine.start_beat()
    transitions.approve_request(approved, actor=approver, source=Source.WEB)
    transitions.approve_request(approved, actor=second_approver, source=Source.WEB)

    mishaps: list[str] = []
    deadline = time.monotonic() + CHAOS_SECONDS
    storm_done = redis_done = False
    while (
        time.monotonic() < deadline
        and approved.items.exclude(status__in=[IS.DELETED, IS.ALREADY_GONE, IS.FAILED]).exists()
    ):
        time.sleep(rng.uniform(1.5, 3.0))
        roll = rng.random()
        if not storm_done and roll < 0.25:
            sim.add_fault({"storm_seconds": 2, "storm_retry_after": 1})
            mishaps.append("429 storm")
            storm_done = True
        elif redis_server is not None and not redis_done and roll < 0.5:
            if rng.random() < 0.5:
                import redis

                redis.Redis.from_url(redis_server.url).flushall()
                mishaps.append("Redis FLUSHALL")
            else:
                redis_server.restart()
                mishaps.append("Redis restarted empty")
            redis_done = True
        else:
            victim = rng.randrange(len(workers))
            live_engine.kill_worker(workers[victim])
            workers[victim] = live_engine.start_worker()
            mishaps.append(f"worker {victim} killed")

    sim.clear_faults()
    wait_until(lambda: _final(approved), timeout=180)
    time.sleep(2)  # a couple of reconciler periods more: nothing else may be sent

    ledger = sim.ledger(method="DELETE")
    by_run: dict[str, list[int | None]] = {}
    for entry in ledger:
        if entry.run_id:
            by_run.setdefault(entry.run_id, []).append(entry.status)

    # Nothing unapproved was deleted (not even asked).
    for req in (never, rejected, cancelled):
        for run_id in req.items.values_list("parse_run__run_id", flat=True):
            assert run_id not in by_run, f"{run_id} of unapproved request #{req.pk} was sent"
            assert not sim.is_deleted(run_id)
    # Every approved run was deleted at Extend, and no run had two successful DELETEs.
    approved.refresh_from_db()
    assert approved.status == RS.COMPLETED, (approved.status, mishaps, live_engine.logs())
    for run_id in approved.items.values_list("parse_run__run_id", flat=True):
        assert sim.is_deleted(run_id)
        successes = [s for s in by_run.get(run_id, []) if s is not None and 200 <= s < 300]
        assert len(successes) <= 1, (run_id, by_run[run_id])
    assert max(sum(1 for e in ledger if e.applied and e.run_id == r) for r in by_run) == 1
    # Every request is in a final state.
    for req in (approved, rejected, cancelled):
        req.refresh_from_db()
        assert req.status in DeletionRequest.FINAL_STATUSES
    # The audit trail is complete: the request's whole story, and every item's calls.
    actions = list(
        AuditEvent.objects.filter(request=approved).order_by("id").values_list("action", flat=True)
    )
    assert actions[:3] == ["request.submitted", "request.approval_given", "request.approval_given"]
    assert {"request.approved", "request.running", "request.completed"} <= set(actions)
    assert all(e.actor_label and e.source for e in AuditEvent.objects.filter(request=approved))
    items_with_history = (
        DeletionAttempt.objects.filter(item__request=approved).values("item").distinct().count()
    )
    assert items_with_history == RUNS
    assert_every_delete_recorded(sim, approved)
    # Files: every file of the approved runs was deleted at Extend once (no double delete, even
    # through killed workers and lost answers), none of the others was asked for, and every
    # file DELETE that reached Extend has its record.
    approved_files = {files_of[run] for run in _run_ids(approved)}
    assert sim.successful_file_deletes() == dict.fromkeys(approved_files, 1)
    erasures = FileErasure.objects.filter(request=approved)
    assert set(erasures.values_list("file_id", flat=True)) == approved_files
    assert not erasures.exclude(status__in=list(FileErasure.ERASED_STATUSES)).exists()
    file_calls = [e for e in ledger if e.resource == "files"]
    assert {e.file_id for e in file_calls} <= approved_files
    assert all(sim.get_file(files_of[run]) is not None for run in _run_ids(never))
    recorded: dict[str, int] = {}
    for file_id in FileAttempt.objects.filter(item__request=approved, kind="delete").values_list(
        "item__file_id", flat=True
    ):
        recorded[file_id] = recorded.get(file_id, 0) + 1
    sent: dict[str, int] = {}
    for entry in file_calls:
        sent[entry.file_id] = sent.get(entry.file_id, 0) + 1
    assert {f: n for f, n in sent.items() if recorded.get(f, 0) < n} == {}
    assert mishaps, "the chaos schedule did nothing"


def _run_ids(req: DeletionRequest) -> list[str]:
    return list(req.items.values_list("parse_run__run_id", flat=True))


def _learn_files(sim, requests: list[DeletionRequest]) -> dict[str, str]:
    """Record each run's file id in the inventory, as a sync would; return run id -> file id."""
    files = {}
    for req in requests:
        for run in ParseRun.objects.filter(items__request=req):
            run.file_id = sim.get_run(run.run_id)["file"]["id"]
            run.save(update_fields=["file_id"])
            files[run.run_id] = run.file_id
    return files


def _final(req: DeletionRequest) -> bool:
    req.refresh_from_db()
    return req.status in DeletionRequest.FINAL_STATUSES


def test_holds_pauses_and_remaps_at_random_moments_stop_every_delete_they_cover(
    live_engine, sim, make_request, approver, staff_admin
):
    """Real worker processes (20 threads each), slow answers and a killed worker, while staff
    hold runs, pause and resume the workspace and runs change owner at random moments: the
    ledger shows zero DELETEs for a covered run after the change committed."""
    from deletions.models import LegalHold, ParseRun, Workspace
    from deletions.requests import holds
    from deletions.workspaces import fence
    from deletions.workspaces import health as workspace_health
    from tests.factories import CustomerFactory

    rng = random.Random(20261201)
    live_engine.env.update({"RUNNER_THREADS": "20", "RUNNER_SECONDS": "6"})
    sim.set_faults({"latency": {"distribution": "normal", "mean_ms": 300, "jitter_ms": 100}})
    other = CustomerFactory(external_ref="cust_elsewhere")
    req = make_request(RUNS)
    ws = Workspace.objects.get(pk=req.items.first().workspace_id)
    workers = [live_engine.start_worker(), live_engine.start_worker()]
    live_engine.start_beat()

    # (committed at, until, covered run ids): nothing covered may arrive in [committed, until).
    windows: list[tuple[float, float, set[str]]] = []
    actions = ["hold", "pause", "remap", "hold", "kill", "remap", "pause"]
    rng.shuffle(actions)
    for action in actions:
        time.sleep(rng.uniform(0.5, 2.0))
        free = list(
            ParseRun.objects.filter(items__request=req, items__status=IS.PENDING).values_list(
                "pk", "run_id"
            )
        )
        chosen = rng.sample(free, min(len(free), 15))
        runs = ParseRun.objects.filter(pk__in=[pk for pk, _ in chosen])
        if action == "hold" and chosen:
            holds.place_hold(
                scope=LegalHold.Scope.RUNS, runs=runs, reason="Chaos hold", reference="CHAOS",
                actor=staff_admin, source=Source.WEB,
            )  # fmt: skip
            windows.append((time.time(), float("inf"), {r for _, r in chosen}))
        elif action == "remap" and chosen:
            with fence.closed([ws.pk]):
                runs.update(customer=other)
            windows.append((time.time(), float("inf"), {r for _, r in chosen}))
        elif action == "pause":
            workspace_health.pause_workspace(ws, actor=approver, source=Source.WEB)
            paused = time.time()
            time.sleep(rng.uniform(0.5, 1.5))
            resumed = time.time()
            windows.append(
                (paused, resumed, set(req.items.values_list("parse_run__run_id", flat=True)))
            )
            workspace_health.resume_workspace(ws, actor=approver, source=Source.WEB)
        elif action == "kill":
            victim = rng.randrange(len(workers))
            live_engine.kill_worker(workers[victim])
            workers[victim] = live_engine.start_worker()

    wait_until(lambda: _final(req), timeout=240)
    late = [
        (e.run_id, e.time)
        for e in sim.ledger(method="DELETE")
        for committed, until, covered in windows
        if committed < e.time < until and e.run_id in covered
    ]
    assert late == [], (late, live_engine.logs())
    assert len(windows) >= 5
    req.refresh_from_db()
    assert req.held_count > 0 and req.failed_count > 0  # the held and the remapped runs
    assert_every_delete_recorded(sim, req)
    for item in req.items.filter(status=IS.DELETED).select_related("parse_run"):
        assert sim.is_deleted(item.parse_run.run_id)
