"""The customer's requests: who sees which, detail, live progress, items, cancel, receipts."""

from __future__ import annotations

import csv
import io

from django.urls import reverse

from deletions.models import DeletionItem, DeletionRequest, ParseRun
from deletions.requests import transitions
from tests import drive
from tests.factories import customer_user
from tests.helpers import force_status, submitted_request

RS = DeletionRequest.Status


def test_members_see_only_their_own_requests(client, workspace, customer, member, req):
    colleague = customer_user(customer, username="bob")
    theirs = submitted_request(workspace, customer, colleague, runs=1, prefix="bob_")
    client.force_login(member)
    response = client.get(reverse("customer:requests"))
    assert [r.pk for r in response.context["page"].rows] == [req.pk]
    assert client.get(reverse("customer:request", args=[theirs.pk])).status_code == 404


def test_admins_see_all_of_the_customers_requests(
    client, workspace, customer, other_customer, member, customer_admin, outsider, req
):
    colleague = customer_user(customer, username="bob")
    theirs = submitted_request(workspace, customer, colleague, runs=1, prefix="bob_")
    foreign = submitted_request(workspace, other_customer, outsider, runs=1, prefix="o_")
    client.force_login(customer_admin)
    response = client.get(reverse("customer:requests"))
    assert {r.pk for r in response.context["page"].rows} == {req.pk, theirs.pk}
    assert client.get(reverse("customer:request", args=[theirs.pk])).status_code == 200
    assert client.get(reverse("customer:request", args=[foreign.pk])).status_code == 404


def test_the_list_filters_by_status_and_has_an_empty_state(client, member, req):
    client.force_login(member)
    response = client.get(reverse("customer:requests"), {"status": "completed"})
    assert response.context["page"].rows == []
    assert "No requests with this status." in response.content.decode()


def test_a_new_user_sees_how_to_start(client, member):
    client.force_login(member)
    body = client.get(reverse("customer:requests")).content.decode()
    assert "No deletion requests yet." in body


def test_the_requests_list_makes_a_constant_number_of_queries(
    client, workspace, customer, customer_admin, django_assert_max_num_queries
):
    for n in range(3):
        submitted_request(workspace, customer, customer_admin, runs=1, prefix=f"r{n}_")
    client.force_login(customer_admin)
    client.get(reverse("customer:requests"))
    with django_assert_max_num_queries(8):
        client.get(reverse("customer:requests"))


def test_the_detail_shows_status_approvals_and_polls_while_live(
    client, member, approver, second_approver, workspace, customer
):
    req = submitted_request(workspace, customer, member, runs=2)
    DeletionRequest.objects.filter(pk=req.pk).update(required_approvals=2)
    drive.approve(req, approver)
    client.force_login(member)
    url = reverse("customer:request", args=[req.pk])
    body = client.get(url).content.decode()
    assert "1 of 2 approvals so far" in body
    assert "anna" in body
    # Pending approval: the page checks now and then, so an open page notices the approval.
    assert 'hx-trigger="every 10s"' in body

    drive.approve(req, second_approver)
    body = client.get(url).content.decode()
    assert f'hx-get="/requests/{req.pk}/progress/"' in body
    assert 'hx-trigger="every 2s"' in body
    assert "htmx.min.js" in body


def test_the_progress_fragment_counts_items_and_stops_polling_when_finished(
    client, member, approver, workspace, customer
):
    req = submitted_request(workspace, customer, member, runs=10)
    drive.approve(req, approver)
    drive.start(req)
    drive.complete(req, 4)
    drive.complete(req, 1, "already_gone")
    drive.complete(req, 1, "failed")
    drive.set_in_flight(req, 2)
    client.force_login(member)
    url = reverse("customer:progress", args=[req.pk])
    response = client.get(url)
    progress = response.context["progress"]
    assert (progress.total, progress.deleted, progress.already_gone, progress.failed) == (
        10,
        4,
        1,
        1,
    )
    assert progress.in_flight == 2
    assert progress.pending == 2
    assert progress.percent == 60
    assert progress.eta_seconds is not None and progress.eta_seconds > 0
    assert "left" in progress.eta_text
    body = response.content.decode()
    assert "<html" not in body  # a fragment, not a page
    assert 'hx-trigger="every 2s"' in body

    drive.complete(req, 10)
    for item in DeletionItem.objects.filter(request=req, status="in_flight"):
        transitions.complete_item(item, "deleted", http_status=200)
    drive.finish(req)
    body = client.get(url).content.decode()
    assert "hx-trigger" not in body
    assert "Download receipt (CSV)" in body


def test_a_paused_request_gives_no_estimate(client, member, workspace, customer, req):
    force_status(req, RS.PAUSED)
    client.force_login(member)
    progress = client.get(reverse("customer:progress", args=[req.pk])).context["progress"]
    assert progress.eta_seconds is None
    assert "Paused" in progress.eta_text


def test_a_rejected_request_shows_the_reason(client, member, approver, req):
    transitions.reject_request(req, actor=approver, source="web", reason="Not your runs")
    client.force_login(member)
    body = client.get(reverse("customer:request", args=[req.pk])).content.decode()
    assert "Not your runs" in body
    assert "Nothing was deleted" in body


def test_items_are_paged_and_filtered_with_plain_errors(
    client, member, approver, workspace, customer
):
    req = submitted_request(workspace, customer, member, runs=60)
    drive.approve(req, approver)
    drive.start(req)
    drive.complete(req, 2, "failed")
    drive.complete(req, 58)
    client.force_login(member)
    url = reverse("customer:items", args=[req.pk])
    first = client.get(url)
    assert len(first.context["page"].rows) == 50
    second = client.get(url, {"after": first.context["page"].next_cursor})
    assert len(second.context["page"].rows) == 10
    failed = client.get(url, {"status": "failed"})
    assert len(failed.context["rows"]) == 2
    body = failed.content.decode()
    assert "Extend refused the deletion as invalid: Invalid parse run id format" in body


def test_cancel_asks_first_and_then_cancels(client, member, req):
    client.force_login(member)
    url = reverse("customer:cancel", args=[req.pk])
    page = client.get(url)
    assert f"Cancel request #{req.pk}?" in page.content.decode()
    assert "3 parse runs" in page.content.decode()
    req.refresh_from_db()
    assert req.status == RS.PENDING_APPROVAL  # GET changes nothing

    response = client.post(url, follow=True)
    req.refresh_from_db()
    assert req.status == RS.CANCELLED
    assert "was cancelled" in response.content.decode()
    assert not ParseRun.objects.filter(open_request=req).exists()


def test_a_running_request_cannot_be_cancelled(client, member, approver, req):
    drive.approve(req, approver)
    drive.start(req)
    client.force_login(member)
    url = reverse("customer:cancel", args=[req.pk])
    assert "can no longer be cancelled" in client.get(url).content.decode()
    response = client.post(url, follow=True)
    req.refresh_from_db()
    assert req.status == RS.RUNNING
    assert "cannot be cancelled now" in response.content.decode()
    detail = client.get(reverse("customer:request", args=[req.pk])).content.decode()
    assert "Cancel this request" not in detail


def test_the_receipt_exists_only_once_finished(client, member, req):
    client.force_login(member)
    assert client.get(reverse("customer:receipt", args=[req.pk])).status_code == 404
    assert client.get(reverse("customer:receipt_csv", args=[req.pk])).status_code == 404


def test_the_receipts_list_every_run_with_its_outcome(client, member, approver, req):
    req = drive.run_to_the_end(req, approver, failed=1)
    client.force_login(member)
    response = client.get(reverse("customer:receipt_csv", args=[req.pk]))
    assert response["Content-Type"] == "text/csv"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert len(rows) == 3
    assert {r["outcome"] for r in rows} == {"deleted", "failed"}
    assert all(r["request_id"] == str(req.pk) for r in rows)
    assert all(r["approved_by"] == "anna" for r in rows)
    assert all(r["customer"] == "Acme Health" for r in rows)
    deleted = [r for r in rows if r["outcome"] == "deleted"]
    assert all(r["confirmed_at"] and r["extend_request_id"].startswith("xreq_") for r in deleted)

    html = client.get(reverse("customer:receipt", args=[req.pk])).content.decode()
    assert "Deletion receipt" in html
    assert "anna" in html
    for run_id in ParseRun.objects.filter(deleted_by_request=req).values_list("run_id", flat=True):
        assert run_id in html


def test_the_csv_defuses_spreadsheet_formulas(client, member, approver, req):
    ParseRun.objects.filter(items__request=req).update(file_name="=HYPERLINK(1)")
    req = drive.run_to_the_end(req, approver)
    client.force_login(member)
    content = b"".join(client.get(reverse("customer:receipt_csv", args=[req.pk])).streaming_content)
    assert b"'=HYPERLINK(1)" in content
