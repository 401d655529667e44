"""The engine with real Celery worker and beat processes, a real broker and the simulator:
crashes, lost messages and duplicate deliveries only ever delay completion."""

from __future__ import annotations

import json
import time

import pytest
from django.db.models import F

from deletions.models import AuditEvent, DeletionItem, DeletionRequest, Source
from deletions.requests import transitions
from deletions.tasks.engine import run_workspace_task
from tests.engine.conftest import approve_and_start, assert_every_delete_recorded, deletes_per_run
from tests.helpers import request_for, simulated_runs
from tests.live import wait_until

IS = DeletionItem.Status
RS = DeletionRequest.Status

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]


def _status(req: DeletionRequest) -> str:
    req.refresh_from_db()
    return req.status


def _assert_every_run_gone_once(req: DeletionRequest, sim) -> None:
    statuses = set(req.items.values_list("status", flat=True))
    assert statuses <= {IS.DELETED, IS.ALREADY_GONE}, statuses
    for item in req.items.select_related("parse_run"):
        assert sim.is_deleted(item.parse_run.run_id)
    answered_2xx: dict[str, int] = {}
    for entry in sim.ledger(method="DELETE"):
        if entry.run_id and entry.status is not None and 200 <= entry.status < 300:
            answered_2xx[entry.run_id] = answered_2xx.get(entry.run_id, 0) + 1
    assert max(answered_2xx.values(), default=0) <= 1
    assert max(deletes_per_run(sim).values()) == 1
    assert_every_delete_recorded(sim, req)


def test_an_approved_request_is_carried_out_by_the_worker(
    live_engine, sim, make_request, approver, settings
):
    live_engine.start_worker()
    req = make_request(20, approve=False)

    # The real path: an approval commits, its hook enqueues the start, the worker runs it.
    transitions.approve_request(req, actor=approver, source=Source.WEB)

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=60)
    _assert_every_run_gone_once(req, sim)
    actions = list(
        AuditEvent.objects.filter(request=req).order_by("id").values_list("action", flat=True)
    )
    assert actions[:5] == [
        "request.submitted",
        "request.approval_given",
        "request.approved",
        "request.running",
        "request.completed",
    ]
    # The certificate of erasure is issued after completion, by its own task.
    assert set(actions[5:]) <= {"certificate.issued"}
    running = AuditEvent.objects.get(request=req, action="request.running")
    assert running.source == Source.SYSTEM


def test_a_worker_killed_mid_request_only_delays_completion(live_engine, sim, make_request):
    sim.set_faults({"latency": {"mean_ms": 60}})
    first = live_engine.start_worker()
    live_engine.start_beat()
    req = make_request(150)
    run_workspace_task.delay(req.items.first().workspace_id)

    wait_until(lambda: req.items.filter(status=IS.DELETED).count() >= 20, timeout=60)
    live_engine.kill_worker(first)
    assert _status(req) == RS.RUNNING
    live_engine.start_worker()

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=120)
    _assert_every_run_gone_once(req, sim)


@pytest.mark.redis
def test_flushing_redis_mid_request_and_with_retries_scheduled_only_delays_completion(
    live_engine, private_redis, sim, make_request
):
    import redis

    sim.set_faults({"error_rates": {"503": 0.3}, "scope": {"methods": ["DELETE"]}})
    live_engine.start_worker()
    live_engine.start_beat()
    req = make_request(80)
    run_workspace_task.delay(req.items.first().workspace_id)
    wait_until(lambda: req.items.filter(status=IS.DELETED).count() >= 10, timeout=60)
    wait_until(lambda: req.items.filter(status=IS.PENDING, attempts__gt=0).exists(), timeout=30)

    redis.Redis.from_url(private_redis).flushall()
    sim.clear_faults()

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=120)
    _assert_every_run_gone_once(req, sim)


def test_work_committed_without_a_wake_up_is_picked_up_by_the_reconciler(
    live_engine, sim, make_request
):
    """The web process died after commit and before enqueueing: only the reconciler knows."""
    live_engine.start_worker()
    live_engine.start_beat()
    req = make_request(10, approve=False)
    # Approved in the database with no message sent (no hooks ran).
    DeletionRequest.objects.filter(pk=req.pk).update(status=RS.APPROVED)

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=60)
    _assert_every_run_gone_once(req, sim)


def test_duplicate_wake_ups_to_several_workers_give_one_delete_per_run(
    live_engine, sim, make_request
):
    live_engine.start_worker()
    live_engine.start_worker()
    req = make_request(40)
    workspace_id = req.items.first().workspace_id
    for _ in range(10):
        run_workspace_task.delay(workspace_id)

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=60)
    assert len(sim.ledger(method="DELETE")) == 40
    _assert_every_run_gone_once(req, sim)


def test_a_revoked_key_stops_work_and_a_new_key_resumes_the_same_request(
    live_engine, sim, make_request, sim_workspace, staff_admin
):
    from deletions.models import Workspace
    from deletions.workspaces import health as workspace_health

    live_engine.start_worker()
    live_engine.start_beat()
    sim.set_faults({"latency": {"mean_ms": 30}})
    req = make_request(60)
    run_workspace_task.delay(sim_workspace.pk)
    wait_until(lambda: req.items.filter(status=IS.DELETED).count() >= 5, timeout=60)
    sim.set_faults({"revoked": True})

    wait_until(
        lambda: (
            Workspace.objects.get(pk=sim_workspace.pk).health
            == Workspace.Health.CREDENTIALS_INVALID
        ),
        timeout=30,
    )
    time.sleep(1.5)
    assert not req.items.filter(status=IS.FAILED).exists()
    assert _status(req) == RS.RUNNING
    sent_while_stopped = len(sim.ledger(method="DELETE"))
    time.sleep(2.5)  # a few reconciler periods: nothing is sent for a stopped workspace
    assert len(sim.ledger(method="DELETE")) == sent_while_stopped

    # Staff enter the replacement key and resume.
    sim.clear_faults()
    ws = Workspace.objects.get(pk=sim_workspace.pk)
    ws.set_api_key(ws.reveal_api_key())
    ws.save()
    workspace_health.resume_workspace(ws, actor=staff_admin, source=Source.WEB)

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=90)
    _assert_every_run_gone_once(req, sim)


def test_nothing_is_sent_for_requests_that_are_not_approved(
    live_engine, sim, make_request, approver
):
    live_engine.start_worker()
    live_engine.start_beat()
    pending = make_request(3, approve=False)
    rejected = make_request(3, approve=False)
    transitions.reject_request(rejected, actor=approver, source=Source.WEB, reason="keep")
    cancelled = make_request(3, approve=False)
    transitions.cancel_request(cancelled, actor=None, source=Source.WEB)
    for req in (pending, rejected, cancelled):
        run_workspace_task.delay(req.items.first().workspace_id)

    time.sleep(4)  # several reconciler periods and runner wake-ups
    assert sim.ledger(method="DELETE") == []
    for req in (pending, rejected, cancelled):
        assert set(req.items.values_list("status", flat=True)) == {IS.PENDING}


@pytest.mark.redis  # the production limiter; SQLite's single writer cannot keep this pace
def test_two_workers_share_one_rate_limit_and_never_exceed_it(
    live_engine, sim, sim_workspace, engine_customer, requester
):
    """RELIABILITY 12: two workspaces of one Extend organisation, each worked by its own runner
    in its own worker process, share the organisation's limit: what Extend sees never exceeds
    it in any one-second window. (How close it comes is a figure for `make bench`.)"""
    from deletions.models import Organization, Workspace

    limit = 20
    sim.set_faults({"latency": {"mean_ms": 50}})
    second = Workspace(name="Second", base_url=sim.url)
    second.set_api_key(sim_workspace.reveal_api_key())
    second.save()
    org = Organization.objects.create(
        name="Simulated", write_rate_limit=limit, get_rate_limit=limit
    )
    Workspace.objects.filter(pk__in=[sim_workspace.pk, second.pk]).update(organization=org)
    requests = []
    for ws in Workspace.objects.filter(pk__in=[sim_workspace.pk, second.pk]):
        ids = simulated_runs(sim, ws, engine_customer, 150)
        req = request_for(engine_customer, requester, ids, reason="rate test")
        requests.append(req)
    live_engine.start_worker(concurrency=1)
    live_engine.start_worker(concurrency=1)
    for req in requests:
        approve_and_start(req)
        run_workspace_task.delay(req.items.first().workspace_id)

    wait_until(lambda: all(_status(r) == RS.COMPLETED for r in requests), timeout=120)

    summary = sim.ledger_summary()
    peak = summary["peak_calls_per_second"]["org_simulated/WRITE"]
    assert peak <= limit, summary
    deletes = [e for e in sim.ledger(method="DELETE") if e.status == 200]
    assert len(deletes) == 300
    assert not [e for e in sim.ledger(method="DELETE") if e.status == 429]


def _ready(live_engine, index: int) -> bool:
    log = live_engine.tmp / f"worker{index}.log"
    return log.exists() and " ready." in log.read_text(errors="replace")


def test_a_killed_worker_is_taken_over_and_the_next_delete_leaves_within_ten_seconds(
    live_engine, sim, make_request
):
    """The runner lease lapses without its heartbeat; the takeover watch wakes another worker,
    whose runner gives back the dead runner's in-flight items at once. Default lease and watch
    periods (RUNNER_LEASE_SECONDS, RUNNER_WATCH_SECONDS)."""
    sim.set_faults({"latency": {"mean_ms": 150}})
    first = live_engine.start_worker()
    live_engine.start_beat()
    req = make_request(400)
    run_workspace_task.delay(req.items.first().workspace_id)
    wait_until(lambda: req.items.filter(status=IS.DELETED).count() >= 10, timeout=60)
    live_engine.start_worker()
    wait_until(lambda: _ready(live_engine, 1), timeout=60)
    assert _status(req) == RS.RUNNING

    live_engine.kill_worker(first)
    killed = time.time()
    # Calls already on the wire arrive within moments of the kill; later ones are the new
    # runner's. The first of those must leave within ten seconds.
    wait_until(
        lambda: [e for e in sim.ledger(method="DELETE") if e.time > killed + 0.5], timeout=30
    )
    first_after = min(e.time for e in sim.ledger(method="DELETE") if e.time > killed + 0.5)
    assert first_after - killed <= 10.0

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=180)
    _assert_every_run_gone_once(req, sim)


def test_a_wrong_base_path_with_a_real_worker_marks_nothing_gone_until_fixed(
    live_engine, sim, make_request, sim_workspace, staff_admin, settings
):
    """Every call answers 404 (a wrong base path): the worker stops the workspace and certifies
    nothing; once the URL is fixed and the workspace resumed, every run is deleted by the portal
    and the certificate says so."""
    from deletions.gdpr import certificates
    from deletions.models import Workspace
    from deletions.workspaces import fence
    from deletions.workspaces import health as workspace_health

    live_engine.start_worker()
    live_engine.start_beat()
    req = make_request(15)
    right_url = sim_workspace.base_url
    with fence.closed([sim_workspace.pk]):
        Workspace.objects.filter(pk=sim_workspace.pk).update(
            base_url=right_url + "/wrong-path", credentials_version=F("credentials_version") + 1
        )
    run_workspace_task.delay(sim_workspace.pk)

    wait_until(
        lambda: (
            Workspace.objects.get(pk=sim_workspace.pk).health == Workspace.Health.NOT_FOUND_BURST
        ),
        timeout=60,
    )
    time.sleep(2)  # reconciler and watch periods: nothing more happens
    req.refresh_from_db()
    assert (req.deleted_count, req.already_gone_count, req.status) == (0, 0, RS.RUNNING)
    assert not any(sim.is_deleted(r) for r in req.items.values_list("parse_run__run_id", flat=True))
    assert not req.certificates.exists()

    with fence.closed([sim_workspace.pk]):
        Workspace.objects.filter(pk=sim_workspace.pk).update(
            base_url=right_url, credentials_version=F("credentials_version") + 1
        )
    workspace_health.resume_workspace(
        Workspace.objects.get(pk=sim_workspace.pk), actor=staff_admin, source=Source.WEB
    )
    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=90)
    _assert_every_run_gone_once(req, sim)
    req.refresh_from_db()
    assert (req.deleted_count, req.already_gone_count) == (15, 0)
    cert = certificates.issue(req)
    totals = json.loads(cert.document)["totals"]
    assert (totals[certificates.DELETED], totals[certificates.ALREADY_GONE]) == (15, 0)


def test_a_request_erasing_files_deletes_its_runs_then_the_files_only_they_use(
    live_engine, sim, sim_workspace, engine_customer, requester, approver
):
    """Issue 20's end to end: the approval commits, the real worker deletes every run, then every
    file used only by the request's runs, keeps the file a run outside the request still uses
    (and says why), and the certificate names both."""
    from deletions.gdpr import certificates
    from deletions.models import FileErasure, ParseRun

    added = sim.add_runs(runs=[{"file_id": "file_pair"}, {"file_id": "file_pair"}, {}, {}])
    outside = sim.add_runs(runs=[{"file_id": "file_in_use"}])
    inside_shared = sim.add_runs(runs=[{"file_id": "file_in_use"}])
    for run in [*added, *outside, *inside_shared]:
        ParseRun.objects.create(
            workspace=sim_workspace,
            customer=engine_customer,
            run_id=run["id"],
            file_id=run["file"]["id"],
        )
    in_request = [run["id"] for run in [*added, *inside_shared]]
    req = request_for(engine_customer, requester, in_request, erase_files=True)
    live_engine.start_worker()

    transitions.approve_request(req, actor=approver, source=Source.WEB)

    wait_until(lambda: _status(req) == RS.COMPLETED, timeout=60)
    _assert_every_run_gone_once(req, sim)
    own = {added[2]["file"]["id"], added[3]["file"]["id"]}
    assert sim.successful_file_deletes() == dict.fromkeys({"file_pair", *own}, 1)
    assert sim.get_file("file_in_use") is not None
    assert not sim.is_deleted(outside[0]["id"])
    erasures = {e.file_id: e for e in FileErasure.objects.filter(request=req)}
    assert {f for f, e in erasures.items() if e.status == FileErasure.Status.DELETED} == {
        "file_pair",
        *own,
    }
    kept = erasures["file_in_use"]
    assert kept.status == FileErasure.Status.KEPT
    assert kept.kept_why == "Still used by 1 run not in this request"
    wait_until(lambda: req.certificates.exists(), timeout=30)
    document = json.loads(certificates.issue(req).document)
    assert document["totals"][certificates.DELETED] == 5
    section = document["files"]
    assert section["erased_with_runs"] is True
    certified = {entry["file_id"]: entry for entry in section["files"]}
    assert {f for f, e in certified.items() if e["outcome"] == "deleted"} == {"file_pair", *own}
    assert certified["file_in_use"]["outcome"] == "kept"
    assert certified["file_in_use"]["kept_why"] == "Still used by 1 run not in this request"
    assert all(e["extend_request_id"] for f, e in certified.items() if f != "file_in_use")
