"""A policy's standing approval follows a request's rules; a change of what it selects is approved
again; pausing (one policy, or all) stops its requests at once; exemptions keep runs out."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from deletions.accounts import roles
from deletions.core.errors import RuleViolation, SubmissionError
from deletions.models import (
    AuditEvent,
    Customer,
    DeletionItem,
    DeletionRequest,
    Membership,
    ParseRun,
    RetentionPolicy,
    Source,
)
from deletions.policies import evaluation, exemptions, rules
from deletions.requests import transitions
from tests.factories import customer_user, staff_user
from tests.policies.conftest import NOW, active_policy, aged_runs

pytestmark = pytest.mark.django_db
ST = RetentionPolicy.Status
RS = DeletionRequest.Status


def _values(**kw):
    kw.setdefault("name", "Thirty days")
    kw.setdefault("reason", "Contract clause 7.2")
    return rules.PolicyValues(**kw)


def test_a_policy_over_all_runs_needs_two_approvers_and_never_its_proposer(
    acme, acme_admin, approvers
):
    policy = rules.propose_policy(
        acme, _values(older_than_days=30), actor=acme_admin, source=Source.WEB
    )
    assert (policy.status, policy.required_approvals) == (ST.PENDING_APPROVAL, 2)
    first, second = approvers
    policy = rules.approve_policy(policy, actor=first, source=Source.WEB)
    assert policy.status == ST.PENDING_APPROVAL
    with pytest.raises(RuleViolation, match="already approved"):
        rules.approve_policy(policy, actor=first, source=Source.WEB)
    policy = rules.approve_policy(policy, actor=second, source=Source.WEB)
    assert policy.status == ST.ACTIVE
    assert policy.first_action_at is not None and policy.next_evaluation_at is not None


def test_a_narrowed_small_policy_needs_one_approver_who_is_not_its_proposer(ws, acme, approvers):
    proposer = approvers[0]
    policy = rules.propose_policy(
        acme,
        _values(older_than_days=30, file_name_contains="invoice"),
        actor=proposer,
        source=Source.WEB,
    )
    assert policy.required_approvals == 1
    with pytest.raises(RuleViolation, match="proposed"):
        rules.approve_policy(policy, actor=proposer, source=Source.WEB)
    assert rules.approve_policy(policy, actor=approvers[1], source=Source.WEB).status == ST.ACTIVE


def test_members_and_other_customers_admins_cannot_propose(acme, ws):
    member = customer_user(acme, role=Membership.Role.MEMBER, username="member")
    other = Customer.objects.create(name="Other", external_ref="other", slug="other")
    stranger = customer_user(other, role=Membership.Role.ADMIN, username="other-admin")
    for user in (member, stranger):
        with pytest.raises(RuleViolation):
            rules.propose_policy(acme, _values(older_than_days=30), actor=user, source=Source.WEB)
    viewer = staff_user(roles.VIEWER, username="viewer")
    with pytest.raises(RuleViolation):
        rules.propose_policy(acme, _values(older_than_days=30), actor=viewer, source=Source.WEB)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"older_than_days": 30, "hours_after_processed": 5}, "not both"),
        ({}, "either"),
        ({"older_than_days": 0}, "between 1"),
        ({"older_than_days": 30, "reason": " "}, "reason"),
        ({"older_than_days": 30, "metadata_value": "x"}, "needs its key"),
    ],
)
def test_a_proposal_that_says_nothing_clear_is_refused(acme, acme_admin, values, message):
    with pytest.raises(SubmissionError, match=message):
        rules.propose_policy(acme, _values(**values), actor=acme_admin, source=Source.WEB)
    assert not RetentionPolicy.objects.exists()


def test_changing_what_a_policy_selects_needs_approval_again_but_renaming_does_not(
    acme, acme_admin, approvers
):
    policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    policy = rules.change_policy(
        policy, _values(name="Renamed", older_than_days=30), actor=acme_admin, source=Source.WEB
    )
    assert (policy.status, policy.version, policy.name) == (ST.ACTIVE, 1, "Renamed")
    policy = rules.change_policy(
        policy, _values(name="Renamed", older_than_days=10), actor=acme_admin, source=Source.WEB
    )
    assert (policy.status, policy.version) == (ST.PENDING_APPROVAL, 2)
    # The approvals of version 1 do not count for version 2.
    policy = rules.approve_policy(policy, actor=approvers[0], source=Source.WEB)
    assert policy.status == ST.PENDING_APPROVAL
    assert AuditEvent.objects.filter(action="policy.changed", object_id=str(policy.pk)).count() == 2


def _running_retention_request(ws, acme, acme_admin, approvers, ages=(60, 50, 40)):
    aged_runs(ws, acme, list(ages), prefix="p_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    with time_machine.travel(NOW, tick=False):
        outcome = evaluation.evaluate(policy).evaluation
        assert outcome is not None and outcome.request is not None
        req = outcome.request
        req.refresh_from_db()
        if req.status == RS.APPROVED:
            req = transitions.start_request(req, actor=None, source=Source.SYSTEM)
    return policy, req


def test_pausing_a_policy_pauses_its_running_request_at_once_and_resuming_resumes_it(
    ws, acme, acme_admin, approvers
):
    policy, req = _running_retention_request(ws, acme, acme_admin, approvers)
    assert req.status == RS.RUNNING
    policy = rules.pause_policy(policy, actor=acme_admin, source=Source.WEB, reason="audit")
    req.refresh_from_db()
    assert (policy.status, req.status) == (ST.PAUSED, RS.PAUSED)
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        assert "paused" in evaluation.evaluate(policy).refused
    rules.resume_policy(policy, actor=acme_admin, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.RUNNING


def test_the_console_switch_stops_every_policy_and_its_requests(ws, acme, acme_admin, approvers):
    policy, req = _running_retention_request(ws, acme, acme_admin, approvers)
    operator = staff_user(roles.ADMIN, username="operator")
    with pytest.raises(RuleViolation):
        rules.stop_all(actor=acme_admin, source=Source.WEB, reason="incident")
    rules.stop_all(actor=operator, source=Source.WEB, reason="incident")
    req.refresh_from_db()
    assert req.status == RS.PAUSED
    with time_machine.travel(NOW + timedelta(days=2), tick=False):
        assert "stopped" in evaluation.evaluate(policy).refused
    rules.restart_all(actor=operator, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.RUNNING


def test_a_policy_change_cancels_its_request_that_has_not_started(ws, acme, acme_admin, approvers):
    acme.cooling_off_hours = 48
    acme.save()
    aged_runs(ws, acme, [60], prefix="c_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    with time_machine.travel(NOW, tick=False):
        req = evaluation.evaluate(policy).evaluation.request
    assert req.status == RS.APPROVED
    rules.change_policy(policy, _values(older_than_days=90), actor=acme_admin, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.CANCELLED
    assert ParseRun.objects.get(run_id="c_60d_0").open_request is None


def test_exempting_a_run_takes_it_out_of_a_retention_request_before_it_is_sent(
    ws, acme, acme_admin, approvers
):
    policy, req = _running_retention_request(ws, acme, acme_admin, approvers)
    run = ParseRun.objects.get(run_id="p_50d_1")
    _, said = exemptions.exempt_run(
        run, actor=acme_admin, source=Source.WEB, reason="keep", policy=policy
    )
    assert "taken out" in said
    req.refresh_from_db()
    assert req.item_count == 2
    assert not DeletionItem.objects.filter(request=req, parse_run=run).exists()
    # In flight (claimed by the engine): too late for this request, and said so.
    other = ParseRun.objects.get(run_id="p_60d_0")
    DeletionItem.objects.filter(request=req, parse_run=other).update(
        status=DeletionItem.Status.IN_FLIGHT
    )
    _, said = exemptions.exempt_run(other, actor=acme_admin, source=Source.WEB, reason="keep")
    assert "already started" in said
    assert DeletionItem.objects.filter(request=req, parse_run=other).exists()


def test_an_after_processing_policy_takes_runs_n_hours_after_processing(
    ws, acme, acme_admin, approvers
):
    aged_runs(ws, acme, [1, 1, 1], prefix="z_", processed_hours_ago=[10, 5, 1])
    ParseRun.objects.filter(run_id="z_1d_2").update(processed_at=None, extend_status="PROCESSING")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, hours_after_processed=6)
    assert policy.basis == RetentionPolicy.Basis.AFTER_PROCESSING
    with time_machine.travel(NOW, tick=False):
        req = evaluation.evaluate(policy).evaluation.request
    assert set(req.items.values_list("parse_run__run_id", flat=True)) == {"z_1d_0"}
    with time_machine.travel(NOW + timedelta(hours=2), tick=False):
        req = evaluation.evaluate(policy).evaluation.request
    assert set(req.items.values_list("parse_run__run_id", flat=True)) == {"z_1d_1"}


def test_a_standing_approval_lasts_as_long_as_its_approvers_authority(
    ws, acme, acme_admin, approvers
):
    aged_runs(ws, acme, [60], prefix="r_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    approvers[1].groups.clear()
    with time_machine.travel(NOW, tick=False):
        outcome = evaluation.evaluate(policy)
    assert outcome.evaluation is None
    assert "needs approval again" in outcome.refused
    assert ParseRun.objects.get(run_id="r_60d_0").open_request is None


def test_a_deactivated_customers_policy_does_not_act(ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [60], prefix="d_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    acme.is_active = False
    acme.save()
    with time_machine.travel(NOW, tick=False):
        assert "deactivated" in evaluation.evaluate(policy).refused


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("rounds", range(3))
def test_stopping_every_policy_while_one_is_evaluated_leaves_nothing_to_run(
    ws, acme, acme_admin, approvers, rounds
):
    """Whichever commits first, the switch wins: the evaluation's request is stopped with the
    others, or the evaluation reads the switch and makes none."""
    from deletions.models import RetentionSwitch
    from tests.helpers import at_once

    aged_runs(ws, acme, [60, 50], prefix=f"k{rounds}_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    operator = staff_user(roles.ADMIN, username=f"operator-{rounds}")
    results = at_once(
        lambda: rules.stop_all(actor=operator, source=Source.WEB, reason="incident"),
        lambda: evaluation.evaluate(policy, now=NOW),
    )
    assert not any(isinstance(r, Exception) for r in results), results
    assert RetentionSwitch.current().stopped_at is not None
    assert not DeletionRequest.objects.filter(
        retention_policy=policy, status__in=[RS.APPROVED, RS.RUNNING]
    ).exists()
