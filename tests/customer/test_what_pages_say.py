"""The request pages say what is true: an estimate only while a request runs on a workspace that
can send, counting the organisation's queue ahead of it; otherwise why there is none; finished
requests with their duration and rate; the live poll re-renders every part that can change."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest, Organization, Source, Workspace
from deletions.reporting import progress as progress_module
from deletions.requests import transitions
from tests import drive
from tests.factories import WorkspaceFactory
from tests.helpers import force_status, submitted_request

RS = DeletionRequest.Status
IS = DeletionItem.Status
WH = Workspace.Health


def running(workspace, customer, requester, approver, *, runs, prefix, started_ago=0.0):
    """A request of *runs* runs, approved and started (its items due *started_ago* s ago)."""
    req = submitted_request(workspace, customer, requester, runs=runs, prefix=prefix)
    # Large requests need two approvers; the second is made up here.
    DeletionRequest.objects.filter(pk=req.pk).update(required_approvals=1)
    drive.approve(req, approver)
    drive.start(req)
    if started_ago:
        at = timezone.now() - timedelta(seconds=started_ago)
        DeletionRequest.objects.filter(pk=req.pk).update(started_at=at)
        DeletionItem.objects.filter(request=req, status=IS.PENDING).update(next_attempt_at=at)
        req.refresh_from_db()
    return req


def customer_progress(client, user, req):
    client.force_login(user)
    return client.get(reverse("customer:progress", args=[req.pk])).context["progress"]


def customer_page(client, user, req):
    client.force_login(user)
    return client.get(reverse("customer:request", args=[req.pk])).content.decode()


def console_page(client, user, req):
    client.force_login(user)
    return client.get(reverse("console:request_detail", args=[req.pk])).content.decode()


# --- No estimate before the request runs ---------------------------------------------------


def test_a_request_waiting_for_approval_shows_no_estimate(client, workspace, customer, member):
    req = submitted_request(workspace, customer, member, runs=3)
    p = customer_progress(client, member, req)
    assert p.eta_seconds is None
    assert p.eta_text == "Waiting for approval"
    page = customer_page(client, member, req)
    assert "Waiting for approval." in page
    assert " left" not in page.split('id="progress"')[1].split("</div>")[1]


def test_an_approved_request_in_its_cooling_off_window_says_when_it_starts_and_that_it_can_be_cancelled(  # noqa: E501
    client, workspace, customer, member, approver
):
    customer.cooling_off_hours = 24
    customer.save()
    req = drive.approve(submitted_request(workspace, customer, member, runs=3), approver)
    p = customer_progress(client, member, req)
    at = timezone.localtime(req.execute_after).strftime("%-d %b %Y, %H:%M")
    assert p.eta_seconds is None
    assert p.eta_text == (
        f"Starts after the cooling-off window, at {at}; you can still cancel until then"
    )
    assert "Cancel this request" in customer_page(client, member, req)


def test_an_approved_request_past_its_cooling_off_window_gives_no_estimate_yet(
    client, workspace, customer, member, approver
):
    req = drive.approve(submitted_request(workspace, customer, member, runs=3), approver)
    p = customer_progress(client, member, req)
    assert p.eta_seconds is None
    assert p.eta_text == "Approved; deletion is about to start"


# --- Estimates while running ---------------------------------------------------------------


def test_a_running_request_on_an_active_workspace_shows_an_estimate_at_the_write_limit(
    client, workspace, customer, member, approver
):
    workspace.rate_limit = 2
    workspace.save()
    req = running(workspace, customer, member, approver, runs=600, prefix="a_")
    p = customer_progress(client, member, req)
    assert p.rate_per_second == 2.0
    assert p.eta_seconds == pytest.approx(600 / (2 * 0.97))
    assert p.eta_text == "about 5 minutes left"


def test_five_runs_behind_three_thousand_at_ten_a_second_take_about_five_minutes(
    client, customer, member, approver, other_customer, outsider
):
    org = Organization.objects.create(name="Operator org", write_rate_limit=10)
    mine = WorkspaceFactory(organization=org, rate_limit=1000)
    theirs = WorkspaceFactory(organization=org)
    running(theirs, other_customer, outsider, approver, runs=3000, prefix="t_", started_ago=60)
    req = running(mine, customer, member, approver, runs=5, prefix="m_")

    p = customer_progress(client, member, req)
    assert p.ahead == 3000
    assert p.rate_per_second == 10.0  # the organisation's, not the workspace's 1000/s
    assert p.eta_text == "about 5 minutes left; other requests are ahead in the queue"
    assert "less than 2 minutes" not in p.eta_text
    # Customers are not told how much work other customers have; staff are.
    assert "3,000" not in customer_page(client, member, req)
    assert "3,000 items of other requests go first" in console_page(client, approver, req)


def test_the_queue_ahead_is_the_same_workspace_when_it_has_no_organisation(
    client, workspace, customer, member, approver, other_customer, outsider
):
    elsewhere = WorkspaceFactory()
    running(workspace, other_customer, outsider, approver, runs=50, prefix="o_", started_ago=60)
    running(elsewhere, other_customer, outsider, approver, runs=70, prefix="e_", started_ago=60)
    req = running(workspace, customer, member, approver, runs=5, prefix="m_")
    assert customer_progress(client, member, req).ahead == 50


def test_work_due_after_the_request_started_or_of_stopped_requests_is_not_ahead(
    client, workspace, customer, member, approver, other_customer, outsider
):
    req = running(workspace, customer, member, approver, runs=5, prefix="m_", started_ago=60)
    running(workspace, other_customer, outsider, approver, runs=40, prefix="later_")
    paused = running(
        workspace, other_customer, outsider, approver, runs=30, prefix="p_", started_ago=120
    )
    transitions.pause_request(paused, actor=approver, source=Source.SYSTEM)
    assert customer_progress(client, member, req).ahead == 0


# --- Why there is no estimate --------------------------------------------------------------


def test_a_request_on_a_workspace_paused_by_staff_says_paused_by_the_operator(
    client, workspace, customer, member, approver
):
    req = running(workspace, customer, member, approver, runs=3, prefix="a_")
    Workspace.objects.filter(pk=workspace.pk).update(health=WH.PAUSED, health_reason="upgrade")
    p = customer_progress(client, member, req)
    assert p.eta_seconds is None
    assert p.eta_text == "Paused by the operator; staff are notified"
    assert "upgrade" not in customer_page(client, member, req)
    assert f"Workspace {workspace.name} is paused by staff: upgrade" in console_page(
        client, approver, req
    )


@pytest.mark.parametrize(
    "health",
    [
        WH.CREDENTIALS_INVALID,
        WH.PAYMENT_REQUIRED,
        WH.FORBIDDEN,
        WH.NOT_FOUND_BURST,
        WH.UNEXPECTED_ANSWERS,
    ],
)
def test_a_request_on_a_stopped_workspace_says_deletion_waits_for_the_connection_to_be_fixed(
    health, client, workspace, customer, member, approver
):
    req = running(workspace, customer, member, approver, runs=3, prefix="a_")
    Workspace.objects.filter(pk=workspace.pk).update(health=health, health_reason="Extend said no")
    p = customer_progress(client, member, req)
    assert p.eta_seconds is None
    assert p.eta_text == (
        "Deletion is stopped until the operator fixes the connection to Extend; staff are notified"
    )
    page = customer_page(client, member, req)
    assert "Extend said no" not in page
    label = dict(WH.choices)[health].lower()
    staff = console_page(client, approver, req)
    assert f"Stopped: workspace {workspace.name} is {label}: Extend said no" in staff


def test_a_request_whose_workspace_breaker_is_open_says_extend_is_unavailable_until_the_next_try(
    client, workspace, customer, member, approver
):
    req = running(workspace, customer, member, approver, runs=3, prefix="a_")
    until = timezone.now() + timedelta(minutes=3)
    Workspace.objects.filter(pk=workspace.pk).update(breaker_open_until=until, breaker_failures=7)
    p = customer_progress(client, member, req)
    assert p.eta_seconds is None
    assert p.eta_text == f"Extend is unavailable; next try at {timezone.localtime(until):%H:%M}"
    assert "circuit breaker is open after 7 failures in a row" in console_page(
        client, approver, req
    )


def test_a_closed_breaker_gives_the_estimate_back(client, workspace, customer, member, approver):
    req = running(workspace, customer, member, approver, runs=3, prefix="a_")
    past = timezone.now() - timedelta(seconds=1)
    Workspace.objects.filter(pk=workspace.pk).update(breaker_open_until=past)
    assert customer_progress(client, member, req).eta_seconds is not None


def test_a_paused_request_says_paused_by_the_operator(
    client, workspace, customer, member, approver
):
    req = running(workspace, customer, member, approver, runs=3, prefix="a_")
    transitions.pause_request(req, actor=approver, source=Source.SYSTEM)
    p = customer_progress(client, member, req)
    assert (p.eta_seconds, p.eta_text) == (None, "Paused by the operator")


# --- Finished ------------------------------------------------------------------------------


def test_a_finished_request_shows_its_duration_and_rate_and_no_estimate(
    client, workspace, customer, member, approver
):
    req = drive.run_to_the_end(submitted_request(workspace, customer, member, runs=6), approver)
    start = timezone.now() - timedelta(minutes=2)
    DeletionRequest.objects.filter(pk=req.pk).update(
        started_at=start, finished_at=start + timedelta(seconds=3)
    )
    p = customer_progress(client, member, req)
    assert p.eta_seconds is None
    assert p.duration_seconds == 3.0
    assert p.rate_per_second == 2.0
    assert p.eta_text == "Finished in 3 s at 2.0 runs a second"
    page = customer_page(client, member, req)
    assert "Finished in 3 s at 2.0 runs a second." in page
    assert " left" not in page.split('id="progress"')[1].split("</dl>")[0]
    assert "Finished in 3 s at 2.0 runs a second." in console_page(client, approver, req)


@pytest.mark.parametrize("status", [RS.REJECTED, RS.CANCELLED, RS.EXPIRED])
def test_a_request_that_ended_undone_says_nothing_will_be_deleted(
    status, client, workspace, customer, member
):
    req = force_status(submitted_request(workspace, customer, member, runs=2), status)
    p = customer_progress(client, member, req)
    assert p.eta_seconds is None
    assert p.eta_text.endswith("nothing will be deleted")
    assert "deleted.." not in customer_page(client, member, req)


# --- Queries -------------------------------------------------------------------------------


def test_the_estimate_costs_as_many_queries_with_a_long_queue_as_with_a_short_one(
    client, workspace, customer, member, approver, other_customer, outsider
):
    req = running(workspace, customer, member, approver, runs=5, prefix="m_")
    client.force_login(member)
    url = reverse("customer:progress", args=[req.pk])
    client.get(url)
    with CaptureQueriesContext(connection) as few:
        client.get(url)
    running(workspace, other_customer, outsider, approver, runs=300, prefix="o_", started_ago=60)
    with CaptureQueriesContext(connection) as many:
        assert client.get(url).context["progress"].ahead == 300
    assert len(many) == len(few)


# --- Live updates --------------------------------------------------------------------------


def test_the_live_poll_replaces_the_banner_approvals_and_actions(
    client, workspace, customer, member, approver
):
    req = submitted_request(workspace, customer, member, runs=3)
    client.force_login(member)
    url = reverse("customer:progress", args=[req.pk])
    before = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Waiting for the operator's approval" in before
    assert "No decision yet." in before
    assert 'id="request-banner" hx-swap-oob="true"' in before
    assert 'id="approvals" hx-swap-oob="true"' in before

    drive.approve(req, approver)
    drive.start(req)
    after = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "Waiting for the operator" not in after
    assert "No decision yet." not in after
    assert "anna" in after
    assert 'id="cancel-slot" hx-swap-oob="true"></span>' in after  # no cancel once running


def test_the_approvals_panel_never_says_no_decision_yet_once_the_request_has_ended(
    client, workspace, customer, member
):
    req = submitted_request(workspace, customer, member, runs=1)
    transitions.cancel_request(req, actor=member, source=Source.WEB)
    page = customer_page(client, member, req)
    assert "No decision yet." not in page
    assert "No decision was recorded." in page


def test_another_customers_user_cannot_poll_the_request(
    client, workspace, customer, member, outsider
):
    req = submitted_request(workspace, customer, member, runs=1)
    client.force_login(outsider)
    assert client.get(reverse("customer:progress", args=[req.pk])).status_code == 404


def test_measured_durations_are_said_plainly():
    assert progress_module.elapsed_text(3) == "3 s"
    assert progress_module.elapsed_text(249) == "4 min 09 s"
    assert progress_module.elapsed_text(7500) == "2 h 05 min"
