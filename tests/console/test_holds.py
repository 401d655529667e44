"""The console's legal-hold pages: who may read and act, placing through the form with its
confirmation, lifting, the request page's held items and cooling-off countdown, the customer
setting."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deletions.models import AuditEvent, DeletionItem, DeletionRequest, LegalHold, Source
from deletions.requests import holds, transitions
from tests.helpers import HOLD_REASON as REASON
from tests.helpers import HOLD_REFERENCE as REFERENCE
from tests.helpers import submitted_request

IS = DeletionItem.Status
RS = DeletionRequest.Status


def _statuses(req):
    return sorted(req.items.values_list("status", flat=True))


def _place(client, **data):
    form = {"reason": REASON, "reference": REFERENCE, **data}
    return client.post(reverse("console:hold_new"), {**form, "confirmed": "yes"})


# --- Who may do what --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "approver", "staff_admin"])
def test_every_staff_role_reads_the_hold_list_and_detail(role, hold, client, request):
    client.force_login(request.getfixturevalue(role))
    listing = client.get(reverse("console:hold_list"))
    assert listing.status_code == 200
    assert REFERENCE in listing.content.decode()
    detail = client.get(reverse("console:hold_detail", args=[hold.pk]))
    assert detail.status_code == 200
    assert REASON in detail.content.decode()


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_non_admins_cannot_place_or_lift_a_hold(role, hold, client, request, customer):
    client.force_login(request.getfixturevalue(role))
    assert client.get(reverse("console:hold_new")).status_code == 403
    assert _place(client, scope="customer", customer=customer.pk).status_code == 403
    lift = reverse("console:hold_lift", args=[hold.pk])
    assert client.get(lift).status_code == 403
    assert client.post(lift, {"reason": "done"}).status_code == 403
    hold.refresh_from_db()
    assert hold.lifted_at is None
    assert LegalHold.objects.count() == 1


@pytest.mark.parametrize("role", ["viewer", "approver"])
def test_non_admins_see_the_actions_disabled_with_the_reason(role, hold, client, request):
    client.force_login(request.getfixturevalue(role))
    listing = client.get(reverse("console:hold_list")).content.decode()
    assert "Only a console admin can do this." in listing
    assert reverse("console:hold_new") not in listing
    detail = client.get(reverse("console:hold_detail", args=[hold.pk])).content.decode()
    assert "Only a console admin can do this." in detail
    assert reverse("console:hold_lift", args=[hold.pk]) not in detail


def test_an_admin_sees_the_action_links(hold, client, staff_admin):
    client.force_login(staff_admin)
    assert reverse("console:hold_new") in client.get(reverse("console:hold_list")).content.decode()
    detail = client.get(reverse("console:hold_detail", args=[hold.pk])).content.decode()
    assert reverse("console:hold_lift", args=[hold.pk]) in detail


@pytest.mark.parametrize("who", ["member", "customer_admin", "outsider"])
def test_customer_users_get_403_on_every_hold_page(who, hold, client, request):
    client.force_login(request.getfixturevalue(who))
    for url in (
        reverse("console:hold_list"),
        reverse("console:hold_new"),
        reverse("console:hold_detail", args=[hold.pk]),
        reverse("console:hold_lift", args=[hold.pk]),
    ):
        assert client.get(url).status_code == 403
        assert client.post(url).status_code == 403


def test_anonymous_visitors_are_sent_to_login_from_every_hold_page(hold, client):
    for url in (
        reverse("console:hold_list"),
        reverse("console:hold_new"),
        reverse("console:hold_detail", args=[hold.pk]),
        reverse("console:hold_lift", args=[hold.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_an_unknown_hold_answers_404(client, staff_admin, db):
    client.force_login(staff_admin)
    assert client.get(reverse("console:hold_detail", args=[99999])).status_code == 404
    assert client.get(reverse("console:hold_lift", args=[99999])).status_code == 404


def test_the_navigation_shows_holds_to_every_staff_role(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("console:dashboard")).content.decode()
    assert f'href="{reverse("console:hold_list")}"' in page


# --- Placing ------------------------------------------------------------------------------------


def test_the_confirmation_says_how_many_waiting_deletions_will_be_held(
    client, staff_admin, customer, workspace, member
):
    submitted_request(workspace, customer, member, runs=3, prefix="a_")
    submitted_request(workspace, customer, member, runs=2, prefix="b_")
    client.force_login(staff_admin)
    data = {"scope": "customer", "customer": customer.pk, "reason": REASON, "reference": "X-1"}
    response = client.post(reverse("console:hold_new"), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert "5 waiting deletions of 2 open requests will be held" in page
    assert "items already sent cannot be recalled" in page
    assert not LegalHold.objects.exists()  # nothing happens before the confirmation
    assert set(DeletionItem.objects.values_list("status", flat=True)) == {IS.PENDING}


def test_placing_a_customer_hold_through_the_form_holds_its_items_and_audits(
    client, staff_admin, customer, pending_request
):
    client.force_login(staff_admin)
    response = _place(client, scope="customer", customer=customer.pk, ends_on="")
    hold = LegalHold.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("console:hold_detail", args=[hold.pk])
    assert (hold.scope, hold.customer, hold.placed_by) == ("customer", customer, staff_admin)
    assert _statuses(pending_request) == [IS.HELD] * 3
    pending_request.refresh_from_db()
    assert pending_request.held_count == 3
    event = AuditEvent.objects.get(action="hold.placed")
    assert event.actor_id == staff_admin.pk
    detail = client.get(response["Location"]).content.decode()
    assert "3 items on hold now" in detail


def test_a_workspace_hold_holds_every_customers_waiting_items(
    client, staff_admin, workspace, customer, other_customer, member, outsider
):
    mine = submitted_request(workspace, customer, member, runs=2, prefix="m_")
    theirs = submitted_request(workspace, other_customer, outsider, runs=2, prefix="t_")
    client.force_login(staff_admin)
    _place(client, scope="workspace", workspace=workspace.pk)
    assert _statuses(mine) == [IS.HELD] * 2
    assert _statuses(theirs) == [IS.HELD] * 2


def test_a_hold_on_listed_runs_holds_only_those(client, staff_admin, workspace, pending_request):
    runs = [item.parse_run.run_id for item in pending_request.items.order_by("id")]
    client.force_login(staff_admin)
    response = _place(
        client, scope="runs", run_workspace=workspace.pk, run_ids=f"{runs[0]}\n{runs[2]}, "
    )
    assert response.status_code == 302
    hold = LegalHold.objects.get()
    assert sorted(hold.runs.values_list("run_id", flat=True)) == sorted([runs[0], runs[2]])
    held = pending_request.items.filter(status=IS.HELD).values_list("parse_run__run_id", flat=True)
    assert sorted(held) == sorted([runs[0], runs[2]])


def test_unknown_run_ids_are_refused_with_the_ids_named(
    client, staff_admin, workspace, pending_request
):
    known = pending_request.items.first().parse_run.run_id
    client.force_login(staff_admin)
    response = _place(
        client, scope="runs", run_workspace=workspace.pk, run_ids=f"{known}\nnope_1\nnope_2"
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "2 of these run ids are not in workspace" in page
    assert "nope_1, nope_2" in page
    assert not LegalHold.objects.exists()
    assert _statuses(pending_request) == [IS.PENDING] * 3


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"scope": "customer"}, "customer", "Choose the customer to hold."),
        ({"scope": "workspace"}, "workspace", "Choose the workspace to hold."),
        ({"scope": "runs", "run_ids": "a"}, "run_workspace", "Choose the workspace the runs"),
        ({"scope": "runs", "run_workspace": "ws"}, "run_ids", "Enter at least one parse run id."),
        (
            {"scope": "customer", "customer": "c", "reason": "  "},
            "reason",
            "This field is required.",
        ),
        ({"scope": "customer", "customer": "c", "reference": ""}, "reference", "required"),
        (
            {"scope": "customer", "customer": "c", "ends_on": "2020-01-01"},
            "ends_on",
            "The end date cannot be in the past.",
        ),
    ],
)
def test_the_form_explains_what_is_missing(
    data, field, message, client, staff_admin, customer, workspace
):
    values = {"reason": REASON, "reference": REFERENCE, **data}
    if values.get("customer") == "c":
        values["customer"] = customer.pk
    if values.get("run_workspace") == "ws":
        values["run_workspace"] = workspace.pk
    client.force_login(staff_admin)
    response = client.post(reverse("console:hold_new"), {**values, "confirmed": "yes"})
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(message in e for e in errors)
    assert not LegalHold.objects.exists()


def test_change_something_goes_back_to_the_filled_form(client, staff_admin, customer):
    client.force_login(staff_admin)
    data = {"scope": "customer", "customer": customer.pk, "reason": REASON, "reference": "R"}
    response = client.post(reverse("console:hold_new"), {**data, "edit": "1", "confirmed": "yes"})
    assert response.templates[0].name == "console/holds/form.html"
    assert response.context["form"]["reference"].value() == "R"
    assert not LegalHold.objects.exists()


def test_an_optional_end_date_is_kept(client, staff_admin, customer):
    ends = timezone.localdate() + timedelta(days=30)
    client.force_login(staff_admin)
    _place(client, scope="customer", customer=customer.pk, ends_on=ends.isoformat())
    assert LegalHold.objects.get().ends_on == ends


# --- Listing --------------------------------------------------------------------------------


def test_the_list_shows_active_holds_first_and_filters(client, viewer, staff_admin, customer):
    lifted = holds.place_hold(
        scope="customer", customer=customer, reason="old", reference="OLD-1",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    holds.lift_hold(lifted, actor=staff_admin, source=Source.WEB, reason="settled")
    active = holds.place_hold(
        scope="customer", customer=customer, reason="new", reference="NEW-1",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    LegalHold.objects.filter(pk=active.pk).update(placed_at=timezone.now() - timedelta(days=9))
    client.force_login(viewer)
    listed = client.get(reverse("console:hold_list")).context["page"].objects
    assert [h.pk for h in listed] == [active.pk, lifted.pk]
    only_active = client.get(reverse("console:hold_list"), {"state": "active"})
    assert [h.pk for h in only_active.context["page"].objects] == [active.pk]
    only_lifted = client.get(reverse("console:hold_list"), {"state": "lifted"})
    assert [h.pk for h in only_lifted.context["page"].objects] == [lifted.pk]


def test_the_list_shows_target_reference_placer_and_held_items(client, viewer, hold, customer):
    client.force_login(viewer)
    response = client.get(reverse("console:hold_list"))
    page = response.content.decode()
    assert customer.name in page and REFERENCE in page
    assert hold.placed_by.username in page
    row = response.context["page"].objects[0]
    assert row.held_items == 3


def test_the_list_has_an_empty_state(client, viewer, db):
    client.force_login(viewer)
    assert (
        "No legal hold has been placed yet"
        in client.get(reverse("console:hold_list")).content.decode()
    )


def test_the_list_counts_held_items_in_a_fixed_number_of_queries(
    client, viewer, staff_admin, workspace, customer, other_customer, member, outsider
):
    def listing_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("console:hold_list")).status_code == 200
        return len(ctx.captured_queries)

    submitted_request(workspace, customer, member, runs=2, prefix="a_")
    holds.place_hold(
        scope="customer", customer=customer, reason="r", reference="A",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    client.force_login(viewer)
    first = listing_queries()
    submitted_request(workspace, other_customer, outsider, runs=2, prefix="b_")
    holds.place_hold(
        scope="customer", customer=other_customer, reason="r", reference="B",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    holds.place_hold(
        scope="workspace", workspace=workspace, reason="r", reference="C",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    holds.place_hold(
        scope="runs", runs=list(customer.parse_runs.all()[:1]), reason="r", reference="D",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    assert listing_queries() <= first + 3  # one per scope, however many holds


# --- Lifting ------------------------------------------------------------------------------------


def test_the_lift_page_says_how_many_items_resume(client, staff_admin, hold):
    client.force_login(staff_admin)
    page = client.get(reverse("console:hold_lift", args=[hold.pk])).content.decode()
    assert "3 held items of 1 request will resume" in page
    hold.refresh_from_db()
    assert hold.lifted_at is None  # GET changes nothing


def test_the_lift_page_counts_items_another_hold_keeps(
    client, staff_admin, hold, workspace, pending_request
):
    holds.place_hold(
        scope="workspace", workspace=workspace, reason="r", reference="WS",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    client.force_login(staff_admin)
    page = client.get(reverse("console:hold_lift", args=[hold.pk])).content.decode()
    assert "0 held items of 0 requests will resume" in page
    assert "3 items stay held by another active hold" in page


def test_lifting_releases_the_items_and_is_audited(client, staff_admin, hold, pending_request):
    client.force_login(staff_admin)
    response = client.post(reverse("console:hold_lift", args=[hold.pk]), {"reason": "Settled"})
    assert response.status_code == 302
    hold.refresh_from_db()
    assert hold.lifted_at is not None and hold.lifted_by == staff_admin
    assert hold.lift_reason == "Settled"
    assert _statuses(pending_request) == [IS.PENDING] * 3
    event = AuditEvent.objects.get(action="hold.lifted")
    assert event.actor_id == staff_admin.pk
    assert event.detail["reason"] == "Settled"
    follow = client.get(response["Location"]).content.decode()
    assert "3 items resume" in follow


def test_lifting_needs_a_reason(client, staff_admin, hold, pending_request):
    client.force_login(staff_admin)
    response = client.post(reverse("console:hold_lift", args=[hold.pk]), {"reason": " "})
    assert response.status_code == 200
    assert response.context["form"].errors["reason"]
    hold.refresh_from_db()
    assert hold.lifted_at is None
    assert _statuses(pending_request) == [IS.HELD] * 3


def test_a_lifted_hold_cannot_be_lifted_again(client, staff_admin, hold):
    holds.lift_hold(hold, actor=staff_admin, source=Source.WEB, reason="done")
    client.force_login(staff_admin)
    page = client.get(reverse("console:hold_lift", args=[hold.pk])).content.decode()
    assert "no longer active" in page
    client.post(reverse("console:hold_lift", args=[hold.pk]), {"reason": "again"})
    assert AuditEvent.objects.filter(action="hold.lifted").count() == 1
    detail = client.get(reverse("console:hold_detail", args=[hold.pk])).content.decode()
    assert "Lifted" in detail and "done" in detail


# --- The request page -------------------------------------------------------------------------


def test_the_request_page_shows_held_items_with_the_holds_reason_and_reference(
    client, viewer, hold, pending_request
):
    client.force_login(viewer)
    response = client.get(reverse("console:request_detail", args=[pending_request.pk]))
    page = response.content.decode()
    assert 'id="held-count">3<' in page
    assert page.count(REFERENCE) == 3  # one per held item
    assert REASON in page
    assert "nothing else to do until the hold is lifted" in page
    assert "All items are done" not in page


def test_the_request_page_looks_up_holds_in_a_fixed_number_of_queries(
    client, viewer, staff_admin, workspace, customer, member
):
    def detail_queries(req):
        with CaptureQueriesContext(connection) as ctx:
            client.get(reverse("console:request_detail", args=[req.pk]))
        return len(ctx.captured_queries)

    small = submitted_request(workspace, customer, member, runs=2, prefix="s_")
    big = submitted_request(workspace, customer, member, runs=20, prefix="b_")
    holds.place_hold(
        scope="runs", runs=[i.parse_run for i in small.items.all()] + [
            i.parse_run for i in big.items.all()], reason="r", reference="RUNS",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    holds.place_hold(
        scope="customer", customer=customer, reason="r", reference="CUST",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    client.force_login(viewer)
    detail_queries(small)  # warm caches (content types, sessions)
    assert detail_queries(big) == detail_queries(small)


def test_the_request_page_shows_the_cooling_off_countdown(
    client, viewer, approver, customer, pending_request
):
    customer.cooling_off_hours = 24
    customer.save()
    transitions.approve_request(pending_request, actor=approver, source=Source.WEB)
    pending_request.refresh_from_db()
    client.force_login(viewer)
    response = client.get(reverse("console:request_detail", args=[pending_request.pk]))
    page = response.content.decode()
    until = timezone.localtime(pending_request.execute_after)
    assert "waiting for the customer's 24-hour cooling-off window" in page
    assert f'data-until="{until.isoformat()}"' in page
    assert "23 h 59 min" in page or "24 h 0 min" in page
    assert f"(at {until:%Y-%m-%d %H:%M})" in page
    assert "can still be cancelled" in page
    assert "js/countdown" in page


def test_no_countdown_once_the_window_has_passed(client, viewer, approver, pending_request):
    transitions.approve_request(pending_request, actor=approver, source=Source.WEB)
    client.force_login(viewer)
    page = client.get(reverse("console:request_detail", args=[pending_request.pk])).content
    assert b"data-until" not in page


# --- Customer setting ----------------------------------------------------------------------------


def test_an_admin_sets_the_customers_cooling_off_window(client, staff_admin, customer):
    client.force_login(staff_admin)
    url = reverse("console:customer_edit", args=[customer.pk])
    form = client.get(url)
    assert "Cooling-off window (hours)" in form.content.decode()
    data = {
        "name": customer.name,
        "external_ref": customer.external_ref,
        "slug": customer.slug,
        "is_active": "on",
        "cooling_off_hours": "48",
    }
    assert client.post(url, data).status_code == 302
    customer.refresh_from_db()
    assert customer.cooling_off_hours == 48
    event = AuditEvent.objects.get(action="customer.updated")
    assert event.after == {"cooling_off_hours": "48"}


@pytest.mark.parametrize("hours", ["-1", "169", "many"])
def test_the_cooling_off_window_must_be_0_to_168_hours(hours, client, staff_admin, customer):
    client.force_login(staff_admin)
    data = {
        "name": customer.name,
        "external_ref": customer.external_ref,
        "slug": customer.slug,
        "is_active": "on",
        "cooling_off_hours": hours,
    }
    response = client.post(reverse("console:customer_edit", args=[customer.pk]), data)
    assert response.status_code == 200
    assert response.context["form"].errors["cooling_off_hours"]
    customer.refresh_from_db()
    assert customer.cooling_off_hours == 0


def test_the_form_can_start_from_a_customer(client, staff_admin, customer):
    client.force_login(staff_admin)
    response = client.get(reverse("console:hold_new"), {"customer": customer.pk})
    form = response.context["form"]
    assert (form["scope"].value(), form["customer"].value()) == ("customer", customer.pk)


def test_a_hold_on_listed_runs_shows_its_runs(client, viewer, staff_admin, pending_request):
    runs = [item.parse_run for item in pending_request.items.order_by("id")[:2]]
    hold = holds.place_hold(
        scope="runs", runs=runs, reason="r", reference="RUNS-1",
        actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    client.force_login(viewer)
    page = client.get(reverse("console:hold_detail", args=[hold.pk])).content.decode()
    assert "2 listed runs" in page
    for run in runs:
        assert run.run_id in page
    listing = client.get(reverse("console:hold_list")).content.decode()
    assert "2 listed runs" in listing


def test_a_hold_past_its_end_date_is_listed_as_ended(client, viewer, hold):
    LegalHold.objects.filter(pk=hold.pk).update(ends_on=timezone.localdate() - timedelta(days=1))
    client.force_login(viewer)
    ended = client.get(reverse("console:hold_list"), {"state": "lifted"})
    assert [h.pk for h in ended.context["page"].objects] == [hold.pk]
    assert "Ended" in ended.content.decode()
    assert not client.get(reverse("console:hold_list"), {"state": "active"}).context["page"].objects
