"""Evaluating a policy: exactly the expired runs of its customer, none held, exempted, newer,
in another request or of another customer; approved by the policy's approvals; capped."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings

from deletions.models import Approval, DeletionRequest, ParseRun
from deletions.policies import evaluation
from tests.factories import CustomerFactory, staff_user
from tests.helpers import request_for
from tests.policies.conftest import NOW, active_policy, aged_runs, exempt, hold_run

pytestmark = pytest.mark.django_db


def _after_notice(policy):
    return policy.first_action_at + timedelta(minutes=1)


def test_an_evaluation_takes_exactly_the_expired_runs_of_its_customer(
    ws, acme, acme_admin, approvers
):
    other = CustomerFactory(name="Other")
    aged_runs(ws, acme, [40, 31, 29, 5], prefix="a_")
    aged_runs(ws, other, [400], prefix="o_")
    with time_machine.travel(NOW - timedelta(days=7), tick=False):
        policy = active_policy(
            acme, acme_admin, approvers, older_than_days=30, file_name_contains="doc"
        )
    with time_machine.travel(NOW, tick=False):
        outcome = evaluation.evaluate(policy)
    req = outcome.evaluation.request
    assert req.kind == DeletionRequest.Kind.RETENTION
    assert req.retention_policy == policy
    taken = set(req.items.values_list("parse_run__run_id", flat=True))
    assert taken == {"a_40d_0", "a_31d_1"}
    assert req.status in (
        DeletionRequest.Status.APPROVED.value,
        DeletionRequest.Status.RUNNING.value,
    )
    approvers_named = set(
        Approval.objects.filter(request=req).values_list("approver__username", flat=True)
    )
    assert approvers_named == {a.username for a in approvers[: policy.required_approvals]}


def test_held_exempted_and_busy_runs_are_skipped_and_counted(ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [50, 49, 48, 47, 10], prefix="s_")
    admin = staff_user("admin", username="hold-admin")
    request_for(acme, acme_admin, ["s_49d_1"])
    hold_run(ParseRun.objects.get(run_id="s_48d_2"), admin)
    exempt(ParseRun.objects.get(run_id="s_47d_3"), acme_admin)
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    with time_machine.travel(NOW, tick=False):
        outcome = evaluation.evaluate(policy)
    ev = outcome.evaluation
    assert set(ev.request.items.values_list("parse_run__run_id", flat=True)) == {"s_50d_0"}
    assert (ev.skipped_open, ev.skipped_held, ev.skipped_exempt) == (1, 1, 1)


@override_settings(RETENTION_POLICY_CAP=3)
def test_the_cap_spreads_a_backlog_over_evaluations_and_says_so(ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [90, 80, 70, 60, 50], prefix="c_")
    with time_machine.travel(NOW - timedelta(days=8), tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
    with time_machine.travel(NOW, tick=False):
        ev = evaluation.evaluate(policy).evaluation
    assert (ev.selected, ev.deferred) == (3, 2)
    assert set(ev.request.items.values_list("parse_run__run_id", flat=True)) == {
        "c_90d_0",
        "c_80d_1",
        "c_70d_2",
    }


def test_nothing_acts_before_the_notice_period_ends(ws, acme, acme_admin, approvers):
    aged_runs(ws, acme, [90], prefix="n_")
    with time_machine.travel(NOW, tick=False):
        policy = active_policy(acme, acme_admin, approvers, older_than_days=30)
        outcome = evaluation.evaluate(policy)
    assert outcome.evaluation is None
    assert "first acts" in outcome.refused


def test_a_run_exempted_while_the_claim_waited_is_given_back_with_its_item(ws, acme, acme_admin):
    """The claim's selection is read before its UPDATE takes the runs' locks: an exemption
    committed in between is honoured by the release that follows the claim."""
    from deletions.models import DeletionItem, RetentionExemption
    from deletions.policies import selection
    from deletions.requests.submission import claim_runs_into_items, release_claimed

    aged_runs(ws, acme, [50, 40], prefix="w_")
    req = DeletionRequest.objects.create(customer=acme, reason="retention", kind="retention")
    runs = ParseRun.objects.filter(customer=acme).order_by("id")
    assert claim_runs_into_items(req, runs, 10) == 2
    kept = ParseRun.objects.get(run_id="w_40d_1")
    RetentionExemption.objects.create(
        parse_run=kept, customer=acme, reason="audit copy", created_by=acme_admin
    )
    assert release_claimed(req, ParseRun.objects.filter(selection.exempt())) == 1
    kept.refresh_from_db()
    assert kept.open_request is None
    assert list(
        DeletionItem.objects.filter(request=req).values_list("parse_run__run_id", flat=True)
    ) == ["w_50d_0"]
