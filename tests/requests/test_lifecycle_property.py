"""Any sequence of transitions, legal or not, keeps a request on DESIGN.md's lifecycle."""

from __future__ import annotations

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from deletions.core.errors import TransitionError
from deletions.models import AuditEvent, DeletionRequest, Source
from deletions.requests import transitions
from tests.helpers import force_status, submitted_request
from tests.requests.test_transitions import _call

RS = DeletionRequest.Status
NAMES = sorted(transitions.REQUEST_TRANSITIONS)
START_STATES = [RS.AWAITING_VERIFICATION, RS.PENDING_APPROVAL]


class _Rollback(Exception):
    """Undo one example's database work."""


def _expected(name: str, status: str) -> str | None:
    """The status *name* leads to from *status* (every item is done), or None if illegal."""
    starts, ends = transitions.REQUEST_TRANSITIONS[name]
    if status not in starts or name == "reopen":  # nothing left to reopen for
        return None
    return RS.COMPLETED if name == "finish" else next(iter(ends))


@pytest.mark.django_db
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(start=st.sampled_from(START_STATES), steps=st.lists(st.sampled_from(NAMES), max_size=10))
def test_any_sequence_of_transitions_follows_the_lifecycle(
    start, steps, workspace, customer, member, approver
):
    try:
        with transaction.atomic():
            req = submitted_request(workspace, customer, member, runs=2)
            force_status(req, start, deleted_count=req.item_count)
            status, moves = start, 0
            for name in steps:
                expected = _expected(name, status)
                if expected is None:
                    with pytest.raises(TransitionError):
                        _call(name, req, approver)
                else:
                    assert _call(name, req, approver).status == expected
                    status, moves = expected, moves + 1
                req.refresh_from_db()
                assert req.status == status
            recorded = AuditEvent.objects.filter(request=req, action__startswith="request.")
            assert (
                recorded.exclude(action__in=["request.submitted", "request.approval_given"]).count()
                == moves
            )
            raise _Rollback
    except _Rollback:
        pass


def test_sources_are_recorded_for_the_system(workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=1)
    force_status(req, RS.APPROVED)
    transitions.start_request(req, actor=None, source=Source.SYSTEM)
    event = AuditEvent.objects.get(request=req, action="request.running")
    assert (event.actor_id, event.actor_label, event.source) == (None, "system", "system")
