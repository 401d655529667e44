"""Asking for deletion: selection by ids or by filter, the review page, and submission."""

from __future__ import annotations

from django.core import mail
from django.urls import reverse

from deletions.models import AuditEvent, DeletionRequest, ParseRun
from tests.factories import make_runs
from tests.helpers import submitted_request

URL = reverse("customer:new_request")


def _submit(client, follow=False, **data):
    return client.post(URL, {"step": "submit", "reason": "contract ended", **data}, follow=follow)


def test_get_has_nothing_to_review_and_goes_back_to_the_runs(client, member):
    client.force_login(member)
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"] == reverse("customer:runs")


def test_it_refuses_staff_users(client, approver):
    client.force_login(approver)
    assert client.post(URL, {"run": ["pr_x"]}).status_code == 403


def test_the_review_page_shows_count_sample_and_warning(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 30)
    client.force_login(member)
    response = client.post(URL, {"run": ids[:12]})
    body = response.content.decode()
    assert response.status_code == 200
    assert response.context["count"] == 12
    assert len(response.context["sample"]) == 10
    assert "This cannot be undone." in body
    assert "Delete 12 parse runs?" in body
    # Small selections need no confirmation word.
    assert 'name="confirmation"' not in body
    # Nothing is created by the review.
    assert not DeletionRequest.objects.exists()


def test_nothing_selected_goes_back_with_a_message(client, workspace, customer, member):
    make_runs(workspace, customer, 3)
    client.force_login(member)
    response = client.post(URL, {}, follow=True)
    assert "Select at least one parse run first." in response.content.decode()


def test_submitting_explicit_ids_creates_the_request(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 5)
    client.force_login(member)
    response = _submit(client, run=ids[:3])
    req = DeletionRequest.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("customer:request", args=[req.pk])
    assert req.scope == DeletionRequest.Scope.EXPLICIT
    assert req.item_count == 3
    assert req.requested_by == member
    assert req.source == "web"
    assert req.reason == "contract ended"
    assert set(ParseRun.objects.filter(open_request=req).values_list("run_id", flat=True)) == set(
        ids[:3]
    )


def test_a_reason_is_required(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 2)
    client.force_login(member)
    response = client.post(URL, {"step": "submit", "reason": "  ", "run": ids})
    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert not DeletionRequest.objects.exists()


def test_a_gdpr_request_needs_and_keeps_the_subject_reference(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 2)
    client.force_login(member)
    response = _submit(client, run=ids, is_gdpr="on")
    assert "needs the data subject" in response.content.decode()
    assert not DeletionRequest.objects.exists()

    _submit(client, run=ids, is_gdpr="on", subject_ref="ticket-12345")
    req = DeletionRequest.objects.get()
    assert req.kind == DeletionRequest.Kind.GDPR
    assert req.subject_ref_hash
    assert req.subject_ref_hint.endswith("2345")
    assert req.due_on is not None


def test_everything_matching_a_filter_is_frozen_as_a_filter_request(
    client, workspace, customer, member
):
    ids = make_runs(workspace, customer, 30)
    client.force_login(member)
    review = client.post(URL, {"match_all": "1", "q": "invoice-0001"})
    assert review.context["count"] == 10
    _submit(client, match_all="1", q="invoice-0001")
    req = DeletionRequest.objects.get()
    assert req.scope == DeletionRequest.Scope.FILTER
    assert req.scope_filter == {"file_name_contains": "invoice-0001"}
    assert req.item_count == 10
    assert ParseRun.objects.filter(open_request=req, run_id__in=ids[10:20]).count() == 10


def test_everything_without_a_filter_is_scope_all_and_needs_the_word(
    client, workspace, customer, member
):
    make_runs(workspace, customer, 5)
    client.force_login(member)
    review = client.post(URL, {"match_all": "1"})
    assert review.context["needs_word"]
    assert 'name="confirmation"' in review.content.decode()

    refused = _submit(client, match_all="1", confirmation="delete")
    assert refused.context["form"].errors["confirmation"]
    assert not DeletionRequest.objects.exists()

    _submit(client, match_all="1", confirmation="DELETE")
    req = DeletionRequest.objects.get()
    assert req.scope == DeletionRequest.Scope.ALL
    assert req.required_approvals == 2


def test_more_than_100_runs_need_the_confirmation_word(client, workspace, customer, member):
    make_runs(workspace, customer, 101)
    client.force_login(member)
    refused = _submit(client, match_all="1", q="invoice")
    assert refused.status_code == 400
    assert "Type DELETE" in refused.content.decode()
    assert not DeletionRequest.objects.exists()
    _submit(client, match_all="1", q="invoice", confirmation="DELETE")
    assert DeletionRequest.objects.get().item_count == 101


def test_runs_already_in_an_open_request_are_left_out_and_said_so(
    client, workspace, customer, member
):
    other = submitted_request(workspace, customer, member, runs=2, prefix="busy_")
    busy = list(ParseRun.objects.filter(open_request=other).values_list("run_id", flat=True))
    free = make_runs(workspace, customer, 2, prefix="free_")
    client.force_login(member)
    review = client.post(URL, {"run": busy + free})
    assert review.context["count"] == 2
    assert review.context["left_out"] == 2
    assert "were left out" in review.content.decode()
    # The review carries only the runs that can still be deleted.
    assert sorted(review.context["selection"].run_ids) == sorted(free)


def test_it_shows_submission_errors_on_the_form(client, workspace, customer, member):
    ids = make_runs(workspace, customer, 1)
    client.force_login(member)
    response = client.post(URL, {"step": "submit", "reason": "x" * 6000, "run": ids})
    assert response.status_code == 400
    assert response.context["form"].errors
    assert not DeletionRequest.objects.exists()


def test_other_customers_runs_cannot_be_selected(client, workspace, other_customer, member):
    theirs = make_runs(workspace, other_customer, 2, prefix="theirs_")
    client.force_login(member)
    response = _submit(client, run=theirs, follow=True)
    assert not DeletionRequest.objects.exists()
    assert "None of the selected parse runs can be deleted" in response.content.decode()


def test_malformed_ids_are_refused_with_a_message(client, member):
    client.force_login(member)
    response = client.post(URL, {"run": ["bad id with spaces"]}, follow=True)
    assert "is not a valid parse-run id" in response.content.decode()


def test_submission_sends_the_submitted_email_after_commit(
    client, workspace, customer, member, django_capture_on_commit_callbacks
):
    ids = make_runs(workspace, customer, 2)
    client.force_login(member)
    with django_capture_on_commit_callbacks() as callbacks:
        _submit(client, run=ids)
    assert mail.outbox == []  # nothing before the commit
    for callback in callbacks:
        callback()
    req = DeletionRequest.objects.get()
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [member.email]
    assert f"#{req.pk}" in mail.outbox[0].subject
    assert AuditEvent.objects.filter(action="request.submitted", request=req).exists()


def test_a_selection_over_the_cap_is_refused_on_the_review_page_with_its_count(
    client, settings, workspace, customer, member
):
    make_runs(workspace, customer, 12)
    settings.MAX_RUNS_PER_REQUEST = 10
    client.force_login(member)
    review = client.post(URL, {"match_all": "1"})
    assert review.status_code == 400
    assert "This selection matches 12 parse runs; one request can hold at most 10." in (
        review.content.decode()
    )
    # Submitting anyway (a form kept open from before) is refused the same way.
    refused = _submit(client, match_all="1", confirmation="DELETE")
    assert refused.status_code == 400
    assert not DeletionRequest.objects.exists()
