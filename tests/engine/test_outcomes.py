"""Every answer Extend can give, and what the engine does with it (runner called in-process,
against the simulator over real HTTP)."""

from __future__ import annotations

import dataclasses
import time
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.db.models import F
from django.utils import timezone

from deletions.engine import claim, reconciler, runner
from deletions.models import (
    AuditEvent,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    ParseRun,
    Source,
    Workspace,
)
from deletions.requests import transitions
from deletions.workspaces import health as workspace_health
from deletions.workspaces import ratelimit
from tests.engine.conftest import background, deletes_per_run, run_until_settled
from tests.factories import staff_user
from tests.live import wait_until

IS = DeletionItem.Status
RS = DeletionRequest.Status

# Runner threads use their own database connections, so test data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def test_a_2xx_marks_items_deleted_verifies_them_and_completes_the_request(
    sim, sim_workspace, make_request, engine_cfg
):
    req = make_request(12)

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert req.deleted_count == 12
    items = list(req.items.all())
    assert {i.status for i in items} == {IS.DELETED}
    assert all(i.confirmed_at and i.verified_at and i.last_request_id for i in items)
    assert all(sim.is_deleted(i.parse_run.run_id) for i in items)
    assert set(deletes_per_run(sim).values()) == {1}
    # Each item's history: one DELETE and one verification GET that saw 404.
    outcomes = sorted(DeletionAttempt.objects.values_list("outcome", flat=True).distinct())
    assert outcomes == ["confirmed_gone", "deleted"]
    tomb = ParseRun.objects.get(pk=items[0].parse_run_id)
    assert tomb.state == ParseRun.State.DELETED and tomb.deleted_by_request_id == req.pk
    assert AuditEvent.objects.filter(request=req, action="request.completed").count() == 1


def _present_run_outside_requests(sim, workspace):
    """A run at Extend that the inventory knows and no request holds: what a probe asks about."""
    run_id = sim.add_runs(count=1)[0]["id"]
    ParseRun.objects.create(workspace=workspace, run_id=run_id)
    return run_id


def test_a_404_is_already_gone_once_the_workspace_is_shown_healthy(
    sim, sim_workspace, make_request, engine_cfg
):
    _present_run_outside_requests(sim, sim_workspace)
    req = make_request(3)
    gone = req.items.first().parse_run.run_id
    from deletions.extend_client import Credentials, ExtendClient

    with ExtendClient(Credentials(sim.url, sim_workspace.reveal_api_key())) as c:
        c.delete_parse_run(gone)

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert (req.deleted_count, req.already_gone_count) == (2, 1)
    item = DeletionItem.objects.get(parse_run__run_id=gone)
    assert (item.status, item.answer_lost) == (IS.ALREADY_GONE, False)
    sim_workspace.refresh_from_db()
    assert sim_workspace.unexplained_404s == 0 and sim_workspace.health_proven_at is not None


def test_a_404_nothing_proves_stays_unconfirmed_and_the_request_unfinished(
    sim, sim_workspace, make_request, engine_cfg
):
    req = make_request(1)
    from deletions.extend_client import Credentials, ExtendClient

    with ExtendClient(Credentials(sim.url, sim_workspace.reveal_api_key())) as c:
        c.delete_parse_run(req.items.get().parse_run.run_id)

    run_until_settled(sim_workspace, engine_cfg)

    # Extend lists nothing the inventory knows: no proof either way. Nothing is called gone.
    req.refresh_from_db()
    assert req.items.get().status == IS.UNCONFIRMED
    assert req.status == RS.RUNNING and req.already_gone_count == 0


@pytest.mark.parametrize("body", ["json", "html"])
@pytest.mark.parametrize("size", [1, 15, 60])
def test_a_workspace_answering_404_to_everything_marks_nothing_gone_and_stops(
    sim, sim_workspace, make_request, engine_cfg, approver, settings, size, body
):
    """A wrong base path, workspace id or key: every call answers 404, whatever the body."""
    settings.STAFF_ALERT_EMAILS = ["oncall@example.com"]
    req = make_request(size)
    sim.set_faults({"error_rates": {"404": 1.0}, "error_body": body})

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert (req.deleted_count, req.already_gone_count) == (0, 0)
    assert not req.items.filter(status__in=[IS.DELETED, IS.ALREADY_GONE, IS.FAILED]).exists()
    sim_workspace.refresh_from_db()
    assert sim_workspace.health == Workspace.Health.NOT_FOUND_BURST
    assert "Nothing was marked gone" in sim_workspace.health_reason
    assert any("oncall@example.com" in m.to for m in mail.outbox)

    # A resume that fixes nothing costs one more call, not another burst.
    workspace_health.resume_workspace(sim_workspace, actor=approver, source=Source.WEB)
    sent = len(sim.ledger(method="DELETE"))
    run_until_settled(sim_workspace, engine_cfg)
    sim_workspace.refresh_from_db()
    assert sim_workspace.health == Workspace.Health.NOT_FOUND_BURST
    assert len(sim.ledger(method="DELETE")) - sent == 1
    assert req.items.filter(status__in=[IS.DELETED, IS.ALREADY_GONE]).count() == 0

    # Fixed and resumed: every run is deleted by the portal, none "already gone".
    sim.clear_faults()
    workspace_health.resume_workspace(sim_workspace, actor=approver, source=Source.WEB)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert (req.deleted_count, req.already_gone_count) == (size, 0)
    assert all(sim.is_deleted(r) for r in req.items.values_list("parse_run__run_id", flat=True))


@pytest.mark.parametrize("body", ["html", "empty", "other_id"])
def test_a_success_that_is_not_extends_answer_marks_nothing_and_stops_the_workspace(
    sim, sim_workspace, make_request, engine_cfg, body
):
    req = make_request(3)
    sim.set_faults({"delete_success_body": body})

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert (req.deleted_count, req.already_gone_count, req.failed_count) == (0, 0, 0)
    sim_workspace.refresh_from_db()
    assert sim_workspace.health == Workspace.Health.UNEXPECTED_ANSWERS
    assert req.items.filter(status=IS.PENDING).count() == 3
    assert not any(sim.is_deleted(r) for r in req.items.values_list("parse_run__run_id", flat=True))


def test_a_lost_response_is_retried_and_ends_deleted_answer_lost_with_both_attempts(
    sim, sim_workspace, make_request, engine_cfg
):
    req = make_request(1)
    sim.set_faults({"drop_rate": 1.0, "scope": {"methods": ["DELETE"]}})
    runner.run_workspace(sim_workspace.pk, engine_cfg)
    item = req.items.get()
    assert item.status == IS.PENDING  # transient: retry scheduled
    assert sim.is_deleted(item.parse_run.run_id)  # ...though Extend did delete it
    sim.clear_faults()

    run_until_settled(sim_workspace, engine_cfg)

    item.refresh_from_db()
    # Our own DELETE did it: never "already gone" (RELIABILITY 5).
    assert item.status == IS.DELETED
    assert "answer" in item.last_error and "lost" in item.last_error
    history = list(
        item.attempts_log.filter(kind="delete").order_by("id").values_list("outcome", flat=True)
    )
    assert history == ["transient", "deleted_answer_lost"]


def test_a_burst_of_404s_stops_the_workspace_instead_of_marking_runs_gone(
    sim, sim_workspace, make_request, engine_cfg, approver
):
    req = make_request(30)
    sim.set_faults({"delete_not_found": True})

    run_until_settled(sim_workspace, engine_cfg)

    sim_workspace.refresh_from_db()
    assert sim_workspace.health == Workspace.Health.NOT_FOUND_BURST
    req.refresh_from_db()
    assert (req.already_gone_count, req.deleted_count) == (0, 0)  # nothing is called gone
    assert req.status == RS.RUNNING
    assert req.items.filter(status=IS.PENDING).count() >= 30 - engine_cfg.not_found_burst
    assert not req.items.filter(status=IS.FAILED).exists()
    assert "404" in mail.outbox[-1].body or "not found" in mail.outbox[-1].subject.lower()

    # A human checks, Extend behaves again, staff resume: the rest completes.
    sim.clear_faults()
    workspace_health.resume_workspace(sim_workspace, actor=approver, source=Source.WEB)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert (req.deleted_count, req.already_gone_count) == (30, 0)


def test_404s_after_lost_answers_do_not_count_as_a_burst(
    sim, sim_workspace, make_request, engine_cfg
):
    # Attempts to spare: however many lost answers one runner's time holds, no item fails
    # before the answers come back (this test is about the 404s that follow).
    engine_cfg = dataclasses.replace(engine_cfg, max_attempts=1000)
    req = make_request(engine_cfg.not_found_burst * 3)
    sim.set_faults({"drop_rate": 1.0, "scope": {"methods": ["DELETE"]}})
    runner.run_workspace(sim_workspace.pk, engine_cfg)  # every answer lost, every run deleted
    sim.clear_faults()
    assert not req.items.filter(status=IS.FAILED).exists()

    run_until_settled(sim_workspace, engine_cfg)

    sim_workspace.refresh_from_db()
    assert sim_workspace.health == Workspace.Health.ACTIVE
    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert req.deleted_count == req.item_count and req.already_gone_count == 0


def test_429_waits_as_retry_after_says_and_does_not_use_up_attempts(
    sim, sim_workspace, make_request, engine_cfg
):
    req = make_request(1)
    sim.set_faults({"storm_seconds": 1.5, "storm_retry_after": 2})

    run_until_settled(sim_workspace, engine_cfg)

    deletes = sim.ledger(method="DELETE")
    first_429 = next(e for e in deletes if e.status == 429)
    after = [e for e in deletes if e.time > first_429.time]
    assert after, "the item was never retried"
    assert after[0].time - first_429.time >= 2.0 - 0.05
    item = req.items.get()
    assert item.status == IS.DELETED
    # 429s are Extend's pacing, not the item's failure: only the successful call counts.
    assert item.attempts == 1
    assert item.attempts_log.filter(outcome="rate_limited").exists()


def test_an_item_that_keeps_failing_while_others_succeed_ends_failed_and_a_retry_completes_it(
    sim, sim_workspace, make_request, engine_cfg, approver
):
    req = make_request(6)
    bad = req.items.order_by("id").first().parse_run.run_id
    sim.set_faults(
        {
            "error_rates": {"503": 1.0},
            "scope": {"methods": ["DELETE"], "path_prefix": f"/parse_runs/{bad}"},
        }
    )

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED_WITH_FAILURES
    item = req.items.get(parse_run__run_id=bad)
    assert item.status == IS.FAILED
    assert item.attempts == engine_cfg.max_attempts
    assert "503" in item.last_error
    assert req.deleted_count == 5

    sim.clear_faults()
    transitions.retry_failed_items(req, actor=approver, source=Source.WEB)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert req.deleted_count == 6


def test_an_outage_opens_the_breaker_fails_no_item_and_the_request_completes(
    sim, sim_workspace, make_request, engine_cfg, settings
):
    """Extend fails every call for several times an item's whole retry budget."""
    req = make_request(10)
    sim.set_faults({"error_rates": {"503": 1.0}})  # every call, reads included
    settled = background(lambda: run_until_settled(sim_workspace, engine_cfg, rounds=200))
    wait_until(lambda: Workspace.objects.get(pk=sim_workspace.pk).breaker_open_until, timeout=30)
    time.sleep(4)  # the outage goes on
    assert not req.items.filter(status=IS.FAILED).exists()
    sim.clear_faults()
    settled.join(timeout=120)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED and req.deleted_count == 10
    sim_workspace.refresh_from_db()
    assert (sim_workspace.breaker_failures, sim_workspace.breaker_open_until) == (0, None)
    # The outage used up no item's attempts: none came near failing.
    assert max(i.attempts for i in req.items.all()) <= engine_cfg.max_attempts


@pytest.mark.parametrize(
    ("fault", "health"),
    [
        ({"revoked": True}, Workspace.Health.CREDENTIALS_INVALID),
        ({"payment_required": True}, Workspace.Health.PAYMENT_REQUIRED),
        ({"error_rates": {"403": 1.0}, "error_body": "json"}, Workspace.Health.FORBIDDEN),
    ],
)
def test_401_402_403_stop_the_workspace_and_leave_items_pending(
    sim, sim_workspace, make_request, engine_cfg, fault, health, approver
):
    staff_user("admin", username="ops", email="ops@example.com")
    req = make_request(5)
    sim.set_faults(fault)

    summary = runner.run_workspace(sim_workspace.pk, engine_cfg)

    assert summary.stopped_because == health
    sim_workspace.refresh_from_db()
    assert sim_workspace.health == health
    assert not req.items.filter(status=IS.FAILED).exists()
    assert req.items.filter(status=IS.PENDING).count() == 5
    assert all(i.attempts == 0 for i in req.items.all())
    assert any("ops@example.com" in m.to for m in mail.outbox)
    # While stopped, nothing more is sent.
    calls = len(sim.ledger(method="DELETE"))
    runner.run_workspace(sim_workspace.pk, engine_cfg)
    assert len(sim.ledger(method="DELETE")) == calls

    sim.clear_faults()
    workspace_health.resume_workspace(sim_workspace, actor=approver, source=Source.WEB)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED


def test_a_host_that_now_resolves_inside_gets_nothing_and_its_items_wait(
    sim, sim_workspace, make_request, engine_cfg, dns
):
    """RELIABILITY 22 at send time: the URL passed the policy when saved, then its DNS moved
    inside. No DELETE leaves the portal; the items keep their attempts and say why."""
    port = urlsplit(sim.url).port
    dns["extend.example"] = ["127.0.0.1"]  # 127.0.0.1 is listed by name in the tests; this is not
    Workspace.objects.filter(pk=sim_workspace.pk).update(
        base_url=f"https://extend.example:{port}",
        credentials_version=F("credentials_version") + 1,
    )
    req = make_request(3)

    summary = runner.run_workspace(sim_workspace.pk, engine_cfg)

    assert summary.stopped_because == "not_sent"
    assert sim.ledger() == []
    items = list(req.items.all())
    assert {(i.status, i.attempts) for i in items} == {(IS.PENDING, 0)}
    assert any("extend.example resolves to 127.0.0.1 is a loopback address" in i.last_error
               for i in items)  # fmt: skip
    assert set(DeletionAttempt.objects.values_list("outcome", flat=True)) == {"not_sent"}

    Workspace.objects.filter(pk=sim_workspace.pk).update(
        base_url=sim.url, credentials_version=F("credentials_version") + 1
    )
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED


def test_400_and_422_fail_the_item_without_retry(sim, sim_workspace, make_request, engine_cfg):
    req = make_request(2)
    sim.set_faults({"error_rates": {"422": 1.0}, "error_body": "json"})

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED_WITH_FAILURES
    assert all(i.attempts == 1 and i.status == IS.FAILED for i in req.items.all())
    assert len(sim.ledger(method="DELETE")) == 2


@pytest.mark.parametrize("status", [RS.PENDING_APPROVAL, RS.REJECTED, RS.CANCELLED])
def test_nothing_is_sent_for_a_request_that_is_not_running(
    sim, sim_workspace, make_request, engine_cfg, status
):
    req = make_request(3, approve=False)
    DeletionRequest.objects.filter(pk=req.pk).update(status=status)

    reconciler.reconcile(wake=lambda ws: None)
    runner.run_workspace(sim_workspace.pk, engine_cfg)

    assert sim.ledger(method="DELETE") == []
    assert not DeletionItem.objects.filter(request=req).exclude(status=IS.PENDING).exists()


def test_a_paused_request_sends_nothing_until_resumed(
    sim, sim_workspace, make_request, engine_cfg, approver
):
    req = make_request(3)
    transitions.pause_request(req, actor=approver, source=Source.WEB)
    runner.run_workspace(sim_workspace.pk, engine_cfg)
    assert sim.ledger(method="DELETE") == []
    transitions.resume_request(req, actor=approver, source=Source.WEB)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED


def test_an_expired_lease_returns_the_item_to_pending(sim_workspace, make_request, engine_cfg):
    req = make_request(1)
    item = claim.claim_item(sim_workspace.pk, sim_workspace.credentials_version, engine_cfg)
    assert item is not None and item.request_id == req.pk
    assert (
        claim.claim_item(sim_workspace.pk, sim_workspace.credentials_version, engine_cfg) is None
    )  # taken
    from datetime import timedelta

    from django.utils import timezone

    assert claim.release_expired_leases(timezone.now() + timedelta(seconds=60)) == 1
    item.refresh_from_db()
    assert item.status == IS.PENDING


def test_the_limiter_pushes_everyone_back_after_a_429(fast_settings):
    ratelimit.store().reset("test-key")
    first = ratelimit.reserve("test-key", 100)
    assert first.granted
    ratelimit.block("test-key", 2.0)
    later = ratelimit.reserve("test-key", 100)
    assert not later.granted
    assert later.wait >= 1.5


def test_a_run_still_there_after_its_acknowledged_delete_is_sent_again_then_failed(
    sim, sim_workspace, make_request, engine_cfg, settings
):
    settings.STAFF_ALERT_EMAILS = ["oncall@example.com"]
    req = make_request(1)
    sim.set_faults({"delete_success_body": "ignored"})  # "deleted", yet the run stays

    run_until_settled(sim_workspace, engine_cfg)

    item = req.items.get()
    req.refresh_from_db()
    assert (item.status, item.verify_failures) == (IS.FAILED, 3)
    assert (req.deleted_count, req.failed_count, req.status) == (
        0, 1, RS.COMPLETED_WITH_FAILURES,
    )  # fmt: skip
    assert item.parse_run.state == ParseRun.State.PRESENT
    outcomes = list(item.attempts_log.filter(kind="verify").values_list("outcome", flat=True))
    assert outcomes == ["verification_failed"] * 3
    assert any("still at Extend" in m.subject and "oncall@example.com" in m.to for m in mail.outbox)


def test_a_verification_that_could_not_run_is_retried_and_then_confirms(
    sim, sim_workspace, make_request, engine_cfg
):
    req = make_request(2)
    sim.set_faults({"error_rates": {"503": 1.0}, "scope": {"methods": ["GET"]}})
    run_until_settled(sim_workspace, engine_cfg)
    assert req.items.filter(verified_at__isnull=True, verify_due_at__isnull=False).count() == 2

    sim.clear_faults()
    DeletionItem.objects.filter(request=req).update(verify_due_at=timezone.now())
    runner.run_workspace(sim_workspace.pk, engine_cfg)

    assert req.items.filter(verified_at__isnull=False, verify_due_at__isnull=True).count() == 2


@pytest.mark.parametrize(
    "order",
    [("credentials_invalid", "workspace_stopped"), ("workspace_stopped", "credentials_invalid")],
)
def test_the_runner_reports_the_answer_that_stopped_it_not_the_gates_echo(order):
    """One thread's 401 stops the workspace; another thread's gate then refuses "workspace
    stopped". Whichever thread reports first, the summary names the 401."""
    summary = runner.RunSummary()
    for outcome in order:
        runner._note_stop(summary, outcome)
    assert summary.stopped_because == "credentials_invalid"
