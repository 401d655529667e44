"""Legal holds and the cooling-off window, with the engine against the simulator."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from deletions.core.errors import RuleViolation, TransitionError
from deletions.engine import reconciler, runner
from deletions.gdpr import retention
from deletions.models import AuditEvent, DeletionItem, DeletionRequest, LegalHold, Source
from deletions.requests import holds, transitions
from tests.engine.conftest import background, run_until_settled
from tests.live import wait_until

IS = DeletionItem.Status
RS = DeletionRequest.Status

pytestmark = pytest.mark.django_db(transaction=True)


def _deleted_ids(sim) -> set[str]:
    return {e.run_id for e in sim.ledger(method="DELETE")}


def test_held_runs_get_no_call_until_the_hold_is_lifted_then_are_deleted(
    sim, sim_workspace, make_request, engine_cfg, staff_admin
):
    req = make_request(6, approve=False)
    held_runs = [item.parse_run for item in req.items.order_by("id")[:2]]
    hold = holds.place_hold(
        scope=LegalHold.Scope.RUNS, runs=held_runs, reason="Litigation hold, matter 42",
        reference="LIT-42", actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    from tests.engine.conftest import approve_and_start

    approve_and_start(req)
    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    held_ids = {run.run_id for run in held_runs}
    assert not held_ids & _deleted_ids(sim)
    assert req.held_count == 2 and req.deleted_count == 4
    assert req.status == RS.COMPLETED  # the rest is done; the held two wait
    assert set(req.items.filter(status=IS.HELD).values_list("parse_run__run_id", flat=True)) == (
        held_ids
    )

    holds.lift_hold(hold, actor=staff_admin, source=Source.WEB, reason="Case settled")
    req.refresh_from_db()
    assert req.status == RS.RUNNING  # no new request needed
    run_until_settled(sim_workspace, engine_cfg)

    req.refresh_from_db()
    assert req.status == RS.COMPLETED
    assert (req.deleted_count, req.held_count) == (6, 0)
    assert held_ids <= _deleted_ids(sim)
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"hold.placed", "hold.lifted", "request.running"} <= actions


def test_a_customer_hold_placed_while_the_request_runs_stops_the_rest_at_once(
    sim, sim_workspace, make_request, engine_cfg, staff_admin, engine_customer
):
    sim.set_faults({"latency": {"mean_ms": 40}})
    req = make_request(60)
    thread = background(runner.run_workspace, sim_workspace.pk, engine_cfg)
    wait_until(lambda: req.items.filter(status=IS.DELETED).count() >= 5, timeout=30)
    holds.place_hold(
        scope=LegalHold.Scope.CUSTOMER, customer=engine_customer, reason="Regulator inquiry",
        reference="REG-7", actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    committed = time.time()
    thread.join(timeout=30)

    # The rule is zero: no DELETE arrives at Extend after the hold has committed.
    assert [e.run_id for e in sim.ledger(method="DELETE") if e.time > committed] == []
    req.refresh_from_db()
    assert req.held_count + req.deleted_count == 60
    assert req.held_count > 0
    sent = {e.run_id for e in sim.ledger(method="DELETE")}
    held = set(req.items.filter(status=IS.HELD).values_list("parse_run__run_id", flat=True))
    assert not sent & held


def test_only_staff_admins_place_holds_and_need_a_reason(engine_customer, approver, staff_admin):
    with pytest.raises(RuleViolation, match="administrators"):
        holds.place_hold(
            scope=LegalHold.Scope.CUSTOMER, customer=engine_customer, reason="x",
            reference="y", actor=approver, source=Source.WEB,
        )  # fmt: skip
    with pytest.raises(RuleViolation, match="reason"):
        holds.place_hold(
            scope=LegalHold.Scope.CUSTOMER, customer=engine_customer, reason=" ",
            reference="y", actor=staff_admin, source=Source.WEB,
        )  # fmt: skip
    assert not LegalHold.objects.exists()


def test_a_hold_with_an_end_date_lifts_itself(
    sim, sim_workspace, make_request, engine_cfg, staff_admin, engine_customer
):
    req = make_request(2, approve=False)
    today = timezone.localdate()
    holds.place_hold(
        scope=LegalHold.Scope.CUSTOMER, customer=engine_customer, reason="Retention duty",
        reference="RET-1", actor=staff_admin, source=Source.WEB, ends_on=today,
    )  # fmt: skip
    from tests.engine.conftest import approve_and_start

    approve_and_start(req)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.held_count == 2 and not sim.ledger(method="DELETE")

    with time_machine.travel(timezone.now() + timedelta(days=1, hours=1)):
        summary = reconciler.reconcile(wake=lambda w: None)
        assert summary.holds_ended == 1
        run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.deleted_count == 2 and req.status == RS.COMPLETED
    assert AuditEvent.objects.filter(action="hold.ended").exists()


@pytest.fixture
def cooling_customer(engine_customer):
    engine_customer.cooling_off_hours = 24
    engine_customer.save()
    return engine_customer


def test_nothing_is_sent_before_the_cooling_off_window_ends(
    sim, sim_workspace, make_request, engine_cfg, cooling_customer, approver
):
    req = make_request(3, approve=False)
    transitions.approve_request(req, actor=approver, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.APPROVED
    assert req.execute_after - req.approved_at == timedelta(hours=24)

    reconciler.reconcile(wake=lambda w: runner.run_workspace(w, engine_cfg))
    with pytest.raises(TransitionError, match="cooling-off"):
        transitions.start_request(req, actor=None, source=Source.SYSTEM)
    with time_machine.travel(timezone.now() + timedelta(hours=23, minutes=59)):
        reconciler.reconcile(wake=lambda w: runner.run_workspace(w, engine_cfg))
    assert sim.ledger(method="DELETE") == []
    req.refresh_from_db()
    assert req.status == RS.APPROVED

    with time_machine.travel(timezone.now() + timedelta(hours=24, minutes=1)):
        reconciler.reconcile(wake=lambda w: None)
        req.refresh_from_db()
        assert req.status == RS.RUNNING
        run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED


def test_cancelling_inside_the_cooling_off_window_sends_nothing(
    sim, sim_workspace, make_request, engine_cfg, cooling_customer, approver, requester
):
    req = make_request(3, approve=False)
    transitions.approve_request(req, actor=approver, source=Source.WEB)
    transitions.cancel_request(req, actor=requester, source=Source.WEB)

    with time_machine.travel(timezone.now() + timedelta(days=2)):
        reconciler.reconcile(wake=lambda w: runner.run_workspace(w, engine_cfg))
    req.refresh_from_db()
    assert req.status == RS.CANCELLED
    assert sim.ledger(method="DELETE") == []


def test_a_held_item_of_a_year_old_request_survives_the_purge_and_is_deleted_when_lifted(
    sim, sim_workspace, make_request, engine_cfg, staff_admin
):
    req = make_request(3, approve=False)
    held_run = req.items.order_by("id").first().parse_run
    hold = holds.place_hold(
        scope=LegalHold.Scope.RUNS, runs=[held_run], reason="Litigation", reference="LIT-9",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    from tests.engine.conftest import approve_and_start

    approve_and_start(req)
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED and req.held_count == 1

    # A year and more later the retention purge runs: the held erasure is still owed.
    result = retention.purge_expired_records(now=timezone.now() + timedelta(days=400))
    assert result.requests == 0
    assert req.items.filter(status=IS.HELD).count() == 1

    holds.lift_hold(hold, actor=staff_admin, source=Source.WEB, reason="Case closed")
    run_until_settled(sim_workspace, engine_cfg)
    req.refresh_from_db()
    assert req.status == RS.COMPLETED and req.deleted_count == 3
    assert sim.is_deleted(held_run.run_id)
