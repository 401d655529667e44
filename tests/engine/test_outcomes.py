"""Every answer Extend can give, and what the engine does with it (runner called in-process,
against the simulator over real HTTP)."""

from __future__ import annotations

import itertools

import pytest
from django.core import mail

from deletions import ratelimit, transitions, workspace_health
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
from tests.engine.conftest import deletes_per_run, run_until_settled
from tests.factories import staff_user

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


def test_a_404_means_already_gone(sim, sim_workspace, make_request, engine_cfg):
    req = make_request(3)
    gone = req.items.first().parse_run.run_id
    from deletions.extend_client import Credentials, ExtendClient

    with ExtendClient(Credentials(sim.url, sim_workspace.reveal_api_key())) as c:
        c.delete_parse_run(gone)

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert (req.deleted_count, req.already_gone_count) == (2, 1)
    assert DeletionItem.objects.get(parse_run__run_id=gone).status == IS.ALREADY_GONE


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
    assert req.already_gone_count <= engine_cfg.not_found_burst
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


def test_404s_after_lost_answers_do_not_count_as_a_burst(
    sim, sim_workspace, make_request, engine_cfg
):
    req = make_request(engine_cfg.not_found_burst * 3)
    sim.set_faults({"drop_rate": 1.0, "scope": {"methods": ["DELETE"]}})
    runner.run_workspace(sim_workspace.pk, engine_cfg)  # every answer lost, every run deleted
    sim.clear_faults()

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


def test_5xx_is_retried_with_backoff_then_failed_and_staff_retry_completes_it(
    sim, sim_workspace, make_request, engine_cfg, approver
):
    req = make_request(2)
    sim.set_faults({"error_rates": {"503": 1.0}, "scope": {"methods": ["DELETE"]}})

    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED_WITH_FAILURES
    item = req.items.first()
    assert item.status == IS.FAILED
    assert item.attempts == engine_cfg.max_attempts
    assert "503" in item.last_error
    times = list(item.attempts_log.order_by("started_at").values_list("started_at", flat=True))
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert all(gap >= engine_cfg.backoff_base / 2 for gap in gaps)

    sim.clear_faults()
    transitions.retry_failed_items(req, actor=approver, source=Source.WEB)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert req.deleted_count == 2


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
    later = ratelimit.reserve("test-key", 100, max_wait=0.5)
    assert not later.granted
    assert later.wait >= 1.0
