"""What customers see of legal holds (a neutral notice, never the reason or reference) and of
the cooling-off window (a live countdown, and they can still cancel)."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils import timezone

from deletions.models import DeletionItem, DeletionRequest, LegalHold, Source
from deletions.requests import holds, transitions

IS = DeletionItem.Status
RS = DeletionRequest.Status
REASON = "Regulator inquiry into Acme billing, keep everything"
REFERENCE = "REG-SECRET-77"
NOTICE = "Retained for legal reasons"


@pytest.fixture
def held(req, staff_admin):
    """Two of the request's three runs under a hold."""
    runs = [item.parse_run for item in req.items.order_by("id")[:2]]
    holds.place_hold(
        scope=LegalHold.Scope.RUNS,
        runs=runs,
        reason=REASON,
        reference=REFERENCE,
        actor=staff_admin,
        source=Source.WEB,
    )
    req.refresh_from_db()
    assert req.held_count == 2
    return req


def _customer_pages(req):
    return [
        reverse("customer:request", args=[req.pk]),
        reverse("customer:progress", args=[req.pk]),
        reverse("customer:items", args=[req.pk]),
        reverse("customer:items", args=[req.pk]) + "?status=held",
        reverse("customer:requests"),
        reverse("customer:runs"),
    ]


@pytest.mark.parametrize("who", ["member", "customer_admin"])
def test_customers_never_see_the_holds_reason_or_reference(who, held, client, request):
    client.force_login(request.getfixturevalue(who))
    for url in _customer_pages(held):
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.content.decode()
        assert REASON not in page, url
        assert REFERENCE not in page, url
        assert "legal hold" not in page.lower(), url


def test_the_request_page_shows_the_neutral_notice_with_the_held_count(held, client, member):
    client.force_login(member)
    page = client.get(reverse("customer:request", args=[held.pk])).content.decode()
    assert f'<dt>{NOTICE}</dt><dd data-count="held">2</dd>' in page
    fragment = client.get(reverse("customer:progress", args=[held.pk])).content.decode()
    assert NOTICE in fragment


def test_the_items_page_shows_held_items_as_retained(held, client, member):
    client.force_login(member)
    response = client.get(reverse("customer:items", args=[held.pk]), {"status": "held"})
    page = response.content.decode()
    assert len(response.context["rows"]) == 2
    assert page.count(f'status-held">{NOTICE}</span>') == 2
    assert f'aria-current="page">{NOTICE}</a>' in page  # the filter tab says it too


def test_without_a_hold_no_notice_is_shown(req, client, member):
    client.force_login(member)
    assert NOTICE not in client.get(reverse("customer:request", args=[req.pk])).content.decode()


def test_the_runs_list_does_not_reveal_holds(held, client, member):
    client.force_login(member)
    page = client.get(reverse("customer:runs")).content.decode()
    assert NOTICE not in page
    assert "hold" not in page.lower()


def test_a_held_request_of_another_customer_answers_404(held, client, outsider):
    client.force_login(outsider)
    for url in _customer_pages(held)[:4]:
        assert client.get(url).status_code == 404, url


# --- Cooling-off ------------------------------------------------------------------------------


@pytest.fixture
def cooling(req, customer, approver):
    customer.cooling_off_hours = 24
    customer.save()
    transitions.approve_request(req, actor=approver, source=Source.WEB)
    req.refresh_from_db()
    assert req.status == RS.APPROVED and req.execute_after > timezone.now()
    return req


def test_the_request_page_counts_down_the_cooling_off_window(cooling, client, member):
    client.force_login(member)
    page = client.get(reverse("customer:request", args=[cooling.pk])).content.decode()
    until = timezone.localtime(cooling.execute_after)
    assert 'id="cooling-off"' in page
    assert f'data-until="{until.isoformat()}"' in page
    assert "24-hour cooling-off window" in page
    assert "you can still cancel" in page
    at = until.strftime("%-d %b %Y, %H:%M")
    assert f"Starts after the cooling-off window, at {at}; you can still cancel until then" in page
    assert "Starting soon" not in page
    assert "js/countdown.js" in page
    assert reverse("customer:cancel", args=[cooling.pk]) in page


def test_the_customer_can_cancel_during_the_cooling_off_window(cooling, client, member):
    client.force_login(member)
    response = client.post(reverse("customer:cancel", args=[cooling.pk]))
    assert response.status_code == 302
    cooling.refresh_from_db()
    assert cooling.status == RS.CANCELLED
    assert not cooling.items.filter(status__in=[IS.IN_FLIGHT, IS.DELETED]).exists()
    page = client.get(reverse("customer:request", args=[cooling.pk])).content.decode()
    assert "data-until" not in page


def test_no_countdown_without_a_cooling_off_window(req, client, member, approver):
    transitions.approve_request(req, actor=approver, source=Source.WEB)
    client.force_login(member)
    page = client.get(reverse("customer:request", args=[req.pk])).content.decode()
    assert "data-until" not in page


def test_a_running_request_with_only_held_runs_left_says_so(
    req, client, member, approver, staff_admin
):
    transitions.approve_request(req, actor=approver, source=Source.WEB)
    holds.place_hold(
        scope=LegalHold.Scope.CUSTOMER, customer=req.customer, reason=REASON,
        reference=REFERENCE, actor=staff_admin, source=Source.WEB,
    )  # fmt: skip
    client.force_login(member)
    page = client.get(reverse("customer:request", args=[req.pk])).content.decode()
    assert "Nothing else to do now: 3 runs are retained for legal reasons." in page
    assert "All items are done" not in page


def test_the_receipt_shows_held_runs_only_as_retained(held, client, member, approver):
    transitions.approve_request(held, actor=approver, source=Source.WEB)
    transitions.start_request(held, actor=None, source=Source.SYSTEM)
    item = held.items.get(status=IS.PENDING)
    DeletionItem.objects.filter(pk=item.pk).update(status=IS.IN_FLIGHT)
    transitions.complete_item(item, IS.DELETED, http_status=200)
    transitions.finish_request(held, actor=None, source=Source.WORKER)
    client.force_login(member)

    page = client.get(reverse("customer:receipt", args=[held.pk])).content.decode()
    csv_text = b"".join(
        client.get(reverse("customer:receipt_csv", args=[held.pk])).streaming_content
    ).decode()

    assert page.count(NOTICE) == 3  # the two runs and the legend
    assert "hold" not in page.lower()
    assert csv_text.count(",retained,") == 2
    assert "held" not in csv_text
