"""Whether a new request erases its runs' uploaded files: GDPR requests always, requests for all
runs unless the requester says no, others as the requester says or the customer's default."""

from __future__ import annotations

import pytest

from deletions.models import AuditEvent, DeletionRequest, Source
from deletions.requests import transitions
from deletions.requests.submission import RunFilter, Selection, submit_request
from tests.factories import make_runs

Scope = DeletionRequest.Scope
Kind = DeletionRequest.Kind

pytestmark = pytest.mark.django_db


def _submit(customer, user, selection, **kwargs):
    return submit_request(
        customer=customer,
        selection=selection,
        reason="asked by the customer",
        requested_by=user,
        source=Source.WEB,
        **kwargs,
    )


def _explicit(workspace, customer, prefix="pr_"):
    return Selection(scope=Scope.EXPLICIT, run_ids=make_runs(workspace, customer, 2, prefix=prefix))


def test_selected_runs_follow_the_customers_default_unless_told(workspace, customer, member):
    assert not _submit(customer, member, _explicit(workspace, customer, "a_")).erase_files
    customer.erase_files_default = True
    customer.save()
    assert _submit(customer, member, _explicit(workspace, customer, "b_")).erase_files
    told = _submit(customer, member, _explicit(workspace, customer, "c_"), erase_files=False)
    assert not told.erase_files


def test_filtered_runs_follow_the_customers_default_too(workspace, customer, member):
    make_runs(workspace, customer, 3)
    customer.erase_files_default = True
    customer.save()
    selection = Selection(scope=Scope.FILTER, run_filter=RunFilter(file_name_contains="invoice"))
    assert _submit(customer, member, selection).erase_files


def test_a_request_for_all_runs_erases_files_unless_the_requester_unticks_it(
    workspace, customer, member
):
    make_runs(workspace, customer, 2)
    assert not customer.erase_files_default
    everything = _submit(customer, member, Selection(scope=Scope.ALL))
    assert everything.erase_files
    transitions.cancel_request(everything, actor=member, source=Source.WEB)  # frees the runs
    kept = _submit(customer, member, Selection(scope=Scope.ALL), erase_files=False)
    assert not kept.erase_files


def test_a_gdpr_request_erases_files_whatever_is_asked(workspace, customer, member):
    req = _submit(
        customer,
        member,
        _explicit(workspace, customer),
        kind=Kind.GDPR,
        subject_ref="ticket-1",
        erase_files=False,
    )
    assert req.erase_files


def test_the_choice_is_in_the_submission_audit_record(workspace, customer, member):
    req = _submit(customer, member, _explicit(workspace, customer), erase_files=True)
    event = AuditEvent.objects.get(action="request.submitted", request=req)
    assert event.detail["erase_files"] is True
    assert DeletionRequest.objects.get(pk=req.pk).erase_files
