"""The gate: once a hold, a pause, a cancel, a credentials change or a change of owner has
committed, no DELETE for a covered run reaches Extend. Judged by the simulator's ledger (the time
each call *arrived*), at randomised moments, with 20 threads, slow answers and 429 storms.

The rule is zero: every assertion here is "no call after the commit", never "few calls".
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest
from django.db.models import F
from django.utils import timezone

from deletions.engine import claim, gate, reconciler, runner
from deletions.engine.config import EngineSettings
from deletions.inventory.runs import RunRow, upsert_runs
from deletions.models import (
    AuditEvent,
    DeletionAttempt,
    DeletionItem,
    DeletionRequest,
    LegalHold,
    OwnershipConflict,
    ParseRun,
    Source,
    Workspace,
)
from deletions.requests import holds, transitions
from deletions.workspaces import fence
from deletions.workspaces import health as workspace_health
from tests.engine.conftest import assert_every_delete_recorded, background
from tests.factories import CustomerFactory
from tests.live import wait_until

IS = DeletionItem.Status
RS = DeletionRequest.Status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

RUNS = 40
TRIALS_PER_KIND = 6


@pytest.fixture
def gate_cfg(fast_settings) -> EngineSettings:
    fast_settings.RUNNER_THREADS = 20
    fast_settings.RUNNER_SECONDS = 6.0
    fast_settings.EXTEND_READ_TIMEOUT_SECONDS = 3.0
    return EngineSettings.current()


def _late_deletes(sim, committed: float, run_ids: set[str]) -> list[str]:
    """DELETEs for *run_ids* that arrived at Extend after *committed*."""
    return [
        e.run_id for e in sim.ledger(method="DELETE") if e.time > committed and e.run_id in run_ids
    ]


def _run_ids(req: DeletionRequest) -> set[str]:
    return set(req.items.values_list("parse_run__run_id", flat=True))


# Each stopper changes something at a random moment while the runner deletes, and returns the
# runs from then on covered (no DELETE may arrive for them after it returned).
Stopper = Callable[..., set[str]]


def _customer_hold(req, ws, staff_admin, **_):
    holds.place_hold(
        scope=LegalHold.Scope.CUSTOMER, customer=req.customer, reason="Regulator inquiry",
        reference="REG-1", actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    return _run_ids(req)


def _workspace_hold(req, ws, staff_admin, **_):
    holds.place_hold(
        scope=LegalHold.Scope.WORKSPACE, workspace=ws, reason="Audit of the workspace",
        reference="AUD-2", actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    return _run_ids(req)


def _runs_hold(req, ws, staff_admin, rng, **_):
    runs = list(ParseRun.objects.filter(items__request=req).order_by("id"))
    chosen = rng.sample(runs, len(runs) // 2)
    holds.place_hold(
        scope=LegalHold.Scope.RUNS, runs=chosen, reason="Litigation", reference="LIT-3",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    return {run.run_id for run in chosen}


def _workspace_pause(req, ws, approver, **_):
    workspace_health.pause_workspace(ws, actor=approver, source=Source.WEB, reason="Checking")
    return _run_ids(req)


def _request_pause(req, ws, approver, **_):
    transitions.pause_request(req, actor=approver, source=Source.WEB, reason="Checking")
    return _run_ids(req)


def _key_change(req, ws, **_):
    with fence.closed([ws.pk]):
        locked = Workspace.objects.select_for_update().get(pk=ws.pk)
        locked.set_api_key("sk_engine_test_key_0001")  # same key, new version: still re-checked
        locked.save(update_fields=["api_key_encrypted", "api_key_last4", "credentials_version"])
    return _run_ids(req)


def _url_change(req, ws, **_):
    with fence.closed([ws.pk]):
        Workspace.objects.filter(pk=ws.pk).update(
            base_url=ws.base_url + "/", credentials_version=F("credentials_version") + 1
        )
    return _run_ids(req)


def _forced_remap(req, ws, other_customer, rng, **_):
    """A change of owner that did get through (any path that takes the fence): the gate itself
    must refuse to delete a run that no longer belongs to the request's customer."""
    runs = list(ParseRun.objects.filter(items__request=req).values_list("pk", "run_id"))
    chosen = rng.sample(runs, len(runs) // 2)
    with fence.closed([ws.pk]):
        ParseRun.objects.filter(pk__in=[pk for pk, _ in chosen]).update(customer=other_customer)
    return {run_id for _, run_id in chosen}


STOPPERS: dict[str, Stopper] = {
    "customer hold": _customer_hold,
    "workspace hold": _workspace_hold,
    "runs hold": _runs_hold,
    "workspace pause": _workspace_pause,
    "request pause": _request_pause,
    "key change": _key_change,
    "url change": _url_change,
    "forced remap": _forced_remap,
}


@pytest.mark.parametrize("seed", range(TRIALS_PER_KIND))
@pytest.mark.parametrize("kind", list(STOPPERS))
def test_nothing_covered_is_sent_after_the_change_commits(
    kind, seed, sim, sim_workspace, make_request, gate_cfg, staff_admin, approver
):
    rng = random.Random(f"{kind}-{seed}")
    faults: list[dict[str, object]] = [{"latency": {"mean_ms": 400}}]
    if seed % 2:  # every other trial meets a 429 storm as well
        faults.append(
            {"storm_seconds": 0.6, "storm_fraction": 0.5, "scope": {"methods": ["DELETE"]}}
        )
    sim.set_faults(*faults)
    other_customer = CustomerFactory(external_ref="cust_other")
    req = make_request(RUNS)
    thread = background(runner.run_workspace, sim_workspace.pk, gate_cfg)
    # The change comes while the runner sends (on a busy machine its start may take longer than
    # the random delay: a change committed before it read the workspace covers nothing it sends).
    wait_until(lambda: sim.ledger(method="DELETE"), timeout=30)
    time.sleep(rng.uniform(0.0, 1.2))
    covered = STOPPERS[kind](
        req=req, ws=sim_workspace, staff_admin=staff_admin, approver=approver,
        other_customer=other_customer, rng=rng,
    )  # fmt: skip
    committed = time.time()
    thread.join(timeout=60)
    assert not thread.is_alive()

    assert _late_deletes(sim, committed, covered) == []
    # Every DELETE that reached Extend has its attempt record (the outbox).
    assert_every_delete_recorded(sim, req)
    # Nothing is left half-done: every item is settled or waiting, none stays in flight.
    assert not req.items.filter(status=IS.IN_FLIGHT).exists()


def test_a_cancel_that_wins_the_race_with_start_means_no_delete_at_all(
    sim, sim_workspace, make_request, gate_cfg, requester
):
    for seed in range(10):
        rng = random.Random(seed)
        req = make_request(10, approve=False)
        DeletionRequest.objects.filter(pk=req.pk).update(status=RS.APPROVED)
        before = len(sim.ledger(method="DELETE"))

        def start(rng: random.Random = rng) -> None:
            time.sleep(rng.uniform(0, 0.02))
            reconciler.start_approved_requests()
            runner.run_workspace(sim_workspace.pk, gate_cfg)

        thread = background(start)
        time.sleep(rng.uniform(0, 0.02))
        try:
            transitions.cancel_request(req, actor=requester, source=Source.WEB)
        except Exception:
            thread.join(timeout=60)
            continue  # start won: the request runs, which is allowed
        committed = time.time()
        thread.join(timeout=60)
        assert _late_deletes(sim, committed, _run_ids(req)) == []
        assert len(sim.ledger(method="DELETE")) == before


def test_a_webhook_naming_another_customer_leaves_the_run_with_its_request_and_records_it(
    sim, sim_workspace, make_request, gate_cfg, staff_admin, client
):
    other = CustomerFactory(external_ref="cust_other")
    req = make_request(6, approve=False)
    moved = sorted(_run_ids(req))[:2]
    rows = [RunRow(run_id, "cust_other", None, None, None, None) for run_id in moved]

    upsert_runs(sim_workspace, rows, now=timezone.now(), source=OwnershipConflict.Seen.WEBHOOK)

    # Frozen while the request is open: the customer stays, the change waits as a conflict.
    assert set(ParseRun.objects.filter(run_id__in=moved).values_list("customer_id", flat=True)) == {
        req.customer_id
    }
    conflicts = OwnershipConflict.objects.filter(request=req, resolved_at__isnull=True)
    assert {c.parse_run.run_id for c in conflicts} == set(moved)
    assert {c.observed_customer_id for c in conflicts} == {other.pk}
    # Staff see it on the request's page, next to the runs concerned.
    client.force_login(staff_admin, backend="django.contrib.auth.backends.ModelBackend")
    page = client.get(f"/console/requests/{req.pk}/").content.decode()
    assert "Ownership conflicts" in page and "Waiting for the request to end" in page
    assert all(run_id in page for run_id in moved) and page.count("Owner conflict") == 2

    # The request is rejected: the runs it held move to the customer Extend names, audited.
    transitions.reject_request(req, actor=staff_admin, source=Source.WEB, reason="Not ours")
    assert set(ParseRun.objects.filter(run_id__in=moved).values_list("customer_id", flat=True)) == {
        other.pk
    }
    assert not OwnershipConflict.objects.filter(resolved_at__isnull=True).exists()
    assert AuditEvent.objects.filter(action="run.owner_changed").count() == 2


def test_a_stale_runner_cannot_complete_reschedule_or_hold_an_item_claimed_again(
    sim_workspace, make_request, engine_cfg
):
    req = make_request(1)
    stale = claim.claim_item(sim_workspace.pk, sim_workspace.credentials_version, engine_cfg)
    assert stale is not None
    # Its runner died; a new runner takes the workspace over and claims the item afresh.
    assert claim.release_orphans(sim_workspace.pk) == 1
    fresh = claim.claim_item(sim_workspace.pk, sim_workspace.credentials_version, engine_cfg)
    assert fresh is not None and fresh.pk == stale.pk and fresh.claim_token != stale.claim_token

    assert not transitions.complete_item(stale, IS.DELETED, http_status=200)
    assert not transitions.reschedule_item(stale, next_attempt_at=timezone.now(), http_status=500)
    assert not transitions.hold_item(stale)
    assert gate.check(stale) == gate.Refused(gate.CLAIM_LOST)
    item = req.items.get()
    assert item.status == IS.IN_FLIGHT and item.claim_token == fresh.claim_token
    assert not DeletionAttempt.objects.exists()  # the stale gate wrote no outbox record

    assert transitions.complete_item(fresh, IS.DELETED, http_status=200)


def test_a_refused_claim_does_not_spend_an_attempt(
    sim_workspace, make_request, engine_cfg, approver
):
    req = make_request(1)
    item = claim.claim_item(sim_workspace.pk, sim_workspace.credentials_version, engine_cfg)
    assert item is not None and item.attempts == 1
    workspace_health.pause_workspace(sim_workspace, actor=approver, source=Source.WEB)

    assert gate.check(item) == gate.Refused(gate.WORKSPACE_STOPPED)
    item = req.items.get()
    assert (item.status, item.attempts) == (IS.PENDING, 0)
    assert "stopped" in item.last_error
