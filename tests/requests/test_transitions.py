"""The request lifecycle: every legal move works and is audited; illegal ones leave no trace."""

from __future__ import annotations

from typing import Any

import pytest

from deletions.core.errors import RuleViolation, TransitionError
from deletions.models import Approval, AuditEvent, DeletionItem, DeletionRequest, ParseRun, Source
from deletions.requests import transitions
from tests.helpers import force_status, submitted_request

RS = DeletionRequest.Status

# DESIGN.md's lifecycle, written out independently of the code's table.
DESIGNED_EDGES = {
    (RS.AWAITING_VERIFICATION, RS.PENDING_APPROVAL),
    (RS.AWAITING_VERIFICATION, RS.CANCELLED),
    (RS.AWAITING_VERIFICATION, RS.EXPIRED),
    (RS.PENDING_APPROVAL, RS.APPROVED),
    (RS.PENDING_APPROVAL, RS.REJECTED),
    (RS.PENDING_APPROVAL, RS.CANCELLED),
    (RS.APPROVED, RS.RUNNING),
    (RS.APPROVED, RS.CANCELLED),
    (RS.RUNNING, RS.PAUSED),
    (RS.RUNNING, RS.COMPLETED),
    (RS.RUNNING, RS.COMPLETED_WITH_FAILURES),
    (RS.PAUSED, RS.RUNNING),
    (RS.COMPLETED_WITH_FAILURES, RS.RUNNING),
    # Issue 11: a lifted legal hold sends a finished request's held items back to work.
    (RS.COMPLETED, RS.RUNNING),
}


def test_the_transition_table_is_the_designed_lifecycle():
    edges = {
        (start, end)
        for starts, ends in transitions.REQUEST_TRANSITIONS.values()
        for start in starts
        for end in ends
    }
    assert edges == DESIGNED_EDGES


def _call(name, req, approver):
    """Run transition *name* on *req* with the arguments it needs."""
    actor_kwargs = {"actor": approver, "source": Source.WEB}
    if name == "approve":
        return transitions.approve_request(req, **actor_kwargs)
    if name == "reject":
        return transitions.reject_request(req, reason="not ours", **actor_kwargs)
    func: Any = {
        "verify": transitions.verify_request,
        "expire": transitions.expire_request,
        "cancel": transitions.cancel_request,
        "start": transitions.start_request,
        "pause": transitions.pause_request,
        "resume": transitions.resume_request,
        "finish": transitions.finish_request,
        "retry": transitions.retry_failed_items,
        "reopen": transitions.reopen_request,
    }[name]
    return func(req, **actor_kwargs)


CASES = [
    (name, status)
    for name in transitions.REQUEST_TRANSITIONS
    for status in DeletionRequest.Status.values
]


@pytest.mark.parametrize(("name", "status"), CASES)
def test_each_transition_from_each_status(name, status, workspace, customer, member, approver):
    req = submitted_request(workspace, customer, member)
    # Items terminal, so "finish" only depends on the status; "reopen" needs one item left.
    force_status(req, status, deleted_count=req.item_count - (name == "reopen"))
    audits_before = AuditEvent.objects.count()
    approvals_before = Approval.objects.count()
    starts, ends = transitions.REQUEST_TRANSITIONS[name]

    if status in starts:
        result = _call(name, req, approver)
        assert result.status in ends
        req.refresh_from_db()
        assert req.status == result.status
        event = AuditEvent.objects.filter(action=f"request.{req.status}").latest("id")
        assert event.before == {"status": status}
        assert event.after == {"status": req.status}
        assert event.actor_id == approver.pk
        assert event.source == Source.WEB
        assert event.request_id == req.pk
    else:
        with pytest.raises(TransitionError):
            _call(name, req, approver)
        req.refresh_from_db()
        assert req.status == status
        assert AuditEvent.objects.count() == audits_before
        assert Approval.objects.count() == approvals_before


def test_a_requester_cannot_approve_their_own_request(workspace, customer, approver):
    from deletions.models import Membership

    Membership.objects.create(user=approver, customer=customer)
    req = submitted_request(workspace, customer, approver)
    with pytest.raises(RuleViolation, match="yourself"):
        transitions.approve_request(req, actor=approver, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL
    assert not req.approvals.exists()


def _service_account(issuer, customer=None):
    from deletions.accounts import service_accounts

    return service_accounts.create(
        name="Robot", customer=customer, issued_by=issuer, source=Source.WEB
    ).user


def _make_approver(user):
    from django.contrib.auth.models import Group

    from deletions.accounts import roles
    from tests.factories import ensure_staff_groups

    ensure_staff_groups()
    user.groups.add(Group.objects.get(name=roles.APPROVER))


def test_a_service_account_counts_as_the_person_who_created_it(customer, customer_admin):
    from deletions.accounts import roles

    robot = _service_account(customer_admin, customer)
    assert roles.person_behind(robot) == customer_admin
    assert roles.person_behind(customer_admin) == customer_admin
    assert roles.same_person(robot, customer_admin)


def test_nobody_decides_on_a_request_filed_by_their_service_account(
    workspace, customer, customer_admin
):
    _make_approver(customer_admin)
    robot = _service_account(customer_admin, customer)
    req = submitted_request(workspace, customer, robot)
    with pytest.raises(RuleViolation, match="yourself"):
        transitions.approve_request(req, actor=customer_admin, source=Source.WEB)
    with pytest.raises(RuleViolation, match="your own request"):
        transitions.reject_request(req, actor=customer_admin, source=Source.WEB, reason="no")
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL
    assert not req.approvals.exists()


def test_nobody_approves_twice_in_person_and_through_their_service_account(
    settings, workspace, customer, member, staff_admin, approver
):
    settings.LARGE_REQUEST_THRESHOLD = 1
    req = submitted_request(workspace, customer, member, runs=2)
    assert req.required_approvals == 2
    robot = _service_account(staff_admin)
    _make_approver(robot)  # the API refuses its staff actions; the domain still counts people
    req = transitions.approve_request(req, actor=robot, source=Source.API)
    with pytest.raises(RuleViolation, match="already approved"):
        transitions.approve_request(req, actor=staff_admin, source=Source.WEB)
    assert req.approvals.count() == 1
    req = transitions.approve_request(req, actor=approver, source=Source.WEB)
    assert req.status == RS.APPROVED


def test_a_customer_user_cannot_approve(workspace, customer, member, customer_admin):
    req = submitted_request(workspace, customer, member)
    with pytest.raises(RuleViolation, match="not allowed"):
        transitions.approve_request(req, actor=customer_admin, source=Source.WEB)


def test_a_viewer_cannot_approve_or_reject(workspace, customer, member, viewer):
    req = submitted_request(workspace, customer, member)
    with pytest.raises(RuleViolation):
        transitions.approve_request(req, actor=viewer, source=Source.WEB)
    with pytest.raises(RuleViolation):
        transitions.reject_request(req, actor=viewer, source=Source.WEB, reason="no")


def test_large_requests_need_two_different_approvers(
    settings, workspace, customer, member, approver, second_approver
):
    settings.LARGE_REQUEST_THRESHOLD = 5
    req = submitted_request(workspace, customer, member, runs=6)
    assert req.required_approvals == 2

    req = transitions.approve_request(req, actor=approver, source=Source.WEB)
    assert req.status == RS.PENDING_APPROVAL
    with pytest.raises(RuleViolation, match="already approved"):
        transitions.approve_request(req, actor=approver, source=Source.WEB)
    req = transitions.approve_request(req, actor=second_approver, source=Source.WEB)
    assert req.status == RS.APPROVED
    assert req.approvals.count() == 2


def test_scope_all_needs_two_approvers_even_when_small(workspace, customer, member):
    from tests.factories import make_runs

    make_runs(workspace, customer, 2)
    from deletions.requests.submission import Selection, submit_request

    req = submit_request(
        customer=customer,
        selection=Selection(scope=DeletionRequest.Scope.ALL),
        reason="leaving",
        requested_by=member,
        source=Source.WEB,
    )
    assert req.required_approvals == 2


def test_rejection_needs_a_reason_and_frees_the_runs(workspace, customer, member, approver):
    req = submitted_request(workspace, customer, member)
    with pytest.raises(RuleViolation, match="reason"):
        transitions.reject_request(req, actor=approver, source=Source.WEB, reason="  ")
    transitions.reject_request(req, actor=approver, source=Source.WEB, reason="Keep for audit")
    req.refresh_from_db()
    assert req.decision_comment == "Keep for audit"
    assert not ParseRun.objects.filter(open_request=req).exists()


def test_retry_puts_failed_items_back_and_keeps_their_runs_reserved(
    workspace, customer, member, approver
):
    req = submitted_request(workspace, customer, member, runs=2)
    force_status(req, RS.RUNNING)
    first, second = req.items.order_by("id")
    DeletionItem.objects.filter(pk=first.pk).update(status=DeletionItem.Status.IN_FLIGHT)
    DeletionItem.objects.filter(pk=second.pk).update(status=DeletionItem.Status.IN_FLIGHT)
    assert transitions.complete_item(first, DeletionItem.Status.DELETED, http_status=200)
    assert transitions.complete_item(second, DeletionItem.Status.FAILED, http_status=422)

    req = transitions.finish_request(req, actor=None, source=Source.WORKER)
    assert req.status == RS.COMPLETED_WITH_FAILURES
    # The failed run stays reserved by this request, so staff can retry it.
    assert list(ParseRun.objects.filter(open_request=req)) == [second.parse_run]

    req = transitions.retry_failed_items(req, actor=approver, source=Source.WEB)
    assert req.status == RS.RUNNING
    assert req.failed_count == 0
    second.refresh_from_db()
    assert second.status == DeletionItem.Status.PENDING


def test_finish_refuses_while_items_are_unfinished(workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=2)
    force_status(req, RS.RUNNING)
    with pytest.raises(TransitionError, match="unfinished"):
        transitions.finish_request(req, actor=None, source=Source.WORKER)


def test_an_item_outcome_is_recorded_once(workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=1)
    item = req.items.get()
    with pytest.raises(TransitionError):
        transitions.complete_item(item, DeletionItem.Status.PENDING, http_status=None)
    # Not in flight: nothing happens.
    assert not transitions.complete_item(item, DeletionItem.Status.DELETED, http_status=200)
    DeletionItem.objects.filter(pk=item.pk).update(status=DeletionItem.Status.IN_FLIGHT)
    assert transitions.complete_item(item, DeletionItem.Status.DELETED, http_status=200)
    assert not transitions.complete_item(item, DeletionItem.Status.DELETED, http_status=200)
    req.refresh_from_db()
    assert req.deleted_count == 1
    run = item.parse_run
    run.refresh_from_db()
    assert run.state == ParseRun.State.DELETED
    assert run.deleted_by_request == req
