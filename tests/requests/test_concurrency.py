"""Two approvers clicking at the same instant: one approval each, one transition."""

from __future__ import annotations

from functools import partial

import pytest

from deletions.models import AuditEvent, DeletionRequest, Source
from deletions.requests import transitions
from tests.helpers import at_once, submitted_request

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
]


def _race(request_obj, actors):
    """Run approve_request for every actor at once, each on its own connection: "ok" for each
    approval, the error (a DomainError) for each one refused."""

    def approve(actor):
        transitions.approve_request(
            DeletionRequest.objects.get(pk=request_obj.pk), actor=actor, source=Source.WEB
        )
        return "ok"

    return at_once(*(partial(approve, actor) for actor in actors), timeout=30)


def test_two_racing_approvals_of_a_two_approver_request_give_one_transition(
    settings, workspace, customer, member, approver, second_approver
):
    settings.LARGE_REQUEST_THRESHOLD = 1
    req = submitted_request(workspace, customer, member, runs=2)
    assert req.required_approvals == 2

    outcomes = _race(req, [approver, second_approver])

    assert outcomes == ["ok", "ok"]
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.APPROVED
    assert req.approvals.count() == 2
    assert AuditEvent.objects.filter(request=req, action="request.approved").count() == 1


def test_two_racing_approvals_of_a_one_approver_request_give_one_outcome(
    workspace, customer, member, approver, second_approver
):
    req = submitted_request(workspace, customer, member, runs=1)

    outcomes = _race(req, [approver, second_approver])

    assert sorted(map(str, outcomes))[-1] == "ok"
    assert sum(o == "ok" for o in outcomes) == 1
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.APPROVED
    assert req.approvals.count() == 1
    assert AuditEvent.objects.filter(request=req, action="request.approved").count() == 1


def test_the_same_approver_clicking_twice_at_once_counts_once(
    settings, workspace, customer, member, approver
):
    settings.LARGE_REQUEST_THRESHOLD = 1
    req = submitted_request(workspace, customer, member, runs=2)

    outcomes = _race(req, [approver, approver])

    assert sum(o == "ok" for o in outcomes) == 1
    req.refresh_from_db()
    assert req.status == DeletionRequest.Status.PENDING_APPROVAL
    assert req.approvals.count() == 1
