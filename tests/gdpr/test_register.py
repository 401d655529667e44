"""The register of erasure requests: the console's page, its CSV and JSON exports and the API
hold exactly the GDPR requests of the period and customer asked for, with their deadline,
extension, pauses, outcome, ground, runs erased and certificate; staff only, audited as reads,
and no cell reaches a spreadsheet as a formula."""

from __future__ import annotations

import csv
import io
import json
from datetime import date

import pytest
import time_machine
from django.urls import reverse

from deletions.gdpr import certificates
from deletions.gdpr import deadlines as gdpr
from deletions.models import AuditEvent, Certificate, Customer, DeletionRequest, Source
from deletions.requests import transitions
from tests.factories import customer_user
from tests.helpers import finish, submitted_request

pytestmark = pytest.mark.django_db

GDPR = DeletionRequest.Kind.GDPR
MARCH = {"received_from": "2026-03-01", "received_to": "2026-03-31"}
TODAY = "2026-03-25 12:00Z"
EXTENSION_REASON = "+Complex: 40 workspaces to search"


def _gdpr(workspace, customer, requester, received_on, prefix, runs=2):
    return submitted_request(
        workspace,
        customer,
        requester,
        runs=runs,
        prefix=prefix,
        kind=GDPR,
        subject_ref=f"subject-{prefix}",
        received_on=received_on,
    )


@pytest.fixture
def world(workspace, customer, other_customer, member, outsider, approver):
    """GDPR requests of the customer in March 2026 (erased with an extension and a certificate,
    refused on a ground, partly erased, open with its deadline paused), one of February, one of
    another customer in March, and a standard request."""
    with time_machine.travel("2026-03-12 09:00Z", tick=False):
        erased = _gdpr(workspace, customer, member, date(2026, 3, 2), "er_", runs=3)
        gdpr.extend_deadline(
            erased, months=2, reason=EXTENSION_REASON, actor=approver, source=Source.WEB
        )
        refused = _gdpr(workspace, customer, member, date(2026, 3, 10), "rf_")
        transitions.reject_request(
            refused,
            actor=approver,
            source=Source.WEB,
            reason="The runs are evidence in Smith v Acme.",
            ground="legal_claims",
        )
        partly = _gdpr(workspace, customer, member, date(2026, 3, 12), "pt_", runs=3)
        paused = _gdpr(workspace, customer, member, date(2026, 3, 14), "pa_")
        february = _gdpr(workspace, customer, member, date(2026, 2, 27), "fe_")
        theirs = _gdpr(workspace, other_customer, outsider, date(2026, 3, 5), "th_")
        standard = submitted_request(workspace, customer, member, runs=2, prefix="st_")
    with time_machine.travel("2026-03-13 09:00Z", tick=False):
        finish(erased)
        certificates.issue(erased)
        finish(partly, failed=1)
    with time_machine.travel("2026-03-16 09:00Z", tick=False):
        gdpr.pause_deadline(paused, reason="proof of identity", actor=approver, source=Source.WEB)
    with time_machine.travel("2026-03-18 09:00Z", tick=False):
        gdpr.resume_deadline(paused, actor=approver, source=Source.WEB)
    with time_machine.travel("2026-03-20 09:00Z", tick=False):
        gdpr.pause_deadline(paused, reason="a second document", actor=approver, source=Source.WEB)
    return {
        "erased": erased,
        "refused": refused,
        "partly": partly,
        "paused": paused,
        "february": february,
        "theirs": theirs,
        "standard": standard,
    }


def _body(response) -> str:
    assert response.status_code == 200, response.content
    return b"".join(response.streaming_content).decode()


def _csv_rows(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(_body(response))))


def _export(client, user, fmt, params):
    client.force_login(user)
    with time_machine.travel(TODAY, tick=False):
        return client.get(reverse(f"console:register_{fmt}"), params)


def _march_of(customer) -> dict[str, object]:
    return {**MARCH, "customer": customer.pk}


def test_the_csv_holds_the_gdpr_requests_of_the_period_and_customer(
    client, viewer, world, customer
):
    rows = _csv_rows(_export(client, viewer, "csv", _march_of(customer)))
    assert [int(r["request_id"]) for r in rows] == [
        world[name].pk for name in ("erased", "refused", "partly", "paused")
    ]
    by_name = dict(zip(("erased", "refused", "partly", "paused"), rows, strict=True))
    certificate = Certificate.objects.get(request=world["erased"])

    erased = by_name["erased"]
    assert erased == {
        "request_id": str(world["erased"].pk),
        "customer": "Acme Health",
        "customer_ref": customer.external_ref,
        "received_on": "2026-03-02",
        "due_on": "2026-04-02",
        "extended_due_on": "2026-06-02",
        # A cell that a spreadsheet would read as a formula is written as text.
        "extension_reason": "'" + EXTENSION_REASON,
        "paused_days": "0",
        "paused_since": "",
        "status": "completed",
        "outcome": "erased",
        "finished_on": "2026-03-13",
        "ground": "",
        "ground_label": "",
        "runs_total": "3",
        "runs_erased": "3",
        "runs_already_gone": "0",
        "runs_retained": "0",
        "runs_failed": "0",
        "certificate_id": str(certificate.pk),
        "certificate_version": "1",
    }

    refused = by_name["refused"]
    assert (refused["status"], refused["outcome"], refused["ground"]) == (
        "rejected",
        "refused",
        "legal_claims",
    )
    assert refused["ground_label"] == (
        "Art. 17(3)(e): the establishment, exercise or defence of legal claims"
    )
    assert (refused["runs_erased"], refused["certificate_id"], refused["finished_on"]) == (
        "0",
        "",
        "2026-03-12",
    )

    partly = by_name["partly"]
    assert (partly["outcome"], partly["runs_erased"], partly["runs_failed"]) == (
        "partly_erased",
        "2",
        "1",
    )

    # Paused 16-18 March (2 days, added to the due date), and again since 20 March: 5 days
    # by the 25th.
    paused = by_name["paused"]
    assert (paused["due_on"], paused["paused_days"], paused["paused_since"]) == (
        "2026-04-16",
        "7",
        "2026-03-20",
    )
    assert (paused["status"], paused["outcome"], paused["extended_due_on"]) == (
        "pending_approval",
        "open",
        "",
    )


def test_without_a_customer_every_customers_gdpr_requests_are_in_it_but_no_standard_one(
    client, viewer, world
):
    rows = _csv_rows(_export(client, viewer, "csv", MARCH))
    assert {int(r["request_id"]) for r in rows} == {
        world[name].pk for name in ("erased", "refused", "partly", "paused", "theirs")
    }
    everything = _csv_rows(_export(client, viewer, "csv", {}))
    assert len(everything) == 6
    assert world["standard"].pk not in {int(r["request_id"]) for r in everything}


def test_the_json_export_has_the_same_rows_with_their_types(client, viewer, world, customer):
    csv_rows = _csv_rows(_export(client, viewer, "csv", _march_of(customer)))
    document = json.loads(_body(_export(client, viewer, "json", _march_of(customer))))
    assert document["filters"] == {
        "received_from": "2026-03-01",
        "received_to": "2026-03-31",
        "customer": customer.pk,
    }
    assert set(document["outcomes"]) == {
        "open",
        "erased",
        "partly_erased",
        "refused",
        "cancelled",
        "expired",
    }
    rows = document["requests"]
    assert [r["request_id"] for r in rows] == [int(r["request_id"]) for r in csv_rows]
    erased = rows[0]
    assert erased["extension_reason"] == EXTENSION_REASON  # JSON is not a spreadsheet
    assert (erased["paused_days"], erased["paused_since"], erased["ground"]) == (0, None, "")
    assert erased["certificate_id"] == Certificate.objects.get(request=world["erased"]).pk
    assert rows[3]["paused_days"] == 7


def test_an_empty_period_gives_a_header_and_an_empty_list(client, viewer, world):
    params = {"received_from": "2025-01-01", "received_to": "2025-01-31"}
    body = _body(_export(client, viewer, "csv", params))
    assert body.splitlines()[0].startswith("request_id,customer,customer_ref,received_on")
    assert len(body.splitlines()) == 1
    assert json.loads(_body(_export(client, viewer, "json", params)))["requests"] == []


def test_formula_cells_are_neutralised(client, viewer, workspace):
    sly = Customer.objects.create(
        name='=HYPERLINK("http://evil.example","x")', external_ref="@ref", slug="sly"
    )
    _gdpr(workspace, sly, customer_user(sly), date(2026, 3, 3), "sly_")
    body = _body(_export(client, viewer, "csv", {"customer": sly.pk}))
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 1
    assert rows[0]["customer"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[0]["customer_ref"] == "'@ref"
    assert '"customer": "=HYPERLINK(' in _body(
        _export(client, viewer, "json", {"customer": sly.pk})
    )


def test_each_export_is_audited_as_a_read_with_its_filters(client, viewer, world, customer):
    _body(_export(client, viewer, "csv", _march_of(customer)))
    _body(_export(client, viewer, "json", {}))
    events = list(AuditEvent.objects.filter(action="gdpr.register_exported").order_by("id"))
    assert [(e.actor_id, e.source, e.detail) for e in events] == [
        (
            viewer.pk,
            Source.WEB,
            {
                "format": "csv",
                "received_from": "2026-03-01",
                "received_to": "2026-03-31",
                "customer": customer.pk,
            },
        ),
        (
            viewer.pk,
            Source.WEB,
            {"format": "json", "received_from": None, "received_to": None, "customer": None},
        ),
    ]
    assert events[0].customer_id == customer.pk


def test_a_period_that_ends_before_it_starts_is_refused(client, viewer, world):
    params = {"received_from": "2026-03-31", "received_to": "2026-03-01"}
    response = _export(client, viewer, "csv", params)
    assert response.status_code == 400
    assert not AuditEvent.objects.filter(action="gdpr.register_exported").exists()
    page = client.get(reverse("console:register"), params)
    assert "The period ends before it starts." in page.content.decode()


def test_the_page_lists_the_register_and_links_the_exports_with_its_filters(
    client, viewer, world, customer
):
    client.force_login(viewer)
    with time_machine.travel(TODAY, tick=False):
        page = client.get(reverse("console:register"), _march_of(customer)).content.decode()
    query = f"received_from=2026-03-01&amp;received_to=2026-03-31&amp;customer={customer.pk}"
    assert f"{reverse('console:register_csv')}?{query}" in page
    assert f"{reverse('console:register_json')}?{query}" in page
    for name in ("erased", "refused", "partly", "paused"):
        assert f'href="{reverse("console:request_detail", args=[world[name].pk])}"' in page
    for name in ("february", "theirs", "standard"):
        assert f'href="{reverse("console:request_detail", args=[world[name].pk])}"' not in page
    assert "Art. 17(3)(e): the establishment, exercise or defence of legal claims" in page
    assert "7 days" in page and "paused now" in page
    assert "legal_claims" not in page


def test_the_queue_links_the_register_with_its_customer(client, viewer, customer):
    client.force_login(viewer)
    page = client.get(reverse("console:queue"), {"kind": "gdpr", "customer": customer.pk})
    assert f"{reverse('console:register')}?customer={customer.pk}" in page.content.decode()


@pytest.mark.parametrize("name", ["register", "register_csv", "register_json"])
def test_customer_users_cannot_reach_the_register(client, member, customer_admin, world, name):
    for user in (member, customer_admin):
        client.force_login(user)
        assert client.get(reverse(f"console:{name}")).status_code == 403
    client.logout()
    assert client.get(reverse(f"console:{name}")).status_code == 302
    assert not AuditEvent.objects.filter(action="gdpr.register_exported").exists()


# --- The API -------------------------------------------------------------------------------

API = "/api/v1/gdpr/register"


def _api_rows(client, params) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    cursor = ""
    while True:
        with time_machine.travel(TODAY, tick=False):
            response = client.get(
                API, {**params, "limit": 2, **({"cursor": cursor} if cursor else {})}
            )
        assert response.status_code == 200, response.content
        body = response.json()
        rows += body["results"]
        cursor = body["next_cursor"]
        if not cursor:
            return rows


def test_the_api_pages_through_the_same_rows_as_the_json_export(
    client, viewer, viewer_api, operator_service_api, world, customer
):
    exported = json.loads(_body(_export(client, viewer, "json", _march_of(customer))))
    for api in (viewer_api, operator_service_api):
        assert _api_rows(api, _march_of(customer)) == exported["requests"]
    everyone = _api_rows(viewer_api, MARCH)
    assert {r["request_id"] for r in everyone} == {
        world[name].pk for name in ("erased", "refused", "partly", "paused", "theirs")
    }


def test_the_api_audits_each_page_as_a_read(viewer, viewer_api, world, customer):
    _api_rows(viewer_api, _march_of(customer))
    events = AuditEvent.objects.filter(action="gdpr.register_exported").order_by("id")
    assert [e.detail["page"] for e in events] == ["first", "next"]
    assert {(e.source, e.actor_id, e.detail["format"], e.detail["customer"]) for e in events} == {
        (Source.API, viewer.pk, "api", customer.pk)
    }


def test_the_api_register_is_for_staff_tokens_only(member_api, admin_api, customer_service_api):
    for api in (member_api, admin_api, customer_service_api):
        assert api.get(API).status_code == 403
    assert not AuditEvent.objects.filter(action="gdpr.register_exported").exists()


def test_the_api_refuses_bad_filters(viewer_api, world):
    backwards = viewer_api.get(API, {"received_from": "2026-03-31", "received_to": "2026-03-01"})
    assert backwards.status_code == 422
    assert backwards.json()["error"]["details"]["fields"] == {
        "received_to": ["The period ends before it starts."]
    }
    unknown = viewer_api.get(API, {"customer": 987654})
    assert unknown.status_code == 422
    assert unknown.json()["error"]["message"] == "customer: No customer has the id 987654."
    assert not AuditEvent.objects.filter(action="gdpr.register_exported").exists()
    assert viewer_api.get(API, {"kind": "standard"}).status_code == 400
