"""Retention policies end to end: a real Celery worker deletes at the Extend simulator, over
HTTP, exactly what a policy's evaluation selected; the inventory comes from a real sync and real
signed webhooks; the request ends with its certificate and receipt naming the policy's approvals.

The evaluations run in this process, through beat's tick (or the command), at the real time; a
policy is approved eight days back (time_machine) so that its notice period is over, and an
"after processing" policy's webhook is delivered hours back, so that the worker, which lives in
real time, runs whatever the evaluation creates at once.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from io import StringIO

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from deletions.inventory import sync
from deletions.models import (
    Approval,
    Certificate,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    ParseRun,
    PolicyEvaluation,
    Source,
)
from deletions.policies import rules
from deletions.tasks.policies import evaluate_retention_policies_task
from extend_simulator import Simulator
from tests.factories import CustomerFactory
from tests.helpers import empty_simulator, request_for, simulated_workspace
from tests.live import wait_until
from tests.policies.conftest import active_policy, exempt, hold_run

pytestmark = [
    pytest.mark.worker,
    pytest.mark.django_db(transaction=True),
]

KEY = "sk_policy_live_key_0001"
RS = DeletionRequest.Status


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with empty_simulator(KEY) as simulator:
        yield simulator


@pytest.fixture
def sim_ws(transactional_db, sim):
    return simulated_workspace(sim, KEY, webhooks=True)


@pytest.fixture
def globex(transactional_db):
    return CustomerFactory(name="Globex", external_ref="globex", slug="globex")


def add_runs(sim, days_old: dict[str, tuple[str, float]]) -> None:
    """Runs at the simulator: id -> (customer reference, days since creation)."""
    now = timezone.now().timestamp()
    sim.add_runs(
        runs=[
            {"id": run_id, "customer": ref, "created_at": now - days * 86400}
            for run_id, (ref, days) in days_old.items()
        ]
    )


def approved_long_ago(customer, proposer, approvers, **values):
    """A policy approved eight days ago: its notice period ended yesterday."""
    with time_machine.travel(timezone.now() - timedelta(days=8)):
        return active_policy(customer, proposer, approvers, **values)


def deleted_at_extend(sim) -> list[str]:
    """Runs Extend deleted (answered 2xx to a DELETE), in the order it did."""
    return [
        e.run_id
        for e in sim.ledger(method="DELETE")
        if e.status is not None and 200 <= e.status < 300
    ]


def status_of(req):
    req.refresh_from_db()
    return req.status


def only_request_of(policy) -> DeletionRequest:
    return DeletionRequest.objects.get(retention_policy=policy)


def test_an_age_policy_deletes_exactly_the_runs_older_than_its_cut(
    live_engine, sim, sim_ws, acme, globex, acme_admin, approvers, staff_admin, client
):
    add_runs(
        sim,
        {
            "pr_old_40": ("acme", 40),
            "pr_old_31": ("acme", 31),
            "pr_new_29": ("acme", 29),
            "pr_new_2": ("acme", 2),
            "pr_held_50": ("acme", 50),
            "pr_exempt_45": ("acme", 45),
            "pr_busy_60": ("acme", 60),
            "pr_globex_400": ("globex", 400),
        },
    )
    sync.sync_workspace(sim_ws)
    assert ParseRun.objects.filter(customer=acme).count() == 7
    hold_run(ParseRun.objects.get(run_id="pr_held_50"), staff_admin)
    exempt(ParseRun.objects.get(run_id="pr_exempt_45"), acme_admin)
    busy = request_for(acme, acme_admin, ["pr_busy_60"])  # waits for a decision
    policy = approved_long_ago(acme, acme_admin, approvers, older_than_days=30)
    assert policy.required_approvals == 2  # all of Acme's runs: four eyes
    live_engine.start_worker()
    mail.outbox.clear()

    evaluate_retention_policies_task()

    req = only_request_of(policy)
    wait_until(lambda: status_of(req) == RS.COMPLETED, timeout=90)
    assert sorted(deleted_at_extend(sim)) == ["pr_old_31", "pr_old_40"]
    for kept in ("pr_new_29", "pr_new_2", "pr_held_50", "pr_exempt_45", "pr_busy_60"):
        assert sim.get_run(kept) is not None, kept
    assert sim.get_run("pr_globex_400") is not None
    assert set(req.items.values_list("status", flat=True)) == {DeletionItem.Status.DELETED}
    ev = PolicyEvaluation.objects.get(policy=policy)
    assert (ev.selected, ev.skipped_held, ev.skipped_exempt, ev.skipped_open) == (2, 1, 1, 1)
    assert status_of(busy) == RS.PENDING_APPROVAL
    # The admins were told a week ago; a retention request sends no e-mail of its own.
    assert [m.subject for m in mail.outbox] == []

    # The proof names the policy and the approvals that let it act.
    approvals = Approval.objects.filter(request=req)
    assert {a.approver.username for a in approvals} == {"approver-1", "approver-2"}
    certificate = wait_until(lambda: Certificate.objects.filter(request=req).first(), timeout=60)
    document = json.loads(certificate.document)
    assert document["request"]["retention_policy"]["id"] == policy.pk
    assert document["request"]["retention_policy"]["rule"] == "runs created more than 30 days ago"
    assert len(document["approvers"]) == 2
    client.force_login(acme_admin)
    receipt = client.get(reverse("customer:receipt", args=[req.pk])).content.decode()
    assert "approver-1" in receipt and "approver-2" in receipt
    assert "pr_old_40" in receipt and "pr_old_31" in receipt and "pr_new_29" not in receipt


def test_an_after_processing_policy_deletes_a_run_announced_by_webhook_once_its_hours_passed(
    live_engine, live_server, sim, sim_ws, acme, globex, acme_admin, approvers
):
    add_runs(
        sim,
        {
            "pr_hook_early": ("acme", 3),
            "pr_hook_late": ("acme", 3),
            "pr_hook_globex": ("globex", 3),
        },
    )
    hook_url = f"{live_server.url}/webhooks/extend/{sim_ws.webhook_token}/"
    policy = approved_long_ago(acme, acme_admin, approvers, hours_after_processed=6)
    live_engine.start_worker()
    start = timezone.now()
    # Extend announces the first run processed seven hours ago, the others an hour ago.
    with time_machine.travel(start - timedelta(hours=7)):
        [delivery] = sim.send_webhook(hook_url, run_id="pr_hook_early")
    assert delivery.status == 200
    with time_machine.travel(start - timedelta(hours=1)):
        for run_id in ("pr_hook_late", "pr_hook_globex"):
            assert sim.send_webhook(hook_url, run_id=run_id)[0].status == 200
    early = ParseRun.objects.get(run_id="pr_hook_early")
    assert early.customer == acme and early.processed_at is not None
    assert abs(early.processed_at - (start - timedelta(hours=7))) < timedelta(minutes=1)

    # Five hours after it was processed: not yet.
    with time_machine.travel(start - timedelta(hours=2)):
        evaluate_retention_policies_task()
    [first] = PolicyEvaluation.objects.filter(policy=policy)
    assert (first.selected, first.request) == (0, None)

    # Seven hours after: it goes, and only it.
    evaluate_retention_policies_task()

    req = only_request_of(policy)
    wait_until(lambda: status_of(req) == RS.COMPLETED, timeout=90)
    assert deleted_at_extend(sim) == ["pr_hook_early"]
    assert sim.get_run("pr_hook_late") is not None
    assert sim.get_run("pr_hook_globex") is not None
    assert PolicyEvaluation.objects.filter(policy=policy).count() == 2


def test_pausing_a_policy_stops_its_waiting_request_and_its_next_evaluation(
    live_engine, sim, sim_ws, acme, acme_admin, approvers
):
    acme.cooling_off_hours = 2
    acme.save()
    add_runs(sim, {"pr_p_40": ("acme", 40), "pr_p_45": ("acme", 45), "pr_p_5": ("acme", 5)})
    sync.sync_workspace(sim_ws)
    policy = approved_long_ago(acme, acme_admin, approvers, older_than_days=30)
    live_engine.start_worker()
    live_engine.start_beat()
    evaluate_retention_policies_task()
    waiting = only_request_of(policy)
    assert status_of(waiting) == RS.APPROVED  # the customer's two-hour cooling-off window

    rules.pause_policy(policy, actor=acme_admin, source=Source.WEB, reason="Checking a contract")

    assert status_of(waiting) == RS.CANCELLED
    policy.refresh_from_db()
    out = StringIO()
    with time_machine.travel(policy.next_evaluation_at + timedelta(minutes=1)):
        evaluate_retention_policies_task()
        call_command("apply_retention_policies", stdout=out)
    assert out.getvalue() == "No active retention policy: nothing to evaluate.\n"
    assert PolicyEvaluation.objects.filter(policy=policy).count() == 1

    # Resumed (and the window lifted), the next evaluation deletes them, once each: nothing of
    # the paused policy's request was ever sent.
    acme.cooling_off_hours = 0
    acme.save()
    rules.resume_policy(policy, actor=acme_admin, source=Source.WEB)
    call_command("apply_retention_policies", stdout=StringIO())
    resumed = DeletionRequest.objects.exclude(pk=waiting.pk).get(retention_policy=policy)
    wait_until(lambda: status_of(resumed) == RS.COMPLETED, timeout=90)
    assert sorted(deleted_at_extend(sim)) == ["pr_p_40", "pr_p_45"]
    assert len(sim.ledger(method="DELETE")) == 2
    assert not DeletionAttempt.objects.filter(item__request=waiting).exists()
    assert sim.get_run("pr_p_5") is not None
