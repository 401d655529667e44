"""Freezing a selection into a request: in bulk, without overlaps, only the customer's own runs."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deletions.core.errors import SubmissionError
from deletions.models import AuditEvent, DeletionItem, DeletionRequest, ParseRun, Source
from deletions.requests.submission import RunFilter, Selection, submit_request
from tests.factories import make_runs

Scope = DeletionRequest.Scope


def _submit(customer, user, selection, **kwargs):
    return submit_request(
        customer=customer,
        selection=selection,
        reason=kwargs.pop("reason", "asked by the customer"),
        requested_by=user,
        source=Source.WEB,
        **kwargs,
    )


@pytest.mark.slow
def test_100000_runs_are_frozen_in_a_small_bounded_number_of_queries(workspace, customer, member):
    ids = make_runs(workspace, customer, 100_000, batch_size=10_000)

    with CaptureQueriesContext(connection) as queries:
        req = _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=ids))

    # 20 chunked UPDATEs (5,000 ids each), one INSERT ... SELECT, a few bookkeeping statements.
    assert len(queries) <= 35, [q["sql"][:80] for q in queries]
    assert req.item_count == 100_000
    assert DeletionItem.objects.filter(request=req).count() == 100_000
    assert ParseRun.objects.filter(open_request=req).count() == 100_000
    assert req.required_approvals == 2


def test_scope_all_takes_the_customers_present_runs_in_constant_queries(
    workspace, customer, other_customer, member
):
    make_runs(workspace, customer, 500)
    make_runs(workspace, other_customer, 50)
    with CaptureQueriesContext(connection) as queries:
        req = _submit(customer, member, Selection(scope=Scope.ALL))
    assert len(queries) <= 12
    assert req.item_count == 500
    assert not DeletionItem.objects.filter(request=req).exclude(parse_run__customer=customer)


def test_filter_scope_is_frozen_with_its_description(workspace, customer, member):
    make_runs(workspace, customer, 10)
    req = _submit(
        customer,
        member,
        Selection(scope=Scope.FILTER, run_filter=RunFilter(file_name_contains="invoice-0000")),
    )
    assert req.item_count == 10
    assert req.scope_filter == {"file_name_contains": "invoice-0000"}
    # Runs arriving later are not part of it.
    make_runs(workspace, customer, 5, start=100)
    req.refresh_from_db()
    assert req.items.count() == 10


def test_a_run_in_an_open_request_is_refused_naming_that_request(workspace, customer, member):
    ids = make_runs(workspace, customer, 3)
    first = _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=ids[:2]))
    requests_before = DeletionRequest.objects.count()
    audits_before = AuditEvent.objects.count()

    with pytest.raises(SubmissionError, match=f"already in open request #{first.pk}"):
        _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=ids[1:]))

    # Nothing half-created.
    assert DeletionRequest.objects.count() == requests_before
    assert AuditEvent.objects.count() == audits_before
    assert ParseRun.objects.get(run_id=ids[2]).open_request is None


def test_scope_all_leaves_runs_of_other_open_requests_alone(workspace, customer, member):
    ids = make_runs(workspace, customer, 5)
    first = _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=ids[:2]))
    second = _submit(customer, member, Selection(scope=Scope.ALL))
    assert second.item_count == 3
    assert AuditEvent.objects.get(request=second).detail["skipped_in_other_requests"] == 2
    assert ParseRun.objects.filter(open_request=first).count() == 2


def test_a_run_of_another_customer_cannot_be_requested(workspace, customer, other_customer, member):
    foreign = make_runs(workspace, other_customer, 1, prefix="foreign_")
    mine = make_runs(workspace, customer, 1)
    with pytest.raises(SubmissionError, match="Not among your parse runs: foreign_"):
        _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=mine + foreign))
    assert not DeletionRequest.objects.exists()
    assert ParseRun.objects.filter(open_request__isnull=False).count() == 0


def test_duplicates_and_blanks_are_ignored(workspace, customer, member):
    ids = make_runs(workspace, customer, 2)
    req = _submit(
        customer,
        member,
        Selection(scope=Scope.EXPLICIT, run_ids=[ids[0], f" {ids[0]} ", "", ids[1], ids[1]]),
    )
    assert req.item_count == 2


@pytest.mark.parametrize(
    "bad_id",
    ["x" * 256, "pr_with space", "pr_\x00nul", "pr_\nnewline"],
)
def test_malformed_ids_are_refused(workspace, customer, member, bad_id):
    make_runs(workspace, customer, 1)
    with pytest.raises(SubmissionError, match="not a valid parse-run id"):
        _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=[bad_id]))
    assert not DeletionRequest.objects.exists()


def test_too_many_ids_are_refused_before_touching_the_database(settings, customer, member):
    settings.MAX_RUNS_PER_REQUEST = 10
    with pytest.raises(SubmissionError, match="at most 10"):
        _submit(
            customer,
            member,
            Selection(scope=Scope.EXPLICIT, run_ids=[f"pr_{i}" for i in range(11)]),
        )


@pytest.mark.parametrize(
    "selection",
    [
        Selection(scope=Scope.ALL),
        Selection(scope=Scope.FILTER, run_filter=RunFilter(file_name_contains="invoice")),
    ],
    ids=["all", "filter"],
)
def test_the_cap_applies_to_all_and_filter_scopes_and_names_the_count(
    settings, workspace, customer, member, selection
):
    make_runs(workspace, customer, 11)
    settings.MAX_RUNS_PER_REQUEST = 10
    with pytest.raises(SubmissionError, match=r"matches 11 parse runs; .* at most 10"):
        _submit(customer, member, selection)
    # Nothing half-done: no request, no item, and every run is free again.
    assert not DeletionRequest.objects.exists()
    assert not DeletionItem.objects.exists()
    assert not ParseRun.objects.filter(open_request__isnull=False).exists()
    settings.MAX_RUNS_PER_REQUEST = 11
    assert _submit(customer, member, selection).item_count == 11


def test_a_reason_is_required_and_bounded(workspace, customer, member):
    ids = make_runs(workspace, customer, 1)
    with pytest.raises(SubmissionError, match="reason"):
        _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=ids), reason="   ")
    with pytest.raises(SubmissionError, match="too long"):
        _submit(customer, member, Selection(scope=Scope.EXPLICIT, run_ids=ids), reason="é" * 5001)


def test_nothing_to_delete_is_an_error(customer, member):
    with pytest.raises(SubmissionError, match="Nothing to delete"):
        _submit(customer, member, Selection(scope=Scope.ALL))
    assert not DeletionRequest.objects.exists()


def test_gdpr_requests_get_a_due_date_and_a_pseudonymised_subject(workspace, customer, member):
    ids = make_runs(workspace, customer, 1)
    from datetime import date

    req = _submit(
        customer,
        member,
        Selection(scope=Scope.EXPLICIT, run_ids=ids),
        kind=DeletionRequest.Kind.GDPR,
        subject_ref="patient-0042@example.org",
        received_on=date(2026, 1, 31),
    )
    assert req.due_on == date(2026, 2, 28)
    assert "patient-0042" not in req.subject_ref_hash
    assert req.subject_ref_hint == "••••.org"
