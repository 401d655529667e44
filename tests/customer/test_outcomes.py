"""Every place that shows a run's result keeps the three outcomes apart (deleted, deleted with
the answer lost, already gone), says "Not found, awaiting proof" for an unconfirmed run and, to
customers, only "Retained for legal reasons" for a held one: item lists, receipts, the API."""

from __future__ import annotations

import csv
import io

import pytest
from django.db.models import F
from django.urls import reverse

from deletions.models import DeletionItem, DeletionRequest
from tests import drive
from tests.helpers import submitted_request

IS = DeletionItem.Status


def _hold_one(req: DeletionRequest) -> None:
    """One pending item waits under a legal hold (set up directly, as the engine would)."""
    item = DeletionItem.objects.filter(request=req, status=IS.PENDING).order_by("-id").first()
    DeletionItem.objects.filter(pk=item.pk).update(status=IS.HELD, next_attempt_at=None)
    DeletionRequest.objects.filter(pk=req.pk).update(held_count=F("held_count") + 1)


@pytest.fixture
def finished(workspace, customer, member, approver):
    """Six runs: 2 deleted, 1 deleted with its answer lost, 1 already gone, 1 failed, 1
    retained."""
    req = submitted_request(workspace, customer, member, runs=6)
    drive.approve(req, approver)
    drive.start(req)
    _hold_one(req)
    drive.complete(req, 2)
    drive.complete(req, 1, answer_lost=True)
    drive.complete(req, 1, IS.ALREADY_GONE)
    drive.complete(req, 1, IS.FAILED)
    return drive.finish(req)


OUTCOMES = [
    "Deleted",
    "Deleted",
    "Deleted (answer lost)",
    "Already gone",
    "Failed",
    "Retained for legal reasons",
]


def test_the_customer_item_list_names_the_three_outcomes_and_hides_the_hold(
    client, member, finished
):
    client.force_login(member)
    response = client.get(reverse("customer:items", args=[finished.pk]))
    assert [outcome for _, outcome, _ in response.context["rows"]] == OUTCOMES
    page = response.content.decode()
    assert "Deleted (answer lost)" in page
    assert "On legal hold" not in page


def test_an_unconfirmed_run_is_not_found_awaiting_proof_everywhere(
    client, member, approver, workspace, customer, member_api
):
    req = submitted_request(workspace, customer, member, runs=2)
    drive.approve(req, approver)
    drive.start(req)
    item = DeletionItem.objects.filter(request=req).order_by("id").first()
    DeletionItem.objects.filter(pk=item.pk).update(status=IS.UNCONFIRMED, last_http_status=404)

    client.force_login(member)
    rows = client.get(reverse("customer:items", args=[req.pk])).context["rows"]
    assert [outcome for _, outcome, _ in rows] == ["Not found, awaiting proof", "Pending"]
    progress = client.get(reverse("customer:progress", args=[req.pk])).context["progress"]
    assert (progress.unconfirmed, progress.pending) == (1, 1)
    assert (
        "Not found, awaiting proof"
        in client.get(reverse("customer:request", args=[req.pk])).content.decode()
    )

    client.force_login(approver)
    console = client.get(reverse("console:request_detail", args=[req.pk])).content.decode()
    assert "Not found, awaiting proof" in console

    items = member_api.get(f"/api/v1/requests/{req.pk}/items").json()["results"]
    assert [i["outcome"] for i in items] == ["unconfirmed", "pending"]


def test_the_console_item_list_names_the_three_outcomes(client, approver, finished):
    client.force_login(approver)
    page = client.get(reverse("console:request_detail", args=[finished.pk])).content.decode()
    for label in ("Deleted (answer lost)", "Already gone", "Failed", "On legal hold"):
        assert f">{label}</span>" in page


def test_the_receipt_names_the_three_outcomes_with_their_numbers(client, member, finished):
    client.force_login(member)
    response = client.get(reverse("customer:receipt", args=[finished.pk]))
    page = response.content.decode()
    assert (
        "3 deleted (1 with the answer to our request lost), 1 already gone, 1 failed, "
        "1 retained for legal reasons, of 6"
    ) in page
    assert "<td>Deleted (answer lost)</td>" in page
    assert "<td>Already gone</td>" in page
    assert "Our deletion reached Extend but its answer was lost" in page


def test_the_csv_receipt_names_the_three_outcomes(client, member, finished):
    client.force_login(member)
    response = client.get(reverse("customer:receipt_csv", args=[finished.pk]))
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["outcome"] for r in rows] == [
        "deleted",
        "deleted",
        "deleted_answer_lost",
        "already_gone",
        "failed",
        "retained",
    ]


def test_the_api_items_carry_an_outcome_besides_their_status(member_api, finished):
    items = member_api.get(f"/api/v1/requests/{finished.pk}/items").json()["results"]
    assert [(i["status"], i["outcome"]) for i in items] == [
        ("deleted", "deleted"),
        ("deleted", "deleted"),
        ("deleted", "deleted_answer_lost"),
        ("already_gone", "already_gone"),
        ("failed", "failed"),
        ("held", "retained"),
    ]


def test_the_api_schema_lists_every_outcome(client):
    schemas = client.get("/api/v1/schema").json()["components"]["schemas"]
    ref = schemas["Item"]["properties"]["outcome"]["allOf"][0]["$ref"]
    assert set(schemas[ref.rsplit("/", 1)[1]]["enum"]) == {
        "deleted",
        "deleted_answer_lost",
        "already_gone",
        "unconfirmed",
        "failed",
        "retained",
        "pending",
    }
